#pragma once
// Trend aggregation with GRETA semantics (SEMANTICS §11.3): one instance per TrendAggregate
// operator.
//
// Per partition key a window opens at the first start-step event and covers [w, w + D]. Every
// event of the window becomes one GRETA vertex per step it qualifies for; a vertex carries the
// aggregates of every partial trend ending at it (count, per-item event counts, sums, min/max),
// computed from its predecessors. When no step predicate reads an alias, predecessors are
// summed per step in O(1); otherwise (adjacent-event predicates `alias.f`, which read the
// predecessor in the trend) the window keeps its vertices and each new vertex scans them.
// Integer results are exact (arbitrary precision additions) and become the nearest double
// when they do not fit in i64 (counted in overflows()).
//
// Not applied to trends: `.not(...)` / NOT items and `strategy` (trends are skip-till-any-match
// by definition). With adjacent predicates a window costs O(vertices²) predicate evaluations.

#include <cstdint>
#include <memory>
#include <vector>

#include "ir/plan.hpp"
#include "runtime/abi.hpp"
#include "runtime/arena.hpp"
#include "runtime/eval.hpp"
#include "runtime/row.hpp"

namespace varpulis::runtime {

class CheckpointReader;
class CheckpointWriter;

class TrendAggregator {
public:
    TrendAggregator(Runtime& rt, const ir::StreamPlan& stream, const ir::Operator& op);
    ~TrendAggregator();
    TrendAggregator(const TrendAggregator&) = delete;
    TrendAggregator& operator=(const TrendAggregator&) = delete;

    /// Every event routed to the stream. Appends the results of the windows this event closes
    /// (schema op.out, type "TrendAggregateResult").
    void on_event(const Row& row, std::vector<Row>& out, Arena& scratch);

    /// End of input: closes every open window, in the order the windows were opened (§15).
    void finish(std::vector<Row>& out, Arena& scratch);

    /// Compiled step predicates (KernelTable OpKernels::steps, by NFA step; nullptr or missing:
    /// interpreted), called with the predecessor bound to every alias as the interpreter sees
    /// it; `nodes` and `consts` are the engine's KernelContext tables. The vector must outlive
    /// its use (the engine's installed table); null detaches.
    void set_step_kernels(const std::vector<FilterKernel>* steps, const ir::Expr* const* nodes, const Value* consts);

    /// The compiled per-event update (runtime/abi.hpp TrendKernel; null detaches). While one is
    /// attached, open windows keep their counts in its flat layout; attaching and detaching
    /// convert them, so a swap carries every open window over.
    void set_trend_kernel(TrendKernel kernel);

    /// Item results that did not fit in i64 and were reported as floats (§11.3).
    uint64_t overflows() const;

    /// Checkpoints: every partition's window, totals and kept vertices, and the counters.
    /// load() expects a freshly built aggregator; false (reader failed) on bad data.
    void save(CheckpointWriter& w) const;
    bool load(CheckpointReader& r);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace varpulis::runtime
