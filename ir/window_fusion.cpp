#include "ir/window_fusion.hpp"

namespace varpulis::ir {

namespace {

/// Same value whenever it is evaluated on the same row (see window_fuses).
bool stable(const Plan& plan, const Expr* e, bool allow_now) {
    if (!e) return true;
    auto is_var = [&](int32_t g) {
        return g >= 0 && (static_cast<size_t>(g) >= plan.globals.size() || plan.globals[static_cast<size_t>(g)].is_mutable);
    };
    switch (e->op) {
        case ExprOp::Field:
        case ExprOp::Global:
            if (is_var(e->index)) return false;
            break;
        case ExprOp::Call:
            if (e->fn == frontend::Builtin::Uuid) return false;
            if (e->fn == frontend::Builtin::Now && !allow_now) return false;
            break;
        case ExprOp::CallUser:
        case ExprOp::Method:
        case ExprOp::Lambda:
        case ExprOp::AliasField:
        case ExprOp::AliasLen:
            return false;
        default:
            break;
    }
    for (const auto& a : e->args)
        if (!stable(plan, a.get(), allow_now)) return false;
    return true;
}

}  // namespace

bool window_fuses(const Plan& plan, const Operator& window, const Operator& aggregate) {
    using frontend::AggregateFn;
    if (window.kind != OpKind::Window || aggregate.kind != OpKind::Aggregate) return false;
    const Window& w = window.window;
    if (w.kind != WindowKind::Count && w.kind != WindowKind::Tumbling && w.kind != WindowKind::Session) return false;
    if (aggregate.in != window.out && aggregate.in != window.in) return false;
    // A different aggregate key would split a window into many groups; not worth a fast path.
    if (aggregate.partition_slot >= 0 && aggregate.partition_slot != w.partition_slot) return false;
    for (const auto& c : aggregate.calls) {
        if (c.fn == AggregateFn::CountDistinct) return false;
        if (!stable(plan, c.arg.get(), true) || !stable(plan, c.period.get(), false)) return false;
    }
    return true;
}

bool window_fuses_per_event(const Plan& plan, const Operator& window, const Operator& aggregate) {
    if (!window_fuses(plan, window, aggregate)) return false;
    for (const auto& c : aggregate.calls)
        if (c.fn == frontend::AggregateFn::Last && c.arg && c.arg->op != ExprOp::Field && c.arg->op != ExprOp::Const)
            return false;
    return true;
}

}  // namespace varpulis::ir
