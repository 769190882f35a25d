// The JIT tier (codegen/, jit/) against the reference interpreter: hand-built expression
// kernels, plans compiled from VPL run through the engine in every mode, the code cache and
// code release, and a seeded random differential test over expression trees.

#include "jit/jit_loader.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ir/compiler.hpp"
#include "ir/printer.hpp"
#include "runtime/engine.hpp"
#include "runtime/eval.hpp"
#include "runtime/value_io.hpp"
#include "runtime/value_ops.hpp"
#include "tests/support/batch_plan.hpp"
#include "tests/support/ir_builders.hpp"

using namespace varpulis::runtime;
namespace ir = varpulis::ir;
namespace jit = varpulis::jit;

namespace {

using namespace varpulis::test_support;

constexpr double kInf = std::numeric_limits<double>::infinity();


/// Exactly the same value: kind and payload bits. Strings, arrays and maps are compared by
/// content (each engine allocates its own copy); any NaN equals any NaN (LLVM may fold a
/// constant NaN with another sign than the hardware produces, see the report).
bool identical(const Value& a, const Value& b) {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case ValueKind::Float:
            return std::bit_cast<uint64_t>(a.f) == std::bit_cast<uint64_t>(b.f) || (std::isnan(a.f) && std::isnan(b.f));
        case ValueKind::Str:
        case ValueKind::Array:
        case ValueKind::Map: return values_equal(a, b) && to_display(a) == to_display(b);
        default: return a.i == b.i;
    }
}

/// Interpreter state for evaluating a batch plan's expressions.
struct Env {
    Interner interner;
    Arena heap;
    Runtime rt;
    explicit Env(const ir::Plan& plan) {
        rt.plan = &plan;
        rt.heap = &heap;
        rt.interner = &interner;
        rt.globals.assign(plan.globals.size(), Value::absent());
    }
    EvalContext context(const Row& row) {
        EvalContext c;
        c.rt = &rt;
        c.row = &row;
        c.now_ms = row.ts;
        c.has_now = true;
        return c;
    }
};

class JitTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string error;
        jit::JitOptions options;
        if (const char* level = std::getenv("VARPULIS_JIT_OPT")) options.opt_level = std::atoi(level);
        compiler_ = jit::load_jit(options, error).release();
        ASSERT_NE(compiler_, nullptr) << "JIT set-up failed: " << error;
    }
    static void TearDownTestSuite() {
        delete compiler_;
        compiler_ = nullptr;
    }

    std::shared_ptr<const jit::CompiledPlan> compile(const ir::Plan& plan) {
        std::string error;
        auto c = compiler_->compile(plan, error);
        EXPECT_NE(c, nullptr) << "compile failed: " << error;
        return c;
    }

    /// Evaluates expression `i` of a batch plan on `slots` with the interpreter, the projection
    /// kernel and the filter kernel, and checks they agree.
    static void check(Env& env, const ir::Plan& plan, const jit::CompiledPlan& c, size_t i, const Value* slots,
                      const std::string& what) {
        Row row{slots, 0, 1000, nullptr, nullptr, 0};
        const ir::Expr& e = *plan.streams[0].ops[i].exprs[0];
        EvalContext ci = env.context(row);
        Value want = eval(e, ci);
        bool want_keep = eval_condition(&e, ci);

        const KernelTable& t = *c.kernels;
        ASSERT_NE(t.ops[0][i].project, nullptr) << "projection not compiled";
        Value got;
        EvalContext cj = env.context(row);
        std::vector<Value> consts;
        for (const ir::Expr* k : t.constants) consts.push_back(Value::string(env.interner.intern(k->lit.s)));
        KernelContext kc{&cj, t.nodes.data(), consts.data()};
        t.ops[0][i].project(slots, &got, &kc);
        ASSERT_NE(t.ops[1][i].filter, nullptr) << "filter not compiled";
        int32_t keep = t.ops[1][i].filter(slots, &kc);

        std::string row_text;
        for (size_t s = 0; s < plan.schemas[0].fields.size(); ++s)
            row_text += " $" + std::to_string(s) + "=" + describe(slots[s]);
        for (size_t g = 0; g < env.rt.globals.size(); ++g)
            row_text += " @" + std::to_string(g) + "=" + describe(env.rt.globals[g]);
        EXPECT_TRUE(identical(want, got)) << what << ": " << ir::expr_to_string(plan, &e, true)
                                             << "\n  row:" << row_text << "\n  interpreter: " << describe(want)
                                             << "\n  jit:         " << describe(got);
        EXPECT_EQ(keep, want_keep ? 1 : 0) << what << ": filter on " << ir::expr_to_string(plan, &e, true)
                                           << "\n  row:" << row_text;
    }

    /// Checks every expression on every row.
    void differential(const std::vector<ExprPtr>& exprs, const std::vector<std::vector<Value>>& rows,
                      const std::vector<Value>& globals = {}, jit::JitCompiler* with = nullptr) {
        size_t width = rows.empty() ? 0 : rows[0].size();
        ir::Plan plan = batch_plan(exprs, width, globals.size());
        Env env(plan);
        env.rt.globals = globals;
        std::string error;
        auto c = (with ? with : compiler_)->compile(plan, error);
        ASSERT_NE(c, nullptr) << "compile failed: " << error;
        for (size_t r = 0; r < rows.size(); ++r)
            for (size_t i = 0; i < exprs.size(); ++i) check(env, plan, *c, i, rows[r].data(), "row " + std::to_string(r));
    }

    static jit::JitCompiler* compiler_;
};

jit::JitCompiler* JitTest::compiler_ = nullptr;

std::vector<ExprPtr> all_binary(const ExprPtr& a, const ExprPtr& b) {
    std::vector<ExprPtr> out;
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Mod, BinaryOp::Pow,
                        BinaryOp::Eq, BinaryOp::Ne, BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt, BinaryOp::Ge, BinaryOp::Xor})
        out.push_back(bin(op, a, b));
    return out;
}

// ---------------------------------------------------------------- hand-built kernels

