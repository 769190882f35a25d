#include <gtest/gtest.h>

#include <string>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "ir/lower.hpp"
#include "ir/printer.hpp"

namespace varpulis::ir {
namespace {

struct Lowered {
    std::unique_ptr<Compilation> c;
    explicit Lowered(const std::string& text) : c(compile_source("q.vpl", text, CompileStage::Lower)) {}
    const Plan& plan() const { return *c->plan; }
    std::string diags() const { return frontend::render_all(c->file, c->diags); }
    const Schema& routing(const std::string& name) const {
        int32_t id = plan().routing_schema(name);
        EXPECT_GE(id, 0) << "no routing schema " << name;
        return plan().schemas.at(static_cast<size_t>(id));
    }
    const StreamPlan& stream(const std::string& name) const {
        for (const auto& s : plan().streams)
            if (s.name == name) return s;
        ADD_FAILURE() << "no stream " << name;
        return plan().streams.front();
    }
};

TEST(LowerTest, SchemaListsExactlyTheFieldsTheProgramReads) {
    Lowered l("stream S = Trade.where(px > 1.0).emit(sym: sym)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const Schema& t = l.routing("Trade");
    EXPECT_EQ(t.fields, (std::vector<std::string>{"px", "sym"})) << dump_ir(l.plan());
    EXPECT_EQ(validate_plan(l.plan()), "");
}

TEST(LowerTest, FilterReadsSlotsNotNames) {
    Lowered l("stream S = Trade.where(qty >= 100).emit(n: px * qty)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const StreamPlan& s = l.stream("S");
    ASSERT_EQ(s.ops.size(), 2u);
    EXPECT_EQ(s.ops[0].kind, OpKind::Filter);
    const Expr& cond = *s.ops[0].exprs[0];
    ASSERT_EQ(cond.op, ExprOp::Binary);
    EXPECT_EQ(cond.args[0]->op, ExprOp::Field);
    EXPECT_EQ(cond.args[0]->slots, (std::vector<uint32_t>{0})) << "qty is slot 0 of Trade";
    EXPECT_EQ(cond.args[1]->type, Kind::Int);
    EXPECT_EQ(s.ops[1].kind, OpKind::Emit);
    EXPECT_EQ(l.plan().schemas[s.ops[1].out].fields, (std::vector<std::string>{"n"}));
}

TEST(LowerTest, GlobalsResolveAfterFields) {
    Lowered l("let limit = 100\nstream S = Order.where(amount > limit).emit(id: id)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const Expr& cond = *l.stream("S").ops[0].exprs[0];
    const Expr& limit = *cond.args[1];
    EXPECT_EQ(limit.op, ExprOp::Field) << "an event field of the same name wins";
    EXPECT_EQ(limit.index, 0) << "falls back to global @0";
    ASSERT_EQ(l.plan().inits.size(), 1u);
    EXPECT_EQ(l.plan().inits[0].value->lit.i, 100);
}

TEST(LowerTest, NegativeLiteralIsFolded) {
    Lowered l("stream S = A.emit(x: -5, y: -2.5)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const auto& e = l.stream("S").ops[0].exprs;
    EXPECT_EQ(e[0]->op, ExprOp::Const);
    EXPECT_EQ(e[0]->lit.i, -5);
    EXPECT_EQ(e[1]->lit.f, -2.5);
}

TEST(LowerTest, PassThroughStreamPropagatesFieldsUpstream) {
    Lowered l("stream Warm = Boiler.where(temp > 25.0)\nstream Alarm = Warm.where(temp > 40.0).emit(unit: unit)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const Schema& boiler = l.routing("Boiler");
    EXPECT_GE(boiler.slot_of("unit"), 0) << "Alarm reads unit through Warm: " << dump_ir(l.plan());
    const StreamPlan& warm = l.stream("Warm");
    const Schema& warm_schema = l.routing("Warm");
    ASSERT_EQ(warm.forward_slots.size(), warm_schema.fields.size());
    for (size_t i = 0; i < warm_schema.fields.size(); ++i)
        EXPECT_EQ(warm.forward_slots[i], boiler.slot_of(warm_schema.fields[i])) << warm_schema.fields[i];
}

TEST(LowerTest, SequenceBecomesNfaWithAliasesAndMatchSchema) {
    Lowered l("stream P = Login as l -> Purchase where user == l.user as p .within(5m) .partition_by(user)"
              " .emit(u: l.user, amt: p.amount)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const StreamPlan& s = l.stream("P");
    ASSERT_GE(s.ops.size(), 2u);
    ASSERT_EQ(s.ops[0].kind, OpKind::Sequence) << "the matcher runs first";
    const Nfa& n = *s.ops[0].nfa;
    ASSERT_EQ(n.steps.size(), 2u);
    EXPECT_EQ(n.steps[0].type, "Login");
    EXPECT_EQ(n.steps[1].type, "Purchase");
    EXPECT_EQ(n.within_ms, 300000);
    EXPECT_EQ(n.partition_field, "user");
    ASSERT_EQ(n.aliases.size(), 2u);
    const Expr& pred = *n.steps[1].predicate;
    EXPECT_EQ(pred.args[1]->op, ExprOp::AliasField) << "l.user reads the captured Login";
    const Schema& m = l.plan().schemas[s.ops[0].out];
    EXPECT_EQ(m.kind, SchemaKind::Match);
    EXPECT_GE(m.slot_of("l_user"), 0) << dump_ir(l.plan());
    EXPECT_GE(m.slot_of("p_amount"), 0);
    EXPECT_EQ(s.inputs, (std::vector<std::string>{"Login", "Purchase"}));
}

TEST(LowerTest, KleeneAndNegationAndStrategyFromNamedPattern) {
    Lowered l("pattern P = SEQ(A as a, B+ where v > a.v as b, NOT X, C as c) within 1s strategy skip_till_any_match\n"
              "stream M = P.emit(n: len(b))\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const Nfa& n = *l.stream("M").ops[0].nfa;
    ASSERT_EQ(n.steps.size(), 3u);
    EXPECT_EQ(n.steps[1].quantifier, Quantifier::Plus);
    ASSERT_EQ(n.negations.size(), 1u);
    EXPECT_EQ(n.negations[0].after_step, 1) << "NOT X sits between B+ and C";
    EXPECT_FALSE(n.trailing_negation);
    EXPECT_EQ(n.strategy, Strategy::SkipTillAnyMatch);
    const Schema& m = l.plan().schemas[l.stream("M").ops[0].out];
    EXPECT_GE(m.slot_of("#len:b"), 0) << "len(b) becomes an alias-count slot";
}

TEST(LowerTest, TrailingNotIsMarked) {
    Lowered l("pattern N = SEQ(Alarm as a, NOT Ack where aid == a.id) within 10s\nstream U = N.emit(x: a.id)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    EXPECT_TRUE(l.stream("U").ops[0].nfa->trailing_negation);
}

TEST(LowerTest, StepNamingAStreamUsesItsTypeAndFirstWhere) {
    Lowered l("stream Big = Trade.where(qty > 100)\nstream P = Order as o -> Big as b .emit(x: b.qty)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const NfaStep& step = l.stream("P").ops[0].nfa->steps[1];
    EXPECT_EQ(step.type, "Trade");
    ASSERT_TRUE(step.predicate);
    EXPECT_NE(expr_to_string(l.plan(), step.predicate.get(), false).find("qty > 100"), std::string::npos);
}

TEST(LowerTest, WindowAndPartitionedAggregate) {
    Lowered l("stream S = T.partition_by(sym).window(10s, sliding: 5s)"
              ".aggregate(n: count(), avg_px: sum(px) / count()).emit(s: _partition, n: n)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const StreamPlan& s = l.stream("S");
    ASSERT_EQ(s.ops[0].kind, OpKind::Window);
    EXPECT_EQ(s.ops[0].window.kind, WindowKind::Sliding);
    EXPECT_EQ(s.ops[0].window.size, 10000);
    EXPECT_EQ(s.ops[0].window.slide, 5000);
    EXPECT_EQ(s.ops[0].window.partition_field, "sym");
    const Operator& agg = s.ops[1];
    EXPECT_EQ(agg.partition_field, "sym");
    EXPECT_EQ(l.plan().schemas[agg.out].fields, (std::vector<std::string>{"_partition", "n", "avg_px"}));
    EXPECT_EQ(agg.calls.size(), 3u) << "count, sum, count";
}

TEST(LowerTest, JoinKeysAndRetention) {
    Lowered l("stream C = join(Bid, Ask).on(Bid.sym == Ask.sym).window(10s).emit(s: Bid.px - Ask.px)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const Operator& j = l.stream("C").ops[0];
    ASSERT_EQ(j.kind, OpKind::Join);
    EXPECT_EQ(j.join->sources[0].key_field, "sym");
    EXPECT_EQ(j.join->sources[1].key_field, "sym");
    EXPECT_EQ(j.join->retention_ms, 10000);
    const Schema& out = l.plan().schemas[j.out];
    EXPECT_GE(out.slot_of("Bid.px"), 0) << dump_ir(l.plan());
    EXPECT_GE(l.routing("Ask").slot_of("px"), 0);
}

TEST(LowerTest, FunctionsGetLocals) {
    Lowered l("fn f(a: int, b: int) -> int:\n    let c = a + b\n    return c * 2\nstream S = X.emit(v: f(1, 2))\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    ASSERT_EQ(l.plan().functions.size(), 1u);
    EXPECT_EQ(l.plan().functions[0].param_count, 2u);
    EXPECT_EQ(l.plan().functions[0].local_count, 3u);
    EXPECT_EQ(l.stream("S").ops[0].exprs[0]->op, ExprOp::CallUser);
}

TEST(LowerTest, RoutesFollowDeclarationOrder) {
    Lowered l("stream A1 = E.emit(x: x)\nstream A2 = E.emit(y: y)\nstream B = A1.emit(z: x)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    const auto& routes = l.plan().routes[static_cast<size_t>(l.plan().routing_schema("E"))];
    EXPECT_EQ(routes, (std::vector<int32_t>{0, 1}));
    EXPECT_EQ(l.plan().routes[static_cast<size_t>(l.plan().routing_schema("A1"))], (std::vector<int32_t>{2}));
}

TEST(LowerTest, ExplainShowsOperatorsAndPredicates) {
    Lowered l("stream S = Reading.where(t > 30.0).window(5).aggregate(n: count()).emit(n: n)\n");
    ASSERT_TRUE(l.c->ok()) << l.diags();
    std::string text = explain_plan(l.plan());
    EXPECT_NE(text.find("stream S"), std::string::npos) << text;
    EXPECT_NE(text.find("filter (t > 30.0)"), std::string::npos) << text;
    EXPECT_NE(text.find("window count 5 events"), std::string::npos) << text;
    EXPECT_NE(text.find("aggregate(n: count)"), std::string::npos) << text;
}

}  // namespace
}  // namespace varpulis::ir
