#include "runtime/engine.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <exception>
#include <unordered_map>
#include <unordered_set>

#include "runtime/aggregate.hpp"
#include "runtime/checkpoint_io.hpp"
#include "runtime/checkpoint_signature.hpp"
#include "runtime/eval.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/join_operator.hpp"
#include "runtime/kernel_table.hpp"
#include "runtime/pattern_matcher.hpp"
#include "runtime/row.hpp"
#include "runtime/trend_aggregator.hpp"
#include "runtime/value_io.hpp"
#include "runtime/value_ops.hpp"
#include "runtime/window_aggregate.hpp"
#include "runtime/window_operator.hpp"

namespace varpulis::runtime {

namespace {

constexpr int kMaxDepth = 10;              // SEMANTICS §1.2 cycle guard
constexpr size_t kDistinctMemory = 100000;  // SEMANTICS §5.6
constexpr size_t kScratchResetBytes = 32 * 1024;

/// State of one operator of one stream; only the member its kind needs is set.
struct OpState {
    std::unique_ptr<WindowOperator> window;
    /// A window fused with the Aggregate right after it (ir::window_fuses): set instead
    /// of `window`; that Aggregate operator is then never run on its own.
    std::unique_ptr<WindowAggregate> fused;
    std::vector<Row> fused_out;   // results of one push
    std::unique_ptr<JoinOperator> join;
    std::unique_ptr<PatternMatcher> matcher;
    bool prefilter = false;   // matcher->prefilters(): events no step takes skip the matcher
    std::unique_ptr<TrendAggregator> trend;
    std::unordered_set<std::string> distinct_seen;
    std::deque<std::string> distinct_order;
    int64_t limit_seen = 0;
    /// Select / Emit: per item, 1 when its expression is a string constant, whose (interned)
    /// value is then in const_vals (eval would intern the same text on every row).
    std::vector<char> const_mask;
    std::vector<Value> const_vals;
};

struct StreamState {
    const ir::StreamPlan* plan = nullptr;
    const StrObj* name = nullptr;
    std::vector<OpState> ops;
    /// Merge streams: per input routing schema, its entry indices (merge_filters positions).
    std::unordered_map<int32_t, std::vector<size_t>> merge_entries;
    int32_t merged_schema = -1;   // Merge streams: the schema incoming rows are converted to
    /// For a Chain kernel (KernelTable::chain): the last Select/Emit (-1: nothing projects),
    /// whose schema the kernel's output row has.
    int32_t last_projection = -1;
    /// The operator index of the first window (-1: none): the one type kernels feed.
    int32_t first_window = -1;
    /// The first Select or Emit (ops.size(): none): a type kernel's row handed over at an
    /// operator up to this one is the stream's input (or merged) row, with its field list.
    size_t first_projection = 0;
    OpState* fused_op = nullptr;   // &ops[first_window] when it is fused with its aggregate
    std::vector<Row> matches;      // run_from(): a sequence's matches for the event at hand
    /// Per routing schema: 1 when its rows come to this stream alone and its first operator
    /// prefilters (process_batch hands runs of them to PatternMatcher::scan).
    std::vector<uint8_t> scan_routed;
    /// Per routing schema: 1 when its rows go to this stream alone through run_direct (it is the
    /// type's direct stream and the type has no type kernel).
    std::vector<uint8_t> direct_routed;
};

struct Pending {
    Row row;
    int depth;
};

}  // namespace

struct Engine::Impl {
    const ir::Plan& plan;
    Interner& interner;
    OutputSink sink;
    std::FILE* diag;
    Arena heap;      // values that outlive an input event
    Arena scratch;   // rows in flight; reset per input event
    Runtime rt;
    EngineStats stats;
    std::vector<StreamState> streams;
    std::unordered_map<const StrObj*, int32_t> routing;          // interned type -> routing schema
    std::vector<std::unordered_map<const StrObj*, uint32_t>> field_slots;  // routing schema: name -> slot
    std::vector<std::vector<const StrObj*>> field_names;         // every schema: interned field names
    std::vector<bool> needs_raw;                                 // routing schema read as a whole event
    std::vector<const StrObj*> schema_type;   // routing schema -> its interned name (the event type)
    std::vector<uint32_t> schema_widths;      // routing schema -> width()
    /// Whether some operator may look at an input event's whole field list (Row::raw), directly
    /// or after windows, matchers, joins or checkpoints kept it; if not, prepare() leaves it out.
    bool keep_raw = false;
    uint64_t type_events = 0;   // input events run by a type kernel
    /// Per stream whose last operator is an Emit: what output() needs of it, in one place (a
    /// type kernel's output path; see emit_row).
    struct EmitTarget {
        std::string_view stream;
        const StrObj* const* names = nullptr;
        uint32_t width = 0;
        int32_t event_type_item = -1;
        /// The event_type when it is a string constant (the common `event_type: "X"`), so the
        /// output path need not read it back from the row.
        std::string_view fixed_type;
        bool has_fixed_type = false;
        bool emits = false;   // the stream ends with this Emit (else the rest is unset)
        bool forwards = false;  // other streams read the stream's rows
    };
    std::vector<EmitTarget> emit_targets;
    /// Per routing schema: the size of a type kernel's output entry when every stream reading
    /// the schema ends in an Emit of that width that nobody sees (no sink, no readers), so a
    /// flush only counts its entries; 0 when a flush must look at each (batch_flush).
    std::vector<uint32_t> counted_entry;
    std::vector<Pending> queue;   // FIFO of SEMANTICS §1.2; `queue_head` is its front
    size_t queue_head = 0;
    std::vector<std::vector<Row>> batch_pool;   // reused batch vectors: no allocation per event
    /// Per routing schema, the field order of the last event of that type and each field's
    /// slot (-1: not read): events of one type usually repeat their layout, so converting
    /// them costs one pointer compare per field.
    std::vector<std::vector<std::pair<const StrObj*, int32_t>>> layout_cache;
    const StrObj* aggregation_type;
    const StrObj* joined_type;
    std::string line;
    struct RouteCache {
        const StrObj* type = nullptr;
        int32_t schema = -1;
        bool valid = false;
    };
    static constexpr size_t kRouteCache = 8;
    RouteCache route_cache[kRouteCache];
    /// Compiled kernels in use (null: interpret everything), and the table published by
    /// install_kernels() for the next event boundary.
    std::shared_ptr<const KernelTable> kernels;
    std::atomic<std::shared_ptr<const KernelTable>> pending_kernels;
    std::atomic<bool> kernels_pending{false};
    std::vector<Value> kernel_consts;   // KernelContext::consts of `kernels`
    /// Per routing schema: its type kernel, when the engine's streams match what the kernel
    /// was generated for (a window the code feeds must be fused here too: not with
    /// VARPULIS_WINDOW_FUSION=0).
    std::vector<TypeKernel> type_kernels;
    /// Per routing schema: the one stream its events go to when that stream starts with a
    /// sequence or join and runs no chain kernel or merge filter (run_stream would only pass
    /// the row on to run_from), else null. Pattern workloads route every event this way.
    std::vector<StreamState*> direct_streams;
    /// Per stream: its fused window's WindowAccess (TypeRun::windows), or null.
    std::vector<void*> fused_windows;
    /// Type kernels' output entries (TypeRun::out_next), 8-aligned.
    std::vector<uint64_t> out_buffer = std::vector<uint64_t>(64 * 1024 / sizeof(uint64_t));
    std::string type_buf;               // output(): an event_type that is not a string, as text

    Impl(const ir::Plan& p, Interner& in, OutputSink s, std::FILE* d)
        : plan(p), interner(in), sink(std::move(s)), diag(d), scratch(64 * 1024) {
        rt.plan = &plan;
        rt.heap = &heap;
        rt.interner = &interner;
        rt.uuid_state ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        aggregation_type = interner.intern("AggregationResult");
        joined_type = interner.intern("JoinedEvent");
        field_slots.resize(plan.schemas.size());
        layout_cache.resize(plan.schemas.size());
        field_names.resize(plan.schemas.size());
        needs_raw.assign(plan.schemas.size(), false);
        schema_type.assign(plan.schemas.size(), nullptr);
        for (size_t t = 0; t < plan.schemas.size(); ++t) schema_widths.push_back(static_cast<uint32_t>(width(static_cast<int32_t>(t))));
        for (size_t i = 0; i < plan.schemas.size(); ++i) {
            const ir::Schema& s = plan.schemas[i];
            for (size_t f = 0; f < s.fields.size(); ++f) {
                const StrObj* n = interner.intern(s.fields[f]);
                field_names[i].push_back(n);
                if (s.kind == ir::SchemaKind::Event) field_slots[i].emplace(n, static_cast<uint32_t>(f));
            }
            if (s.kind == ir::SchemaKind::Event) {
                schema_type[i] = interner.intern(s.name);
                routing.emplace(schema_type[i], static_cast<int32_t>(i));
            }
        }
        run_global_inits(rt);
        streams.resize(plan.streams.size());
        match_chains.resize(plan.streams.size());
        for (size_t i = 0; i < plan.streams.size(); ++i) build_stream(streams[i], plan.streams[i]);
        select_direct_streams();
        select_scans();
        emit_targets.resize(plan.streams.size());
        for (size_t i = 0; i < plan.streams.size(); ++i) {
            const ir::StreamPlan& sp = plan.streams[i];
            emit_targets[i].forwards = sp.type_id >= 0 && !plan.routes[static_cast<size_t>(sp.type_id)].empty();
            if (sp.ops.empty() || sp.ops.back().kind != ir::OpKind::Emit || sp.ops.back().out < 0) continue;
            const ir::Operator& op = sp.ops.back();
            EmitTarget& t = emit_targets[i];
            t = {sp.name, field_names[static_cast<size_t>(op.out)].data(), static_cast<uint32_t>(width(op.out)),
                 op.event_type_item, {}, false, true, t.forwards};
            if (op.event_type_item >= 0 && static_cast<size_t>(op.event_type_item) < op.exprs.size()) {
                const ir::Expr* e = op.exprs[static_cast<size_t>(op.event_type_item)].get();
                if (e && e->op == ir::ExprOp::Const && e->lit.kind == ir::Kind::Str) {
                    t.fixed_type = e->lit.s;
                    t.has_fixed_type = true;
                }
            }
        }
        counted_entry.assign(plan.schemas.size(), 0);
        for (size_t schema = 0; schema < plan.routes.size() && !sink; ++schema) {
            uint32_t bytes = 0;
            for (int32_t sid : plan.routes[schema]) {
                const EmitTarget& t = emit_targets[static_cast<size_t>(sid)];
                const uint32_t b = 16 + 16 * t.width;
                if (!t.emits || t.forwards || (bytes != 0 && b != bytes)) {
                    bytes = 0;
                    break;
                }
                bytes = b;
            }
            counted_entry[schema] = bytes;
        }
        // Input events' field lists are kept only when something reads whole events (the
        // rows of every other operator, stored ones included, are their slots). Windows,
        // matchers and joins keep rows past the event, raw pointers with them: without a
        // reader they keep none, and a preloaded run does not hold ~100 bytes of field list
        // per event.
        for (const auto& sp : plan.streams) {
            if (!sp.merge_filters.empty()) keep_raw = true;
            for (const auto& op : sp.ops)
                switch (op.kind) {
                    case ir::OpKind::Print:
                    case ir::OpKind::Distinct:
                        if (op.exprs.empty()) keep_raw = true;  // the whole event, not values
                        break;
                    case ir::OpKind::To:
                    case ir::OpKind::Process:
                    case ir::OpKind::PatternLambda:
                    case ir::OpKind::Forecast:
                    case ir::OpKind::Enrich: keep_raw = true; break;
                    default: break;
                }
        }
    }

