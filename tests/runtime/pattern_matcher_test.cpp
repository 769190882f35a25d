// SASE+ pattern matcher (SEMANTICS §9): every worked example of §9.3–§9.11, the selection
// strategies, caps, .within boundaries, negation scoping, partitions, AND/OR, `?`/`*`,
// trailing NOT and the output order. Plans are built from VPL source; events are rows of the
// routing schemas, fed straight to the matcher (no engine).

#include <gtest/gtest.h>

#include <cstdio>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/compiler.hpp"
#include "runtime/pattern_matcher.hpp"
#include "frontend/diagnostic.hpp"
#include "runtime/value_io.hpp"
#include "tests/support/plan_fixture.hpp"

namespace {

using namespace varpulis;
using namespace varpulis::runtime;
using namespace varpulis::test_support;

class Harness : public PlanFixture {
public:
    Harness(const std::string& src, const std::string& stream) : PlanFixture(src) {
        for_operator(stream, ir::OpKind::Sequence, [&](const ir::StreamPlan& sp, const ir::Operator& op) {
            op_ = &op;
            matcher_ = std::make_unique<PatternMatcher>(rt_, sp, op);
        });
    }

    bool ok() const { return matcher_ != nullptr; }

    /// Feeds T{fields}@ts; returns the rendered match rows it produced.
    std::vector<std::string> feed(const std::string& type, int64_t ts, std::initializer_list<FieldInit> fields,
                                  const std::vector<std::string>& show = {}) {
        std::vector<std::string> r;
        Row row;
        if (!ok() || !input_row(type, ts, fields, row)) return r;
        last_.clear();
        matcher_->on_event(row, last_, scratch_);
        for (const Row& m : last_) r.push_back(render(m, show.empty() ? show_ : show));
        all_.insert(all_.end(), r.begin(), r.end());
        clobber_input();
        return r;
    }

    /// Fields shown by render() by default.
    void show(std::vector<std::string> f) { show_ = std::move(f); }

    std::string render(const Row& m, const std::vector<std::string>& fields) const {
        const ir::Schema& sc = plan_->schemas[m.schema];
        std::string s;
        for (const auto& f : fields) {
            if (f == "@ts") {
                s += "@" + std::to_string(m.ts) + " ";
                continue;
            }
            int slot = sc.slot_of(f);
            if (slot < 0 || !m.slots[slot].present()) continue;
            s += f + "=" + to_display(m.slots[slot]) + " ";
        }
        if (!s.empty()) s.pop_back();
        return s;
    }

