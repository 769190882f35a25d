// Prepared rows and type kernels: Engine::prepare + Engine::process_batch against Engine::process
// (interpreted and compiled, swaps mid-batch, sink failures), and which input types codegen
// turns into one per-type loop (codegen::type_fuses, KernelTable::types).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "codegen/plan_codegen.hpp"
#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "jit/jit_loader.hpp"
#include "runtime/engine.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/event_reader.hpp"
#include "runtime/kernel_table.hpp"
#include "runtime/value_io.hpp"
#include "runtime/window_aggregate.hpp"
#include "tests/support/jit_fixture.hpp"
#include "tests/support/kernel_run.hpp"

namespace ir = varpulis::ir;
namespace jit = varpulis::jit;
namespace rt = varpulis::runtime;
namespace codegen = varpulis::codegen;
namespace kernel_run = varpulis::kernel_run;

namespace {

using kernel_run::Case;
using kernel_run::Mode;
using kernel_run::RunResult;
using kernel_run::run;

std::string stats_text(const rt::EngineStats& s) {
    return "events=" + std::to_string(s.events) + " outputs=" + std::to_string(s.outputs) +
           " unrouted=" + std::to_string(s.unrouted);
}

class TypeKernelTest : public kernel_run::JitFixture {
protected:
    /// Every way of feeding `c` gives the interpreter's per-event outputs, `.print` text and
    /// statistics. Returns the events the type kernels ran when compiled from the start.
    static uint64_t check_all_modes(Case& c) {
        auto compiled = compile(c.plan());
        if (!compiled) return 0;
        const RunResult want = run(c, nullptr, Mode{});
        const long n = static_cast<long>(c.events.size());
        std::vector<std::pair<std::string, Mode>> modes = {
            {"interp, batches of 1", {true, 1, -1, -1}},
            {"interp, batches of 7", {true, 7, -1, -1}},
            {"interp, one batch", {true, 4096, -1, -1}},
            {"jit per event", {false, 0, 0, -1}},
            {"jit, batches of 1", {true, 1, 0, -1}},
            {"jit, batches of 5", {true, 5, 0, -1}},
            {"jit, one batch", {true, 4096, 0, -1}},
            {"jit installed mid-batch", {true, 4096, n / 3, -1}},
            {"jit installed at a batch boundary", {true, 10, 20, -1}},
            {"jit removed mid-batch", {true, 4096, 0, n / 2}},
            {"jit installed then removed", {true, 9, 3, n - 4}},
            // An empty sink: the same counts and diagnostics, nothing delivered.
            {"interp, counted only", {true, 7, -1, -1, false}},
            {"jit, one batch, counted only", {true, 4096, 0, -1, false}},
            {"jit per event, counted only", {false, 0, 0, -1, false}},
        };
        uint64_t fused = 0;
        for (const auto& [name, mode] : modes) {
            RunResult got = run(c, compiled->kernels, mode);
            EXPECT_EQ(got.out, mode.deliver ? want.out : std::string()) << name;
            EXPECT_EQ(got.diag, want.diag) << name;
            EXPECT_EQ(stats_text(got.stats), stats_text(want.stats)) << name;
            if (name == "jit, one batch") fused = got.type_kernel_events;
        }
        return fused;
    }

};

/// Events of types T, U and V (V read by nobody in most programs), with present, absent and
/// wrong-kind fields.
std::string events_text(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const char* names[] = {"\"a\"", "\"skip\"", "\"b\"", "\"A\""};
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        uint64_t r = rng();
        const char* type = r % 9 == 0 ? "V" : (r % 5 == 0 ? "U" : "T");
        out += "@" + std::to_string(i * 10) + " " + type + " {";
        bool first = true;
        auto field = [&](const std::string& f) {
            out += (first ? " " : ", ") + f;
            first = false;
        };
        switch (rng() % 6) {
            case 0: break;
            case 1: field("x: " + std::to_string(rng() % 9) + ".5"); break;
            case 2: field("x: \"str\""); break;
            default: field("x: " + std::to_string(static_cast<int64_t>(rng() % 12) - 2)); break;
        }
        if (rng() % 7) field(std::string("name: ") + names[rng() % 4]);
        if (rng() % 3 == 0) field("extra: " + std::to_string(rng() % 100));
        out += first ? "}\n" : " }\n";
    }
    return out;
}

TEST_F(TypeKernelTest, FilterWorkloadRunsThroughTheTypeKernel) {
    Case c(R"(
event StockTick:
    symbol: str
    price: float
    volume: int

stream Filtered = StockTick
    .where(price > 50.0)
    .emit(event_type: "FilteredTick", symbol: symbol, price: price)
)",
           "@0 StockTick { symbol: \"A\", price: 51.5, volume: 1 }\n"
           "@1 StockTick { symbol: \"B\", price: 49.0, volume: 2 }\n"
           "@2 Other { price: 99.0 }\n"
           "@3 StockTick { symbol: \"C\", price: 60 }\n"
           "@4 StockTick { price: \"x\" }\n"
           "@5 StockTick { symbol: \"D\", price: 70.25, volume: 3 }\n");
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    ASSERT_GE(c.schema("StockTick"), 0);
    EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema("StockTick"))), nullptr)
        << "a filter + emit stream with no readers fuses into a per-type loop";
    uint64_t fused = check_all_modes(c);
    EXPECT_EQ(fused, 5u) << "every StockTick event runs in the type kernel, the unrouted one does not";
    RunResult got = run(c, compiled->kernels, {true, 4096, 0, -1});
    EXPECT_NE(got.out.find("\"FilteredTick\""), std::string::npos) << got.out;
    EXPECT_EQ(got.stats.unrouted, 1u);
}

