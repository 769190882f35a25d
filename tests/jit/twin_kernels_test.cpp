// Streams of the same shape over types of the same layout: their type loops (and tails) are
// compiled once, as one function taking the constants in which they differ
// (jit/twin_functions.hpp), and must still give the interpreter's outputs however the engine is
// fed.

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>

#include "tests/support/jit_fixture.hpp"
#include "tests/support/kernel_run.hpp"

namespace kernel_run = varpulis::kernel_run;

namespace {

using kernel_run::Case;
using kernel_run::Mode;
using kernel_run::RunResult;
using kernel_run::run;

class TwinKernelTest : public kernel_run::JitFixture {
protected:
    /// The body of function `name` in `ir_text` (empty when it is not defined there).
    static std::string body_of(const std::string& ir_text, const std::string& name) {
        for (size_t at = ir_text.find("@" + name + "("); at != std::string::npos;
             at = ir_text.find("@" + name + "(", at + 1)) {
            const size_t line = ir_text.rfind('\n', at) + 1;   // npos + 1 == 0: the first line
            if (ir_text.compare(line, 7, "define ") != 0) continue;
            const size_t end = ir_text.find("\n}\n", at);
            return ir_text.substr(at, end == std::string::npos ? std::string::npos : end - at);
        }
        return {};
    }

    /// Per-event, prepared-row (several batch sizes), swapped-in and swapped-out runs all give
    /// the interpreter's outputs; returns the events the type kernels ran from the start.
    static uint64_t check_feeds(Case& c) {
        const RunResult want = same_everywhere(c);
        auto compiled = compile(c.plan());
        if (!compiled) return 0;
        const long n = static_cast<long>(c.events.size());
        for (const auto& [name, mode] : {std::pair<const char*, Mode>{"batches of 1", {true, 1, 0, -1}},
                                         {"batches of 13", {true, 13, 0, -1}},
                                         {"installed mid-batch", {true, 4096, n / 3, -1}},
                                         {"removed mid-batch", {true, 4096, 0, n / 2}}}) {
            RunResult got = run(c, compiled->kernels, mode);
            EXPECT_EQ(got.out, want.out) << name;
            EXPECT_EQ(got.diag, want.diag) << name;
        }
        return run(c, compiled->kernels, {true, 4096, 0, -1}).type_kernel_events;
    }
};

/// Events of types A, B and C (same layout), partition keys k0..k3, with a few of another kind.
std::string events_text(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        const char* type = rng() % 3 == 0 ? "A" : (rng() % 2 ? "B" : "C");
        std::string x = std::to_string(rng() % 20) + "." + std::to_string(rng() % 10);
        if (rng() % 17 == 0) x = std::to_string(rng() % 20);   // an int where a float is declared
        out += "@" + std::to_string(i * 5) + " " + type + " { name: \"k" + std::to_string(rng() % 4) + "\", x: " + x +
               " }\n";
    }
    return out;
}

