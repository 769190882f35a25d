// Trend aggregation with GRETA semantics (SEMANTICS §11.3): counts over all trends, adjacent
// predicates, windows per partition, end-of-input closing order, overflow to float.

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "runtime/trend_aggregator.hpp"
#include "runtime/value_io.hpp"
#include "tests/support/plan_fixture.hpp"

namespace {

using namespace varpulis;
using namespace varpulis::runtime;
using namespace varpulis::test_support;

class TrendHarness : public PlanFixture {
public:
    TrendHarness(const std::string& src, const std::string& stream) : PlanFixture(src) {
        for_operator(stream, ir::OpKind::TrendAggregate, [&](const ir::StreamPlan& sp, const ir::Operator& op) {
            agg_ = std::make_unique<TrendAggregator>(rt_, sp, op);
        });
    }

    bool ok() const { return agg_ != nullptr; }

    std::vector<std::string> feed(const std::string& type, int64_t ts, std::initializer_list<FieldInit> fields) {
        std::vector<std::string> r;
        Row row;
        if (!ok() || !input_row(type, ts, fields, row)) return r;
        std::vector<Row> out;
        agg_->on_event(row, out, scratch_);
        for (const Row& m : out) r.push_back(render(m));
        clobber_input();
        return r;
    }

    std::vector<std::string> finish() {
        std::vector<Row> out;
        agg_->finish(out, scratch_);
        std::vector<std::string> r;
        for (const Row& m : out) r.push_back(render(m));
        last_ = out;
        return r;
    }

    /// `name=value ...` over every field of the result schema, then `@ts`.
    std::string render(const Row& m) const {
        const ir::Schema& sc = plan_->schemas[m.schema];
        std::string s;
        for (size_t i = 0; i < sc.fields.size(); ++i) {
            if (!m.slots[i].present()) continue;
            s += sc.fields[i] + "=" + to_json(m.slots[i]) + " ";
        }
        s += "@" + std::to_string(m.ts);
        return s;
    }