TEST_F(TypeKernelTest, SeveralStreamsOfOneTypeKeepTheirOrderPerEvent) {
    // A and B both read T and fuse: one loop runs A then B on each row. C reads U through a
    // string fallback (upper) and a computed event_type. Nobody reads V.
    Case c(R"(
stream A = T.where(x > 1).emit(event_type: name, name: name, y: x * 2)
stream B = T.select(z: x + 1, name: name).where(z > 3).emit(z: z, tag: "b")
stream C = U.where(upper(name) != "SKIP").emit(event_type: upper(name), n: len(name), x: x)
)",
           events_text(300, 1));
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema("T"))), nullptr);
    EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema("U"))), nullptr)
        << "fallback calls before the projection still fuse";
    uint64_t fused = check_all_modes(c);
    EXPECT_GT(fused, 200u);
}

TEST_F(TypeKernelTest, StreamsReadByOthersHandTheirRowsToTheQueueAfterEachRow) {
    // T feeds A (a projection) and F (filters only), which B and G read, and C (no readers);
    // W's window results feed X. The engine's queue runs B, G and X after each T / U row's own
    // streams (SEMANTICS §1.2), so outputs interleave exactly as interpreted. Y selects before
    // its window.
    Case c(R"(
stream A = T.where(x > 1).select(x: x, name: name)
stream B = A.where(x > 4).emit(w: x * 10)
stream C = T.where(x < 6).emit(event_type: "C", x: x)
stream F = T.where(x > 3)
stream G = F.emit(event_type: "G", x: x, name: name)
stream W = U.window(3).aggregate(s: sum(x), n: count()).emit(s: s, n: n)
stream X = W.where(s > 5.0).emit(event_type: "X", s: s)
stream Y = U.select(h: x / 2).window(2).aggregate(a: avg(h)).emit(a: a)
)",
           events_text(300, 2));
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    for (const char* t : {"T", "U"})
        EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema(t))), nullptr) << t;
    EXPECT_GT(check_all_modes(c), 200u);
    RunResult got = run(c, compiled->kernels, {true, 4096, 0, -1});
    for (const char* s : {"\"stream\": \"B\"", "\"stream\": \"G\"", "\"stream\": \"X\"", "\"stream\": \"Y\""})
        EXPECT_NE(got.out.find(s), std::string::npos) << s;
}

TEST_F(TypeKernelTest, WholeEventOperatorsSeeTheRowsFieldListAfterPush) {
    // V: a print of the whole event (its field list, extra fields included); U: a limit. The
    // type kernels hand both rows over with the input row's field list.
    Case c(R"(
stream L = U.where(x != 1).limit(5).emit(x: x)
stream P = V.where(x > 5).print()
)",
           events_text(200, 2));
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    for (const char* t : {"U", "V"})
        EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema(t))), nullptr) << t;
    EXPECT_GT(check_all_modes(c), 40u);
    const RunResult got = run(c, compiled->kernels, {true, 4096, 0, -1});
    EXPECT_NE(got.diag.find("extra"), std::string::npos) << got.diag;
}

TEST_F(TypeKernelTest, MixedTypesAlternateBetweenKernelAndPerRowPath) {
    // T gets a kernel; U does not (a .process reads it); V is unrouted: runs of rows switch
    // paths often.
    Case c(R"(
fn twice(v: int):
    emit W(v: v)
    emit W(v: v * 2)

stream A = T.where(x >= 0).emit(x: x, name: name)
stream S = U.process(twice(x))
stream L = U.limit(3).emit(first: x)
)",
           events_text(250, 3));
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    EXPECT_EQ(compiled->kernels->type_kernel(static_cast<size_t>(c.schema("U"))), nullptr)
        << ".process is left to the engine: U's streams do not all run in a type loop";
    check_all_modes(c);

    Case d(R"(
fn twice(v: int):
    emit W(v: v)
    emit W(v: v * 2)

stream A = T.where(x >= 0).emit(x: x, name: name)
stream S = U.process(twice(x))
)",
           events_text(250, 4));
    auto dc = compile(d.plan());
    ASSERT_NE(dc, nullptr);
    EXPECT_NE(dc->kernels->type_kernel(static_cast<size_t>(d.schema("T"))), nullptr);
    EXPECT_EQ(dc->kernels->type_kernel(static_cast<size_t>(d.schema("U"))), nullptr);
    EXPECT_GT(check_all_modes(d), 100u);
}

TEST_F(TypeKernelTest, ASinkThatThrowsLeavesTheEngineAsProcessDoes) {
    Case c("stream A = T.where(x > 1).emit(x: x)\n",
           "@0 T { x: 5 }\n@1 T { x: 0 }\n@2 T { x: 7 }\n@3 T { x: 9 }\n");
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    auto throwing_run = [&](bool batched) {
        int seen = 0;
        rt::Engine engine(
            c.plan(), c.interner,
            [&](const rt::OutputEvent&) {
                if (++seen == 2) throw std::runtime_error("sink failed");
            },
            stderr);
        engine.install_kernels(compiled->kernels);
        std::string what;
        rt::EventBatch batch;
        engine.prepare(c.events.data(), c.events.size(), batch);
        try {
            if (batched) {
                engine.process_batch(batch);
            } else {
                for (const auto& e : c.events) engine.process(e);
            }
        } catch (const std::runtime_error& e) {
            what = e.what();
        }
        return what + " " + stats_text(engine.stats());
    };
    EXPECT_EQ(throwing_run(true), throwing_run(false));
    EXPECT_EQ(throwing_run(true), "sink failed events=3 outputs=2 unrouted=0");
}