    void build_stream(StreamState& st, const ir::StreamPlan& sp) {
        st.plan = &sp;
        st.name = interner.intern(sp.name);
        st.ops.resize(sp.ops.size());
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            const ir::Operator& op = sp.ops[k];
            OpState& os = st.ops[k];
            switch (op.kind) {
                case ir::OpKind::Window:
                    if (window_fusion_enabled() && k + 1 < sp.ops.size() &&
                        ir::window_fuses(plan, op, sp.ops[k + 1]))
                        os.fused = std::make_unique<WindowAggregate>(rt, op, sp.ops[k + 1], aggregation_type);
                    else
                        os.window = std::make_unique<WindowOperator>(op.window, width(op.in));
                    if (st.first_window < 0) {
                        st.first_window = static_cast<int32_t>(k);
                        if (os.fused) st.fused_op = &os;
                    }
                    break;
                case ir::OpKind::Join:
                    os.join = std::make_unique<JoinOperator>(plan, op);
                    break;
                case ir::OpKind::Sequence:
                    os.matcher = std::make_unique<PatternMatcher>(rt, sp, op);
                    os.prefilter = os.matcher->prefilters();
                    break;
                case ir::OpKind::TrendAggregate:
                    os.trend = std::make_unique<TrendAggregator>(rt, sp, op);
                    break;
                case ir::OpKind::Select:
                case ir::OpKind::Emit:
                    os.const_mask.assign(op.exprs.size(), 0);
                    os.const_vals.assign(op.exprs.size(), Value::absent());
                    for (size_t i = 0; i < op.exprs.size(); ++i) {
                        const ir::Expr* e = op.exprs[i].get();
                        if (e && e->op == ir::ExprOp::Const && e->lit.kind == ir::Kind::Str) {
                            os.const_mask[i] = 1;
                            os.const_vals[i] = Value::string(interner.intern(e->lit.s));
                        }
                    }
                    break;
                case ir::OpKind::Print:
                case ir::OpKind::Distinct:
                case ir::OpKind::To:
                    // Whole-event uses: rows of the stream's inputs must carry all their fields.
                    if (op.kind == ir::OpKind::To || op.exprs.empty())
                        for (const auto& in : sp.inputs) {
                            int32_t id = routing_id(in);
                            if (id >= 0) needs_raw[static_cast<size_t>(id)] = true;
                        }
                    break;
                default:
                    break;
            }
        }
        st.first_projection = sp.ops.size();
        for (size_t k = 0; k < sp.ops.size(); ++k)
            if (sp.ops[k].kind == ir::OpKind::Select || sp.ops[k].kind == ir::OpKind::Emit) {
                st.last_projection = static_cast<int32_t>(k);
                st.first_projection = std::min(st.first_projection, k);
            }
        for (size_t e = 0; e < sp.merge_filters.size(); ++e) {
            int32_t id = routing_id(sp.merge_filters[e].first);
            if (id >= 0) st.merge_entries[id].push_back(e);
        }
        if (!sp.merge_filters.empty())
            for (size_t i = 0; i < plan.schemas.size(); ++i)
                if (plan.schemas[i].kind == ir::SchemaKind::Merged && plan.schemas[i].name == sp.name + "#merge")
                    st.merged_schema = static_cast<int32_t>(i);
    }

    int32_t routing_id(const std::string& name) const {
        const StrObj* n = interner.find(name);
        auto it = n ? routing.find(n) : routing.end();
        return it == routing.end() ? -1 : it->second;
    }

    size_t width(int32_t schema) const {
        return schema < 0 ? 0 : plan.schemas[static_cast<size_t>(schema)].fields.size();
    }

    EvalContext context(const Row* row) {
        if (row) return row_context(rt, *row);
        EvalContext c;
        c.rt = &rt;
        return c;
    }

    // ------------------------------------------------------------ input

    /// Event boundary: adopt a newly published kernel table. The flag keeps the common case to
    /// one plain load; the replaced table (and its code) is released here, when no kernel of
    /// it can be running.
    void adopt_kernels() {
        if (!kernels_pending.load(std::memory_order_acquire)) return;
        if (!kernels_pending.exchange(false, std::memory_order_acq_rel)) return;
        // A load, not an exchange: a table published after the flag was cleared sets it again
        // and is loaded (again) at the next boundary.
        kernels = pending_kernels.load();
        ++kernels_generation;
        if (kernels && (kernels->ops.size() > plan.streams.size() || kernels->types.size() > plan.schemas.size()))
            kernels.reset();
        // String constants of compiled code are this engine's interned strings.
        kernel_consts.clear();
        if (kernels)
            for (const ir::Expr* e : kernels->constants) kernel_consts.push_back(Value::string(interner.intern(e->lit.s)));
        attach_step_kernels();
        select_type_kernels();
    }

    void select_direct_streams() {
        direct_streams.assign(plan.schemas.size(), nullptr);
        for (size_t t = 0; t < plan.schemas.size() && t < plan.routes.size(); ++t) {
            if (plan.routes[t].size() != 1) continue;
            const size_t sid = static_cast<size_t>(plan.routes[t][0]);
            StreamState& st = streams[sid];
            const ir::StreamPlan& sp = *st.plan;
            if (sp.ops.empty() || !sp.merge_filters.empty() || (kernels && kernels->chain(sid))) continue;
            if (sp.ops[0].kind == ir::OpKind::Sequence || sp.ops[0].kind == ir::OpKind::Join) direct_streams[t] = &st;
        }
    }

    void select_type_kernels() {
        select_direct_streams();
        fused_windows.assign(streams.size(), nullptr);
        for (size_t i = 0; i < streams.size(); ++i)
            if (streams[i].fused_op) fused_windows[i] = streams[i].fused_op->fused->access();
        type_kernels.assign(plan.schemas.size(), nullptr);
        for (size_t t = 0; kernels && t < plan.schemas.size() && t < plan.routes.size(); ++t) {
            TypeKernel k = kernels->type_kernel(t);
            // The kernel updates the accumulators of a window that fuses per event
            // (codegen::type_loop_accumulates): this engine must have fused it too.
            for (int32_t sid : plan.routes[t]) {
                const StreamState& st = streams[static_cast<size_t>(sid)];
                const auto& ops = st.plan->ops;
                const auto w = static_cast<size_t>(st.first_window);
                if (st.first_window >= 0 && w + 1 < ops.size() && ir::window_fuses_per_event(plan, ops[w], ops[w + 1]) &&
                    !st.fused_op)
                    k = nullptr;
            }
            type_kernels[t] = k;
        }
        select_scans();
    }

    /// StreamState::scan_routed, after direct_streams and type_kernels.
    void select_scans() {
        for (StreamState& st : streams) {
            st.scan_routed.clear();
            st.direct_routed.clear();
        }
        for (size_t t = 0; t < direct_streams.size(); ++t) {
            StreamState* st = direct_streams[t];
            if (st && !(kernels && t < type_kernels.size() && type_kernels[t])) {
                st->direct_routed.resize(plan.schemas.size(), 0);
                st->direct_routed[t] = 1;
            }
            if (!st || !st->ops[0].prefilter || (t < type_kernels.size() && type_kernels[t])) continue;
            st->scan_routed.resize(plan.schemas.size(), 0);
            st->scan_routed[t] = 1;
        }
    }

    /// Pattern matchers call their compiled step predicates themselves (again after a restore
    /// rebuilt them), trend aggregates theirs, and joins their per-source kernels.
    void attach_step_kernels() {
        for (size_t s = 0; s < streams.size(); ++s)
            for (size_t k = 0; k < streams[s].ops.size(); ++k) {
                const OpKernels* ok = kernels && s < kernels->ops.size() && k < kernels->ops[s].size() ? &kernels->ops[s][k] : nullptr;
                if (auto& j = streams[s].ops[k].join) j->set_kernels(ok ? &ok->joins : nullptr);
                if (auto& t = streams[s].ops[k].trend) {
                    t->set_step_kernels(ok && !ok->steps.empty() ? &ok->steps : nullptr, kernels ? kernels->nodes.data() : nullptr,
                                        kernel_consts.data());
                    t->set_trend_kernel(ok ? ok->trend : nullptr);
                }
                if (auto& m = streams[s].ops[k].matcher) {
                    const std::vector<FilterKernel>* steps = nullptr;
                    if (kernels && s < kernels->ops.size() && k < kernels->ops[s].size() && !kernels->ops[s][k].steps.empty())
                        steps = &kernels->ops[s][k].steps;
                    m->set_step_kernels(steps, kernels ? kernels->nodes.data() : nullptr, kernel_consts.data());
                    m->set_trans_kernel(ok ? ok->trans : nullptr, kernels ? kernels->nodes.data() : nullptr, kernel_consts.data(),
                                        ok && !ok->tests.empty() ? &ok->tests : nullptr);
                    m->set_scan_kernel(ok ? ok->scan : nullptr);
                }
            }
    }

    KernelContext kernel_context(EvalContext* c) const { return {c, kernels->nodes.data(), kernel_consts.data()}; }

    const OpKernels* kernel_for(const StreamState& st, size_t op) const {
        return kernels ? kernels->find(static_cast<size_t>(&st - streams.data()), op) : nullptr;
    }

    /// The routing schema of input type `type`, -1 when no stream reads it. Routing is fixed
    /// once built: a small direct-mapped cache in front of the map.
    int32_t route(const StrObj* type, const Engine::ForeignNames* foreign = nullptr) {
        RouteCache& rc = route_cache[(reinterpret_cast<uintptr_t>(type) >> 4) & (kRouteCache - 1)];
        if (rc.type != type || !rc.valid) {
            auto it = routing.find(foreign ? foreign->to_own(foreign->ctx, type) : type);
            rc.type = type;
            rc.valid = true;
            rc.schema = it == routing.end() || plan.routes[static_cast<size_t>(it->second)].empty() ? -1 : it->second;
        }
        return rc.schema;
    }

