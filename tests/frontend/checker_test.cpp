#include <gtest/gtest.h>

#include <string>

#include "ir/compiler.hpp"

namespace varpulis::frontend {
namespace {

/// Compiles through the checker and the lowering; keeps the diagnostics.
struct Checked {
    std::unique_ptr<ir::Compilation> c;
    explicit Checked(const std::string& text) : c(ir::compile_source("q.vpl", text, ir::CompileStage::Lower)) {}

    bool ok() const { return c->ok(); }
    /// The first diagnostic with this code, or null.
    const Diagnostic* find(const std::string& code) const {
        for (const auto& d : c->diags.items())
            if (d.code == code) return &d;
        return nullptr;
    }
    std::string at(const std::string& code) const {
        const Diagnostic* d = find(code);
        if (!d) return "none";
        LineCol lc = c->file.locate(d->span.begin);
        return std::to_string(lc.line) + ":" + std::to_string(lc.column);
    }
    std::string all() const { return render_all(c->file, c->diags); }
};

TEST(CheckerTest, AcceptsSimpleProgram) {
    Checked k("stream S = Reading.where(v > 1).emit(v: v)\n");
    EXPECT_TRUE(k.ok()) << k.all();
    EXPECT_EQ(k.c->diags.warning_count(), 0u) << k.all();
}

TEST(CheckerTest, DuplicateStreamIsReportedAtSecondName) {
    Checked k("stream S = A\nstream S = B\n");
    EXPECT_FALSE(k.ok());
    EXPECT_EQ(k.at("E002"), "2:8") << k.all();
    EXPECT_NE(k.find("E002")->message.find("`S`"), std::string::npos);
}

TEST(CheckerTest, DuplicateEventFunctionAndPattern) {
    Checked k("event A:\n    x: int\nevent A:\n    y: int\nfn f():\n    return 1\nfn f():\n    return 2\n"
              "pattern P = SEQ(A, B)\npattern P = SEQ(B, A)\n");
    EXPECT_EQ(k.at("E001"), "3:7") << k.all();
    EXPECT_EQ(k.at("E003"), "7:4") << k.all();
    EXPECT_EQ(k.at("E006"), "10:9") << k.all();
}

TEST(CheckerTest, AssignmentToLetIsE040AtTheName) {
    Checked k("let max_retries = 3\nmax_retries := 5\n");
    EXPECT_EQ(k.at("E040"), "2:1") << k.all();
    EXPECT_NE(k.find("E040")->message.find("max_retries"), std::string::npos);
}

TEST(CheckerTest, AssignmentToVarAndUnknownNameIsFine) {
    Checked k("var base = 10\nbase := base + 5\nfresh := 1\n");
    EXPECT_TRUE(k.ok()) << k.all();
}

TEST(CheckerTest, AssignmentToLocalLetInFunction) {
    Checked k("fn f(x: int):\n    let y = x\n    y := 2\n    return y\n");
    EXPECT_EQ(k.at("E040"), "3:5") << k.all();
}

TEST(CheckerTest, HavingWithoutAggregateIsE010AtTheDot) {
    Checked k("stream S = A\n    .having(n > 1)\n");
    EXPECT_EQ(k.at("E010"), "2:5") << k.all();
}

TEST(CheckerTest, SecondAggregateAndWindow) {
    Checked k("stream S = A.window(5).aggregate(n: count()).window(3).aggregate(m: count())\n");
    EXPECT_EQ(k.at("E012"), "1:45") << k.all();
    EXPECT_EQ(k.at("E011"), "1:55") << k.all();
}

TEST(CheckerTest, WithinOutsideSequenceIsE020) {
    Checked k("stream S = A.where(x > 1).within(5s)\n");
    EXPECT_EQ(k.at("E020"), "1:26") << k.all();
    Checked ok("stream S = A as a -> B as b .within(5s) .emit(x: a.x)\n");
    EXPECT_TRUE(ok.ok()) << ok.all();
}

TEST(CheckerTest, UndefinedConnectorAndContext) {
    Checked k("stream S = A.to(Nowhere).context(fast)\n");
    EXPECT_EQ(k.at("E030"), "1:17") << k.all();
    EXPECT_EQ(k.at("E031"), "1:34") << k.all();
}

TEST(CheckerTest, EnrichNeedsHttpDatabaseOrRedis) {
    Checked k("connector Q = kafka(brokers: \"b\")\nstream S = A.enrich(Q, key: id, fields: [name])\n");
    EXPECT_EQ(k.at("E032"), "2:21") << k.all();
}

TEST(CheckerTest, UnsupportedOperatorIsE090) {
    Checked k("stream S = A.map(x)\n");
    EXPECT_EQ(k.at("E090"), "1:13") << k.all();
    Checked ok("stream S = A.distinct(x).limit(3).first().filter(x > 1).emit(x: x)\n");
    EXPECT_TRUE(ok.ok()) << "distinct/limit/first/filter are ours (SEMANTICS §17 #17): " << ok.all();
}

TEST(CheckerTest, UnknownFunctionAnywhereIsE050WithHint) {
    Checked k("stream Scaled = Reading\n    .emit(id: id, v: scal(v, 2))\n");
    EXPECT_EQ(k.at("E050"), "2:22") << k.all();
    EXPECT_NE(k.find("E050")->message.find("scal"), std::string::npos);
    Checked near("stream S = A.emit(u: uppr(s))\n");
    EXPECT_NE(near.find("E050")->hint.find("upper"), std::string::npos) << near.all();
}

TEST(CheckerTest, UnknownFunctionsOfVarpulisCheckerOnlyAreRejected) {
    for (const char* f : {"format", "parse", "timestamp", "print", "if_null", "unique", "flatten", "zip"}) {
        Checked k(std::string("stream S = A.emit(x: ") + f + "(a))\n");
        EXPECT_TRUE(k.find("E050")) << f;
    }
}

TEST(CheckerTest, UserFunctionArityIsE051AtTheCallee) {
    Checked k("fn scale(x: float, k: float) -> float:\n    return x * k\n\nstream Big = Reading\n"
              "    .where(scale(v) > 10.0)\n    .emit(id: id)\n");
    EXPECT_EQ(k.at("E051"), "5:12") << k.all();
    EXPECT_NE(k.find("E051")->message.find("scale"), std::string::npos);
}

TEST(CheckerTest, AggregateChecks) {
    Checked k("stream S = A.window(5).aggregate(a: median(x), b: sum(), c: ema(x), d: count() + 1)\n");
    EXPECT_EQ(k.at("E070"), "1:37") << k.all();
    EXPECT_EQ(k.at("E071"), "1:51") << k.all();
    EXPECT_EQ(k.at("E072"), "1:61") << k.all();
    EXPECT_TRUE(k.find("W040")) << "count() + 1 is dropped with a warning: " << k.all();
    EXPECT_NE(k.find("E070")->hint, "") << "a hint lists or suggests aggregates";
}

TEST(CheckerTest, AggregateExpressionsAndCountDistinctAreAccepted) {
    Checked k("stream S = A.window(5).aggregate(a: sum(px * qty) / count(), b: count(distinct(u)),"
              " c: max(abs(d)), e: ema(p, 10))\n");
    EXPECT_TRUE(k.ok()) << k.all();
}

TEST(CheckerTest, AggregateWithoutWindowWarnsW001) {
    Checked k("stream S = A.aggregate(n: count())\n");
    EXPECT_TRUE(k.ok());
    EXPECT_EQ(k.at("W001"), "1:13") << k.all();
}

TEST(CheckerTest, PartitionAfterWindowWarnsW002) {
    Checked k("stream S = A.window(5).partition_by(k).aggregate(n: count())\n");
    EXPECT_EQ(k.at("W002"), "1:23") << k.all();
}

TEST(CheckerTest, UndeclaredTypeWarnsOnlyWhenProgramDeclaresEvents) {
    Checked quiet("stream S = Raw.emit(x: x)\n");
    EXPECT_FALSE(quiet.find("W030")) << "programs without declarations use types freely";
    Checked k("event Payment:\n    amount: float\nstream S = Paymnet.emit(x: amount)\n");
    EXPECT_TRUE(k.ok());
    EXPECT_EQ(k.at("W030"), "3:12") << k.all();
    EXPECT_NE(k.find("W030")->hint.find("Payment"), std::string::npos);
}

TEST(CheckerTest, StaticKindMismatchIsAWarningNotAnError) {
    Checked k("stream Never = Reading\n    .where(\"abc\" + 1 == \"abc1\")\n    .emit(v: v)\n");
    EXPECT_TRUE(k.ok()) << k.all();
    EXPECT_EQ(k.at("W050"), "2:12") << k.all();
}

TEST(CheckerTest, DeclaredFieldKindsFeedTheWarnings) {
    Checked k("event R:\n    name: str\nstream S = R.emit(y: name * 2)\n");
    EXPECT_TRUE(k.ok());
    EXPECT_TRUE(k.find("W050")) << k.all();
}

TEST(CheckerTest, NonBooleanLiteralConditionIsE060) {
    Checked k("stream S = A.where(42)\n");
    EXPECT_EQ(k.at("E060"), "1:20") << k.all();
}

TEST(CheckerTest, WindowArgumentsAreValidated) {
    EXPECT_TRUE(Checked("stream S = A.window(\"x\")\n").find("E062"));
    EXPECT_TRUE(Checked("stream S = A.window(5m, slide: 1m)\n").find("E063"));
    EXPECT_TRUE(Checked("stream S = A.window(5m, sliding: 1m).aggregate(n: count())\n").ok());
    EXPECT_TRUE(Checked("stream S = A.window(session: 5m).aggregate(n: count())\n").ok());
}

TEST(CheckerTest, UnknownStrategyIsRejected) {
    Checked k("pattern P = SEQ(A, B) strategy fastest\n");
    EXPECT_TRUE(k.find("E092")) << k.all();
}

TEST(CheckerTest, BuiltinArityMismatchWarns) {
    Checked k("stream S = A.emit(x: abs(1, 2))\n");
    EXPECT_TRUE(k.ok());
    EXPECT_TRUE(k.find("W051")) << k.all();
}

TEST(CheckerTest, ReportsSeveralIndependentErrorsInOrder) {
    Checked k("stream S = A.emit(a: nope1(x))\nstream T = B.emit(b: nope2(y))\n");
    ASSERT_EQ(k.c->diags.error_count(), 2u) << k.all();
    EXPECT_LT(k.c->diags.items()[0].span.begin, k.c->diags.items()[1].span.begin);
}

TEST(CheckerTest, RenderedDiagnosticHasLocationSourceLineCaretAndHint) {
    Checked k("stream S = A\n    .having(n > 1)\n");
    std::string r = k.all();
    EXPECT_NE(r.find("q.vpl:2:5: error: [E010]"), std::string::npos) << r;
    EXPECT_NE(r.find("    .having(n > 1)\n"), std::string::npos) << r;
    EXPECT_NE(r.find("\n        ^\n"), std::string::npos) << "caret under column 5: " << r;
    EXPECT_NE(r.find("hint:"), std::string::npos) << r;
}

}  // namespace
}  // namespace varpulis::frontend