TEST_F(JitTest, IntArithmeticWrapsAndDivisionByZeroHasNoValue) {
    std::vector<Value> edge = {Value::integer(0), Value::integer(1), Value::integer(-1), Value::integer(7),
                               Value::integer(-7), Value::integer(kMin), Value::integer(kMax)};
    std::vector<std::vector<Value>> rows;
    for (const Value& x : edge)
        for (const Value& y : edge) rows.push_back({x, y});
    differential(all_binary(field({0}), field({1})), rows);
}

TEST_F(JitTest, FloatAndMixedNumbersFollowValueOps) {
    std::vector<Value> edge = {Value::floating(0.0),   Value::floating(-0.0),  Value::floating(1.5),
                               Value::floating(-2.5),  Value::floating(kNaN),  Value::floating(kInf),
                               Value::floating(-kInf), Value::floating(9223372036854775808.0),
                               Value::floating(-9223372036854775808.0), Value::floating(9007199254740992.0),
                               Value::integer(0),      Value::integer(3),      Value::integer(kMax),
                               Value::integer(kMin),   Value::integer(9007199254740993)};
    std::vector<std::vector<Value>> rows;
    for (const Value& x : edge)
        for (const Value& y : edge) rows.push_back({x, y});
    differential(all_binary(field({0}), field({1})), rows);
}

TEST_F(JitTest, ComparisonsWithAConstantSideFollowValueOps) {
    // A constant's kind is known when the comparison is generated, so only the kind pairs the
    // other side can make get code (an int and a float inline, where two fields go through
    // vp_compare_int_float); every kind on the other side, and constants on both sides.
    Interner in;
    std::vector<Value> edge = {Value::floating(0.0),  Value::floating(-0.0), Value::floating(2.5),
                               Value::floating(kNaN), Value::floating(9007199254740992.0),
                               Value::floating(9223372036854775808.0), Value::integer(3),
                               Value::integer(kMax),  Value::integer(9007199254740993), Value::boolean(true),
                               Value::string(in.intern("x")), Value::absent(), Value::null()};
    std::vector<ExprPtr> constants = {lit_int(3), lit_int(kMax), lit_int(9007199254740993), lit_float(2.5),
                                      lit_float(kNaN), lit_float(-0.0), lit_float(9007199254740992.0),
                                      lit_bool(true), lit_str("x"), lit_null()};
    std::vector<ExprPtr> exprs;
    for (const ExprPtr& k : constants)
        for (BinaryOp op : {BinaryOp::Eq, BinaryOp::Ne, BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt, BinaryOp::Ge}) {
            exprs.push_back(bin(op, field({0}), k));
            exprs.push_back(bin(op, k, field({0})));
            for (const ExprPtr& other : constants) exprs.push_back(bin(op, k, other));
        }
    std::vector<std::vector<Value>> rows;
    for (const Value& x : edge) rows.push_back({x});
    differential(exprs, rows);
}

TEST_F(JitTest, NonNumbersGoThroughTheHelpers) {
    Interner in;
    std::vector<Value> edge = {Value::absent(),      Value::null(),        Value::boolean(true),
                               Value::boolean(false), Value::string(in.intern("ab")), Value::string(in.intern("b")),
                               Value::timestamp(5'000'000), Value::duration(1'000'000), Value::integer(2)};
    std::vector<std::vector<Value>> rows;
    for (const Value& x : edge)
        for (const Value& y : edge) rows.push_back({x, y});
    auto exprs = all_binary(field({0}), field({1}));
    exprs.push_back(un(UnaryOp::Neg, field({0})));
    exprs.push_back(un(UnaryOp::Not, field({0})));
    exprs.push_back(un(UnaryOp::BitNot, field({0})));
    differential(exprs, rows);
}

TEST_F(JitTest, AbsentFieldsFallBackToCandidatesThenGlobals) {
    std::vector<ExprPtr> exprs = {field({0}), field({1, 0}), field({1}, 0), field({1}, 1), field({1}, 7),
                                  global(0),  global(1),     global(9),     field({}, 0),  field({})};
    std::vector<std::vector<Value>> rows = {{Value::integer(1), Value::absent()},
                                            {Value::absent(), Value::absent()},
                                            {Value::absent(), Value::floating(2.5)}};
    differential(exprs, rows, {Value::integer(42), Value::absent()});
}

TEST_F(JitTest, ThreeValuedLogic) {
    std::vector<ExprPtr> exprs;
    for (ExprOp op : {ExprOp::And, ExprOp::Or}) exprs.push_back(logic(op, field({0}), field({1})));
    exprs.push_back(un(UnaryOp::Not, field({0})));
    auto cond = node(ExprOp::If, {field({0}), lit_int(1), lit_int(2)});
    exprs.push_back(cond);
    exprs.push_back(node(ExprOp::If, {field({0}), lit_float(1.5), field({1})}));
    std::vector<Value> vals = {Value::boolean(true), Value::boolean(false), Value::absent(), Value::integer(1),
                               Value::null()};
    std::vector<std::vector<Value>> rows;
    for (const Value& x : vals)
        for (const Value& y : vals) rows.push_back({x, y});
    differential(exprs, rows);
}

TEST_F(JitTest, StringsCallsAndMembershipUseTheInterpreter) {
    Interner in;
    std::vector<ExprPtr> exprs = {
        bin(BinaryOp::Add, field({0}), lit_str("-x")),
        bin(BinaryOp::Eq, field({0}), lit_str("ab")),
        bin(BinaryOp::Lt, field({0}), lit_str("b")),
        bin(BinaryOp::In, field({0}), node(ExprOp::Array, {lit_str("ab"), lit_str("c")})),
        bin(BinaryOp::NotIn, lit_str("a"), field({0})),
        call(Builtin::Len, {field({0})}),
        call(Builtin::Upper, {field({0})}),
        bin(BinaryOp::Add, call(Builtin::Len, {field({0})}), field({1})),
        node(ExprOp::If, {bin(BinaryOp::Gt, field({1}), lit_int(0)), call(Builtin::ToString, {field({1})}), lit_null()}),
    };
    std::vector<std::vector<Value>> rows = {{Value::string(in.intern("ab")), Value::integer(3)},
                                            {Value::string(in.intern("")), Value::floating(-1.0)},
                                            {Value::absent(), Value::absent()},
                                            {Value::integer(5), Value::string(in.intern("q"))}};
    differential(exprs, rows);
    auto stats = compile(batch_plan(exprs, 2, 0));
    ASSERT_NE(stats, nullptr);
    EXPECT_GT(stats->fallback_nodes, 0u) << "strings and calls are expected to call vp_eval_fallback";
    EXPECT_GT(stats->inlined_nodes, 0u);
}

