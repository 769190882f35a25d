#pragma once
// Plain state of windowed aggregation (SEMANTICS §6, §7): the accumulators a window feeds
// event by event instead of buffering rows, the per-partition window bookkeeping, and the
// partition lookup by key value.
//
// Layouts are fixed and documented (static_asserts below) because generated code is meant to
// update these structs directly: no virtual calls, no std::function, no heap allocation per
// event. An operator keeps them in contiguous vectors indexed by partition or group number.
//
// Bit-identity: acc_add() and acc_result() are the only definition of the arithmetic. The
// batch path (runtime/aggregate.cpp, over a closed window's rows) and the incremental path
// (runtime/window_aggregate.cpp, per arriving event) both call them in arrival order, so a
// result never depends on which path computed it.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/builtins.hpp"
#include "runtime/arena.hpp"
#include "runtime/value.hpp"

namespace varpulis::runtime {

/// Running state of one aggregate call over one group's open window. Members by function:
///   Sum, Avg   a = Σx (from 0.0)                 n = numeric inputs
///   Min / Max  a = lowest / highest (from ±inf)  n = numeric inputs
///   Stddev     a = Welford mean, b = Welford m2  n = numeric inputs
///   Ema        a = e, b = k = 2/(period+1)       n = numeric inputs (0: not seeded)
///   First/Last v = the argument's value (Absent until set)
///   Count      unused (the group's count)
/// `x` inputs are what numeric_input() accepts: ints widened, NaN and non-numbers skipped.
struct CallAcc {
    double a;
    double b;
    int64_t n;
    Value v;
};
static_assert(sizeof(CallAcc) == 40, "CallAcc layout is shared with generated code");
static_assert(offsetof(CallAcc, a) == 0 && offsetof(CallAcc, b) == 8 && offsetof(CallAcc, n) == 16 &&
                  offsetof(CallAcc, v) == 24,
              "CallAcc layout is shared with generated code");

/// One group of an open window: the events of one aggregate key (SEMANTICS §7.1). A
/// partitioned window has one group, except the window of key "default", which may hold
/// events lacking the field (aggregate key "") and events whose field is "default".
struct GroupHeader {
    int64_t count;        // events in the group: count()
    int64_t last_ts;      // time of its last event: the result's timestamp (§2.3)
    uint32_t absent_key;  // 1: the events lack the partition field (`_partition` "")
    uint32_t pad;
};
static_assert(sizeof(GroupHeader) == 24 && offsetof(GroupHeader, absent_key) == 16,
              "GroupHeader layout is shared with generated code");

inline constexpr uint32_t kNoGroup = UINT32_MAX;

/// Window bookkeeping of one partition (or of the whole stream when unpartitioned).
struct WindowPartition {
    int64_t start;       // Tumbling: start of the open window
    int64_t last_ts;     // Session: time of the last event
    int64_t count;       // events in the open window (Count: closes at the window size)
    uint32_t groups[2];  // groups of the open window in order of first appearance (kNoGroup: none)
    uint8_t ngroups;     // groups in use by the open window (0: the window is empty)
    uint8_t started;     // Tumbling: saw its first event
    uint8_t pad[6];
    const StrObj* key;   // `_partition` value of the group of present keys (interned)
};
static_assert(sizeof(WindowPartition) == 48 && offsetof(WindowPartition, groups) == 24 &&
                  offsetof(WindowPartition, ngroups) == 32 && offsetof(WindowPartition, key) == 40,
              "WindowPartition layout is shared with generated code");

/// Where a type kernel (runtime/abi.hpp) feeds one event of a fused window: the group the
/// event joins, already opened and time-stamped, with its accumulators (one CallAcc per
/// aggregate call, in call order). Generated code updates the accumulators, then increments
/// `group->count` and `part->count` itself, as WindowAggregate::add does.
struct WindowCursor {
    CallAcc* acc;
    GroupHeader* group;
    WindowPartition* part;
};
static_assert(sizeof(WindowCursor) == 24 && offsetof(WindowCursor, group) == 8 && offsetof(WindowCursor, part) == 16,
              "WindowCursor layout is shared with generated code");

/// A string object last seen as a partition key (WindowAccess::keys).
struct KeyCacheSlot {
    const StrObj* key;  // nullptr: empty
    uint32_t hash;      // key->hash when cached (below: why it is compared too)
    uint32_t part;      // its partition
};
static_assert(sizeof(KeyCacheSlot) == 16 && offsetof(KeyCacheSlot, hash) == 8 && offsetof(KeyCacheSlot, part) == 12,
              "KeyCacheSlot layout is shared with generated code");

/// Set of string object `s` in a key cache of 2^(64 - shift) sets of kKeyCacheWays slots.
inline constexpr size_t kKeyCacheWays = 2;
inline uint64_t key_cache_set(const StrObj* s, uint64_t shift) {
    return (reinterpret_cast<uintptr_t>(s) * 0x9E3779B97F4A7C15ull) >> shift;
}

/// What generated code needs to reach a fused window's open group without calling the
/// runtime (runtime/abi.hpp TypeRun::windows points to one per stream). Owned by the
/// WindowAggregate, which refreshes the storage pointers whenever its vectors grow.
///
/// `keys` maps the *address* of a string key to its partition: the reader shares one object
/// per recent short string (symbols, ids), so most events find their partition with one or
/// two compares, no hashing of bytes. Two ways per set (the most recently cached first): with
/// one, addresses that share a slot (7 % of the aggregation workload's events, 100 keys in
/// 512 slots) kept evicting each other. An address stands for its bytes because input strings live
/// as long as the engine's state (which keeps them too: first/last values, joined rows); the
/// key's hash is compared as well, so a caller that frees them early and gets an address back
/// for another key still misses. A miss is never wrong: the runtime looks the key up by bytes
/// (PartitionIndex) and caches the address.
struct WindowAccess {
    const KeyCacheSlot* keys;   // sets of kKeyCacheWays slots by key_cache_set(); null when unpartitioned
    uint64_t key_shift;         // 64 - log2(sets)
    WindowPartition* parts;     // by partition number
    GroupHeader* groups;        // by group number
    CallAcc* accs;              // calls per group, by group number
    WindowCursor cursor;        // the entered group: enter()'s answer; close_full() reads `part`
    void* owner;                // the WindowAggregate (the runtime's slow path)
};
static_assert(offsetof(WindowAccess, key_shift) == 8 && offsetof(WindowAccess, parts) == 16 &&
                  offsetof(WindowAccess, groups) == 24 && offsetof(WindowAccess, accs) == 32 &&
                  offsetof(WindowAccess, cursor) == 40 && offsetof(WindowAccess, owner) == 64,
              "WindowAccess layout is shared with generated code");

/// Numeric value of `v` for sum/avg/min/max/stddev/ema: ints widen, NaN and non-numbers skip.
inline bool numeric_input(const Value& v, double& out) {
    if (v.kind == ValueKind::Int) {
        out = static_cast<double>(v.i);
        return true;
    }
    if (v.kind == ValueKind::Float && !std::isnan(v.f)) {
        out = v.f;
        return true;
    }
    return false;
}

/// Empty state for `fn`. `ema_k` is Ema's smoothing factor (see ema_factor()).
inline void acc_reset(frontend::AggregateFn fn, CallAcc& acc, double ema_k = 0) {
    using frontend::AggregateFn;
    acc.a = fn == AggregateFn::Min ? INFINITY : fn == AggregateFn::Max ? -INFINITY : 0.0;
    acc.b = fn == AggregateFn::Ema ? ema_k : 0.0;
    acc.n = 0;
    acc.v = Value::absent();
}

/// Ema's k from its evaluated period argument (SEMANTICS §7.2: n < 1 treated as 1; a
/// missing or non-numeric period is 1).
inline double ema_factor(const Value* period) {
    double p = 1;
    double pv;
    if (period && numeric_input(*period, pv)) p = pv;
    if (p < 1) p = 1;
    return 2.0 / (p + 1.0);
}

/// Feeds one numeric input `x` (arrival order) to a Sum/Avg/Min/Max/Stddev/Ema state.
inline void acc_add(frontend::AggregateFn fn, CallAcc& acc, double x) {
    using frontend::AggregateFn;
    switch (fn) {
        case AggregateFn::Sum:
        case AggregateFn::Avg:
            ++acc.n;
            acc.a += x;
            break;
        case AggregateFn::Min:
            ++acc.n;
            acc.a = std::min(acc.a, x);
            break;
        case AggregateFn::Max:
            ++acc.n;
            acc.a = std::max(acc.a, x);
            break;
        case AggregateFn::Stddev: {
            ++acc.n;
            double d = x - acc.a;  // Welford
            acc.a += d / static_cast<double>(acc.n);
            acc.b += d * (x - acc.a);
            break;
        }
        case AggregateFn::Ema: {
            const double k = acc.b;
            acc.a = acc.n ? k * x + (1 - k) * acc.a : x;
            ++acc.n;
            break;
        }
        default:
            break;
    }
}

/// The value of a numeric or First/Last state (Count and CountDistinct are the caller's).
inline Value acc_result(frontend::AggregateFn fn, const CallAcc& acc) {
    using frontend::AggregateFn;
    switch (fn) {
        case AggregateFn::Sum: return Value::floating(acc.a);
        case AggregateFn::Avg: return acc.n ? Value::floating(acc.a / static_cast<double>(acc.n)) : Value::null();
        case AggregateFn::Min:
        case AggregateFn::Max:
        case AggregateFn::Ema: return acc.n ? Value::floating(acc.a) : Value::null();
        case AggregateFn::Stddev:
            return acc.n >= 2 ? Value::floating(std::sqrt(acc.b / static_cast<double>(acc.n - 1))) : Value::null();
        case AggregateFn::First:
        case AggregateFn::Last: return acc.v.present() ? acc.v : Value::null();
        default: return Value::null();
    }
}

/// Partition lookup by key value without building a string per event (SEMANTICS §6.5: the
/// key is the value's text — strings as they are, integral numbers in decimal, others in
/// display form — so "5", 5 and 5.0 share a partition; a missing value is `absent_key`).
/// String values hash by their precomputed FNV-1a and compare by bytes, since equal strings
/// of different events are different objects; other kinds format into a reused buffer.
/// Partitions are numbered 0, 1, ... in order of first appearance.
class PartitionIndex {
public:
    explicit PartitionIndex(std::string_view absent_key = "default") : absent_key_(absent_key) {}