TEST_F(TypeKernelTest, CodegenEmitsTypeKernelsOnlyForFusableTypes) {
    Case c(R"(
fn keep(v: int):
    emit K(v: v)

stream A = T.where(x > 1).emit(y: x)
stream B = T.emit(z: x + 1)
stream C = U.where(x > 1).emit(y: x)
stream D = U.process(keep(x))
stream E = V.select(y: x)
stream F = E.emit(y: y)
)",
           "");
    const ir::Plan& plan = c.plan();
    EXPECT_TRUE(codegen::type_fuses(plan, static_cast<size_t>(c.schema("T"))));
    EXPECT_FALSE(codegen::type_fuses(plan, static_cast<size_t>(c.schema("U")))) << "a .process reads U";
    EXPECT_TRUE(codegen::type_fuses(plan, static_cast<size_t>(c.schema("V")))) << "E hands its rows to F's queue";
    EXPECT_TRUE(codegen::type_fuses(plan, static_cast<size_t>(c.schema("E")))) << "F is fused and unread";
    std::string ir_text, error;
    ASSERT_TRUE(compiler_->dump_llvm(plan, false, ir_text, error)) << error;
    EXPECT_NE(ir_text.find("@vp_t" + std::to_string(c.schema("T")) + "_type("), std::string::npos) << ir_text;
    EXPECT_EQ(ir_text.find("@vp_t" + std::to_string(c.schema("U")) + "_type("), std::string::npos);
    EXPECT_NE(ir_text.find("@vp_t" + std::to_string(c.schema("V")) + "_type("), std::string::npos);
    auto compiled = compile(plan);
    ASSERT_NE(compiled, nullptr);
    EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema("T"))), nullptr);
    EXPECT_EQ(compiled->kernels->type_kernel(static_cast<size_t>(c.schema("U"))), nullptr);
}

TEST_F(TypeKernelTest, WindowedAggregatesUpdateTheirAccumulatorsInTheTypeKernel) {
    // Every per-event aggregate function over ints, floats, strings and missing values; count,
    // tumbling and session windows; partitions with events lacking the key; filters before the
    // window and operators after it (run by the engine when a window closes).
    Case c(R"(
stream C = T.where(x != 3).partition_by(name).window(4)
    .aggregate(name: last(name), n: count(), s: sum(x), a: avg(x), lo: min(x), hi: max(x), sd: stddev(x),
               e: ema(x, 3), f: first(x), l: last(x))
    .where(n > 1)
    .emit(event_type: "Counted", name: name, n: n, s: s, a: a, lo: lo, hi: hi, sd: sd, e: e, f: f, l: l)
stream D = T.window(50ms).aggregate(s: sum(x * 2), n: count(), m: max(x), e: ema(x, 2), f: first(name))
    .emit(event_type: "Timed", s: s, n: n, m: m, e: e, f: f)
stream E = U.partition_by(name).window(session: 25ms)
    .aggregate(n: count(), s: sum(x), lo: min(x), sd: stddev(x + 1), l: last(x))
    .emit(event_type: "Session", n: n, s: s, lo: lo, sd: sd, l: l)
)",
           events_text(600, 11));
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    for (const char* t : {"T", "U"}) {
        const size_t schema = static_cast<size_t>(c.schema(t));
        EXPECT_TRUE(codegen::type_fuses(c.plan(), schema)) << t;
        EXPECT_NE(compiled->kernels->type_kernel(schema), nullptr) << t;
    }
    uint64_t fused = check_all_modes(c);
    EXPECT_GT(fused, 400u) << "T and U events run in type kernels";
    RunResult got = run(c, compiled->kernels, {true, 4096, 0, -1});
    for (const char* kind : {"\"Counted\"", "\"Timed\"", "\"Session\""})
        EXPECT_NE(got.out.find(kind), std::string::npos) << kind << " in\n" << got.out;
}

TEST_F(TypeKernelTest, WindowsThatKeepRowsGetThemThroughWindowPush) {
    // last() of a computed value keeps a copy of the group's last row; a sliding window
    // re-emits overlapping contents; count_distinct needs the set of values: the kernel runs
    // the stream's filters and selects and hands the row to the engine's window.
    Case c(R"(
stream A = T.where(x != 2).window(3).aggregate(l: last(x * 2), n: count()).emit(l: l, n: n)
stream B = U.window(4, sliding: 2).aggregate(s: sum(x)).emit(s: s)
stream D = U.select(y: x, name: name).partition_by(name).window(3)
    .aggregate(d: count_distinct(y), n: count()).emit(d: d, n: n)
)",
           events_text(300, 12));
    const ir::Plan& plan = c.plan();
    for (size_t s = 0; s < plan.streams.size(); ++s) {
        EXPECT_GE(codegen::type_loop_handoff(plan, plan.streams[s]), 0) << s;
        EXPECT_FALSE(codegen::type_loop_accumulates(plan, plan.streams[s])) << s;
    }
    auto compiled = compile(plan);
    ASSERT_NE(compiled, nullptr);
    for (const char* t : {"T", "U"})
        EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema(t))), nullptr) << t;
    EXPECT_GT(check_all_modes(c), 200u);
    RunResult got = run(c, compiled->kernels, {true, 4096, 0, -1});
    for (const char* s : {"\"stream\": \"A\"", "\"stream\": \"B\"", "\"stream\": \"D\""})
        EXPECT_NE(got.out.find(s), std::string::npos) << s;
}