// ---------------------------------------------------------------- plans from VPL through the engine

std::unique_ptr<ir::Compilation> compile_vpl(const std::string& text) {
    auto c = ir::compile_source("test.vpl", text, ir::CompileStage::Lower);
    EXPECT_TRUE(c->ok()) << "VPL does not compile:\n" << text;
    return c;
}

struct EventSpec {
    std::string type;
    int64_t ts;
    std::vector<std::pair<std::string, Value>> fields;
};

/// Runs `events` through an engine; `swap_at` < 0: interpreter only; 0: kernels before the
/// first event; n: kernels installed after n events. Returns the JSON output lines.
std::string run_engine(const ir::Plan& plan, Interner& interner, const std::vector<EventSpec>& events,
                       std::shared_ptr<const KernelTable> kernels, long swap_at) {
    std::string out;
    Engine engine(
        plan, interner,
        [&](const OutputEvent& e) {
            append_output_line(out, e.stream, e.event_type, e.timestamp_ms, e.names, e.values, e.field_count);
        },
        stderr);
    for (size_t i = 0; i < events.size(); ++i) {
        if (kernels && static_cast<long>(i) == swap_at) engine.install_kernels(kernels);
        const EventSpec& s = events[i];
        std::vector<Field> fields;
        for (const auto& [name, v] : s.fields) fields.push_back({interner.intern(name), v});
        InputEvent ev;
        ev.type = interner.intern(s.type);
        ev.timestamp_ms = s.ts;
        ev.fields = fields.data();
        ev.field_count = static_cast<uint32_t>(fields.size());
        engine.process(ev);
        if (kernels && static_cast<long>(i) >= swap_at) {
            EXPECT_TRUE(engine.kernels_active()) << "kernels adopted at the event boundary";
        }
    }
    engine.finish();
    return out;
}

TEST_F(JitTest, VplPlansGiveIdenticalOutputsInEveryMode) {
    const std::string program = R"(
let limit = 100
var bonus = 2.5
event Trade:
    sym: str
    px: float
    qty: int
stream Big = Trade
    .where(qty >= limit and px > 1.5 or sym == "X")
    .emit(sym: sym, notional: px * qty, half: qty / 2, rest: qty % 7, tag: sym + "!", b: bonus, neg: -px)
stream Odd = Trade
    .where(not (qty % 2 == 0))
    .select(q: qty, p: if px > 10.0 then px else 0.0, big: qty > 1000000)
    .where(q > 3)
    .emit(q: q, p: p, big: big, l: len(sym))
)";
    auto c = compile_vpl(program);
    ASSERT_TRUE(c->ok());
    Interner interner;
    std::vector<EventSpec> events;
    std::mt19937_64 rng(7);
    const char* syms[] = {"A", "X", "BB"};
    for (int i = 0; i < 200; ++i) {
        EventSpec e{"Trade", 1000 + i, {}};
        if (rng() % 5) e.fields.push_back({"sym", Value::string(interner.intern(syms[rng() % 3]))});
        switch (rng() % 4) {
            case 0: e.fields.push_back({"px", Value::floating(static_cast<double>(rng() % 4000) / 100.0)}); break;
            case 1: e.fields.push_back({"px", Value::integer(static_cast<int64_t>(rng() % 40))}); break;
            case 2: e.fields.push_back({"px", Value::floating(kNaN)}); break;
            default: break;
        }
        if (rng() % 6) e.fields.push_back({"qty", Value::integer(static_cast<int64_t>(rng() % 300) - 20)});
        else e.fields.push_back({"qty", Value::floating(150.0)});
        events.push_back(std::move(e));
    }
    auto compiled = compile(*c->plan);
    ASSERT_NE(compiled, nullptr);
    for (const auto& op : compiled->operators)
        EXPECT_TRUE(op.compiled) << "stream " << op.stream << " op " << op.op << " should be compiled";
    std::string interp = run_engine(*c->plan, interner, events, nullptr, -1);
    EXPECT_FALSE(interp.empty());
    EXPECT_EQ(run_engine(*c->plan, interner, events, compiled->kernels, 0), interp) << "jit from the start";
    for (long swap : {1L, 57L, 199L})
        EXPECT_EQ(run_engine(*c->plan, interner, events, compiled->kernels, swap), interp) << "swap after " << swap;
}

// ---------------------------------------------------------------- fused streams

TEST_F(JitTest, FilterAndProjectionStreamsRunAsOneChainKernel) {
    // A: filter → emit (fused). B: select → filter → emit, the filter inline (fused) and reading
    // the selected row. C: reads B's output (fused; fed by forwarding). D: a window (not fused).
    // E: a filter after a projection that calls the interpreter (not fused: the interpreter
    // would see the projected row). F: a merge (not fused).
    const std::string program = R"(
stream A = T.where(x > 1 and name != "skip").emit(event_type: "Big", name: name, y: x * 2)
stream B = T.select(z: x + 1, name: name).where(z > 3).emit(z: z, tag: "b")
stream C = B.where(z > 4).emit(w: z * 10)
stream D = T.window(2).aggregate(n: count())
stream E = T.select(z: x).where(upper(name) == "A").emit(z: z)
stream F = merge(stream L = T.where(x > 2), U).emit(x: x)
)";
    auto c = compile_vpl(program);
    auto compiled = compile(*c->plan);
    ASSERT_NE(compiled, nullptr);
    std::vector<std::string> fused;
    for (size_t s = 0; s < c->plan->streams.size(); ++s)
        if (compiled->kernels->chain(s)) fused.push_back(c->plan->streams[s].name);
    EXPECT_EQ(fused, (std::vector<std::string>{"A", "B", "C"}));

    Interner interner;
    std::vector<EventSpec> events;
    const char* names[] = {"a", "skip", "b", "A"};
    for (int i = 0; i < 40; ++i) {
        std::vector<std::pair<std::string, Value>> f;
        if (i % 7 != 3) f.push_back({"x", i % 5 == 0 ? Value::floating(i * 0.5) : Value::integer(i % 9)});
        if (i % 11 != 5) f.push_back({"name", Value::string(interner.intern(names[i % 4]))});
        events.push_back({i % 6 == 5 ? "U" : "T", i * 10, f});
    }
    std::string interp = run_engine(*c->plan, interner, events, nullptr, -1);
    EXPECT_NE(interp.find("\"Big\""), std::string::npos) << interp;
    EXPECT_NE(interp.find("\"stream\": \"C\""), std::string::npos) << interp;
    EXPECT_EQ(run_engine(*c->plan, interner, events, compiled->kernels, 0), interp) << "jit from the start";
    for (long swap : {1L, 13L})
        EXPECT_EQ(run_engine(*c->plan, interner, events, compiled->kernels, swap), interp) << "swap after " << swap;
}

