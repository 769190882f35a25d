#include "runtime/aggregate.hpp"

#include <cmath>
#include <string>
#include <unordered_map>

#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

namespace {

using frontend::AggregateFn;
using frontend::BinaryOp;

/// Numeric value of `v` for sum/avg/min/max/stddev/ema: ints widen, NaN and non-numbers skip.
bool numeric_input(const Value& v, double& out) {
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

struct DistinctKey {
    Value v;
    bool operator==(const DistinctKey& o) const { return values_equal(v, o.v); }
};
struct DistinctHash {
    size_t operator()(const DistinctKey& k) const { return static_cast<size_t>(hash_value(k.v)); }
};

/// `args`: when compiled code computed the call arguments, row i's argument of this call is
/// args[i * stride]; otherwise the interpreter evaluates it on demand.
Value compute_call(const ir::AggregateCall& call, const Row* rows, const std::vector<size_t>& members,
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
            return Value::integer(static_cast<int64_t>(members.size()));
        case AggregateFn::Sum:
        case AggregateFn::Avg:
        case AggregateFn::Min:
        case AggregateFn::Max:
        case AggregateFn::Stddev: {
            double sum = 0, lo = INFINITY, hi = -INFINITY, mean = 0, m2 = 0;
            int64_t n = 0;
            for (size_t idx : members) {
                double x;
                if (!numeric_input(arg_of(idx), x)) continue;
                ++n;
                sum += x;
                lo = std::min(lo, x);
                hi = std::max(hi, x);
                double d = x - mean;  // Welford
                mean += d / static_cast<double>(n);
                m2 += d * (x - mean);
            }
            switch (call.fn) {
                case AggregateFn::Sum: return Value::floating(sum);
                case AggregateFn::Avg: return n ? Value::floating(sum / static_cast<double>(n)) : Value::null();
                case AggregateFn::Min: return n ? Value::floating(lo) : Value::null();
                case AggregateFn::Max: return n ? Value::floating(hi) : Value::null();
                default: return n >= 2 ? Value::floating(std::sqrt(m2 / static_cast<double>(n - 1))) : Value::null();
            }
        }
        case AggregateFn::First:
        case AggregateFn::Last: {
            if (members.empty()) return Value::null();
            Value v = arg_of(call.fn == AggregateFn::First ? members.front() : members.back());
            return v.present() ? v : Value::null();
        }
        case AggregateFn::CountDistinct: {
            std::unordered_map<DistinctKey, bool, DistinctHash> seen;
            for (size_t idx : members) {
                Value v = arg_of(idx);
                if (v.present()) seen.emplace(DistinctKey{v}, true);
            }
            return Value::integer(static_cast<int64_t>(seen.size()));
        }
        case AggregateFn::Ema: {
            double period = 1;
            if (call.period && !members.empty()) {
                ctx.row = &rows[members.front()];
                Value p = eval(*call.period, ctx);
                double pv;
                if (numeric_input(p, pv)) period = pv;
            }
            if (period < 1) period = 1;
            double k = 2.0 / (period + 1.0), e = 0;
            bool seeded = false;
            for (size_t idx : members) {
                double x;
                if (!numeric_input(arg_of(idx), x)) continue;
                e = seeded ? k * x + (1 - k) * e : x;
                seeded = true;
            }
            return seeded ? Value::floating(e) : Value::null();
        }
    }
    return Value::null();
}

/// `aggA op aggB` (SEMANTICS §7.2): int∘int → int (int ÷ 0 → 0), otherwise float
/// (float ÷ 0.0 → NaN); a null side gives null.
Value combine(const ir::Expr& e, const std::vector<Value>& results) {
    if (e.op == ir::ExprOp::Local) return results[static_cast<size_t>(e.index)];
    if (e.op == ir::ExprOp::Const) {
        if (e.lit.kind == ir::Kind::Int) return Value::integer(e.lit.i);
        if (e.lit.kind == ir::Kind::Float) return Value::floating(e.lit.f);
        return Value::null();
    }
    if (e.op != ir::ExprOp::Binary || e.args.size() != 2) return Value::null();
    Value a = combine(*e.args[0], results), b = combine(*e.args[1], results);
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

}  // namespace

void run_aggregate(const ir::Operator& op, const Row* rows, size_t count, EvalContext& ctx, Arena& scratch,
                   const StrObj* result_type, std::vector<Row>& out, const AggregateKernel* kernel) {
    if (count == 0) return;
    const size_t width = ctx.rt->plan->schemas[static_cast<size_t>(op.out)].fields.size();
    std::vector<std::vector<size_t>> groups;
    std::vector<std::string> keys;
    if (op.partition_slot >= 0) {
        std::unordered_map<std::string, size_t> index;
        std::string key;
        for (size_t i = 0; i < count; ++i) {
            key.clear();
            append_partition_key(key, rows[i].slots[op.partition_slot]);
            auto [it, fresh] = index.emplace(key, groups.size());
            if (fresh) {
                groups.emplace_back();
                keys.push_back(key);
            }
            groups[it->second].push_back(i);
        }
    } else {
        groups.emplace_back(count);
        for (size_t i = 0; i < count; ++i) groups[0][i] = i;
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
    std::vector<Value> results(ncalls);
    for (size_t g = 0; g < groups.size(); ++g) {
        for (size_t c = 0; c < ncalls; ++c)
            results[c] = compute_call(op.calls[c], rows, groups[g], ctx, args ? args + c : nullptr, ncalls);
        Value* slots = scratch.allocate_array<Value>(width);
        size_t k = 0;
        if (op.partition_slot >= 0) slots[k++] = Value::string(ctx.rt->heap->make_string(keys[g]));
        for (const auto& item : op.aggregates) slots[k++] = combine(*item.combine, results);
        for (; k < width; ++k) slots[k] = Value::absent();
        Row r;
        r.slots = slots;
        r.schema = op.out;
        r.ts = rows[groups[g].back()].ts;
        r.type = result_type;
        out.push_back(r);
    }
    ctx.row = saved_row;
}

}  // namespace varpulis::runtime
