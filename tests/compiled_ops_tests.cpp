// Effect kernels (codegen::compiles_effect): `.print`, `.to`, `.distinct` and `.process` run as
// generated code with their effects in the engine (runtime/abi.hpp OpRun). Every program here
// must give the interpreter's outputs and `.print`/`.to` text byte for byte, per event, on
// prepared rows and across a swap, and the compiler must report the operators compiled.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
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

class CompiledOpsTest : public kernel_run::JitFixture {
protected:
    /// Runs `c` interpreted and compiled in every mode; all must match. Returns the
    /// interpreter's result for further checks.
    static RunResult same_everywhere(Case& c, bool* matched = nullptr) {
        std::string error;
        auto compiled = compiler_->compile(c.plan(), error);
        EXPECT_NE(compiled, nullptr) << error;
        if (!compiled) return {};
        const RunResult interp = run(c, nullptr, Mode{});
        struct Named {
            const char* name;
            Mode mode;
        };
        const long mid = static_cast<long>(c.events.size() / 2);
        for (const Named& m : {Named{"jit per event", Mode{false, 0, 0, -1}}, Named{"jit prepared rows", Mode{true, 7, 0, -1}},
                               Named{"swap mid-stream", Mode{false, 0, mid, -1}},
                               Named{"swap mid-batch", Mode{true, 5, mid, -1}}}) {
            RunResult got = run(c, compiled->kernels, m.mode);
            EXPECT_EQ(got.out, interp.out) << m.name;
            EXPECT_EQ(got.diag, interp.diag) << m.name;
            EXPECT_EQ(got.stats.outputs, interp.stats.outputs) << m.name;
            if (matched && (got.out != interp.out || got.diag != interp.diag || got.stats.outputs != interp.stats.outputs))
                *matched = false;
        }
        return interp;
    }

    /// Whether every operator of kind `kind` is reported compiled (what explain prints).
    static void expect_compiled(const ir::Plan& plan, ir::OpKind kind, bool want) {
        std::string error;
        auto compiled = compiler_->compile(plan, error);
        ASSERT_NE(compiled, nullptr) << error;
        size_t seen = 0;
        for (const auto& st : compiled->operators) {
            const ir::Operator& op = plan.streams[static_cast<size_t>(st.stream)].ops[static_cast<size_t>(st.op)];
            if (op.kind != kind) continue;
            ++seen;
            EXPECT_EQ(st.compiled, want) << plan.streams[static_cast<size_t>(st.stream)].name << " op " << st.op;
            EXPECT_EQ(codegen::compiles_effect(plan, op), want);
        }
        EXPECT_GT(seen, 0u) << "no operator of that kind";
    }

};

const char* kReadings =
    "@0 Reading { v: 1, name: \"a\" }\n"
    "@1 Reading { v: 1.0, name: \"b\" }\n"
    "@2 Reading { name: \"no v\" }\n"
    "@3 Reading { v: 7, name: \"quote \\\" and \\\\ slash\" }\n"
    "@4 Reading { v: 2.5 }\n"
    "@5 Reading { v: \"str\", name: \"s\" }\n"
    "@6 Reading { v: 1, name: \"a\" }\n"
    "@7 Reading { v: -3, name: \"neg\", timestamp: 99, event_type: \"X\" }\n"
    "@8 Reading { v: 0, name: \"zero\" }\n";

TEST_F(CompiledOpsTest, PrintArgumentsAndWholeEvents) {
    Case c(R"(
stream P = Reading
    .print(v, name, v * 2, v / 2, v / 0, name + "!", if v > 1 then "big" else "small", "const")
    .print()
    .where(v != 0)
    .emit(v: v)
)",
           kReadings);
    RunResult r = same_everywhere(c);
    EXPECT_NE(r.diag.find("[PRINT] 7 "), std::string::npos) << r.diag;
    EXPECT_NE(r.diag.find("[PRINT] [P] Reading: {"), std::string::npos) << r.diag;
    expect_compiled(c.plan(), ir::OpKind::Print, true);
}