    /// Writes the row of `ev` in routing schema `schema` to `slots` (width(schema) values).
    void fill_row(const InputEvent& ev, int32_t schema, Value* slots, const Engine::ForeignNames* foreign = nullptr) {
        size_t w = width(schema);
        for (size_t i = 0; i < w; ++i) slots[i] = Value::absent();
        auto& layout = layout_cache[static_cast<size_t>(schema)];
        if (layout.size() < ev.field_count) layout.resize(ev.field_count, {nullptr, -1});
        for (uint32_t f = 0; f < ev.field_count; ++f) {
            const Field& field = ev.fields[f];
            if (layout[f].first != field.name) {
                const auto& map = field_slots[static_cast<size_t>(schema)];
                auto s = map.find(foreign ? foreign->to_own(foreign->ctx, field.name) : field.name);
                layout[f] = {field.name, s == map.end() ? -1 : static_cast<int32_t>(s->second)};
            }
            if (layout[f].second >= 0) slots[layout[f].second] = field.value;
        }
    }

    void process(const InputEvent& ev) {
        adopt_kernels();
        ++stats.events;
        // Rows in flight of earlier events are dead by now; resetting the arena only once it
        // has filled a good part of its first chunk keeps the per-event cost to a compare.
        if (scratch.bytes_used() >= kScratchResetBytes) scratch.reset();
        int32_t schema = route(ev.type);
        if (schema < 0) {
            ++stats.unrouted;
            return;
        }
        Value* slots = scratch.allocate_array<Value>(width(schema));
        fill_row(ev, schema, slots);
        run_routes(Row{slots, schema, ev.timestamp_ms, ev.type, ev.fields, ev.field_count});
    }

    /// An input row (already counted in stats.events) through every stream reading its type.
    void run_routes(const Row& row) {
        // The input event is the queue's first entry (SEMANTICS §1.2): run its routes straight
        // away; what they derive is queued behind it.
        for (int32_t sid : plan.routes[static_cast<size_t>(row.schema)])
            run_stream(streams[static_cast<size_t>(sid)], row, 0);
        if (!queue.empty()) drain();
    }

    void prepare(const InputEvent* events, size_t n, EventBatch& out, const Engine::ForeignNames* foreign = nullptr) {
        const size_t first = out.size();
        size_t total = 0;
        out.schemas.reserve(first + n);
        out.ts.reserve(first + n);
        for (size_t i = 0; i < n; ++i) {
            int32_t schema = route(events[i].type, foreign);
            out.schemas.push_back(schema);
            out.ts.push_back(events[i].timestamp_ms);
            total += width(schema);
        }
        if (keep_raw) {
            out.raw.reserve(first + n);
            out.raw_count.reserve(first + n);
            for (size_t i = 0; i < n; ++i) {
                out.raw.push_back(events[i].fields);
                out.raw_count.push_back(events[i].field_count);
            }
        }
        size_t at = out.values.size();
        out.values.resize(at + total);
        for (size_t i = 0; i < n; ++i) {
            int32_t schema = out.schemas[first + i];
            if (schema < 0) continue;
            fill_row(events[i], schema, out.values.data() + at, foreign);
            at += width(schema);
        }
    }

    /// The receiver of a type kernel's emit / begin_row calls for one run of rows.
    struct BatchRun : TypeRun {
        Impl* impl = nullptr;
        const Value* rows = nullptr;
        const Field* const* raw = nullptr;   // null: no raw field lists in the batch
        const uint32_t* raw_count = nullptr;
        size_t width = 0;
        uint32_t counted_entry = 0;   // Impl::counted_entry of the run's schema
        uint64_t base_events = 0;   // stats.events before the run
        Row row;                    // the row fallbacks evaluate against (begin_row)
        EvalContext* eval = nullptr;
        std::exception_ptr error;   // what the output sink threw; the kernel stopped there
    };

    /// Runs `f` on the run behind `self`: 1, or 0 with the exception kept for after the kernel
    /// returns (exceptions must not unwind through generated code).
    template <class F>
    static int32_t guarded(TypeRun* self, F&& f) noexcept {
        auto* run = static_cast<BatchRun*>(self);
        run->entered = 1;   // the kernel calls end_row after this row (TypeRun::entered)
        try {
            f(*run);
            return 1;
        } catch (...) {
            run->error = std::current_exception();
            return 0;
        }
    }

    static int32_t batch_emit(TypeRun* self, int32_t stream, uint64_t row, const Value* out) noexcept {
        return guarded(self, [&](BatchRun& run) { run.impl->emit_row(run, stream, row, out); });
    }

    static WindowCursor* batch_window_enter(TypeRun* self, int32_t stream, uint64_t row, const Value* slots) noexcept {
        WindowCursor* cursor = nullptr;
        guarded(self, [&](BatchRun& run) { cursor = run.impl->window_enter(run, stream, row, slots); });
        return cursor;
    }

    static int32_t batch_window_close(TypeRun* self, int32_t stream, uint64_t row) noexcept {
        return guarded(self, [&](BatchRun& run) { run.impl->window_close(run, stream, row); });
    }

    static int32_t batch_push(TypeRun* self, int32_t stream, int32_t op, uint64_t row, const Value* slots) noexcept {
        return guarded(self, [&](BatchRun& run) { run.impl->push(run, stream, op, row, slots); });
    }

    static WindowCursor* batch_window_enter_open(void* window, const Value* slots, int64_t ts) noexcept {
        return static_cast<WindowAggregate*>(static_cast<WindowAccess*>(window)->owner)->enter_open(slots, ts);
    }

    /// TypeRun::flush: the buffered outputs, in order, as emit() would have delivered them.
    static int32_t batch_flush(TypeRun* self) noexcept {
        return guarded(self, [](BatchRun& run) {
            auto* start = reinterpret_cast<unsigned char*>(run.impl->out_buffer.data());
            const unsigned char* end = run.out_next;
            run.out_next = start;
            Impl& m = *run.impl;
            if (run.counted_entry) {
                // Every entry is one output nobody sees (Engine ctor): counted, as below.
                m.stats.outputs += static_cast<uint64_t>(end - start) / run.counted_entry;
                return;
            }
            for (const unsigned char* p = start; p < end;) {
                int32_t stream;
                std::memcpy(&stream, p, sizeof stream);
                const EmitTarget& t = m.emit_targets[static_cast<size_t>(stream)];
                if (!m.sink && !t.forwards) {
                    m.stats.outputs += t.emits;  // counted only: nobody sees the row (Engine ctor)
                } else {
                    uint64_t row;
                    std::memcpy(&row, p + 8, sizeof row);
                    m.emit_row(run, stream, row, reinterpret_cast<const Value*>(p + 16));
                }
                p += 16 + 16 * static_cast<size_t>(t.width);
            }
        });
    }

    static int32_t batch_end_row(TypeRun* self, uint64_t row) noexcept {
        return guarded(self, [&](BatchRun& run) { run.impl->end_row(run, row); });
    }

    static void batch_begin_row(TypeRun* self, uint64_t row) noexcept {
        auto* run = static_cast<BatchRun*>(self);
        run->row.slots = run->rows + row * run->width;
        run->row.ts = run->ts[row];
        run->row.raw = run->raw ? run->raw[row] : nullptr;
        run->row.raw_count = run->raw ? run->raw_count[row] : 0;
        run->eval->now_ms = run->row.ts;
    }

    /// What run_chain does with a fused stream's row (output() when its last operator is an
    /// Emit, then forward() to its readers), for row `row` of a type kernel's run. `slots` is
    /// the last projection's row, or the input row when the stream only filters.
    void emit_row(BatchRun& run, int32_t stream, uint64_t row, const Value* slots) {
        // The event being processed is counted, as process() counts it before running it.
        stats.events = run.base_events + row + 1;
        const EmitTarget& t = emit_targets[static_cast<size_t>(stream)];
        if (t.emits) {
            ++stats.outputs;
            if (sink) {
                OutputEvent out;
                out.stream = t.stream;
                out.event_type = t.has_fixed_type ? t.fixed_type : output_type(t.stream, t.event_type_item, slots);
                out.timestamp_ms = run.ts[row];
                out.names = t.names;
                out.values = slots;
                out.field_count = t.width;
                sink(out);
            }
        }
        if (t.forwards) forward_row(run, stream, row, slots);
    }

    /// emit_row() for a stream other streams read: its row (copied by forward()) into the queue.
    void forward_row(BatchRun& run, int32_t stream, uint64_t row, const Value* slots) {
        StreamState& st = streams[static_cast<size_t>(stream)];
        Row r{const_cast<Value*>(slots), st.merged_schema >= 0 ? st.merged_schema : run.row.schema, run.ts[row],
              run.row.type, run.raw ? run.raw[row] : nullptr, run.raw ? run.raw_count[row] : 0};
        if (st.last_projection >= 0) {
            const ir::Operator& proj = st.plan->ops[static_cast<size_t>(st.last_projection)];
            r = Row{r.slots, proj.out, r.ts, proj.kind == ir::OpKind::Emit ? st.name : r.type, nullptr, 0};
        }
        forward(st, r, 0);   // copies the row: `slots` lives only during this call
    }

    /// Row `row` of a type kernel's run, as `slots` after the stream's filters and selects,
    /// into operator `op` of the stream (codegen::type_loop_handoff): what run_ops does from
    /// there on.
    void push(BatchRun& run, int32_t stream, int32_t op, uint64_t row, const Value* slots) {
        StreamState& st = streams[static_cast<size_t>(stream)];
        run_from(st, static_cast<size_t>(op), handoff_input(run, st, static_cast<size_t>(op), row, slots), 0);
    }

    /// Row `row` of a type kernel's run as `slots` in the input schema of stream `st`'s operator
    /// `op`, counted as process() counts an event before running it (outputs of the windows
    /// it closes belong to it).
    Row handoff_input(BatchRun& run, const StreamState& st, size_t op, uint64_t row, const Value* slots) {
        stats.events = run.base_events + row + 1;
        // Rows queued by this row's earlier streams live in scratch until end_row().
        if (queue.empty() && scratch.bytes_used() >= kScratchResetBytes) scratch.reset();
        // As in run_stream, the input row keeps its routing schema (a merge stream's row: the
        // merged schema) and field list (sequences and joins tell their inputs apart by
        // schema); after a select the row is projected, which (as project()) has no field list.
        if (op <= st.first_projection)
            return Row{const_cast<Value*>(slots), st.merged_schema >= 0 ? st.merged_schema : run.row.schema, run.ts[row],
                       run.row.type, run.raw ? run.raw[row] : nullptr, run.raw ? run.raw_count[row] : 0};
        return Row{const_cast<Value*>(slots), st.plan->ops[op].in, run.ts[row], run.row.type, nullptr, 0};
    }

    /// After the last stream of row `row`: what the row's streams handed to other streams.
    void end_row(BatchRun& run, uint64_t row) {
        stats.events = run.base_events + row + 1;
        if (!queue.empty()) drain();
        if (scratch.bytes_used() >= kScratchResetBytes) scratch.reset();
    }

