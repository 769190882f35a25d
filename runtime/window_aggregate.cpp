#include "runtime/window_aggregate.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <cstring>

#include "runtime/abi.hpp"
#include "runtime/checkpoint_io.hpp"

namespace varpulis::runtime {

namespace {

using frontend::AggregateFn;
using ir::WindowKind;

/// First u32 of a fused window's checkpoint state: WindowOperator's format starts with a row
/// count there, and no blob can hold 2^32 - 1 rows, so the two formats cannot be confused.
constexpr uint32_t kAccumulatorFormat = 0xFFFFFFFFu;
constexpr uint8_t kAccumulatorVersion = 1;

std::atomic<int> g_fusion{-1};  // -1: not read from the environment yet

}  // namespace

bool window_fusion_enabled() {
    int v = g_fusion.load(std::memory_order_relaxed);
    if (v < 0) {
        const char* env = std::getenv("VARPULIS_WINDOW_FUSION");
        v = env && std::strcmp(env, "0") == 0 ? 0 : 1;
        g_fusion.store(v, std::memory_order_relaxed);
    }
    return v != 0;
}

void set_window_fusion(bool on) { g_fusion.store(on ? 1 : 0, std::memory_order_relaxed); }

WindowAggregate::WindowAggregate(Runtime& rt, const ir::Operator& window, const ir::Operator& aggregate,
                                 const StrObj* result_type)
    : rt_(rt),
      window_(window.window),
      agg_(aggregate),
      result_type_(result_type),
      empty_key_(rt.interner->intern("")),
      in_width_(rt.plan->schemas[static_cast<size_t>(window.in)].fields.size()),
      out_width_(rt.plan->schemas[static_cast<size_t>(aggregate.out)].fields.size()),
      agg_slot_(aggregate.partition_slot) {
    for (const auto& c : aggregate.calls) {
        Feed feed = Feed::Number;
        switch (c.fn) {
            case AggregateFn::Count: feed = Feed::None; break;
            case AggregateFn::First: feed = Feed::First; break;
            case AggregateFn::Last:
                feed = !c.arg || c.arg->op == ir::ExprOp::Field || c.arg->op == ir::ExprOp::Const ? Feed::Last
                                                                                                 : Feed::LastRow;
                break;
            default: break;
        }
        keep_last_row_ = keep_last_row_ || feed == Feed::LastRow;
        const auto index = static_cast<uint32_t>(calls_.size());
        if (feed == Feed::Number) numbers_.push_back(index);
        if (feed == Feed::First) firsts_.push_back(index);
        if (feed == Feed::Last) lasts_.push_back(index);
        calls_.push_back({&c, c.fn, feed});
    }
    args_.resize(calls_.size() + 1);
    results_.resize(calls_.size() + 1);
    access_.owner = this;
    if (window_.partition_slot < 0) new_partition({});
    else size_key_cache();   // generated code probes it without a null check
    sync_access();
}

void WindowAggregate::sync_access() {
    access_.keys = key_cache_.empty() ? nullptr : key_cache_.data();
    access_.parts = parts_.data();
    access_.groups = groups_.data();
    access_.accs = accs_.data();
}

uint32_t WindowAggregate::cached_partition(const StrObj* s) const {
    if (key_cache_.empty()) return PartitionIndex::kNotFound;
    const KeyCacheSlot* set = key_cache_.data() + key_cache_set(s, access_.key_shift) * kKeyCacheWays;
    for (size_t w = 0; w < kKeyCacheWays; ++w)
        if (set[w].key == s) return set[w].hash == s->hash ? set[w].part : PartitionIndex::kNotFound;
    return PartitionIndex::kNotFound;
}

void WindowAggregate::size_key_cache() {
    // About four sets per partition (32 to 32K sets): with more keys than that, keys take
    // turns in their sets and the others go through the PartitionIndex.
    constexpr size_t kMinSets = 32;
    constexpr size_t kMaxSets = size_t{1} << 15;
    const size_t want = std::min(kMaxSets, std::max(kMinSets, std::bit_ceil(parts_.size() * 4)));
    if (key_cache_.size() >= want * kKeyCacheWays) return;
    key_cache_.assign(want * kKeyCacheWays, KeyCacheSlot{nullptr, 0, 0});
    access_.key_shift = 64 - static_cast<uint64_t>(std::countr_zero(want));
    access_.keys = key_cache_.data();
}

void WindowAggregate::cache_key(const StrObj* s, uint32_t pi) {
    size_key_cache();
    KeyCacheSlot* set = key_cache_.data() + key_cache_set(s, access_.key_shift) * kKeyCacheWays;
    // Most recent first: the older entries move down a way, the last one drops out.
    size_t w = 0;
    while (w + 1 < kKeyCacheWays && set[w].key != s) ++w;
    for (; w > 0; --w) set[w] = set[w - 1];
    set[0] = {s, s->hash, pi};
}

uint32_t WindowAggregate::new_partition(std::string_view key) {
    WindowPartition p{};
    p.groups[0] = p.groups[1] = kNoGroup;
    p.key = window_.partition_slot >= 0 ? rt_.interner->intern(key) : empty_key_;
    parts_.push_back(p);
    sync_access();
    return static_cast<uint32_t>(parts_.size() - 1);
}

uint32_t WindowAggregate::take_group(WindowPartition& p) {
    uint32_t& g = p.groups[p.ngroups];
    if (g == kNoGroup) {
        g = static_cast<uint32_t>(groups_.size());
        groups_.push_back({});
        accs_.resize(accs_.size() + calls_.size());
        if (keep_last_row_) {
            last_slots_.resize(last_slots_.size() + in_width_);
            last_meta_.push_back({});
        }
        sync_access();
    }
    ++p.ngroups;
    return g;
}

uint32_t WindowAggregate::open_group(WindowPartition& p, bool absent_key, const Row& row) {
    const uint32_t g = take_group(p);
    GroupHeader& gh = groups_[g];
    gh.count = 0;
    gh.last_ts = row.ts;
    gh.absent_key = absent_key ? 1 : 0;
    CallAcc* acc = accs_.data() + static_cast<size_t>(g) * calls_.size();
    for (size_t c = 0; c < calls_.size(); ++c) {
        double k = 0;
        if (calls_[c].fn == AggregateFn::Ema) {
            // As run_aggregate: the period is evaluated on the group's first event.
            Value period = Value::absent();
            if (calls_[c].call->period) {
                EvalContext ctx = row_context(rt_, row);
                period = eval(*calls_[c].call->period, ctx);
            }
            k = ema_factor(&period);
        }
        acc_reset(calls_[c].fn, acc[c], k);
    }
    return g;
}

uint32_t WindowAggregate::find_group(const WindowPartition& p, const Value* slots) const {
    const uint32_t absent_key = agg_slot_ >= 0 && !slots[agg_slot_].present() ? 1 : 0;
    uint32_t g = kNoGroup;
    for (uint8_t i = 0; i < p.ngroups; ++i)
        if (groups_[p.groups[i]].absent_key == absent_key) g = p.groups[i];
    return g;
}

uint32_t WindowAggregate::group_of(WindowPartition& p, const Row& row) {
    const uint32_t g = find_group(p, row.slots);
    return g != kNoGroup ? g : open_group(p, agg_slot_ >= 0 && !row.slots[agg_slot_].present(), row);
}

void WindowAggregate::add(WindowPartition& p, const Row& row, const AggregateKernel* kernel) {
    const uint32_t g = group_of(p, row);
    GroupHeader& gh = groups_[g];
    CallAcc* acc = accs_.data() + static_cast<size_t>(g) * calls_.size();

    EvalContext ctx = row_context(rt_, row);
    const Value* args = nullptr;
    if (kernel && kernel->args && !calls_.empty()) {
        KernelContext kc{&ctx, kernel->nodes, kernel->consts};
        kernel->args(row.slots, args_.data(), &kc);
        args = args_.data();
    }
    auto arg = [&](size_t c) -> Value {
        if (args) return args[c];
        const ir::Expr* e = calls_[c].call->arg.get();
        return e ? eval(*e, ctx) : Value::absent();
    };
    for (uint32_t c : numbers_) {
        double x;
        if (numeric_input(arg(c), x)) acc_add(calls_[c].fn, acc[c], x);
    }
    if (gh.count == 0)
        for (uint32_t c : firsts_) acc[c].v = arg(c);
    for (uint32_t c : lasts_) acc[c].v = arg(c);
    if (keep_last_row_) {
        std::memcpy(static_cast<void*>(last_slots_.data() + static_cast<size_t>(g) * in_width_), row.slots,
                    in_width_ * sizeof(Value));
        last_meta_[g] = {row.ts, row.type, row.raw, row.raw_count, row.schema};
    }
    ++gh.count;
    gh.last_ts = row.ts;
    ++p.count;
}

void WindowAggregate::close(WindowPartition& p, Arena& scratch, std::vector<Row>& out) {
    for (uint8_t i = 0; i < p.ngroups; ++i) {
        const uint32_t g = p.groups[i];
        const GroupHeader& gh = groups_[g];
        const CallAcc* acc = accs_.data() + static_cast<size_t>(g) * calls_.size();
        for (size_t c = 0; c < calls_.size(); ++c) {
            switch (calls_[c].feed) {
                case Feed::None:
                    results_[c] = Value::integer(gh.count);
                    break;
                case Feed::LastRow: {
                    const RowMeta& m = last_meta_[g];
                    Row last{last_slots_.data() + static_cast<size_t>(g) * in_width_, m.schema, m.ts, m.type, m.raw,
                             m.raw_count};
                    EvalContext ctx = row_context(rt_, last);
                    Value v = eval(*calls_[c].call->arg, ctx);
                    results_[c] = v.present() ? v : Value::null();
                    break;
                }
                default:
                    results_[c] = acc_result(calls_[c].fn, acc[c]);
                    break;
            }
        }
        Value* slots = scratch.allocate_array<Value>(out_width_ + 1);
        size_t k = 0;
        if (agg_slot_ >= 0) slots[k++] = Value::string(gh.absent_key ? empty_key_ : p.key);
        for (const auto& item : agg_.aggregates) slots[k++] = combine_aggregate(*item.combine, results_.data());
        for (; k < out_width_; ++k) slots[k] = Value::absent();
        out.push_back(Row{slots, agg_.out, gh.last_ts, result_type_, nullptr, 0});
    }
    p.ngroups = 0;
    p.count = 0;
}

WindowPartition& WindowAggregate::partition_of(const Row& row) {
    uint32_t pi = 0;
    if (window_.partition_slot >= 0) {
        const Value& key = row.slots[window_.partition_slot];
        if (key.kind == ValueKind::Str) {
            pi = cached_partition(key.s);
            if (pi != PartitionIndex::kNotFound) return parts_[pi];
        }
        bool fresh;
        pi = index_.find_or_add(key, fresh);
        if (fresh) new_partition(index_.key(pi));
        if (key.kind == ValueKind::Str) cache_key(key.s, pi);
    }
    return parts_[pi];
}

bool WindowAggregate::closes(const WindowPartition& p, int64_t t) const {
    switch (window_.kind) {
        case WindowKind::Tumbling: return p.started && t >= p.start + window_.size;
        case WindowKind::Session: return p.ngroups > 0 && t - p.last_ts > window_.size;
        default: return false;  // count windows close after the event is added; others are not fused
    }
}

void WindowAggregate::close_before(WindowPartition& p, int64_t t, Arena& scratch, std::vector<Row>& out) {
    const bool closing = closes(p, t);
    if (closing) close(p, scratch, out);
    if (window_.kind == WindowKind::Tumbling && (closing || !p.started)) {
        p.start = t;
        p.started = 1;
    }
}

WindowCursor* WindowAggregate::cursor_at(WindowPartition& p, uint32_t g, int64_t ts) {
    GroupHeader& gh = groups_[g];
    gh.last_ts = ts;
    if (window_.kind == WindowKind::Session) p.last_ts = ts;  // read only by the next closes()
    access_.cursor = {accs_.data() + static_cast<size_t>(g) * calls_.size(), &gh, &p};
    return &access_.cursor;
}

void WindowAggregate::push(const Row& row, const AggregateKernel* kernel, Arena& scratch, std::vector<Row>& out) {
    WindowPartition& p = partition_of(row);
    close_before(p, row.ts, scratch, out);
    add(p, row, kernel);
    if (window_.kind == WindowKind::Count && p.count >= window_.size) close(p, scratch, out);
    if (window_.kind == WindowKind::Session) p.last_ts = row.ts;
}

WindowCursor* WindowAggregate::enter(const Row& row, Arena& scratch, std::vector<Row>& out) {
    WindowPartition& p = partition_of(row);
    close_before(p, row.ts, scratch, out);
    return cursor_at(p, group_of(p, row), row.ts);
}

WindowCursor* WindowAggregate::enter_open(const Value* slots, int64_t ts) {
    WindowPartition* p = parts_.data();
    if (window_.partition_slot >= 0) {
        const Value& key = slots[window_.partition_slot];
        if (key.kind != ValueKind::Str) return nullptr;
        uint32_t pi = cached_partition(key.s);
        if (pi == PartitionIndex::kNotFound) {
            pi = index_.find_string(key.s);
            if (pi == PartitionIndex::kNotFound) return nullptr;
            cache_key(key.s, pi);
        }
        p = &parts_[pi];
    }
    // A tumbling window not started yet (possible after a restore) starts in enter().
    if (p->ngroups == 0 || closes(*p, ts) || (window_.kind == WindowKind::Tumbling && !p->started)) return nullptr;
    const uint32_t g = find_group(*p, slots);
    if (g == kNoGroup) return nullptr;   // opening a group may evaluate an ema period: enter()
    return cursor_at(*p, g, ts);
}

void WindowAggregate::close_full(Arena& scratch, std::vector<Row>& out) {
    WindowPartition& p = *access_.cursor.part;
    if (window_.kind == WindowKind::Count && p.count >= window_.size) close(p, scratch, out);
}

void WindowAggregate::finish(Arena& scratch, std::vector<std::vector<Row>>& batches) {
    if (window_.kind != WindowKind::Session) return;
    for (auto& p : parts_) {
        if (p.ngroups == 0) continue;
        batches.emplace_back();
        close(p, scratch, batches.back());
    }
}

// ------------------------------------------------------------------ checkpoints
//
// u32 kAccumulatorFormat, u8 version, u32 partitions, per partition in order of first
// appearance: str key ("" unpartitioned), i64 start, bool started, i64 last_ts, i64 count,
// u8 groups, per group: bool absent_key, i64 count, i64 last_ts, per call f64 a, f64 b,
// i64 n, value v, and with a LastRow call the group's last row.

void WindowAggregate::save(CheckpointWriter& w) const {
    w.u32(kAccumulatorFormat);
    w.u8(kAccumulatorVersion);
    w.count(parts_.size());
    for (size_t i = 0; i < parts_.size(); ++i) {
        const WindowPartition& p = parts_[i];
        w.str(window_.partition_slot >= 0 ? index_.key(static_cast<uint32_t>(i)) : std::string_view());
        w.i64(p.start);
        w.boolean(p.started != 0);
        w.i64(p.last_ts);
        w.i64(p.count);
        w.u8(p.ngroups);
        for (uint8_t j = 0; j < p.ngroups; ++j) {
            const uint32_t g = p.groups[j];
            const GroupHeader& gh = groups_[g];
            w.boolean(gh.absent_key != 0);
            w.i64(gh.count);
            w.i64(gh.last_ts);
            const CallAcc* acc = accs_.data() + static_cast<size_t>(g) * calls_.size();
            for (size_t c = 0; c < calls_.size(); ++c) {
                w.f64(acc[c].a);
                w.f64(acc[c].b);
                w.i64(acc[c].n);
                w.value(acc[c].v);
            }
            if (keep_last_row_) {
                const RowMeta& m = last_meta_[g];
                w.row(last_slots_.data() + static_cast<size_t>(g) * in_width_, in_width_, m.schema, m.ts, m.type,
                      m.raw, m.raw_count);
            }
        }
    }
}

bool WindowAggregate::load(CheckpointReader& r) {
    const uint32_t head = r.u32();
    if (!r.ok()) return false;
    if (head != kAccumulatorFormat) return load_rows_format(r, head);
    if (r.u8() != kAccumulatorVersion) return r.fail("unknown window accumulator format");
    // A partition takes at least 30 bytes (key length, bounds, group count).
    const uint32_t n = r.count(30);
    if (!r.ok()) return false;
    const bool partitioned = window_.partition_slot >= 0;
    if (!partitioned && n != 1) return r.fail("an unpartitioned window has one state");
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
        std::string_view key = r.str();
        if (!r.ok()) return false;
        uint32_t pi = 0;
        if (partitioned) {
            bool fresh;
            pi = index_.find_or_add_key(key, fresh);
            if (!fresh) return r.fail("duplicate window partition");
            new_partition(key);
        }
        WindowPartition& p = parts_[pi];
        p.start = r.i64();
        p.started = r.boolean() ? 1 : 0;
        p.last_ts = r.i64();
        p.count = r.i64();
        const uint8_t ngroups = r.u8();
        if (!r.ok()) return false;
        if (ngroups > 2 || (ngroups == 2 && agg_slot_ < 0)) return r.fail("window groups that do not fit");
        for (uint8_t j = 0; j < ngroups && r.ok(); ++j) {
            const bool absent_key = r.boolean();
            if (absent_key && agg_slot_ < 0) return r.fail("window groups that do not fit");
            if (j == 1 && (groups_[p.groups[0]].absent_key != 0) == absent_key)
                return r.fail("window groups that do not fit");
            const uint32_t g = take_group(p);
            GroupHeader& gh = groups_[g];
            gh.absent_key = absent_key ? 1 : 0;
            gh.count = r.i64();
            gh.last_ts = r.i64();
            CallAcc* acc = accs_.data() + static_cast<size_t>(g) * calls_.size();
            for (size_t c = 0; c < calls_.size() && r.ok(); ++c) {
                acc[c].a = r.f64();
                acc[c].b = r.f64();
                acc[c].n = r.i64();
                if (!r.value(acc[c].v)) return false;
            }
            if (keep_last_row_) {
                std::vector<Value> slots;
                RowMeta m{};
                if (!r.row_into(slots, in_width_, m.schema, m.ts, m.type, m.raw, m.raw_count)) return false;
                std::copy(slots.begin(), slots.end(), last_slots_.begin() + static_cast<std::ptrdiff_t>(g * in_width_));
                last_meta_[g] = m;
            }
        }
    }
    return r.ok();
}

