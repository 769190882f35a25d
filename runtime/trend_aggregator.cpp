#include "runtime/trend_aggregator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>

#include "ir/nfa_shape.hpp"
#include "runtime/checkpoint_io.hpp"
#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

using ir::Expr;
using ir::ExprOp;
using ir::Quantifier;
using frontend::TrendFn;

namespace {

bool reads_any_alias(const Expr& e) {
    if (e.op == ExprOp::AliasField || e.op == ExprOp::AliasLen) return true;
    for (const auto& a : e.args)
        if (a && reads_any_alias(*a)) return true;
    return false;
}

/// Non-negative integer with additions only: a 64-bit fast path, limbs beyond it on carry.
struct BigCount {
    uint64_t lo = 0;
    std::vector<uint64_t> hi;  // little-endian limbs above `lo`; empty: the value is `lo`

    bool zero() const {
        if (lo) return false;
        for (uint64_t h : hi)
            if (h) return false;
        return true;
    }
    bool fits_i64() const {
        for (uint64_t h : hi)
            if (h) return false;
        return lo <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    }
    void clear() {
        lo = 0;
        hi.clear();
    }
    void add(uint64_t v) {
        uint64_t r = lo + v;
        uint64_t carry = r < lo;
        lo = r;
        for (size_t i = 0; carry; ++i) {
            if (i == hi.size()) hi.push_back(0);
            hi[i] += 1;
            carry = hi[i] == 0;
        }
    }
    void add(const BigCount& o) {
        uint64_t r = lo + o.lo;
        uint64_t carry = r < lo;
        lo = r;
        if (o.hi.size() > hi.size()) hi.resize(o.hi.size(), 0);
        for (size_t i = 0; i < hi.size() && (carry || i < o.hi.size()); ++i) {
            uint64_t x = i < o.hi.size() ? o.hi[i] : 0;
            uint64_t s = hi[i] + x;
            uint64_t c1 = s < hi[i];
            uint64_t s2 = s + carry;
            uint64_t c2 = s2 < s;
            hi[i] = s2;
            carry = c1 | c2;
        }
        if (carry) hi.push_back(1);
    }
    /// The double nearest the exact value (through the decimal form and strtod).
    double to_double() const {
        bool big = false;
        for (uint64_t h : hi) big |= h != 0;
        if (!big) return static_cast<double>(lo);
        std::vector<uint64_t> limbs;
        limbs.push_back(lo);
        limbs.insert(limbs.end(), hi.begin(), hi.end());
        while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
        constexpr uint64_t kChunk = 10000000000000000000ull;  // 10^19
        std::vector<uint64_t> chunks;  // base 10^19, least significant first
        while (!limbs.empty()) {
            unsigned __int128 rem = 0;
            for (size_t i = limbs.size(); i-- > 0;) {
                unsigned __int128 cur = (rem << 64) | limbs[i];
                limbs[i] = static_cast<uint64_t>(cur / kChunk);
                rem = cur % kChunk;
            }
            chunks.push_back(static_cast<uint64_t>(rem));
            while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
        }
        std::string s = std::to_string(chunks.back());
        for (size_t i = chunks.size() - 1; i-- > 0;) {
            std::string part = std::to_string(chunks[i]);
            s.append(19 - part.size(), '0');
            s += part;
        }
        return std::strtod(s.c_str(), nullptr);
    }
};

/// Aggregates of one item over a set of (partial) trends.
struct Acc {
    BigCount n;        // count_events: events; sum/avg: contributing (trend, event) pairs
    double sum = 0.0;
    double ext = 0.0;  // min / max
    bool has = false;
};

struct Val {
    BigCount cnt;  // number of (partial) trends
    std::vector<Acc> acc;

    void reset(size_t items) {
        cnt.clear();
        acc.resize(items);
        for (auto& a : acc) {
            a.n.clear();
            a.sum = 0.0;
            a.ext = 0.0;
            a.has = false;
        }
    }
};

}  // namespace

struct TrendAggregator::Impl {
    struct ItemInfo {
        TrendFn fn = TrendFn::CountTrends;
        int32_t alias = -1;
        std::vector<char> assigned;      // per step: the step binds this item's alias
        std::vector<int32_t> field_slot; // per step: slot of the item's field in the step's schema
    };