    /// Row `row` of a type kernel's run into stream `stream`'s fused window (what run_ops does
    /// for OpState::fused, minus the accumulator updates the kernel makes itself).
    WindowCursor* window_enter(BatchRun& run, int32_t stream, uint64_t row, const Value* slots) {
        StreamState& st = streams[static_cast<size_t>(stream)];
        OpState& os = *st.fused_op;
        const Row r = handoff_input(run, st, static_cast<size_t>(st.first_window), row, slots);
        os.fused_out.clear();   // the per-row path leaves its last results there
        WindowCursor* cursor = os.fused->enter(r, scratch, os.fused_out);
        if (!os.fused_out.empty()) run_closed(st, os);
        return cursor;
    }

    void window_close(BatchRun& run, int32_t stream, uint64_t row) {
        stats.events = run.base_events + row + 1;
        // A count window's next group opens in generated code, so the rows results leave in
        // scratch are recycled here, as handoff_input does for rows entering the engine.
        if (queue.empty() && scratch.bytes_used() >= kScratchResetBytes) scratch.reset();
        StreamState& st = streams[static_cast<size_t>(stream)];
        OpState& os = *st.fused_op;
        os.fused_out.clear();
        os.fused->close_full(scratch, os.fused_out);
        if (!os.fused_out.empty()) run_closed(st, os);
    }

    /// A fused window's results (os.fused_out) through the stream's operators after its aggregate.
    void run_closed(StreamState& st, OpState& os) {
        const size_t next = static_cast<size_t>(st.first_window) + 2;
        if (kernels && next < st.plan->ops.size()) {
            // What run_ops does first when the rest is a tail chain, without its batches
            // (a count window closes every `size` events of a key).
            if (ChainKernel tail = kernels->tail(static_cast<size_t>(&st - streams.data()), next)) {
                run_chain(st, next, tail, os.fused_out.data(), os.fused_out.size(), 0);
                return;
            }
        }
        std::vector<Row> closed = take_batch();
        closed.assign(os.fused_out.begin(), os.fused_out.end());
        run_ops(st, static_cast<size_t>(st.first_window) + 2, std::move(closed), 0);
    }

    /// The receiver of a type kernel's callbacks, set up once per process_batch call: runs of
    /// one type are often short (alternating types in pattern workloads), so per run only the
    /// row pointers change.
    void init_batch_run(BatchRun& run, EvalContext& c) {
        run.emit = &batch_emit;
        run.begin_row = &batch_begin_row;
        run.window_enter = &batch_window_enter;
        run.window_close = &batch_window_close;
        run.end_row = &batch_end_row;
        run.push = &batch_push;
        run.window_enter_open = &batch_window_enter_open;
        run.flush = &batch_flush;
        run.entered = 0;
        run.out_next = reinterpret_cast<unsigned char*>(out_buffer.data());
        run.out_end = run.out_next + out_buffer.size() * sizeof(uint64_t);
        run.impl = this;
        c = context(&run.row);
        run.eval = &c;
    }

    /// Rows [first, first + n) of `batch` (all of routing schema `schema`, starting at slot
    /// `offset`) through type kernel `kernel`.
    void run_type_kernel(BatchRun& run, EvalContext& c, TypeKernel kernel, const EventBatch& batch, size_t first,
                         size_t n, size_t offset, int32_t schema) {
        run.windows = fused_windows.data();
        run.rows = batch.values.data() + offset;
        run.ts = batch.ts.data() + first;
        if (!batch.raw.empty()) {
            run.raw = batch.raw.data() + first;
            run.raw_count = batch.raw_count.data() + first;
        }
        run.width = width(schema);
        run.counted_entry = counted_entry[static_cast<size_t>(schema)];
        run.base_events = stats.events;
        run.row = Row{run.rows, schema, run.ts[0], schema_type[static_cast<size_t>(schema)],
                      run.raw ? run.raw[0] : nullptr, run.raw ? run.raw_count[0] : 0};
        c.now_ms = run.row.ts;
        KernelContext kc = kernel_context(&c);
        kc.run = &run;
        kernel(run.rows, n, &kc);
        if (!run.error && run.out_next != reinterpret_cast<unsigned char*>(out_buffer.data())) batch_flush(&run);
        if (run.error) {
            std::exception_ptr e = std::move(run.error);
            run.error = nullptr;
            std::rethrow_exception(e);
        }
        stats.events = run.base_events + n;
        type_events += n;
    }

    void process_batch(const EventBatch& batch, size_t first, size_t count) {
        const size_t end = first + std::min(count, batch.size() - std::min(first, batch.size()));
        size_t offset = 0;
        for (size_t i = 0; i < first && i < batch.size(); ++i) offset += width(batch.schemas[i]);
        const bool raw = !batch.raw.empty();
        BatchRun run;
        EvalContext run_eval;
        bool run_ready = false;
        for (size_t i = first; i < end;) {
            adopt_kernels();
            const int32_t schema = batch.schemas[i];
            if (schema < 0) {
                ++stats.events;
                ++stats.unrouted;
                ++i;
                continue;
            }
            const size_t w = width(schema);
            if (kernels) {
                if (TypeKernel kernel = type_kernels[static_cast<size_t>(schema)]) {
                    size_t j = i + 1;
                    while (j < end && batch.schemas[j] == schema) ++j;
                    if (!run_ready) {
                        init_batch_run(run, run_eval);
                        run_ready = true;
                    }
                    run_type_kernel(run, run_eval, kernel, batch, i, j - i, offset, schema);
                    offset += (j - i) * w;
                    i = j;
                    continue;
                }
            }
            StreamState* direct = direct_streams[static_cast<size_t>(schema)];
            if (direct && !direct->scan_routed.empty()) {
                if (const size_t j = run_scanned(*direct, batch, i, end, offset); j != i) {
                    i = j;
                    continue;
                }
            } else if (direct) {
                i = run_direct(*direct, batch, i, end, offset);
                continue;
            }
            ++stats.events;
            if (scratch.bytes_used() >= kScratchResetBytes) scratch.reset();
            const Row row{batch.values.data() + offset, schema, batch.ts[i], schema_type[static_cast<size_t>(schema)],
                          raw ? batch.raw[i] : nullptr, raw ? batch.raw_count[i] : 0};
            if (StreamState* st = direct) {
                run_stateful(*st, 0, row, 0);   // what run_routes, run_stream and run_from would do
                if (!queue.empty()) drain();
            } else {
                run_routes(row);
            }
            offset += w;
            ++i;
        }
    }

    /// Rows from `i` on (the first one included) while they go to `st` alone (direct_streams,
    /// no type kernel, no scan_routed): what the loop of process_batch does for each, without
    /// its per-row dispatch. Returns the row process_batch goes on with; stops early when
    /// compiled code waits to be swapped in (an event boundary like any other).
    [[gnu::noinline]] size_t run_direct(StreamState& st, const EventBatch& batch, size_t i, size_t end, size_t& offset) {
        // The arrays read per row, loaded once: the matcher's stores could alias them for the
        // compiler, and none of them changes before the next kernel adoption (which ends the loop).
        const int32_t* const schemas = batch.schemas.data();
        const int64_t* const ts = batch.ts.data();
        const Value* const values = batch.values.data();
        const Field* const* const raw = batch.raw.empty() ? nullptr : batch.raw.data();
        const uint32_t* const raw_count = batch.raw_count.data();
        const StrObj* const* const types = schema_type.data();
        const uint32_t* const widths = schema_widths.data();
        const uint8_t* const stays = st.direct_routed.data();   // (all schemas, or empty: none stays)
        const size_t n_stays = st.direct_routed.size();
        int32_t schema = schemas[i];
        // One row object, its fields rewritten per event (the matcher takes it by reference).
        Row row{nullptr, 0, 0, nullptr, nullptr, 0};
        for (;;) {
            ++stats.events;
            if (scratch.bytes_used() >= kScratchResetBytes) scratch.reset();
            row.slots = values + offset;
            row.schema = schema;
            row.ts = ts[i];
            row.type = types[schema];
            if (raw) {
                row.raw = raw[i];
                row.raw_count = raw_count[i];
            }
            run_stateful(st, 0, row, 0);
            if (!queue.empty()) drain();
            offset += widths[schema];
            if (++i == end || kernels_pending.load(std::memory_order_relaxed)) return i;
            schema = schemas[i];
            if (static_cast<size_t>(schema) >= n_stays || !stays[schema]) return i;   // (-1: a huge index)
        }
    }

    /// Rows from `i` on while they come to `st` alone (scan_routed): its matcher tests them
    /// for its steps in one loop and sees only those some step takes, which then go where
    /// run_stateful sends them. Returns the row process_batch goes on with; stops early when
    /// compiled code waits to be swapped in (an event boundary like any other).
    static constexpr size_t kScanTaken = 32;
    size_t run_scanned(StreamState& st, const EventBatch& batch, size_t i, size_t end, size_t& offset) {
        PatternMatcher& m = *st.ops[0].matcher;
        const bool raw = !batch.raw.empty();
        PatternMatcher::Rows rows;
        rows.schemas = batch.schemas.data();
        rows.ts = batch.ts.data();
        rows.values = batch.values.data();
        rows.widths = schema_widths.data();
        rows.routed = st.scan_routed.data();
        rows.n_schemas = st.scan_routed.size();
        rows.types = schema_type.data();
        rows.raw = raw ? batch.raw.data() : nullptr;
        rows.raw_count = raw ? batch.raw_count.data() : nullptr;
        // The rows some step takes, a buffer full per scan call.
        SeqTaken taken[kScanTaken];
        PatternMatcher::ScanBuffer buf{taken, kScanTaken, 0, 0};
        // With a compiled tail chain, matches go through it as the matcher finds them.
        ChainRun cr;
        PatternMatcher::MatchSink sink{&Impl::chain_sink, &cr};
        struct Unset {
            PatternMatcher& m;
            ~Unset() { m.set_match_sink(nullptr); }
        } unset{m};
        if (ChainKernel tail = kernels ? kernels->tail(static_cast<size_t>(&st - streams.data()), 1) : nullptr) {
            chain_setup(cr, st, 1, tail, 0);
            m.set_match_sink(&sink);
        }
        while (i < end) {
            const size_t j = m.scan(rows, i, end, offset, buf);
            for (size_t k = 0; k < buf.n; ++k) {
                const SeqTaken& t = taken[k];
                stats.events += t.row + 1 - i;   // the current event counted, as outputs see it
                i = t.row + 1;
                if (scratch.bytes_used() >= kScratchResetBytes) scratch.reset();
                const int32_t schema = rows.schemas[t.row];
                const Row row{rows.values + t.offset, schema, rows.ts[t.row], rows.types[schema],
                              raw ? rows.raw[t.row] : nullptr, raw ? rows.raw_count[t.row] : 0};
                st.matches.clear();
                m.on_taken(row, st.matches, scratch, t);
                if (!st.matches.empty()) run_matches(st, 0, 0);
                if (!queue.empty()) {
                    // Rows drain() brings this matcher come at another depth: through `out`.
                    m.set_match_sink(nullptr);
                    drain();
                    if (cr.chain) m.set_match_sink(&sink);
                }
                if (kernels_pending.load(std::memory_order_relaxed) && k + 1 < buf.n) {
                    // Swapped in at this event boundary: the rest is scanned again.
                    offset = t.offset + rows.widths[schema];
                    return i;
                }
            }
            stats.events += j - i;
            i = j;
            m.skipped_until(buf.tail_skipped);
            if (buf.n < buf.cap || kernels_pending.load(std::memory_order_relaxed)) break;
        }
        return i;
    }