TEST_F(JitTest, AggregateArgumentsRunCompiled) {
    // Arguments inline (x * 2, a field, a string constant), through the interpreter (len), and
    // absent (count, missing fields, strings where numbers are expected).
    const std::string program = R"(
stream G = T.partition_by(name).window(3).aggregate(n: count(), s: sum(x * 2), a: avg(x), lo: min(x),
    hi: max(x), f: first(name), l: last(x), d: count_distinct(name), sd: stddev(x), ln: sum(len(name)),
    c: last("k"), e: ema(x, 2))
    .emit(n: n, s: s, a: a, lo: lo, hi: hi, f: f, l: l, d: d, sd: sd, ln: ln, c: c, e: e)
stream W = T.window(4).aggregate(total: sum(x) + count(), mix: max(x) / min(x)).emit(total: total, mix: mix)
)";
    auto c = compile_vpl(program);
    auto compiled = compile(*c->plan);
    ASSERT_NE(compiled, nullptr);
    size_t aggregates = 0;
    for (const auto& st : compiled->operators) {
        const ir::Operator& op = c->plan->streams[static_cast<size_t>(st.stream)].ops[static_cast<size_t>(st.op)];
        if (op.kind != ir::OpKind::Aggregate) continue;
        ++aggregates;
        EXPECT_TRUE(st.compiled) << "aggregate of " << c->plan->streams[static_cast<size_t>(st.stream)].name;
    }
    EXPECT_EQ(aggregates, 2u);

    Interner interner;
    std::vector<EventSpec> events;
    const char* names[] = {"a", "bb", "a", "ccc"};
    for (int i = 0; i < 60; ++i) {
        std::vector<std::pair<std::string, Value>> f;
        if (i % 7 == 3) f.push_back({"x", Value::string(interner.intern("oops"))});
        else if (i % 5 != 4) f.push_back({"x", i % 3 == 0 ? Value::floating(i * 0.25 - 3) : Value::integer(i % 11 - 4)});
        if (i % 13 != 6) f.push_back({"name", Value::string(interner.intern(names[i % 4]))});
        events.push_back({"T", i * 10, f});
    }
    std::string interp = run_engine(*c->plan, interner, events, nullptr, -1);
    EXPECT_NE(interp.find("\"stream\": \"G\""), std::string::npos) << interp;
    EXPECT_NE(interp.find("\"stream\": \"W\""), std::string::npos) << interp;
    EXPECT_EQ(run_engine(*c->plan, interner, events, compiled->kernels, 0), interp) << "jit from the start";
    EXPECT_EQ(run_engine(*c->plan, interner, events, compiled->kernels, 7), interp) << "swap after 7";
}

TEST_F(JitTest, PatternStepPredicatesRunCompiled) {
    // Alias fields of single and Kleene aliases, len(), an unbound alias (absent), a string
    // constant, mixed int/float and a call that goes through the interpreter; three strategies.
    const std::string program = R"(
pattern Rise = SEQ(
    T where price > 1 as first,
    T+ where price > first.price and len(rising) < 4 as rising,
    T where price > rising.price and name != "skip" as last
) within 60s partition by name strategy skip_till_any_match
stream R = Rise.emit(n: last.name, s: first.price, e: last.price, k: len(rising))
stream Q = T as a
    -> T where price >= a.price * 2 or upper(name) == "B" as b
    .within(30s)
    .emit(a: a.price, b: b.price)
stream S = T as a
    -> U where q == a.price as b
    .within(10s)
    .emit(a: a.price, q: b.q)
)";
    auto c = compile_vpl(program);
    auto compiled = compile(*c->plan);
    ASSERT_NE(compiled, nullptr);
    size_t step_kernels = 0;
    for (const auto& stream_ops : compiled->kernels->ops)
        for (const auto& op : stream_ops)
            for (auto* k : op.steps) step_kernels += k != nullptr;
    EXPECT_EQ(step_kernels, 5u) << "every step with a predicate gets a kernel";

    Interner interner;
    std::vector<EventSpec> events;
    const char* names[] = {"a", "b", "skip", "a"};
    for (int i = 0; i < 120; ++i) {
        std::vector<std::pair<std::string, Value>> f;
        int p = (i * 37) % 23;
        if (i % 9 != 4) f.push_back({"price", i % 4 == 0 ? Value::floating(p * 0.5) : Value::integer(p)});
        f.push_back({"name", Value::string(interner.intern(names[(i / 3) % 4]))});
        if (i % 5 == 0) events.push_back({"U", i * 700, {{"q", Value::integer(p)}}});
        events.push_back({"T", i * 700 + 1, f});
    }
    std::string interp = run_engine(*c->plan, interner, events, nullptr, -1);
    for (const char* stream : {"R", "Q", "S"})
        EXPECT_NE(interp.find(std::string("\"stream\": \"") + stream + "\""), std::string::npos) << stream << "\n" << interp;
    EXPECT_EQ(run_engine(*c->plan, interner, events, compiled->kernels, 0), interp) << "jit from the start";
    EXPECT_EQ(run_engine(*c->plan, interner, events, compiled->kernels, 50), interp) << "swap after 50";
}

// ---------------------------------------------------------------- cache and release

