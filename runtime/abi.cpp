#include "runtime/abi.hpp"

#include "runtime/eval.hpp"
#include "runtime/value_ops.hpp"

using varpulis::runtime::EvalContext;
using varpulis::runtime::KernelContext;
using varpulis::runtime::Row;
using varpulis::runtime::Value;

namespace {

EvalContext& eval_context(void* ctx) { return *static_cast<KernelContext*>(ctx)->eval; }

}  // namespace

extern "C" {

void vp_eval_fallback(const void* ir_expr, const Value* row_slots, void* ctx, Value* out) noexcept {
    try {
        EvalContext& c = eval_context(ctx);
        const auto& e = *static_cast<const varpulis::ir::Expr*>(ir_expr);
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

}  // extern "C"

namespace varpulis::runtime {

const AbiSymbol* abi_symbols(size_t& count) {
    static const AbiSymbol kSymbols[] = {
        {"vp_eval_fallback", reinterpret_cast<const void*>(&vp_eval_fallback)},
        {"vp_binary_op", reinterpret_cast<const void*>(&vp_binary_op)},
        {"vp_unary_op", reinterpret_cast<const void*>(&vp_unary_op)},
        {"vp_load_global", reinterpret_cast<const void*>(&vp_load_global)},
        {"vp_condition", reinterpret_cast<const void*>(&vp_condition)},
    };
    count = sizeof kSymbols / sizeof kSymbols[0];
    return kSymbols;
}

}  // namespace varpulis::runtime
