#pragma once
// Writes `simulate` output events: JSON lines (FORMATS.md §4, the bytes of append_output_line)
// or the display form (`Stream @ts {a: 1, ...}`).
//
// JSON output is formatted on a thread of its own. The engine thread only copies each event
// into a compact binary record (numbers as they are, strings as bytes, arrays and maps
// already rendered) and hands blocks of records over; the writer thread renders and writes
// them in order. Formatting numbers and escaping strings was up to a third of an end-to-end
// run on output-heavy workloads, and it now overlaps with processing. The display form is
// written synchronously (it is for people reading a terminal, not for throughput).

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/engine.hpp"

namespace varpulis::runtime {

class OutputWriter {
public:
    /// `quiet`: write nothing. Output goes to `out` (stdout for simulate).
    OutputWriter(bool json, bool quiet, std::FILE* out = stdout);
    ~OutputWriter();
    OutputWriter(const OutputWriter&) = delete;
    OutputWriter& operator=(const OutputWriter&) = delete;

    /// One output event; its values need only be valid during the call.
    void write(const OutputEvent& e);

    /// Hands what is buffered to the writer thread without waiting (before a replay sleeps,
    /// so outputs show up while the input pauses).
    void hand_over();

    /// Everything written so far is in `out` and flushed when this returns.
    void flush();

private:
    void write_display(const OutputEvent& e);
    void encode_json(const OutputEvent& e);
    void encode_record(const OutputEvent& e);
    void render_block(const std::string& block, std::string& text);
    void writer_loop();

    bool json_, quiet_;
    std::FILE* out_;

    // What the current shape's records refer to (engine thread): stream, type and names of
    // the last event, and their rendered forms.
    std::string last_stream_, last_type_;
    std::vector<const StrObj*> last_names_;
    bool have_shape_ = false;

    std::string buf_;        // display text, or the JSON records not yet handed over
    std::string scratch_;    // an array or map rendered for a record

    // Hand-over to the writer thread (JSON only). Blocks are recycled through `free_`.
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> ready_;
    std::vector<std::string> free_;
    uint64_t handed_ = 0, written_ = 0;
    bool stop_ = false;
    std::thread thread_;

    // Writer thread only: the current shape's rendered prefix and keys.
    std::string prefix_;
    std::vector<std::string> keys_;
};

}  // namespace varpulis::runtime