TEST_F(JitTest, IdenticalIrIsServedFromTheCache) {
    const std::string program = R"(
stream S = T.where(x > 1 and name == "a").emit(y: x * 2, n: name + "b", u: upper(name))
)";
    auto first = compile_vpl(program);
    auto a = compile(*first->plan);
    ASSERT_NE(a, nullptr);
    auto second = compile_vpl(program);
    auto b = compile(*second->plan);
    ASSERT_NE(b, nullptr);
    EXPECT_FALSE(a->cache_hit);
    EXPECT_TRUE(b->cache_hit) << "an identical plan must not be recompiled";
    EXPECT_EQ(a->version, b->version);
    EXPECT_EQ(a->ir_hash, b->ir_hash);
    ASSERT_FALSE(a->kernels->nodes.empty()) << "upper() calls the interpreter";
    EXPECT_NE(a->kernels->nodes, b->kernels->nodes) << "fallback nodes come from each plan";
    ASSERT_EQ(a->kernels->constants.size(), 2u) << "\"a\" and \"b\" are loaded from the constant table";
    EXPECT_NE(a->kernels->constants, b->kernels->constants) << "string constants come from each plan";

    // The cached code runs on the second plan after the first one is gone.
    a.reset();
    first.reset();
    Interner interner;
    std::vector<EventSpec> events = {{"T", 1, {{"x", Value::integer(5)}, {"name", Value::string(interner.intern("a"))}}},
                                     {"T", 2, {{"x", Value::integer(0)}, {"name", Value::string(interner.intern("a"))}}}};
    std::string interp = run_engine(*second->plan, interner, events, nullptr, -1);
    EXPECT_EQ(run_engine(*second->plan, interner, events, b->kernels, 0), interp);
    EXPECT_NE(interp.find("\"n\": \"ab\", \"u\": \"A\""), std::string::npos) << interp;

    auto other = compile_vpl("stream S = T.where(x > 2).emit(y: x * 2)\n");
    auto d = compile(*other->plan);
    ASSERT_NE(d, nullptr);
    EXPECT_FALSE(d->cache_hit) << "a different plan is compiled";
    EXPECT_NE(d->version, b->version);
}

TEST_F(JitTest, QuickTierCompilesTheSameKernelsAsASeparateVersion) {
    const std::string program = R"(
stream S = T.where(x > 1).emit(y: x * 2 + 1)
stream A = T.window(3).aggregate(s: sum(x), m: max(x * 1.5))
)";
    auto c = compile_vpl(program);
    std::string error;
    auto quick = compiler_->compile(*c->plan, error, jit::CompileTier::Quick);
    ASSERT_NE(quick, nullptr) << error;
    auto full = compile(*c->plan);
    ASSERT_NE(full, nullptr);
    EXPECT_EQ(quick->tier, jit::CompileTier::Quick);
    EXPECT_EQ(full->tier, jit::CompileTier::Full);
    EXPECT_NE(quick->version, full->version) << "the tiers are different code, cached apart";
    auto again = compiler_->compile(*c->plan, error, jit::CompileTier::Quick);
    ASSERT_NE(again, nullptr) << error;
    EXPECT_TRUE(again->cache_hit);
    EXPECT_EQ(again->version, quick->version);

    // Interchangeable in the engine: the same operators compiled, the same kernel slots.
    ASSERT_EQ(quick->operators.size(), full->operators.size());
    for (size_t i = 0; i < full->operators.size(); ++i)
        EXPECT_EQ(quick->operators[i].compiled, full->operators[i].compiled) << "operator " << i;
    ASSERT_EQ(quick->kernels->types.size(), full->kernels->types.size());
    size_t loops = 0;
    for (size_t t = 0; t < full->kernels->types.size(); ++t) {
        EXPECT_EQ(quick->kernels->types[t] != nullptr, full->kernels->types[t] != nullptr) << "type " << t;
        loops += quick->kernels->types[t] != nullptr;
    }
    EXPECT_EQ(loops, 1u) << "T has a type loop in both tiers";

    Interner interner;
    std::vector<EventSpec> events;
    for (int i = 0; i < 10; ++i) events.push_back({"T", i, {{"x", Value::integer(i % 4)}}});
    const std::string interp = run_engine(*c->plan, interner, events, nullptr, -1);
    EXPECT_EQ(run_engine(*c->plan, interner, events, quick->kernels, 0), interp) << "quick from the first event";
    EXPECT_EQ(run_engine(*c->plan, interner, events, quick->kernels, 4), interp) << "quick after 4 events";
    EXPECT_NE(interp.find("\"y\": 7"), std::string::npos) << interp;
    compiler_->release(quick->version);
    compiler_->release(full->version);
}

// ---------------------------------------------------------------- split compiles

/// Two input types with a type loop each (windowed aggregates), a join of their results and
/// kernels for every code generator: a module that splits into two parts.
const char* const kSplitProgram = R"(
event Temp:
    loc: str
    v: float
event Pres:
    loc: str
    v: float
stream TS = Temp.partition_by(loc).window(4).aggregate(loc: last(loc), a: avg(v), s: stddev(v), n: count())
    .having(s > 0.5)
stream PS = Pres.partition_by(loc).window(3).aggregate(loc: last(loc), a: avg(v), m: max(v))
stream J = join(TS, PS).on(TS.loc == PS.loc).window(30s)
    .select(loc: TS.loc, score: TS.s * PS.m, d: TS.a - PS.a).where(score > 1.0)
    .emit(loc: loc, score: score, d: d)
)";

std::vector<EventSpec> split_events(Interner& interner) {
    std::vector<EventSpec> events;
    std::mt19937_64 rng(11);
    const char* locs[] = {"n", "s", "e"};
    for (int i = 0; i < 300; ++i) {
        Value loc = Value::string(interner.intern(locs[rng() % 3]));
        Value v = rng() % 9 ? Value::floating(static_cast<double>(rng() % 1000) / 37.0)
                            : Value::integer(static_cast<int64_t>(rng() % 50));   // off the declared kind
        events.push_back({rng() % 2 ? "Temp" : "Pres", 1000 + i * 10, {{"loc", loc}, {"v", v}}});
    }
    return events;
}

