#pragma once
// `.aggregate(...)` over a batch of rows (SEMANTICS §7).

#include <unordered_set>
#include <vector>

#include "ir/plan.hpp"
#include "runtime/abi.hpp"
#include "runtime/eval.hpp"
#include "runtime/row.hpp"
#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

/// Compiled arguments of an aggregate (KernelTable: the Aggregate operator's `project`): the
/// kernel writes the argument of every call for one row; `nodes` and `consts` complete its
/// KernelContext. `fold`: the window before it folds its kept rows itself (fold_aggregate).
struct AggregateKernel {
    ProjectKernel args = nullptr;
    const ir::Expr* const* nodes = nullptr;
    const Value* consts = nullptr;
    FoldKernel fold = nullptr;
};

/// count(distinct(x)): the present values of a group, equal as values_equal says.
struct DistinctKey {
    Value v;
    bool operator==(const DistinctKey& o) const { return values_equal(v, o.v); }
};
struct DistinctHash {
    size_t operator()(const DistinctKey& k) const { return static_cast<size_t>(hash_value(k.v)); }
};
using DistinctSet = std::unordered_set<DistinctKey, DistinctHash>;

/// Computes the aggregate items of `op` over `rows` (all of schema op.in) and writes one
/// result per group into `out` (schema op.out): one group, or one per partition key in order
/// of first appearance with `_partition` as first field. Slot arrays come from `scratch`.
/// With `kernel`, call arguments come from compiled code instead of the interpreter.
/// `aggA op aggB` (SEMANTICS §7.2) over the calls' results: an item's combine tree
/// (AggregateItem::combine) with `results[c]` the value of call c.
Value combine_aggregate(const ir::Expr& e, const Value* results);

/// run_aggregate() over a closed window's rows as the window keeps them (`count` >= 1 rows
/// of `width` Values side by side, the last one at time `last_ts`), the calls folded by
/// `kernel.fold` (runtime/abi.hpp FoldKernel). Results equal run_aggregate's. false, with
/// nothing written, when the rows fall into several aggregate groups (only a partitioned
/// window of key "default" mixes keys, SEMANTICS §6.5 vs §7.1): the caller then runs
/// run_aggregate on Row copies.
bool fold_aggregate(const ir::Operator& op, const Value* rows, size_t count, size_t width, int64_t last_ts,
                    const AggregateKernel& kernel, EvalContext& ctx, Arena& scratch, const StrObj* result_type,
                    std::vector<Row>& out);

void run_aggregate(const ir::Operator& op, const Row* rows, size_t count, EvalContext& ctx, Arena& scratch,
                   const StrObj* result_type, std::vector<Row>& out, const AggregateKernel* kernel = nullptr);

}  // namespace varpulis::runtime