    /// The partition of `v`; a new one gets the next number and sets `fresh`.
    uint32_t find_or_add(const Value& v, bool& fresh) {
        fresh = false;
        if (v.kind == ValueKind::Str) {
            // Runs of one key are common: check the last partition by content before hashing.
            const uint32_t h = v.s->hash;
            if (last_index_ != kNotFound && hashes_[last_index_] == h && keys_[last_index_].size() == v.s->size &&
                bytes_equal(keys_[last_index_].data(), v.s->data, v.s->size))
                return last_index_;
            last_index_ = find_or_add_key(v.str(), h, fresh);
            return last_index_;
        }
        return find_or_add_formatted(v, fresh);
    }

    /// The partition of string key `s`, or kNotFound (nothing is added).
    static constexpr uint32_t kNotFound = UINT32_MAX;
    uint32_t find_string(const StrObj* s) const { return find_key(s->view(), s->hash); }

    /// The partition of key text `key` (checkpoint restore).
    uint32_t find_or_add_key(std::string_view key, bool& fresh) {
        return find_or_add_key(key, fnv1a(key), fresh);
    }

    size_t size() const { return keys_.size(); }
    std::string_view key(uint32_t i) const { return keys_[i]; }

private:

    /// Equal bytes; keys are short, so small sizes compare in a few word loads (two
    /// overlapping ones cover 8..16 bytes) instead of a call to memcmp.
    static bool bytes_equal(const char* a, const char* b, size_t n) {
        auto load8 = [](const char* p) {
            uint64_t v;
            std::memcpy(&v, p, 8);
            return v;
        };
        auto load4 = [](const char* p) {
            uint32_t v;
            std::memcpy(&v, p, 4);
            return v;
        };
        if (n >= 8) {
            if (n > 16) return std::memcmp(a, b, n) == 0;
            return load8(a) == load8(b) && load8(a + n - 8) == load8(b + n - 8);
        }
        if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
        for (size_t i = 0; i < n; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }

    uint32_t find_key(std::string_view key, uint32_t hash) const {
        if (table_.empty()) return kNotFound;
        const size_t mask = table_.size() - 1;
        for (size_t i = slot_of(hash);; i = (i + 1) & mask) {
            const uint64_t e = table_[i];
            if (e == 0) return kNotFound;
            if (static_cast<uint32_t>(e >> 32) != hash) continue;
            const uint32_t idx = static_cast<uint32_t>(e) - 1;
            const std::string& k = keys_[idx];
            if (k.size() == key.size() && bytes_equal(k.data(), key.data(), key.size())) return idx;
        }
    }

    uint32_t find_or_add_key(std::string_view key, uint32_t hash, bool& fresh) {
        fresh = false;
        const uint32_t idx = find_key(key, hash);
        return idx != kNotFound ? idx : add_key(key, hash, fresh);
    }

    /// Home slot of `hash`: its high bits after a Fibonacci multiply. FNV-1a's low bits mix
    /// poorly for keys that differ in their last characters ("SYM01", "SYM02", ...), which
    /// would cluster under `hash & mask`.
    size_t slot_of(uint32_t hash) const { return (hash * 0x9E3779B1u) >> shift_; }

    uint32_t find_or_add_formatted(const Value& v, bool& fresh);
    uint32_t add_key(std::string_view key, uint32_t hash, bool& fresh);
    void grow();

    std::string absent_key_;
    std::vector<std::string> keys_;     // by partition number
    std::vector<uint32_t> hashes_;      // FNV-1a of keys_[i]
    /// Open addressing, linear probing, power-of-two size, at most half full: per slot
    /// (hash << 32) | (partition + 1), 0 = empty.
    std::vector<uint64_t> table_;
    uint32_t shift_ = 32;               // 32 - log2(table_.size())
    std::string buf_;                   // key text of a non-string value
    uint32_t last_index_ = kNotFound;      // partition of the last string key looked up
};

}  // namespace varpulis::runtime