TEST_F(TwinKernelTest, LoopsThatDifferInConstantsShareOneBody) {
    // Same shape, different filter constants, window sizes, having thresholds and event names:
    // the loops of A, B and C are one function with those as arguments.
    Case c(R"(
event A:
    name: str
    x: float
event B:
    name: str
    x: float
event C:
    name: str
    x: float
stream SA = A.where(x > 2.0).partition_by(name).window(4)
    .aggregate(name: last(name), avg: avg(x), sd: stddev(x), n: count())
    .having(avg > 5.0)
    .emit(event_type: "SA", name: name, avg: avg, sd: sd, n: n)
stream SB = B.where(x > 7.5).partition_by(name).window(6)
    .aggregate(name: last(name), avg: avg(x), sd: stddev(x), n: count())
    .having(avg > 10.0)
    .emit(event_type: "SB", name: name, avg: avg, sd: sd, n: n)
stream SC = C.where(x > 2.0).partition_by(name).window(4)
    .aggregate(name: last(name), avg: avg(x), sd: stddev(x), n: count())
    .having(avg > 1.0)
    .emit(event_type: "SC", name: name, avg: avg, sd: sd, n: n)
)",
           events_text(900, 7));
    std::string ir_text, error;
    ASSERT_TRUE(compiler_->dump_llvm(c.plan(), true, ir_text, error)) << error;
    std::string shared;
    for (const char* t : {"A", "B", "C"}) {
        const std::string loop = "vp_t" + std::to_string(c.schema(t)) + "_type";
        const std::string body = body_of(ir_text, loop);
        ASSERT_FALSE(body.empty()) << loop << " is still a kernel of its own\n" << ir_text;
        const size_t call = body.find("call i64 @vp_t");
        ASSERT_NE(call, std::string::npos) << loop << " calls the shared loop\n" << body;
        const std::string callee = body.substr(call + 10, body.find('(', call) - call - 10);
        EXPECT_NE(callee.find("_twins"), std::string::npos) << body;
        if (shared.empty()) shared = callee;
        EXPECT_EQ(callee, shared) << "all three loops run the same code";
    }
    EXPECT_NE(body_of(ir_text, shared).find("ptr %ctx, "), std::string::npos)
        << "the shared loop takes the constants after the kernel's own parameters";
    EXPECT_EQ(check_feeds(c), 900u) << "A, B and C events all run in the type kernels";
    const RunResult interp = run(c, nullptr, Mode{});
    for (const char* s : {"\"SA\"", "\"SB\"", "\"SC\""})
        EXPECT_NE(interp.out.find(s), std::string::npos) << s << " has outputs, so its constants were exercised";
}

TEST_F(TwinKernelTest, IdenticalLoopsCallTheFirstOne) {
    // The same stream over two types: nothing differs but the type; the second loop jumps to
    // the first, whose window is its own stream's.
    Case c(R"(
event A:
    name: str
    x: float
event B:
    name: str
    x: float
stream SA = A.partition_by(name).window(3).aggregate(name: last(name), s: sum(x), n: count())
    .emit(event_type: "S", name: name, s: s, n: n)
stream SB = B.partition_by(name).window(3).aggregate(name: last(name), s: sum(x), n: count())
    .emit(event_type: "S", name: name, s: s, n: n)
)",
           events_text(600, 3));
    const std::string text = events_text(600, 3);
    uint64_t routed = 0;   // C events are read by no stream
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        const size_t type = line.find(' ') + 1;
        routed += line.compare(type, 2, "A ") == 0 || line.compare(type, 2, "B ") == 0;
    }
    std::string ir_text, error;
    ASSERT_TRUE(compiler_->dump_llvm(c.plan(), true, ir_text, error)) << error;
    const std::string a = "vp_t" + std::to_string(c.schema("A")) + "_type";
    const std::string b = "vp_t" + std::to_string(c.schema("B")) + "_type";
    const std::string body_a = body_of(ir_text, a), body_b = body_of(ir_text, b);
    ASSERT_FALSE(body_a.empty()) << ir_text;
    ASSERT_FALSE(body_b.empty()) << ir_text;
    // Their window differs (stream 0 and 1), so they differ in that index at least.
    EXPECT_NE(body_a.find("_twins("), std::string::npos) << body_a;
    EXPECT_NE(body_b.find("_twins("), std::string::npos) << body_b;
    ASSERT_GT(routed, 300u);
    EXPECT_EQ(check_feeds(c), routed) << "A and B events all run in the type kernels";
}

TEST_F(TwinKernelTest, LoopsOfDifferentShapesKeepTheirOwnCode) {
    Case c(R"(
event A:
    name: str
    x: float
event B:
    name: str
    x: float
stream SA = A.where(x > 2.0).partition_by(name).window(4).aggregate(name: last(name), avg: avg(x))
    .emit(event_type: "SA", name: name, avg: avg)
stream SB = B.partition_by(name).window(4).aggregate(name: last(name), mx: max(x))
    .emit(event_type: "SB", name: name, mx: mx)
)",
           events_text(300, 5));
    std::string ir_text, error;
    ASSERT_TRUE(compiler_->dump_llvm(c.plan(), true, ir_text, error)) << error;
    EXPECT_EQ(ir_text.find("_type_twins("), std::string::npos) << "a filter and another aggregate: not twins\n" << ir_text;
    check_feeds(c);
}

}  // namespace