    void drain() {
        while (queue_head < queue.size()) {
            Pending p = queue[queue_head++];
            for (int32_t sid : plan.routes[static_cast<size_t>(p.row.schema)])
                run_stream(streams[static_cast<size_t>(sid)], p.row, p.depth);
        }
        queue.clear();
        queue_head = 0;
    }

    std::vector<Row> take_batch() {
        if (batch_pool.empty()) return {};
        std::vector<Row> v = std::move(batch_pool.back());
        batch_pool.pop_back();
        v.clear();
        return v;
    }

    void give_batch(std::vector<Row>&& v) { batch_pool.push_back(std::move(v)); }

    // ------------------------------------------------------------ pipelines

    void run_stream(StreamState& st, const Row& in, int depth) {
        const ir::StreamPlan& sp = *st.plan;
        if (kernels) {
            if (ChainKernel chain = kernels->chain(static_cast<size_t>(&st - streams.data()))) {
                run_chain(st, 0, chain, in, depth);
                return;
            }
        }
        if (sp.merge_filters.empty()) {
            run_from(st, 0, in, depth);
            return;
        }
        auto entries = st.merge_entries.find(in.schema);
        if (entries == st.merge_entries.end()) return;
        const size_t sid = static_cast<size_t>(&st - streams.data());
        for (size_t e : entries->second) {
            const ir::ExprPtr& f = sp.merge_filters[e].second;
            EvalContext c = context(&in);
            bool pass = !f;
            if (FilterKernel k = f && kernels ? kernels->merge(sid, e) : nullptr) {
                KernelContext kc = kernel_context(&c);
                pass = k(in.slots, &kc) != 0;
            } else if (f) {
                pass = eval_condition(f.get(), c);
            }
            if (pass) {
                std::vector<Row> batch = take_batch();
                batch.push_back(to_merged(st, in, e));
                run_ops(st, 0, std::move(batch), depth);
                return;
            }
        }
    }

    /// Operators [first, end) of a stream on one row: run_ops, except that a sequence's
    /// matcher or a join sees the row directly and the operators after it run only when it
    /// produced rows (most pattern events complete no match), through the tail chain if any.
    void run_from(StreamState& st, size_t first, const Row& in, int depth) {
        const ir::StreamPlan& sp = *st.plan;
        if (first < sp.ops.size() && (sp.ops[first].kind == ir::OpKind::Sequence || sp.ops[first].kind == ir::OpKind::Join)) {
            run_stateful(st, first, in, depth);
            return;
        }
        std::vector<Row> batch = take_batch();
        batch.push_back(in);
        run_ops(st, first, std::move(batch), depth);
    }

    /// run_from for a sequence or join at `first`: small enough to inline into the per-event
    /// loop (direct_streams), the rest of the stream runs out of line, only on matches.
    [[gnu::always_inline]] void run_stateful(StreamState& st, size_t first, const Row& in, int depth) {
        OpState& os = st.ops[first];
        // Most events of a selective pattern qualify for no step: one test, no matcher call.
        uint64_t verdicts = 0;
        if (os.prefilter && (verdicts = os.matcher->step_verdicts(in)) == 0) return;
        st.matches.clear();
        if (os.prefilter)
            os.matcher->on_event(in, st.matches, scratch, verdicts);
        else if (os.matcher)
            os.matcher->on_event(in, st.matches, scratch);
        else
            os.join->push(in, scratch, joined_type, st.matches);
        if (!st.matches.empty()) run_matches(st, first, depth);
    }

    /// The rows a sequence or join at `first` produced (st.matches) through the rest of its stream.
    [[gnu::noinline]] void run_matches(StreamState& st, size_t first, int depth) {
        // What comes out goes through the stream's tail chain when it has one.
        const size_t sid = static_cast<size_t>(&st - streams.data());
        if (ChainKernel tail = kernels ? kernels->tail(sid, first + 1) : nullptr) {
            if (depth != 0 || sid >= match_chains.size()) {
                run_chain(st, first + 1, tail, st.matches.data(), st.matches.size(), depth);
                return;
            }
            // Set up once per table and chain, not per event (chain_row does not recurse:
            // forwarded rows wait in the queue).
            MatchChain& mc = match_chains[sid];
            if (mc.generation != kernels_generation || mc.chain != tail || mc.from != first + 1) {
                chain_setup(mc.cr, st, first + 1, tail, 0);
                mc.generation = kernels_generation;
                mc.chain = tail;
                mc.from = first + 1;
            }
            for (const Row& m : st.matches) chain_row(mc.cr, m);
            return;
        }
        std::vector<Row> batch = take_batch();
        batch.assign(st.matches.begin(), st.matches.end());
        run_ops(st, first + 1, std::move(batch), depth);
    }

    /// Operators [from, end) of a stream in one compiled call (the whole stream, or a tail
    /// chain: codegen::tail_chain): what run_ops does for filters and projections, without
    /// batches.
    void run_chain(StreamState& st, size_t from, ChainKernel chain, const Row& in, int depth) {
        run_chain(st, from, chain, &in, 1, depth);
    }

    /// What run_chain works out once for its rows (`kc` points at `c`: not moved once set up).
    struct ChainRun {
        StreamState* st = nullptr;
        ChainKernel chain = nullptr;
        const ir::Operator* proj = nullptr;
        size_t out_width = 0;
        bool emits = false;
        bool forwards = false;
        int depth = 0;
        EvalContext c;
        KernelContext kc{};
        Impl* self = nullptr;
    };
    /// run_matches at depth 0: a stream's ChainRun for its tail chain, kept while the kernel
    /// table and the chain stay the same (its `kc` points into it: the vector never grows).
    struct MatchChain {
        ChainRun cr;
        uint64_t generation = 0;   // kernels_generation it was set up for (0: never)
        ChainKernel chain = nullptr;
        size_t from = SIZE_MAX;
    };
    std::vector<MatchChain> match_chains;
    /// Counts kernel tables adopted (a freed table's address may come back: caches compare this).
    uint64_t kernels_generation = 1;
    void chain_setup(ChainRun& cr, StreamState& st, size_t from, ChainKernel chain, int depth) {
        cr.st = &st;
        cr.chain = chain;
        cr.depth = depth;
        cr.self = this;
        // The chain's last projection: the stream's, when it is one of the chain's operators.
        if (st.last_projection >= 0 && static_cast<size_t>(st.last_projection) >= from) {
            cr.proj = &st.plan->ops[static_cast<size_t>(st.last_projection)];
            cr.out_width = std::max<size_t>(width(cr.proj->out), 1);
        }
        cr.emits = cr.proj && cr.proj->kind == ir::OpKind::Emit;
        cr.forwards = forwards_rows(st, depth);
        cr.c = context(nullptr);
        cr.c.has_now = true;
        cr.kc = kernel_context(&cr.c);
    }
    void chain_row(ChainRun& cr, const Row& in) {
        Value* out = cr.proj ? scratch.allocate_array<Value>(cr.out_width) : nullptr;
        cr.c.row = &in;   // what row_context(in) sets
        cr.c.now_ms = in.ts;
        if (!cr.chain(in.slots, out, &cr.kc)) return;
        if (!cr.proj) {
            if (cr.forwards) forward(*cr.st, in, cr.depth);
            return;
        }
        const Row r{out, cr.proj->out, in.ts, cr.emits ? cr.st->name : in.type, nullptr, 0};
        if (cr.emits) output(*cr.st, *cr.proj, r);
        if (cr.forwards) forward(*cr.st, r, cr.depth);
    }
    /// PatternMatcher::MatchSink on a ChainRun: each match through the compiled tail chain as
    /// the matcher finds it, the row never copied.
    static void chain_sink(void* p, const Row& row) {
        auto* cr = static_cast<ChainRun*>(p);
        cr->self->chain_row(*cr, row);
    }

    /// run_chain on each of `n` rows in turn (a matcher's matches, a batch): what does not
    /// depend on the row is worked out once.
    void run_chain(StreamState& st, size_t from, ChainKernel chain, const Row* rows, size_t n, int depth) {
        ChainRun cr;
        chain_setup(cr, st, from, chain, depth);
        for (size_t i = 0; i < n; ++i) chain_row(cr, rows[i]);
    }

    /// Converts a row of one merge input into the stream's merged schema (resolved at build).
    Row to_merged(const StreamState& st, const Row& in, size_t input) {
        const ir::Schema& ms = plan.schemas[static_cast<size_t>(st.merged_schema)];
        Value* slots = scratch.allocate_array<Value>(ms.fields.size());
        for (size_t f = 0; f < ms.fields.size(); ++f) {
            slots[f] = Value::absent();
            const auto& cands = ms.origins[f].candidates;
            if (input < cands.size() && cands[input].second >= 0) slots[f] = in.slots[cands[input].second];
        }
        return Row{slots, st.merged_schema, in.ts, in.type, in.raw, in.raw_count};
    }

    /// Where a window folded by generated code (OpKernels::fold) puts the Aggregate's results.
    struct FoldSink {
        Impl* self;
        const ir::Operator* aggregate;
        AggregateKernel kernel;
        std::vector<Row>* out;

        static bool take(void* p, const WindowOperator::View& rows) {
            auto* s = static_cast<FoldSink*>(p);
            EvalContext c = s->self->context(nullptr);
            return fold_aggregate(*s->aggregate, rows.slots, rows.count, rows.width, rows.last_ts, s->kernel, c,
                                  s->self->scratch, s->self->aggregation_type, *s->out);
        }
    };

    /// `batch` into window operator k of `st`, whose closed windows the fold kernel aggregates
    /// where the window keeps them (codegen::compiles_fold): the Aggregate at k + 1 is
    /// computed here, and its results go on from k + 2. A window that mixes aggregate keys
    /// is copied out and runs through the Aggregate operator instead (same results).
    void fold_windows(StreamState& st, size_t k, OpState& os, FoldKernel fold, const std::vector<Row>& batch,
                      int depth) {
        const OpKernels* ak = kernel_for(st, k + 1);
        FoldSink sink{this, &st.plan->ops[k + 1],
                      {ak ? ak->project : nullptr, kernels->nodes.data(), kernel_consts.data(), fold}, nullptr};
        // Most rows close nothing: the two batches are taken again only after one went on.
        std::vector<Row> closed = take_batch();
        std::vector<Row> folded = take_batch();
        for (const Row& r : batch) {
            sink.out = &folded;
            os.window->push_view(r, &FoldSink::take, &sink, scratch, closed);
            if (!closed.empty()) {
                run_ops(st, k + 1, std::move(closed), depth);
                closed = take_batch();
            }
            if (!folded.empty()) {
                run_ops(st, k + 2, std::move(folded), depth);
                folded = take_batch();
            }
        }
        give_batch(std::move(closed));
        give_batch(std::move(folded));
    }