/// WindowOperator::save's format (this window saved by a build that buffered it): the rows
/// are replayed through the accumulators, arguments interpreted.
bool WindowAggregate::load_rows_format(CheckpointReader& r, uint32_t single_rows) {
    const bool partitioned = window_.partition_slot >= 0;
    if (partitioned && single_rows > 0) return r.fail("rows of an unpartitioned window in a partitioned one");
    WindowPartition unused{};  // a partitioned window's unpartitioned state: empty (checked above)
    if (!load_rows_state(r, partitioned ? unused : parts_[0], single_rows)) return false;
    const uint32_t n = r.count(4);
    if (!r.ok()) return false;
    if (n > 0 && !partitioned) return r.fail("partitions in an unpartitioned window");
    for (uint32_t i = 0; i < n; ++i) {
        std::string_view key = r.str();
        if (!r.ok()) return false;
        bool fresh;
        const uint32_t pi = index_.find_or_add_key(key, fresh);
        if (!fresh) return r.fail("duplicate window partition");
        new_partition(key);
        const uint32_t rows = r.count(21);  // a row takes at least 21 bytes
        if (!r.ok() || !load_rows_state(r, parts_[pi], rows)) return false;
    }
    return true;
}

bool WindowAggregate::load_rows_state(CheckpointReader& r, WindowPartition& p, uint32_t rows) {
    std::vector<Value> slots;
    for (uint32_t i = 0; i < rows && r.ok(); ++i) {
        slots.clear();
        RowMeta m{};
        if (!r.row_into(slots, in_width_, m.schema, m.ts, m.type, m.raw, m.raw_count)) return false;
        Row row{slots.data(), m.schema, m.ts, m.type, m.raw, m.raw_count};
        add(p, row, nullptr);
    }
    const int64_t start = r.i64();
    const bool started = r.boolean();
    r.i64();      // last_emit: sliding windows only
    r.boolean();  // emitted: sliding windows only
    const int64_t last_ts = r.i64();
    r.i64();      // since_emit: sliding count windows only
    p.start = start;
    p.started = started ? 1 : 0;
    p.last_ts = last_ts;
    return r.ok();
}

}  // namespace varpulis::runtime
