#pragma once
// SASE+ pattern matcher: one instance per Sequence operator (SEMANTICS §9).
//
// Runs (partial matches) live per partition key in vectors, oldest first. Events bound by a
// run are copied once into a reference-counted event store shared by every run that binds
// them, so a plain `A -> B` allocates nothing per event once the store and the run vectors
// are warm. The three selection strategies of §9.10 are supported; skip_till_any_match
// enumerates its runs explicitly (each branch is a run) with the caps of §9.10.
//
// Sequences under the default strategy (skip_till_next_match) keep their runs in a slab of
// stable slots instead: a run whose next step is a plain step with a top-level conjunct
// `field == alias.f` (alias bound earlier) waits in a hash index keyed by the alias value
// (hash_value / values_equal, so 1 and 1.0 meet), and an event of that step's type only looks
// at the runs of its own field value; other runs wait in a per-partition scan list. Lists
// are kept in creation order and merged per event, expiry uses per-run deadlines, so outputs,
// their order, caps and drop counts are those of the plain scan.
//
// skip_till_any_match linear sequences keep compact runs instead (nodes shared by the runs
// that advance alike; see the Impl). For the shape
// SEQ(T as first, T+ where x > first.y as rising, T where x > rising.x ...) (or >=, <, <=, the
// operands in either order) each partition also keeps its roots sorted by first.y: a root
// whose first.y fails `x > first.y` for the event cannot advance, and neither can its Kleene
// nodes (each bound rising.x > first.y >= x), so the scan visits only the roots in the
// passing range of that order and their nodes. It applies when the compared values are all
// ints or all floats (NaN roots and roots that saw another kind are visited every event), and
// only the numbering of new nodes changes: matches, their order, caps and drops are the same.
//
// Step predicates that are conjunctions of comparisons between event fields, alias fields and
// constants are tested in flat form (pattern_pred.hpp) on the stored bindings, without loading
// alias rows or calling the evaluator or a kernel; the verdicts are eval_condition's.
//
// Notes:
// * Stored events copy the slot array only; strings, arrays and maps are referenced, relying
//   on the row.hpp contract that their arenas outlive the operator.
// * Partitions (key → runs) are kept once created, even when empty.
// * §9.4 (d) subset enumeration applies to the first middle Kleene step whose `where` reads
//   its own alias; any further such step is evaluated eagerly (own alias = previous event).

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

class PatternMatcher {
public:
    /// Caps of §9.2 / §9.10.
    static constexpr size_t kMaxRuns = 10000;            // default / strict: live runs per partition
    static constexpr uint32_t kMaxKleene = 20;           // default / strict: events per middle/first Kleene step
    static constexpr size_t kMaxMatchesPerEvent = 10000; // deferred subsets per completion; any-match per event
    static constexpr size_t kMaxAnyRuns = 100000;        // skip_till_any_match: live runs per partition

    PatternMatcher(Runtime& rt, const ir::StreamPlan& stream, const ir::Operator& op);
    ~PatternMatcher();
    PatternMatcher(const PatternMatcher&) = delete;
    PatternMatcher& operator=(const PatternMatcher&) = delete;

    /// Every event routed to the stream (its slots follow plan.schemas[row.schema]). Appends
    /// completed match rows (schema op.out, type "SequenceMatch") to `out` in the order of
    /// §9.11; their slot arrays are allocated from `scratch`.
    void on_event(const Row& row, std::vector<Row>& out, Arena& scratch);

    /// Whether the engine may skip events that no step takes (step_verdicts(row) == 0):
    /// in stack mode such an event changes nothing but when expired runs are dropped, which
    /// the next event that is taken does first (no output depends on it; live_runs() may
    /// count runs past their deadline until then).
    bool prefilters() const;
    /// The steps `row` qualifies for (bit s); to be passed to on_event when not 0. Only
    /// when prefilters().
    uint64_t step_verdicts(const Row& row);
    /// on_event with the verdicts step_verdicts gave for `row` (not 0; only when prefilters()).
    void on_event(const Row& row, std::vector<Row>& out, Arena& scratch, uint64_t verdicts);

