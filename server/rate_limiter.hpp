#pragma once
// Token buckets: requests per second per client IP (`--rate-limit`), and events per second
// per tenant (quota).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace varpulis::server {

/// A bucket of `rate` tokens per second holding at most `burst`. Not thread-safe by itself.
class TokenBucket {
public:
    TokenBucket() = default;
    TokenBucket(double rate, double burst);
    /// Takes `n` tokens if there are that many at `now`.
    bool take(double n, std::chrono::steady_clock::time_point now);
    double available() const { return tokens_; }
    double rate() const { return rate_; }

private:
    double rate_ = 0, burst_ = 0, tokens_ = 0;
    std::chrono::steady_clock::time_point last_{};
    bool started_ = false;
};

struct RateDecision {
    bool allowed = true;
    uint64_t limit = 0;
    uint64_t remaining = 0;
    uint64_t retry_after_s = 0;
};

/// Per-key buckets (client IPs). Thread-safe. `rate` 0 disables it.
class RateLimiter {
public:
    explicit RateLimiter(double rate);
    bool enabled() const { return rate_ > 0; }
    RateDecision check(const std::string& key);

private:
    double rate_;
    std::mutex mu_;
    std::unordered_map<std::string, TokenBucket> buckets_;
    std::chrono::steady_clock::time_point last_sweep_{};
};

}  // namespace varpulis::server
