// Windows that keep their rows (sliding, sliding count, count_distinct ...) folded by
// generated code (codegen::compiles_fold, runtime/abi.hpp FoldKernel). Every program must give
// the interpreter's outputs byte for byte, per event, on prepared rows and across a swap, the
// window must be reported compiled, and the fold kernel itself must compute what
// runtime/window_state.hpp acc_add computes.

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "codegen/plan_codegen.hpp"
#include "jit/jit_loader.hpp"
#include "runtime/aggregate.hpp"
#include "runtime/kernel_table.hpp"
#include "runtime/window_state.hpp"
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

class CompiledWindowsTest : public kernel_run::JitFixture {
protected:
    /// Whether every window of `plan` is reported compiled and has a fold kernel (`want`).
    static void expect_folded(const ir::Plan& plan, bool want) {
        auto compiled = compile(plan);
        ASSERT_NE(compiled, nullptr);
        size_t seen = 0;
        for (const auto& st : compiled->operators) {
            const auto s = static_cast<size_t>(st.stream), k = static_cast<size_t>(st.op);
            if (plan.streams[s].ops[k].kind != ir::OpKind::Window) continue;
            ++seen;
            const rt::OpKernels* ok = compiled->kernels->find(s, k);
            EXPECT_EQ(ok != nullptr && ok->fold != nullptr, want) << plan.streams[s].name << ": fold kernel";
            EXPECT_EQ(st.compiled, want) << plan.streams[s].name << ": reported compiled";
            if (want) {
                EXPECT_EQ(st.note, codegen::fold_note()) << plan.streams[s].name;
            }
        }
        EXPECT_GT(seen, 0u) << "no window in the plan";
    }

};

// Numbers of both kinds, a string, absent values, a partition key missing or "default".
const char* kLoads =
    "@0 Load { dev: \"a\", v: 1, page: \"x\" }\n"
    "@1000 Load { dev: \"b\", v: 2.5, page: \"y\" }\n"
    "@1500 Load { dev: \"a\", v: \"str\", page: \"x\" }\n"
    "@2000 Load { page: 1 }\n"
    "@2500 Load { dev: \"default\", v: -4, page: 1.0 }\n"
    "@4000 Load { dev: \"a\", v: 7, page: \"z\" }\n"
    "@4000 Load { dev: \"b\", v: 0.125 }\n"
    "@6500 Load { dev: \"a\", v: 3, page: \"x\" }\n"
    "@9000 Load { dev: \"b\", v: 1e300, page: \"y\" }\n"
    "@9100 Load { dev: \"b\", v: -1e300, page: \"y\" }\n"
    "@12000 Load { dev: \"a\", v: 5, page: \"w\" }\n"
    "@30000 Load { dev: \"a\", v: 2 }\n"
    "@31000 Load { v: 9, page: \"x\" }\n";

TEST_F(CompiledWindowsTest, SlidingTimeWindowsFoldEveryFunction) {
    Case c(R"(
stream Every = Load
    .window(3s, sliding: 1s)
    .aggregate(n: count(), s: sum(v), a: avg(v), lo: min(v), hi: max(v), sd: stddev(v),
               f: first(v), l: last(v), d: count(distinct(page)), e: ema(v, 3), mix: sum(v) / count())
    .emit(n: n, s: s, a: a, lo: lo, hi: hi, sd: sd, f: f, l: l, d: d, e: e, mix: mix)

stream Computed = Load
    .where(dev != "b")
    .window(5s, sliding: 2s)
    .aggregate(s: sum(v * 2 + 1), f: first(if v > 2 then v else -1), l: last(v > 1))
    .emit(s: s, f: f, l: l)
)",
           kLoads);
    RunResult r = same_everywhere(c);
    EXPECT_GT(r.stats.outputs, 5u);
    expect_folded(c.plan(), true);
}

TEST_F(CompiledWindowsTest, SlidingCountAndPartitionedWindowsFold) {
    // Partition "default" holds events lacking `dev` and the event whose dev is "default":
    // two aggregate groups in one window, the copied-out path.
    Case c(R"(
stream Last3 = Load
    .window(3, sliding: 1)
    .aggregate(total: sum(v), hi: max(v))
    .emit(total: total, hi: hi)

stream PerDev = Load
    .partition_by(dev)
    .window(10s, sliding: 5s)
    .aggregate(n: count(), s: sum(v))
    .emit(dev: _partition, n: n, s: s)

stream PerDevCount = Load
    .partition_by(dev)
    .window(2, sliding: 1)
    .aggregate(n: count(), f: first(v))
    .emit(dev: _partition, n: n, f: f)
)",
           kLoads);
    RunResult r = same_everywhere(c);
    EXPECT_GT(r.stats.outputs, 10u);
    expect_folded(c.plan(), true);
}