std::unique_ptr<jit::JitCompiler> jit_with(int threads, int fail_part = -1) {
    jit::JitOptions o;
    o.compile_threads = threads;
    o.fail_part = fail_part;
    std::string error;
    auto j = jit::load_jit(o, error);
    EXPECT_NE(j, nullptr) << error;
    return j;
}

TEST_F(JitTest, ASplitCompileGivesTheSameKernelsAndOutputsAsOneModule) {
    if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: compiles are never split";
    auto c = compile_vpl(kSplitProgram);
    auto one = jit_with(1);
    auto two = jit_with(2);
    ASSERT_TRUE(one && two);
    Interner interner;
    const std::vector<EventSpec> events = split_events(interner);
    const std::string interp = run_engine(*c->plan, interner, events, nullptr, -1);
    EXPECT_NE(interp.find("\"score\""), std::string::npos) << "the join matches: " << interp;
    for (jit::CompileTier tier : {jit::CompileTier::Full, jit::CompileTier::Quick}) {
        const char* name = tier == jit::CompileTier::Full ? "full" : "quick";
        std::string error;
        auto a = one->compile(*c->plan, error, tier);
        ASSERT_NE(a, nullptr) << error;
        auto b = two->compile(*c->plan, error, tier);
        ASSERT_NE(b, nullptr) << error;
        EXPECT_EQ(a->parts, 1u) << name << ": one module";
        EXPECT_EQ(b->parts, 2u) << name << ": two parts on two threads";
        EXPECT_EQ(a->ir_hash, b->ir_hash) << name;
        ASSERT_EQ(a->operators.size(), b->operators.size()) << name;
        for (size_t i = 0; i < a->operators.size(); ++i)
            EXPECT_EQ(a->operators[i].compiled, b->operators[i].compiled) << name << ": operator " << i;
        ASSERT_EQ(a->kernels->types.size(), b->kernels->types.size()) << name;
        size_t loops = 0;
        for (size_t t = 0; t < a->kernels->types.size(); ++t) {
            EXPECT_EQ(a->kernels->types[t] != nullptr, b->kernels->types[t] != nullptr) << name << ": type " << t;
            loops += b->kernels->types[t] != nullptr;
        }
        EXPECT_EQ(loops, 2u) << name << ": Temp and Pres have a type loop each";
        ASSERT_EQ(a->kernels->ops.size(), b->kernels->ops.size()) << name;
        for (size_t s = 0; s < a->kernels->ops.size(); ++s)
            for (size_t k = 0; k < a->kernels->ops[s].size(); ++k) {
                const OpKernels& x = a->kernels->ops[s][k];
                const OpKernels& y = b->kernels->ops[s][k];
                EXPECT_EQ(!!x.chain, !!y.chain) << name << ": stream " << s << " op " << k;
                EXPECT_EQ(!!x.project, !!y.project) << name << ": stream " << s << " op " << k;
                EXPECT_EQ(x.joins.size(), y.joins.size()) << name << ": stream " << s << " op " << k;
            }
        EXPECT_EQ(run_engine(*c->plan, interner, events, b->kernels, 0), interp) << name << ": split, from the start";
        EXPECT_EQ(run_engine(*c->plan, interner, events, b->kernels, 97), interp) << name << ": split, after 97";
        EXPECT_EQ(run_engine(*c->plan, interner, events, a->kernels, 0), interp) << name << ": one module";

        auto again = two->compile(*c->plan, error, tier);
        ASSERT_NE(again, nullptr) << error;
        EXPECT_TRUE(again->cache_hit) << name << ": a split version is cached like any other";
        EXPECT_EQ(again->version, b->version) << name;
        EXPECT_EQ(again->parts, 2u) << name;
    }
    // Freed as a whole: both parts' objects are under the version's one tracker.
    const size_t resident = two->resident_versions();
    std::string error;
    auto d = two->compile(*compile_vpl(std::string(kSplitProgram) + "stream X = Temp.where(v > 3.0)\n")->plan, error);
    ASSERT_NE(d, nullptr) << error;
    EXPECT_EQ(d->parts, 2u);
    EXPECT_EQ(two->resident_versions(), resident + 1);
    EXPECT_TRUE(two->release(d->version));
    d.reset();
    EXPECT_EQ(two->resident_versions(), resident) << "a split version's code is freed with its last user";
}

TEST_F(JitTest, AFailingPartFailsTheWholeCompileAndLeavesNothingBehind) {
    if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: compiles are never split";
    auto c = compile_vpl(kSplitProgram);
    for (int failing : {0, 1}) {
        auto j = jit_with(2, failing);
        ASSERT_NE(j, nullptr);
        for (jit::CompileTier tier : {jit::CompileTier::Full, jit::CompileTier::Quick}) {
            std::string error;
            auto r = j->compile(*c->plan, error, tier);
            EXPECT_EQ(r, nullptr) << "part " << failing << " failed";
            EXPECT_NE(error.find("part " + std::to_string(failing) + " failed"), std::string::npos) << error;
            EXPECT_EQ(j->resident_versions(), 0u) << "no code version is left loaded";
            EXPECT_EQ(j->cached_versions(), 0u) << "nor cached";
        }
        // A plan with no kernel compiles no part, so none can fail.
        std::string error;
        auto none = j->compile(*compile_vpl("event T:\n    x: int\nstream S = T\n")->plan, error);
        ASSERT_NE(none, nullptr) << error;
        EXPECT_EQ(none->parts, 0u);
    }
    // The same plan compiles when no part fails, and a second compiler is unaffected.
    auto ok = jit_with(2);
    std::string error;
    auto r = ok->compile(*c->plan, error);
    ASSERT_NE(r, nullptr) << error;
    Interner interner;
    const std::vector<EventSpec> events = split_events(interner);
    EXPECT_EQ(run_engine(*c->plan, interner, events, r->kernels, 0), run_engine(*c->plan, interner, events, nullptr, -1));
}