    struct StepInfo {
        int32_t type_id = -1;
        const Expr* pred = nullptr;
        bool dep = false;                 // the predicate reads the predecessor (an alias)
        bool start = false;               // only optional steps before it
        bool end = false;                 // only optional steps after it
        bool keep = false;                // its vertices are needed by a dependent successor
        std::vector<int32_t> preds;       // steps a predecessor vertex may be at
    };

    struct Vertex {
        StoredRow row;
        Val val;
    };

    struct Part {
        bool open = false;
        int64_t w = 0;
        uint64_t open_seq = 0;
        Value key;
        std::vector<Val> totals;                 // per step: sum over its vertices
        std::vector<std::vector<Vertex>> verts;  // per step (kept steps only)
        Val result;                              // sum over end vertices
        int64_t last_end_ts = 0;
        /// With a trend kernel attached (open windows only): totals and result in the
        /// kernel's records (runtime/abi.hpp TrendKernel) instead of `totals` and `result`.
        std::vector<uint64_t> flat;
        bool flat_on = false;
        /// A window closed while in records: its (final) totals are still there, read only by
        /// checkpoints; the next window starts afresh.
        bool flat_totals = false;
    };

    Runtime& rt_;
    const ir::Plan& plan_;
    std::shared_ptr<ir::Trend> trend_;
    const ir::Nfa& nfa_;
    int32_t out_schema_;
    const StrObj* result_type_;
    std::vector<StepInfo> steps_;
    std::vector<ItemInfo> items_;
    bool partitioned_ = false;
    std::vector<int32_t> part_slot_;
    std::vector<char> step_type_;
    bool has_within_ = false;
    int64_t within_ = 0;
    bool any_dep_ = false;

    std::vector<Part> parts_;
    std::unordered_map<std::string, uint32_t> part_index_;
    std::string key_buf_;
    uint64_t open_counter_ = 0;
    uint64_t overflows_ = 0;

    // compiled step predicates (set_step_kernels)
    std::vector<FilterKernel> step_kernels_;
    const ir::Expr* const* kernel_nodes_ = nullptr;
    const Value* kernel_consts_ = nullptr;

    TrendKernel trend_kernel_ = nullptr;
    size_t record_ = 1;   // words per kernel record: 1 + 4 * items

    // eval buffers
    std::vector<Row> alias_rows_;
    std::vector<const Row*> alias_ptrs_;
    std::vector<uint32_t> alias_counts_;
    std::vector<std::vector<Value>> alias_bufs_;
    std::map<std::pair<size_t, int32_t>, std::vector<int32_t>> slot_maps_;
    std::vector<Val> tmp_;
    std::vector<char> tmp_valid_;

    Impl(Runtime& rt, const ir::StreamPlan&, const ir::Operator& op)
        : rt_(rt),
          plan_(*rt.plan),
          trend_(op.trend ? op.trend : std::make_shared<ir::Trend>()),
          nfa_(trend_->nfa),
          out_schema_(op.out) {
        result_type_ = rt.interner->intern("TrendAggregateResult");
        int32_t n = static_cast<int32_t>(nfa_.steps.size());
        steps_.resize(n);
        for (int32_t s = 0; s < n; ++s) {
            const ir::NfaStep& st = nfa_.steps[s];
            StepInfo& si = steps_[s];
            si.type_id = st.type_id;
            si.pred = st.predicate.get();
            si.dep = si.pred && reads_any_alias(*si.pred);
            any_dep_ |= si.dep;
            si.start = true;
            for (int32_t t = 0; t < s; ++t) si.start &= is_optional(nfa_.steps[t].quantifier);
            si.end = true;
            for (int32_t t = s + 1; t < n; ++t) si.end &= is_optional(nfa_.steps[t].quantifier);
            if (is_kleene(st.quantifier)) si.preds.push_back(s);
            for (int32_t t = s - 1; t >= 0; --t) {
                si.preds.push_back(t);
                if (!is_optional(nfa_.steps[t].quantifier)) break;
            }
        }
        for (int32_t s = 0; s < n; ++s)
            if (steps_[s].dep)
                for (int32_t p : steps_[s].preds) steps_[p].keep = true;

        for (const auto& it : trend_->items) {
            ItemInfo ii;
            ii.fn = it.fn;
            ii.alias = it.alias;
            ii.assigned.assign(n, 0);
            ii.field_slot.assign(n, -1);
            for (int32_t s = 0; s < n; ++s) {
                if (it.alias < 0 || nfa_.steps[s].alias != it.alias) continue;
                ii.assigned[s] = 1;
                if (!it.field.empty() && steps_[s].type_id >= 0)
                    ii.field_slot[s] = plan_.schemas[steps_[s].type_id].slot_of(it.field);
            }
            items_.push_back(std::move(ii));
        }

        partitioned_ = !nfa_.partition_field.empty();
        part_slot_ = ir::nfa_partition_slots(plan_, nfa_);
        step_type_ = ir::nfa_step_types(plan_, nfa_);
        has_within_ = nfa_.within_ms.has_value();
        within_ = has_within_ ? *nfa_.within_ms : 0;

        size_t na = nfa_.aliases.size();
        alias_rows_.resize(na);
        alias_ptrs_.assign(na, nullptr);
        alias_counts_.assign(na, 0);
        alias_bufs_.resize(na);
        tmp_.resize(n);
        tmp_valid_.assign(n, 0);
        record_ = 1 + 4 * items_.size();
        if (!partitioned_) parts_.emplace_back();
    }

