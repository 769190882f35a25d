// Windowed aggregation with accumulators (runtime/window_state.hpp, window_aggregate.hpp):
// partition lookup by value, the shared accumulator arithmetic, and the fused window +
// aggregate operator against the buffering path (WindowOperator + run_aggregate), output for
// output and bit for bit, including checkpoints taken in either form.

#include "runtime/window_state.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "runtime/engine.hpp"
#include "runtime/event_reader.hpp"
#include "runtime/value_io.hpp"
#include "runtime/value_ops.hpp"
#include "runtime/window_aggregate.hpp"
#include "tests/support/engine_harness.hpp"
#include "tests/support/random_query.hpp"

namespace varpulis::runtime {
namespace {

// ------------------------------------------------------------------ PartitionIndex

TEST(PartitionIndexTest, KeysByTextAcrossKinds) {
    Arena arena;
    PartitionIndex idx;
    bool fresh = false;
    const uint32_t five = idx.find_or_add(Value::integer(5), fresh);
    EXPECT_TRUE(fresh) << "first key makes partition 0";
    EXPECT_EQ(five, 0u);
    EXPECT_EQ(idx.find_or_add(Value::string(arena.make_string("5")), fresh), five) << "\"5\" and 5 share a key";
    EXPECT_FALSE(fresh);
    EXPECT_EQ(idx.find_or_add(Value::floating(5.0), fresh), five) << "5.0 is key \"5\" (SEMANTICS §6.5)";
    EXPECT_EQ(idx.find_or_add(Value::floating(5.5), fresh), 1u) << "5.5 is its own key";
    EXPECT_TRUE(fresh);
    EXPECT_EQ(idx.find_or_add(Value::absent(), fresh), 2u) << "a missing value is key \"default\"";
    EXPECT_EQ(idx.find_or_add(Value::string(arena.make_string("default")), fresh), 2u)
        << "and shares it with the string \"default\"";
    EXPECT_EQ(idx.find_or_add(Value::boolean(true), fresh), 3u);
    EXPECT_EQ(idx.find_or_add(Value::string(arena.make_string("true")), fresh), 3u) << "true is key \"true\"";
    EXPECT_EQ(idx.key(0), "5");
    EXPECT_EQ(idx.key(1), "5.5");
    EXPECT_EQ(idx.key(2), "default");
    EXPECT_EQ(idx.size(), 4u);
}

TEST(PartitionIndexTest, EqualStringsOfDifferentObjectsMatchAndManyKeysGrow) {
    Arena arena;
    PartitionIndex idx;
    bool fresh = false;
    for (int round = 0; round < 3; ++round)
        for (int i = 0; i < 1000; ++i) {
            // A new object per lookup, as the event reader makes one per event.
            const StrObj* s = arena.make_string("SYM" + std::to_string(i));
            ASSERT_EQ(idx.find_or_add(Value::string(s), fresh), static_cast<uint32_t>(i)) << "key SYM" << i;
            ASSERT_EQ(fresh, round == 0) << "new only on the first round";
        }
    EXPECT_EQ(idx.size(), 1000u);
    EXPECT_EQ(idx.find_or_add_key("SYM999", fresh), 999u) << "restore lookup by text";
    EXPECT_FALSE(fresh);
    EXPECT_EQ(idx.find_or_add_key("new", fresh), 1000u);
    EXPECT_TRUE(fresh);
}

TEST(PartitionIndexTest, AbsentKeyIsConfigurable) {
    PartitionIndex idx("");
    bool fresh = false;
    Arena arena;
    EXPECT_EQ(idx.find_or_add(Value::absent(), fresh), 0u);
    EXPECT_EQ(idx.find_or_add(Value::string(arena.make_string("")), fresh), 0u) << "absent is \"\" here";
}

// ------------------------------------------------------------------ accumulators

TEST(AccumulatorTest, FollowsArrivalOrderArithmetic) {
    using frontend::AggregateFn;
    const double xs[] = {0.1, 0.2, 0.3, 1e16, -1e16, 7.25};
    double sum = 0, mean = 0, m2 = 0, e = 0;
    const double k = ema_factor(nullptr);
    CallAcc s, sd, em, lo, hi;
    acc_reset(AggregateFn::Sum, s);
    acc_reset(AggregateFn::Stddev, sd);
    acc_reset(AggregateFn::Ema, em, k);
    acc_reset(AggregateFn::Min, lo);
    acc_reset(AggregateFn::Max, hi);
    int64_t n = 0;
    for (double x : xs) {
        acc_add(AggregateFn::Sum, s, x);
        acc_add(AggregateFn::Stddev, sd, x);
        acc_add(AggregateFn::Ema, em, x);
        acc_add(AggregateFn::Min, lo, x);
        acc_add(AggregateFn::Max, hi, x);
        sum += x;
        ++n;
        double d = x - mean;
        mean += d / static_cast<double>(n);
        m2 += d * (x - mean);
        e = n == 1 ? x : k * x + (1 - k) * e;
    }
    EXPECT_EQ(acc_result(AggregateFn::Sum, s).f, sum) << "left-to-right sum, bit for bit";
    EXPECT_EQ(acc_result(AggregateFn::Stddev, sd).f, std::sqrt(m2 / static_cast<double>(n - 1))) << "Welford";
    EXPECT_EQ(acc_result(AggregateFn::Ema, em).f, e);
    EXPECT_EQ(acc_result(AggregateFn::Min, lo).f, -1e16);
    EXPECT_EQ(acc_result(AggregateFn::Max, hi).f, 1e16);
    CallAcc empty;
    acc_reset(AggregateFn::Avg, empty);
    EXPECT_EQ(acc_result(AggregateFn::Avg, empty).kind, ValueKind::Null) << "avg of nothing is null";
    acc_reset(AggregateFn::Sum, empty);
    EXPECT_EQ(acc_result(AggregateFn::Sum, empty).f, 0.0) << "sum of nothing is 0.0";
}

TEST(AccumulatorTest, EmaPeriodRules) {
    Value p = Value::integer(3);
    EXPECT_EQ(ema_factor(&p), 0.5);
    Value low = Value::floating(0.25);
    EXPECT_EQ(ema_factor(&low), 1.0) << "period < 1 is 1";
    Value bad = Value::null();
    EXPECT_EQ(ema_factor(&bad), 1.0) << "a non-numeric period is 1";
}

// ------------------------------------------------------------------ engine: fused vs buffered

/// Sets window fusion for the engines built in its scope.
class FusionScope {
public:
    explicit FusionScope(bool on) : was_(window_fusion_enabled()) { set_window_fusion(on); }
    ~FusionScope() { set_window_fusion(was_); }

private:
    bool was_;
};

/// Floats compared by bit pattern too: "identical" means bit for bit.
class Harness : public EngineHarness {
public:
    Harness(const std::string& program, const std::string& events) : EngineHarness(program, events, Record::Bits) {}
};

std::vector<std::string> run_all(const std::string& program, const std::string& events, bool fused) {
    FusionScope scope(fused);
    Harness h(program, events);
    EXPECT_TRUE(h.ok()) << h.error();
    if (!h.ok()) return {};
    h.run(0, h.size());
    h.engine().finish();
    return h.outputs();
}

/// How many window operators of `program` fit the fused form.
size_t fused_windows(const std::string& program) {
    auto c = ir::compile_source("q.vpl", program, ir::CompileStage::Lower);
    size_t n = 0;
    if (!c->ok()) return 0;
    for (const auto& sp : c->plan->streams)
        for (size_t k = 0; k + 1 < sp.ops.size(); ++k)
            n += ir::window_fuses(*c->plan, sp.ops[k], sp.ops[k + 1]);
    return n;
}

/// Runs [0, k) with `save_fused`, checkpoints, resumes in a fused engine.
std::vector<std::string> run_split(const std::string& program, const std::string& events, size_t k, bool save_fused) {
    std::string blob;
    std::vector<std::string> got;
    {
        FusionScope scope(save_fused);
        Harness a(program, events);
        EXPECT_TRUE(a.ok()) << a.error();
        if (!a.ok()) return {};
        a.run(0, k);
        blob = a.engine().save_checkpoint();
        got = a.outputs();
    }
    FusionScope scope(true);
    Harness b(program, events);
    RestoreReport report;
    std::string error;
    EXPECT_TRUE(b.engine().restore_checkpoint(blob, report, error)) << error;
    EXPECT_EQ(report.streams_reset, 0u);
    if (save_fused) {
        EXPECT_TRUE(b.engine().save_checkpoint() == blob) << "restore -> save gives the same bytes";
    }
    b.run(k, b.size());
    b.engine().finish();
    got.insert(got.end(), b.outputs().begin(), b.outputs().end());
    return got;
}

struct Program {
    const char* name;
    const char* vpl;
    size_t fused;  // window operators expected to fuse
};

const char* kEvents = R"(@0 T { k: "a", v: 1, w: 0.1, s: "x" }
@1 T { k: "b", v: 2.5, w: 0.2, s: "y" }
@2 T { k: "a", v: "str", w: 0.3, s: "z" }
@3 T { k: 5, v: 4, w: 1e16, s: "q" }
@5 T { k: "5", v: 5.0, w: -1e16, s: "r" }
@8 T { v: 6, w: 0.7, s: "m" }
@9 T { k: "default", v: 7, w: 0.9, s: "n" }
@11 T { k: "a", v: -1, w: 7.25, s: "o" }
@13 T { v: 8, w: 0.01, s: "p" }
@14 T { k: "b", w: 3.5, s: "t" }
@20 T { k: "a", v: 10, w: 0.5 }
@21 T { k: 5.0, v: 11, w: 0.25, s: "u" }
@22 T { k: "default", v: 12, w: 0.125, s: "v" }
@23 T { k: "b", v: 13, w: 1.5, s: "w" }
@30 T { k: "a", v: 14, w: 2.5, s: "x" }
@31 T { k: true, v: 15, w: 3.25, s: "y" }
@32 T { v: 16, w: 4.5, s: "z" }
@40 T { k: "a", v: 17, w: 0.3, s: "a" }
@41 T { k: "b", v: 18, w: 0.6, s: "b" }
@42 T { k: "true", v: 19, w: 0.9, s: "c" }
)";

const Program kPrograms[] = {
    {"count_partitioned_all_functions",
     R"(stream S = T.partition_by(k).window(3)
    .aggregate(key: last(k), n: count(), s: sum(v * w), a: avg(v), lo: min(w), hi: max(w), sd: stddev(w),
               f: first(s), l: last(s), e: ema(w, 4), ratio: sum(w) / count())
    .emit(key: key, n: n, s: s, a: a, lo: lo, hi: hi, sd: sd, f: f, l: l, e: e, ratio: ratio)
)",
     1},
    {"count_unpartitioned_computed_first_last",
     R"(stream S = T.window(4)
    .aggregate(f: first(upper(s)), l: last(s + "!"), l2: last(v * 2), n: count(v), t: sum(w) + 1)
    .emit(f: f, l: l, l2: l2, n: n, t: t)
)",
     1},
    {"tumbling_partitioned",
     R"(stream S = T.partition_by(k).window(10ms)
    .aggregate(n: count(), s: sum(w), sd: stddev(v), l: last(v))
    .where(n > 0)
    .emit(n: n, s: s, sd: sd, l: l)
)",
     1},
    {"session_partitioned_flushes_at_end",
     R"(stream S = T.partition_by(k).window(session: 3ms)
    .aggregate(n: count(), s: sum(w), e: ema(v, 2), f: first(v))
    .emit(n: n, s: s, e: e, f: f)
)",
     1},
    {"session_unpartitioned",
     R"(stream S = T.window(session: 5ms).aggregate(n: count(), hi: max(v), lo: min(v)).emit(n: n, hi: hi, lo: lo))",
     1},
    {"ema_period_from_const",
     R"(const P = 3
stream S = T.partition_by(k).window(2).aggregate(e: ema(w, P), k2: last(k)).emit(e: e, k2: k2))",
     1},
    {"chained_streams",
     R"(stream A = T.partition_by(k).window(2).aggregate(key: last(k), s: sum(w))
stream B = A.window(3).aggregate(n: count(), t: sum(s), m: max(s)).emit(n: n, t: t, m: m)
)",
     2},
    {"not_fused_sliding_and_distinct",
     R"(stream S = T.partition_by(k).window(3, sliding: 1).aggregate(n: count(), s: sum(w)).emit(n: n, s: s)
stream D = T.window(4).aggregate(d: count_distinct(k)).emit(d: d)
)",
     0},
};

