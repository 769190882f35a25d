#pragma once
// What the API handlers share. Private to server/.

#include <chrono>
#include <memory>
#include <string>

#include "server/metrics.hpp"
#include "server/server.hpp"
#include "server/state_store.hpp"
#include "server/tenant_registry.hpp"

namespace varpulis::server {

class PipelineHost;
class JitService;

struct ServerContext {
    ServerOptions options;
    TenantRegistry tenants;
    std::unique_ptr<StateStore> store;
    ServerMetrics metrics;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    JitService* jit = nullptr;

    /// Persistence; failures are logged, never thrown (the in-memory state stays authoritative).
    void persist_tenant(const Tenant& t);
    void persist_pipeline(const PipelineHost& p);
    /// Saves the pipeline's checkpoint; with `only_if_changed`, skips one with no new events.
    bool persist_checkpoint(PipelineHost& p, bool only_if_changed);
    void forget_pipeline(const std::string& id);
    void forget_tenant(const Tenant& t);
    /// Queues a background JIT compile of the pipeline's current program (no-op without JIT).
    void request_jit(const std::shared_ptr<PipelineHost>& p);
};

int64_t wall_clock_ms();

}  // namespace varpulis::server
