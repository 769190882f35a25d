#pragma once
// Readers for `.evt` event files and JSON-lines files (FORMATS.md §1).

#include "runtime/arena.hpp"
#include "runtime/input_event.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace varpulis::runtime {

enum class EventFormat : uint8_t {
    Evt,        // FORMATS §1.1 line grammar (JSON lines allowed inside)
    JsonLines,  // one JSON event object per line (§1.4); blank lines ignored
};

/// `.jsonl` / `.json` → JsonLines, anything else → Evt.
EventFormat format_for_path(std::string_view path);

/// Limits of FORMATS §1.3.
struct ReadLimits {
    static constexpr size_t kMaxLineBytes = 1024 * 1024;
    static constexpr uint32_t kMaxFields = 1024;
    static constexpr size_t kMaxStringBytes = 256 * 1024;
    static constexpr uint32_t kMaxArrayElements = 10000;
    static constexpr int kMaxNesting = 32;
};

struct ReadOptions {
    /// Count and skip bad lines instead of stopping at the first one.
    bool skip_bad_events = false;
    /// How many skipped-line errors to keep for reporting (the count is always exact).
    size_t max_recorded_errors = 16;
};

/// A read failure. `line` is the 1-based physical line (comments and blanks counted), or 0
/// when the failure is not tied to a line (e.g. the file cannot be opened). The caller
/// renders it as `FILE:N: error: <message>`.
struct ReadError {
    uint32_t line = 0;
    std::string message;
};

/// Reads events into an arena. Type and field names go through the interner (canonical
/// pointers); field arrays, strings, arrays and maps are allocated in the arena, so events
/// stay valid until that arena is reset. The reader keeps one open input at a time
/// (`open*` replaces it). Not thread-safe; use one reader per thread.
///
/// Errors are returned as values; no exception escapes (except std::bad_alloc).
///
/// Event time (ms): `.evt` lines take their `@` offset, else the current `BATCH` value
/// (initially 0); a JSON event's integer top-level `timestamp` wins over both.
class EventReader {
public:
    EventReader(Interner& interner, Arena& arena, ReadOptions options = {});
    ~EventReader();
    EventReader(const EventReader&) = delete;
    EventReader& operator=(const EventReader&) = delete;

    /// Reads a whole file (format by extension) and appends its events to `out`.
    /// False on a fatal error (`err` set); with `skip_bad_events` bad lines do not stop it.
    bool read_file(const std::string& path, std::vector<InputEvent>& out, ReadError& err);
    /// Same for in-memory text.
    bool read_text(std::string_view text, EventFormat format, std::vector<InputEvent>& out, ReadError& err);

    /// Streaming: open a file (format by extension) or text (copied), then call
    /// `next_batch` until it returns true with an empty `out` (end of input).
    bool open(const std::string& path, ReadError& err);
    void open_text(std::string_view text, EventFormat format);
    /// Replaces `out` with the next (at most `max_events`) events. Returns false on a fatal
    /// error; true otherwise, `out` empty meaning end of input. The file is read in chunks,
    /// so memory is bounded by the chunk size plus what the arena holds; a caller that
    /// drops a batch's events before the next call may reset the arena in between.
    /// With `field_arena`, the batch's field arrays go there instead of the reader's arena
    /// (strings, arrays and maps still go to the reader's arena): a caller that keeps no
    /// pointer to a batch's field arrays (InputEvent::fields) once it is processed can
    /// recycle that arena per batch, so streaming memory does not grow with the input.
    bool next_batch(std::vector<InputEvent>& out, ReadError& err, size_t max_events = 4096,
                    Arena* field_arena = nullptr);

    /// The share of a regular file's bytes consumed as of the last next_batch (0 to 1; safe to
    /// call from another thread), or -1 when the input's size is unknown (a pipe, text).
    double input_fraction() const;

    /// Calls `f(const InputEvent&)` for every event of `path`, in file order.
    template <class F>
    bool for_each_event(const std::string& path, F&& f, ReadError& err, size_t batch = 4096) {
        if (!open(path, err)) return false;
        std::vector<InputEvent> events;
        events.reserve(batch);
        for (;;) {
            if (!next_batch(events, err, batch)) return false;
            if (events.empty()) return true;
            for (const InputEvent& e : events) f(e);
        }
    }

    /// Parses one JSON event object (FORMATS §1.4: REST, WebSocket). `default_ts_ms` is the
    /// event time when the object has no integer `timestamp`. `out.line` is 0.
    bool parse_json_event(std::string_view json, int64_t default_ts_ms, InputEvent& out, ReadError& err);

    /// Parses a batch request `{"events": [event, ...]}` (FORMATS §2.2) and appends the good
    /// events to `out`, in order. An element that is not a valid event is left out and
    /// reported in `bad` (`line` = its 1-based index in the array). False, `err` set, when the
    /// body is not valid JSON or has no `events` array.
    bool parse_json_event_batch(std::string_view json, int64_t default_ts_ms, std::vector<InputEvent>& out,
                                std::vector<ReadError>& bad, ReadError& err);

    /// Bad lines skipped so far (only with `skip_bad_events`), and the first of their errors.
    uint64_t skipped_count() const;
    const std::vector<ReadError>& skipped_errors() const;
    /// Physical lines consumed so far from the current input.
    uint32_t lines_read() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace varpulis::runtime