    static bool is_kleene(Quantifier q) { return q == Quantifier::Plus || q == Quantifier::Star; }
    static bool is_optional(Quantifier q) { return q == Quantifier::Star || q == Quantifier::Optional; }

    // ------------------------------------------------------------ evaluation

    /// Binds every alias to `prev` (GRETA adjacent-event predicate), translating its slots to
    /// the alias's schema when the types differ; nullptr: every alias unbound.
    void bind_prev(const Row* prev) {
        for (size_t i = 0; i < alias_ptrs_.size(); ++i) {
            if (!prev) {
                alias_ptrs_[i] = nullptr;
                continue;
            }
            int32_t at = nfa_.aliases[i].type_id;
            if (at == prev->schema || at < 0) {
                alias_ptrs_[i] = prev;
                continue;
            }
            auto key = std::make_pair(i, prev->schema);
            auto it = slot_maps_.find(key);
            if (it == slot_maps_.end()) {
                std::vector<int32_t> m;
                const ir::Schema& dst = plan_.schemas[at];
                const ir::Schema& src = plan_.schemas[prev->schema];
                for (const auto& f : dst.fields) m.push_back(src.slot_of(f));
                it = slot_maps_.emplace(key, std::move(m)).first;
            }
            std::vector<Value>& buf = alias_bufs_[i];
            buf.assign(it->second.size(), Value());
            for (size_t f = 0; f < it->second.size(); ++f)
                if (it->second[f] >= 0) buf[f] = prev->slots[it->second[f]];
            alias_rows_[i] = Row{buf.data(), at, prev->ts, prev->type, nullptr, 0};
            alias_ptrs_[i] = &alias_rows_[i];
        }
    }

    bool test(const Expr* e, const Row& row) {
        return pattern_condition(rt_, e, row, alias_ptrs_.data(), alias_counts_.data());
    }

    /// Step `s`'s predicate on `row` with the bound aliases: its compiled kernel when there is
    /// one, else the interpreter.
    bool test_step(size_t s, const Row& row) {
        if (s < step_kernels_.size() && step_kernels_[s]) {
            EvalContext ctx = pattern_context(rt_, row, alias_ptrs_.data(), alias_counts_.data());
            KernelContext kc{&ctx, kernel_nodes_, kernel_consts_, alias_ptrs_.data(), alias_counts_.data()};
            return step_kernels_[s](row.slots, &kc) != 0;
        }
        return test(steps_[s].pred, row);
    }

    bool opens(const Row& row) {
        for (size_t s = 0; s < steps_.size(); ++s) {
            const StepInfo& st = steps_[s];
            if (!st.start) break;
            if (st.type_id != row.schema) continue;
            bind_prev(nullptr);
            if (test_step(s, row)) return true;
        }
        return false;
    }

    static void add_val(Val& dst, const Val& src, const std::vector<ItemInfo>& items) {
        dst.cnt.add(src.cnt);
        for (size_t i = 0; i < items.size(); ++i) {
            Acc& d = dst.acc[i];
            const Acc& s = src.acc[i];
            switch (items[i].fn) {
                case TrendFn::CountEvents:
                    d.n.add(s.n);
                    break;
                case TrendFn::SumTrends:
                case TrendFn::AvgTrends:
                    d.n.add(s.n);
                    d.sum += s.sum;
                    break;
                case TrendFn::MinTrends:
                    if (s.has && (!d.has || s.ext < d.ext)) {
                        d.ext = s.ext;
                        d.has = true;
                    }
                    break;
                case TrendFn::MaxTrends:
                    if (s.has && (!d.has || s.ext > d.ext)) {
                        d.ext = s.ext;
                        d.has = true;
                    }
                    break;
                default:
                    break;
            }
        }
    }

