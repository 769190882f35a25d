#pragma once
// A program and its events, and one engine run over them with compiled kernels installed or
// removed at chosen events, per event or on prepared batches: what the JIT tests compare
// against the interpreter (type_kernel_test, compiled_ops_tests).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "runtime/engine.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/event_reader.hpp"
#include "runtime/kernel_table.hpp"
#include "runtime/value_io.hpp"

namespace varpulis::kernel_run {

/// A program and its events, read once.
struct Case {
    std::unique_ptr<ir::Compilation> comp;
    runtime::Interner interner;
    runtime::Arena arena{1 << 16};
    std::vector<runtime::InputEvent> events;

    Case(const std::string& program, const std::string& evt) {
        comp = ir::compile_source("test.vpl", program, ir::CompileStage::Lower);
        EXPECT_TRUE(comp->ok()) << frontend::render_all(comp->file, comp->diags);
        runtime::EventReader reader(interner, arena);
        runtime::ReadError err;
        EXPECT_TRUE(reader.read_text(evt, runtime::EventFormat::Evt, events, err)) << err.line << ": " << err.message;
    }
    const ir::Plan& plan() const { return *comp->plan; }
    int32_t schema(const std::string& name) const { return plan().routing_schema(name); }
};

/// Output lines, `.print`/console `.to` text and the final statistics of one run.
struct RunResult {
    std::string out;
    std::string diag;
    runtime::EngineStats stats;
    uint64_t type_kernel_events = 0;
};

/// How a run feeds its engine.
struct Mode {
    bool batched = false;     // prepare + process_batch, else process() per event
    size_t batch_size = 0;    // events per prepared batch
    long install_at = -1;     // kernels installed before this event (-1: never)
    long remove_at = -1;      // and removed before this one (-1: never)
    bool deliver = true;      // false: an empty sink (outputs counted, not delivered)
};

inline RunResult run(Case& c, const std::shared_ptr<const runtime::KernelTable>& kernels, const Mode& m) {
    RunResult r;
    char* buf = nullptr;
    size_t len = 0;
    std::FILE* diag = open_memstream(&buf, &len);
    {
        runtime::OutputSink sink;
        if (m.deliver)
            sink = [&](const runtime::OutputEvent& e) {
                runtime::append_output_line(r.out, e.stream, e.event_type, e.timestamp_ms, e.names, e.values,
                                            e.field_count);
            };
        runtime::Engine engine(c.plan(), c.interner, std::move(sink), diag);
        auto boundary = [&](size_t i) {
            if (kernels && static_cast<long>(i) == m.install_at) engine.install_kernels(kernels);
            if (kernels && static_cast<long>(i) == m.remove_at) engine.install_kernels(nullptr);
        };
        if (!m.batched) {
            for (size_t i = 0; i < c.events.size(); ++i) {
                boundary(i);
                engine.process(c.events[i]);
            }
        } else {
            for (size_t first = 0; first < c.events.size(); first += m.batch_size) {
                size_t n = std::min(m.batch_size, c.events.size() - first);
                runtime::EventBatch batch;
                engine.prepare(c.events.data() + first, n, batch);
                EXPECT_EQ(batch.size(), n);
                // Split the batch exactly where kernels change.
                size_t at = 0;
                while (at < n) {
                    boundary(first + at);
                    size_t end = n;
                    for (long cut : {m.install_at, m.remove_at})
                        if (cut > static_cast<long>(first + at) && cut < static_cast<long>(first + end))
                            end = static_cast<size_t>(cut) - first;
                    engine.process_batch(batch, at, end - at);
                    at = end;
                }
            }
        }
        engine.finish();
        r.stats = engine.stats();
        r.type_kernel_events = engine.type_kernel_events();
    }
    std::fclose(diag);
    r.diag.assign(buf, len);
    std::free(buf);
    return r;
}

}  // namespace varpulis::kernel_run