TEST_F(CompiledOpsTest, ToConsoleConnector) {
    Case c(R"(
connector Out = console()
connector Elsewhere = kafka(topic: "t")

stream T = Reading
    .where(name != "zero")
    .to(Out)
    .to(Elsewhere)
    .emit(name: name)
)",
           kReadings);
    RunResult r = same_everywhere(c);
    EXPECT_NE(r.diag.find("\"event_type\": \"Reading\""), std::string::npos) << r.diag;
    expect_compiled(c.plan(), ir::OpKind::To, true);
}

TEST_F(CompiledOpsTest, DistinctByKeyAndWholeEvent) {
    // 1 and 1.0 display differently, so they are different keys; an absent key is one key.
    Case c(R"(
stream ByV = Reading
    .distinct(v)
    .emit(v: v, name: name)

stream ByExpr = Reading
    .distinct(if v > 0 then "pos" else name)
    .emit(name: name)

stream Whole = Reading
    .distinct()
    .emit(name: name)
)",
           kReadings);
    RunResult r = same_everywhere(c);
    EXPECT_GT(r.stats.outputs, 0u);
    expect_compiled(c.plan(), ir::OpKind::Distinct, true);
}

TEST_F(CompiledOpsTest, DistinctForgetsTheOldestKeyPastItsMemory) {
    // SEMANTICS §5.6: 100000 keys are remembered; the oldest is forgotten first.
    std::string evt;
    const int n = 100001;
    for (int i = 0; i < n; ++i) evt += "@" + std::to_string(i) + " E { k: " + std::to_string(i) + " }\n";
    evt += "@" + std::to_string(n) + " E { k: 0 }\n";       // forgotten: passes again
    evt += "@" + std::to_string(n + 1) + " E { k: 2 }\n";   // still remembered: dropped
    Case c("stream D = E\n    .distinct(k)\n    .emit(k: k)\n", evt);
    RunResult r = same_everywhere(c);
    EXPECT_EQ(r.stats.outputs, static_cast<uint64_t>(n) + 1);
}

const char* kWalk = R"(
var runs = 0

fn walk(n: int, label: str, scale: float):
    var i = 0
    var acc = 0
    while true:
        if i >= n:
            break
        i := i + 1
        if i % 3 == 0:
            continue
        elif i % 3 == 1:
            acc := acc + i
        else:
            acc := acc - 1
        if acc > 10:
            emit Big(i: i, acc: acc, label: label + "-big", r: acc * scale)
            if acc > 20:
                return acc
        else:
            emit Small(i: i, half: acc / 2, label: label)
    for x in [1, 2.5, "s", n]:
        if x == 2.5:
            continue
        if x == n:
            break
        emit Item(x: x, n: n)
    runs := runs + 1
    emit Done(runs: runs, label: upper(label), scale: scale)
    acc

stream W = Go
    .process(walk(n, label, scale))

stream Big = W
    .where(acc > 12)
    .emit(i: i, acc: acc)
)";

TEST_F(CompiledOpsTest, ProcessBodyStatements) {
    Case c(kWalk,
           "@0 Go { n: 4, label: \"x\", scale: 0.5 }\n"
           "@1 Go { n: 12, label: \"y\", scale: 2 }\n"
           "@2 Go { n: 40, label: \"z\" }\n"
           "@3 Go { label: \"no n\", scale: 1.5 }\n"
           "@4 Go { n: 2.5, label: \"float n\", scale: 1 }\n"
           "@5 Go { n: \"str\" }\n"
           "@6 Go { n: 1, label: \"w\", scale: 3 }\n");
    RunResult r = same_everywhere(c);
    EXPECT_NE(r.out.find("\"Big\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"Done\""), std::string::npos) << r.out;
    expect_compiled(c.plan(), ir::OpKind::Process, true);
}