    TrendAggregator& a() { return *agg_; }
    const std::vector<Row>& last() const { return last_; }

private:
    std::unique_ptr<TrendAggregator> agg_;
    std::vector<Row> last_;
};

using V = std::vector<std::string>;

TEST(TrendAggregator, TwentySixTrends) {
    TrendHarness h("stream R = Px as f -> all Px as r .within(60s) .trend_aggregate(count: count_trends()) "
                   ".emit(trends: count)",
                   "R");
    for (int i = 0; i < 5; ++i) EXPECT_EQ(h.feed("Px", i * 1000, {{"price", I(i)}}), V{});
    EXPECT_EQ(h.finish(), V{"count=26 @4000"});
}

TEST(TrendAggregator, StartThenKleenePowerSet) {
    TrendHarness h("stream R = A as a -> all B as b .trend_aggregate(n: count_trends(), ea: count_events(a), eb: "
                   "count_events(b), s: sum_trends(b.v), av: avg_trends(b.v), lo: min_trends(b.v), hi: "
                   "max_trends(b.v))",
                   "R");
    h.feed("A", 0, {});
    h.feed("B", 1, {{"v", I(1)}});
    h.feed("B", 2, {{"v", I(2)}});
    // trends {1} {2} {1,2}: 3 trends, 3 a-events, 4 b-events, sum 1+2+3 = 6, avg 6/4
    EXPECT_EQ(h.finish(), V{"n=3 ea=3 eb=4 s=6.0 av=1.5 lo=1.0 hi=2.0 @2"});
}

TEST(TrendAggregator, TwoStartChoices) {
    TrendHarness h("stream R = A as a -> all B as b .trend_aggregate(n: count_trends())", "R");
    h.feed("A", 0, {});
    h.feed("A", 1, {});
    h.feed("B", 2, {});
    h.feed("B", 3, {});
    h.feed("B", 4, {});
    EXPECT_EQ(h.finish(), V{"n=14 @4"});  // 2 starts x (2^3 - 1)
}

TEST(TrendAggregator, LocalPredicate) {
    TrendHarness h("stream Pos = Open as o -> all Step where v > 0 as s .within(1m) .trend_aggregate(n: "
                   "count_trends(), tot: sum_trends(s.v)) .emit(n: n, tot: tot)",
                   "Pos");
    h.feed("Open", 0, {{"id", I(1)}});
    h.feed("Step", 1, {{"v", I(2)}});
    h.feed("Step", 2, {{"v", I(-1)}});
    h.feed("Step", 3, {{"v", I(3)}});
    EXPECT_EQ(h.finish(), V{"n=3 tot=10.0 @3"});
}

TEST(TrendAggregator, RisingAdjacentPredicate) {
    TrendHarness h("stream Rising = Px as f -> all Px where price > r.price as r .within(1m) .trend_aggregate(n: "
                   "count_trends()) .emit(n: n)",
                   "Rising");
    h.feed("Px", 0, {{"price", I(10)}});
    h.feed("Px", 1, {{"price", I(12)}});
    h.feed("Px", 2, {{"price", I(11)}});
    h.feed("Px", 3, {{"price", I(13)}});
    EXPECT_EQ(h.finish(), V{"n=7 @3"});
}

TEST(TrendAggregator, AdjacentPredicateAcrossTypes) {
    // The first B's predecessor is the A (a different type): b.v reads the A's field v. (The
    // A schema only carries `v` because an item reads a.v: lowering adds fields per alias type.)
    TrendHarness h("stream R = A as a -> all B where v > b.v as b .trend_aggregate(n: count_trends(), sa: "
                   "sum_trends(a.v))",
                   "R");
    h.feed("A", 0, {{"v", I(5)}});
    h.feed("B", 1, {{"v", I(3)}});  // 3 > 5 false: no trend through it
    h.feed("B", 2, {{"v", I(6)}});  // after A: {6}
    h.feed("B", 3, {{"v", I(7)}});  // {7}, {6,7}
    EXPECT_EQ(h.finish(), V{"n=3 sa=15.0 @3"});
}

TEST(TrendAggregator, WindowsClosedByLaterEventAndEnd) {
    TrendHarness h("stream W = Open as o -> all Step as s .within(5s) .trend_aggregate(n: count_trends()) "
                   ".emit(n: n)",
                   "W");
    EXPECT_EQ(h.feed("Open", 0, {{"id", I(1)}}), V{});
    h.feed("Step", 1000, {{"v", I(1)}});
    h.feed("Step", 2000, {{"v", I(2)}});
    EXPECT_EQ(h.feed("Step", 6000, {{"v", I(3)}}), V{"n=3 @2000"});
    h.feed("Open", 7000, {{"id", I(2)}});
    h.feed("Step", 8000, {{"v", I(4)}});
    EXPECT_EQ(h.feed("Step", 12000, {{"v", I(5)}}), V{});  // inclusive end
    EXPECT_EQ(h.finish(), V{"n=3 @12000"});
}

TEST(TrendAggregator, WindowWithoutTrendEmitsNothing) {
    TrendHarness h("stream W = Open as o -> all Step as s .within(5s) .trend_aggregate(n: count_trends())", "W");
    h.feed("Open", 0, {});
    EXPECT_EQ(h.feed("Open", 6000, {}), V{});
    EXPECT_EQ(h.finish(), V{});
}

TEST(TrendAggregator, PartitionedSum) {
    TrendHarness h("stream Spend = Login as l -> all Buy as b .partition_by(user) .within(10s) .trend_aggregate(n: "
                   "count_trends(), total: sum_trends(b.amt)) .emit(user: user, n: n, total: total)",
                   "Spend");
    h.feed("Login", 0, {{"user", h.S("u1")}});
    h.feed("Login", 1000, {{"user", h.S("u2")}});
    h.feed("Buy", 2000, {{"user", h.S("u1")}, {"amt", I(10)}});
    h.feed("Buy", 3000, {{"user", h.S("u2")}, {"amt", I(5)}});
    h.feed("Buy", 4000, {{"user", h.S("u1")}, {"amt", I(20)}});
    EXPECT_EQ(h.feed("Buy", 12000, {{"user", h.S("u1")}, {"amt", I(99)}}), V{"user=\"u1\" n=3 total=60.0 @4000"});
    EXPECT_EQ(h.feed("Buy", 13000, {{"user", h.S("u2")}, {"amt", I(1)}}), V{"user=\"u2\" n=1 total=5.0 @3000"});
    EXPECT_EQ(h.finish(), V{});
}

TEST(TrendAggregator, FinishInOpeningOrder) {
    TrendHarness h("stream S = A as a -> all B as b .partition_by(k) .trend_aggregate(n: count_trends())", "S");
    h.feed("A", 0, {{"k", I(2)}});
    h.feed("A", 1, {{"k", I(1)}});
    h.feed("B", 2, {{"k", I(1)}});
    h.feed("B", 3, {{"k", I(2)}});
    h.feed("B", 4, {{"k", I(2)}});
    EXPECT_EQ(h.finish(), (V{"k=2 n=3 @4", "k=1 n=1 @2"}));
}

TEST(TrendAggregator, PartitionKeysStringForm) {
    TrendHarness h("stream S = A as a -> all B as b .partition_by(k) .trend_aggregate(n: count_trends())", "S");
    h.feed("A", 0, {{"k", I(1)}});
    h.feed("B", 1, {{"k", h.S("1")}});
    EXPECT_EQ(h.finish(), V{"k=1 n=1 @1"});
}

TEST(TrendAggregator, EmptyAggregatesAreNull) {
    TrendHarness h("stream S = A as a -> all B as b .trend_aggregate(n: count_trends(), av: avg_trends(b.v), lo: "
                   "min_trends(b.v), s: sum_trends(b.v))",
                   "S");
    h.feed("A", 0, {});
    h.feed("B", 1, {{"w", I(1)}});  // no v
    auto out = h.finish();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], "n=1 av=null lo=null s=0.0 @1");
    const Row& r = h.last()[0];
    EXPECT_EQ(r.slots[1].kind, ValueKind::Null);
    EXPECT_EQ(r.slots[2].kind, ValueKind::Null);
}