TEST_F(TypeKernelTest, StatefulOperatorsGetTheirRowsThroughPush) {
    // Sequences (plain, partitioned, Kleene, negation), a limit, a distinct, an emit followed by
    // another operator and a stream without operators that only forwards: the type kernel runs
    // the filters and selects before the first other operator and hands the row to the engine
    // (TypeRun::push), which runs the rest; outputs and their order are the interpreter's.
    Case c(R"(
stream P = T as a -> U where x == a.x as b .within(200ms) .emit(a: a.x, b: b.x, n: b.name)
stream Q = T as a -> all T where x > a.x as b -> U as c .partition_by(name)
    .emit(a: a.x, c: c.x, k: len(b))
stream R = T as a -> V as b .not(U where x == a.x) .emit(a: a.x, b: b.x)
stream L = U.where(x != 1).select(y: x * 2, name: name).limit(40).emit(y: y)
stream D = V.distinct(name).emit(name: name, x: x)
stream E = T.where(x < 5).emit(x: x).print()
stream F = V
stream G = F.where(x > 3).emit(x: x, name: name)
stream H = V.where(x > 8).emit(h: x)
)",
           events_text(800, 14));
    const ir::Plan& plan = c.plan();
    for (const char* t : {"T", "U", "V"})
        EXPECT_TRUE(codegen::type_fuses(plan, static_cast<size_t>(c.schema(t)))) << t;
    auto compiled = compile(plan);
    ASSERT_NE(compiled, nullptr);
    for (const char* t : {"T", "U", "V"})
        EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema(t))), nullptr) << t;
    EXPECT_GT(check_all_modes(c), 700u);
    RunResult got = run(c, compiled->kernels, {true, 4096, 0, -1});
    for (const char* s : {"\"stream\": \"P\"", "\"stream\": \"Q\"", "\"stream\": \"R\"", "\"stream\": \"L\"",
                          "\"stream\": \"D\"", "\"stream\": \"E\"", "\"stream\": \"G\""})
        EXPECT_NE(got.out.find(s), std::string::npos) << s << " in\n" << got.out;
    EXPECT_FALSE(got.diag.empty()) << "E prints to diag";
}


TEST_F(TypeKernelTest, ATypeWhoseStreamsOnlyHandOverGetsNoKernel) {
    // Every stream reading A and B hands its row untouched to a sequence (and F to its
    // readers): a type loop would only make indirect calls, so the engine's per-row path runs
    // them. T's loop filters before its hand-over, so T keeps its kernel.
    Case c(R"(
stream P = T as a -> U where x == a.x as b .within(200ms) .emit(a: a.x, b: b.x)
stream Q = V as a -> U as b .emit(a: a.x, b: b.x)
stream F = V
stream G = F.where(x > 3).emit(x: x)
stream R = T.where(x > 2).limit(30).emit(x: x)
)",
           events_text(400, 21));
    const ir::Plan& plan = c.plan();
    for (const char* t : {"U", "V"})
        EXPECT_FALSE(codegen::type_fuses(plan, static_cast<size_t>(c.schema(t)))) << t;
    EXPECT_TRUE(codegen::type_fuses(plan, static_cast<size_t>(c.schema("T"))));
    auto compiled = compile(plan);
    ASSERT_NE(compiled, nullptr);
    EXPECT_EQ(compiled->kernels->type_kernel(static_cast<size_t>(c.schema("U"))), nullptr);
    EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema("T"))), nullptr);
    EXPECT_GT(check_all_modes(c), 100u);
}
TEST_F(TypeKernelTest, MergeStreamsRunInTypeKernels) {
    // Merge entries with and without filters (a type in two entries: the first that holds
    // takes the event), a fused window after a merge, a merge whose rows only go on to
    // another stream (merged schema and field list kept), a select after a merge, a whole-event
    // print and a sequence after merges.
    Case c(R"(
stream M = merge(stream M1 = T.where(x > 2), stream M2 = U, stream M3 = T.where(name == "a"))
    .window(3).aggregate(s: sum(x), n: count(), l: last(name)).emit(s: s, n: n, l: l)
stream N = merge(stream N1 = T.where(x < 4), stream N2 = V)
stream O = N.where(x != 1).emit(x: x, name: name, e: extra)
stream P = merge(stream P1 = U, stream P2 = V.where(x >= 0)).select(y: x * 2, name: name).where(y > 3).emit(y: y)
stream Q = merge(stream Q1 = U.where(x > 5), stream Q2 = V).print()
stream R = N as a -> U where x == a.x as b .emit(a: a.x, b: b.x)
)",
           events_text(900, 15));
    const ir::Plan& plan = c.plan();
    for (const char* t : {"T", "U", "V"})
        EXPECT_TRUE(codegen::type_fuses(plan, static_cast<size_t>(c.schema(t)))) << t;
    auto compiled = compile(plan);
    ASSERT_NE(compiled, nullptr);
    for (const char* t : {"T", "U", "V"})
        EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema(t))), nullptr) << t;
    EXPECT_GT(check_all_modes(c), 800u);
    RunResult got = run(c, compiled->kernels, {true, 4096, 0, -1});
    for (const char* s : {"\"stream\": \"M\"", "\"stream\": \"O\"", "\"stream\": \"P\"", "\"stream\": \"R\""})
        EXPECT_NE(got.out.find(s), std::string::npos) << s << " in\n" << got.out;
    EXPECT_NE(got.out.find("\"e\": "), std::string::npos) << "O reads a field only the whole event has";
    EXPECT_NE(got.diag.find("extra"), std::string::npos) << "Q prints whole merged events";
    // The per-row path uses the compiled merge filters too.
    const size_t m = static_cast<size_t>(std::find_if(plan.streams.begin(), plan.streams.end(),
                                                      [](const auto& sp) { return sp.name == "M"; }) -
                                         plan.streams.begin());
    EXPECT_NE(compiled->kernels->merge(m, 0), nullptr);
    EXPECT_EQ(compiled->kernels->merge(m, 1), nullptr) << "M2 has no filter";
    EXPECT_NE(compiled->kernels->merge(m, 2), nullptr);
}

