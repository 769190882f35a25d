#include "runtime/aggregate.hpp"

#include <cmath>
#include <string>
#include <unordered_map>

#include "runtime/value_ops.hpp"
#include "runtime/window_state.hpp"

namespace varpulis::runtime {

namespace {

using frontend::AggregateFn;
using frontend::BinaryOp;

/// `args`: when compiled code computed the call arguments, row i's argument of this call is
/// args[i * stride]; otherwise the interpreter evaluates it on demand. The numeric functions
/// share acc_add()/acc_result() with the incremental path (runtime/window_state.hpp).
Value compute_call(const ir::AggregateCall& call, const Row* rows, const uint32_t* members, size_t n_members,
                   EvalContext& ctx, const Value* args, size_t stride) {
    auto arg_of = [&](size_t idx) -> Value {
        if (args) return args[idx * stride];
        ctx.row = &rows[idx];
        ctx.now_ms = rows[idx].ts;
        ctx.has_now = true;
        return call.arg ? eval(*call.arg, ctx) : Value::absent();
    };
    switch (call.fn) {
        case AggregateFn::Count:
            return Value::integer(static_cast<int64_t>(n_members));
        case AggregateFn::Sum:
        case AggregateFn::Avg:
        case AggregateFn::Min:
        case AggregateFn::Max:
        case AggregateFn::Stddev:
        case AggregateFn::Ema: {
            double k = 0;
            if (call.fn == AggregateFn::Ema) {
                Value p = Value::absent();
                if (call.period && n_members > 0) {
                    ctx.row = &rows[members[0]];
                    p = eval(*call.period, ctx);
                }
                k = ema_factor(&p);
            }
            CallAcc acc;
            acc_reset(call.fn, acc, k);
            for (size_t m = 0; m < n_members; ++m) {
                double x;
                if (numeric_input(arg_of(members[m]), x)) acc_add(call.fn, acc, x);
            }
            return acc_result(call.fn, acc);
        }
        case AggregateFn::First:
        case AggregateFn::Last: {
            if (n_members == 0) return Value::null();
            Value v = arg_of(call.fn == AggregateFn::First ? members[0] : members[n_members - 1]);
            return v.present() ? v : Value::null();
        }
        case AggregateFn::CountDistinct: {
            std::unordered_map<DistinctKey, bool, DistinctHash> seen;
            for (size_t m = 0; m < n_members; ++m) {
                Value v = arg_of(members[m]);
                if (v.present()) seen.emplace(DistinctKey{v}, true);
            }
            return Value::integer(static_cast<int64_t>(seen.size()));
        }
    }
    return Value::null();
}

/// Whether two values have the same aggregate group key (SEMANTICS §7.1: the key text, a
/// missing value being ""), without building the text in the common cases.
bool same_group_key(const Value& a, const Value& b, std::string& ka, std::string& kb) {
    if (a.kind == ValueKind::Str && b.kind == ValueKind::Str) return a.s == b.s || a.str() == b.str();
    if (a.kind == ValueKind::Int && b.kind == ValueKind::Int) return a.i == b.i;
    ka.clear();
    kb.clear();
    append_partition_key(ka, a);
    append_partition_key(kb, b);
    return ka == kb;
}

}  // namespace

// SEMANTICS §7.2: int∘int → int (int ÷ 0 → 0), otherwise float
// (float ÷ 0.0 → NaN); a null side gives null.
Value combine_aggregate(const ir::Expr& e, const Value* results) {
    if (e.op == ir::ExprOp::Local) return results[static_cast<size_t>(e.index)];
    if (e.op == ir::ExprOp::Const) {
        if (e.lit.kind == ir::Kind::Int) return Value::integer(e.lit.i);
        if (e.lit.kind == ir::Kind::Float) return Value::floating(e.lit.f);
        return Value::null();
    }
    if (e.op != ir::ExprOp::Binary || e.args.size() != 2) return Value::null();
    Value a = combine_aggregate(*e.args[0], results), b = combine_aggregate(*e.args[1], results);
    if (!a.is_number() || !b.is_number()) return Value::null();
    if (a.kind == ValueKind::Int && b.kind == ValueKind::Int) {
        uint64_t x = static_cast<uint64_t>(a.i), y = static_cast<uint64_t>(b.i);
        switch (e.bop) {
            case BinaryOp::Add: return Value::integer(static_cast<int64_t>(x + y));
            case BinaryOp::Sub: return Value::integer(static_cast<int64_t>(x - y));
            case BinaryOp::Mul: return Value::integer(static_cast<int64_t>(x * y));
            case BinaryOp::Div:
                if (b.i == 0) return Value::integer(0);
                if (a.i == INT64_MIN && b.i == -1) return Value::integer(INT64_MIN);
                return Value::integer(a.i / b.i);
            default: return Value::null();
        }
    }
    double x = a.kind == ValueKind::Int ? static_cast<double>(a.i) : a.f;
    double y = b.kind == ValueKind::Int ? static_cast<double>(b.i) : b.f;
    switch (e.bop) {
        case BinaryOp::Add: return Value::floating(x + y);
        case BinaryOp::Sub: return Value::floating(x - y);
        case BinaryOp::Mul: return Value::floating(x * y);
        case BinaryOp::Div: return Value::floating(y == 0.0 ? NAN : x / y);
        default: return Value::null();
    }
}

bool fold_aggregate(const ir::Operator& op, const Value* rows, size_t count, size_t width, int64_t last_ts,
                    const AggregateKernel& kernel, EvalContext& ctx, Arena& scratch, const StrObj* result_type,
                    std::vector<Row>& out) {
    std::string key;
    if (op.partition_slot >= 0) {
        const size_t ps = static_cast<size_t>(op.partition_slot);
        std::string ka, kb;
        for (size_t i = 1; i < count; ++i)
            if (!same_group_key(rows[ps], rows[i * width + ps], ka, kb)) return false;
        append_partition_key(key, rows[ps]);
    }
    const size_t ncalls = op.calls.size();
    auto* accs = scratch.allocate_array<CallAcc>(ncalls + 1);
    auto* sets = scratch.allocate_array<void*>(ncalls + 1);
    // Only count_distinct calls have a set; one window rarely has more than one of them.
    DistinctSet one_set;
    std::vector<DistinctSet> more_sets;
    size_t distinct = 0;
    for (const auto& call : op.calls) distinct += call.fn == AggregateFn::CountDistinct ? 1 : 0;
    if (distinct > 1) more_sets.resize(distinct);
    size_t next_set = 0;
    for (size_t c = 0; c < ncalls; ++c) {
        const ir::AggregateCall& call = op.calls[c];
        double k = 0;
        if (call.fn == AggregateFn::Ema) {
            // codegen::compiles_fold: the period is absent or a constant, so no row is needed.
            Value p = call.period ? eval(*call.period, ctx) : Value::absent();
            k = ema_factor(&p);
        }
        acc_reset(call.fn, accs[c], k);
        sets[c] = nullptr;
        if (call.fn == AggregateFn::CountDistinct) sets[c] = distinct > 1 ? &more_sets[next_set++] : &one_set;
    }
    KernelContext kc{&ctx, kernel.nodes, kernel.consts};
    kernel.fold(rows, count, width, accs, sets, &kc);

    const size_t out_width = ctx.rt->plan->schemas[static_cast<size_t>(op.out)].fields.size();
    Value* results = scratch.allocate_array<Value>(ncalls + 1);
    for (size_t c = 0; c < ncalls; ++c) {
        switch (op.calls[c].fn) {
            case AggregateFn::Count: results[c] = Value::integer(static_cast<int64_t>(count)); break;
            case AggregateFn::CountDistinct:
                results[c] = Value::integer(static_cast<int64_t>(static_cast<DistinctSet*>(sets[c])->size()));
                break;
            default: results[c] = acc_result(op.calls[c].fn, accs[c]); break;
        }
    }
    Value* slots = scratch.allocate_array<Value>(out_width + 1);
    size_t k = 0;
    if (op.partition_slot >= 0) slots[k++] = Value::string(ctx.rt->interner->intern(key));
    for (const auto& item : op.aggregates) slots[k++] = combine_aggregate(*item.combine, results);
    for (; k < out_width; ++k) slots[k] = Value::absent();
    out.push_back(Row{slots, op.out, last_ts, result_type, nullptr, 0});
    return true;
}

void run_aggregate(const ir::Operator& op, const Row* rows, size_t count, EvalContext& ctx, Arena& scratch,
                   const StrObj* result_type, std::vector<Row>& out, const AggregateKernel* kernel) {
    if (count == 0) return;
    const size_t width = ctx.rt->plan->schemas[static_cast<size_t>(op.out)].fields.size();
    // Groups as member lists in scratch: one group (all rows) unless the aggregate is
    // partitioned and the batch mixes keys, which a partitioned window's batch never does
    // (except key "default", SEMANTICS §6.5 vs §7.1).
    auto* order = scratch.allocate_array<uint32_t>(count);
    for (size_t i = 0; i < count; ++i) order[i] = static_cast<uint32_t>(i);
    // (begin, size) in `order` per group, and each group's key text.
    std::pair<uint32_t, uint32_t> one_span{0, static_cast<uint32_t>(count)};
    std::string one_key;
    const std::pair<uint32_t, uint32_t>* spans = &one_span;
    const std::string* keys = &one_key;
    size_t nspans = 1;
    std::vector<std::pair<uint32_t, uint32_t>> many_spans;
    std::vector<std::string> many_keys;
    if (op.partition_slot >= 0) {
        const size_t ps = static_cast<size_t>(op.partition_slot);
        std::string ka, kb;
        size_t i = 1;
        while (i < count && same_group_key(rows[0].slots[ps], rows[i].slots[ps], ka, kb)) ++i;
        if (i == count) {
            append_partition_key(one_key, rows[0].slots[ps]);
        } else {
            std::unordered_map<std::string, size_t> index;
            std::vector<std::vector<uint32_t>> groups;
            std::string key;
            for (size_t r = 0; r < count; ++r) {
                key.clear();
                append_partition_key(key, rows[r].slots[ps]);
                auto [it, fresh] = index.emplace(key, groups.size());
                if (fresh) {
                    groups.emplace_back();
                    many_keys.push_back(key);
                }
                groups[it->second].push_back(static_cast<uint32_t>(r));
            }
            uint32_t at = 0;
            for (const auto& g : groups) {
                many_spans.emplace_back(at, static_cast<uint32_t>(g.size()));
                for (uint32_t m : g) order[at++] = m;
            }
            spans = many_spans.data();
            keys = many_keys.data();
            nspans = many_spans.size();
        }
    }
    const Row* saved_row = ctx.row;
    const size_t ncalls = op.calls.size();
    Value* args = nullptr;
    if (kernel && kernel->args && ncalls > 0) {
        // Row-major: each row's arguments side by side, as the kernel writes them.
        args = scratch.allocate_array<Value>(count * ncalls);
        for (size_t i = 0; i < count; ++i) {
            ctx.row = &rows[i];
            ctx.now_ms = rows[i].ts;
            ctx.has_now = true;
            KernelContext kc{&ctx, kernel->nodes, kernel->consts};
            kernel->args(rows[i].slots, args + i * ncalls, &kc);
        }
    }
    Value* results = scratch.allocate_array<Value>(ncalls + 1);
    for (size_t g = 0; g < nspans; ++g) {
        const uint32_t* members = order + spans[g].first;
        const size_t n = spans[g].second;
        for (size_t c = 0; c < ncalls; ++c)
            results[c] = compute_call(op.calls[c], rows, members, n, ctx, args ? args + c : nullptr, ncalls);
        Value* slots = scratch.allocate_array<Value>(width);
        size_t k = 0;
        // Interned: a partition's key is the same text on every window it closes.
        if (op.partition_slot >= 0) slots[k++] = Value::string(ctx.rt->interner->intern(keys[g]));
        for (const auto& item : op.aggregates) slots[k++] = combine_aggregate(*item.combine, results);
        for (; k < width; ++k) slots[k] = Value::absent();
        Row r;
        r.slots = slots;
        r.schema = op.out;
        r.ts = rows[members[n - 1]].ts;
        r.type = result_type;
        out.push_back(r);
    }
    ctx.row = saved_row;
}

}  // namespace varpulis::runtime
