#pragma once
// The reference interpreter: runs a plan over input events (SEMANTICS §1).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ir/plan.hpp"
#include "runtime/arena.hpp"
#include "runtime/input_event.hpp"

namespace varpulis::runtime {

struct KernelTable;
struct EventBatch;

/// One emitted output event (SEMANTICS §1.4), valid only during the sink call.
struct OutputEvent {
    std::string_view stream;
    std::string_view event_type;
    int64_t timestamp_ms = 0;
    const StrObj* const* names = nullptr;
    const Value* values = nullptr;    // Absent values are to be left out
    uint32_t field_count = 0;
};

using OutputSink = std::function<void(const OutputEvent&)>;

struct EngineStats {
    uint64_t events = 0;          // input events processed
    uint64_t outputs = 0;         // output events emitted
    uint64_t unrouted = 0;        // input events of a type no stream reads
};

/// Per-stream counters of things dropped by caps (SEMANTICS §9.2, §11.3).
struct StreamDrops {
    std::string stream;
    uint64_t pattern_caps = 0;
    uint64_t trend_overflows = 0;
};

/// What restore_checkpoint() brought back.
struct RestoreReport {
    uint64_t events_restored = 0;   // EngineStats::events of the checkpointed engine
    size_t streams_restored = 0;    // streams whose state was taken from the blob
    size_t streams_reset = 0;       // streams that start empty (new or changed definition)
};

/// Runs one plan. Single-threaded; `process` handles one input event completely (derived
/// events included) before returning. The plan and the interner must outlive the engine.
class Engine {
public:
    /// `diagnostics` receives `.print` lines and console-connector output (stderr in `simulate`).
    /// An empty `sink` counts outputs (stats) without delivering them: the rows are still
    /// built, as a sink that ignores them would see them, but no OutputEvent is assembled
    /// and nothing is called per output (`simulate --quiet`).
    Engine(const ir::Plan& plan, Interner& interner, OutputSink sink, std::FILE* diagnostics);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Processes one input event and everything derived from it.
    void process(const InputEvent& event);
    /// Appends `n` input events to `out` as rows of this engine's plan (what process() does
    /// to each event before running it), so that running them later is a loop over contiguous
    /// slots. Only converts: no state, statistics or outputs change. The batch is valid for
    /// this engine (its plan) only; the events' arena must outlive it.
    void prepare(const InputEvent* events, size_t n, EventBatch& out);
    /// Event type and field names interned by another Interner (a reader thread's): `to_own`
    /// translates one to this engine's. prepare() with it reads such events without their names
    /// being rewritten first; it asks only for a name it has not met (its caches are by name).
    /// For callers whose engine does not keep field lists (keeps_field_lists()).
    struct ForeignNames {
        const StrObj* (*to_own)(void* ctx, const StrObj* name) = nullptr;
        void* ctx = nullptr;
    };
    void prepare(const InputEvent* events, size_t n, EventBatch& out, const ForeignNames& names);
    /// Processes events [first, first + count) of a batch prepare() built (clipped to its
    /// size): exactly what process() on each of those events in turn does (outputs, their
    /// order, statistics, kernel adoption at event boundaries). With compiled kernels, a run
    /// of consecutive events of one type whose streams all fused into a type kernel goes
    /// through that kernel in one call (KernelTable::types).
    void process_batch(const EventBatch& batch, size_t first = 0, size_t count = SIZE_MAX);
    /// Input events that ran through a type kernel so far (not part of the stats, and not
    /// checkpointed: a diagnostic for tests and benchmarks).
    uint64_t type_kernel_events() const;
    /// Whether some operator may read an input event's whole field list (InputEvent::fields)
    /// after process()/prepare() returned. If not, a caller may recycle the memory of the field
    /// arrays once their events are processed or prepared (EventReader::next_batch's
    /// `field_arena`); strings and other values they point to must stay.
    bool keeps_field_lists() const;
    /// End of input: flushes open session windows and trend-aggregation windows (SEMANTICS §15).
    void finish();

    /// Publishes compiled kernels (nullptr: back to the interpreter). Thread-safe: may be called
    /// from any thread while another runs process(); the table is picked up at the start of the
    /// next process()/finish(), so a swap always happens at an event boundary. All operator
    /// state lives in the engine, so nothing is lost by swapping. The plan `table` was built for
    /// must be the engine's plan.
    void install_kernels(std::shared_ptr<const KernelTable> table);
    /// Whether the kernels in use (as of the last event boundary) are compiled ones.
    bool kernels_active() const;

    const EngineStats& stats() const;
    /// Whether some stream reads input events of this (interned) type; process() counts the
    /// others as unrouted and does nothing else with them.
    bool reads(const StrObj* type) const;
    std::vector<StreamDrops> drops() const;

    /// Serialises every piece of operator state (windows, aggregates, partial matches, joins,
    /// distinct/limit, variables, counters) into a self-describing, versioned, checksummed
    /// binary blob (format: docs/architecture.md, "Checkpoints"). Call at an event boundary.
    std::string save_checkpoint() const;
    /// Replaces the engine's state with a blob from save_checkpoint(), possibly of an engine
    /// built from another version of the program: streams are matched by name and definition
    /// signature; a stream absent from the blob or whose definition changed starts empty. An
    /// unknown version or a corrupt blob returns false with `error` set and leaves the engine
    /// as if freshly built. Never crashes on hostile input.
    bool restore_checkpoint(std::string_view blob, RestoreReport& report, std::string& error);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace varpulis::runtime
