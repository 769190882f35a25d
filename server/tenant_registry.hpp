#pragma once
// Tenants: API keys, quota tiers (FORMATS §5.4), usage counters, and each tenant's pipelines in
// creation order. A tenant only ever reaches its own pipelines: every pipeline lookup goes
// through its Tenant.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/rate_limiter.hpp"

namespace varpulis::server {

class PipelineHost;

enum class QuotaTier { Default, Free, Pro, Enterprise };

struct Quota {
    uint64_t max_pipelines = 10;
    uint64_t max_events_per_second = 10000;
    uint64_t max_streams_per_pipeline = 50;
};

Quota quota_for(QuotaTier tier);
const char* tier_name(QuotaTier tier);
/// "default", "free", "pro", "enterprise" (case-insensitive).
bool parse_tier(std::string_view text, QuotaTier& tier);

/// Events and outputs of a tenant, shared with its pipelines (which count into it).
struct UsageCounters {
    std::atomic<uint64_t> events_processed{0};
    std::atomic<uint64_t> output_events_emitted{0};
};

/// Equality of two secrets in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);
/// 128 random bits as a UUID v4 string.
std::string make_uuid();
/// A new API key: `vp_` + 48 hex digits.
std::string make_api_key();

class Tenant {
public:
    Tenant(std::string id, std::string name, std::string api_key, QuotaTier tier, uint64_t seq, int64_t created_ms);

    const std::string& id() const { return id_; }
    const std::string& name() const { return name_; }
    const std::string& api_key() const { return api_key_; }
    QuotaTier tier() const { return tier_; }
    Quota quota() const { return quota_for(tier_); }
    uint64_t seq() const { return seq_; }
    int64_t created_ms() const { return created_ms_; }
    const std::shared_ptr<UsageCounters>& usage() const { return usage_; }

    /// Takes `n` events from the per-second quota (429 `rate_limited` when false).
    bool admit_events(uint64_t n);

    /// Pipelines in creation order.
    std::vector<std::shared_ptr<PipelineHost>> pipelines() const;
    std::shared_ptr<PipelineHost> find_pipeline(std::string_view id) const;
    size_t pipeline_count() const;
    /// Adds the pipeline unless the tenant already has `max_pipelines` (false then).
    bool add_pipeline(std::shared_ptr<PipelineHost> p, uint64_t max_pipelines);
    std::shared_ptr<PipelineHost> remove_pipeline(std::string_view id);

    /// Set on deletion so a concurrent periodic save does not write the tenant back.
    void mark_deleted() { deleted_ = true; }
    bool deleted() const { return deleted_.load(); }

private:
    std::string id_, name_, api_key_;
    QuotaTier tier_;
    uint64_t seq_;
    int64_t created_ms_;
    std::shared_ptr<UsageCounters> usage_ = std::make_shared<UsageCounters>();
    std::mutex rate_mu_;
    TokenBucket events_bucket_;
    mutable std::mutex mu_;
    std::vector<std::shared_ptr<PipelineHost>> pipelines_;
    std::atomic<bool> deleted_{false};
};

/// Thread-safe.
class TenantRegistry {
public:
    /// Adds a tenant; false if the id or the name is taken.
    bool add(std::shared_ptr<Tenant> t);
    std::shared_ptr<Tenant> find(std::string_view id) const;
    std::shared_ptr<Tenant> find_by_name(std::string_view name) const;
    /// The tenant whose key equals `key` (every key compared in constant time).
    std::shared_ptr<Tenant> find_by_key(std::string_view key) const;
    std::shared_ptr<Tenant> remove(std::string_view id);
    /// Creation order.
    std::vector<std::shared_ptr<Tenant>> list() const;
    /// Monotonic sequence for creation order of tenants and pipelines (persisted).
    uint64_t next_seq();
    void bump_seq(uint64_t seen);

private:
    mutable std::mutex mu_;
    std::vector<std::shared_ptr<Tenant>> tenants_;
    std::atomic<uint64_t> seq_{0};
};

}  // namespace varpulis::server