    /// Adds the vertex's own event to the aggregates of the trends ending at it.
    void own_contribution(Val& v, int32_t s, const Row& row) {
        double c = -1.0;
        for (size_t i = 0; i < items_.size(); ++i) {
            const ItemInfo& it = items_[i];
            if (!it.assigned[s]) continue;
            Acc& a = v.acc[i];
            if (it.fn == TrendFn::CountEvents) {
                a.n.add(v.cnt);
                continue;
            }
            if (it.fn == TrendFn::CountTrends) continue;
            int32_t slot = it.field_slot[s];
            if (slot < 0) continue;
            const Value& x = row.slots[slot];
            double f;
            if (x.kind == ValueKind::Int) f = static_cast<double>(x.i);
            else if (x.kind == ValueKind::Float) f = x.f;
            else continue;
            if (std::isnan(f)) continue;
            switch (it.fn) {
                case TrendFn::SumTrends:
                case TrendFn::AvgTrends:
                    if (c < 0) c = v.cnt.to_double();
                    a.sum += c * f;
                    a.n.add(v.cnt);
                    break;
                case TrendFn::MinTrends:
                    if (!a.has || f < a.ext) a.ext = f;
                    a.has = true;
                    break;
                case TrendFn::MaxTrends:
                    if (!a.has || f > a.ext) a.ext = f;
                    a.has = true;
                    break;
                default:
                    break;
            }
        }
    }

    // ------------------------------------------------------------ kernel records

    static bool small(const BigCount& c) {
        for (uint64_t h : c.hi)
            if (h) return false;
        return true;
    }
    bool small(const Val& v) const {
        if (!small(v.cnt)) return false;
        for (const Acc& a : v.acc)
            if (!small(a.n)) return false;
        return true;
    }
    void put(uint64_t* rec, const Val& v) const {
        rec[0] = v.cnt.lo;
        for (size_t i = 0; i < items_.size(); ++i) {
            const Acc a = i < v.acc.size() ? v.acc[i] : Acc{};
            uint64_t* at = rec + 1 + 4 * i;
            at[0] = a.n.lo;
            std::memcpy(&at[1], &a.sum, 8);
            std::memcpy(&at[2], &a.ext, 8);
            at[3] = a.has ? 1 : 0;
        }
    }
    void get(const uint64_t* rec, Val& v) const {
        v.reset(items_.size());
        v.cnt.lo = rec[0];
        for (size_t i = 0; i < items_.size(); ++i) {
            const uint64_t* at = rec + 1 + 4 * i;
            Acc& a = v.acc[i];
            a.n.lo = at[0];
            std::memcpy(&a.sum, &at[1], 8);
            std::memcpy(&a.ext, &at[2], 8);
            a.has = at[3] != 0;
        }
    }

    /// An open window's counts into the kernel's records; stays as it is when a count needs
    /// more than 64 bits (the kernel could not add to it).
    void to_flat(Part& p) {
        if (!p.open || p.flat_on || p.totals.size() != steps_.size() || !small(p.result)) return;
        for (const Val& v : p.totals)
            if (!small(v)) return;
        p.flat.assign((steps_.size() + 1) * record_, 0);
        for (size_t s = 0; s < steps_.size(); ++s) put(p.flat.data() + s * record_, p.totals[s]);
        put(p.flat.data() + steps_.size() * record_, p.result);
        p.flat_on = true;
    }
    void from_flat(Part& p) {
        if (!p.flat_on && !p.flat_totals) return;
        for (size_t s = 0; s < steps_.size(); ++s) get(p.flat.data() + s * record_, p.totals[s]);
        if (p.flat_on) get(p.flat.data() + steps_.size() * record_, p.result);
        p.flat_on = p.flat_totals = false;
    }
    /// Step s's totals (s == steps: the result) as a Val, wherever they are kept.
    Val val_of(const Part& p, size_t s) const {
        const bool flat = s < steps_.size() ? p.flat_on || p.flat_totals : p.flat_on;
        if (!flat) return s < p.totals.size() ? p.totals[s] : p.result;
        Val v;
        get(p.flat.data() + s * record_, v);
        return v;
    }