    const std::vector<Row>& last_rows() const { return last_; }
    const std::vector<std::string>& all() const { return all_; }
    PatternMatcher& m() { return *matcher_; }

private:
    const ir::Operator* op_ = nullptr;
    std::unique_ptr<PatternMatcher> matcher_;
    std::vector<Row> last_;
    std::vector<std::string> all_;
    std::vector<std::string> show_;
};

using V = std::vector<std::string>;

// ------------------------------------------------------------------ §9.3 plain sequences

TEST(PatternMatcher, TwoRunsCompleteOnOneEvent) {
    Harness h("stream P = A as a -> B as b .emit(x: a.id, y: b.id)", "P");
    h.show({"a_id", "b_id", "@ts", "match_duration_ms", "stream"});
    EXPECT_EQ(h.feed("A", 0, {{"id", I(1)}}), V{});
    EXPECT_EQ(h.feed("A", 5, {{"id", I(2)}}), V{});
    EXPECT_EQ(h.feed("B", 10, {{"id", I(3)}}),
              (V{"a_id=1 b_id=3 @10 match_duration_ms=10 stream=\"P\"", "a_id=2 b_id=3 @10 match_duration_ms=5 stream=\"P\""}));
    EXPECT_EQ(h.feed("B", 20, {{"id", I(4)}}), V{});
    EXPECT_EQ(h.m().live_runs(), 0u);
}

TEST(PatternMatcher, SameTypePairs) {
    Harness h("stream Pairs = Tick as p -> Tick as q .emit(a: p.v, b: q.v)", "Pairs");
    h.show({"p_v", "q_v"});
    EXPECT_EQ(h.feed("Tick", 1, {{"v", I(1)}}), V{});
    EXPECT_EQ(h.feed("Tick", 2, {{"v", I(2)}}), V{"p_v=1 q_v=2"});
    EXPECT_EQ(h.feed("Tick", 3, {{"v", I(3)}}), V{"p_v=2 q_v=3"});
}

TEST(PatternMatcher, PredicateOnEarlierAlias) {
    Harness h("stream S = Login as l -> Purchase where user == l.user as p .emit(u: p.user)", "S");
    h.show({"p_user"});
    h.feed("Login", 0, {{"user", h.S("u1")}});
    EXPECT_EQ(h.feed("Purchase", 1, {{"user", h.S("u2")}}), V{});
    EXPECT_EQ(h.feed("Purchase", 2, {{"user", h.S("u1")}}), V{"p_user=\"u1\""});
}

TEST(PatternMatcher, WrongOrderNoMatch) {
    Harness h("stream Flow = Begin as b -> Finish as f .emit(status: \"done\")", "Flow");
    EXPECT_EQ(h.feed("Finish", 0, {{"id", I(1)}}).size(), 0u);
    EXPECT_EQ(h.feed("Begin", 10, {{"id", I(2)}}).size(), 0u);
}

TEST(PatternMatcher, ThreeStepChain) {
    Harness h("stream S = A as a -> B as b -> C as c .emit(x: a.id, y: b.id, z: c.id)", "S");
    h.show({"a_id", "b_id", "c_id"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("C", 1, {{"id", I(2)}});  // ignored: run waits for B
    h.feed("B", 2, {{"id", I(3)}});
    h.feed("B", 3, {{"id", I(4)}});  // run already past B: skipped
    EXPECT_EQ(h.feed("C", 4, {{"id", I(5)}}), V{"a_id=1 b_id=3 c_id=5"});
}

TEST(PatternMatcher, SingleStepReportsImmediately) {
    Harness h("pattern P = SEQ(A as a)\nstream S = P .emit(x: a.id)", "S");
    h.show({"a_id", "@ts"});
    EXPECT_EQ(h.feed("A", 7, {{"id", I(1)}}), V{"a_id=1 @7"});
    EXPECT_EQ(h.feed("A", 8, {{"id", I(2)}}), V{"a_id=2 @8"});
    EXPECT_EQ(h.m().live_runs(), 0u);
}

// ------------------------------------------------------------------ §9.4 Kleene

TEST(PatternMatcher, KleeneAtEndEmitsPerEvent) {
    Harness h("stream G = Start as s -> all Beat as b .emit(start: s.id, b: b.value, n: len(b))", "G");
    h.show({"s_id", "b_value", "#len:b", "@ts"});
    h.feed("Start", 0, {{"id", I(1)}});
    EXPECT_EQ(h.feed("Beat", 1, {{"value", I(10)}}), V{"s_id=1 b_value=10 #len:b=1 @1"});
    EXPECT_EQ(h.feed("Beat", 2, {{"value", I(20)}}), V{"s_id=1 b_value=20 #len:b=2 @2"});
    EXPECT_EQ(h.feed("Beat", 3, {{"value", I(30)}}), V{"s_id=1 b_value=30 #len:b=3 @3"});
    EXPECT_EQ(h.m().live_runs(), 1u);
}

TEST(PatternMatcher, KleeneAtEndOneMatchPerRun) {
    Harness h("stream G = A as a -> all B as b .emit(x: a.id, y: b.n)", "G");
    h.show({"a_id", "b_n"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("A", 1, {{"id", I(2)}});
    EXPECT_EQ(h.feed("B", 2, {{"n", I(1)}}), (V{"a_id=1 b_n=1", "a_id=2 b_n=1"}));
}

TEST(PatternMatcher, KleeneMiddleOneMatchLastAlias) {
    Harness h("stream K = A as a -> all B as b -> C as c .emit(x: a.id, y: b.n, z: c.id, n: len(b))", "K");
    h.show({"a_id", "b_n", "c_id", "#len:b", "match_duration_ms"});
    h.feed("A", 0, {{"id", I(1)}});
    EXPECT_EQ(h.feed("C", 1, {{"id", I(8)}}), V{});  // C before any B is ignored
    h.feed("B", 2, {{"n", I(1)}});
    h.feed("B", 3, {{"n", I(2)}});
    EXPECT_EQ(h.feed("C", 4, {{"id", I(9)}}), V{"a_id=1 b_n=2 c_id=9 #len:b=2 match_duration_ms=4"});
    EXPECT_EQ(h.m().live_runs(), 0u);
}

TEST(PatternMatcher, KleeneMiddleTwoRuns) {
    Harness h("stream K = A as a -> all B as b -> C as c .emit(x: a.id, y: b.n)", "K");
    h.show({"a_id", "b_n"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("A", 1, {{"id", I(2)}});
    h.feed("B", 2, {{"n", I(1)}});
    EXPECT_EQ(h.feed("C", 3, {{"id", I(9)}}), (V{"a_id=1 b_n=1", "a_id=2 b_n=1"}));
}

TEST(PatternMatcher, KleeneMiddleZeroNeverMatches) {
    Harness h("stream K = A as a -> all B as b -> C as c .emit(x: a.id)", "K");
    h.feed("A", 0, {{"id", I(1)}});
    EXPECT_EQ(h.feed("C", 1, {{"id", I(9)}}).size(), 0u);
}

TEST(PatternMatcher, KleeneResetTwoSequences) {
    Harness h("stream KR = Start as s -> all Beat as b -> Stop as e .emit(start: s.id, stop: e.id)", "KR");
    h.show({"s_id", "e_id", "@ts"});
    h.feed("Start", 0, {{"id", I(1)}});
    h.feed("Beat", 1, {{"value", I(10)}});
    h.feed("Beat", 2, {{"value", I(20)}});
    EXPECT_EQ(h.feed("Stop", 3, {{"id", I(1)}}), V{"s_id=1 e_id=1 @3"});
    h.feed("Start", 4, {{"id", I(2)}});
    h.feed("Beat", 5, {{"value", I(30)}});
    EXPECT_EQ(h.feed("Stop", 6, {{"id", I(2)}}), V{"s_id=2 e_id=2 @6"});
}

TEST(PatternMatcher, KleeneCapKeepsFirstTwenty) {
    Harness h("stream K = A as a -> all B as b -> C as c .emit(y: b.n, n: len(b))", "K");
    h.show({"b_n", "#len:b"});
    h.feed("A", 0, {{"id", I(1)}});
    for (int i = 1; i <= 25; ++i) h.feed("B", i, {{"n", I(i)}});
    EXPECT_EQ(h.m().dropped(), 5u);
    EXPECT_EQ(h.feed("C", 30, {{"id", I(9)}}), V{"b_n=20 #len:b=20"});
}

TEST(PatternMatcher, KleeneFirstSuffixes) {
    Harness h("stream K = all A as a -> B as b .emit(x: a.id, n: len(a), y: b.id)", "K");
    h.show({"a_id", "#len:a", "b_id"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("A", 1, {{"id", I(2)}});
    h.feed("A", 2, {{"id", I(3)}});
    EXPECT_EQ(h.feed("B", 3, {{"id", I(9)}}),
              (V{"a_id=3 #len:a=3 b_id=9", "a_id=3 #len:a=2 b_id=9", "a_id=3 #len:a=1 b_id=9"}));
}

TEST(PatternMatcher, KleeneFirstCap) {
    Harness h("stream K = all A as a -> B as b .emit(x: a.id, n: len(a))", "K");
    h.show({"a_id", "#len:a"});
    for (int i = 1; i <= 22; ++i) h.feed("A", i, {{"id", I(i)}});
    // run 1 keeps A1..A20 (A21, A22 ignored), run 2 keeps A2..A21 (A22 ignored)
    EXPECT_EQ(h.m().dropped(), 3u);
    auto out = h.feed("B", 30, {{"id", I(9)}});
    ASSERT_EQ(out.size(), 22u);
    EXPECT_EQ(out[0], "a_id=20 #len:a=20");
    EXPECT_EQ(out[1], "a_id=21 #len:a=20");
    EXPECT_EQ(out[2], "a_id=22 #len:a=20");
    EXPECT_EQ(out[21], "a_id=22 #len:a=1");
}

TEST(PatternMatcher, DeferredOwnAliasSubsets) {
    // §9.4 (d): middle Kleene whose `where` reads its own alias: every rising subsequence.
    Harness h("stream K = A as a -> all Tick where px > r.px as r -> C as c .emit(p: r.px, n: len(r))", "K");
    h.show({"r_px", "#len:r"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("Tick", 1, {{"px", I(1)}});
    h.feed("Tick", 2, {{"px", I(3)}});
    h.feed("Tick", 3, {{"px", I(2)}});
    EXPECT_EQ(h.feed("C", 4, {{"id", I(9)}}),
              (V{"r_px=3 #len:r=2", "r_px=2 #len:r=2", "r_px=1 #len:r=1", "r_px=3 #len:r=1", "r_px=2 #len:r=1"}));
}

TEST(PatternMatcher, DeferredOtherConjunctsFilterCandidates) {
    Harness h(
        "stream K = A as a -> all Tick where px > 0 and px > r.px as r -> C as c .emit(p: r.px, n: len(r))", "K");
    h.show({"r_px", "#len:r"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("Tick", 1, {{"px", I(-5)}});  // fails px > 0: not a candidate
    h.feed("Tick", 2, {{"px", I(1)}});
    h.feed("Tick", 3, {{"px", I(2)}});
    EXPECT_EQ(h.feed("C", 4, {{"id", I(9)}}), (V{"r_px=2 #len:r=2", "r_px=1 #len:r=1", "r_px=2 #len:r=1"}));
}

TEST(PatternMatcher, DeferredCapCountsDrops) {
    Harness h("stream K = A as a -> all Tick where px > r.px as r -> C as c .emit(n: len(r))", "K");
    h.feed("A", 0, {{"id", I(1)}});
    for (int i = 1; i <= 20; ++i) h.feed("Tick", i, {{"px", I(i)}});
    auto out = h.feed("C", 30, {{"id", I(9)}});
    // 2^20 - 1 rising subsets, 10 000 reported
    EXPECT_EQ(out.size(), 10000u);
    EXPECT_EQ(h.m().dropped(), (1u << 20) - 1 - 10000);
}

TEST(PatternMatcher, NamedPatternPlus) {
    Harness h("pattern P = SEQ(Start, Beat+, Stop)\nstream Plus = P .emit(status: \"seen\")", "Plus");
    h.show({"@ts"});
    h.feed("Start", 0, {{"id", I(1)}});
    h.feed("Beat", 1, {{"value", I(1)}});
    h.feed("Beat", 2, {{"value", I(2)}});
    EXPECT_EQ(h.feed("Stop", 3, {{"id", I(2)}}), V{"@3"});
    h.feed("Start", 4, {{"id", I(3)}});
    EXPECT_EQ(h.feed("Stop", 5, {{"id", I(4)}}).size(), 0u);
}

TEST(PatternMatcher, PlainStepOwnAliasIsUnbound) {
    Harness h("stream K = A as a -> B where v > b.v as b .emit(x: a.id)", "K");
    h.feed("A", 0, {{"id", I(1)}});
    EXPECT_EQ(h.feed("B", 1, {{"v", I(5)}}).size(), 0u);
}

TEST(PatternMatcher, FirstKleeneOwnAliasEager) {
    // Not specified by §9.11 (tests must not rely on it); we evaluate eagerly with the own
    // alias = the previous event of the step.
    Harness h("pattern P = SEQ(T+ where v > t.v as t, E as e)\nstream K = P .emit(n: len(t), v: t.v)", "K");
    h.show({"#len:t", "t_v"});
    h.feed("T", 0, {{"v", I(1)}});
    h.feed("T", 1, {{"v", I(3)}});
    h.feed("T", 2, {{"v", I(2)}});  // run 1 (last 3) ignores it; run 2 (last 3) ignores it
    EXPECT_EQ(h.feed("E", 3, {}), (V{"#len:t=2 t_v=3", "#len:t=1 t_v=3", "#len:t=1 t_v=2"}));
}

// ------------------------------------------------------------------ `*` and `?`

TEST(PatternMatcher, OptionalZeroOrOne) {
    Harness h("pattern C = SEQ(Order as o, Coupon? as c, Pay as p)\nstream Paid = C .emit(order: o.id, code: c.code, "
              "paid: p.amt, n: len(c))",
              "Paid");
    h.show({"o_id", "c_code", "p_amt", "#len:c"});
    h.feed("Order", 0, {{"id", I(1)}});
    EXPECT_EQ(h.feed("Pay", 100, {{"amt", I(10)}}), V{"o_id=1 p_amt=10 #len:c=0"});
    h.feed("Order", 200, {{"id", I(2)}});
    h.feed("Coupon", 300, {{"code", h.S("X")}});
    h.feed("Coupon", 350, {{"code", h.S("Y")}});  // `?` took X already: skipped
    EXPECT_EQ(h.feed("Pay", 400, {{"amt", I(20)}}), V{"o_id=2 c_code=\"X\" p_amt=20 #len:c=1"});
}

TEST(PatternMatcher, StarZeroOrMore) {
    Harness h("pattern Auth = SEQ(Login, Fail* as f, Success as ok)\nstream G = Auth .emit(u: ok.user, n: len(f), "
              "last: f.n)",
              "G");
    h.show({"ok_user", "#len:f", "f_n", "@ts"});
    h.feed("Login", 0, {{"user", h.S("a")}});
    EXPECT_EQ(h.feed("Success", 100, {{"user", h.S("a")}}), V{"ok_user=\"a\" #len:f=0 @100"});
    h.feed("Login", 200, {{"user", h.S("b")}});
    h.feed("Fail", 300, {{"user", h.S("b")}, {"n", I(1)}});
    h.feed("Fail", 400, {{"user", h.S("b")}, {"n", I(2)}});
    EXPECT_EQ(h.feed("Success", 500, {{"user", h.S("b")}}), V{"ok_user=\"b\" #len:f=2 f_n=2 @500"});
    EXPECT_EQ(h.feed("Success", 600, {{"user", h.S("c")}}).size(), 0u);
}

TEST(PatternMatcher, OptionalGreedyWhenBothMatch) {
    // An event matching both B? and the following step is taken by B? (greedy).
    Harness h("pattern P = SEQ(A as a, T? where v > 0 as b, T as c)\nstream S = P .emit(x: b.v, y: c.v)", "S");
    h.show({"b_v", "c_v"});
    h.feed("A", 0, {{"id", I(1)}});
    EXPECT_EQ(h.feed("T", 1, {{"v", I(5)}}), V{});
    EXPECT_EQ(h.feed("T", 2, {{"v", I(6)}}), V{"b_v=5 c_v=6"});
    h.feed("A", 3, {{"id", I(2)}});
    EXPECT_EQ(h.feed("T", 4, {{"v", I(-1)}}), V{"c_v=-1"});  // fails B?'s where: taken by C
}

TEST(PatternMatcher, TrailingOptionalCompletesOnRequiredSteps) {
    Harness h("pattern P = SEQ(A as a, B? as b)\nstream S = P .emit(x: a.id, y: b.id)", "S");
    h.show({"a_id", "b_id"});
    EXPECT_EQ(h.feed("A", 0, {{"id", I(1)}}), V{"a_id=1"});
    EXPECT_EQ(h.feed("B", 1, {{"id", I(2)}}), V{});
}

TEST(PatternMatcher, TrailingStarLikePlus) {
    Harness h("pattern P = SEQ(A as a, B* as b)\nstream S = P .emit(x: a.id, y: b.id, n: len(b))", "S");
    h.show({"a_id", "b_id", "#len:b"});
    EXPECT_EQ(h.feed("A", 0, {{"id", I(1)}}), V{"a_id=1 #len:b=0"});
    EXPECT_EQ(h.feed("B", 1, {{"id", I(2)}}), V{"a_id=1 b_id=2 #len:b=1"});
    EXPECT_EQ(h.feed("B", 2, {{"id", I(3)}}), V{"a_id=1 b_id=3 #len:b=2"});
}

TEST(PatternMatcher, LeadingOptionalStartsAtAnyReachableStep) {
    Harness h("pattern P = SEQ(A? as a, B as b)\nstream S = P .emit(x: a.id, y: b.id)", "S");
    h.show({"a_id", "b_id"});
    EXPECT_EQ(h.feed("B", 0, {{"id", I(1)}}), V{"b_id=1"});
    EXPECT_EQ(h.feed("A", 1, {{"id", I(2)}}), V{});
    // the A run completes, and B also starts (and completes) a run of its own at step B
    EXPECT_EQ(h.feed("B", 2, {{"id", I(3)}}), (V{"a_id=2 b_id=3", "b_id=3"}));
}

// ------------------------------------------------------------------ §9.5 within

TEST(PatternMatcher, WithinExample) {
    Harness h("stream Quick = Req as r -> Resp where id == r.id as s .within(5s) .emit(id: r.id)", "Quick");
    h.show({"r_id", "@ts"});
    h.feed("Req", 0, {{"id", I(1)}});
    EXPECT_EQ(h.feed("Resp", 4000, {{"id", I(1)}}), V{"r_id=1 @4000"});
    h.feed("Req", 10000, {{"id", I(2)}});
    EXPECT_EQ(h.feed("Resp", 16000, {{"id", I(2)}}), V{});
}

TEST(PatternMatcher, WithinBoundaryInclusive) {
    Harness h("stream Visit = Login as l -> Logout where user == l.user as o .within(10s) .emit(user: l.user)",
              "Visit");
    h.show({"l_user", "@ts"});
    h.feed("Login", 1000, {{"user", h.S("a")}});
    EXPECT_EQ(h.feed("Logout", 11000, {{"user", h.S("a")}}), V{"l_user=\"a\" @11000"});
    h.feed("Login", 20000, {{"user", h.S("b")}});
    EXPECT_EQ(h.feed("Logout", 30001, {{"user", h.S("b")}}), V{});
    EXPECT_EQ(h.m().live_runs(), 0u);
}

TEST(PatternMatcher, WithinExpiryBeforeAdvanceSameTimestamp) {
    Harness h("pattern Q = SEQ(Req as r, Resp where id == r.id as s) within 5s\nstream A = Q .emit(id: r.id)", "A");
    h.show({"r_id", "@ts"});
    h.feed("Req", 0, {{"id", I(1)}});
    h.feed("Req", 1000, {{"id", I(2)}});
    EXPECT_EQ(h.feed("Resp", 6000, {{"id", I(2)}}), V{"r_id=2 @6000"});
    EXPECT_EQ(h.feed("Resp", 6000, {{"id", I(1)}}), V{});
}

TEST(PatternMatcher, WithinStopsTrailingKleene) {
    Harness h("stream G = A as a -> all B as b .within(10s) .emit(y: b.n)", "G");
    h.show({"b_n"});
    h.feed("A", 0, {{"id", I(1)}});
    EXPECT_EQ(h.feed("B", 5000, {{"n", I(1)}}), V{"b_n=1"});
    EXPECT_EQ(h.feed("B", 10000, {{"n", I(2)}}), V{"b_n=2"});
    EXPECT_EQ(h.feed("B", 10001, {{"n", I(3)}}), V{});
    EXPECT_EQ(h.m().live_runs(), 0u);
}

TEST(PatternMatcher, WithinExpiryCoversAllPartitions) {
    Harness h("stream S = A as a -> B as b .partition_by(k) .within(1s) .emit(x: a.id)", "S");
    h.feed("A", 0, {{"k", I(1)}, {"id", I(1)}});
    h.feed("A", 100, {{"k", I(2)}, {"id", I(2)}});
    EXPECT_EQ(h.m().live_runs(), 2u);
    h.feed("A", 5000, {{"k", I(3)}, {"id", I(3)}});  // other partition: still expires both
    EXPECT_EQ(h.m().live_runs(), 1u);
}

// ------------------------------------------------------------------ §9.6 negation

TEST(PatternMatcher, NegationExample) {
    Harness h("stream Paid = Order as o -> Payment where oid == o.id as p .not(Cancel where oid == o.id) "
              ".emit(order: o.id)",
              "Paid");
    h.show({"o_id"});
    h.feed("Order", 0, {{"id", I(1)}});
    h.feed("Cancel", 1, {{"oid", I(1)}});
    EXPECT_EQ(h.feed("Payment", 2, {{"oid", I(1)}}), V{});
    h.feed("Order", 3, {{"id", I(2)}});
    EXPECT_EQ(h.feed("Payment", 4, {{"oid", I(2)}}), V{"o_id=2"});
    EXPECT_EQ(h.feed("Cancel", 5, {{"oid", I(2)}}), V{});
    h.feed("Order", 6, {{"id", I(3)}});
    h.feed("Cancel", 7, {{"oid", I(99)}});
    EXPECT_EQ(h.feed("Payment", 8, {{"oid", I(3)}}), V{"o_id=3"});
}

TEST(PatternMatcher, NegationSelective) {
    Harness h("stream Answered = Request as a -> Response where req_id == a.id as b .not(Timeout where req_id == "
              "a.id) .emit(req: a.id)",
              "Answered");
    h.show({"a_id", "@ts"});
    h.feed("Request", 0, {{"id", I(1)}});
    h.feed("Request", 1, {{"id", I(2)}});
    h.feed("Timeout", 2, {{"req_id", I(1)}});
    EXPECT_EQ(h.feed("Response", 3, {{"req_id", I(2)}}), V{"a_id=2 @3"});
    EXPECT_EQ(h.feed("Response", 4, {{"req_id", I(1)}}), V{});
}

TEST(PatternMatcher, NegationKillsKleeneAccumulation) {
    Harness h("stream K = A as a -> all B as b -> C as c .not(X) .emit(x: a.id)", "K");
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("B", 1, {{"n", I(1)}});
    h.feed("X", 2, {});
    EXPECT_EQ(h.feed("C", 3, {{"id", I(9)}}).size(), 0u);
}

TEST(PatternMatcher, NegationScansAllPartitions) {
    Harness h("stream S = A as a -> B as b .partition_by(user) .not(X) .emit(x: a.id)", "S");
    h.feed("A", 0, {{"user", h.S("u1")}, {"id", I(1)}});
    h.feed("A", 1, {{"user", h.S("u2")}, {"id", I(2)}});
    h.feed("X", 2, {{"user", h.S("u3")}});
    EXPECT_EQ(h.m().live_runs(), 0u);
    EXPECT_EQ(h.feed("B", 3, {{"user", h.S("u1")}}).size(), 0u);
}

TEST(PatternMatcher, NegationScopedByPredicateAcrossPartitions) {
    Harness h("stream S = A as a -> B as b .partition_by(user) .not(X where user == a.user) .emit(x: a.id)", "S");
    h.show({"a_id"});
    h.feed("A", 0, {{"user", h.S("u1")}, {"id", I(1)}});
    h.feed("A", 1, {{"user", h.S("u2")}, {"id", I(2)}});
    h.feed("X", 2, {{"user", h.S("u1")}});
    EXPECT_EQ(h.feed("B", 3, {{"user", h.S("u1")}}), V{});
    EXPECT_EQ(h.feed("B", 4, {{"user", h.S("u2")}}), V{"a_id=2"});
}

// ------------------------------------------------------------------ §9.9 NOT inside SEQ

TEST(PatternMatcher, NotBetweenWithPredicate) {
    Harness h("pattern Shipped = SEQ(Order as o, NOT Cancel where oid == o.id, Ship where oid == o.id as s)\n"
              "stream D = Shipped .emit(order: o.id)",
              "D");
    h.show({"o_id", "@ts"});
    h.feed("Order", 0, {{"id", I(1)}});
    h.feed("Order", 10, {{"id", I(2)}});
    h.feed("Cancel", 20, {{"oid", I(1)}});
    EXPECT_EQ(h.feed("Ship", 30, {{"oid", I(1)}}), V{});
    EXPECT_EQ(h.feed("Ship", 40, {{"oid", I(2)}}), V{"o_id=2 @40"});
}

TEST(PatternMatcher, NotBetweenOnlyInItsGap) {
    Harness h("pattern P = SEQ(A as a, NOT X, B as b, C as c)\nstream S = P .emit(x: a.id)", "S");
    h.show({"a_id"});
    h.feed("X", 0, {});  // before A: no effect
    h.feed("A", 1, {{"id", I(1)}});
    h.feed("B", 2, {});
    h.feed("X", 3, {});  // after B: outside the gap
    EXPECT_EQ(h.feed("C", 4, {}), V{"a_id=1"});
    h.feed("A", 5, {{"id", I(2)}});
    h.feed("X", 6, {});  // between A and B: kills
    h.feed("B", 7, {});
    EXPECT_EQ(h.feed("C", 8, {}), V{});
}

TEST(PatternMatcher, NotAfterKleeneAppliesBetweenIterations) {
    Harness h("pattern P = SEQ(A as a, B+ as b, NOT X, C as c)\nstream S = P .emit(x: a.id)", "S");
    h.show({"a_id"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("X", 1, {});  // run is at A: the NOT is after B+, no effect
    h.feed("B", 2, {});
    EXPECT_EQ(h.feed("C", 3, {}), V{"a_id=1"});
    h.feed("A", 4, {{"id", I(2)}});
    h.feed("B", 5, {});
    h.feed("X", 6, {});  // between two Bs: kills
    h.feed("B", 7, {});
    EXPECT_EQ(h.feed("C", 8, {}), V{});
}

TEST(PatternMatcher, NotAfterOptionalAppliesFromEarlierStep) {
    Harness h("pattern P = SEQ(A as a, B? as b, NOT X, C as c)\nstream S = P .emit(x: a.id)", "S");
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("X", 1, {});  // no B taken: still kills
    EXPECT_EQ(h.feed("C", 2, {}).size(), 0u);
    h.feed("A", 3, {{"id", I(2)}});
    h.feed("B", 4, {});
    h.feed("X", 5, {});
    EXPECT_EQ(h.feed("C", 6, {}).size(), 0u);
    h.feed("A", 7, {{"id", I(3)}});
    EXPECT_EQ(h.feed("C", 8, {}).size(), 1u);
}

TEST(PatternMatcher, TrailingNotWithin) {
    Harness h("pattern NoAck = SEQ(Alarm as a, NOT Ack where aid == a.id) within 10s\n"
              "stream U = NoAck .emit(alarm: a.id)",
              "U");
    h.show({"a_id", "@ts", "match_duration_ms"});
    h.feed("Alarm", 0, {{"id", I(1)}});
    h.feed("Alarm", 1000, {{"id", I(2)}});
    h.feed("Ack", 5000, {{"aid", I(2)}});
    EXPECT_EQ(h.feed("Alarm", 12000, {{"id", I(3)}}), V{"a_id=1 @10000 match_duration_ms=0"});
    EXPECT_EQ(h.feed("Ack", 22000, {{"aid", I(3)}}), V{});  // exactly t0 + D: still kills
    h.feed("Alarm", 30000, {{"id", I(4)}});
    EXPECT_EQ(h.all().size(), 1u);
}

TEST(PatternMatcher, TrailingNotWithoutWithinNeverCompletes) {
    Harness h("pattern P = SEQ(A as a, NOT B)\nstream U = P .emit(x: a.id)", "U");
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("A", 100000000, {{"id", I(2)}});
    EXPECT_EQ(h.all().size(), 0u);
}

TEST(PatternMatcher, TrailingNotConfirmationsFirstInCreationOrder) {
    // Runs of two partitions confirmed by one later event: oldest run first, before the match
    // the event itself completes.
    Harness h("pattern P = SEQ(A as a, NOT B where k == a.k) within 1s partition by k\n"
              "stream U = P .emit(x: a.id)",
              "U");
    h.show({"a_id", "@ts"});
    h.feed("A", 0, {{"k", I(2)}, {"id", I(1)}});
    h.feed("A", 10, {{"k", I(1)}, {"id", I(2)}});
    h.feed("A", 20, {{"k", I(2)}, {"id", I(3)}});
    EXPECT_EQ(h.feed("B", 5000, {{"k", I(9)}}), (V{"a_id=1 @1000", "a_id=2 @1010", "a_id=3 @1020"}));
}

TEST(PatternMatcher, TrailingNotAfterKleene) {
    Harness h("pattern P = SEQ(A as a, B+ as b, NOT X) within 1s\nstream U = P .emit(x: a.id, y: b.n, n: len(b))",
              "U");
    h.show({"a_id", "b_n", "#len:b", "@ts", "match_duration_ms"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("B", 100, {{"n", I(1)}});
    h.feed("B", 200, {{"n", I(2)}});
    EXPECT_EQ(h.feed("A", 2000, {{"id", I(2)}}), V{"a_id=1 b_n=2 #len:b=2 @1000 match_duration_ms=200"});
}

// ------------------------------------------------------------------ AND / OR

TEST(PatternMatcher, AndTwoMatches) {
    Harness h("pattern Both = Deposit as d AND Withdrawal as w\nstream P = Both .emit(x: d.amt, y: w.amt)", "P");
    h.show({"d_amt", "w_amt", "match_duration_ms"});
    EXPECT_EQ(h.feed("Deposit", 0, {{"amt", I(1)}}), V{});
    EXPECT_EQ(h.feed("Withdrawal", 5, {{"amt", I(2)}}), V{"d_amt=1 w_amt=2 match_duration_ms=5"});
    EXPECT_EQ(h.feed("Deposit", 7, {{"amt", I(3)}}), V{"d_amt=3 w_amt=2 match_duration_ms=2"});
}

TEST(PatternMatcher, AndIncomplete) {
    Harness h("pattern Both = Deposit AND Withdrawal\nstream P = Both .emit(kind: \"both\")", "P");
    h.feed("Deposit", 0, {{"amt", I(1)}});
    h.feed("Deposit", 1, {{"amt", I(2)}});
    EXPECT_EQ(h.all().size(), 0u);
}

TEST(PatternMatcher, AndWithin) {
    Harness h("pattern Both = Deposit as d AND Withdrawal as w within 1s\nstream P = Both .emit(x: d.amt)", "P");
    h.feed("Deposit", 0, {{"amt", I(1)}});
    EXPECT_EQ(h.feed("Withdrawal", 1001, {{"amt", I(2)}}).size(), 0u);
}

TEST(PatternMatcher, AndAnyMatchEveryCombination) {
    Harness h("pattern Both = D as d AND W as w strategy skip_till_any_match\nstream P = Both .emit(x: d.n, y: w.n)",
              "P");
    h.show({"d_n", "w_n"});
    h.feed("D", 0, {{"n", I(1)}});
    h.feed("D", 1, {{"n", I(2)}});
    EXPECT_EQ(h.feed("W", 2, {{"n", I(3)}}), (V{"d_n=1 w_n=3", "d_n=2 w_n=3"}));
    EXPECT_EQ(h.feed("D", 3, {{"n", I(4)}}), V{"d_n=4 w_n=3"});
}

TEST(PatternMatcher, AndStrictContiguity) {
    Harness h("pattern Both = D as d AND W as w strategy strict_contiguity\nstream P = Both .emit(x: d.n, y: w.n)",
              "P");
    h.show({"d_n", "w_n"});
    h.feed("D", 0, {{"n", I(1)}});
    EXPECT_EQ(h.feed("D", 1, {{"n", I(2)}}), V{});  // kills run D1 (D is not the missing operand)
    EXPECT_EQ(h.feed("W", 2, {{"n", I(3)}}), V{"d_n=2 w_n=3"});
}

TEST(PatternMatcher, OrSingle) {
    Harness h("pattern Tx = Deposit as d OR Withdrawal as w\nstream AnyTx = Tx .emit(dep: d.amt, wd: w.amt)",
              "AnyTx");
    h.show({"d_amt", "w_amt", "@ts"});
    EXPECT_EQ(h.feed("Deposit", 0, {{"amt", I(5)}}), V{"d_amt=5 @0"});
    EXPECT_EQ(h.feed("Withdrawal", 20, {{"amt", I(3)}}), V{"w_amt=3 @20"});
}

TEST(PatternMatcher, OrFirstOperandWins) {
    Harness h("pattern Tx = T where v > 0 as p OR T where v > 10 as q\nstream S = Tx .emit(a: p.v, b: q.v)", "S");
    h.show({"p_v", "q_v"});
    EXPECT_EQ(h.feed("T", 0, {{"v", I(50)}}), V{"p_v=50"});
    EXPECT_EQ(h.feed("T", 1, {{"v", I(-1)}}), V{});
}

// ------------------------------------------------------------------ §9.8 partitions

TEST(PatternMatcher, PartitionedRuns) {
    Harness h("stream S = A as a -> B as b .partition_by(user) .emit(x: a.id, y: b.id)", "S");
    h.show({"a_id", "b_id"});
    h.feed("A", 0, {{"user", h.S("u1")}, {"id", I(1)}});
    h.feed("A", 1, {{"user", h.S("u2")}, {"id", I(2)}});
    EXPECT_EQ(h.feed("B", 2, {{"user", h.S("u2")}, {"id", I(3)}}), V{"a_id=2 b_id=3"});
    EXPECT_EQ(h.feed("B", 3, {{"user", h.S("u1")}, {"id", I(4)}}), V{"a_id=1 b_id=4"});
}

TEST(PatternMatcher, PartitionKeysInStringForm) {
    Harness h("stream S = A as a -> B as b .partition_by(k) .emit(x: a.id, y: b.id)", "S");
    h.show({"a_id", "b_id"});
    h.feed("A", 0, {{"k", I(1)}, {"id", I(1)}});
    EXPECT_EQ(h.feed("B", 1, {{"k", F(1.0)}, {"id", I(2)}}), V{"a_id=1 b_id=2"});
    h.feed("A", 2, {{"k", h.S("1")}, {"id", I(3)}});
    EXPECT_EQ(h.feed("B", 3, {{"k", I(1)}, {"id", I(4)}}), V{"a_id=3 b_id=4"});
    h.feed("A", 4, {{"id", I(5)}});                                     // missing key: ""
    EXPECT_EQ(h.feed("B", 5, {{"k", h.S("")}, {"id", I(6)}}), V{"a_id=5 b_id=6"});
}

TEST(PatternMatcher, RunCapPerPartition) {
    Harness h("stream S = A as a -> B as b .emit(x: a.id)", "S");
    for (int i = 0; i < 10001; ++i) h.feed("A", i, {{"id", I(i)}});
    EXPECT_EQ(h.m().dropped(), 1u);
    EXPECT_EQ(h.m().live_runs(), 10000u);
    EXPECT_EQ(h.feed("B", 20000, {}).size(), 10000u);
}

TEST(PatternMatcher, RunCapIsPerPartitionKey) {
    Harness h("stream S = A as a -> B as b .partition_by(k) .emit(x: a.id)", "S");
    for (int i = 0; i < 10000; ++i) h.feed("A", i, {{"k", I(1)}});
    h.feed("A", 10000, {{"k", I(2)}});
    EXPECT_EQ(h.m().dropped(), 0u);
    h.feed("A", 10001, {{"k", I(1)}});
    EXPECT_EQ(h.m().dropped(), 1u);
}

// ------------------------------------------------------------------ §9.10 strategies

TEST(PatternMatcher, DefaultStrategyKleeneOneMatch) {
    Harness h("pattern P = SEQ(A as a, B+ as b, C as c)\nstream M = P .emit(n: len(b), last_b: b.id, cid: c.id)",
              "M");
    h.show({"#len:b", "b_id", "c_id", "@ts"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("B", 1, {{"id", I(2)}});
    h.feed("B", 2, {{"id", I(3)}});
    EXPECT_EQ(h.feed("C", 3, {{"id", I(4)}}), V{"#len:b=2 b_id=3 c_id=4 @3"});
}

TEST(PatternMatcher, AnyMatchKleeneSubsets) {
    Harness h("pattern P = SEQ(A as a, B+ as b, C as c) strategy skip_till_any_match\n"
              "stream M = P .emit(n: len(b), last_b: b.id, cid: c.id)",
              "M");
    h.show({"#len:b", "b_id", "c_id", "@ts"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("B", 1, {{"id", I(2)}});
    h.feed("B", 2, {{"id", I(3)}});
    EXPECT_EQ(h.feed("C", 3, {{"id", I(4)}}),
              (V{"#len:b=2 b_id=3 c_id=4 @3", "#len:b=1 b_id=2 c_id=4 @3", "#len:b=1 b_id=3 c_id=4 @3"}));
}

TEST(PatternMatcher, AnyMatchTrailingKleene) {
    Harness h("pattern Up = SEQ(T as s, T+ where v > s.v as r) within 1s strategy skip_till_any_match\n"
              "stream M = Up .emit(sv: s.v, n: len(r), rv: r.v)",
              "M");
    h.show({"s_v", "#len:r", "r_v", "@ts"});
    EXPECT_EQ(h.feed("T", 0, {{"v", I(1)}}), V{});
    EXPECT_EQ(h.feed("T", 1, {{"v", I(3)}}), V{"s_v=1 #len:r=1 r_v=3 @1"});
    EXPECT_EQ(h.feed("T", 2, {{"v", I(2)}}), (V{"s_v=1 #len:r=2 r_v=2 @2", "s_v=1 #len:r=1 r_v=2 @2"}));
}

TEST(PatternMatcher, AnyMatchPlainSequenceAllCombinations) {
    Harness h("stream M = A as a -> B as b -> C as c .strategy(skip_till_any_match) .emit(x: a.id, y: b.id, z: c.id)",
              "M");
    h.show({"a_id", "b_id", "c_id"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("B", 1, {{"id", I(2)}});
    h.feed("A", 2, {{"id", I(3)}});
    h.feed("B", 3, {{"id", I(4)}});
    EXPECT_EQ(h.feed("C", 4, {{"id", I(5)}}),
              (V{"a_id=1 b_id=2 c_id=5", "a_id=1 b_id=4 c_id=5", "a_id=3 b_id=4 c_id=5"}));
    // runs stay: another C gives the same three combinations again
    EXPECT_EQ(h.feed("C", 5, {{"id", I(6)}}).size(), 3u);
}

TEST(PatternMatcher, AnyMatchOwnAliasRising) {
    Harness h("pattern P = SEQ(A as a, B+ where px > b.px as b, C as c) strategy skip_till_any_match\n"
              "stream M = P .emit(n: len(b), p: b.px)",
              "M");
    h.show({"#len:b", "b_px"});
    h.feed("A", 0, {});
    h.feed("B", 1, {{"px", I(1)}});
    h.feed("B", 2, {{"px", I(3)}});
    h.feed("B", 3, {{"px", I(2)}});
    EXPECT_EQ(h.feed("C", 4, {}),
              (V{"#len:b=2 b_px=3", "#len:b=2 b_px=2", "#len:b=1 b_px=1", "#len:b=1 b_px=3", "#len:b=1 b_px=2"}));
}

TEST(PatternMatcher, AnyMatchOptional) {
    Harness h("pattern P = SEQ(A as a, B? as b, C as c) strategy skip_till_any_match\nstream M = P .emit(y: b.id)",
              "M");
    h.show({"b_id"});
    h.feed("A", 0, {});
    h.feed("B", 1, {{"id", I(7)}});
    EXPECT_EQ(h.feed("C", 2, {}), (V{"b_id=7", ""}));
}

TEST(PatternMatcher, AnyMatchPerEventCap) {
    Harness h("stream M = A as a -> B as b .strategy(skip_till_any_match) .emit(x: a.id)", "M");
    for (int i = 0; i < 10005; ++i) h.feed("A", i, {{"id", I(i)}});
    EXPECT_EQ(h.m().dropped(), 0u);
    EXPECT_EQ(h.feed("B", 20000, {}).size(), 10000u);
    EXPECT_EQ(h.m().dropped(), 5u);
}

TEST(PatternMatcher, AnyMatchNegationAndWithin) {
    Harness h("stream M = A as a -> B as b .strategy(skip_till_any_match) .within(1s) .not(X) .emit(x: a.id)", "M");
    h.show({"a_id"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("X", 1, {});
    h.feed("A", 2, {{"id", I(2)}});
    EXPECT_EQ(h.feed("B", 3, {}), V{"a_id=2"});
    EXPECT_EQ(h.feed("B", 1003, {}), V{});  // expired at 1003 > 2 + 1000
}

TEST(PatternMatcher, StrictContiguity) {
    Harness h("stream M = A as a -> B as b .strategy(strict_contiguity) .emit(x: a.id, y: b.id)", "M");
    h.show({"a_id", "b_id", "@ts"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("A", 1, {{"id", I(2)}});
    EXPECT_EQ(h.feed("B", 2, {{"id", I(3)}}), V{"a_id=2 b_id=3 @2"});
    EXPECT_EQ(h.feed("B", 3, {{"id", I(4)}}), V{});
}

TEST(PatternMatcher, StrictContiguityNegationTypeBreaksRun) {
    Harness h("stream M = A as a -> B as b .strategy(strict_contiguity) .not(X where id == a.id) .emit(x: a.id)",
              "M");
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("X", 1, {{"id", I(99)}});  // does not kill by negation, but breaks contiguity
    EXPECT_EQ(h.feed("B", 2, {}).size(), 0u);
}

TEST(PatternMatcher, StrictContiguityKleene) {
    Harness h("stream M = A as a -> all B as b -> C as c .strategy(strict_contiguity) .emit(n: len(b))", "M");
    h.show({"#len:b"});
    h.feed("A", 0, {});
    h.feed("B", 1, {});
    h.feed("B", 2, {});
    EXPECT_EQ(h.feed("C", 3, {}), V{"#len:b=2"});
    h.feed("A", 4, {});
    h.feed("B", 5, {});
    h.feed("A", 6, {});  // breaks the first run, starts another
    h.feed("B", 7, {});
    EXPECT_EQ(h.feed("C", 8, {}), V{"#len:b=1"});
}

TEST(PatternMatcher, StrictPartitionsAreSeparateInputs) {
    Harness h("stream M = A as a -> B as b .partition_by(k) .strategy(strict_contiguity) .emit(x: a.id)", "M");
    h.show({"a_id"});
    h.feed("A", 0, {{"k", I(1)}, {"id", I(1)}});
    h.feed("A", 1, {{"k", I(2)}, {"id", I(2)}});  // other partition: no effect on run 1
    EXPECT_EQ(h.feed("B", 2, {{"k", I(1)}}), V{"a_id=1"});
}

// ------------------------------------------------------------------ §9.7 match event shape

TEST(PatternMatcher, MatchRowShape) {
    Harness h("stream P = A as a -> B as b .emit(x: a.id, y: b.id, z: len(a))", "P");
    h.feed("A", 1000, {{"id", I(1)}});
    h.feed("B", 4500, {{"id", I(2)}});
    // run through last_rows of the completing feed
    auto out = h.feed("B", 4600, {{"id", I(3)}});
    EXPECT_TRUE(out.empty());
    h.feed("A", 5000, {{"id", I(5)}});
    h.feed("B", 6000, {{"id", I(6)}});
    ASSERT_EQ(h.last_rows().size(), 1u);
    const Row& r = h.last_rows()[0];
    const ir::Schema& sc = h.plan().schemas[r.schema];
    EXPECT_EQ(sc.fields[0], "stream");
    EXPECT_EQ(sc.fields[1], "match_duration_ms");
    EXPECT_EQ(std::string(r.type->view()), "SequenceMatch");
    EXPECT_EQ(r.ts, 6000);
    EXPECT_EQ(to_display(r.slots[0]), "\"P\"");
    EXPECT_EQ(r.slots[1].i, 1000);
    EXPECT_EQ(h.render(r, {"a_id", "b_id", "#len:a"}), "a_id=5 b_id=6 #len:a=1");
}

TEST(PatternMatcher, UnaliasedStepsNotCaptured) {
    Harness h("stream P = A as a -> B .emit(x: a.id)", "P");
    h.show({"a_id"});
    h.feed("A", 0, {{"id", I(1)}});
    EXPECT_EQ(h.feed("B", 1, {{"id", I(2)}}), V{"a_id=1"});
}

TEST(PatternMatcher, StoredEventsSurviveInputReuse) {
    // Row slots are only valid during the call: the matcher must have copied them.
    Harness h("stream P = A as a -> B as b .emit(x: a.id)", "P");
    h.show({"a_id"});
    h.feed("A", 0, {{"id", I(1)}});
    h.feed("A", 1, {{"id", I(2)}});
    EXPECT_EQ(h.feed("B", 2, {}), (V{"a_id=1", "a_id=2"}));
}

// ------------------------------------------------------------------ equality-indexed runs
// Under the default strategy a run waiting for a plain step with a `field == alias.f` conjunct
// is found through a hash index on the alias value. These check that nothing observable
// changes: order, int/float keys, absent keys, expiry, negation, caps.

TEST(PatternMatcher, IndexedSeveralRunsPerKey) {
    Harness h("stream S = A as a -> B where id == a.id as b .emit(x: a.n, y: b.n)", "S");
    h.show({"a_n", "b_n"});
    h.feed("A", 0, {{"id", I(1)}, {"n", I(1)}});
    h.feed("A", 1, {{"id", I(2)}, {"n", I(2)}});
    h.feed("A", 2, {{"id", I(1)}, {"n", I(3)}});
    h.feed("A", 3, {{"id", I(1)}, {"n", I(4)}});
    EXPECT_EQ(h.m().live_runs(), 4u);
    EXPECT_EQ(h.feed("B", 4, {{"id", I(1)}, {"n", I(10)}}), (V{"a_n=1 b_n=10", "a_n=3 b_n=10", "a_n=4 b_n=10"}));
    EXPECT_EQ(h.feed("B", 5, {{"id", I(1)}, {"n", I(11)}}), V{});
    EXPECT_EQ(h.feed("B", 6, {{"id", I(3)}, {"n", I(12)}}), V{});
    h.feed("A", 7, {{"id", I(2)}, {"n", I(5)}});
    EXPECT_EQ(h.feed("B", 8, {{"id", I(2)}, {"n", I(13)}}), (V{"a_n=2 b_n=13", "a_n=5 b_n=13"}));
    EXPECT_EQ(h.m().live_runs(), 0u);
}

TEST(PatternMatcher, IndexedOtherConjunctsStillChecked) {
    Harness h("stream S = A as a -> B where v > a.v and id == a.id and v != 7 as b .emit(x: a.n, y: b.n)", "S");
    h.show({"a_n", "b_n"});
    h.feed("A", 0, {{"id", I(1)}, {"v", I(5)}, {"n", I(1)}});
    h.feed("A", 1, {{"id", I(1)}, {"v", I(1)}, {"n", I(2)}});
    EXPECT_EQ(h.feed("B", 2, {{"id", I(1)}, {"v", I(3)}, {"n", I(10)}}), V{"a_n=2 b_n=10"});
    EXPECT_EQ(h.feed("B", 3, {{"id", I(1)}, {"v", I(7)}, {"n", I(11)}}), V{});  // v != 7 fails
    EXPECT_EQ(h.feed("B", 4, {{"id", I(2)}, {"v", I(9)}, {"n", I(12)}}), V{});  // other key
    EXPECT_EQ(h.feed("B", 5, {{"id", I(1)}, {"v", I(9)}, {"n", I(13)}}), V{"a_n=1 b_n=13"});
}

TEST(PatternMatcher, IndexedMixedIntFloatKeys) {
    // == compares numbers: 1 and 1.0 meet in one bucket; "1" is another value.
    Harness h("stream S = A as a -> B where a.id == id as b .emit(x: a.n, y: b.n)", "S");
    h.show({"a_n", "b_n"});
    h.feed("A", 0, {{"id", I(1)}, {"n", I(1)}});
    h.feed("A", 1, {{"id", F(1.0)}, {"n", I(2)}});
    h.feed("A", 2, {{"id", h.S("1")}, {"n", I(3)}});
    h.feed("A", 3, {{"id", F(2.5)}, {"n", I(4)}});
    h.feed("A", 4, {{"id", I(1)}, {"n", I(5)}});
    EXPECT_EQ(h.feed("B", 5, {{"id", F(1.0)}, {"n", I(10)}}), (V{"a_n=1 b_n=10", "a_n=2 b_n=10", "a_n=5 b_n=10"}));
    EXPECT_EQ(h.feed("B", 6, {{"id", I(2)}, {"n", I(11)}}), V{});
    EXPECT_EQ(h.feed("B", 7, {{"id", F(2.5)}, {"n", I(12)}}), V{"a_n=4 b_n=12"});
    EXPECT_EQ(h.feed("B", 8, {{"id", h.S("1")}, {"n", I(13)}}), V{"a_n=3 b_n=13"});
    EXPECT_EQ(h.m().live_runs(), 0u);
}

TEST(PatternMatcher, IndexedAbsentKeys) {
    Harness h("stream S = A as a -> B where id == a.id as b .within(10s) .emit(x: a.n, y: b.n)", "S");
    h.show({"a_n", "b_n"});
    h.feed("A", 0, {{"n", I(1)}});                  // no id: its run can never advance
    h.feed("A", 1, {{"id", I(5)}, {"n", I(2)}});
    EXPECT_EQ(h.m().live_runs(), 2u);               // but it is live (cap, expiry)
    EXPECT_EQ(h.feed("B", 2, {{"n", I(10)}}), V{});  // absent field matches nothing
    EXPECT_EQ(h.feed("B", 3, {{"id", Value::null()}, {"n", I(11)}}), V{});
    EXPECT_EQ(h.feed("B", 4, {{"id", I(5)}, {"n", I(12)}}), V{"a_n=2 b_n=12"});
    EXPECT_EQ(h.m().live_runs(), 1u);
    EXPECT_EQ(h.feed("B", 10000, {}), V{});          // deadline 10000: still live
    EXPECT_EQ(h.m().live_runs(), 1u);
    h.feed("B", 10001, {});                          // expired before advancing
    EXPECT_EQ(h.m().live_runs(), 0u);
    // null == null holds.
    h.feed("A", 20000, {{"id", Value::null()}, {"n", I(3)}});
    EXPECT_EQ(h.feed("B", 20001, {{"id", Value::null()}, {"n", I(13)}}), V{"a_n=3 b_n=13"});
}

TEST(PatternMatcher, IndexedExpiryInterleaving) {
    Harness h("stream S = A as a -> B where id == a.id as b .within(5s) .emit(x: a.n, y: b.n)", "S");
    h.show({"a_n", "b_n", "@ts"});
    h.feed("A", 0, {{"id", I(1)}, {"n", I(1)}});
    h.feed("A", 3000, {{"id", I(1)}, {"n", I(2)}});
    h.feed("A", 4000, {{"id", I(2)}, {"n", I(3)}});
    EXPECT_EQ(h.feed("B", 5000, {{"id", I(1)}, {"n", I(10)}}), (V{"a_n=1 b_n=10 @5000", "a_n=2 b_n=10 @5000"}));
    h.feed("A", 5000, {{"id", I(1)}, {"n", I(4)}});
    EXPECT_EQ(h.feed("B", 9001, {{"id", I(1)}, {"n", I(11)}}), V{"a_n=4 b_n=11 @9001"});  // id 2 run expired
    EXPECT_EQ(h.m().live_runs(), 0u);
    // Out-of-order start times: deadlines 15000 and 14000.
    h.feed("A", 10000, {{"id", I(3)}, {"n", I(5)}});
    h.feed("A", 9000, {{"id", I(3)}, {"n", I(6)}});
    h.feed("A", 9500, {{"id", I(4)}, {"n", I(7)}});
    EXPECT_EQ(h.m().live_runs(), 3u);
    h.feed("B", 14200, {{"id", I(99)}});  // another key: expires the run of A@9000 only
    EXPECT_EQ(h.m().live_runs(), 2u);
    EXPECT_EQ(h.feed("B", 14400, {{"id", I(3)}, {"n", I(12)}}), V{"a_n=5 b_n=12 @14400"});
    EXPECT_EQ(h.feed("B", 14600, {{"id", I(4)}, {"n", I(13)}}), V{});  // 9500 + 5000 < 14600
    EXPECT_EQ(h.m().live_runs(), 0u);
}

TEST(PatternMatcher, IndexedExpiryBeforeCap) {
    // Expired runs leave the count of the 10 000-run cap before the event starts a run.
    Harness h("stream S = A as a -> B where id == a.id as b .within(1s) .emit(x: a.id)", "S");
    h.show({"a_id"});
    for (int i = 0; i < 10000; ++i) h.feed("A", 0, {{"id", I(i)}});
    h.feed("A", 1000, {{"id", I(-1)}});
    EXPECT_EQ(h.m().dropped(), 1u);
    h.feed("A", 1001, {{"id", I(-2)}});  // every run of t=0 expired first: this one starts
    EXPECT_EQ(h.m().dropped(), 1u);
    EXPECT_EQ(h.m().live_runs(), 1u);
    EXPECT_EQ(h.feed("B", 1002, {{"id", I(-2)}}), V{"a_id=-2"});
}

TEST(PatternMatcher, IndexedNegationKillsIndexedRuns) {
    Harness h("stream S = A as a -> B where id == a.id as b .partition_by(k) .not(X where id == a.id) "
              ".emit(x: a.n, y: b.n)",
              "S");
    h.show({"a_n", "b_n"});
    h.feed("A", 0, {{"k", I(1)}, {"id", I(1)}, {"n", I(1)}});
    h.feed("A", 1, {{"k", I(2)}, {"id", I(1)}, {"n", I(2)}});
    h.feed("A", 2, {{"k", I(1)}, {"id", I(2)}, {"n", I(3)}});
    h.feed("A", 3, {{"k", I(1)}, {"id", I(1)}, {"n", I(4)}});
    h.feed("X", 4, {{"k", I(9)}, {"id", F(1.0)}});  // every partition, every id-1 run
    EXPECT_EQ(h.m().live_runs(), 1u);
    EXPECT_EQ(h.feed("B", 5, {{"k", I(1)}, {"id", I(1)}, {"n", I(10)}}), V{});
    EXPECT_EQ(h.feed("B", 6, {{"k", I(2)}, {"id", I(1)}, {"n", I(11)}}), V{});
    h.feed("A", 7, {{"k", I(1)}, {"id", I(1)}, {"n", I(5)}});
    EXPECT_EQ(h.feed("B", 8, {{"k", I(1)}, {"id", I(1)}, {"n", I(12)}}), V{"a_n=5 b_n=12"});
    EXPECT_EQ(h.feed("B", 9, {{"k", I(2)}, {"id", I(2)}, {"n", I(13)}}), V{});  // other partition
    EXPECT_EQ(h.feed("B", 10, {{"k", I(1)}, {"id", I(2)}, {"n", I(14)}}), V{"a_n=3 b_n=14"});
}

TEST(PatternMatcher, IndexedUnscopedNegationKillsAll) {
    Harness h("stream S = A as a -> B where id == a.id as b .not(X) .emit(x: a.n)", "S");
    h.show({"a_n"});
    h.feed("A", 0, {{"id", I(1)}, {"n", I(1)}});
    h.feed("A", 1, {{"n", I(2)}});  // absent key
    h.feed("A", 2, {{"id", I(2)}, {"n", I(3)}});
    h.feed("X", 3, {});
    EXPECT_EQ(h.m().live_runs(), 0u);
    EXPECT_EQ(h.feed("B", 4, {{"id", I(1)}}), V{});
    h.feed("A", 5, {{"id", I(1)}, {"n", I(4)}});
    EXPECT_EQ(h.feed("B", 6, {{"id", I(1)}}), V{"a_n=4"});
}

TEST(PatternMatcher, IndexedNotBetweenKillsAtItsStep) {
    Harness h("pattern P = SEQ(A as a, B where id == a.id as b, NOT X where id == a.id, C where id == a.id as c)\n"
              "stream S = P .emit(x: a.n, y: c.n)",
              "S");
    h.show({"a_n", "c_n"});
    h.feed("A", 0, {{"id", I(1)}, {"n", I(1)}});
    h.feed("A", 1, {{"id", I(1)}, {"n", I(2)}});
    h.feed("B", 2, {{"id", I(1)}});           // both runs now wait for C (bucket of step 2)
    h.feed("A", 3, {{"id", I(1)}, {"n", I(3)}});  // waits for B: the NOT does not apply to it
    h.feed("X", 4, {{"id", I(1)}});
    EXPECT_EQ(h.m().live_runs(), 1u);
    h.feed("B", 5, {{"id", I(1)}});
    EXPECT_EQ(h.feed("C", 6, {{"id", I(1)}, {"n", I(10)}}), V{"a_n=3 c_n=10"});
}

TEST(PatternMatcher, IndexedCapsStillCounted) {
    Harness h("stream S = A as a -> B where id == a.id as b .emit(x: a.id)", "S");
    h.show({"a_id"});
    for (int i = 0; i < 9999; ++i) h.feed("A", i, {{"id", I(i)}});
    h.feed("A", 9999, {});  // an absent key counts like any run
    h.feed("A", 10000, {{"id", I(10000)}});
    EXPECT_EQ(h.m().dropped(), 1u);
    EXPECT_EQ(h.m().live_runs(), 10000u);
    EXPECT_EQ(h.feed("B", 10001, {{"id", I(10000)}}), V{});  // never started
    EXPECT_EQ(h.feed("B", 10002, {{"id", I(7)}}), V{"a_id=7"});
    h.feed("A", 10003, {{"id", I(10000)}});  // room again
    EXPECT_EQ(h.m().dropped(), 1u);
    h.feed("A", 10004, {{"id", I(10001)}});
    EXPECT_EQ(h.m().dropped(), 2u);
    EXPECT_EQ(h.feed("B", 10005, {{"id", I(10000)}}), V{"a_id=10000"});
}

TEST(PatternMatcher, IndexedKleeneCapStillCounted) {
    Harness h("stream S = A as a -> all B where id == a.id as b -> C where id == a.id as c .emit(x: a.id, n: len(b))", "S");
    h.show({"a_id", "#len:b"});
    h.feed("A", 0, {{"id", I(1)}});
    for (int i = 0; i < 25; ++i) h.feed("B", 1 + i, {{"id", I(1)}});
    EXPECT_EQ(h.m().dropped(), 5u);
    EXPECT_EQ(h.feed("C", 100, {{"id", I(2)}}), V{});
    EXPECT_EQ(h.feed("C", 101, {{"id", I(1)}}), V{"a_id=1 #len:b=20"});
}

TEST(PatternMatcher, IndexedCompletionOrderAcrossKeysAndSteps) {
    // A B completes runs waiting in the bucket of its id (step b) and runs already complete
    // that take it for the trailing `B*` (no index): reported oldest run first.
    Harness h("pattern P = SEQ(A as a, B where id == a.id as b, B* as c)\nstream S = P .emit(x: a.n, y: b.n, z: c.n)",
              "S");
    h.show({"a_n", "b_n", "c_n"});
    h.feed("A", 0, {{"id", I(1)}, {"n", I(1)}});
    h.feed("A", 1, {{"id", I(2)}, {"n", I(2)}});
    h.feed("A", 2, {{"id", I(1)}, {"n", I(3)}});
    EXPECT_EQ(h.feed("B", 3, {{"id", I(1)}, {"n", I(10)}}), (V{"a_n=1 b_n=10", "a_n=3 b_n=10"}));
    EXPECT_EQ(h.feed("B", 4, {{"id", I(2)}, {"n", I(11)}}),
              (V{"a_n=1 b_n=10 c_n=11", "a_n=2 b_n=11", "a_n=3 b_n=10 c_n=11"}));
    h.feed("A", 5, {{"id", I(1)}, {"n", I(4)}});
    EXPECT_EQ(h.feed("B", 6, {{"id", I(1)}, {"n", I(12)}}),
              (V{"a_n=1 b_n=10 c_n=12", "a_n=2 b_n=11 c_n=12", "a_n=3 b_n=10 c_n=12", "a_n=4 b_n=12"}));
}

TEST(PatternMatcher, IndexedOneEventSeveralBuckets) {
    // Steps 1 and 2 both take A: one A visits the bucket of its id (step 1) and of its v
    // (step 2), advances and completes runs in creation order, each once, then starts a run.
    Harness h("stream S = A as a -> A where id == a.id as b -> A where v == b.id as c .emit(x: a.n, y: b.n, z: c.n)",
              "S");
    h.show({"a_n", "b_n", "c_n"});
    h.feed("A", 0, {{"id", I(1)}, {"v", I(0)}, {"n", I(1)}});  // r1 starts
    h.feed("A", 1, {{"id", I(2)}, {"v", I(0)}, {"n", I(2)}});  // r2 starts
    h.feed("A", 2, {{"id", I(1)}, {"v", I(0)}, {"n", I(3)}});  // r1 -> b; r3 starts
    // id 2: r2 -> b (bucket id=2); v 1: r1 completes (bucket b.id=1); r4 starts.
    EXPECT_EQ(h.feed("A", 3, {{"id", I(2)}, {"v", I(1)}, {"n", I(4)}}), V{"a_n=1 b_n=3 c_n=4"});
    // id 1: r3 -> b; v 2: r2 completes. r2 is older than r3: r3 advanced, not completed.
    EXPECT_EQ(h.feed("A", 4, {{"id", I(1)}, {"v", F(2.0)}, {"n", I(5)}}), V{"a_n=2 b_n=4 c_n=5"});
    // v 1: r3 (b.id 1) completes; id 2: r4 -> b.
    EXPECT_EQ(h.feed("A", 5, {{"id", I(2)}, {"v", I(1)}, {"n", I(6)}}), V{"a_n=3 b_n=5 c_n=6"});
    EXPECT_EQ(h.feed("A", 6, {{"id", I(9)}, {"v", I(2)}, {"n", I(7)}}), V{"a_n=4 b_n=6 c_n=7"});
}

TEST(PatternMatcher, IndexedMergedWithScanListInCreationOrder) {
    // Runs waiting for the unconditional B (scan list) and runs waiting for `B where id ==
    // a.id` (index) take the same B, oldest first.
    Harness h("stream S = A as a -> B as b -> B where id == a.id as c .emit(x: a.n, y: b.n, z: c.n)", "S");
    h.show({"a_n", "b_n", "c_n"});
    h.feed("A", 0, {{"id", I(1)}, {"n", I(1)}});
    h.feed("B", 1, {{"id", I(5)}, {"n", I(10)}});  // r1 -> b
    h.feed("A", 2, {{"id", I(1)}, {"n", I(2)}});
    h.feed("B", 3, {{"id", I(5)}, {"n", I(11)}});  // r2 -> b (r1 waits for id 1)
    h.feed("A", 4, {{"id", I(1)}, {"n", I(3)}});
    EXPECT_EQ(h.feed("B", 5, {{"id", I(1)}, {"n", I(12)}}), (V{"a_n=1 b_n=10 c_n=12", "a_n=2 b_n=11 c_n=12"}));
    EXPECT_EQ(h.feed("B", 6, {{"id", I(1)}, {"n", I(13)}}), V{"a_n=3 b_n=12 c_n=13"});
}

TEST(PatternMatcher, IndexedTrailingNotConfirmations) {
    Harness h("pattern P = SEQ(A as a, B where id == a.id as b, NOT X where id == a.id) within 5s\n"
              "stream S = P .emit(x: a.n)",
              "S");
    h.show({"a_n", "@ts"});
    h.feed("A", 0, {{"id", I(1)}, {"n", I(1)}});
    h.feed("A", 100, {{"id", I(2)}, {"n", I(2)}});
    h.feed("A", 200, {{"id", I(1)}, {"n", I(3)}});
    h.feed("B", 300, {{"id", I(1)}});
    h.feed("B", 400, {{"id", I(2)}});
    h.feed("X", 500, {{"id", I(2)}});
    EXPECT_EQ(h.feed("B", 5300, {{"id", I(99)}}), (V{"a_n=1 @5000", "a_n=3 @5200"}));
    EXPECT_EQ(h.m().live_runs(), 0u);
}

// Indexed path against the scan path: `id == a.id` is indexed, `not (id != a.id)` means the
// same but is not. Random keys (int, float, string, null, absent), time going back now and
// then, a negation and several runs per key.
TEST(PatternMatcher, IndexedSameAsUnindexedRandom) {
    const char* tail = " .not(X where id == a.id and v == 3) .within(3s) .emit(x: a.n, y: b.n, z: c.n)";
    std::string idx = std::string("stream S = A as a -> B where id == a.id and v >= a.v as b -> C where v == b.v as c") + tail;
    std::string scan =
        std::string("stream S = A as a -> B where not (id != a.id) and v >= a.v as b -> C where not (v != b.v) as c") +
        tail;
    for (int part = 0; part < 2; ++part) {
        std::string p = part ? " .partition_by(k)" : "";
        Harness h1(idx + p, "S"), h2(scan + p, "S");
        h1.show({"a_n", "b_n", "c_n", "@ts"});
        h2.show({"a_n", "b_n", "c_n", "@ts"});
        uint64_t x = 88172645463325252ull + part;
        auto rnd = [&](uint64_t n) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            return x % n;
        };
        auto key = [&](Harness& h, uint64_t r) -> Value {
            switch (r) {
                case 0: return Value();
                case 1: return Value::null();
                case 2: return h.S("1");
                case 3: return F(1.0);
                case 4: return F(2.5);
                default: return I(static_cast<int64_t>(r % 4));
            }
        };
        int64_t ts = 0;
        size_t matches = 0;
        for (int i = 0; i < 6000; ++i) {
            ts += static_cast<int64_t>(rnd(80));
            if (rnd(20) == 0) ts -= static_cast<int64_t>(rnd(1000));
            static const char* types[] = {"A", "B", "C", "A", "B", "X"};
            const char* t = types[rnd(6)];
            uint64_t rk = rnd(9), rv = rnd(9), rp = rnd(3);
            int64_t n = i;
            auto o1 = h1.feed(t, ts, {{"id", key(h1, rk)}, {"v", key(h1, rv)}, {"k", I(static_cast<int64_t>(rp))}, {"n", I(n)}});
            auto o2 = h2.feed(t, ts, {{"id", key(h2, rk)}, {"v", key(h2, rv)}, {"k", I(static_cast<int64_t>(rp))}, {"n", I(n)}});
            ASSERT_EQ(o1, o2) << "event " << i;
            ASSERT_EQ(h1.m().live_runs(), h2.m().live_runs()) << "event " << i;
            matches += o1.size();
        }
        EXPECT_EQ(h1.m().dropped(), h2.m().dropped());
        EXPECT_GT(matches, 50u);
    }
}

// Many distinct keys (the bucket table grows and empties often, entries move on erase), ints
// that floats equal (1 and 1.0, 0 and -0.0, 2^53) and partition keys on both sides of the
// small-key cache (negative, < 4096, >= 4096): indexed and scan paths still agree.
TEST(PatternMatcher, IndexedManyKeysSameAsUnindexed) {
    const char* tail = " .within(2s) .emit(x: a.n, y: b.n)";
    std::string idx = std::string("stream S = A as a -> B where id == a.id as b") + tail;
    std::string scan = std::string("stream S = A as a -> B where not (id != a.id) as b") + tail;
    for (int part = 0; part < 2; ++part) {
        std::string p = part ? " .partition_by(k)" : "";
        Harness h1(idx + p, "S"), h2(scan + p, "S");
        h1.show({"a_n", "b_n", "@ts"});
        h2.show({"a_n", "b_n", "@ts"});
        uint64_t x = 0x2545F4914F6CDD1Dull + part;
        auto rnd = [&](uint64_t n) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            return x % n;
        };
        auto key = [&](uint64_t r, uint64_t form) -> Value {
            int64_t i = static_cast<int64_t>(r) - 40;
            if (r == 0) return form ? F(-0.0) : I(0);
            if (r == 1) return form ? F(9007199254740992.0) : I(9007199254740992);
            return form ? F(static_cast<double>(i)) : I(i);
        };
        static const int64_t kParts[] = {-7, 0, 3, 4095, 4096, 100000};
        int64_t ts = 0;
        size_t matches = 0;
        for (int i = 0; i < 8000; ++i) {
            ts += static_cast<int64_t>(rnd(3));
            const char* t = rnd(2) ? "A" : "B";
            uint64_t rk = rnd(600), form = rnd(4) == 0, rp = rnd(6);
            int64_t n = i;
            auto o1 = h1.feed(t, ts, {{"id", key(rk, form)}, {"k", I(kParts[rp])}, {"n", I(n)}});
            auto o2 = h2.feed(t, ts, {{"id", key(rk, form)}, {"k", I(kParts[rp])}, {"n", I(n)}});
            ASSERT_EQ(o1, o2) << "event " << i;
            ASSERT_EQ(h1.m().live_runs(), h2.m().live_runs()) << "event " << i;
            matches += o1.size();
        }
        EXPECT_EQ(h1.m().dropped(), h2.m().dropped());
        EXPECT_GT(matches, 500u);
    }
}

// Throughput smoke test (run with --gtest_also_run_disabled_tests): 1M events over 10 000
// partitions with .within; checks nothing but that the work per event stays flat.
TEST(PatternMatcher, DISABLED_Throughput) {
    Harness h("stream S = A as a -> B where v > a.v as b .partition_by(k) .within(1s) .emit(x: a.v)", "S");
    size_t matches = 0;
    for (int i = 0; i < 1000000; ++i) {
        int k = ((i / 2) * 7919) % 10000;
        matches += h.feed(i % 2 ? "B" : "A", i, {{"k", I(k)}, {"v", I(i % 13)}}).size();
    }
    std::printf("matches: %zu, live runs: %zu\n", matches, h.m().live_runs());
}

}  // namespace

// ==================================================================== conformance cases
// Runs the pattern/trend conformance cases (shared/conformance/cases) through the matcher or
// trend aggregator plus a minimal pipeline (`.where`, `.emit`) and checks count, fields and
// timestamps of every stream that reads raw events only.

#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/event_reader.hpp"
#include "runtime/trend_aggregator.hpp"

namespace {

struct OutEvent {
    std::vector<std::pair<std::string, Value>> fields;
    int64_t ts = 0;
};

bool value_matches(const Value& v, simdjson::dom::element e) {
    switch (e.type()) {
        case simdjson::dom::element_type::INT64:
            return v.kind == ValueKind::Int && v.i == int64_t(e);
        case simdjson::dom::element_type::UINT64:
            return v.kind == ValueKind::Int && static_cast<uint64_t>(v.i) == uint64_t(e);
        case simdjson::dom::element_type::DOUBLE:
            return v.kind == ValueKind::Float && v.f == double(e);
        case simdjson::dom::element_type::STRING:
            return v.kind == ValueKind::Str && v.str() == std::string_view(e);
        case simdjson::dom::element_type::BOOL:
            return v.kind == ValueKind::Bool && v.b == bool(e);
        case simdjson::dom::element_type::NULL_VALUE:
            return v.kind == ValueKind::Null;
        default:
            return false;
    }
}

/// Runs stream `sp` of `plan` over the case's events; returns its emitted events.
std::vector<OutEvent> run_stream(const ir::Plan& plan, const ir::StreamPlan& sp, const std::vector<InputEvent>& events,
                                 Runtime& rt, Interner& interner) {
    std::vector<OutEvent> result;
    std::unique_ptr<PatternMatcher> pm;
    std::unique_ptr<TrendAggregator> ta;
    if (sp.ops[0].kind == ir::OpKind::Sequence) pm = std::make_unique<PatternMatcher>(rt, sp, sp.ops[0]);
    else ta = std::make_unique<TrendAggregator>(rt, sp, sp.ops[0]);
    Arena scratch;
    std::vector<Row> rows;
    auto pipeline = [&](const std::vector<Row>& in) {
        for (const Row& m : in) {
            EvalContext ctx;
            ctx.rt = &rt;
            ctx.row = &m;
            ctx.now_ms = m.ts;
            ctx.has_now = true;
            bool keep = true;
            OutEvent oe;
            bool emitted = false;
            for (size_t k = 1; k < sp.ops.size() && keep; ++k) {
                const ir::Operator& op = sp.ops[k];
                if (op.kind == ir::OpKind::Filter) {
                    keep = eval_condition(op.exprs[0].get(), ctx);
                } else if (op.kind == ir::OpKind::Emit) {
                    for (size_t i = 0; i < op.exprs.size(); ++i) {
                        Value v = eval(*op.exprs[i], ctx);
                        if (v.present()) oe.fields.push_back({op.names[i], v});
                    }
                    emitted = true;
                }
            }
            if (keep && emitted) {
                oe.ts = m.ts;
                result.push_back(std::move(oe));
            }
        }
    };
    std::vector<Value> slots;
    for (const InputEvent& e : events) {
        std::string type(e.type->view());
        bool subscribed = false;
        for (const auto& n : sp.inputs) subscribed |= n == type;
        if (!subscribed) continue;
        int32_t schema = plan.routing_schema(type);
        const ir::Schema& sc = plan.schemas[schema];
        slots.assign(sc.fields.size() + 1, Value());
        for (size_t i = 0; i < sc.fields.size(); ++i)
            if (const Value* v = e.find(sc.fields[i])) slots[i] = *v;
        Row row{slots.data(), schema, e.timestamp_ms, interner.intern(type), nullptr, 0};
        rows.clear();
        if (pm) pm->on_event(row, rows, scratch);
        else ta->on_event(row, rows, scratch);
        pipeline(rows);
    }
    if (ta) {
        rows.clear();
        ta->finish(rows, scratch);
        pipeline(rows);
    }
    return result;
}

class ConformanceCase : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceCase, MatchesExpectation) {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(VARPULIS_SHARED_DIR) / "conformance" / "cases" / GetParam();
    if (!fs::exists(dir / "query.vpl")) GTEST_SKIP() << "case not found: " << dir;
    std::ifstream q(dir / "query.vpl");
    std::stringstream qs;
    qs << q.rdbuf();
    auto comp = ir::compile_source("query.vpl", qs.str(), ir::CompileStage::Lower);
    ASSERT_TRUE(comp->ok() && comp->plan) << frontend::render_all(comp->file, comp->diags);
    const ir::Plan& plan = *comp->plan;

    Interner interner;
    Arena heap, read_arena;
    Runtime rt;
    rt.plan = &plan;
    rt.heap = &heap;
    rt.interner = &interner;
    run_global_inits(rt);
    EventReader reader(interner, read_arena);
    std::vector<InputEvent> events;
    ReadError err;
    ASSERT_TRUE(reader.read_file((dir / "events.evt").string(), events, err)) << err.message;

    simdjson::dom::parser parser;
    simdjson::dom::element expect = parser.load((dir / "expect.json").string());
    int checked = 0;
    for (const auto& sp : plan.streams) {
        if (sp.ops.empty()) continue;
        if (sp.ops[0].kind != ir::OpKind::Sequence && sp.ops[0].kind != ir::OpKind::TrendAggregate) continue;
        bool raw_only = true;
        for (const auto& n : sp.inputs)
            for (const auto& other : plan.streams) raw_only &= other.name != n;
        bool simple_ops = true;
        for (size_t k = 1; k < sp.ops.size(); ++k)
            simple_ops &= sp.ops[k].kind == ir::OpKind::Filter || sp.ops[k].kind == ir::OpKind::Emit;
        if (!raw_only || !simple_ops) continue;
        simdjson::dom::element st;
        if (expect["streams"][sp.name].get(st) != simdjson::SUCCESS) continue;
        ++checked;
        std::vector<OutEvent> got = run_stream(plan, sp, events, rt, interner);
        int64_t count = st["count"];
        ASSERT_EQ(static_cast<int64_t>(got.size()), count) << "stream " << sp.name;
        bool exact = false;
        bool ef;
        if (st["exact_fields"].get(ef) == simdjson::SUCCESS) exact = ef;
        size_t i = 0;
        for (simdjson::dom::element ev : st["events"].get_array()) {
            ASSERT_LT(i, got.size());
            simdjson::dom::object obj = ev.get_object();
            size_t n = 0;
            for (auto [key, val] : obj) {
                ++n;
                bool found = false;
                for (const auto& [name, v] : got[i].fields)
                    if (name == key) {
                        found = true;
                        EXPECT_TRUE(value_matches(v, val))
                            << sp.name << " event " << i << " field " << key << " got " << to_json(v);
                    }
                EXPECT_TRUE(found) << sp.name << " event " << i << " lacks " << key;
            }
            if (exact) {
                EXPECT_EQ(got[i].fields.size(), n) << sp.name << " event " << i;
            }
            ++i;
        }
        simdjson::dom::array ts;
        if (st["timestamps"].get(ts) == simdjson::SUCCESS) {
            size_t k = 0;
            for (int64_t t : ts) {
                ASSERT_LT(k, got.size());
                EXPECT_EQ(got[k].ts, t) << sp.name << " timestamp " << k;
                ++k;
            }
        }
    }
    EXPECT_GT(checked, 0) << "no stream of this case could be checked standalone";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConformanceCase,
    ::testing::Values("and-incomplete", "chain-sequence-into-window", "kleene-plus-at-end", "kleene-plus-middle",
                      "kleene-plus-named-pattern", "kleene-plus-reset", "kleene-star-zero-login", "neg-no-event",
                      "neg-selective", "optional-zero-or-one", "pattern-or-single", "seq-cross-ref-eq",
                      "seq-feeds-downstream", "seq-multiple-starts", "seq-no-match-wrong-order",
                      "seq-not-between-predicate", "seq-not-trailing-within", "seq-skip-irrelevant",
                      "strategy-any-match-kleene-subsets", "strategy-any-match-trailing-kleene",
                      "strategy-default-next-match", "strategy-strict-contiguity", "trend-local-predicate",
                      "trend-partitioned-sum", "trend-rising-adjacent", "trend-within-windows", "ts-sequence-chain",
                      "within-boundary-inclusive", "within-expired-run", "within-named-pattern"),
    [](const ::testing::TestParamInfo<std::string>& info) {
        std::string s = info.param;
        for (char& c : s)
            if (c == '-') c = '_';
        return s;
    });

}  // namespace
