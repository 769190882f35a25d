// Trend aggregates without step predicates run their per-event GRETA update as generated code
// (codegen::compiles_trend, runtime/abi.hpp TrendKernel). Every program must give the
// interpreter's outputs byte for byte, per event, on prepared rows and across swaps both ways
// (open windows change representation then), counts past 64 bits must fall back to the
// runtime's arbitrary precision, and the kernel itself must compute GRETA's records.

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "codegen/plan_codegen.hpp"
#include "jit/jit_loader.hpp"
#include "runtime/kernel_table.hpp"
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

class CompiledTrendsTest : public kernel_run::JitFixture {
protected:
    /// Every trend aggregate of `plan` has a trend kernel and is reported compiled.
    static void expect_trend_kernels(const ir::Plan& plan) {
        auto compiled = compile(plan);
        ASSERT_NE(compiled, nullptr);
        size_t seen = 0;
        for (const auto& st : compiled->operators) {
            const auto s = static_cast<size_t>(st.stream), k = static_cast<size_t>(st.op);
            const ir::Operator& op = plan.streams[s].ops[k];
            if (op.kind != ir::OpKind::TrendAggregate) continue;
            ++seen;
            const rt::OpKernels* ok = compiled->kernels->find(s, k);
            EXPECT_TRUE(ok && ok->trend) << plan.streams[s].name << ": trend kernel";
            EXPECT_TRUE(st.compiled) << plan.streams[s].name << ": reported compiled";
            EXPECT_EQ(st.note, codegen::trend_note(op)) << plan.streams[s].name;
        }
        EXPECT_GT(seen, 0u) << "no trend aggregate in the plan";
    }

};

const char* kShop =
    "@0 Login { user: \"u1\" }\n"
    "@500 Login { user: \"u2\" }\n"
    "@1000 Buy { user: \"u1\", amt: 10 }\n"
    "@1500 Buy { user: \"u2\", amt: 2.5 }\n"
    "@2000 Buy { user: \"u1\", amt: \"x\" }\n"
    "@2500 Buy { user: \"u1\" }\n"
    "@3000 Buy { user: \"u1\", amt: -4 }\n"
    "@3500 Pay { user: \"u1\", amt: 3 }\n"
    "@4000 Buy { user: \"u2\", amt: 7 }\n"
    "@4500 Pay { user: \"u2\", amt: 1.5 }\n"
    "@5000 Buy { amt: 1 }\n"
    "@5200 Login { }\n"
    "@5400 Buy { amt: 6 }\n"
    "@12000 Buy { user: \"u1\", amt: 99 }\n"
    "@12500 Login { user: \"u1\" }\n"
    "@13000 Buy { user: \"u1\", amt: 1 }\n"
    "@13500 Pay { user: \"u1\", amt: 2 }\n"
    "@30000 Buy { user: \"u2\", amt: 1 }\n";

TEST_F(CompiledTrendsTest, EveryItemFunctionAndStepShape) {
    Case c(R"(
stream Spend = Login as l
    -> all Buy as b
    .partition_by(user)
    .within(10s)
    .trend_aggregate(n: count_trends(), e: count_events(b), total: sum_trends(b.amt), a: avg_trends(b.amt),
                     lo: min_trends(b.amt), hi: max_trends(b.amt))
    .emit(user: user, n: n, e: e, total: total, a: a, lo: lo, hi: hi)

stream ThenPay = Login as l
    -> all Buy as b
    -> Pay as p
    .within(5s)
    .trend_aggregate(n: count_trends(), paid: sum_trends(p.amt), bought: max_trends(b.amt), logins: count_events(l))
    .emit(n: n, paid: paid, bought: bought, logins: logins)

pattern Shop = SEQ(Login as l, Buy* as b, Pay as p)
pattern MaybeBuy = SEQ(Login? as l, Buy? as b, Pay+ as p)

stream MaybeBoth = MaybeBuy
    .within(3s)
    .trend_aggregate(n: count_trends(), s: sum_trends(p.amt), lo: min_trends(b.amt), logins: count_events(l))
    .emit(n: n, s: s, lo: lo, logins: logins)

stream Optional = Shop
    .partition_by(user)
    .within(4s)
    .trend_aggregate(n: count_trends(), s: sum_trends(b.amt), pays: count_events(p))
    .emit(n: n, s: s, pays: pays)
)",
           kShop);
    RunResult r = same_everywhere(c);
    EXPECT_GT(r.stats.outputs, 4u);
    expect_trend_kernels(c.plan());
}

TEST_F(CompiledTrendsTest, CountsPastSixtyFourBitsFallBackToArbitraryPrecision) {
    // 2^n - 1 trends after n Steps: past 2^64 the kernel declines and the runtime's BigCounts
    // go on; results then report as floats (and as overflows) exactly as interpreted.
    std::string evt = "@0 Open { }\n";
    for (int i = 1; i <= 70; ++i) evt += "@" + std::to_string(i) + " Step { v: " + std::to_string(i) + " }\n";
    evt += "@100000 Open { }\n";
    Case c(R"(
stream W = Open as o
    -> all Step as s
    .within(1m)
    .trend_aggregate(n: count_trends(), e: count_events(s), total: sum_trends(s.v))
    .emit(n: n, e: e, total: total)
)",
           evt);
    RunResult r = same_everywhere(c);
    EXPECT_EQ(r.stats.outputs, 1u);
    expect_trend_kernels(c.plan());
}