    void set_trend_kernel(TrendKernel k) {
        if (!k)
            for (auto& p : parts_) from_flat(p);
        trend_kernel_ = k;
        if (k)
            for (auto& p : parts_) to_flat(p);
    }

    // ------------------------------------------------------------ windows

    Part* find_part(const Row& row, bool create) {
        if (!partitioned_) return &parts_[0];
        key_buf_.clear();
        int32_t slot = row.schema >= 0 && static_cast<size_t>(row.schema) < part_slot_.size() ? part_slot_[row.schema] : -1;
        if (slot >= 0 && row.slots[slot].present()) append_partition_key(key_buf_, row.slots[slot]);
        auto it = part_index_.find(key_buf_);
        if (it != part_index_.end()) return &parts_[it->second];
        if (!create) return nullptr;
        uint32_t idx = static_cast<uint32_t>(parts_.size());
        parts_.emplace_back();
        part_index_.emplace(key_buf_, idx);
        return &parts_[idx];
    }

    void open_window(Part& p, const Row& row) {
        p.open = true;
        p.w = row.ts;
        p.open_seq = open_counter_++;
        p.key = Value();
        if (partitioned_) {
            int32_t slot = part_slot_[row.schema];
            if (slot >= 0) p.key = row.slots[slot];
        }
        size_t n = steps_.size();
        p.totals.resize(n);
        for (auto& t : p.totals) t.reset(items_.size());
        p.verts.resize(n);
        for (auto& v : p.verts) v.clear();
        p.result.reset(items_.size());
        p.last_end_ts = row.ts;
        p.flat_on = p.flat_totals = false;
        if (trend_kernel_) {
            p.flat.assign((n + 1) * record_, 0);
            p.flat_on = true;
        }
    }

    Value int_item(const BigCount& c) {
        if (c.fits_i64()) return Value::integer(static_cast<int64_t>(c.lo));
        ++overflows_;
        return Value::floating(c.to_double());
    }

    void close_window(Part& p, std::vector<Row>& out, Arena& scratch) {
        if (p.flat_on) {
            // Only the result is read from here on: the totals stay in the records.
            get(p.flat.data() + steps_.size() * record_, p.result);
            p.flat_on = false;
            p.flat_totals = true;
        }
        p.open = false;
        bool any = !p.result.cnt.zero();
        if (any && out_schema_ >= 0) {
            size_t nf = plan_.schemas[out_schema_].fields.size();
            Value* slots = scratch.allocate_array<Value>(nf == 0 ? 1 : nf);
            for (size_t i = 0; i < nf; ++i) new (&slots[i]) Value();
            size_t k = 0;
            if (partitioned_ && k < nf) slots[k++] = p.key;
            for (size_t i = 0; i < items_.size() && k < nf; ++i, ++k) {
                const Acc& a = p.result.acc[i];
                switch (items_[i].fn) {
                    case TrendFn::CountTrends:
                        slots[k] = int_item(p.result.cnt);
                        break;
                    case TrendFn::CountEvents:
                        slots[k] = int_item(a.n);
                        break;
                    case TrendFn::SumTrends:
                        slots[k] = Value::floating(a.sum);
                        break;
                    case TrendFn::AvgTrends:
                        slots[k] = a.n.zero() ? Value::null() : Value::floating(a.sum / a.n.to_double());
                        break;
                    case TrendFn::MinTrends:
                    case TrendFn::MaxTrends:
                        slots[k] = a.has ? Value::floating(a.ext) : Value::null();
                        break;
                }
            }
            out.push_back(Row{slots, out_schema_, p.last_end_ts, result_type_, nullptr, 0});
        }
        for (auto& v : p.verts) {
            v.clear();
            v.shrink_to_fit();
        }
    }