TEST_F(TypeKernelTest, JoinsRunTheirGeneratedKernelsOnTheOperatorsOwnState) {
    // Joins of two and three sources, time retention (partners expire and are dropped) and a
    // count window (no expiry), a derived stream as a source, a source without its key field
    // (every event ignored), bare fields from the first present source, and a .where and
    // .emit after the join. The modes swap kernels in and out mid-stream: the kernels and
    // push()'s loop share the operator's arrays, so the outputs are the interpreter's.
    Case c(R"(
stream D = U.where(x > 2).select(name: name, y: x * 3)
stream J = join(T, U).on(T.name == U.name).window(40ms).where(T.x != U.x)
    .emit(n: T.name, tx: T.x, ux: U.x, x: x, e: extra)
stream K = join(T, U, V).on(T.name == U.name and U.name == V.name).window(5)
    .emit(n: name, t: T.x, u: U.x, v: V.x)
stream L = join(T, D).on(T.name == D.name).window(25ms).emit(n: name, t: T.x, y: D.y)
stream M = join(T, V).window(1s).emit(t: T.x, v: V.x)
)",
           events_text(1500, 16));
    const ir::Plan& plan = c.plan();
    auto compiled = compile(plan);
    ASSERT_NE(compiled, nullptr);
    size_t joins = 0;
    for (const auto& st : compiled->operators) {
        const ir::Operator& op = plan.streams[static_cast<size_t>(st.stream)].ops[static_cast<size_t>(st.op)];
        if (op.kind != ir::OpKind::Join) continue;
        ++joins;
        EXPECT_TRUE(codegen::compiles_join(plan, op)) << plan.streams[static_cast<size_t>(st.stream)].name;
        EXPECT_TRUE(st.compiled) << plan.streams[static_cast<size_t>(st.stream)].name;
        EXPECT_NE(st.note.find("compiled"), std::string::npos) << st.note;
        const auto& k = compiled->kernels->ops[static_cast<size_t>(st.stream)][static_cast<size_t>(st.op)];
        EXPECT_EQ(k.joins.size(), op.join->sources.size()) << "one kernel per source";
    }
    EXPECT_EQ(joins, 4u);
    check_all_modes(c);
    RunResult got = run(c, compiled->kernels, {false, 0, 0, -1});
    for (const char* s : {"\"stream\": \"J\"", "\"stream\": \"K\"", "\"stream\": \"L\""})
        EXPECT_NE(got.out.find(s), std::string::npos) << s << " in\n" << got.out;
    EXPECT_EQ(got.out.find("\"stream\": \"M\""), std::string::npos) << "V and T have no `symbol`: M never joins";
}

TEST_F(TypeKernelTest, TrendAggregatesCallTheirCompiledStepPredicates) {
    // GRETA step predicates that read only the event, and ones that read the predecessor
    // (`r.x`, `f.x` from a predecessor of another step type: alias fields as generated loads),
    // partitioned and not, with windows that close
    // mid-stream; kernels swapped in and out mid-stream. The counting stays runtime code.
    Case c(R"(
stream A = T as f -> all T where x > r.x as r .within(60ms)
    .trend_aggregate(n: count_trends(), s: sum_trends(r.x)) .emit(n: n, s: s)
stream B = U as u -> all T where x >= 2 and name != "skip" as t .partition_by(name) .within(80ms)
    .trend_aggregate(n: count_trends(), s: sum_trends(t.x)) .emit(name: name, n: n, s: s)
stream C = U as o -> all V as v .within(50ms) .trend_aggregate(n: count_trends()) .emit(n: n)
stream D = T as f -> all U where x > f.x or name == f.name as u .within(60ms)
    .trend_aggregate(n: count_trends(), s: sum_trends(u.x)) .emit(n: n, s: s)
)",
           events_text(700, 17));
    const ir::Plan& plan = c.plan();
    auto compiled = compile(plan);
    ASSERT_NE(compiled, nullptr);
    size_t trends = 0;
    for (const auto& st : compiled->operators) {
        const ir::Operator& op = plan.streams[static_cast<size_t>(st.stream)].ops[static_cast<size_t>(st.op)];
        if (op.kind != ir::OpKind::TrendAggregate) continue;
        ++trends;
        const std::string& name = plan.streams[static_cast<size_t>(st.stream)].name;
        // C has no step predicate: its whole GRETA update is a trend kernel instead
        // (compiled_trends_test); the others keep the counting in the runtime.
        EXPECT_TRUE(st.compiled) << name;
        const auto& kernels = compiled->kernels->ops[static_cast<size_t>(st.stream)][static_cast<size_t>(st.op)];
        const auto& steps = kernels.steps;
        EXPECT_EQ(kernels.trend != nullptr, name == "C") << name << ": trend kernel";
        if (name == "C") {
            EXPECT_TRUE(steps.empty()) << "no predicates, no kernels";
            EXPECT_NE(st.note.find("GRETA per-event update compiled"), std::string::npos) << st.note;
        } else {
            EXPECT_NE(st.note.find("GRETA counts and aggregates in the runtime"), std::string::npos) << st.note;
            ASSERT_EQ(steps.size(), 2u) << name;
            EXPECT_EQ(steps[0], nullptr) << name << ": the first step has no predicate";
            EXPECT_NE(steps[1], nullptr) << name;
        }
    }
    EXPECT_EQ(trends, 4u);
    EXPECT_EQ(compiled->fallback_nodes, 0u) << "predecessor fields are generated loads";
    check_all_modes(c);
    RunResult got = run(c, compiled->kernels, {false, 0, 0, -1});
    for (const char* s : {"\"stream\": \"A\"", "\"stream\": \"B\"", "\"stream\": \"C\"", "\"stream\": \"D\""})
        EXPECT_NE(got.out.find(s), std::string::npos) << s << " in\n" << got.out;
}