TEST_F(CompiledWindowsTest, CountDistinctInSessionTumblingAndCountWindowsFolds) {
    // count(distinct(..)) keeps these windows from fusing per event: their rows are kept.
    Case c(R"(
stream Uniq = Load
    .window(session: 2s)
    .aggregate(pages: count(distinct(page)), hits: count())
    .emit(pages: pages, hits: hits)

stream Tumble = Load
    .window(4s)
    .aggregate(devs: count(distinct(dev)), pages: count(distinct(page)))
    .emit(devs: devs, pages: pages)

stream Counted = Load
    .window(4)
    .aggregate(vs: count(distinct(v)))
    .emit(vs: vs)
)",
           kLoads);
    RunResult r = same_everywhere(c);
    EXPECT_GT(r.stats.outputs, 3u);
    expect_folded(c.plan(), true);
}

TEST_F(CompiledWindowsTest, ArgumentsThroughTheInterpreterKeepTheWindowInterpreted) {
    // A fold has no row context for the interpreter (time, raw fields): such windows are not
    // folded, and say so.
    Case c(R"(
stream Lens = Load
    .window(3s, sliding: 1s)
    .aggregate(s: sum(len(page)))
    .emit(s: s)
)",
           kLoads);
    same_everywhere(c);
    expect_folded(c.plan(), false);
}

TEST_F(CompiledWindowsTest, FoldKernelComputesTheAccumulators) {
    // The generated loop on its own, on hand-made rows: acc_add's arithmetic, First from the
    // first row, Last from the last, count_distinct through the runtime set.
    Case c(R"(
stream S = Load
    .window(3s, sliding: 1s)
    .aggregate(s: sum(v), lo: min(v), sd: stddev(v), f: first(v), l: last(v), d: count(distinct(page)))
    .emit(s: s)
)",
           "@0 Load { v: 1, page: \"x\" }\n");
    auto compiled = compile(c.plan());
    ASSERT_NE(compiled, nullptr);
    const rt::OpKernels* ok = compiled->kernels->find(0, 0);
    ASSERT_TRUE(ok && ok->fold) << "the window has a fold kernel";
    const ir::Schema& in = c.plan().schemas[static_cast<size_t>(c.plan().streams[0].ops[0].in)];
    const int v = in.slot_of("v"), page = in.slot_of("page");
    ASSERT_GE(v, 0);
    ASSERT_GE(page, 0);
    const size_t width = in.fields.size();
    const rt::StrObj* x = c.interner.intern("x");
    std::vector<rt::Value> rows(4 * width, rt::Value::absent());
    rows[0 * width + v] = rt::Value::integer(4);
    rows[0 * width + page] = rt::Value::string(x);
    rows[1 * width + v] = rt::Value::floating(2.5);
    rows[1 * width + page] = rt::Value::integer(1);
    rows[2 * width + v] = rt::Value::string(x);   // not a number: skipped
    rows[2 * width + page] = rt::Value::floating(1.0);
    rows[3 * width + v] = rt::Value::integer(-1);
    const auto& calls = c.plan().streams[0].ops[1].calls;
    ASSERT_EQ(calls.size(), 6u);
    std::vector<rt::CallAcc> accs(calls.size());
    for (size_t i = 0; i < calls.size(); ++i) rt::acc_reset(calls[i].fn, accs[i]);
    rt::DistinctSet set;
    std::vector<void*> sets(calls.size(), nullptr);
    sets[5] = &set;
    rt::Runtime runtime{};
    runtime.plan = &c.plan();
    rt::EvalContext ec;
    ec.rt = &runtime;
    rt::KernelContext kc{&ec, compiled->kernels->nodes.data(), nullptr};
    ok->fold(rows.data(), 4, width, accs.data(), sets.data(), &kc);
    EXPECT_EQ(accs[0].n, 3) << "sum: three numeric inputs";
    EXPECT_EQ(accs[0].a, 4 + 2.5 - 1) << "sum";
    EXPECT_EQ(accs[1].a, -1.0) << "min";
    rt::CallAcc sd;
    rt::acc_reset(calls[2].fn, sd);
    for (double d : {4.0, 2.5, -1.0}) rt::acc_add(calls[2].fn, sd, d);
    EXPECT_EQ(accs[2].a, sd.a) << "stddev: Welford mean";
    EXPECT_EQ(accs[2].b, sd.b) << "stddev: Welford m2";
    EXPECT_EQ(accs[3].v.kind, rt::ValueKind::Int) << "first: row 0";
    EXPECT_EQ(accs[3].v.i, 4);
    EXPECT_EQ(accs[4].v.kind, rt::ValueKind::Int) << "last: row 3";
    EXPECT_EQ(accs[4].v.i, -1);
    EXPECT_EQ(set.size(), 2u) << "distinct pages: \"x\" and 1 (= 1.0); row 3 has none";
}

}  // namespace