void PrintTo(const Program& p, std::ostream* os) { *os << p.name; }

class FusedWindows : public ::testing::TestWithParam<Program> {};

TEST_P(FusedWindows, MatchBufferingBitForBit) {
    const Program& p = GetParam();
    EXPECT_EQ(fused_windows(p.vpl), p.fused) << "windows that fit the fused form";
    const auto buffered = run_all(p.vpl, kEvents, false);
    const auto fused = run_all(p.vpl, kEvents, true);
    EXPECT_FALSE(buffered.empty()) << "the program produces something";
    EXPECT_EQ(fused, buffered);
}

TEST_P(FusedWindows, ResumeFromEveryCheckpoint) {
    const Program& p = GetParam();
    const auto want = run_all(p.vpl, kEvents, false);
    size_t n = 0;
    {
        Harness h(p.vpl, kEvents);
        ASSERT_TRUE(h.ok()) << h.error();
        n = h.size();
    }
    for (size_t k = 0; k <= n; ++k) {
        SCOPED_TRACE("split at event " + std::to_string(k));
        EXPECT_EQ(run_split(p.vpl, kEvents, k, true), want) << "accumulator checkpoint";
        EXPECT_EQ(run_split(p.vpl, kEvents, k, false), want) << "rows checkpoint replayed into accumulators";
    }
}

