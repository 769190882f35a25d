#include "frontend/preprocess.hpp"

#include <gtest/gtest.h>

#include <string>

namespace varpulis::frontend {
namespace {

struct Pre {
    SourceFile file;
    DiagnosticBag diags;
    bool ok;
    explicit Pre(std::string text) : file("t.vpl", std::move(text)), ok(preprocess(file, diags)) {}
    std::string first_error() const { return diags.items().empty() ? "" : diags.items()[0].message; }
};

size_t count(const std::string& s, char c) { return static_cast<size_t>(std::count(s.begin(), s.end(), c)); }

TEST(PreprocessTest, ExpandsDeclarationLoopWithSubstitution) {
    Pre p("for k in 1..=3:\n    stream Zone{k} = Reading\n        .where(zone == {k})\nstream After = X\n");
    ASSERT_TRUE(p.ok) << p.first_error();
    const std::string& t = p.file.text();
    EXPECT_NE(t.find("stream Zone1 = Reading\n    .where(zone == 1)"), std::string::npos) << t;
    EXPECT_NE(t.find("stream Zone3 = Reading"), std::string::npos) << t;
    EXPECT_EQ(t.find("Zone4"), std::string::npos) << "..= is inclusive, .. would stop at 2";
    EXPECT_EQ(t.find("for k"), std::string::npos) << "the loop header disappears";
}

TEST(PreprocessTest, ExclusiveRangeStopsBeforeUpperBound) {
    Pre p("for i in 0..2:\n    stream S{i} = X\n");
    ASSERT_TRUE(p.ok);
    EXPECT_NE(p.file.text().find("S1"), std::string::npos);
    EXPECT_EQ(p.file.text().find("S2"), std::string::npos);
}

TEST(PreprocessTest, ExpandedLinesMapBackToOriginalLines) {
    Pre p("# header\nfor k in 1..=2:\n    stream S{k} = X\n");
    ASSERT_TRUE(p.ok);
    size_t second = p.file.text().find("S2");
    ASSERT_NE(second, std::string::npos);
    LineCol lc = p.file.locate(static_cast<uint32_t>(second));
    EXPECT_EQ(lc.line, 3u) << "both copies come from original line 3";
    EXPECT_EQ(lc.column, 12u) << "the stripped indentation is added back to the column";
}

TEST(PreprocessTest, NestedLoopsExpandInSeveralPasses) {
    Pre p("for a in 0..2:\n    for b in 0..2:\n        stream S{a}{b} = X\n");
    ASSERT_TRUE(p.ok) << p.first_error();
    for (const char* n : {"S00", "S01", "S10", "S11"})
        EXPECT_NE(p.file.text().find(n), std::string::npos) << n << " in\n" << p.file.text();
}

TEST(PreprocessTest, RejectsLoopWithMoreThanTenThousandIterations) {
    Pre p("for k in 0..10001:\n    stream S{k} = X\n");
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.first_error().find("10000"), std::string::npos) << p.first_error();
}

TEST(PreprocessTest, NonLiteralLoopIsAnOrdinaryStatement) {
    Pre p("for k in 0..n:\n    x := k\n");
    ASSERT_TRUE(p.ok);
    EXPECT_NE(p.file.text().find("for k in 0..n:"), std::string::npos) << "left for the parser";
}

TEST(PreprocessTest, MarksFunctionBodyWithIndentAndDedent) {
    Pre p("fn f(x: int):\n    return x\nstream S = X\n");
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.file.text(), "fn f(x: int):\x01\n    return x\x02\nstream S = X\n");
}

TEST(PreprocessTest, ClosesSeveralBlocksAtOnce) {
    Pre p("fn f(x: int):\n    if x > 1:\n        return 1\n    return 2\nfn g():\n    if true:\n        return 3\n");
    ASSERT_TRUE(p.ok);
    const std::string& t = p.file.text();
    EXPECT_EQ(count(t, SourceFile::kIndent), 4u) << t;
    EXPECT_EQ(count(t, SourceFile::kDedent), 4u) << t;
    EXPECT_NE(t.find("return 1\x02\n    return 2\x02\n"), std::string::npos) << t;
    EXPECT_TRUE(t.size() >= 2 && t.substr(t.size() - 3) == "\x02\x02\n") << "both blocks close at end of input";
}

TEST(PreprocessTest, ContinuationLinesOfStreamsAreFreeForm) {
    Pre p("stream S = X\n    .where(a > 1)\n        .emit(a: a)\n");
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(count(p.file.text(), SourceFile::kIndent), 0u);
    EXPECT_EQ(count(p.file.text(), SourceFile::kDedent), 0u);
}

TEST(PreprocessTest, CommentsAndBlankLinesDoNotCloseBlocks) {
    Pre p("fn f():\n    let a = 1\n\n# note\n    return a\n");
    ASSERT_TRUE(p.ok);
    EXPECT_NE(p.file.text().find("return a\x02"), std::string::npos) << p.file.text();
    EXPECT_EQ(count(p.file.text(), SourceFile::kDedent), 1u);
}

TEST(PreprocessTest, EventFieldsOnIndentedLinesFormABlock) {
    Pre p("event Payment:\n    account: str\n    amount: float\nstream S = Payment\n");
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.file.text(), "event Payment:\x01\n    account: str\n    amount: float\x02\nstream S = Payment\n");
}

TEST(PreprocessTest, MarkersKeepColumns) {
    Pre p("fn f():\n    return 1\n");
    ASSERT_TRUE(p.ok);
    size_t at = p.file.text().find("return");
    LineCol lc = p.file.locate(static_cast<uint32_t>(at));
    EXPECT_EQ(lc.line, 2u);
    EXPECT_EQ(lc.column, 5u);
}

TEST(PreprocessTest, RejectsNestingDeeperThan24) {
    std::string deep = "let x = " + std::string(25, '(') + "1" + std::string(25, ')') + "\n";
    Pre p(deep);
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.first_error().find("Nesting depth exceeds maximum of 24 levels"), std::string::npos);
    LineCol lc = p.file.locate(p.diags.items()[0].span.begin);
    EXPECT_EQ(lc.column, 9u + 24u) << "anchored at the 25th bracket";
}

TEST(PreprocessTest, BracketsInStringsAndCommentsDoNotCount) {
    std::string s = "let x = \"" + std::string(40, '(') + "\" # " + std::string(40, '[') + "\n";
    Pre p(s);
    EXPECT_TRUE(p.ok) << p.first_error();
}

TEST(PreprocessTest, RejectsControlCharactersAndInvalidUtf8) {
    Pre nul(std::string("stream S = X\0", 13));
    EXPECT_FALSE(nul.ok);
    EXPECT_NE(nul.first_error().find("control character"), std::string::npos);
    Pre bad("stream S = X.where(a == \"\xff\")\n");
    EXPECT_FALSE(bad.ok);
    EXPECT_NE(bad.first_error().find("UTF-8"), std::string::npos);
    Pre good("stream S = X.where(a == \"caf\xc3\xa9\")\n");
    EXPECT_TRUE(good.ok) << "valid UTF-8 in strings is fine";
}

}  // namespace
}  // namespace varpulis::frontend
