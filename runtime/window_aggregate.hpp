#pragma once
// A window followed by `.aggregate` run as one operator: per partition, accumulators fed
// event by event (runtime/window_state.hpp) instead of a buffer of rows aggregated when the
// window closes. Results are bit-identical to buffering: every accumulator takes its inputs
// in arrival order through the same arithmetic as runtime/aggregate.cpp.

#include <cstdint>
#include <vector>

#include "ir/plan.hpp"
#include "ir/window_fusion.hpp"
#include "runtime/aggregate.hpp"
#include "runtime/arena.hpp"
#include "runtime/eval.hpp"
#include "runtime/row.hpp"
#include "runtime/window_state.hpp"

namespace varpulis::runtime {

class CheckpointReader;
class CheckpointWriter;

/// Whether engines fuse eligible window + aggregate pairs (default on; the environment
/// variable VARPULIS_WINDOW_FUSION=0 turns it off). Read when an engine builds its streams;
/// tests flip it to compare both paths.
bool window_fusion_enabled();
void set_window_fusion(bool on);

/// Tumbling, count and session windows (SEMANTICS §6.1, §6.3, §6.6, partitioned per §6.5)
/// feeding an aggregate (§7) whose functions all update per event: the pairs
/// ir::window_fuses() accepts. Not thread-safe; one per stream operator.
class WindowAggregate {
public:
    /// `rt` (plan, heap, interner) must outlive the operator; `window` and `aggregate` point
    /// into rt.plan. Results are rows of schema aggregate.out with type `result_type`.
    WindowAggregate(Runtime& rt, const ir::Operator& window, const ir::Operator& aggregate,
                    const StrObj* result_type);

    /// Adds `row` (schema window.in). When a window closes, appends its results (one row per
    /// group, in order of first appearance; slots in `scratch`) to `out`. With `kernel`, call
    /// arguments come from compiled code.
    void push(const Row& row, const AggregateKernel* kernel, Arena& scratch, std::vector<Row>& out);

    /// push() split for generated code: closes what `row`'s arrival closes first (tumbling
    /// bounds, session gaps; results appended to `out` as push() would), then opens or finds
    /// `row`'s group and returns where its inputs go. The caller updates the accumulators,
    /// increments the group's and the partition's count, and calls close_full() for a count
    /// window. Results equal push()'s: the closed windows' rows hold values, not references
    /// into the groups reused for `row`.
    WindowCursor* enter(const Row& row, Arena& scratch, std::vector<Row>& out);

    /// enter() when the event closes nothing and joins a group that is already open in a
    /// known partition (the common case), without a Row; nullptr otherwise (then call enter()).
    /// `slots` is the window's input row, `ts` its time.
    WindowCursor* enter_open(const Value* slots, int64_t ts);

    /// Count windows, after enter() and the caller's updates: closes the entered partition's
    /// window (access().cursor.part) when it holds the window's size.
    void close_full(Arena& scratch, std::vector<Row>& out);

    /// The state generated code reads and updates directly (runtime/window_state.hpp); the
    /// pointer stays valid for the operator's life, its members change as the state grows.
    WindowAccess* access() { return &access_; }

    /// End of input: session windows hand over their open sessions' results, one batch per
    /// partition in order of first appearance; other kinds keep theirs (SEMANTICS §6).
    void finish(Arena& scratch, std::vector<std::vector<Row>>& batches);