TEST_F(CompiledOpsTest, ProcessLoopLimitEndsTheCall) {
    // Past ten million iterations a call gives up (runtime/eval.cpp): what it emitted before
    // stays, the rest of the body does not run.
    Case c(R"(
fn spin(tag: str):
    emit Before(tag: tag)
    var i = 0
    while true:
        i := i + 1
    emit After(tag: tag)

stream S = Go
    .process(spin(tag))
)",
           "@0 Go { tag: \"a\" }\n");
    RunResult r = same_everywhere(c);
    EXPECT_EQ(r.stats.outputs, 1u) << r.out;
    EXPECT_NE(r.out.find("Before"), std::string::npos) << r.out;
}

TEST_F(CompiledOpsTest, ProcessCallingUserFunctionsCompiles) {
    // The called functions run in the interpreter (through fallbacks), one call level less
    // deep than under the interpreter, which no non-recursive chain can notice.
    Case c(R"(
fn twice(x: int) -> int:
    return x * 2

fn label(x: int) -> str:
    if twice(x) > 2:
        return "big"
    return "small"

fn gen(n: int):
    var i = 0
    while i < n:
        emit Out(v: twice(i), l: label(i), m: i.twice())
        i := i + 1

stream S = Go
    .process(gen(n))
)",
           "@0 Go { n: 3 }\n@1 Go { n: 1 }\n@2 Go { n: 2.5 }\n");
    RunResult r = same_everywhere(c);
    EXPECT_EQ(r.stats.outputs, 7u) << r.out;
    expect_compiled(c.plan(), ir::OpKind::Process, true);
}

TEST_F(CompiledOpsTest, ProcessThatMayRecurseStaysInterpreted) {
    // Recursion meets the interpreter's call-depth limit (200 levels): a compiled body would
    // meet it a level later, so such bodies keep the interpreter and explain says why.
    Case c(R"(
fn down(n: int) -> int:
    if n <= 0:
        return 0
    return 1 + down(n - 1)

fn gen(n: int):
    emit Out(v: down(n), w: down(3))

stream S = Go
    .process(gen(n))
)",
           "@0 Go { n: 198 }\n@1 Go { n: 199 }\n@2 Go { n: 200 }\n@3 Go { n: 500 }\n");
    RunResult r = same_everywhere(c);
    EXPECT_EQ(r.stats.outputs, 4u) << r.out;
    expect_compiled(c.plan(), ir::OpKind::Process, false);
    EXPECT_EQ(codegen::effect_note(c.plan(), c.plan().streams[0].ops[0]),
              "fn gen may recurse (the interpreter counts the call-depth limit)");
}

TEST_F(CompiledOpsTest, NotesSayWhatTheRuntimeDoes) {
    Case c(R"(
connector Out = console()

stream S = Reading
    .print()
    .print(v)
    .distinct()
    .distinct(v)
    .to(Out)
)",
           kReadings);
    const auto& ops = c.plan().streams[0].ops;
    ASSERT_EQ(ops.size(), 5u);
    EXPECT_EQ(codegen::effect_note(c.plan(), ops[0]), "whole event formatted and printed by runtime helper");
    EXPECT_EQ(codegen::effect_note(c.plan(), ops[1]), "arguments compiled, printed by runtime helper");
    EXPECT_EQ(codegen::effect_note(c.plan(), ops[2]), "key hashed by runtime helper");
    EXPECT_EQ(codegen::effect_note(c.plan(), ops[3]), "key compiled, seen-set in runtime helper");
    EXPECT_EQ(codegen::effect_note(c.plan(), ops[4]), "no expressions; sent by runtime helper");
    same_everywhere(c);
}

TEST_F(CompiledOpsTest, ProcessWithBuiltinsArraysAndMaps) {
    Case c(R"(
fn parts(text: str, m: int):
    let words = split(text, " ")
    var k = 0
    for w in words:
        k := k + 1
        if len(w) == 0:
            continue
        emit Word(w: w, k: k, big: len(w) > m, rev: w + "/" + text)
    for e in {"a": 1, "b": m}:
        emit Pair(key: e[0], value: e[1])
    if k == 0:
        emit Empty(text: text)

stream S = Go
    .process(parts(text, m))
)",
           "@0 Go { text: \"ab  cde f\", m: 1 }\n@1 Go { text: \"\", m: 2 }\n@2 Go { m: 3 }\n");
    RunResult r = same_everywhere(c);
    EXPECT_GT(r.stats.outputs, 3u) << r.out;
    expect_compiled(c.plan(), ir::OpKind::Process, true);
}

