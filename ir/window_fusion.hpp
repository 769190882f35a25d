#pragma once
// Which window + aggregate pairs run as per-event accumulators instead of buffered rows
// (runtime/window_aggregate.hpp), and which of those generated code can feed
// (codegen type kernels). A plan-level decision both the engine and codegen must agree on.

#include "ir/plan.hpp"

namespace varpulis::ir {

/// Whether `window` (OpKind::Window) and the `aggregate` right after it fuse: a tumbling,
/// count or session window (sliding windows re-emit overlapping contents); the aggregate
/// unpartitioned or partitioned by the window's field; no count_distinct (it needs the set of
/// values); arguments that give the same value whenever they are evaluated (no user functions,
/// uuid(), methods, lambdas or `var` reads; ema periods also without now()), since they are
/// evaluated on arrival instead of when the window closes.
bool window_fuses(const Plan& plan, const Operator& window, const Operator& aggregate);

/// window_fuses(), and every call's input is an accumulator update, a first/last value or
/// count(): no `last(expr)` of a computed expression, which keeps a copy of the group's last
/// row for evaluation at close.
bool window_fuses_per_event(const Plan& plan, const Operator& window, const Operator& aggregate);

}  // namespace varpulis::ir
