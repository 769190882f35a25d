#pragma once
// Event-time windows (SEMANTICS §6): tumbling, sliding, count, sliding count, session;
// one window per partition key when partitioned.

#include <vector>

#include "ir/plan.hpp"
#include "runtime/arena.hpp"
#include "runtime/row.hpp"
#include "runtime/window_state.hpp"

namespace varpulis::runtime {

class CheckpointReader;
class CheckpointWriter;

class WindowOperator {
public:
    /// `slot_count` = width of the rows this window buffers.
    WindowOperator(const ir::Window& window, size_t slot_count);

    /// Buffers `row`; when a window closes, appends its batch (copies valid until `scratch`
    /// is reset) to `out`.
    void push(const Row& row, Arena& scratch, std::vector<Row>& out);

    /// A closed window's rows where the window keeps them: `count` rows (at least one) of
    /// `width` Values side by side in arrival order, the last one at `last_ts`. Valid only
    /// during the CloseSink call.
    struct View {
        const Value* slots;
        size_t count;
        size_t width;
        int64_t last_ts;
    };
    /// Takes a closed window in place; false: it could not, so the window copies it out.
    using CloseSink = bool (*)(void* self, const View& rows);

    /// push() that first offers a window it closes to `sink` (runtime code folding the rows
    /// with a generated kernel, runtime/abi.hpp FoldKernel) and copies it out to `out` only
    /// when the sink declines: no per-row copy for the windows folded in place.
    void push_view(const Row& row, CloseSink sink, void* self, Arena& scratch, std::vector<Row>& out);

    /// End of input: session windows hand over their open sessions, one batch per partition in
    /// order of first appearance; other kinds keep theirs (SEMANTICS §6.1–§6.6).
    void finish(Arena& scratch, std::vector<std::vector<Row>>& batches);

    /// Checkpoints: every partition's live rows and window bounds, in order of first
    /// appearance. load() expects a freshly built operator; false (reader failed) on bad data.
    void save(CheckpointWriter& w) const;
    bool load(CheckpointReader& r);

private:
    /// Buffered rows of one window: slot values side by side (width per row) in one vector,
    /// so buffering an event copies its slots without a heap allocation once warm.
    struct Buffer {
        struct Meta {
            int64_t ts;
            const StrObj* type;
            const Field* raw;
            uint32_t raw_count;
            int32_t schema;
        };
        std::vector<Value> values;
        std::vector<Meta> metas;
        size_t head = 0;  // rows before head were popped

        size_t size() const { return metas.size() - head; }
        bool empty() const { return size() == 0; }
        int64_t front_ts() const { return metas[head].ts; }
        void push(const Row& r, size_t width);
        void pop_front(size_t width);
        void clear() {
            values.clear();
            metas.clear();
            head = 0;
        }
    };

    struct State {
        Buffer rows;
        int64_t start = 0;          // tumbling: window start
        bool started = false;       // tumbling: saw its first event
        int64_t last_emit = 0;      // sliding: last emission time
        bool emitted = false;       // sliding: emitted at least once
        int64_t last_ts = 0;        // session: last event time
        int64_t since_emit = 0;     // sliding count: arrivals since the last output
    };

    State& state_for(const Row& row);
    /// push()'s window logic; `close(buffer)` hands over a window that closes.
    template <class Close>
    void push_with(const Row& row, Close&& close);
    void save_state(CheckpointWriter& w, const State& st) const;
    bool load_state(CheckpointReader& r, State& st);
    void copy_out(const Buffer& rows, Arena& scratch, std::vector<Row>& out) const;

    ir::Window window_;
    size_t width_;
    State single_;
    PartitionIndex index_;            // partition key -> index in partitions_
    std::vector<State> partitions_;   // in order of first appearance
};

}  // namespace varpulis::runtime