    /// A batch of rows as the engine lays them out (EventBatch), for scan().
    struct Rows {
        const int32_t* schemas = nullptr;
        const int64_t* ts = nullptr;
        const Value* values = nullptr;
        const uint32_t* widths = nullptr;       // per schema: slots per row
        const uint8_t* routed = nullptr;        // per schema: 1 when its rows come here alone
        size_t n_schemas = 0;
        const StrObj* const* types = nullptr;   // per schema: the event type
        const Field* const* raw = nullptr;      // per row, or null
        const uint32_t* raw_count = nullptr;    // per row, or null
    };
    /// Where scan() puts the rows some step takes (runtime/abi.hpp SeqTaken: the row, its first
    /// slot, its verdicts, the time of the rows skipped before it), at most `cap`.
    struct ScanBuffer {
        SeqTaken* taken = nullptr;
        size_t cap = 0;
        size_t n = 0;
        int64_t tail_skipped = 0;   // the time of the rows skipped after the last taken one
    };
    /// step_verdicts over rows [i, end) (`offset`: the first slot of row i, moved along): the
    /// rows some step takes go to `buf`, the others only raise a skipped time; stops after
    /// `buf.cap` taken rows, at `end` or at a row not routed here (returned). Only when
    /// prefilters(). One call for the runs of rows most events are, in place of a
    /// step_verdicts call each. Nothing changes until the taken rows go to on_taken in order
    /// and then skipped_until(buf.tail_skipped); stopping after any of them (and scanning
    /// again from the row after it) is fine.
    size_t scan(const Rows& rows, size_t i, size_t end, size_t& offset, ScanBuffer& buf);
    /// on_event for a row scan() took.
    void on_taken(const Row& row, std::vector<Row>& out, Arena& scratch, const SeqTaken& t);
    /// Where the matches of stack-mode completions go one at a time, as they are found, in
    /// place of `out` (the engine runs its compiled tail chain on each): `fn(ctx, row)`, the
    /// row valid during the call only. Other matches still go to `out`. Null: all to `out`.
    struct MatchSink {
        void (*fn)(void* ctx, const Row& row) = nullptr;
        void* ctx = nullptr;
    };
    void set_match_sink(const MatchSink* sink);
    /// After the last taken row of a scan: the skipped rows after it expire runs at the next event.
    void skipped_until(int64_t t);

    /// Compiled step predicates (KernelTable OpKernels::steps; nullptr: interpret them all).
    /// `nodes` and `consts` complete their KernelContext and must stay valid until replaced.
    void set_step_kernels(const std::vector<FilterKernel>* steps, const ir::Expr* const* nodes, const Value* consts);

    /// Compiled NFA transitions (KernelTable OpKernels::trans, runtime/abi.hpp SeqTransKernel;
    /// nullptr: the matcher's own decision loops). Used by every path: the default and strict
    /// strategies (runs, advance, start, negations), And/Or, and skip_till_any_match (plain
    /// runs, branching conjunctions and the compact DAG's node tests, whose verdict caches
    /// stay runtime state); `nodes` and `consts` complete
    /// its KernelContext and must stay valid until replaced.
    /// `tests` (KernelTable OpKernels::tests, may be null): per step, the kSeqTest mode alone,
    /// called in place of `trans` for it; must stay valid until replaced.
    void set_trans_kernel(SeqTransKernel trans, const ir::Expr* const* nodes, const Value* consts,
                          const std::vector<SeqTransKernel>* tests = nullptr);
    bool has_trans_kernel() const;
    /// Compiled scan() loop (KernelTable OpKernels::scan; nullptr: scan's own loop), with the
    /// KernelContext set_trans_kernel gave; used in stack mode only.
    void set_scan_kernel(SeqScanKernel scan);
    /// Tests: calls of the transition kernel so far.
    uint64_t trans_calls() const;

    /// Tests: whether matchers built from now on may keep skip_till_any_match runs in the
    /// compact form (default true); false gives the plain run lists to compare against.
    static void set_compact_any_match(bool on);

    /// Tests: whether the compact form may use its stack mode (patterns whose predicates read
    /// no alias; default true); false keeps the node DAG, to compare against.
    static void set_stack_any_match(bool on);

    /// Tests: whether matchers built from now on may advance the runs of a single index
    /// bucket (or a single scan-list run) by walking the list in place (default true); false
    /// always collects and merges the candidates, the general path to compare against.
    static void set_indexed_list_walk(bool on);

    /// Tests: whether matchers built from now on may complete a run whose last step ends it
    /// without copying the event into the store (the match row reads it in place; default
    /// true); false always takes the event first, the general path to compare against.
    static void set_finish_in_place(bool on);

    /// Tests: whether matchers built from now on may, in the indexed mode, leave predicates
    /// untested where none is left: a start whose step has no predicate (the event's type
    /// decides), a run found in the bucket of a step whose whole predicate is the bucket's
    /// equality (default true); false tests them as any other, the path to compare against.
    static void set_indexed_shortcuts(bool on);

    /// Runs not started, absorptions ignored and matches not reported because of a cap (§9.2).
    uint64_t dropped() const;

    /// Live runs over all partitions (for tests and metrics).
    size_t live_runs() const;
    /// How skip_till_any_match runs are kept: "stacks", "dag" (the compact forms), or
    /// "runs" (plain run lists; also every other strategy).
    const char* any_match_form() const;

    /// Checkpoints: partitions, live runs with their bindings, the events they bind (each
    /// once), pending expiries and the counters. Indexes are rebuilt by load(), which expects
    /// a freshly built matcher and returns false (reader failed) on bad or inconsistent data.
    void save(CheckpointWriter& w) const;
    bool load(CheckpointReader& r);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace varpulis::runtime