TEST_F(JitTest, ReleaseFreesAVersionOnceUnused) {
    auto c = compile_vpl("stream S = T.where(x > 12345).emit(y: x - 1)\n");
    const size_t resident = compiler_->resident_versions();
    const size_t cached = compiler_->cached_versions();
    auto compiled = compile(*c->plan);
    ASSERT_NE(compiled, nullptr);
    EXPECT_EQ(compiler_->resident_versions(), resident + 1);
    EXPECT_EQ(compiler_->cached_versions(), cached + 1);

    EXPECT_TRUE(compiler_->release(compiled->version));
    EXPECT_FALSE(compiler_->release(compiled->version)) << "already released";
    EXPECT_EQ(compiler_->cached_versions(), cached);
    EXPECT_EQ(compiler_->resident_versions(), resident + 1) << "still in use by the CompiledPlan";

    std::shared_ptr<const KernelTable> table = compiled->kernels;
    compiled.reset();
    EXPECT_EQ(compiler_->resident_versions(), resident + 1) << "still in use by a kernel table";
    table.reset();
    EXPECT_EQ(compiler_->resident_versions(), resident) << "code freed with its last user";

    auto again = compile(*c->plan);
    ASSERT_NE(again, nullptr);
    EXPECT_FALSE(again->cache_hit) << "a released version is compiled afresh";
}

TEST_F(JitTest, DumpsShowTheKernels) {
    // A stream that fuses is one chain kernel: its operators' code is inside it, not in
    // kernels of their own.
    auto c = compile_vpl("stream S = T.where(x > 1).emit(y: x + 1)\n");
    std::string text, error;
    ASSERT_TRUE(compiler_->dump_llvm(*c->plan, false, text, error)) << error;
    EXPECT_NE(text.find("define i32 @vp_s0_chain"), std::string::npos) << text;
    EXPECT_EQ(text.find("@vp_s0_o0_filter"), std::string::npos) << "no separate filter kernel\n" << text;
    ASSERT_TRUE(compiler_->dump_llvm(*c->plan, true, text, error)) << error;
    EXPECT_NE(text.find("vp_s0_chain"), std::string::npos) << text;
    ASSERT_TRUE(compiler_->dump_asm(*c->plan, text, error)) << error;
    EXPECT_NE(text.find("vp_s0_chain:"), std::string::npos) << text;
}

TEST_F(JitTest, KernelsOffThePerEventPathGetTheFastCodeGenerator) {
    // T has a type loop running S inline: S's chain serves only the per-row path, so it gets
    // fast instruction selection (optnone after the IR pipeline); the loop gets the full one.
    auto c = compile_vpl("stream S = T.where(x > 1).emit(y: x + 1)\n");
    std::string text, error;
    ASSERT_TRUE(compiler_->dump_llvm(*c->plan, true, text, error)) << error;
    auto attributes_of = [&](const std::string& fn) {
        const size_t at = text.find("define i" + fn);
        if (at == std::string::npos) return std::string("missing");
        const size_t hash = text.find('#', text.find(')', at));
        const std::string group = text.substr(hash, text.find(' ', hash) - hash);
        const size_t line = text.find("attributes " + group + " = ");
        return line == std::string::npos ? std::string("none") : text.substr(line, text.find('\n', line) - line);
    };
    EXPECT_NE(attributes_of("32 @vp_s0_chain").find("optnone"), std::string::npos) << text;
    EXPECT_EQ(attributes_of("64 @vp_t1_type").find("optnone"), std::string::npos) << text;
    EXPECT_NE(attributes_of("64 @vp_t1_type"), "missing") << text;
    EXPECT_NE(attributes_of("64 @vp_t1_type").find("varpulis-type-loop"), std::string::npos)
        << "the loop's own IR pipeline: " << text;
    EXPECT_EQ(attributes_of("32 @vp_s0_chain").find("varpulis-type-loop"), std::string::npos) << text;
}

TEST_F(JitTest, ACompactAnyMatchTransitionKernelGetsTheFastCodeGenerator) {
    // The compact runs decide through the step tests; the transition kernel only serves
    // partitions back on plain runs near a cap. With a negation there are only plain runs,
    // which ask the transition kernel per run and event.
    auto attributes = [&](const std::string& vpl, const std::string& fn) {
        auto c = compile_vpl(vpl);
        std::string text, error;
        EXPECT_TRUE(compiler_->dump_llvm(*c->plan, true, text, error)) << error;
        const size_t at = text.find("define i32 @" + fn + "(");
        if (at == std::string::npos) return std::string("missing");
        const size_t hash = text.find('#', text.find(')', at));
        const std::string group = text.substr(hash, text.find(' ', hash) - hash);
        const size_t line = text.find("attributes " + group + " = ");
        return line == std::string::npos ? std::string("none") : text.substr(line, text.find('\n', line) - line);
    };
    const std::string compact = "pattern P = SEQ(A as a, B+ where v > a.v as b, C where v > b.v as c) within 1s "
                                "strategy skip_till_any_match\nstream M = P.emit(x: c.v)\n";
    const std::string plain = "pattern P = SEQ(A as a, B+ where v > a.v as b, NOT X, C where v > b.v as c) within 1s "
                              "strategy skip_till_any_match\nstream M = P.emit(x: c.v)\n";
    EXPECT_NE(attributes(compact, "vp_s0_o0_trans").find("optnone"), std::string::npos);
    EXPECT_NE(attributes(compact, "vp_s0_o0_test1"), "missing");
    EXPECT_EQ(attributes(compact, "vp_s0_o0_test1").find("optnone"), std::string::npos) << "the step tests decide";
    EXPECT_NE(attributes(plain, "vp_s0_o0_trans"), "missing");
    EXPECT_EQ(attributes(plain, "vp_s0_o0_trans").find("optnone"), std::string::npos) << "plain runs ask it per event";
}

// ---------------------------------------------------------------- random differential

/// Random expression trees over rows of random values. Deterministic for a seed.
class RandomExprs {
public:
    RandomExprs(uint64_t seed, Interner& in, size_t width, size_t globals)
        : rng_(seed), in_(in), width_(width), globals_(globals) {}

