#pragma once
// Prometheus text exposition (format 0.0.4), written by hand: FORMATS §5.7 names plus
// per-pipeline counters, latency histograms, HTTP and JIT counters.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace varpulis::server {

class TenantRegistry;

/// Thread-safe counters of the server itself.
class ServerMetrics {
public:
    void count_request(int status);
    void count_rate_limited();
    void count_jit(bool ok, double seconds);
    void count_checkpoint(bool ok);
    uint64_t jit_compiles() const { return jit_ok_.load(); }

    /// The whole exposition.
    std::string render(const TenantRegistry& tenants, double uptime_s) const;

private:
    std::atomic<uint64_t> http_2xx_{0}, http_4xx_{0}, http_5xx_{0}, http_other_{0};
    std::atomic<uint64_t> rate_limited_{0};
    std::atomic<uint64_t> jit_ok_{0}, jit_failed_{0};
    std::atomic<uint64_t> checkpoints_ok_{0}, checkpoints_failed_{0};
    mutable std::mutex jit_mu_;
    std::vector<uint64_t> jit_buckets_ = std::vector<uint64_t>(10, 0);
    double jit_sum_ = 0;
};

}  // namespace varpulis::server