TEST(TrendAggregator, ExactUntilI64ThenFloat) {
    TrendHarness h("stream S = A as a -> all B as b .trend_aggregate(n: count_trends(), e: count_events(a))", "S");
    h.feed("A", 0, {});
    for (int i = 1; i <= 62; ++i) h.feed("B", i, {});
    auto out = h.finish();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], "n=4611686018427387903 e=4611686018427387903 @62");  // 2^62 - 1, exact int
    EXPECT_EQ(h.a().overflows(), 0u);

    TrendHarness g("stream S = A as a -> all B as b .trend_aggregate(n: count_trends())", "S");
    g.feed("A", 0, {});
    for (int i = 1; i <= 64; ++i) g.feed("B", i, {});
    out = g.finish();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(g.last()[0].slots[0].kind, ValueKind::Float);
    EXPECT_EQ(g.last()[0].slots[0].f, 18446744073709551615.0);  // nearest double to 2^64 - 1
    EXPECT_EQ(g.a().overflows(), 1u);

    TrendHarness k("stream S = A as a -> all B as b .trend_aggregate(n: count_trends())", "S");
    k.feed("A", 0, {});
    for (int i = 1; i <= 200; ++i) k.feed("B", i, {});
    k.finish();
    EXPECT_EQ(k.last()[0].slots[0].f, 1.6069380442589903e60);  // 2^200 - 1
}

TEST(TrendAggregator, ThreeStepsMiddleKleene) {
    TrendHarness h("stream S = A as a -> all B as b -> C as c .trend_aggregate(n: count_trends(), eb: "
                   "count_events(b))",
                   "S");
    h.feed("A", 0, {});
    h.feed("B", 1, {});
    h.feed("B", 2, {});
    h.feed("C", 3, {});
    h.feed("C", 4, {});
    // per C: 3 B-subsets; 2 Cs: 6 trends; b events: (1+1+2) per C = 8
    EXPECT_EQ(h.finish(), V{"n=6 eb=8 @4"});
}

TEST(TrendAggregator, UnknownFunctionMeansCountTrends) {
    TrendHarness h("stream S = A as a -> all B as b .trend_aggregate(n: whatever())", "S");
    h.feed("A", 0, {});
    h.feed("B", 1, {});
    h.feed("B", 2, {});
    EXPECT_EQ(h.finish(), V{"n=3 @2"});
}

}  // namespace