TEST_F(CompiledTrendsTest, CheckpointsOfOpenWindowsResumeEitherWay) {
    // Checkpointed at every event with a kernel attached (open windows in its records), and
    // restored into an engine with or without kernels (and the other way round): the outputs
    // continue as one uninterrupted interpreted run's.
    std::string evt = "@0 Open { g: 1 }\n";
    for (int i = 1; i <= 40; ++i)
        evt += "@" + std::to_string(i * 100) + (i % 9 == 0 ? " Open" : " Step") + " { g: " + std::to_string(i % 2) +
               ", v: " + std::to_string(i % 5 == 0 ? 1e20 * i : i) + " }\n";
    Case c(R"(
stream W = Open as o
    -> all Step as s
    .partition_by(g)
    .within(1500ms)
    .trend_aggregate(n: count_trends(), e: count_events(s), total: sum_trends(s.v), hi: max_trends(s.v))
    .emit(g: g, n: n, e: e, total: total, hi: hi)
)",
           evt);
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    auto run_split = [&](size_t split, bool jit_before, bool jit_after) {
        std::string out;
        auto sink = [&](const rt::OutputEvent& e) {
            rt::append_output_line(out, e.stream, e.event_type, e.timestamp_ms, e.names, e.values, e.field_count);
        };
        std::string blob;
        {
            rt::Engine a(c.plan(), c.interner, sink, stderr);
            if (jit_before) a.install_kernels(compiled->kernels);
            for (size_t i = 0; i < split; ++i) a.process(c.events[i]);
            blob = a.save_checkpoint();
        }
        rt::Engine b(c.plan(), c.interner, sink, stderr);
        if (jit_after) b.install_kernels(compiled->kernels);
        rt::RestoreReport report;
        std::string error;
        EXPECT_TRUE(b.restore_checkpoint(blob, report, error)) << error;
        for (size_t i = split; i < c.events.size(); ++i) b.process(c.events[i]);
        b.finish();
        return out;
    };
    const std::string want = kernel_run::run(c, nullptr, Mode{}).out;
    EXPECT_FALSE(want.empty());
    for (size_t split = 1; split < c.events.size(); ++split) {
        EXPECT_EQ(run_split(split, true, true), want) << "jit -> jit at " << split;
        EXPECT_EQ(run_split(split, true, false), want) << "jit -> interpreter at " << split;
        EXPECT_EQ(run_split(split, false, true), want) << "interpreter -> jit at " << split;
    }
}

TEST_F(CompiledTrendsTest, KernelComputesGretaRecords) {
    // Open -> all Step: record 0 (Open), record 1 (Step), record 2 (result); one item, sum.
    Case c(R"(
stream W = Open as o
    -> all Step as s
    .trend_aggregate(total: sum_trends(s.v))
    .emit(total: total)
)",
           "@0 Open { }\n");
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    const rt::OpKernels* ok = compiled->kernels->find(0, 0);
    ASSERT_TRUE(ok && ok->trend) << "the trend aggregate has a kernel";
    const int32_t open = c.plan().routing_schema("Open"), step = c.plan().routing_schema("Step");
    ASSERT_GE(open, 0);
    ASSERT_GE(step, 0);
    const size_t record = 5;   // count, then n, sum, ext, has of the one item
    std::vector<uint64_t> state(3 * record, 0);
    auto sum = [&](size_t rec) {
        double d;
        std::memcpy(&d, &state[rec * record + 2], 8);
        return d;
    };
    std::vector<rt::Value> open_row(c.plan().schemas[static_cast<size_t>(open)].fields.size() + 1, rt::Value::absent());
    EXPECT_EQ(ok->trend(open_row.data(), open, state.data()), 0) << "a start vertex, not at an end step";
    EXPECT_EQ(state[0], 1u) << "one trend ends at Open";
    const ir::Schema& ss = c.plan().schemas[static_cast<size_t>(step)];
    std::vector<rt::Value> step_row(ss.fields.size() + 1, rt::Value::absent());
    step_row[static_cast<size_t>(ss.slot_of("v"))] = rt::Value::integer(10);
    EXPECT_EQ(ok->trend(step_row.data(), step, state.data()), 1) << "a vertex at the end step";
    step_row[static_cast<size_t>(ss.slot_of("v"))] = rt::Value::floating(0.5);
    EXPECT_EQ(ok->trend(step_row.data(), step, state.data()), 1);
    // Trends {10}, {0.5}, {10, 0.5}: 3, summing 10 + 0.5 + 10.5 = 21.
    EXPECT_EQ(state[2 * record], 3u) << "result count";
    EXPECT_EQ(sum(2), 21.0) << "result sum";
    EXPECT_EQ(state[2 * record + 1], 4u) << "contributing (trend, event) pairs: 1 + 1 + 2";
    EXPECT_EQ(state[1 * record], 3u) << "Step totals";
    EXPECT_EQ(ok->trend(step_row.data(), open + step + 7, state.data()), 0) << "another type: no vertex";
    state[1 * record] = ~uint64_t{0};
    const std::vector<uint64_t> before = state;
    EXPECT_EQ(ok->trend(step_row.data(), step, state.data()), -1) << "a count past 64 bits";
    EXPECT_EQ(state, before) << "nothing written on overflow";
}

}  // namespace
