#pragma once
// One deployed pipeline: its compiled program, interner, event arena, reader and engine, behind
// one mutex (the engine is single-threaded). Renders output events to JSON while the engine
// hands them out, for the REST response and for `logs` subscribers.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/http_types.hpp"

namespace varpulis::ir {
struct Compilation;
}
namespace varpulis::runtime {
class Engine;
class EventReader;
class Arena;
class Interner;
struct KernelTable;
struct OutputEvent;
struct InputEvent;
struct EventBatch;
struct ReadError;
struct RestoreReport;
struct StrObj;
}  // namespace varpulis::runtime

namespace varpulis::server {

struct UsageCounters;

/// A VPL error with its position in the user's source (400 `parse_error`).
struct CompileFailure {
    std::string message;  // `L:C: message`
    std::string hint;     // may be empty
    uint32_t line = 0;
    uint32_t column = 0;
};

struct CompiledProgram {
    std::shared_ptr<ir::Compilation> compilation;
    size_t stream_count = 0;
};

/// Pre-processes, parses, checks and lowers `source` (no lock needed). False with the first
/// error (by position) in `failure`.
bool compile_program(const std::string& name, const std::string& source, CompiledProgram& out,
                     CompileFailure& failure);

/// One output event rendered as JSON pieces.
struct RenderedOutput {
    std::string stream;
    std::string event_type;
    int64_t timestamp_ms = 0;
    std::string fields;        // `{"a": 1, ...}`
    std::string flat_members;  // `, "a": 1, ...` without a field named event_type
    bool has_stream_field = false;
    bool has_timestamp_field = false;
};

/// `{"stream": S, "event_type": T, "timestamp": ms, "fields": {...}}` (FORMATS §5.4 + §4).
void append_output_event(std::string& out, const RenderedOutput& o);
/// `{"event_type": T, <fields>, "stream": S, "timestamp": ms}` (flat, events-batch); the
/// envelope members are left out when a field has the same name.
void append_flat_output_event(std::string& out, const RenderedOutput& o);
/// RFC 3339 UTC with milliseconds.
std::string rfc3339_ms(int64_t ms);

/// The SSE body of `GET /pipelines/{id}/logs`: a bounded queue the pipeline pushes into; when
/// the client reads too slowly the oldest undelivered events are dropped and reported as
/// `event: warning`.
class LogSubscription : public EventStreamSource {
public:
    explicit LogSubscription(size_t capacity = 4096) : capacity_(capacity) {}
    void push(const std::string& sse_message);
    void close();
    bool pull(std::string& out) override;

private:
    std::mutex mu_;
    std::deque<std::string> queue_;
    uint64_t skipped_ = 0;
    bool closed_ = false;
    size_t capacity_;
};

/// Latency histogram bucket bounds in seconds (Prometheus `le`).
const std::vector<double>& latency_bounds();

/// Thread-safe: every public method may be called from any thread.
class PipelineHost {
public:
    struct Info {
        std::string id, name, tenant_id;
        int64_t created_ms = 0;
        uint64_t seq = 0;
    };

    PipelineHost(Info info, std::string source, CompiledProgram program, std::shared_ptr<UsageCounters> usage);
    ~PipelineHost();
    PipelineHost(const PipelineHost&) = delete;
    PipelineHost& operator=(const PipelineHost&) = delete;

    const std::string& id() const { return info_.id; }
    const std::string& name() const { return info_.name; }
    const std::string& tenant_id() const { return info_.tenant_id; }
    int64_t created_ms() const { return info_.created_ms; }
    uint64_t seq() const { return info_.seq; }
    std::string source() const;
    size_t stream_count() const;
    double uptime_secs() const;
    uint64_t events_processed() const { return events_.load(); }
    uint64_t outputs_emitted() const { return outputs_.load(); }

    /// Called with the number of events about to be processed; false rejects them all
    /// (events-per-second quota).
    using Admit = std::function<bool(uint64_t)>;
    /// UnknownType: a single event of a type no stream of the pipeline reads (`error` says which).
    enum class Ingest { Ok, BadRequest, Rejected, UnknownType };

    /// One event (FORMATS §2.1); outputs emitted while processing it are appended to `outputs`.
    Ingest process_event(std::string_view json, int64_t now_ms, const Admit& admit,
                         std::vector<RenderedOutput>& outputs, std::string& error);
    /// A batch (FORMATS §2.2): bad elements are skipped; `accepted` counts the good ones.
    Ingest process_batch(std::string_view json, int64_t now_ms, const Admit& admit,
                         std::vector<RenderedOutput>& outputs, size_t& accepted, std::string& error);
    /// Same, with the outputs appended to `flat_out` as the events-batch response renders them
    /// (append_flat_output_event, separated by ", "), without a RenderedOutput per event.
    Ingest process_batch_flat(std::string_view json, int64_t now_ms, const Admit& admit, std::string& flat_out,
                              size_t& accepted, std::string& error);