TEST_F(TypeKernelTest, AWindowFedByTheTypeKernelIsLeftToTheEngineWhenItDoesNotFuse) {
    // With window fusion off the engine buffers rows: a kernel generated for accumulators must
    // not run against it.
    Case c("stream A = T.window(3).aggregate(s: sum(x), n: count()).emit(s: s, n: n)\n", events_text(120, 13));
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    EXPECT_NE(compiled->kernels->type_kernel(static_cast<size_t>(c.schema("T"))), nullptr);
    const RunResult fused_run = run(c, compiled->kernels, {true, 4096, 0, -1});
    EXPECT_GT(fused_run.type_kernel_events, 0u);
    rt::set_window_fusion(false);
    const RunResult want = run(c, nullptr, Mode{});
    const RunResult got = run(c, compiled->kernels, {true, 4096, 0, -1});
    rt::set_window_fusion(true);
    EXPECT_EQ(got.type_kernel_events, 0u);
    EXPECT_EQ(got.out, want.out);
    EXPECT_EQ(got.out, fused_run.out);
}

TEST_F(TypeKernelTest, DeclaredFieldKindsAreSpeculatedNotTrusted) {
    // The aggregate arguments run specialised for the declared kinds (x float, y int, name
    // str) when an event has them, and as usual otherwise: ints for x, floats for y, strings,
    // NaN and infinities, missing fields, a key of another kind.
    const std::string program = R"(
event T:
    name: str
    x: float
    y: int
stream C = T.partition_by(name).window(3)
    .aggregate(name: last(name), s: sum(x * y), m: max(x), a: avg(y), f: first(y), l: last(x), n: count())
    .emit(event_type: "Counted", name: name, s: s, m: m, a: a, f: f, l: l, n: n)
stream D = T.window(40ms).aggregate(s: sum(x + y), sd: stddev(x), e: ema(y, 3), l: last(name))
    .emit(event_type: "Timed", s: s, sd: sd, e: e, l: l)
stream E = T.partition_by(name).window(session: 25ms).aggregate(lo: min(x - 1), hi: max(y * 2), n: count())
    .emit(event_type: "Session", lo: lo, hi: hi, n: n)
)";
    std::mt19937_64 rng(5);
    std::string events;
    size_t declared = 0;
    for (size_t i = 0; i < 900; ++i) {
        const uint64_t r = rng();
        std::string x = std::to_string(rng() % 50) + ".25", y = std::to_string(rng() % 9);
        std::string name = std::string("\"k") + std::to_string(rng() % 5) + "\"";
        switch (r % 16) {
            case 0: x = std::to_string(rng() % 7); break;   // an int where a float is declared
            case 1: y = "2.5"; break;                       // a float where an int is declared
            case 2: x = "\"s\""; break;
            case 3: x = "1e308"; y = "9"; break;   // x * y overflows to inf
            case 4: name = std::to_string(rng() % 3); break;
            case 6: x = "nan"; break;                       // a float, skipped by sum/max/stddev
            case 5: break;                                  // y missing (below)
            default: ++declared; break;
        }
        events += "@" + std::to_string(i * 7) + " T { name: " + name + ", x: " + x;
        if (r % 16 != 5) events += ", y: " + y;   // 5: y missing
        events += " }\n";
    }
    ASSERT_GT(declared, 500u) << "most events keep the declared kinds";
    Case c(program, events);
    uint64_t fused = check_all_modes(c);
    EXPECT_EQ(fused, 900u) << "every event runs in the type kernel";
    RunResult got = run(c, nullptr, Mode{});
    for (const char* kind : {"\"Counted\"", "\"Timed\"", "\"Session\""})
        EXPECT_NE(got.out.find(kind), std::string::npos) << kind << " in\n" << got.out;
}

TEST_F(TypeKernelTest, UndeclaredKindsRunTheOutlinedFeed) {
    // Events whose argument fields do not have their declared kinds take the general copy of
    // the aggregate's arguments, which lives in a function of its own (first stage's code,
    // preserve_most, called from the loop): string constants and first() reach it through its
    // parameters and the context.
    const std::string program = R"(
event T:
    name: str
    x: float
    y: int
stream C = T.partition_by(name).window(4)
    .aggregate(name: last(name), s: sum(if name == "k1" then x else y), f: first(x), l: last(y), n: count())
    .emit(event_type: "Fed", name: name, s: s, f: f, l: l, n: n)
)";
    std::mt19937_64 rng(11);
    std::string events;
    for (size_t i = 0; i < 400; ++i) {
        std::string x = std::to_string(rng() % 40) + ".5", y = std::to_string(rng() % 9);
        switch (rng() % 5) {
            case 0: x = std::to_string(rng() % 7); break;   // an int where a float is declared
            case 1: y = "\"s\""; break;                     // a string where an int is declared
            default: break;
        }
        events += "@" + std::to_string(i * 3) + " T { name: \"k" + std::to_string(rng() % 3) + "\", x: " + x + ", y: " + y + " }\n";
    }
    Case c(program, events);
    std::string ir_text, error;
    ASSERT_TRUE(compiler_->dump_llvm(c.plan(), false, ir_text, error)) << error;
    const std::string feed = "@vp_t" + std::to_string(c.schema("T")) + "_type_s0_feed(";
    const size_t def = ir_text.find("define preserve_mostcc void " + feed);
    ASSERT_NE(def, std::string::npos) << ir_text;
    EXPECT_NE(ir_text.find("call preserve_mostcc void " + feed), std::string::npos) << "the loop calls it";
    const size_t attrs = ir_text.find('#', ir_text.find(')', def));
    const std::string group = ir_text.substr(attrs, ir_text.find(' ', attrs) - attrs);
    const size_t line = ir_text.find("attributes " + group + " = ");
    ASSERT_NE(line, std::string::npos) << ir_text;
    EXPECT_NE(ir_text.substr(line, ir_text.find('\n', line) - line).find(codegen::kFirstStageAttribute), std::string::npos)
        << "compiled as in the first stage";
    EXPECT_EQ(check_all_modes(c), 400u) << "every event runs in the type kernel";
    RunResult got = run(c, nullptr, Mode{});
    EXPECT_NE(got.out.find("\"Fed\""), std::string::npos) << got.out;
}