/// Random `.process` function bodies: every statement form, nested loops with break and
/// continue, early returns, emits of computed fields, a global, over events whose fields are
/// missing or of another kind. Loops are bounded by counters so no case runs into the
/// iteration limit (ProcessLoopLimitEndsTheCall covers that).
class BodyGenerator {
public:
    explicit BodyGenerator(uint64_t seed) : rng_(seed) {}

    std::string program() {
        std::string p = "var runs = 0\n\nfn g(z: int) -> int:\n    if z > 3:\n        return z * 2\n    z + 1\n\n";
        p += "fn f(a: int, b: float, s: str):\n";
        p += "    var x = 0\n    var y = 1.5\n    var t = \"t\"\n";
        for (int d = 0; d < kMaxDepth; ++d) p += "    var i" + std::to_string(d) + " = 0\n";
        block(p, 1, 0, 2 + pick(4));
        p += "    runs := runs + 1\n    emit Done(x: x, y: y, t: t, runs: runs)\n";
        p += "\nstream S = Go\n    .process(f(a, b, s))\n";
        return p;
    }

    std::string events() {
        std::string e;
        for (int i = 0; i < 12; ++i) {
            e += "@" + std::to_string(i) + " Go {";
            std::string sep = " ";
            auto field = [&](const char* name, const std::string& v) {
                e += sep + name + ": " + v;
                sep = ", ";
            };
            switch (pick(5)) {
                case 0: break;
                case 1: field("a", std::to_string(static_cast<int>(pick(7)) - 3) + ".5"); break;
                case 2: field("a", "\"x\""); break;
                default: field("a", std::to_string(static_cast<int>(pick(9)) - 4)); break;
            }
            if (pick(4)) field("b", std::to_string(pick(5)) + "." + std::to_string(pick(10)));
            if (pick(4)) field("s", "\"" + std::string(pick(3), 'w') + "\"");
            e += " }\n";
        }
        return e;
    }

private:
    static constexpr int kMaxDepth = 3;

    uint64_t pick(uint64_t n) { return rng_() % n; }

    std::string value(int depth) {
        if (depth > 2 || pick(3) == 0) {
            static const char* const kLeaves[] = {"a", "b", "x", "y", "1", "2", "0", "2.5", "-1", "s", "t", "runs", "null", "g(x)", "g(a)"};
            return kLeaves[pick(std::size(kLeaves))];
        }
        static const char* const kOps[] = {" + ", " - ", " * ", " / ", " % "};
        switch (pick(6)) {
            case 0: return "(" + value(depth + 1) + kOps[pick(std::size(kOps))] + value(depth + 1) + ")";
            case 1: return "len(" + value(depth + 1) + ")";
            case 2: return "(if " + condition(depth + 1) + " then " + value(depth + 1) + " else " + value(depth + 1) + ")";
            case 3: return "(s + \"" + std::to_string(pick(3)) + "\")";
            case 4: return "abs(" + value(depth + 1) + ")";
            default: return "(" + value(depth + 1) + kOps[pick(3)] + value(depth + 1) + ")";
        }
    }

    std::string condition(int depth) {
        static const char* const kCmp[] = {" < ", " <= ", " > ", " >= ", " == ", " != "};
        switch (depth > 2 ? 0 : pick(4)) {
            case 1: return "(" + condition(depth + 1) + (pick(2) ? " and " : " or ") + condition(depth + 1) + ")";
            case 2: return "not (" + condition(depth + 1) + ")";
            default: return "(" + value(depth + 1) + kCmp[pick(std::size(kCmp))] + value(depth + 1) + ")";
        }
    }

