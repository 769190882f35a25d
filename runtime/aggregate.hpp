#pragma once
// `.aggregate(...)` over a batch of rows (SEMANTICS §7).

#include <vector>

#include "ir/plan.hpp"
#include "runtime/abi.hpp"
#include "runtime/eval.hpp"
#include "runtime/row.hpp"

namespace varpulis::runtime {

/// Compiled arguments of an aggregate (KernelTable: the Aggregate operator's `project`): the
/// kernel writes the argument of every call for one row; `nodes` and `consts` complete its
/// KernelContext.
struct AggregateKernel {
    ProjectKernel args = nullptr;
    const ir::Expr* const* nodes = nullptr;
    const Value* consts = nullptr;
};

/// Computes the aggregate items of `op` over `rows` (all of schema op.in) and writes one
/// result per group into `out` (schema op.out): one group, or one per partition key in order
/// of first appearance with `_partition` as first field. Slot arrays come from `scratch`.
/// With `kernel`, call arguments come from compiled code instead of the interpreter.
/// `aggA op aggB` (SEMANTICS §7.2) over the calls' results: an item's combine tree
/// (AggregateItem::combine) with `results[c]` the value of call c.
Value combine_aggregate(const ir::Expr& e, const Value* results);

void run_aggregate(const ir::Operator& op, const Row* rows, size_t count, EvalContext& ctx, Arena& scratch,
                   const StrObj* result_type, std::vector<Row>& out, const AggregateKernel* kernel = nullptr);

}  // namespace varpulis::runtime