    void process(Part& p, const Row& row) {
        if (p.flat_on) {
            const int32_t r = trend_kernel_(row.slots, row.schema, p.flat.data());
            if (r >= 0) {
                if (r == 1) p.last_end_ts = row.ts;
                return;
            }
            from_flat(p);   // a count passes 64 bits: this window goes on in BigCounts
        }
        size_t n = steps_.size();
        size_t ni = items_.size();
        bool any_vertex = false;
        for (size_t s = 0; s < n; ++s) {
            tmp_valid_[s] = 0;
            const StepInfo& st = steps_[s];
            if (st.type_id != row.schema) continue;
            Val& v = tmp_[s];
            v.reset(ni);
            if (!st.dep) {
                bind_prev(nullptr);
                if (!test_step(s, row)) continue;
                if (st.start) v.cnt.add(1);
                for (int32_t q : st.preds) add_val(v, p.totals[q], items_);
            } else {
                if (st.start) {
                    bind_prev(nullptr);
                    if (test_step(s, row)) v.cnt.add(1);
                }
                for (int32_t q : st.preds)
                    for (const Vertex& u : p.verts[q]) {
                        Row prev = u.row.view();
                        bind_prev(&prev);
                        if (test_step(s, row)) add_val(v, u.val, items_);
                    }
            }
            if (v.cnt.zero()) continue;
            own_contribution(v, static_cast<int32_t>(s), row);
            tmp_valid_[s] = 1;
            any_vertex = true;
        }
        if (!any_vertex) return;
        StoredRow stored;
        bool have_stored = false;
        for (size_t s = 0; s < n; ++s) {
            if (!tmp_valid_[s]) continue;
            const Val& v = tmp_[s];
            add_val(p.totals[s], v, items_);
            if (steps_[s].end) {
                add_val(p.result, v, items_);
                p.last_end_ts = row.ts;
            }
            if (steps_[s].keep) {
                if (!have_stored) {
                    stored = StoredRow(row, plan_.schemas[row.schema].fields.size());
                    stored.raw = nullptr;
                    stored.raw_count = 0;
                    have_stored = true;
                }
                p.verts[s].push_back(Vertex{stored, v});
            }
        }
    }

    void on_event(const Row& row, std::vector<Row>& out, Arena& scratch) {
        bool is_step = row.schema >= 0 && static_cast<size_t>(row.schema) < step_type_.size() &&
                       step_type_[row.schema];
        Part* p = find_part(row, false);
        if (p && p->open && has_within_ && row.ts > p->w + within_) close_window(*p, out, scratch);
        if (!is_step) return;
        if (!p || !p->open) {
            if (!opens(row)) return;
            if (!p) p = find_part(row, true);
            open_window(*p, row);
        }
        process(*p, row);
    }

    // ------------------------------------------------------------ checkpoints

    static void save_count(CheckpointWriter& w, const BigCount& c) {
        w.u64(c.lo);
        w.count(c.hi.size());
        for (uint64_t h : c.hi) w.u64(h);
    }

    static void save_val(CheckpointWriter& w, const Val& v) {
        save_count(w, v.cnt);
        w.count(v.acc.size());
        for (const Acc& a : v.acc) {
            save_count(w, a.n);
            w.f64(a.sum);
            w.f64(a.ext);
            w.boolean(a.has);
        }
    }

    static bool load_count(CheckpointReader& r, BigCount& c) {
        c.lo = r.u64();
        uint32_t n = r.count(8);
        for (uint32_t i = 0; i < n && r.ok(); ++i) c.hi.push_back(r.u64());
        return r.ok();
    }

    /// A Val whose item list is empty (never reset) or has one entry per item.
    bool load_val(CheckpointReader& r, Val& v) const {
        if (!load_count(r, v.cnt)) return false;
        uint32_t n = r.count(29);
        if (!r.ok()) return false;
        if (n != 0 && n != items_.size()) return r.fail("trend value with a wrong item count");
        v.acc.resize(n);
        for (Acc& a : v.acc) {
            load_count(r, a.n);
            a.sum = r.f64();
            a.ext = r.f64();
            a.has = r.boolean();
        }
        return r.ok();
    }

    void save(CheckpointWriter& w) const {
        w.u64(open_counter_);
        w.u64(overflows_);
        std::vector<const std::string*> keys(parts_.size(), nullptr);
        for (const auto& [key, idx] : part_index_)
            if (idx < keys.size()) keys[idx] = &key;
        w.count(parts_.size());
        for (size_t i = 0; i < parts_.size(); ++i) {
            const Part& p = parts_[i];
            if (partitioned_) w.str(keys[i] ? std::string_view(*keys[i]) : std::string_view());
            w.boolean(p.open);
            w.i64(p.w);
            w.u64(p.open_seq);
            w.value(p.key);
            w.count(p.totals.size());
            for (size_t s = 0; s < p.totals.size(); ++s) save_val(w, val_of(p, s));
            w.count(p.verts.size());
            for (const auto& vs : p.verts) {
                w.count(vs.size());
                for (const Vertex& x : vs) {
                    w.row(x.row);
                    save_val(w, x.val);
                }
            }
            save_val(w, val_of(p, steps_.size()));
            w.i64(p.last_end_ts);
        }
    }