TEST_F(TypeKernelTest, CountWindowsReopenTheirKeptGroupInGeneratedCode) {
    // A count window without ema opens the next window of a key in the group its partition
    // keeps, in generated code (open_group's window.reopen): every accumulator reset as
    // acc_reset does (min/max from infinities, first from absent), events lacking the key in
    // the "default" partition (absent-key groups), and the same state afterwards as the
    // interpreter's, checkpoint for checkpoint.
    const std::string program = R"(
event T:
    name: str
    x: float
stream C = T.partition_by(name).window(3)
    .aggregate(name: last(name), n: count(), s: sum(x), a: avg(x), lo: min(x), hi: max(x), sd: stddev(x),
               f: first(x), l: last(x))
    .emit(event_type: "Counted", name: name, n: n, s: s, a: a, lo: lo, hi: hi, sd: sd, f: f, l: l)
)";
    std::mt19937_64 rng(23);
    std::string events;
    for (size_t i = 0; i < 900; ++i) {
        std::string fields;
        switch (rng() % 8) {
            case 0: break;                                             // no key: "default"
            case 1: fields = "name: \"default\", "; break;             // the same partition, present key
            default: fields = "name: \"k" + std::to_string(rng() % 5) + "\", "; break;
        }
        const int64_t v = static_cast<int64_t>(rng() % 200) - 100;
        fields += rng() % 11 == 0 ? "x: \"s\"" : "x: " + std::to_string(v) + ".25";
        events += "@" + std::to_string(i) + " T { " + fields + " }\n";
    }
    Case c(program, events);
    std::string ir_text, error;
    ASSERT_TRUE(compiler_->dump_llvm(c.plan(), false, ir_text, error)) << error;
    EXPECT_NE(ir_text.find("window.reopen"), std::string::npos) << "the loop reopens count windows";
    EXPECT_EQ(check_all_modes(c), 900u) << "every event runs in the type kernel";
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    auto state = [&](bool compiled_run) {
        rt::Engine engine(c.plan(), c.interner, nullptr, stderr);
        if (compiled_run) engine.install_kernels(compiled->kernels);
        rt::EventBatch batch;
        engine.prepare(c.events.data(), c.events.size(), batch);
        engine.process_batch(batch);
        std::string blob = engine.save_checkpoint();
        // The engine section's uuid_state, after the three statistics, is seeded per engine,
        // and the trailing checksum covers it.
        blob.resize(blob.size() - 8);
        const rt::EngineStats s = engine.stats();
        std::string stats(24, '\0');
        std::memcpy(stats.data(), &s.events, 8);
        std::memcpy(stats.data() + 8, &s.outputs, 8);
        std::memcpy(stats.data() + 16, &s.unrouted, 8);
        const size_t at = blob.find(stats);
        EXPECT_NE(at, std::string::npos);
        if (at != std::string::npos) blob.replace(at + 24, 8, 8, '\0');
        return blob;
    };
    EXPECT_EQ(state(true), state(false)) << "window state after reopening in generated code";
    RunResult got = run(c, nullptr, Mode{});
    EXPECT_NE(got.out.find("\"Counted\""), std::string::npos) << got.out;
}

TEST_F(TypeKernelTest, ManyKeysAndUnsharedKeyStringsFindTheirPartitions) {
    // 3000 keys (colliding sets in the key cache evict one another) and keys longer than the
    // reader shares (a new string object per event: the cache never knows their address).
    std::mt19937_64 rng(17);
    std::string events;
    for (size_t i = 0; i < 12000; ++i) {
        const uint64_t k = rng() % 3000;
        std::string key = "k" + std::to_string(k);
        if (k % 3 == 0) key += "-a-key-longer-than-the-readers-shared-strings";
        events += "@" + std::to_string(i) + " T { name: \"" + key + "\", x: " + std::to_string(rng() % 100) + " }\n";
    }
    Case c(R"(
stream C = T.partition_by(name).window(4).aggregate(name: last(name), s: sum(x), n: count())
    .emit(name: name, s: s, n: n)
stream D = T.partition_by(name).window(3000ms).aggregate(s: sum(x), n: count()).emit(k: _partition, s: s, n: n)
stream E = T.partition_by(name).window(session: 2000ms).aggregate(hi: max(x), n: count())
    .emit(k: _partition, hi: hi, n: n)
)",
           events);
    uint64_t fused = check_all_modes(c);
    EXPECT_EQ(fused, 12000u) << "every event runs in the type kernel";
    RunResult got = run(c, nullptr, Mode{});
    EXPECT_NE(got.out.find("-a-key-longer-than-the-readers-shared-strings"), std::string::npos);
    EXPECT_GT(got.stats.outputs, 3000u);
}

