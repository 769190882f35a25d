#include "runtime/abi.hpp"

#include "runtime/aggregate.hpp"
#include "runtime/eval.hpp"
#include "runtime/value_ops.hpp"

using varpulis::runtime::EvalContext;
using varpulis::runtime::KernelContext;
using varpulis::runtime::OpRun;
using varpulis::runtime::Row;
using varpulis::runtime::Value;

namespace {

EvalContext& eval_context(void* ctx) { return *static_cast<KernelContext*>(ctx)->eval; }

}  // namespace

extern "C" {

void vp_eval_fallback(const void* ir_expr, const Value* row_slots, void* ctx, Value* out) noexcept {
    try {
        auto* kc = static_cast<KernelContext*>(ctx);
        const auto& e = *static_cast<const varpulis::ir::Expr*>(ir_expr);
        if (kc->locals) {
            // Inside a compiled function body: the interpreter sees the generated frame.
            EvalContext inner = *kc->eval;
            inner.locals = kc->locals;
            *out = varpulis::runtime::eval(e, inner);
            return;
        }
        EvalContext& c = *kc->eval;
        if (c.row && c.row->slots == row_slots) {
            *out = varpulis::runtime::eval(e, c);
            return;
        }
        // Called on a row other than the context's (tests drive kernels on bare slot arrays).
        Row row;
        if (c.row) row = *c.row;
        row.slots = row_slots;
        EvalContext inner = c;
        inner.row = &row;
        *out = varpulis::runtime::eval(e, inner);
    } catch (...) {
        // Only allocation failure can get here; no exception may unwind through a JIT frame.
        *out = Value::absent();
    }
}

void vp_binary_op(int32_t op, const Value* a, const Value* b, void* ctx, Value* out) noexcept {
    try {
        *out = varpulis::runtime::binary_op(static_cast<varpulis::frontend::BinaryOp>(op), *a, *b,
                                            *eval_context(ctx).rt->heap);
    } catch (...) {
        *out = Value::absent();
    }
}

int32_t vp_compare_int_float(int64_t i, double f) noexcept { return varpulis::runtime::compare_int_float(i, f); }

void vp_unary_op(int32_t op, const Value* a, Value* out) noexcept {
    *out = varpulis::runtime::unary_op(static_cast<varpulis::frontend::UnaryOp>(op), *a);
}

void vp_load_global(int32_t index, void* ctx, Value* out) noexcept {
    const auto& g = eval_context(ctx).rt->globals;
    *out = index >= 0 && static_cast<size_t>(index) < g.size() ? g[static_cast<size_t>(index)] : Value::absent();
}

int32_t vp_condition(const Value* v) noexcept {
    return v->kind == varpulis::runtime::ValueKind::Bool && v->b ? 1 : 0;
}

int32_t vp_op_print(void* ctx, const Value* values, uint32_t n) noexcept {
    OpRun* op = static_cast<KernelContext*>(ctx)->op;
    return op ? op->print(op, values, n) : 0;
}

int32_t vp_op_send(void* ctx) noexcept {
    OpRun* op = static_cast<KernelContext*>(ctx)->op;
    return op ? op->send(op) : 0;
}

int32_t vp_op_distinct(void* ctx, const Value* key) noexcept {
    OpRun* op = static_cast<KernelContext*>(ctx)->op;
    return op ? op->distinct(op, key) : 0;
}

int32_t vp_op_emit(void* ctx, uint32_t index, const Value* values) noexcept {
    OpRun* op = static_cast<KernelContext*>(ctx)->op;
    return op ? op->emit(op, index, values) : 0;
}

void vp_store_global(int32_t index, void* ctx, const Value* v) noexcept {
    auto& g = eval_context(ctx).rt->globals;
    if (index >= 0 && static_cast<size_t>(index) < g.size()) g[static_cast<size_t>(index)] = *v;
}

void vp_fold_distinct(void* set, const Value* v) noexcept {
    if (!set || !v->present()) return;
    try {
        static_cast<varpulis::runtime::DistinctSet*>(set)->insert(varpulis::runtime::DistinctKey{*v});
    } catch (...) {
        // Allocation failure: the value goes uncounted (no exception may unwind through a JIT frame).
    }
}

int32_t vp_for_item(void* ctx, const Value* it, uint64_t i, Value* out) noexcept {
    using varpulis::runtime::ValueKind;
    try {
        if (it->kind == ValueKind::Array) {
            if (i >= it->a->size) return 0;
            *out = it->a->items[i];
            return 1;
        }
        if (it->kind == ValueKind::Map) {
            if (i >= it->m->size) return 0;
            varpulis::runtime::ArrayObj* pair = eval_context(ctx).rt->heap->make_array(2);
            pair->items[0] = Value::string(it->m->keys[i]);
            pair->items[1] = it->m->values[i];
            *out = Value::array(pair);
            return 1;
        }
    } catch (...) {
        // Allocation failure: the loop ends (no exception may unwind through a JIT frame).
    }
    return 0;
}

}  // extern "C"

namespace varpulis::runtime {

const AbiSymbol* abi_symbols(size_t& count) {
    static const AbiSymbol kSymbols[] = {
        {"vp_eval_fallback", reinterpret_cast<const void*>(&vp_eval_fallback)},
        {"vp_binary_op", reinterpret_cast<const void*>(&vp_binary_op)},
        {"vp_unary_op", reinterpret_cast<const void*>(&vp_unary_op)},
        {"vp_compare_int_float", reinterpret_cast<const void*>(&vp_compare_int_float)},
        {"vp_load_global", reinterpret_cast<const void*>(&vp_load_global)},
        {"vp_condition", reinterpret_cast<const void*>(&vp_condition)},
        {"vp_op_print", reinterpret_cast<const void*>(&vp_op_print)},
        {"vp_op_send", reinterpret_cast<const void*>(&vp_op_send)},
        {"vp_op_distinct", reinterpret_cast<const void*>(&vp_op_distinct)},
        {"vp_op_emit", reinterpret_cast<const void*>(&vp_op_emit)},
        {"vp_store_global", reinterpret_cast<const void*>(&vp_store_global)},
        {"vp_for_item", reinterpret_cast<const void*>(&vp_for_item)},
        {"vp_fold_distinct", reinterpret_cast<const void*>(&vp_fold_distinct)},
    };
    count = sizeof kSymbols / sizeof kSymbols[0];
    return kSymbols;
}

}  // namespace varpulis::runtime