    struct Snapshot {
        std::string blob;  // Engine::save_checkpoint()
        uint64_t events = 0;
        uint64_t outputs = 0;
        bool changed_since_last = true;
    };
    /// The engine state at an event boundary, with the pipeline's counters.
    Snapshot checkpoint();
    /// Marks `events` as persisted (checkpoint() then reports unchanged until more events).
    void mark_persisted(uint64_t events);
    /// Replaces the state with `blob` (restored into a fresh engine first; the running one is
    /// kept if that fails). `events`/`outputs` become the pipeline's counters.
    bool restore(std::string_view blob, uint64_t events, uint64_t outputs, std::string& error,
                 uint64_t& events_restored);
    /// Swaps in a new program: the old engine's state is checkpointed and restored into the
    /// new one (streams whose definition did not change keep their state). Events are never
    /// processed by both or neither: the swap happens under the pipeline lock. `warning` is
    /// set when the state could not be carried over.
    void reload(std::string source, CompiledProgram program, std::string& warning);

    /// Input strings stay in the pipeline's event arena while the engine may refer to them.
    /// Once the arena holds `bytes`, the engine is rebuilt from its own checkpoint (which
    /// copies what it keeps) and the arena is reset. 0 turns this off.
    void set_compaction_threshold(size_t bytes);
    uint64_t compactions() const { return compactions_.load(); }

    /// Set when the pipeline is deleted, so that a concurrent reload or checkpoint does not
    /// write it back to the state store.
    void mark_deleted() { deleted_ = true; }
    bool deleted() const { return deleted_.load(); }

    std::shared_ptr<LogSubscription> subscribe();
    /// Ends every log stream (pipeline deleted, server stopping).
    void close_subscribers();

    /// JIT tiering: the compilation the current engine runs, and a token that changes when
    /// the program is replaced. install_kernels() ignores a table built for an older token.
    std::shared_ptr<ir::Compilation> jit_job(uint64_t& generation) const;
    bool install_kernels(uint64_t generation, std::shared_ptr<const runtime::KernelTable> table);
    bool jit_active() const { return jit_active_.load(); }

    struct Metrics {
        uint64_t events = 0, outputs = 0;
        std::vector<uint64_t> latency_counts;  // per bucket (not cumulative), + overflow last
        double latency_sum = 0;
        std::vector<std::pair<std::string, uint64_t>> events_by_type;
        std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> outputs_by_stream;
        size_t streams = 0;
        bool jit_active = false;
        uint64_t loop_events = 0;   // input events run by generated per-type loops
        uint64_t compactions = 0;
    };
    Metrics metrics() const;

private:
    std::unique_ptr<runtime::Engine> make_engine(const ir::Compilation& c);
    void on_output(const runtime::OutputEvent& e);
    void process_locked(const void* event);
    Ingest parse_batch_locked(std::string_view json, int64_t now_ms, const Admit& admit, std::string& error);
    void run_batch_locked();
    void render_flat(const runtime::OutputEvent& e);
    void count_output(std::string_view stream, std::string_view event_type);
    void record_latency(double seconds, uint64_t events = 1);
    void maybe_compact_locked();

    Info info_;
    std::shared_ptr<UsageCounters> usage_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

    mutable std::mutex mu_;  // guards everything below except the atomics
    std::string source_;
    std::shared_ptr<ir::Compilation> compilation_;
    size_t stream_count_ = 0;
    std::unique_ptr<runtime::Interner> interner_;
    std::unique_ptr<runtime::Arena> arena_;
    std::unique_ptr<runtime::EventReader> reader_;
    std::unique_ptr<runtime::Engine> engine_;
    std::vector<RenderedOutput>* collector_ = nullptr;
    std::string* flat_sink_ = nullptr;  // process_batch_flat's output
    bool flat_first_ = true;
    std::vector<runtime::InputEvent> batch_events_;  // reused by the batch calls
    std::unique_ptr<runtime::EventBatch> batch_rows_;  // batch_events_ as rows (Engine::prepare)
    std::vector<runtime::ReadError> batch_bad_;
    // Last counter touched in events_by_type_ / outputs_by_stream_ (map nodes are stable).
    const runtime::StrObj* last_type_ = nullptr;
    uint64_t* last_type_count_ = nullptr;
    std::string last_out_key_;
    uint64_t* last_out_count_ = nullptr;
    uint64_t generation_ = 1;
    std::shared_ptr<const runtime::KernelTable> kernels_;
    uint64_t persisted_events_ = ~0ull;
    std::unordered_map<const runtime::StrObj*, uint64_t> events_by_type_;
    std::unordered_map<std::string, uint64_t> outputs_by_stream_;  // stream '\0' type
    std::vector<uint64_t> latency_counts_;
    double latency_sum_ = 0;
    size_t compact_bytes_ = 64u << 20;

    std::atomic<uint64_t> events_{0};
    std::atomic<uint64_t> outputs_{0};
    std::atomic<bool> jit_active_{false};
    std::atomic<uint64_t> loop_events_{0};
    std::atomic<uint64_t> compactions_{0};
    std::atomic<bool> deleted_{false};

    mutable std::mutex subs_mu_;
    std::vector<std::weak_ptr<LogSubscription>> subscribers_;
    std::atomic<bool> has_subscribers_{false};
};

}  // namespace varpulis::server