TEST_F(TypeKernelTest, AKeyAddressReusedForAnotherKeyIsNotTakenForTheOldOne) {
    // The key cache finds partitions by string address. Input strings outlive the engine's
    // state, but a caller that breaks that and gets an address back for another key must still
    // get that key's partition: here the string of "k1" becomes "k2" in place between batches.
    const std::string program =
        "stream C = T.partition_by(k).window(2).aggregate(key: last(k), n: count()).emit(key: key, n: n)\n";
    const std::string want_text = "@0 T { k: \"k1\" }\n@1 T { k: \"k2\" }\n@2 T { k: \"k2\" }\n@3 T { k: \"k1\" }\n";
    for (bool compiled_run : {false, true}) {
        SCOPED_TRACE(compiled_run ? "compiled" : "interpreted");
        Case want_case(program, want_text);
        const RunResult want = run(want_case, nullptr, {true, 1, -1, -1});
        ASSERT_NE(want.out.find("\"k2\""), std::string::npos) << want.out;

        Case c(program, "@0 T { k: \"k1\" }\n@1 T { k: \"xx\" }\n@2 T { k: \"k2\" }\n@3 T { k: \"k1\" }\n");
        auto kernels = compiled_run ? compile(c.plan()) : nullptr;
        std::string out;
        rt::Engine engine(c.plan(), c.interner, [&](const rt::OutputEvent& e) {
            rt::append_output_line(out, e.stream, e.event_type, e.timestamp_ms, e.names, e.values, e.field_count);
        }, stderr);
        if (kernels) engine.install_kernels(kernels->kernels);
        auto key_of = [&](size_t i) { return const_cast<rt::StrObj*>(c.events[i].fields[0].value.s); };
        auto feed = [&](size_t i) {
            rt::EventBatch batch;
            engine.prepare(c.events.data() + i, 1, batch);
            engine.process_batch(batch, 0, 1);
        };
        feed(0);
        rt::StrObj* reused = key_of(0);
        std::memcpy(reused->data, "k2", 2);
        reused->hash = rt::fnv1a("k2");
        c.events[1].fields[0].value = rt::Value::string(reused);
        feed(1);
        feed(2);
        std::memcpy(reused->data, "k1", 2);
        reused->hash = rt::fnv1a("k1");
        c.events[3].fields[0].value = rt::Value::string(reused);
        feed(3);
        engine.finish();
        EXPECT_EQ(out, want.out);
        EXPECT_EQ(engine.type_kernel_events(), kernels ? 4u : 0u);
    }
}

/// Events of types A, B, C and D (D read by nobody), partition key k, values v and s, times
/// that go back now and then; v is now and then a float or missing.
std::string pattern_events_text(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string out;
    int64_t ts = 0;
    for (size_t i = 0; i < n; ++i) {
        ts += static_cast<int64_t>(rng() % 3);
        if (rng() % 13 == 0) ts = std::max<int64_t>(0, ts - 3);
        const char type = "ABCD"[rng() % 4];
        const uint64_t odd = rng() % 16;
        const std::string v = odd == 0 ? ", v: " + std::to_string(rng() % 10) + ".5" : odd == 1 ? "" : ", v: " + std::to_string(rng() % 10);
        out += "@" + std::to_string(ts) + " " + type + " { k: " + std::to_string(rng() % 3) + v +
               ", s: " + (rng() % 2 ? "\"x\"" : "\"y\"") + " }\n";
    }
    return out;
}

/// Any-match patterns whose step predicates read no alias keep stacks, and the engine hands
/// the runs of rows routed to them alone to PatternMatcher::scan (skipped rows only move the
/// expiry time): taken and skipped rows, rows of a type another stream also reads, unrouted
/// rows and times out of order must give what per-event processing gives, in every mode.
TEST_F(TypeKernelTest, StackPatternsScanTheirRowsInEveryMode) {
    const std::string programs[] = {
        "pattern P = SEQ(A where v < 5 as a, B+ where v >= 3 as b, C where v < 4 as c) within 8ms partition by k "
        "strategy skip_till_any_match\n"
        "stream M = P .emit(k: c.k, a: a.v, n: len(b), c: c.v)\n",
        // C rows also go to another stream: they leave the scan for the per-row path.
        "pattern P = SEQ(A where v < 5 as a, B where v >= 3 as b, C where v < 4 as c) within 6ms partition by k "
        "strategy skip_till_any_match\n"
        "stream M = P .emit(k: c.k, a: a.v, b: b.v, c: c.v)\n"
        "stream Cs = C .where(v > 7) .emit(v: v)\n",
        // A step without predicate and a string comparison; not partitioned.
        "pattern P = SEQ(A as a, B where s == \"x\" and v > 2 as b, C where s != \"x\" as c) within 5ms "
        "strategy skip_till_any_match\n"
        "stream M = P .emit(a: a.v, b: b.v, c: c.s)\n",
        // Declared kinds: compiled predicates take a path for rows that keep them (floats and
        // missing values take the other).
        "event A:\n    k: int\n    v: int\n    s: str\nevent B:\n    k: int\n    v: int\n    s: str\n"
        "event C:\n    k: int\n    v: int\n    s: str\n"
        "pattern P = SEQ(A where v < 5 as a, B+ where v >= 3 and s == \"x\" as b, C where v < 4 as c) within 8ms "
        "partition by k strategy skip_till_any_match\n"
        "stream M = P .emit(k: c.k, a: a.v, n: len(b), c: c.v)\n",
        // Matches through a projection and on to another stream (the compiled tail chain
        // takes each match as the walk finds it, and the rows it forwards are copies).
        "pattern P = SEQ(A where v < 5 as a, B where v >= 3 as b, C where v < 4 as c) within 12ms partition by k "
        "strategy skip_till_any_match\n"
        "stream M = P .where(b.v != 4) .select(k: c.k, a: a.v, b: b.v)\n"
        "stream N = M .where(a != 2) .emit(k: k, s: a + b)\n",
        // A middle step on another stream's output: A and C rows are scanned, Bx rows reach
        // the matcher one level down, from drain() between two scanned rows.
        "stream Bx = B .where(v > 2) .emit(k: k, v: v)\n"
        "pattern P = SEQ(A where v < 5 as a, Bx as b, C where v < 4 as c) within 8ms partition by k "
        "strategy skip_till_any_match\n"
        "stream M = P .emit(k: c.k, a: a.v, b: b.v, c: c.v)\n",
    };
    for (size_t p = 0; p < std::size(programs); ++p) {
        for (uint64_t seed : {1u, 2u}) {
            SCOPED_TRACE("program " + std::to_string(p) + " seed " + std::to_string(seed));
            Case c(programs[p], pattern_events_text(3000, seed));
            const RunResult interp = run(c, nullptr, Mode{});
            EXPECT_GT(interp.stats.outputs, 20u) << "the pattern matches";
            check_all_modes(c);
        }
    }
}

}  // namespace
