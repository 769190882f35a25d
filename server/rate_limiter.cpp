#include "server/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace varpulis::server {

TokenBucket::TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

bool TokenBucket::take(double n, std::chrono::steady_clock::time_point now) {
    if (started_) {
        double dt = std::chrono::duration<double>(now - last_).count();
        if (dt > 0) tokens_ = std::min(burst_, tokens_ + dt * rate_);
    }
    started_ = true;
    last_ = now;
    if (tokens_ + 1e-9 < n) return false;
    tokens_ -= n;
    return true;
}

RateLimiter::RateLimiter(double rate) : rate_(rate) {}

RateDecision RateLimiter::check(const std::string& key) {
    RateDecision d;
    if (rate_ <= 0) return d;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lk(mu_);
    // Idle clients' buckets are full again after a second; forget them now and then so the
    // map does not grow with every address ever seen.
    if (buckets_.size() > 10000 && now - last_sweep_ > std::chrono::seconds(10)) {
        buckets_.clear();
        last_sweep_ = now;
    }
    auto it = buckets_.find(key);
    if (it == buckets_.end()) it = buckets_.emplace(key, TokenBucket(rate_, std::max(1.0, rate_))).first;
    d.allowed = it->second.take(1, now);
    d.limit = static_cast<uint64_t>(std::ceil(rate_));
    d.remaining = static_cast<uint64_t>(std::max(0.0, std::floor(it->second.available())));
    d.retry_after_s = d.allowed ? 0 : 1;
    return d;
}

}  // namespace varpulis::server
