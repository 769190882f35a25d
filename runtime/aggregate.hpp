#pragma once
// `.aggregate(...)` over a batch of rows (SEMANTICS §7).

#include <vector>

#include "ir/plan.hpp"
#include "runtime/eval.hpp"
#include "runtime/row.hpp"

namespace varpulis::runtime {

/// Computes the aggregate items of `op` over `rows` (all of schema op.in) and writes one
/// result per group into `out` (schema op.out): one group, or one per partition key in order
/// of first appearance with `_partition` as first field. Slot arrays come from `scratch`.
void run_aggregate(const ir::Operator& op, const Row* rows, size_t count, EvalContext& ctx, Arena& scratch,
                   const StrObj* result_type, std::vector<Row>& out);

}  // namespace varpulis::runtime