INSTANTIATE_TEST_SUITE_P(Programs, FusedWindows, ::testing::ValuesIn(kPrograms),
                         [](const ::testing::TestParamInfo<Program>& info) { return std::string(info.param.name); });

TEST(FusedWindowsTest, ImpureArgumentsKeepBuffering) {
    EXPECT_EQ(fused_windows("var x = 1\nstream S = T.window(2).aggregate(s: sum(v + x))\n"), 0u)
        << "a `var` may change between arrival and close";
    EXPECT_EQ(fused_windows("stream S = T.window(2).aggregate(s: last(uuid()))\n"), 0u) << "uuid() is not stable";
    EXPECT_EQ(fused_windows("fn f(a: int) -> int:\n    return a\nstream S = T.window(2).aggregate(s: sum(f(v)))\n"), 0u)
        << "user functions may assign globals";
    EXPECT_EQ(fused_windows("stream S = T.window(2).aggregate(s: sum(v + now()))\n"), 1u)
        << "now() is the event's time either way";
    EXPECT_EQ(fused_windows("const c = 2\nstream S = T.window(2).aggregate(s: sum(v * c))\n"), 1u) << "a constant is stable";
}

// ------------------------------------------------------------------ random programs

TEST(FusedWindowsTest, RandomProgramsMatchBuffering) {
    namespace rq = test_support::random_query;
    rq::GenOptions opt = rq::default_options();
    size_t with_fusion = 0;
    for (uint64_t seed = 1; seed <= 400; ++seed) {
        rq::Case c = rq::generate_case(seed, opt);
        const std::string program = rq::render_program(c.program);
        if (fused_windows(program) == 0) continue;
        ++with_fusion;
        const std::string events = rq::render_events(c.events);
        const auto buffered = run_all(program, events, false);
        const auto fused = run_all(program, events, true);
        ASSERT_EQ(fused, buffered) << "seed " << seed << "\n" << program << "\n" << events;
    }
    EXPECT_GE(with_fusion, 20u) << "the generator makes fusable windows";
}

}  // namespace
}  // namespace varpulis::runtime