    void line(std::string& p, int indent, const std::string& text) { p += std::string(4 * indent, ' ') + text + "\n"; }

    /// `n` statements at `indent`; `loops` enclosing loops (break/continue allowed when > 0).
    void block(std::string& p, int indent, int loops, int n) {
        for (int i = 0; i < n; ++i) statement(p, indent, loops);
    }

    void statement(std::string& p, int indent, int loops) {
        const bool nest = indent <= kMaxDepth;
        switch (pick(nest ? 11 : 6)) {
            case 0: line(p, indent, "x := " + value(0)); break;
            case 1: line(p, indent, "y := " + value(0)); break;
            case 2: line(p, indent, "t := t + \"" + std::to_string(pick(10)) + "\""); break;
            case 3:
                line(p, indent, "emit E" + std::to_string(pick(3)) + "(p: " + value(0) + ", q: " + value(0) + ", x: x)");
                break;
            case 4:
                if (loops > 0 && pick(2)) line(p, indent, pick(2) ? "break" : "continue");
                else line(p, indent, "y := y + 1");
                break;
            case 5:
                // (A bare `return` followed by an `emit` line does not parse: the front end
                // reads the next line as its value.)
                if (pick(6) == 0) line(p, indent, pick(2) ? "return x" : "return y");
                else line(p, indent, "x := x + 1");
                break;
            case 6:
            case 7: {
                line(p, indent, "if " + condition(0) + ":");
                block(p, indent + 1, loops, 1 + pick(3));
                const uint64_t elifs = pick(3);
                for (uint64_t e = 0; e < elifs; ++e) {
                    line(p, indent, "elif " + condition(0) + ":");
                    block(p, indent + 1, loops, 1 + pick(2));
                }
                if (pick(2)) {
                    line(p, indent, "else:");
                    block(p, indent + 1, loops, 1 + pick(2));
                }
                break;
            }
            case 8: {
                // The counter advances first, so `continue` cannot loop forever.
                const std::string i = "i" + std::to_string(indent - 1);
                line(p, indent, i + " := 0");
                line(p, indent, "while " + i + " < " + std::to_string(1 + pick(4)) + ":");
                line(p, indent + 1, i + " := " + i + " + 1");
                block(p, indent + 1, loops + 1, 1 + pick(3));
                break;
            }
            default: {
                const std::string v = "v" + std::to_string(indent);
                line(p, indent, "for " + v + " in " +
                                    (pick(2) ? "0.." + std::to_string(pick(4)) : "[1, 2.5, \"z\", a]") + ":");
                line(p, indent + 1, "x := x + " + (pick(2) ? v : std::string("1")));
                block(p, indent + 1, loops + 1, 1 + pick(3));
                break;
            }
        }
    }

    std::mt19937_64 rng_;
};

TEST_F(CompiledOpsTest, RandomProcessBodies) {
    const uint64_t seed0 = std::getenv("VARPULIS_OPS_SEED") ? std::strtoull(std::getenv("VARPULIS_OPS_SEED"), nullptr, 10) : 1;
    const int cases = std::getenv("VARPULIS_OPS_CASES") ? std::atoi(std::getenv("VARPULIS_OPS_CASES")) : 60;
    int compiled = 0;
    for (int i = 0; i < cases; ++i) {
        const uint64_t seed = seed0 + static_cast<uint64_t>(i);
        BodyGenerator g(seed);
        const std::string program = g.program();
        Case c(program, g.events());
        if (!c.comp->ok()) {
            ADD_FAILURE() << "seed " << seed << ": generated program rejected:\n" << program;
            continue;
        }
        compiled += codegen::compiles_effect(c.plan(), c.plan().streams[0].ops[0]);
        bool matched = true;
        same_everywhere(c, &matched);
        if (!matched) {
            ADD_FAILURE() << "seed " << seed << " (VARPULIS_OPS_SEED=" << seed << " VARPULIS_OPS_CASES=1):\n" << program;
            break;
        }
    }
    EXPECT_EQ(compiled, cases) << "every generated body compiles";
}

}  // namespace
