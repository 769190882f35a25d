#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>

#include "frontend/parser.hpp"
#include "frontend/preprocess.hpp"

namespace varpulis::frontend {
namespace {

/// Pre-processes (block markers) and parses `text`; keeps file, diagnostics and program.
struct Parsed {
    SourceFile file;
    DiagnosticBag diags;
    std::optional<Program> prog;

    explicit Parsed(std::string text, bool run_preprocess = true) : file("q.vpl", std::move(text)) {
        if (run_preprocess && !preprocess(file, diags)) return;
        prog = parse_program(file, diags);
    }

    bool ok() const { return prog.has_value() && !diags.has_errors(); }
    std::string all() const { return render_all(file, diags); }
    /// "L:C" of the first error, or "none".
    std::string at() const {
        if (diags.items().empty()) return "none";
        LineCol lc = file.locate(diags.items().front().span.begin);
        return std::to_string(lc.line) + ":" + std::to_string(lc.column);
    }
    std::string message() const { return diags.items().empty() ? "" : diags.items().front().message; }
    std::string hint() const { return diags.items().empty() ? "" : diags.items().front().hint; }
    std::string loc(SourceSpan s) const {
        LineCol lc = file.locate(s.begin);
        return std::to_string(lc.line) + ":" + std::to_string(lc.column);
    }
    size_t size() const { return prog ? prog->statements.size() : 0; }
    template <typename T>
    const T& get(size_t i) const {
        return std::get<T>(prog->statements.at(i)->node);
    }
    /// The initialiser of the i-th statement, a `let`.
    const Expr& let_value(size_t i = 0) const { return *get<VarDecl>(i).value; }
};

/// Renders an expression as a fully parenthesised string, to check shape and precedence.
std::string show(const ExprPtr& e);


std::string show_list(const std::vector<ExprPtr>& v, size_t from) {
    std::string s;
    for (size_t i = from; i < v.size(); ++i) s += (i > from ? ", " : "") + show(v[i]);
    return s;
}

std::string show(const ExprPtr& e) {
    if (!e) return "_";
    switch (e->kind) {
        case ExprKind::Null: return "null";
        case ExprKind::Bool: return e->bool_value ? "true" : "false";
        case ExprKind::Int: return std::to_string(e->int_value);
        case ExprKind::Float: {
            std::ostringstream o;
            o << e->float_value;
            return o.str();
        }
        case ExprKind::String: return "\"" + e->text + "\"";
        case ExprKind::Duration: return std::to_string(e->duration_ns()) + "ns";
        case ExprKind::Timestamp: return "@" + std::to_string(e->int_value);
        case ExprKind::Ident: return e->text;
        case ExprKind::Member: return show(e->args[0]) + "." + e->text;
        case ExprKind::OptMember: return show(e->args[0]) + "?." + e->text;
        case ExprKind::Index: return show(e->args[0]) + "[" + show(e->args[1]) + "]";
        case ExprKind::Slice: return show(e->args[0]) + "[" + show(e->args[1]) + ":" + show(e->args[2]) + "]";
        case ExprKind::Call: {
            std::string s = show(e->args[0]) + "(";
            for (size_t i = 1; i < e->args.size(); ++i) {
                if (i > 1) s += ", ";
                if (!e->names[i - 1].empty()) s += e->names[i - 1] + ": ";
                s += show(e->args[i]);
            }
            return s + ")";
        }
        case ExprKind::Unary: {
            const char* op = e->unary_op == UnaryOp::Neg ? "-" : e->unary_op == UnaryOp::BitNot ? "~" : "not ";
            return "(" + std::string(op) + show(e->args[0]) + ")";
        }
        case ExprKind::Binary: return "(" + show(e->args[0]) + " " + binary_op_text(e->binary_op) + " " + show(e->args[1]) + ")";
        case ExprKind::Range:
            return "(" + show(e->args[0]) + (e->inclusive ? "..=" : "..") + show(e->args[1]) + ")";
        case ExprKind::If: return "(if " + show(e->args[0]) + " then " + show(e->args[1]) + " else " + show(e->args[2]) + ")";
        case ExprKind::Array: return "[" + show_list(e->args, 0) + "]";
        case ExprKind::Map: {
            std::string s = "{";
            for (size_t i = 0; i < e->args.size(); ++i) s += (i ? ", " : "") + e->names[i] + ": " + show(e->args[i]);
            return s + "}";
        }
        case ExprKind::Lambda: {
            std::string s = "(";
            for (size_t i = 0; i < e->names.size(); ++i) s += (i ? ", " : "") + e->names[i];
            s += ") => ";
            if (!e->body.empty()) s += "{" + std::to_string(e->body.size()) + " stmts} ";
            return s + show(e->args[0]);
        }
    }
    return "?";
}

/// Shape of `let x = <text>`.
std::string expr_of(const std::string& text) {
    Parsed p("let x = " + text + "\n");
    if (!p.ok()) return "error: " + p.all();
    if (p.size() != 1) return "statements: " + std::to_string(p.size());
    return show(p.get<VarDecl>(0).value);
}

// ---------------------------------------------------------------- expressions

TEST(ParserTest, MultiplicationBindsTighterThanAddition) {
    EXPECT_EQ(expr_of("1 + 2 * 3"), "(1 + (2 * 3))") << "precedence of * over +";
    EXPECT_EQ(expr_of("1 - 2 - 3"), "((1 - 2) - 3)") << "- is left-associative";
    EXPECT_EQ(expr_of("(1 + 2) * 3"), "((1 + 2) * 3)") << "parentheses group";
}

TEST(ParserTest, PowerBindsTighterThanUnaryMinus) {
    EXPECT_EQ(expr_of("-2 ** 2"), "(-(2 ** 2))") << "our rule: -2 ** 2 is -(2 ** 2)";
    EXPECT_EQ(expr_of("2 ** -1"), "(2 ** (-1))") << "right operand of ** may start with unary minus";
    EXPECT_EQ(expr_of("2 ** 3 ** 2"), "(2 ** (3 ** 2))") << "** is right-associative";
    EXPECT_EQ(expr_of("2 ** -3 ** 2"), "(2 ** (-(3 ** 2)))") << "sign applies to the rest of the chain";
    EXPECT_EQ(expr_of("a * b ** 2"), "(a * (b ** 2))") << "** binds tighter than *";
}

TEST(ParserTest, UnaryOperatorsAtMostOne) {
    EXPECT_EQ(expr_of("~x"), "(~x)") << "bitwise not";
    EXPECT_FALSE(Parsed("let x = --1\n").ok()) << "two unary minus signs are a parse error";
    EXPECT_FALSE(Parsed("let x = not not a\n").ok()) << "`not not` needs parentheses";
    EXPECT_EQ(expr_of("not (not a)"), "(not (not a))") << "parenthesised double negation";
}

TEST(ParserTest, NotBindsBetweenAndAndComparison) {
    EXPECT_EQ(expr_of("not a and b"), "((not a) and b)") << "not applies to the comparison level";
    EXPECT_EQ(expr_of("not a == b"), "(not (a == b))") << "not is looser than ==";
    EXPECT_EQ(expr_of("a or b and c"), "(a or (b and c))") << "and binds tighter than or";
}

TEST(ParserTest, NotInAndIsAreComparisons) {
    EXPECT_EQ(expr_of("x not in [1]"), "(x not in [1])") << "`not in` is one operator";
    EXPECT_EQ(expr_of("x in [1, 2]"), "(x in [1, 2])") << "in";
    EXPECT_EQ(expr_of("x is null"), "(x is null)") << "is";
    EXPECT_EQ(expr_of("a + 1 >= b * 2"), "((a + 1) >= (b * 2))") << "comparison of sums";
}

TEST(ParserTest, ComparisonsDoNotChain) {
    Parsed p("let x = a < b < c\n");
    EXPECT_FALSE(p.ok()) << "a < b < c is a parse error";
    EXPECT_EQ(p.at(), "1:15") << p.all();
    EXPECT_NE(p.hint().find("and"), std::string::npos) << p.all();
}

TEST(ParserTest, BitwiseAndShiftPrecedence) {
    EXPECT_EQ(expr_of("a | b ^ c & d << 1 + 2"), "(a | (b ^ (c & (d << (1 + 2)))))") << "levels 7 to 11";
    EXPECT_EQ(expr_of("a >> 2 == 1"), "((a >> 2) == 1)") << "shift below comparison";
}

TEST(ParserTest, RangeIsLowestBinaryLevelAndAtMostOne) {
    EXPECT_EQ(expr_of("0..n + 1"), "(0..(n + 1))") << "exclusive range";
    EXPECT_EQ(expr_of("1..=3"), "(1..=3)") << "inclusive range";
    EXPECT_FALSE(Parsed("let x = 1..2..3\n").ok()) << "at most one range";
}

TEST(ParserTest, PostfixMemberIndexSliceAndCalls) {
    EXPECT_EQ(expr_of("a.b(c)"), "a.b(c)") << "method call";
    Parsed p("let x = a.b(c)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const Expr& call = p.let_value();
    EXPECT_EQ(call.kind, ExprKind::Call) << "method-call syntax is a Call";
    EXPECT_EQ(call.args[0]->kind, ExprKind::Member) << "whose callee is a Member";
    EXPECT_EQ(expr_of("a?.b.c"), "a?.b.c") << "optional member";
    EXPECT_EQ(expr_of("x[0][1]"), "x[0][1]") << "index";
    EXPECT_EQ(expr_of("x[1:2]"), "x[1:2]") << "slice";
    EXPECT_EQ(expr_of("x[:2]"), "x[_:2]") << "slice without lower bound";
    EXPECT_EQ(expr_of("x[1:]"), "x[1:_]") << "slice without upper bound";
    EXPECT_EQ(expr_of("x[:]"), "x[_:_]") << "full slice";
    EXPECT_EQ(expr_of("f(1)(2)"), "f(1)(2)") << "call of a call";
    EXPECT_FALSE(Parsed("let x = f(y[])\n").ok()) << "empty index";
}

TEST(ParserTest, NamedCallArgumentsRecordNames) {
    Parsed p("let x = f(a, name: b)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const Expr& call = p.let_value();
    ASSERT_EQ(call.names.size(), 2u) << "one name per argument";
    EXPECT_EQ(call.names[0], "") << "positional";
    EXPECT_EQ(call.names[1], "name") << "named";
    EXPECT_EQ(show(call.args[2]), "b") << "value of the named argument";
}

TEST(ParserTest, IfExpressionArrayMapAndLiterals) {
    EXPECT_EQ(expr_of("if a > 1 then \"hot\" else \"ok\""), "(if (a > 1) then \"hot\" else \"ok\")") << "if";
    EXPECT_EQ(expr_of("[1, 2.5, \"s\", true, null]"), "[1, 2.5, \"s\", true, null]") << "array";
    EXPECT_EQ(expr_of("[]"), "[]") << "empty array";
    EXPECT_EQ(expr_of("{k: 1, \"q r\": 2}"), "{k: 1, q r: 2}") << "map with identifier and string keys";
    EXPECT_EQ(expr_of("{}"), "{}") << "empty map";
    EXPECT_EQ(expr_of("false"), "false") << "bool";
}

TEST(ParserTest, LambdaForms) {
    EXPECT_EQ(expr_of("x => x + 1"), "(x) => (x + 1)") << "single parameter";
    EXPECT_EQ(expr_of("(a, b) => a * b"), "(a, b) => (a * b)") << "parameter list";
    EXPECT_EQ(expr_of("() => 1"), "() => 1") << "no parameter";
    EXPECT_EQ(expr_of("(a) => { let y = a * 2; y + 1 }"), "(a) => {1 stmts} (y + 1)") << "block body";
}

TEST(ParserTest, KeywordsNeedAWordBoundary) {
    EXPECT_EQ(expr_of("notes"), "notes") << "notes is an identifier, not `not es`";
    EXPECT_EQ(expr_of("android or order"), "(android or order)") << "and/or prefixes";
    EXPECT_EQ(expr_of("index + input + value + count + first + all + emit"),
              "((((((index + input) + value) + count) + first) + all) + emit)")
        << "contextual keywords are identifiers";
    EXPECT_EQ(expr_of("nullable"), "nullable") << "null prefix";
    EXPECT_EQ(expr_of("truex"), "truex") << "true prefix";
    EXPECT_EQ(expr_of("isx"), "isx") << "is prefix";
}

TEST(ParserTest, NumberLiteralForms) {
    EXPECT_EQ(expr_of("1.5e3"), "1500") << "float with exponent";
    EXPECT_EQ(expr_of("2.25"), "2.25") << "float";
    EXPECT_EQ(expr_of("9223372036854775807"), "9223372036854775807") << "i64 max";
    Parsed p("let x = 1e10\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(p.size(), 2u) << "1e10 is not a float: integer 1 then identifier e10";
    EXPECT_EQ(show(p.get<VarDecl>(0).value), "1") << "integer part";
    EXPECT_FALSE(Parsed("let x = .5\n").ok()) << ".5 is not a float";
    EXPECT_FALSE(Parsed("let x = 5.\n").ok()) << "5. is not a float";
}

TEST(ParserTest, DurationUnits) {
    EXPECT_EQ(expr_of("5ns"), "5ns") << "ns";
    EXPECT_EQ(expr_of("5us"), "5000ns") << "us";
    EXPECT_EQ(expr_of("5ms"), "5000000ns") << "ms";
    EXPECT_EQ(expr_of("5s"), "5000000000ns") << "s";
    EXPECT_EQ(expr_of("5m"), "300000000000ns") << "m is minutes, not the prefix of ms";
    EXPECT_EQ(expr_of("2h"), "7200000000000ns") << "h";
    EXPECT_EQ(expr_of("1d"), "86400000000000ns") << "d";
    Parsed p("let x = 5min\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(show(p.get<VarDecl>(0).value), "5") << "5min: integer then identifier";
}

TEST(ParserTest, IntegerOverflowIsAnErrorAtTheLiteral) {
    Parsed p("stream S = A\n    .where(x > 99999999999999999999)\n");
    EXPECT_FALSE(p.ok()) << "overflow";
    EXPECT_EQ(p.at(), "2:16") << p.all();
    EXPECT_EQ(p.message(), "integer literal 99999999999999999999 does not fit in 64 bits") << p.all();
    EXPECT_FALSE(Parsed("let x = 9223372036854775808\n").ok()) << "i64 max + 1";
}

TEST(ParserTest, DurationOverflowIsAnErrorAtTheLiteral) {
    Parsed p("let x = 1 + 99999999999d\n");
    EXPECT_FALSE(p.ok()) << "u64 overflow";
    EXPECT_EQ(p.at(), "1:13") << p.all();
    EXPECT_NE(p.message().find("99999999999d"), std::string::npos) << "message quotes the literal: " << p.all();
}

TEST(ParserTest, StringEscapes) {
    Parsed p("let x = \"a\\\"b\\\\c\\nd\\te\\qf\"\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(p.let_value().text, "a\"b\\c\nd\te\\qf") << "\\\" \\\\ \\n \\t decoded, others kept";
}

TEST(ParserTest, UnterminatedStringIsAnchoredAtTheOpeningQuote) {
    Parsed p("stream S = Reading\n    .where(name == \"abc)\n    .emit(v: v)\n");
    EXPECT_FALSE(p.ok()) << "unterminated";
    EXPECT_EQ(p.at(), "2:20") << p.all();
    EXPECT_EQ(p.message(), "unterminated string literal") << p.all();
}

TEST(ParserTest, SingleQuotedStringsAreRejected) {
    Parsed p("let x = 'abc'\n");
    EXPECT_FALSE(p.ok()) << "single quotes are not VPL";
    EXPECT_EQ(p.at(), "1:9") << p.all();
    EXPECT_NE(p.hint().find("double quotes"), std::string::npos) << p.all();
}

TEST(ParserTest, TimestampLiterals) {
    EXPECT_EQ(expr_of("@2024-01-02"), "@1704153600000000000") << "date only, UTC";
    EXPECT_EQ(expr_of("@2024-01-02T03:04:05Z"), "@1704164645000000000") << "date and time";
    EXPECT_EQ(expr_of("@2024-01-02T03:04:05+02:30"), "@1704157445000000000") << "only offset hours apply";
    EXPECT_FALSE(Parsed("let x = @2024-13-01\n").ok()) << "month out of range";
}

TEST(ParserTest, UnsupportedOperatorsAreParseErrors) {
    Parsed coalesce("let x = a ?? b\n");
    EXPECT_FALSE(coalesce.ok()) << "?? is not in the grammar";
    EXPECT_EQ(coalesce.at(), "1:11") << coalesce.all();
    EXPECT_NE(coalesce.hint().find("coalesce"), std::string::npos) << coalesce.all();

    Parsed plus_eq("var x = 1\nx += 1\n");
    EXPECT_FALSE(plus_eq.ok()) << "+= is not in the grammar";
    EXPECT_EQ(plus_eq.at(), "2:3") << plus_eq.all();

    EXPECT_FALSE(Parsed("try:\n    x\n").ok()) << "try is not in the grammar";
    EXPECT_FALSE(Parsed("let y = match x {\n    1 => 2\n}\n").ok()) << "match is not in the grammar";
    EXPECT_FALSE(Parsed("let y = a && b\n").ok()) << "&& is not VPL";
}

TEST(ParserTest, CommentsAreSkipped) {
    Parsed p("# line\nlet x = 1 /* block\n still */ + 2 # trailing\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(show(p.get<VarDecl>(0).value), "(1 + 2)") << "comments between tokens";
    EXPECT_TRUE(Parsed("").ok()) << "empty program";
    EXPECT_TRUE(Parsed("# only a comment\n\n").ok()) << "comment-only program";
}

TEST(ParserTest, DoubleSlashIsNotAComment) {
    Parsed p("let x = 1 // comment\n");
    EXPECT_FALSE(p.ok()) << "// is not a comment";
    EXPECT_NE(p.hint().find("#"), std::string::npos) << p.all();
}

TEST(ParserTest, UnterminatedBlockCommentIsAnError) {
    Parsed p("let x = 1\n/* never closed\n");
    EXPECT_FALSE(p.ok()) << "unterminated comment";
    EXPECT_EQ(p.at(), "2:1") << p.all();
}

// ---------------------------------------------------------------- declarations

TEST(ParserTest, StreamDeclarationWithTypeAnnotation) {
    Parsed p("stream S: Stream<Reading> = Reading\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& s = p.get<StreamDecl>(0);
    EXPECT_EQ(s.name, "S") << "name";
    ASSERT_TRUE(s.type.has_value()) << "annotation kept";
    EXPECT_EQ(s.type->kind, TypeExpr::Kind::Stream) << "Stream<T>";
    EXPECT_EQ(s.source.kind, StreamSource::Kind::Name) << "plain source";
    EXPECT_EQ(s.source.name, "Reading") << "source name";
    EXPECT_TRUE(s.ops.empty()) << "no operators";
}

TEST(ParserTest, SourceWithAliasAndAll) {
    Parsed p("stream A = Login as lg\nstream B = all Beat as b\nstream C = all\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(p.get<StreamDecl>(0).source.alias, "lg") << "alias";
    EXPECT_FALSE(p.get<StreamDecl>(0).source.all) << "no all";
    EXPECT_TRUE(p.get<StreamDecl>(1).source.all) << "all";
    EXPECT_EQ(p.get<StreamDecl>(1).source.name, "Beat") << "all source name";
    EXPECT_EQ(p.get<StreamDecl>(2).source.name, "all") << "`all` alone is a stream name";
}

TEST(ParserTest, ConnectorSource) {
    Parsed p("stream S = Trade.from(Kafka, topic: \"t\", group: g)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& src = p.get<StreamDecl>(0).source;
    EXPECT_EQ(src.kind, StreamSource::Kind::From) << "from";
    EXPECT_EQ(src.name, "Trade") << "subscribed name";
    ASSERT_EQ(src.params.size(), 3u) << "connector + 2 params";
    EXPECT_EQ(show(src.params[0].value), "Kafka") << "connector is params[0]";
    EXPECT_EQ(src.params[1].name, "topic") << "named param";
}

TEST(ParserTest, MergeJoinSequenceAndTimerSources) {
    Parsed p(
        "stream M = merge(stream L = Left.where(ok), stream R = Right, X)\n"
        "stream J = join(A, stream B2 = B.on(A.k == B.k))\n"
        "stream Q = sequence(a: A, b: B where x == a.x .within(5s))\n"
        "stream T = timer(1m, initial_delay: 10s)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& m = p.get<StreamDecl>(0).source;
    EXPECT_EQ(m.kind, StreamSource::Kind::Merge) << "merge";
    ASSERT_EQ(m.inlines.size(), 3u) << "three merged streams";
    EXPECT_EQ(m.inlines[0].label, "L") << "label";
    EXPECT_EQ(m.inlines[0].name, "Left") << "subscribed name";
    EXPECT_EQ(show(m.inlines[0].filter), "ok") << "inline where";
    EXPECT_EQ(m.inlines[2].name, "X") << "bare name";
    const auto& j = p.get<StreamDecl>(1).source;
    EXPECT_EQ(j.kind, StreamSource::Kind::Join) << "join";
    EXPECT_EQ(show(j.inlines[1].filter), "(A.k == B.k)") << "inline on";
    const auto& q = p.get<StreamDecl>(2).source;
    EXPECT_EQ(q.kind, StreamSource::Kind::Sequence) << "sequence";
    ASSERT_EQ(q.steps.size(), 2u) << "two steps";
    EXPECT_EQ(q.steps[1].alias, "b") << "step alias";
    EXPECT_EQ(q.steps[1].type, "B") << "step type";
    EXPECT_EQ(show(q.steps[1].where), "(x == a.x)") << "where does not swallow .within";
    EXPECT_EQ(show(q.steps[1].within), "5000000000ns") << "per-step within";
    const auto& t = p.get<StreamDecl>(3).source;
    EXPECT_EQ(t.kind, StreamSource::Kind::Timer) << "timer";
    ASSERT_EQ(t.params.size(), 2u) << "period and initial delay";
    EXPECT_EQ(t.params[1].name, "initial_delay") << "named timer arg";
}

TEST(ParserTest, EveryOperatorKind) {
    Parsed p(
        "stream S = A .where(a) .select(a, b: c + 1) .emit(x: 1) .window(5s, sliding: 1s) .aggregate(n: count())\n"
        "  .having(n > 1) .partition_by(k) .within(5s) .not(Foo where x > 1) -> B\n"
        "  .trend_aggregate(n: count_trends()) .print() .log(level: \"info\") .to(K, topic: \"y\") .distinct()\n"
        "  .limit(5) .first() .filter(x) .process(f(x)) .pattern(p: A -> B) .on(x) .context(c1)\n"
        "  .watermark(out_of_order: 5s) .allowed_lateness(1s) .forecast(confidence: 0.5)\n"
        "  .enrich(DB, key: k, fields: [a, b]) .score(model: \"m\") .order_by(a desc) .map(x) .tap(a: 1)\n"
        "  .collect() .on_error(x) .fork(p: .print()) .any(2) .all() .concurrent(n: 2)\n"
        "  .strategy(strict_contiguity)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const std::vector<OpKind> expected = {
        OpKind::Where,    OpKind::Select,    OpKind::Emit,      OpKind::Window,     OpKind::Aggregate,
        OpKind::Having,   OpKind::PartitionBy, OpKind::Within,  OpKind::Not,        OpKind::FollowedBy,
        OpKind::TrendAggregate, OpKind::Print, OpKind::Log,     OpKind::To,         OpKind::Distinct,
        OpKind::Limit,    OpKind::First,     OpKind::Filter,    OpKind::Process,    OpKind::Pattern,
        OpKind::On,       OpKind::Context,   OpKind::Watermark, OpKind::AllowedLateness, OpKind::Forecast,
        OpKind::Enrich,   OpKind::Score,     OpKind::OrderBy,   OpKind::Map,        OpKind::Tap,
        OpKind::Collect,  OpKind::OnError,   OpKind::Fork,      OpKind::Any,        OpKind::All,
        OpKind::Concurrent, OpKind::Strategy,
    };
    const auto& ops = p.get<StreamDecl>(0).ops;
    ASSERT_EQ(ops.size(), expected.size()) << "one op per operator";
    for (size_t i = 0; i < ops.size(); ++i) EXPECT_EQ(ops[i].kind, expected[i]) << "operator #" << i << " " << ops[i].name;
    EXPECT_EQ(ops[1].args[0].value, nullptr) << "select shorthand has no value";
    EXPECT_EQ(ops[1].args[1].name, "b") << "select named item";
    EXPECT_EQ(ops[6].args[0].value->kind, ExprKind::Ident) << "partition_by takes an identifier";
    EXPECT_EQ(ops[36].args[0].value->text, "strict_contiguity") << "strategy name";
}

TEST(ParserTest, EmitAsTypeAndEmptyEmit) {
    Parsed p("stream S = A .emit as Alert (x: a.x, y: 1) .emit()\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& ops = p.get<StreamDecl>(0).ops;
    EXPECT_EQ(ops[0].emit_as, "Alert") << "emit as";
    EXPECT_EQ(p.loc(ops[0].emit_as_span), "1:23") << "emit_as_span";
    ASSERT_EQ(ops[0].args.size(), 2u) << "two fields";
    EXPECT_EQ(ops[0].args[0].name, "x") << "field name";
    EXPECT_TRUE(ops[1].args.empty()) << ".emit()";
}

TEST(ParserTest, WindowPositionalAndNamedArguments) {
    Parsed p("stream S = A .window(10s, sliding: 5s)\nstream T = A .window(session: 5s)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& w = p.get<StreamDecl>(0).ops[0];
    ASSERT_EQ(w.args.size(), 2u) << "size + sliding";
    EXPECT_EQ(w.args[0].name, "") << "positional size";
    EXPECT_EQ(w.args[1].name, "sliding") << "named slide";
    EXPECT_EQ(p.get<StreamDecl>(1).ops[0].args[0].name, "session") << "session window";
}

TEST(ParserTest, NotOperatorWithAndWithoutWhere) {
    Parsed p("stream S = A as a -> B .not(Cancel where id == a.id) .not(Logout)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& ops = p.get<StreamDecl>(0).ops;
    EXPECT_EQ(ops[1].not_type, "Cancel") << "negated type";
    EXPECT_EQ(show(ops[1].not_where), "(id == a.id)") << "negation predicate";
    EXPECT_EQ(ops[2].not_type, "Logout") << "bare negation";
    EXPECT_EQ(ops[2].not_where, nullptr) << "no predicate";
}

TEST(ParserTest, PatternOperatorLambdaAndEventExpression) {
    Parsed p("stream S = A .pattern(p: events => events.len() > 2) .pattern(q: A -> B and not C or (D xor E))\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& ops = p.get<StreamDecl>(0).ops;
    EXPECT_EQ(ops[0].pattern_name, "p") << "name";
    EXPECT_FALSE(ops[0].pattern_expr.has_value()) << "lambda form";
    EXPECT_EQ(show(ops[0].args[0].value), "(events) => (events.len() > 2)") << "lambda";
    ASSERT_TRUE(ops[1].pattern_expr.has_value()) << "event expression form";
    const PatternOpExpr& e = *ops[1].pattern_expr;
    EXPECT_EQ(e.kind, PatternOpExpr::Kind::Or) << "or at the top";
    ASSERT_EQ(e.children.size(), 2u) << "two operands";
    EXPECT_EQ(e.children[0].kind, PatternOpExpr::Kind::And) << "and below or";
    EXPECT_EQ(e.children[0].children[0].chain, (std::vector<std::string>{"A", "B"})) << "A -> B chain";
    EXPECT_EQ(e.children[0].children[1].kind, PatternOpExpr::Kind::Not) << "not C";
    EXPECT_EQ(e.children[1].kind, PatternOpExpr::Kind::Xor) << "(D xor E)";
}

TEST(ParserTest, ForkOrderByAndStrategy) {
    Parsed p("stream S = A .fork(hot: .where(t > 1).emit(), cold: .print()) .order_by(a desc, b asc, c)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& ops = p.get<StreamDecl>(0).ops;
    ASSERT_EQ(ops[0].fork_paths.size(), 2u) << "two paths";
    EXPECT_EQ(ops[0].fork_paths[0].first, "hot") << "path name";
    EXPECT_EQ(ops[0].fork_paths[0].second.size(), 2u) << "two ops in the first path";
    ASSERT_EQ(ops[1].args.size(), 3u) << "three order items";
    EXPECT_TRUE(ops[1].args[0].desc) << "desc";
    EXPECT_FALSE(ops[1].args[1].desc) << "asc";
    EXPECT_FALSE(ops[1].args[2].desc) << "default";
}

TEST(ParserTest, FollowedByChain) {
    Parsed p(
        "stream Takeover = Login as lg\n"
        "    -> PasswordChange where user == lg.user as pc\n"
        "    -> all Transfer where user == lg.user and amount > 500.0 as t\n"
        "    .within(30m)\n"
        "    .not(Logout where user == lg.user)\n"
        "    .partition_by(user)\n"
        "    .emit(user: lg.user, last_amount: t.amount)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& s = p.get<StreamDecl>(0);
    EXPECT_EQ(s.source.alias, "lg") << "head alias";
    ASSERT_EQ(s.ops.size(), 6u) << "2 steps + within + not + partition_by + emit";
    const FollowedByStep& a = s.ops[0].step;
    EXPECT_EQ(s.ops[0].kind, OpKind::FollowedBy) << "step";
    EXPECT_EQ(a.type, "PasswordChange") << "type";
    EXPECT_EQ(show(a.where), "(user == lg.user)") << "where stops before `as`";
    EXPECT_EQ(a.alias, "pc") << "alias";
    EXPECT_FALSE(a.all) << "not kleene";
    const FollowedByStep& b = s.ops[1].step;
    EXPECT_TRUE(b.all) << "all";
    EXPECT_EQ(show(b.where), "((user == lg.user) and (amount > 500))") << "filter grammar and";
    EXPECT_EQ(s.ops[5].kind, OpKind::Emit) << "emit not swallowed";
    EXPECT_EQ(p.loc(s.ops[0].span), "2:5") << "followed-by span is the ->";
    EXPECT_EQ(p.loc(s.ops[2].span), "4:5") << "op span is the dot";
}

TEST(ParserTest, FilterWhereDoesNotSwallowFollowingOperator) {
    Parsed p("stream S = A as a -> B where x == a.id .emit(v: 1)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& s = p.get<StreamDecl>(0);
    ASSERT_EQ(s.ops.size(), 2u) << "step and emit";
    EXPECT_EQ(show(s.ops[0].step.where), "(x == a.id)") << "member access kept, .emit( left";
    EXPECT_EQ(s.ops[1].kind, OpKind::Emit) << "emit";
    Parsed call("stream S = A as a -> B where f(x) > 1 .emit()\n");
    EXPECT_TRUE(call.ok()) << "function calls are allowed in filters: " << call.all();
}

TEST(ParserTest, FilterGrammarRejectsArraysAtTopLevel) {
    Parsed p("pattern P = SEQ(A where x in [1, 2], B)\n");
    EXPECT_FALSE(p.ok()) << "arrays are not in the filter grammar";
    EXPECT_EQ(p.at(), "1:30") << p.all();
}

TEST(ParserTest, NamedPatternSequence) {
    Parsed p(
        "pattern Fraud = SEQ(CardAdded as c, NOT Cancel where x == c.x, Purchase+ where amount < 5.0, Coupon?, "
        "Fail*, Purchase where amount > 900.0 as big)\n"
        "    within 1h partition by card_id strategy skip_till_any_match\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& d = p.get<PatternDecl>(0);
    EXPECT_EQ(d.name, "Fraud") << "name";
    ASSERT_EQ(d.expr.kind, SaseExpr::Kind::Seq) << "SEQ";
    ASSERT_EQ(d.expr.children.size(), 6u) << "six items";
    EXPECT_EQ(d.expr.children[0].alias, "c") << "alias";
    EXPECT_TRUE(d.expr.children[1].negated) << "NOT item";
    EXPECT_EQ(show(d.expr.children[1].where), "(x == c.x)") << "where stops at the comma";
    EXPECT_EQ(d.expr.children[2].kleene, '+') << "plus";
    EXPECT_EQ(d.expr.children[3].kleene, '?') << "optional";
    EXPECT_EQ(d.expr.children[4].kleene, '*') << "star";
    EXPECT_EQ(d.expr.children[5].alias, "big") << "where stops at `as`";
    EXPECT_EQ(show(d.within), "3600000000000ns") << "within";
    EXPECT_EQ(d.partition_by, "card_id") << "partition by";
    EXPECT_EQ(d.strategy, "skip_till_any_match") << "strategy";
    EXPECT_EQ(p.loc(d.strategy_span), "2:45") << "strategy span";
}

TEST(ParserTest, NamedPatternBooleanOperators) {
    Parsed p("pattern Q = A where x > 1 AND B OR NOT C as c\npattern R = (A OR B) AND C within 5s\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const SaseExpr& q = p.get<PatternDecl>(0).expr;
    EXPECT_EQ(q.kind, SaseExpr::Kind::Or) << "OR lowest";
    EXPECT_EQ(q.children[0].kind, SaseExpr::Kind::And) << "AND below OR";
    EXPECT_EQ(show(q.children[0].children[0].where), "(x > 1)") << "where stops at AND";
    EXPECT_EQ(q.children[1].kind, SaseExpr::Kind::Not) << "NOT";
    EXPECT_EQ(q.children[1].children[0].alias, "c") << "alias under NOT";
    const PatternDecl& r = p.get<PatternDecl>(1);
    EXPECT_EQ(r.expr.kind, SaseExpr::Kind::And) << "parenthesised OR under AND";
    EXPECT_EQ(r.expr.children[0].kind, SaseExpr::Kind::Or) << "group";
    EXPECT_NE(r.within, nullptr) << "within after a group";
}

TEST(ParserTest, BracketPredicatesAreNotValidPatterns) {
    EXPECT_FALSE(Parsed("pattern P = SEQ(Login[status == \"ok\"], B)\n").ok()) << "bracket predicates";
    EXPECT_FALSE(Parsed("pattern P = SEQ()\n").ok()) << "empty SEQ";
}

TEST(ParserTest, ConnectorDeclarationConfigValues) {
    Parsed p("connector K = kafka(brokers: [\"a:9092\", \"b\"], port: 9092, rate: 1.5, every: 5s, on: true, mode: fast)\n"
             "connector Out = console()\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& c = p.get<ConnectorDecl>(0);
    EXPECT_EQ(c.type, "kafka") << "type";
    ASSERT_EQ(c.params.size(), 6u) << "params";
    EXPECT_EQ(show(c.params[0].value), "[\"a:9092\", \"b\"]") << "array";
    EXPECT_EQ(c.params[3].value->kind, ExprKind::Duration) << "duration";
    EXPECT_EQ(c.params[5].value->kind, ExprKind::Ident) << "identifier value";
    EXPECT_TRUE(p.get<ConnectorDecl>(1).params.empty()) << "no params";
    EXPECT_FALSE(Parsed("connector K = kafka(host: a + b)\n").ok()) << "config values are not expressions";
}

TEST(ParserTest, EventDeclarationForms) {
    Parsed p(
        "event Base:\n    id: int\n\n"
        "event Payment extends Base:\n    amount: float\n    channel: str?\n    tags: [str]\n"
        "    attrs: {str: float}\n    pair: (int, str)\n"
        "event Inline: a: int b: str\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& pay = p.get<EventDecl>(1);
    EXPECT_EQ(pay.extends, "Base") << "extends";
    ASSERT_EQ(pay.fields.size(), 5u) << "fields";
    EXPECT_TRUE(pay.fields[1].optional) << "str? is optional";
    EXPECT_EQ(pay.fields[1].type.name, "str") << "optional unwrapped";
    EXPECT_EQ(pay.fields[2].type.kind, TypeExpr::Kind::Array) << "array type";
    EXPECT_EQ(pay.fields[3].type.kind, TypeExpr::Kind::Map) << "map type";
    EXPECT_EQ(pay.fields[4].type.kind, TypeExpr::Kind::Tuple) << "tuple type";
    EXPECT_EQ(p.get<EventDecl>(2).fields.size(), 2u) << "fields on the same line";
}

TEST(ParserTest, TypeAliasVarLetConst) {
    Parsed p("type T = Stream<[int]>?\nlet a = 1\nvar b: float = 2.0\nconst c: int = 3\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(p.get<TypeDecl>(0).type.kind, TypeExpr::Kind::Optional) << "optional stream";
    EXPECT_EQ(p.get<VarDecl>(1).kind, VarDecl::Kind::Let) << "let";
    EXPECT_EQ(p.get<VarDecl>(2).kind, VarDecl::Kind::Var) << "var";
    EXPECT_EQ(p.get<VarDecl>(2).type->name, "float") << "annotation";
    EXPECT_EQ(p.get<VarDecl>(3).kind, VarDecl::Kind::Const) << "const";
    Parsed bad("let x == 1\n");
    EXPECT_FALSE(bad.ok()) << "== is not =";
    EXPECT_EQ(bad.at(), "1:7") << bad.all();
}

TEST(ParserTest, FunctionWithStatements) {
    Parsed p(
        "fn risk(amount: float, hops: int) -> float:\n"
        "    let base = amount / 1000.0\n"
        "    if hops > 3:\n"
        "        return base * 2.0\n"
        "    elif hops < 0:\n"
        "        return 0.0\n"
        "    else:\n"
        "        base := base + 1.0\n"
        "    for i in 0..hops:\n"
        "        if i == 2:\n"
        "            continue\n"
        "        emit Hop(i: i)\n"
        "    while true:\n"
        "        break\n"
        "    return base  # done\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& f = p.get<FnDecl>(0);
    EXPECT_EQ(f.name, "risk") << "name";
    ASSERT_EQ(f.params.size(), 2u) << "params";
    EXPECT_EQ(f.params[1].type.name, "int") << "param type";
    EXPECT_EQ(f.ret->name, "float") << "return type";
    ASSERT_EQ(f.body.size(), 5u) << "let, if, for, while, return";
    const auto& iff = std::get<IfStmt>(f.body[1]->node);
    EXPECT_EQ(iff.conds.size(), 2u) << "if + elif";
    EXPECT_EQ(iff.blocks.size(), 3u) << "with else";
    EXPECT_TRUE(std::holds_alternative<AssignStmt>(iff.blocks[2][0]->node)) << ":= in else";
    const auto& fr = std::get<ForStmt>(f.body[2]->node);
    EXPECT_EQ(fr.var, "i") << "loop variable";
    EXPECT_EQ(fr.body.size(), 2u) << "if + emit";
    EXPECT_TRUE(std::holds_alternative<EmitStmt>(fr.body[1]->node)) << "emit statement";
    EXPECT_TRUE(std::holds_alternative<WhileStmt>(f.body[3]->node)) << "while";
    EXPECT_NE(std::get<ReturnStmt>(f.body[4]->node).value, nullptr) << "return value";
}

TEST(ParserTest, BlocksRequireIndentation) {
    Parsed p("fn f():\nreturn 1\n");
    EXPECT_FALSE(p.ok()) << "fn body must be an indented block";
    EXPECT_EQ(p.at(), "2:1") << p.all();
    EXPECT_NE(p.message().find("indented block"), std::string::npos) << p.all();
}

TEST(ParserTest, HandWrittenBlockMarkers) {
    std::string text = "fn f(x: int):";
    text += SourceFile::kIndent;
    text += "\n    return x # last line";
    text += SourceFile::kDedent;
    text += "\nlet y = 1\n";
    Parsed p(text, false);
    ASSERT_TRUE(p.ok()) << "DEDENT after a comment: " << p.all();
    EXPECT_EQ(p.size(), 2u) << "fn and let";
    EXPECT_EQ(std::get<FnDecl>(p.prog->statements[0]->node).body.size(), 1u) << "one statement in the body";
}

TEST(ParserTest, ReturnWithoutValueAndTopLevelStatements) {
    Parsed p("fn f():\n    return\nif x:\n    f()\nx := 2\nemit A(v: 1)\nprint_it(3)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(std::get<ReturnStmt>(p.get<FnDecl>(0).body[0]->node).value, nullptr) << "bare return";
    EXPECT_EQ(p.get<AssignStmt>(2).name, "x") << "assignment";
    EXPECT_EQ(p.get<EmitStmt>(3).type, "A") << "top-level emit";
    EXPECT_EQ(show(p.get<ExprStmt>(4).expr), "print_it(3)") << "expression statement";
}

TEST(ParserTest, ReturnTakesItsValueOnlyFromItsOwnLine) {
    // A bare `return` followed by a statement on the next line (same block), before a comment,
    // and before a dedent; then a value on the same line.
    Parsed p("fn f(a: int):\n    if a > 0:\n        return\n        emit E(p: a)\n    return # none\n"
             "    emit G(p: a)\n\nfn g(a: int) -> int:\n    if a > 0:\n        return\n    return a +\n        1\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& f = p.get<FnDecl>(0);
    ASSERT_EQ(f.body.size(), 3u) << "if, return, emit";
    const auto& inner = std::get<IfStmt>(f.body[0]->node).blocks[0];
    ASSERT_EQ(inner.size(), 2u) << "return, emit";
    EXPECT_EQ(std::get<ReturnStmt>(inner[0]->node).value, nullptr);
    EXPECT_EQ(std::get<EmitStmt>(inner[1]->node).type, "E");
    EXPECT_EQ(std::get<ReturnStmt>(f.body[1]->node).value, nullptr) << "a comment is not a value";
    const auto& g = p.get<FnDecl>(1);
    ASSERT_EQ(g.body.size(), 2u);
    ASSERT_NE(std::get<ReturnStmt>(g.body[1]->node).value, nullptr) << "a value starting on its line may continue";
    EXPECT_EQ(show(std::get<ReturnStmt>(g.body[1]->node).value), "(a + 1)");
}

TEST(ParserTest, ContextConfigAndImport) {
    Parsed p(
        "context fast (cores: [0, 1])\ncontext slow\n"
        "config main { a: 1, b: \"x\" c: [1, 2] }\n"
        "config:\n    a: 1\n    b: 2s\n"
        "import \"lib.vpl\" as lib\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(p.get<ContextDecl>(0).cores, (std::vector<int64_t>{0, 1})) << "cores";
    EXPECT_TRUE(p.get<ContextDecl>(1).cores.empty()) << "no cores";
    EXPECT_EQ(p.get<ConfigBlock>(2).name, "main") << "named config";
    EXPECT_EQ(p.get<ConfigBlock>(2).items.size(), 3u) << "commas optional";
    EXPECT_EQ(p.get<ConfigBlock>(3).name, "default") << "config: block";
    EXPECT_EQ(p.get<ConfigBlock>(3).items.size(), 2u) << "indented items";
    EXPECT_EQ(p.get<ImportStmt>(4).path, "lib.vpl") << "import path";
    EXPECT_EQ(p.get<ImportStmt>(4).alias, "lib") << "import alias";
    EXPECT_FALSE(Parsed("context c (cores: [1.5])\n").ok()) << "cores are integers";
}

TEST(ParserTest, StatementAndNameSpans) {
    Parsed p("let a = 1\n  stream Big = Trade\n    .where(f(x) > 1)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(p.loc(p.prog->statements[1]->span), "2:3") << "statement span is its first token";
    const auto& s = p.get<StreamDecl>(1);
    EXPECT_EQ(p.loc(s.name_span), "2:10") << "name span";
    EXPECT_EQ(p.file.slice(s.name_span), "Big") << "name span covers the identifier";
    EXPECT_EQ(p.loc(s.source.name_span), "2:16") << "source name span";
    EXPECT_EQ(p.loc(s.ops[0].span), "3:5") << "operator span is the dot";
    const Expr& cmp = *s.ops[0].args[0].value;
    EXPECT_EQ(p.file.slice(cmp.span), "f(x) > 1") << "expression extent";
    const Expr& call = *cmp.args[0];
    EXPECT_EQ(p.loc(call.args[0]->span), "3:12") << "callee has its own span";
    EXPECT_EQ(p.file.slice(call.args[0]->span), "f") << "callee span is the name";
}

TEST(ParserTest, StatementsNeedNoSeparators) {
    Parsed p("stream A = X stream B = Y.where(v > 1).emit(v: v) let c = 1 c := 2\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(p.size(), 4u) << "four statements on one line";
    EXPECT_EQ(p.get<StreamDecl>(1).ops.size(), 2u) << "chained operators on one line";
}

TEST(ParserTest, EmptyWhereIsRejected) {
    Parsed p("stream S = A\n    .where()\n");
    EXPECT_FALSE(p.ok()) << "empty where";
    EXPECT_EQ(p.at(), "2:12") << p.all();
    EXPECT_EQ(p.message(), "expected expression, found ')'") << p.all();
}

TEST(ParserTest, IncompleteStreamDeclarations) {
    Parsed eq("stream S Reading\n");
    EXPECT_FALSE(eq.ok()) << "missing =";
    EXPECT_EQ(eq.at(), "1:10") << eq.all();
    EXPECT_NE(eq.message().find("'='"), std::string::npos) << eq.all();
    Parsed src("stream S =\n");
    EXPECT_FALSE(src.ok()) << "missing source";
    EXPECT_NE(src.message().find("found end of input"), std::string::npos) << src.all();
    Parsed name("stream = A\n");
    EXPECT_FALSE(name.ok()) << "missing name";
    EXPECT_EQ(name.at(), "1:8") << name.all();
}

TEST(ParserTest, EventNeedsAtLeastOneField) {
    EXPECT_FALSE(Parsed("event A:\nstream S = A\n").ok()) << "no fields";
    EXPECT_FALSE(Parsed("event A:\n    x int\n").ok()) << "missing colon";
}

TEST(ParserTest, FunctionParametersNeedTypes) {
    Parsed p("fn f(x):\n    return x\n");
    EXPECT_FALSE(p.ok()) << "untyped parameter";
    EXPECT_EQ(p.at(), "1:7") << p.all();
}

TEST(ParserTest, ForLoopNeedsIn) {
    EXPECT_FALSE(Parsed("fn f():\n    for i 0..3:\n        x := i\n").ok()) << "missing in";
    EXPECT_TRUE(Parsed("fn f():\n    for i in [1, 2]:\n        x := i\n").ok()) << "array iterable";
}

TEST(ParserTest, EmitStatementNeedsNamedFields) {
    EXPECT_FALSE(Parsed("fn f():\n    emit A(1)\n").ok()) << "positional field";
    Parsed p("fn f():\n    emit A()\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_TRUE(std::get<EmitStmt>(p.get<FnDecl>(0).body[0]->node).fields.empty()) << "no fields";
}

TEST(ParserTest, AssignmentVersusComparisonStatement) {
    Parsed p("x := 1\nx == 1\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_TRUE(std::holds_alternative<AssignStmt>(p.prog->statements[0]->node)) << ":= assigns";
    EXPECT_TRUE(std::holds_alternative<ExprStmt>(p.prog->statements[1]->node)) << "== compares";
    EXPECT_EQ(p.loc(p.prog->statements[1]->span), "2:1") << "expression statement span";
    EXPECT_FALSE(Parsed("x = 1\n").ok()) << "= alone is not an assignment";
}

TEST(ParserTest, IfExpressionAsTopLevelStatement) {
    Parsed p("if a then 1 else 2\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(show(p.get<ExprStmt>(0).expr), "(if a then 1 else 2)") << "if expression, not an if statement";
    EXPECT_FALSE(Parsed("let x = if a then 1\n").ok()) << "else is required";
}

TEST(ParserTest, FilterNotAndParentheses) {
    Parsed p("stream S = A as a -> B where not (x > 1 or y) and -z < 3 as b\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(show(p.get<StreamDecl>(0).ops[0].step.where), "((not ((x > 1) or y)) and ((-z) < 3))")
        << "filter grammar: not, parentheses, unary minus";
}

TEST(ParserTest, PatternStrategyIsAnIdentifierForTheChecker) {
    Parsed p("pattern P = SEQ(A, B) strategy bogus\n");
    ASSERT_TRUE(p.ok()) << "the checker reports unknown strategies (E092): " << p.all();
    EXPECT_EQ(p.get<PatternDecl>(0).strategy, "bogus") << "kept as written";
}

TEST(ParserTest, WithinAndPartitionAnywhereInTheChain) {
    Parsed p("stream S = A as a .within(5s) .partition_by(k) -> B as b -> C .strategy(skip_till_any_match)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& ops = p.get<StreamDecl>(0).ops;
    ASSERT_EQ(ops.size(), 5u) << "within, partition_by, two steps, strategy";
    EXPECT_EQ(ops[0].kind, OpKind::Within) << "within first";
    EXPECT_EQ(ops[3].step.type, "C") << "last step";
}

TEST(ParserTest, OperatorArgumentsKeepTheirValues) {
    Parsed p("stream S = A .limit(5) .distinct(user) .emit(context: c1, x: 1) .print(a, \"b\")\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& ops = p.get<StreamDecl>(0).ops;
    EXPECT_EQ(ops[0].args[0].value->int_value, 5) << "limit";
    EXPECT_EQ(show(ops[1].args[0].value), "user") << "distinct expression";
    EXPECT_EQ(ops[2].args[0].name, "context") << "context: argument of emit";
    EXPECT_EQ(ops[3].args.size(), 2u) << "print arguments";
    EXPECT_EQ(p.loc(ops[2].args[1].name_span), "1:59") << "argument name span";
}

TEST(ParserTest, KeywordsAsEmitFieldNames) {
    Parsed p("stream S = A .emit(count: count, all: all, first: first, value: value, not: 1, where: 2)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& args = p.get<StreamDecl>(0).ops[0].args;
    ASSERT_EQ(args.size(), 6u) << "six fields";
    EXPECT_EQ(args[4].name, "not") << "`not` as a field name";
    EXPECT_EQ(show(args[1].value), "all") << "`all` as a value";
}

TEST(ParserTest, SequenceItemsWithoutWhere) {
    Parsed p("pattern P = SEQ(A, B+ as b, C)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    const auto& items = p.get<PatternDecl>(0).expr.children;
    ASSERT_EQ(items.size(), 3u) << "three items";
    EXPECT_EQ(items[1].kleene, '+') << "kleene";
    EXPECT_EQ(items[1].alias, "b") << "alias after kleene";
    EXPECT_EQ(p.loc(items[1].type_span), "1:20") << "type span";
}

TEST(ParserTest, NestedBlocksCloseTogether) {
    Parsed p("fn f(x: int) -> int:\n    if x > 0:\n        while x > 10:\n            x := x - 1\nlet after = 1\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(p.size(), 2u) << "two DEDENTs close both blocks, then a top-level let";
    EXPECT_EQ(p.get<VarDecl>(1).name, "after") << "the let is top-level";
}

TEST(ParserTest, TrailingCommaInArgumentsIsRejected) {
    Parsed p("let x = f(a,)\n");
    EXPECT_FALSE(p.ok()) << "trailing comma";
    EXPECT_EQ(p.at(), "1:13") << p.all();
}

TEST(ParserTest, ImportWithoutAliasAndTimerWithoutOptions) {
    Parsed p("import \"x.vpl\"\nstream T = timer(5s)\n");
    ASSERT_TRUE(p.ok()) << p.all();
    EXPECT_EQ(p.get<ImportStmt>(0).alias, "") << "no alias";
    EXPECT_EQ(p.get<StreamDecl>(1).source.params.size(), 1u) << "period only";
}

TEST(ParserTest, MapAndArrayErrors) {
    EXPECT_FALSE(Parsed("let m = {1: 2}\n").ok()) << "map keys are identifiers or strings";
    EXPECT_FALSE(Parsed("let a = [1, 2\n").ok()) << "unclosed array";
    Parsed p("let a = [1 2]\n");
    EXPECT_EQ(p.message(), "expected ',' or ']', found '2'") << p.all();
}

// ---------------------------------------------------------------- error reporting

TEST(ParserTest, DoubleOperatorReportsTheSecondOperator) {
    Parsed p("# broken program\nstream Broken = Reading\n    .where(v > > 1)\n    .emit(v: v)\n");
    EXPECT_FALSE(p.ok()) << "double operator";
    EXPECT_EQ(p.at(), "3:16") << p.all();
    EXPECT_EQ(p.message(), "expected expression, found '>'") << p.all();
}

TEST(ParserTest, MisspeltOperatorGetsAHint) {
    Parsed p("stream S = Reading\n    .wher(v > 1)\n    .emit(v: v)\n");
    EXPECT_FALSE(p.ok()) << "unknown operator";
    EXPECT_EQ(p.at(), "2:6") << p.all();
    EXPECT_NE(p.message().find("unknown stream operator `.wher`"), std::string::npos) << p.all();
    EXPECT_NE(p.message().find("trend_aggregate"), std::string::npos) << "lists known operators: " << p.all();
    EXPECT_EQ(p.hint(), "did you mean `where`?") << p.all();
}

TEST(ParserTest, MissingTokenListsWhatWasExpected) {
    Parsed p("stream S = A.emit(v: v w)\n");
    EXPECT_FALSE(p.ok()) << "missing comma";
    EXPECT_EQ(p.at(), "1:24") << p.all();
    EXPECT_EQ(p.message(), "expected ',' or ')', found 'w'") << p.all();
}

TEST(ParserTest, EndOfInputIsAnchoredAfterTheLastCharacter) {
    Parsed p("stream S = A\n    .emit(v: v\n\n");
    EXPECT_FALSE(p.ok()) << "unclosed call";
    EXPECT_EQ(p.at(), "2:15") << p.all();
    EXPECT_EQ(p.message(), "expected ',' or ')', found end of input") << p.all();
}

TEST(ParserTest, ErrorInALaterStatementIsReportedThere) {
    Parsed p("stream A1 = X.emit(v: v)\nstream A2 = Y.where(v >= )\n");
    EXPECT_FALSE(p.ok()) << "second statement broken";
    EXPECT_EQ(p.at(), "2:26") << p.all();
}

TEST(ParserTest, StrayTokenAtTopLevel) {
    Parsed p("stream S = A\n)\n");
    EXPECT_FALSE(p.ok()) << "stray )";
    EXPECT_EQ(p.at(), "2:1") << p.all();
    EXPECT_NE(p.message().find("found ')'"), std::string::npos) << p.all();
}

TEST(ParserTest, ControlBytesAndInvalidUtf8AreRejectedCleanly) {
    Parsed nul(std::string("let x = 1\0 + 2\n", 16), false);
    EXPECT_FALSE(nul.ok()) << "NUL byte";
    EXPECT_NE(nul.message().find("0x00"), std::string::npos) << nul.all();
    Parsed bad("let x = \xff\xfe\n", false);
    EXPECT_FALSE(bad.ok()) << "invalid UTF-8";
    EXPECT_NE(bad.message().find("0xFF"), std::string::npos) << bad.all();
    Parsed ok("let x = \"h\xc3\xa9llo\"\n", false);
    EXPECT_TRUE(ok.ok()) << "UTF-8 inside strings is fine: " << ok.all();
}

// ---------------------------------------------------------------- robustness

TEST(ParserTest, DeepRecursionIsAnErrorNotACrash) {
    std::string ifs = "let x = ";
    for (int i = 0; i < 20000; ++i) ifs += "if a then 1 else ";
    ifs += "2\n";
    Parsed p1(ifs, false);
    EXPECT_FALSE(p1.ok()) << "20000 nested if expressions";
    EXPECT_NE(p1.message().find("nesting too deep"), std::string::npos) << p1.message();

    std::string parens = "let x = " + std::string(50000, '(') + "1" + std::string(50000, ')') + "\n";
    Parsed p2(parens, false);
    EXPECT_FALSE(p2.ok()) << "deep parentheses without the pre-processor's limit";

    std::string pow = "let x = 2";
    for (int i = 0; i < 100000; ++i) pow += " ** 2";
    Parsed p3(pow + "\n", false);
    EXPECT_FALSE(p3.ok()) << "100000 ** operators build a tree too tall for recursive consumers";
    EXPECT_NE(p3.message().find("nested too deeply"), std::string::npos) << p3.message();

    std::string sum = "let x = 1";
    for (int i = 0; i < 5000; ++i) sum += " + 1";
    EXPECT_FALSE(Parsed(sum + "\n", false).ok()) << "5000-term sum is a left-deep tree";
    std::string ok_sum = "let x = 1";
    for (int i = 0; i < 500; ++i) ok_sum += " + 1";
    EXPECT_TRUE(Parsed(ok_sum + "\n", false).ok()) << "500-term sum is fine";

    std::string blocks = "fn f():\n";
    for (int i = 1; i < 400; ++i) blocks += std::string(static_cast<size_t>(i) * 2, ' ') + "if x:\n";
    blocks += std::string(800, ' ') + "return 1\n";
    Parsed p4(blocks);
    EXPECT_FALSE(p4.ok()) << "400 nested blocks";

    std::string types = "type T = " + std::string(20000, '[') + "int" + std::string(20000, ']') + "\n";
    EXPECT_FALSE(Parsed(types, false).ok()) << "deep types";
}

TEST(ParserTest, LargeProgramsParse) {
    std::string text;
    for (int i = 0; i < 5000; ++i)
        text += "stream S" + std::to_string(i) + " = Reading\n    .where(v > " + std::to_string(i) +
                " and name != \"x\")\n    .emit(v: v * 2, n: name)\n";
    Parsed p(text);
    ASSERT_TRUE(p.ok()) << "5000 streams";
    EXPECT_EQ(p.size(), 5000u) << "all statements";
}

TEST(ParserTest, RandomInputNeverCrashes) {
    const std::vector<std::string> seeds = {
        "stream S = A as a -> all B where x > a.x as b .within(5s) .emit(v: b.v)\n",
        "pattern P = SEQ(A as a, B+ where v < 5.0, NOT C) within 1h partition by k\n",
        "fn f(x: int) -> int:\n    if x > 1:\n        return x ** -2\n    return [1, 2][0:1]\n",
        "event E extends B:\n    a: {str: [int]}?\n",
        "let m = {a: \"s\\\"t\", b: @2024-01-01T00:00:00Z} # c\n/* d */ x := m.a?.b\n",
    };
    const std::string alphabet = "()[]{}.,:;=<>!+-*/%^&|~?@#\"\\ \n\tabcdefSEQANDORNOT0123456789_\x01\x02\x00\xff";
    std::mt19937 rng(12345);
    size_t parsed = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string s = seeds[static_cast<size_t>(i) % seeds.size()];
        int mutations = 1 + static_cast<int>(rng() % 8);
        for (int m = 0; m < mutations && !s.empty(); ++m) {
            size_t pos = rng() % s.size();
            char c = alphabet[rng() % alphabet.size()];
            switch (rng() % 3) {
                case 0: s[pos] = c; break;
                case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), c); break;
                default: s.erase(pos, 1 + rng() % 4); break;
            }
        }
        if (i % 7 == 0) {  // pure noise
            s.clear();
            for (size_t n = rng() % 200; n > 0; --n) s += static_cast<char>(rng() % 256);
        }
        SourceFile file("fuzz.vpl", s);
        DiagnosticBag diags;
        std::optional<Program> prog;
        EXPECT_NO_THROW(prog = parse_program(file, diags)) << "input #" << i;
        if (prog) {
            ++parsed;
            EXPECT_FALSE(diags.has_errors()) << "success without errors, input #" << i;
        } else {
            EXPECT_EQ(diags.error_count(), 1u) << "exactly one error, input #" << i;
            EXPECT_LE(diags.items().front().span.begin, file.text().size()) << "anchor in range, input #" << i;
        }
    }
    EXPECT_GT(parsed, 0u) << "some mutations still parse";
}

// ---------------------------------------------------------------- shared programs

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(ParserTest, ConformanceQueriesParseOrFailWhereExpected) {
    namespace fs = std::filesystem;
    const fs::path dir = VARPULIS_CONFORMANCE_DIR;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    size_t cases = 0, failing = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        fs::path query = entry.path() / "query.vpl";
        fs::path expect = entry.path() / "expect.json";
        if (!fs::exists(query) || !fs::exists(expect)) continue;
        ++cases;
        boost::json::value spec = boost::json::parse(read_file(expect));
        bool parse_error = false;
        if (const auto* features = spec.as_object().if_contains("feature"))
            for (const auto& f : features->as_array())
                if (f.is_string() && f.as_string() == "parse") parse_error = true;
        Parsed p(read_file(query));
        if (!parse_error) {
            EXPECT_TRUE(p.ok()) << entry.path().filename() << ": " << p.all();
            continue;
        }
        ++failing;
        EXPECT_FALSE(p.ok()) << entry.path().filename() << " must not parse";
        std::smatch m;
        std::string line;
        for (const auto& s : spec.at("stderr_contains").as_array()) {
            std::string text(s.as_string());
            if (std::regex_search(text, m, std::regex(R"(query\.vpl:(\d+):)"))) line = m[1];
        }
        ASSERT_FALSE(line.empty()) << entry.path().filename() << ": no line in stderr_contains";
        EXPECT_EQ(p.at().substr(0, p.at().find(':')), line) << entry.path().filename() << ": " << p.all();
    }
    EXPECT_GT(cases, 50u) << "conformance cases found";
    EXPECT_GE(failing, 2u) << "parse-error cases found";
}

TEST(ParserTest, BenchProgramsParse) {
    namespace fs = std::filesystem;
    const fs::path dir = VARPULIS_BENCH_VPL_DIR;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".vpl") continue;
        ++n;
        Parsed p(read_file(entry.path()));
        EXPECT_TRUE(p.ok()) << entry.path().filename() << ": " << p.all();
        EXPECT_GT(p.size(), 0u) << entry.path().filename();
    }
    EXPECT_GT(n, 5u) << "bench programs found";
}

}  // namespace
}  // namespace varpulis::frontend