    /// Checkpoints: partitions in order of first appearance with their key, window bounds and
    /// accumulators. load() expects a freshly built operator; it also reads the row format of
    /// WindowOperator::save (the same window not fused), replaying the rows. false on bad data.
    void save(CheckpointWriter& w) const;
    bool load(CheckpointReader& r);

private:
    /// How a call consumes its argument.
    enum class Feed : uint8_t {
        None,     // count(): the group's count
        Number,   // every event's argument into acc_add
        First,    // the first event's argument
        Last,     // every event's argument, the last one kept (a field read or constant)
        LastRow,  // the argument of the group's last event, evaluated at close from a copy of
                  // that row: computed values (strings, arrays) are made once per window
    };
    struct Call {
        const ir::AggregateCall* call;
        frontend::AggregateFn fn;
        Feed feed;
    };
    /// The group's last row (Feed::LastRow): slots in last_slots_ at group * in_width_.
    struct RowMeta {
        int64_t ts;
        const StrObj* type;
        const Field* raw;
        uint32_t raw_count;
        int32_t schema;
    };

    uint32_t new_partition(std::string_view key);
    /// Points access_ at the storage again after a vector grew.
    void sync_access();
    /// The partition of string key `s` by its address (access_.keys), or PartitionIndex::kNotFound.
    uint32_t cached_partition(const StrObj* s) const;
    /// Grows access_.keys (emptied) to fit the partitions.
    void size_key_cache();
    /// Remembers that `s` is the key of partition `pi`.
    void cache_key(const StrObj* s, uint32_t pi);
    /// The partition of `row` (the only one when unpartitioned), made on first sight.
    WindowPartition& partition_of(const Row& row);
    /// Whether an event at time `t` closes `p`'s open window before joining it (tumbling
    /// bound passed, session gap exceeded).
    bool closes(const WindowPartition& p, int64_t t) const;
    /// Closes what an event at time `t` closes before it joins `p`; starts a tumbling window.
    void close_before(WindowPartition& p, int64_t t, Arena& scratch, std::vector<Row>& out);
    /// The open group of `slots`' key presence (the aggregate key there or not), or kNoGroup.
    uint32_t find_group(const WindowPartition& p, const Value* slots) const;
    /// find_group(), opened on `row` when there is none.
    uint32_t group_of(WindowPartition& p, const Row& row);
    /// Group `g` of `p` joined by an event at `ts`: time-stamped, as enter()'s answer.
    WindowCursor* cursor_at(WindowPartition& p, uint32_t g, int64_t ts);
    void add(WindowPartition& p, const Row& row, const AggregateKernel* kernel);
    /// The next group slot of `p`'s open window (storage made on first use), not reset.
    uint32_t take_group(WindowPartition& p);
    /// take_group() reset for a window whose first event of that key is `row`.
    uint32_t open_group(WindowPartition& p, bool absent_key, const Row& row);
    void close(WindowPartition& p, Arena& scratch, std::vector<Row>& out);
    bool load_rows_format(CheckpointReader& r, uint32_t single_rows);
    bool load_rows_state(CheckpointReader& r, WindowPartition& p, uint32_t rows);

    Runtime& rt_;
    ir::Window window_;
    const ir::Operator& agg_;
    const StrObj* result_type_;
    const StrObj* empty_key_;   // `_partition` of events lacking the field
    size_t in_width_;
    size_t out_width_;
    int32_t agg_slot_;          // aggregate partition slot (-1: no `_partition`)
    bool keep_last_row_ = false;
    std::vector<Call> calls_;
    std::vector<uint32_t> numbers_, firsts_, lasts_;  // calls_ indices by Feed (arguments are
                                                      // stable, so evaluation order is free)

    PartitionIndex index_;                  // partitioned windows: key -> partition
    std::vector<WindowPartition> parts_;    // by partition number; unpartitioned: one
    std::vector<GroupHeader> groups_;       // group storage, reused window after window
    std::vector<CallAcc> accs_;             // calls_.size() per group
    std::vector<Value> last_slots_;         // keep_last_row_: in_width_ per group
    std::vector<RowMeta> last_meta_;        // keep_last_row_: one per group
    std::vector<Value> args_;               // one event's call arguments
    std::vector<Value> results_;            // one group's call results
    std::vector<KeyCacheSlot> key_cache_;   // partitioned windows: access_.keys
    WindowAccess access_{};
};

}  // namespace varpulis::runtime