    /// Runs operators [first, end) of a stream on `batch`, then forwards what survives.
    void run_ops(StreamState& st, size_t first, std::vector<Row> batch, int depth) {
        const ir::StreamPlan& sp = *st.plan;
        bool emitted_any = false;
        std::vector<Row> next = take_batch();
        for (size_t k = first; k < sp.ops.size() && !batch.empty(); ++k) {
            if (k > 0 && kernels) {
                // The rest of the stream is one compiled function (a tail chain).
                if (ChainKernel tail = kernels->tail(static_cast<size_t>(&st - streams.data()), k)) {
                    run_chain(st, k, tail, batch.data(), batch.size(), depth);
                    give_batch(std::move(next));
                    give_batch(std::move(batch));
                    return;
                }
            }
            const ir::Operator& op = sp.ops[k];
            OpState& os = st.ops[k];
            next.clear();
            const OpKernels* kern = kernels ? kernel_for(st, k) : nullptr;
            switch (op.kind) {
                case ir::OpKind::Filter:
                    if (kern && kern->filter) {
                        for (const Row& r : batch) {
                            EvalContext c = context(&r);
                            KernelContext kc = kernel_context(&c);
                            if (kern->filter(r.slots, &kc)) next.push_back(r);
                        }
                        break;
                    }
                    for (const Row& r : batch) {
                        EvalContext c = context(&r);
                        if (eval_condition(op.exprs[0].get(), c)) next.push_back(r);
                    }
                    break;
                case ir::OpKind::Select:
                case ir::OpKind::Emit:
                    if (kern && kern->project) {
                        for (const Row& r : batch) next.push_back(project_compiled(st, op, r, kern->project));
                    } else {
                        for (const Row& r : batch) next.push_back(project(st, op, os, r));
                    }
                    if (op.kind == ir::OpKind::Emit) {
                        for (const Row& r : next) output(st, op, r);
                        emitted_any = emitted_any || !next.empty();
                    }
                    break;
                case ir::OpKind::Window:
                    if (os.fused) {
                        // The Aggregate at k + 1 is computed here; its compiled arguments
                        // feed the accumulators event by event.
                        const OpKernels* ak = kernels ? kernel_for(st, k + 1) : nullptr;
                        AggregateKernel agk;
                        if (ak && ak->project) agk = {ak->project, kernels->nodes.data(), kernel_consts.data()};
                        for (const Row& r : batch) {
                            // Most events close nothing: a batch is taken only for results.
                            os.fused_out.clear();
                            os.fused->push(r, agk.args ? &agk : nullptr, scratch, os.fused_out);
                            if (os.fused_out.empty()) continue;
                            std::vector<Row> closed = take_batch();
                            closed.assign(os.fused_out.begin(), os.fused_out.end());
                            run_ops(st, k + 2, std::move(closed), depth);
                        }
                        batch.clear();
                        continue;
                    }
                    if (kern && kern->fold) {
                        fold_windows(st, k, os, kern->fold, batch, depth);
                        batch.clear();
                        continue;
                    }
                    for (const Row& r : batch) {
                        std::vector<Row> closed = take_batch();
                        os.window->push(r, scratch, closed);
                        if (closed.empty()) {
                            give_batch(std::move(closed));
                            continue;
                        }
                        // Each closed window is its own batch for the operators after it.
                        run_ops(st, k + 1, std::move(closed), depth);
                    }
                    batch.clear();
                    continue;
                case ir::OpKind::Aggregate: {
                    EvalContext c = context(nullptr);
                    if (kern && kern->project) {
                        AggregateKernel ak{kern->project, kernels->nodes.data(), kernel_consts.data()};
                        run_aggregate(op, batch.data(), batch.size(), c, scratch, aggregation_type, next, &ak);
                    } else {
                        run_aggregate(op, batch.data(), batch.size(), c, scratch, aggregation_type, next);
                    }
                    break;
                }
                case ir::OpKind::Sequence:
                    for (const Row& r : batch) os.matcher->on_event(r, next, scratch);
                    break;
                case ir::OpKind::TrendAggregate:
                    for (const Row& r : batch) os.trend->on_event(r, next, scratch);
                    break;
                case ir::OpKind::Join:
                    for (const Row& r : batch) os.join->push(r, scratch, joined_type, next);
                    break;
                case ir::OpKind::Distinct:
                    if (kern && kern->effect) {
                        run_effect(st, op, os, kern->effect, batch, next);
                        break;
                    }
                    for (const Row& r : batch) {
                        std::string key;
                        if (op.exprs.empty()) {
                            append_whole_event(key, r);
                        } else {
                            EvalContext c = context(&r);
                            append_display(key, eval(*op.exprs[0], c));
                        }
                        if (remember_distinct(os, std::move(key))) next.push_back(r);
                    }
                    break;
                case ir::OpKind::Limit:
                    for (const Row& r : batch)
                        if (os.limit_seen < op.limit) {
                            ++os.limit_seen;
                            next.push_back(r);
                        }
                    break;
                case ir::OpKind::Print:
                    if (kern && kern->effect) {
                        run_effect(st, op, os, kern->effect, batch, next);
                        break;
                    }
                    for (const Row& r : batch) print(sp, op, r);
                    next = batch;
                    break;
                case ir::OpKind::Log:
                    for (const Row& r : batch) log(sp, op, r);
                    next = batch;
                    break;
                case ir::OpKind::To:
                    if (kern && kern->effect) {
                        run_effect(st, op, os, kern->effect, batch, next);
                        break;
                    }
                    for (const Row& r : batch) send_to(op, r);
                    next = batch;
                    break;
                case ir::OpKind::Process:
                    if (kern && kern->effect) {
                        run_effect(st, op, os, kern->effect, batch, next);
                        break;
                    }
                    for (const Row& r : batch) process_call(sp, op, r, next);
                    break;
                case ir::OpKind::PatternLambda:
                    if (pattern_holds(op, batch)) next = batch;
                    break;
                case ir::OpKind::Forecast:
                case ir::OpKind::Enrich:
                    next = batch;  // async-only / model-based: pass-through in a single engine
                    break;
            }
            batch.swap(next);
        }
        // A `.process` stream without `.emit` outputs the events its function emitted (§1.4).
        if (sp.has_process && !sp.emits && !emitted_any)
            for (const Row& r : batch) output_dynamic(st, r);
        for (const Row& r : batch) forward(st, r, depth);
        give_batch(std::move(next));
        give_batch(std::move(batch));
    }

    Row project(const StreamState& st, const ir::Operator& op, const OpState& os, const Row& r) {
        size_t w = width(op.out);
        Value* slots = scratch.allocate_array<Value>(w);
        EvalContext c = context(&r);
        size_t n = std::min(w, op.exprs.size());
        const bool cached = os.const_mask.size() == op.exprs.size();
        for (size_t i = 0; i < n; ++i) slots[i] = cached && os.const_mask[i] ? os.const_vals[i] : eval(*op.exprs[i], c);
        for (size_t i = n; i < w; ++i) slots[i] = Value::absent();
        // st.name is the stream name, interned once.
        const StrObj* type = op.kind == ir::OpKind::Emit ? st.name : r.type;
        return Row{slots, op.out, r.ts, type, nullptr, 0};
    }

    Row project_compiled(const StreamState& st, const ir::Operator& op, const Row& r, ProjectKernel kernel) {
        size_t w = width(op.out);
        Value* slots = scratch.allocate_array<Value>(w);
        EvalContext c = context(&r);
        KernelContext kc = kernel_context(&c);
        kernel(r.slots, slots, &kc);
        const StrObj* type = op.kind == ir::OpKind::Emit ? st.name : r.type;
        return Row{slots, op.out, r.ts, type, nullptr, 0};
    }

    /// The event_type of an output row: its `event_type` item when present, else the stream.
    std::string_view output_type(std::string_view stream, int32_t item, const Value* slots) {
        if (item < 0) return stream;
        const Value& v = slots[item];
        if (v.kind == ValueKind::Str) return v.str();
        if (!v.present()) return stream;
        type_buf.clear();
        append_to_string(type_buf, v);
        return type_buf;
    }

    void output(StreamState& st, const ir::Operator& op, const Row& r) {
        ++stats.outputs;
        if (!sink) return;
        OutputEvent out;
        out.stream = st.plan->name;
        out.event_type = output_type(st.plan->name, op.event_type_item, r.slots);
        out.timestamp_ms = r.ts;
        out.names = field_names[static_cast<size_t>(op.out)].data();
        out.values = r.slots;
        out.field_count = static_cast<uint32_t>(width(op.out));
        sink(out);
    }

    void output_dynamic(StreamState& st, const Row& r) {
        ++stats.outputs;
        if (!sink) return;
        std::vector<const StrObj*> names(r.raw_count);
        std::vector<Value> values(r.raw_count);
        for (uint32_t i = 0; i < r.raw_count; ++i) {
            names[i] = r.raw[i].name;
            values[i] = r.raw[i].value;
        }
        OutputEvent out;
        out.stream = st.plan->name;
        out.event_type = r.type ? r.type->view() : std::string_view(st.plan->name);
        out.timestamp_ms = r.ts;
        out.names = names.data();
        out.values = values.data();
        out.field_count = r.raw_count;
        sink(out);
    }

    /// Every field of a row in order: its raw list, or its schema's present slots.
    void whole_fields(const Row& r, std::vector<Field>& out) const {
        out.clear();
        if (r.raw) {
            out.assign(r.raw, r.raw + r.raw_count);
            return;
        }
        if (r.schema < 0) return;
        const auto& names = field_names[static_cast<size_t>(r.schema)];
        const auto& fields = plan.schemas[static_cast<size_t>(r.schema)].fields;
        for (size_t i = 0; i < names.size(); ++i)
            if (r.slots[i].present() && fields[i].rfind("#len:", 0) != 0) out.push_back({names[i], r.slots[i]});
    }

    void append_whole_event(std::string& out, const Row& r) const {
        std::vector<Field> fields;
        whole_fields(r, fields);
        out += '{';
        for (size_t i = 0; i < fields.size(); ++i) {
            if (i) out += ", ";
            out += fields[i].name->view();
            out += ": ";
            append_display(out, fields[i].value);
        }
        out += '}';
    }

