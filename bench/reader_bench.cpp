// Timing tool for the event readers and the output-line writer.
//
//   reader_bench FILE [--reps N] [--stream] [--write]
//
// FILE: .evt or .jsonl (e.g. `python3 shared/bench/gen.py filter --events 1000000 --seed 42
// --format evt --out build/filter.evt`). Reports the best of N runs in events/s. --stream
// uses next_batch with an arena reset per batch instead of reading the whole file;
// --write also serialises every event as a `simulate --json` line (buffer reused).
// Build with optimisation, e.g.:
//   g++ -O2 -std=c++20 -I. runtime/*.cpp bench/reader_bench.cpp -lsimdjson -o reader_bench

#include "runtime/event_reader.hpp"
#include "runtime/value_io.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace varpulis::runtime;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FILE [--reps N] [--stream] [--write]\n", argv[0]);
        return 2;
    }
    std::string path = argv[1];
    int reps = 3;
    bool stream = false;
    bool write = false;
    for (int i = 2; i < argc; ++i) {
        if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = std::atoi(argv[++i]);
        else if (std::strcmp(argv[i], "--stream") == 0) stream = true;
        else if (std::strcmp(argv[i], "--write") == 0) write = true;
    }
    double best = 1e100;
    size_t count = 0;
    size_t bytes_out = 0;
    for (int rep = 0; rep < reps; ++rep) {
        Interner interner;
        Arena arena;
        EventReader reader(interner, arena);
        ReadError err;
        std::string out;
        out.reserve(1 << 20);
        count = 0;
        bytes_out = 0;
        auto sink = [&](const InputEvent& e) {
            ++count;
            if (write) {
                append_output_line(out, "S", e.type->view(), e.timestamp_ms, e.fields, e.field_count);
                if (out.size() > (1 << 20) - 4096) {
                    bytes_out += out.size();
                    out.clear();
                }
            }
        };
        auto t0 = std::chrono::steady_clock::now();
        if (stream) {
            if (!reader.open(path, err)) {
                std::fprintf(stderr, "%s:%u: error: %s\n", path.c_str(), err.line, err.message.c_str());
                return 1;
            }
            std::vector<InputEvent> batch;
            batch.reserve(4096);
            for (;;) {
                if (!reader.next_batch(batch, err)) {
                    std::fprintf(stderr, "%s:%u: error: %s\n", path.c_str(), err.line, err.message.c_str());
                    return 1;
                }
                if (batch.empty()) break;
                for (const InputEvent& e : batch) sink(e);
                arena.reset();
            }
        } else {
            std::vector<InputEvent> events;
            if (!reader.read_file(path, events, err)) {
                std::fprintf(stderr, "%s:%u: error: %s\n", path.c_str(), err.line, err.message.c_str());
                return 1;
            }
            for (const InputEvent& e : events) sink(e);
        }
        bytes_out += out.size();
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (secs < best) best = secs;
    }
    std::printf("%s: %zu events, best %.3f s, %.2f M events/s (%.1f ns/event)%s%s\n", path.c_str(), count, best,
                count / best / 1e6, best * 1e9 / count, stream ? " [stream]" : "", write ? " [+write]" : "");
    if (write) std::printf("output bytes: %zu\n", bytes_out);
    return 0;
}