    ExprPtr expr(int depth) {
        if (depth <= 0 || pick(10) < 3) return leaf();
        switch (pick(14)) {
            case 0:
            case 1:
            case 2:
            case 3:
            case 11:
            case 12:
            case 13: {
                static const BinaryOp ops[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div,
                                               BinaryOp::Mod, BinaryOp::Pow, BinaryOp::Eq,  BinaryOp::Ne,
                                               BinaryOp::Lt,  BinaryOp::Le,  BinaryOp::Gt,  BinaryOp::Ge,
                                               BinaryOp::Xor, BinaryOp::In,  BinaryOp::BitAnd};
                return bin(ops[pick(std::size(ops))], expr(depth - 1), expr(depth - 1));
            }
            case 4: {
                static const UnaryOp ops[] = {UnaryOp::Neg, UnaryOp::Not, UnaryOp::BitNot};
                return un(ops[pick(3)], expr(depth - 1));
            }
            case 5: return logic(ExprOp::And, expr(depth - 1), expr(depth - 1));
            case 6: return logic(ExprOp::Or, expr(depth - 1), expr(depth - 1));
            case 7: {
                // Lowering always gives `if` three operands (the printer relies on it).
                return node(ExprOp::If, {expr(depth - 1), expr(depth - 1), expr(depth - 1)});
            }
            case 8: {
                static const Builtin fns[] = {Builtin::Abs, Builtin::Floor, Builtin::Min, Builtin::Max, Builtin::Len,
                                              Builtin::ToString, Builtin::ToInt, Builtin::ToFloat, Builtin::TypeOf,
                                              Builtin::Coalesce, Builtin::IsNull, Builtin::Sqrt};
                std::vector<ExprPtr> args{expr(depth - 1)};
                if (pick(2)) args.push_back(expr(depth - 1));
                return call(fns[pick(std::size(fns))], std::move(args));
            }
            case 9:
                return bin(pick(2) ? BinaryOp::In : BinaryOp::NotIn, expr(depth - 1),
                           node(ExprOp::Array, {leaf(), leaf()}));
            case 10: return node(ExprOp::Array, {expr(depth - 1), leaf()});
            default: return bin(BinaryOp::Add, expr(depth - 1), expr(depth - 1));
        }
    }

    ExprPtr leaf() {
        switch (pick(12)) {
            case 0:
            case 1:
            case 2:
            case 3:
            case 4: {
                std::vector<uint32_t> slots{static_cast<uint32_t>(pick(width_))};
                if (pick(3) == 0) slots.push_back(static_cast<uint32_t>(pick(width_)));
                int32_t g = pick(3) == 0 ? static_cast<int32_t>(pick(globals_ + 1)) : -1;
                return field(slots, g);
            }
            case 5: return global(static_cast<int32_t>(pick(globals_ + 1)));
            case 6:
            case 7: return lit_int(int_value());
            case 8:
            case 9: return lit_float(float_value());
            case 10: return pick(2) ? lit_bool(pick(2)) : lit_null();
            default: {
                static const char* strs[] = {"", "a", "ab", "B"};
                return lit_str(strs[pick(4)]);
            }
        }
    }

    /// Mostly numbers: the inline fast paths are where the two engines could disagree.
    Value value() {
        switch (pick(20)) {
            case 0:
            case 1: return Value::absent();
            case 2: return Value::null();
            case 3:
            case 4: return Value::boolean(pick(2));
            case 5: {
                static const char* strs[] = {"", "a", "ab", "B"};
                return Value::string(in_.intern(strs[pick(4)]));
            }
            case 6: return pick(2) ? Value::timestamp(int_value()) : Value::duration(static_cast<uint64_t>(pick(1000)));
            default: return pick(2) ? Value::integer(int_value()) : Value::floating(float_value());
        }
    }

private:
    size_t pick(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
    int64_t int_value() {
        static const int64_t edge[] = {0, 1, -1, 2, 3, -7, 64, kMin, kMax, kMin + 1, 9007199254740993};
        return pick(3) ? edge[pick(std::size(edge))] : static_cast<int64_t>(rng_() % 2001) - 1000;
    }
    double float_value() {
        static const double edge[] = {0.0, -0.0, 0.5, -1.5, 2.0, kNaN, kInf, -kInf, 9223372036854775808.0,
                                      -9223372036854775808.0, 9007199254740992.0, 1e-300};
        return pick(3) ? edge[pick(std::size(edge))] : static_cast<double>(static_cast<int64_t>(rng_() % 4001) - 2000) / 8.0;
    }

    std::mt19937_64 rng_;
    Interner& in_;
    size_t width_, globals_;
};

/// Seeded random expression trees over random rows: exact agreement of the interpreter, the
/// projection kernel and the filter kernel. Batches alternate between the O2 compiler (the
/// optimiser must keep the semantics) and an O0 one (the generated code as written; it
/// compiles ~7x faster, so it carries most of the volume). VARPULIS_JIT_SEED picks the seed.
TEST_F(JitTest, RandomExpressionsMatchTheInterpreter) {
    uint64_t seed = 20240611;
    if (const char* s = std::getenv("VARPULIS_JIT_SEED")) seed = std::strtoull(s, nullptr, 10);
    constexpr size_t kBatches = 32, kPerBatch = 100, kRows = 64, kWidth = 4, kGlobals = 2;
    std::string error;
    jit::JitOptions o0;
    o0.opt_level = 0;
    auto unoptimised = jit::load_jit(o0, error);
    ASSERT_NE(unoptimised, nullptr) << error;
    SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with VARPULIS_JIT_SEED=" + std::to_string(seed) + ")");
    for (size_t batch = 0; batch < kBatches; ++batch) {
        const bool o2 = batch % 4 == 0;
        Interner rows_interner;
        RandomExprs gen(seed + batch, rows_interner, kWidth, kGlobals);
        std::vector<ExprPtr> exprs;
        for (size_t i = 0; i < kPerBatch; ++i) exprs.push_back(gen.expr(o2 ? 3 : 4));
        std::vector<std::vector<Value>> rows(kRows);
        for (auto& r : rows)
            for (size_t s = 0; s < kWidth; ++s) r.push_back(gen.value());
        std::vector<Value> globals{gen.value(), gen.value()};
        SCOPED_TRACE("batch " + std::to_string(batch) + " at " + (o2 ? "O2" : "O0") + " (generator seed " +
                     std::to_string(seed + batch) + ")");
        differential(exprs, rows, globals, o2 ? compiler_ : unoptimised.get());
        if (HasFailure()) return;  // one batch of messages is enough to debug
    }
}

}  // namespace