    /// SEMANTICS §5.6: remembers `key`; false when it was seen (among the last kDistinctMemory).
    bool remember_distinct(OpState& os, std::string key) {
        if (!os.distinct_seen.insert(key).second) return false;
        os.distinct_order.push_back(std::move(key));
        if (os.distinct_order.size() > kDistinctMemory) {
            os.distinct_seen.erase(os.distinct_order.front());
            os.distinct_order.pop_front();
        }
        return true;
    }

    /// The `.print` line of row `r`: `n` printed values, or (values null) the whole event.
    void print_values(const ir::StreamPlan& sp, const Row& r, const Value* values, uint32_t n) {
        line = "[PRINT] ";
        if (!values) {
            line += "[" + sp.name + "] ";
            line += r.type ? r.type->view() : std::string_view(sp.name);
            line += ": ";
            append_whole_event(line, r);
        } else {
            for (uint32_t i = 0; i < n; ++i) {
                if (i) line += ' ';
                append_display(line, values[i]);
            }
        }
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), diag);
    }

    /// The engine's side of an effect kernel (runtime/abi.hpp OpRun), for the row being run.
    /// Callbacks keep what they throw in `error`; run_effect rethrows it once the kernel has
    /// returned (no exception crosses generated code).
    struct EffectRun : OpRun {
        Impl* self = nullptr;
        const ir::StreamPlan* sp = nullptr;
        const ir::Operator* op = nullptr;
        OpState* os = nullptr;
        const Row* row = nullptr;
        std::vector<EmittedEvent>* emitted = nullptr;
        std::exception_ptr error;
    };

    template <class F>
    static int32_t effect_guard(OpRun* o, F&& f) noexcept {
        auto* run = static_cast<EffectRun*>(o);
        try {
            return f(*run) ? 1 : 0;
        } catch (...) {
            run->error = std::current_exception();
            return 0;
        }
    }
    static int32_t effect_print(OpRun* o, const Value* values, uint32_t n) noexcept {
        return effect_guard(o, [&](EffectRun& run) {
            run.self->print_values(*run.sp, *run.row, values, n);
            return true;
        });
    }
    static int32_t effect_send(OpRun* o) noexcept {
        return effect_guard(o, [&](EffectRun& run) {
            run.self->send_to(*run.op, *run.row);
            return true;
        });
    }
    static int32_t effect_distinct(OpRun* o, const Value* key) noexcept {
        return effect_guard(o, [&](EffectRun& run) {
            std::string text;
            if (key) append_display(text, *key);
            else run.self->append_whole_event(text, *run.row);
            return run.self->remember_distinct(*run.os, std::move(text));
        });
    }
    /// runtime/eval.cpp emit_event, with the values computed by generated code.
    static int32_t effect_emit(OpRun* o, uint32_t index, const Value* values) noexcept {
        return effect_guard(o, [&](EffectRun& run) {
            const auto& emits = run.self->kernels->emits;
            if (index >= emits.size() || !run.emitted) return false;
            const ir::Stmt& s = *emits[index];
            Interner& in = run.self->interner;
            EmittedEvent ev;
            ev.type = in.intern(s.type);
            const size_t n = std::min(s.exprs.size(), s.names.size());
            ev.fields.reserve(n);
            for (size_t i = 0; i < n; ++i)
                if (values[i].present()) ev.fields.push_back(Field{in.intern(s.names[i]), values[i]});
            run.emitted->push_back(std::move(ev));
            return true;
        });
    }

    /// A Print, To, Distinct or Process operator through its effect kernel: the rows it lets
    /// through (Process: the events it emits) go to `next`, as the interpreted cases do.
    void run_effect(StreamState& st, const ir::Operator& op, OpState& os, EffectKernel kernel,
                    const std::vector<Row>& batch, std::vector<Row>& next) {
        EffectRun run;
        run.print = &effect_print;
        run.send = &effect_send;
        run.distinct = &effect_distinct;
        run.emit = &effect_emit;
        run.self = this;
        run.sp = st.plan;
        run.op = &op;
        run.os = &os;
        const bool process = op.kind == ir::OpKind::Process;
        std::vector<EmittedEvent> emitted;
        for (const Row& r : batch) {
            run.row = &r;
            EvalContext c = context(&r);
            if (process) {
                emitted.clear();
                c.emitted = &emitted;
                run.emitted = &emitted;
            }
            KernelContext kc = kernel_context(&c);
            kc.op = &run;
            const int32_t keep = kernel(r.slots, &kc);
            if (run.error) std::rethrow_exception(run.error);
            if (process) append_emitted(op, r, emitted, next);
            else if (keep) next.push_back(r);
        }
    }

    void print(const ir::StreamPlan& sp, const ir::Operator& op, const Row& r) {
        if (op.exprs.empty()) {
            print_values(sp, r, nullptr, 0);
            return;
        }
        line = "[PRINT] ";
        EvalContext c = context(&r);
        for (size_t i = 0; i < op.exprs.size(); ++i) {
            if (i) line += ' ';
            append_display(line, eval(*op.exprs[i], c));
        }
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), diag);
    }

    void log(const ir::StreamPlan& sp, const ir::Operator& op, const Row& r) {
        EvalContext c = context(&r);
        line = "[LOG] [" + sp.name + "]";
        for (size_t i = 0; i < op.exprs.size(); ++i) {
            line += ' ';
            if (!op.names[i].empty()) line += op.names[i] + "=";
            if (op.exprs[i]) append_to_string(line, eval(*op.exprs[i], c));
        }
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), diag);
    }

    /// `.to(Connector)`: the sink payload of FORMATS §2.4. A console connector writes it to the
    /// diagnostics stream; other connectors have no transport in a single engine yet.
    void send_to(const ir::Operator& op, const Row& r) {
        size_t idx = 0;
        while (idx < plan.connectors.size() && plan.connectors[idx] != op.connector) ++idx;
        if (idx == plan.connectors.size() || plan.connector_kinds[idx] != "console") return;
        std::vector<Field> fields;
        whole_fields(r, fields);
        line = "{\"event_type\": ";
        append_json_string(line, r.type ? r.type->view() : std::string_view());
        line += ", \"timestamp\": ";
        append_int(line, r.ts);
        for (const auto& f : fields) {
            if (f.name->view() == "timestamp" || f.name->view() == "event_type") continue;
            line += ", ";
            append_json_string(line, f.name->view());
            line += ": ";
            append_json(line, f.value);
        }
        line += "}\n";
        std::fwrite(line.data(), 1, line.size(), diag);
    }

    /// `.pattern(name: events => expr)`: the batch as an array of maps (each with its
    /// `event_type`); the batch is dropped when the lambda yields false (VPL.md §11).
    bool pattern_holds(const ir::Operator& op, const std::vector<Row>& batch) {
        const ir::Expr* lambda = op.exprs.empty() ? nullptr : op.exprs[0].get();
        if (!lambda || lambda->op != ir::ExprOp::Lambda) return true;
        ArrayObj* events = heap.make_array(static_cast<uint32_t>(batch.size()));
        const StrObj* type_key = interner.intern("event_type");
        std::vector<Field> fields;
        for (size_t i = 0; i < batch.size(); ++i) {
            whole_fields(batch[i], fields);
            MapObj* m = heap.make_map(static_cast<uint32_t>(fields.size() + 1));
            m->keys[0] = type_key;
            m->values[0] = Value::string(batch[i].type ? batch[i].type : interner.intern(st_name_fallback));
            for (size_t f = 0; f < fields.size(); ++f) {
                m->keys[f + 1] = fields[f].name;
                m->values[f + 1] = fields[f].value;
            }
            events->items[i] = Value::map(m);
        }
        EvalContext c = context(batch.empty() ? nullptr : &batch.back());
        Value arg = Value::array(events);
        Value result = call_lambda(*lambda, &arg, 1, c);
        return !(result.kind == ValueKind::Bool && !result.b);
    }

    static constexpr const char* st_name_fallback = "event";

    void process_call(const ir::StreamPlan&, const ir::Operator& op, const Row& r, std::vector<Row>& out) {
        std::vector<EmittedEvent> emitted;
        EvalContext c = context(&r);
        c.emitted = &emitted;
        eval(*op.exprs[0], c);
        append_emitted(op, r, emitted, out);
    }

    /// The events a `.process` call on `r` emitted, as rows of the operator's Dynamic schema.
    void append_emitted(const ir::Operator& op, const Row& r, const std::vector<EmittedEvent>& emitted,
                        std::vector<Row>& out) {
        const auto& names = field_names[static_cast<size_t>(op.out)];
        for (const auto& e : emitted) {
            Field* fields = scratch.allocate_array<Field>(e.fields.size());
            std::copy(e.fields.begin(), e.fields.end(), fields);
            // Later operators read slots: fill them by name (Dynamic rows are rare; no index).
            Value* slots = scratch.allocate_array<Value>(names.size());
            for (size_t i = 0; i < names.size(); ++i) {
                slots[i] = Value::absent();
                for (const Field& f : e.fields)
                    if (f.name == names[i]) slots[i] = f.value;
            }
            out.push_back(Row{slots, op.out, r.ts, e.type, fields, static_cast<uint32_t>(e.fields.size())});
        }
    }

    /// Whether forward() passes a stream's rows on at `depth` (something reads the stream).
    bool forwards_rows(const StreamState& st, int depth) const {
        return depth + 1 < kMaxDepth && !plan.routes[static_cast<size_t>(st.plan->type_id)].empty();
    }

    /// Renames a surviving row to the stream and queues it for the streams reading it.
    void forward(StreamState& st, const Row& r, int depth) {
        const ir::StreamPlan& sp = *st.plan;
        if (!forwards_rows(st, depth)) return;
        size_t w = width(sp.type_id);
        Value* slots = scratch.allocate_array<Value>(w);
        if (plan.schemas[static_cast<size_t>(r.schema)].kind == ir::SchemaKind::Dynamic) {
            const auto& map = field_slots[static_cast<size_t>(sp.type_id)];
            for (size_t i = 0; i < w; ++i) slots[i] = Value::absent();
            for (uint32_t f = 0; f < r.raw_count; ++f) {
                auto s = map.find(r.raw[f].name);
                if (s != map.end()) slots[s->second] = r.raw[f].value;
            }
        } else {
            for (size_t i = 0; i < w; ++i) {
                int32_t s = i < sp.forward_slots.size() ? sp.forward_slots[i] : -1;
                slots[i] = s >= 0 ? r.slots[s] : Value::absent();
            }
        }
        Row out{slots, sp.type_id, r.ts, st.name, r.raw, r.raw_count};
        if (!out.raw && needs_raw[static_cast<size_t>(sp.type_id)]) {
            std::vector<Field> fields;
            whole_fields(r, fields);
            // In `heap`, not `scratch`: windows, joins and matchers keep the row (and this
            // pointer) across events, and scratch is recycled every few kilobytes.
            Field* copy = heap.allocate_array<Field>(fields.size());
            std::copy(fields.begin(), fields.end(), copy);
            out.raw = copy;
            out.raw_count = static_cast<uint32_t>(fields.size());
        }
        queue.push_back({out, depth + 1});
    }

    void finish() {
        adopt_kernels();
        scratch.reset();
        for (auto& st : streams) {
            const ir::StreamPlan& sp = *st.plan;
            for (size_t k = 0; k < sp.ops.size(); ++k) {
                OpState& os = st.ops[k];
                if (os.window) {
                    std::vector<std::vector<Row>> batches;
                    os.window->finish(scratch, batches);
                    for (auto& b : batches) {
                        run_ops(st, k + 1, std::move(b), 0);
                        drain();
                    }
                } else if (os.fused) {
                    std::vector<std::vector<Row>> batches;
                    os.fused->finish(scratch, batches);
                    for (auto& b : batches) {
                        run_ops(st, k + 2, std::move(b), 0);
                        drain();
                    }
                } else if (os.trend) {
                    std::vector<Row> results;
                    os.trend->finish(results, scratch);
                    for (const Row& r : results) {
                        run_ops(st, k + 1, {r}, 0);
                        drain();
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ checkpoints
    // Format and guarantees: docs/architecture.md, "Checkpoints".

    /// Back to the state of a freshly built engine (kernels kept: they hold no state).
    void reset_state() {
        queue.clear();
        queue_head = 0;
        scratch.reset();
        heap.reset();
        stats = EngineStats{};
        rt.globals.clear();
        run_global_inits(rt);
        streams.clear();
        streams.resize(plan.streams.size());
        match_chains.clear();   // (their ChainRuns point at the old streams)
        match_chains.resize(plan.streams.size());
        for (size_t i = 0; i < plan.streams.size(); ++i) build_stream(streams[i], plan.streams[i]);
        attach_step_kernels();
        select_type_kernels();
    }

    static bool has_state(ir::OpKind k) {
        switch (k) {
            case ir::OpKind::Window:
            case ir::OpKind::Join:
            case ir::OpKind::Sequence:
            case ir::OpKind::TrendAggregate:
            case ir::OpKind::Distinct:
            case ir::OpKind::Limit:
                return true;
            default:
                return false;
        }
    }

    std::string save_checkpoint() const {
        CheckpointWriter w(plan);
        w.header();
        size_t mark = w.begin_section(CheckpointSection::Engine);
        w.u64(stats.events);
        w.u64(stats.outputs);
        w.u64(stats.unrouted);
        w.u64(rt.uuid_state);
        w.count(rt.globals.size());
        for (size_t g = 0; g < rt.globals.size(); ++g) {
            w.str(g < plan.globals.size() ? std::string_view(plan.globals[g].name) : std::string_view());
            w.u64(global_signature(plan, g));
            w.boolean(g < plan.globals.size() && plan.globals[g].is_mutable);
            w.value(rt.globals[g]);
        }
        w.end_section(mark);
        for (const StreamState& st : streams) {
            const ir::StreamPlan& sp = *st.plan;
            mark = w.begin_section(CheckpointSection::Stream);
            w.str(sp.name);
            w.u64(stream_signature(plan, sp));
            size_t n = 0;
            for (const auto& op : sp.ops) n += has_state(op.kind);
            w.count(n);
            for (size_t k = 0; k < sp.ops.size(); ++k) {
                if (!has_state(sp.ops[k].kind)) continue;
                const OpState& os = st.ops[k];
                w.count(k);
                w.u8(static_cast<uint8_t>(sp.ops[k].kind));
                if (os.window) os.window->save(w);
                else if (os.fused) os.fused->save(w);
                else if (os.join) os.join->save(w);
                else if (os.matcher) os.matcher->save(w);
                else if (os.trend) os.trend->save(w);
                else if (sp.ops[k].kind == ir::OpKind::Distinct) {
                    w.count(os.distinct_order.size());
                    for (const auto& key : os.distinct_order) w.str(key);
                } else {
                    w.i64(os.limit_seen);
                }
            }
            w.end_section(mark);
        }
        return w.finish();
    }

    bool load_engine_section(CheckpointReader& r) {
        stats.events = r.u64();
        stats.outputs = r.u64();
        stats.unrouted = r.u64();
        rt.uuid_state = r.u64();
        uint32_t n = r.count(14);
        for (uint32_t i = 0; i < n && r.ok(); ++i) {
            std::string name(r.str());
            uint64_t sig = r.u64();
            bool is_mutable = r.boolean();
            Value v;
            if (!r.value(v)) return false;
            // A `var` keeps its running value; a constant only while its initialiser is unchanged.
            for (size_t g = 0; g < plan.globals.size() && g < rt.globals.size(); ++g)
                if (plan.globals[g].name == name && plan.globals[g].is_mutable == is_mutable &&
                    (is_mutable || global_signature(plan, g) == sig))
                    rt.globals[g] = v;
        }
        if (r.ok() && !r.at_end()) r.fail("trailing bytes in the engine section");
        return r.ok();
    }

    /// One stream section: restored when a stream of that name and signature exists.
    bool load_stream_section(CheckpointReader& r, const std::vector<uint64_t>& sigs, std::vector<char>& restored) {
        std::string name(r.str());
        uint64_t sig = r.u64();
        if (!r.ok()) return false;
        size_t i = 0;
        while (i < streams.size() && streams[i].plan->name != name) ++i;
        if (i == streams.size() || sigs[i] != sig) return true;  // gone or changed: starts empty
        if (restored[i]) return r.fail("stream '" + name + "' saved twice");
        restored[i] = 1;
        StreamState& st = streams[i];
        const ir::StreamPlan& sp = *st.plan;
        uint32_t n = r.count(5);
        int64_t last = -1;
        for (uint32_t j = 0; j < n && r.ok(); ++j) {
            uint32_t k = r.u32();
            uint8_t kind = r.u8();
            if (!r.ok()) return false;
            if (k >= sp.ops.size() || static_cast<int64_t>(k) <= last || kind != static_cast<uint8_t>(sp.ops[k].kind) ||
                !has_state(sp.ops[k].kind))
                return r.fail("operator state that does not fit stream '" + name + "'");
            last = k;
            OpState& os = st.ops[k];
            if (os.window) os.window->load(r);
            else if (os.fused) os.fused->load(r);
            else if (os.join) os.join->load(r);
            else if (os.matcher) os.matcher->load(r);
            else if (os.trend) os.trend->load(r);
            else if (sp.ops[k].kind == ir::OpKind::Distinct) {
                uint32_t m = r.count(4);
                if (m > kDistinctMemory) return r.fail("distinct memory over its cap");
                for (uint32_t e = 0; e < m && r.ok(); ++e) {
                    std::string key(r.str());
                    if (!os.distinct_seen.insert(key).second) return r.fail("duplicate distinct key");
                    os.distinct_order.push_back(std::move(key));
                }
            } else {
                os.limit_seen = r.i64();
            }
        }
        if (r.ok() && !r.at_end()) r.fail("trailing bytes in the section of stream '" + name + "'");
        return r.ok();
    }

    bool restore_checkpoint(std::string_view blob, RestoreReport& report, std::string& error) {
        report = RestoreReport{};
        error.clear();
        reset_state();
        std::string_view payload;
        if (!open_checkpoint(blob, payload, error)) return false;
        CheckpointReader r(payload, heap, interner, plan);
        std::vector<uint64_t> sigs;
        for (const auto& sp : plan.streams) sigs.push_back(stream_signature(plan, sp));
        std::vector<char> restored(streams.size(), 0);
        bool engine_seen = false;
        while (r.ok() && !r.at_end()) {
            uint8_t kind = r.u8();
            uint64_t len = r.u64();
            CheckpointReader sec = r.sub(len);
            if (!r.ok()) break;
            if (kind == static_cast<uint8_t>(CheckpointSection::Engine)) {
                if (engine_seen) {
                    r.fail("engine section saved twice");
                    break;
                }
                engine_seen = true;
                load_engine_section(sec);
            } else if (kind == static_cast<uint8_t>(CheckpointSection::Stream)) {
                load_stream_section(sec, sigs, restored);
            } else {
                continue;  // a section kind of a later format revision: skipped by design
            }
            if (!r.absorb(sec)) break;
        }
        if (r.ok() && !engine_seen) r.fail("engine section missing");
        if (!r.ok()) {
            error = r.error();
            reset_state();
            return false;
        }
        report.events_restored = stats.events;
        for (char x : restored) (x ? report.streams_restored : report.streams_reset)++;
        return true;
    }
};

Engine::Engine(const ir::Plan& plan, Interner& interner, OutputSink sink, std::FILE* diagnostics)
    : impl_(std::make_unique<Impl>(plan, interner, std::move(sink), diagnostics)) {}

Engine::~Engine() = default;

void Engine::process(const InputEvent& event) { impl_->process(event); }

void Engine::prepare(const InputEvent* events, size_t n, EventBatch& out) { impl_->prepare(events, n, out); }

void Engine::prepare(const InputEvent* events, size_t n, EventBatch& out, const ForeignNames& names) {
    impl_->prepare(events, n, out, &names);
}

void Engine::process_batch(const EventBatch& batch, size_t first, size_t count) {
    impl_->process_batch(batch, first, count);
}

bool Engine::keeps_field_lists() const { return impl_->keep_raw; }

uint64_t Engine::type_kernel_events() const { return impl_->type_events; }

bool Engine::reads(const StrObj* type) const {
    auto it = impl_->routing.find(type);
    return it != impl_->routing.end() && !impl_->plan.routes[static_cast<size_t>(it->second)].empty();
}

void Engine::finish() { impl_->finish(); }

void Engine::install_kernels(std::shared_ptr<const KernelTable> table) {
    impl_->pending_kernels.store(std::move(table));
    impl_->kernels_pending.store(true, std::memory_order_release);
}

bool Engine::kernels_active() const { return impl_->kernels != nullptr; }

const EngineStats& Engine::stats() const { return impl_->stats; }

std::vector<StreamDrops> Engine::drops() const {
    std::vector<StreamDrops> out;
    for (const auto& st : impl_->streams) {
        StreamDrops d;
        d.stream = st.plan->name;
        for (const auto& os : st.ops) {
            if (os.matcher) d.pattern_caps += os.matcher->dropped();
            if (os.trend) d.trend_overflows += os.trend->overflows();
        }
        if (d.pattern_caps || d.trend_overflows) out.push_back(d);
    }
    return out;
}

std::string Engine::save_checkpoint() const { return impl_->save_checkpoint(); }

bool Engine::restore_checkpoint(std::string_view blob, RestoreReport& report, std::string& error) {
    // Allocation failure is the only exception the loaders can raise; it must not escape.
    try {
        return impl_->restore_checkpoint(blob, report, error);
    } catch (const std::exception& e) {
        error = std::string("checkpoint could not be restored: ") + e.what();
    } catch (...) {
        error = "checkpoint could not be restored: unknown failure";
    }
    try {
        impl_->reset_state();
    } catch (...) {
    }
    report = RestoreReport{};
    return false;
}

}  // namespace varpulis::runtime
