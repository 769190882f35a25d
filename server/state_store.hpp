#pragma once
// Persistence in RocksDB (`--state-dir`): tenants, pipelines and their latest checkpoints.
// Keys: `tenant/<id>`, `pipeline/<id>`, `checkpoint/<pipeline id>`, `meta/seq`.
// Records are JSON; checkpoints a small binary frame around the engine's blob.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace varpulis::server {

struct TenantRecord {
    std::string id, name, api_key, tier;
    uint64_t seq = 0;
    int64_t created_ms = 0;
    uint64_t events_processed = 0;
    uint64_t output_events_emitted = 0;
};

struct PipelineRecord {
    std::string id, tenant_id, name, source, status;
    uint64_t seq = 0;
    int64_t created_ms = 0;
};

struct CheckpointRecord {
    uint64_t events = 0;
    uint64_t outputs = 0;
    int64_t saved_ms = 0;
    std::string blob;
};

/// Thread-safe (RocksDB is). Writes go through the WAL, so they survive a kill -9.
class StateStore {
public:
    /// Opens (creating) the database in `dir`. nullptr with `error` on failure (e.g. the
    /// directory is locked by another server).
    static std::unique_ptr<StateStore> open(const std::string& dir, std::string& error);
    ~StateStore();

    bool put_tenant(const TenantRecord& t, std::string& error);
    bool delete_tenant(const std::string& id, std::string& error);
    bool put_pipeline(const PipelineRecord& p, std::string& error);
    /// Deletes the pipeline and its checkpoint.
    bool delete_pipeline(const std::string& id, std::string& error);
    bool put_checkpoint(const std::string& pipeline_id, const CheckpointRecord& c, std::string& error);
    /// False when there is none; `error` set when one exists but cannot be decoded.
    bool get_checkpoint(const std::string& pipeline_id, CheckpointRecord& c, std::string& error);

    /// Every stored record; undecodable ones are skipped with a message in `warnings`.
    void load(std::vector<TenantRecord>& tenants, std::vector<PipelineRecord>& pipelines,
              std::vector<std::string>& warnings);

    struct Impl;

private:
    explicit StateStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace varpulis::server