    bool load(CheckpointReader& r) {
        open_counter_ = r.u64();
        overflows_ = r.u64();
        uint32_t np = r.count(partitioned_ ? 4 : 0);
        if (!r.ok()) return false;
        if (!partitioned_ && np != 1) return r.fail("unpartitioned trend with several partitions");
        const size_t n = steps_.size(), ni = items_.size();
        parts_.clear();
        for (uint32_t i = 0; i < np; ++i) {
            if (partitioned_) {
                std::string key(r.str());
                if (!r.ok()) return false;
                if (!part_index_.emplace(std::move(key), i).second) return r.fail("duplicate trend partition");
            }
            parts_.emplace_back();
            Part& p = parts_.back();
            p.open = r.boolean();
            p.w = r.i64();
            p.open_seq = r.u64();
            r.value(p.key);
            uint32_t nt = r.count(12);
            if (!r.ok()) return false;
            if (nt != 0 && nt != n) return r.fail("trend totals with a wrong step count");
            p.totals.resize(nt);
            for (Val& v : p.totals)
                if (!load_val(r, v)) return false;
            uint32_t nv = r.count(4);
            if (!r.ok()) return false;
            if (nv != 0 && nv != n) return r.fail("trend vertices with a wrong step count");
            p.verts.resize(nv);
            for (auto& vs : p.verts) {
                uint32_t k = r.count(33);
                for (uint32_t j = 0; j < k && r.ok(); ++j) {
                    Vertex x;
                    if (!r.row(x.row, CheckpointReader::kSchemaWidth) || !load_val(r, x.val)) return false;
                    if (x.val.acc.size() != ni) return r.fail("trend vertex with a wrong item count");
                    vs.push_back(std::move(x));
                }
            }
            if (!load_val(r, p.result)) return false;
            p.last_end_ts = r.i64();
            if (!r.ok()) return false;
            // An open window is read and added to at once: it needs every per-step list.
            if (p.open) {
                if (nt != n || nv != n || p.result.acc.size() != ni) return r.fail("open trend window incomplete");
                for (const Val& v : p.totals)
                    if (v.acc.size() != ni) return r.fail("trend totals with a wrong item count");
            }
        }
        if (trend_kernel_)
            for (auto& p : parts_) to_flat(p);
        return true;
    }

    void finish(std::vector<Row>& out, Arena& scratch) {
        std::vector<Part*> open;
        for (auto& p : parts_)
            if (p.open) open.push_back(&p);
        std::sort(open.begin(), open.end(), [](const Part* a, const Part* b) { return a->open_seq < b->open_seq; });
        for (Part* p : open) close_window(*p, out, scratch);
    }
};

TrendAggregator::TrendAggregator(Runtime& rt, const ir::StreamPlan& stream, const ir::Operator& op)
    : impl_(std::make_unique<Impl>(rt, stream, op)) {}

TrendAggregator::~TrendAggregator() = default;

void TrendAggregator::on_event(const Row& row, std::vector<Row>& out, Arena& scratch) {
    impl_->on_event(row, out, scratch);
}

void TrendAggregator::finish(std::vector<Row>& out, Arena& scratch) { impl_->finish(out, scratch); }

void TrendAggregator::set_step_kernels(const std::vector<FilterKernel>* steps, const ir::Expr* const* nodes,
                                       const Value* consts) {
    impl_->step_kernels_ = steps ? *steps : std::vector<FilterKernel>{};
    impl_->kernel_nodes_ = nodes;
    impl_->kernel_consts_ = consts;
}

void TrendAggregator::set_trend_kernel(TrendKernel kernel) { impl_->set_trend_kernel(kernel); }

uint64_t TrendAggregator::overflows() const { return impl_->overflows_; }

void TrendAggregator::save(CheckpointWriter& w) const { impl_->save(w); }

bool TrendAggregator::load(CheckpointReader& r) { return impl_->load(r); }

}  // namespace varpulis::runtime
