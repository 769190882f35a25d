#include "server/tenant_registry.hpp"

#include <algorithm>
#include <cctype>
#include <random>

#include "server/pipeline_host.hpp"

namespace varpulis::server {

Quota quota_for(QuotaTier tier) {
    switch (tier) {
        case QuotaTier::Free: return {2, 100, 5};
        case QuotaTier::Pro: return {20, 50000, 100};
        case QuotaTier::Enterprise: return {1000, 500000, 500};
        case QuotaTier::Default: break;
    }
    return {10, 10000, 50};
}

const char* tier_name(QuotaTier tier) {
    switch (tier) {
        case QuotaTier::Free: return "free";
        case QuotaTier::Pro: return "pro";
        case QuotaTier::Enterprise: return "enterprise";
        case QuotaTier::Default: break;
    }
    return "default";
}

bool parse_tier(std::string_view text, QuotaTier& tier) {
    std::string t(text);
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (t == "default") tier = QuotaTier::Default;
    else if (t == "free") tier = QuotaTier::Free;
    else if (t == "pro") tier = QuotaTier::Pro;
    else if (t == "enterprise") tier = QuotaTier::Enterprise;
    else return false;
    return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    // The length is not secret (keys have a fixed format); the contents are.
    unsigned diff = a.size() == b.size() ? 0u : 1u;
    size_t n = std::max(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
        unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned>(x ^ y);
    }
    return diff == 0;
}

namespace {

std::mt19937_64& rng() {
    thread_local std::mt19937_64 gen([] {
        std::random_device rd;
        std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
        return std::mt19937_64(seq);
    }());
    return gen;
}

void append_hex(std::string& out, uint64_t v, int digits) {
    static const char* kHex = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i) out += kHex[(v >> (i * 4)) & 15];
}

}  // namespace

std::string make_uuid() {
    uint64_t hi = rng()(), lo = rng()();
    hi = (hi & ~0xF000ull) | 0x4000ull;                          // version 4
    lo = (lo & ~(0xC000ull << 48)) | (0x8000ull << 48);          // variant 10
    std::string s;
    append_hex(s, hi >> 32, 8);
    s += '-';
    append_hex(s, (hi >> 16) & 0xFFFF, 4);
    s += '-';
    append_hex(s, hi & 0xFFFF, 4);
    s += '-';
    append_hex(s, lo >> 48, 4);
    s += '-';
    append_hex(s, lo & 0xFFFFFFFFFFFFull, 12);
    return s;
}

std::string make_api_key() {
    std::random_device rd;  // keys are secrets: straight from the OS source
    std::string s = "vp_";
    for (int i = 0; i < 6; ++i) append_hex(s, (static_cast<uint64_t>(rd()) << 32 | rd()) & 0xFFFFFFFFull, 8);
    return s;
}

Tenant::Tenant(std::string id, std::string name, std::string api_key, QuotaTier tier, uint64_t seq, int64_t created_ms)
    : id_(std::move(id)),
      name_(std::move(name)),
      api_key_(std::move(api_key)),
      tier_(tier),
      seq_(seq),
      created_ms_(created_ms),
      events_bucket_(static_cast<double>(quota_for(tier).max_events_per_second),
                     static_cast<double>(quota_for(tier).max_events_per_second)) {}

bool Tenant::admit_events(uint64_t n) {
    std::lock_guard<std::mutex> lk(rate_mu_);
    return events_bucket_.take(static_cast<double>(n), std::chrono::steady_clock::now());
}

std::vector<std::shared_ptr<PipelineHost>> Tenant::pipelines() const {
    std::lock_guard<std::mutex> lk(mu_);
    return pipelines_;
}

std::shared_ptr<PipelineHost> Tenant::find_pipeline(std::string_view id) const {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& p : pipelines_)
        if (p->id() == id) return p;
    return nullptr;
}

size_t Tenant::pipeline_count() const {
    std::lock_guard<std::mutex> lk(mu_);
    return pipelines_.size();
}

bool Tenant::add_pipeline(std::shared_ptr<PipelineHost> p, uint64_t max_pipelines) {
    std::lock_guard<std::mutex> lk(mu_);
    if (pipelines_.size() >= max_pipelines) return false;
    pipelines_.push_back(std::move(p));
    return true;
}

std::shared_ptr<PipelineHost> Tenant::remove_pipeline(std::string_view id) {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto it = pipelines_.begin(); it != pipelines_.end(); ++it) {
        if ((*it)->id() == id) {
            auto p = *it;
            pipelines_.erase(it);
            return p;
        }
    }
    return nullptr;
}

bool TenantRegistry::add(std::shared_ptr<Tenant> t) {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& x : tenants_)
        if (x->id() == t->id() || x->name() == t->name()) return false;
    auto pos = std::upper_bound(tenants_.begin(), tenants_.end(), t,
                                [](const auto& a, const auto& b) { return a->seq() < b->seq(); });
    tenants_.insert(pos, std::move(t));
    return true;
}

std::shared_ptr<Tenant> TenantRegistry::find(std::string_view id) const {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& t : tenants_)
        if (t->id() == id) return t;
    return nullptr;
}

std::shared_ptr<Tenant> TenantRegistry::find_by_name(std::string_view name) const {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& t : tenants_)
        if (t->name() == name) return t;
    return nullptr;
}

std::shared_ptr<Tenant> TenantRegistry::find_by_key(std::string_view key) const {
    std::lock_guard<std::mutex> lk(mu_);
    std::shared_ptr<Tenant> found;
    // No early exit: the time taken does not tell which tenant (if any) matched.
    for (const auto& t : tenants_)
        if (constant_time_equal(t->api_key(), key)) found = t;
    return found;
}

std::shared_ptr<Tenant> TenantRegistry::remove(std::string_view id) {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto it = tenants_.begin(); it != tenants_.end(); ++it) {
        if ((*it)->id() == id) {
            auto t = *it;
            tenants_.erase(it);
            return t;
        }
    }
    return nullptr;
}

std::vector<std::shared_ptr<Tenant>> TenantRegistry::list() const {
    std::lock_guard<std::mutex> lk(mu_);
    return tenants_;
}

uint64_t TenantRegistry::next_seq() { return seq_.fetch_add(1) + 1; }

void TenantRegistry::bump_seq(uint64_t seen) {
    uint64_t cur = seq_.load();
    while (cur < seen && !seq_.compare_exchange_weak(cur, seen)) {
    }
}

}  // namespace varpulis::server
