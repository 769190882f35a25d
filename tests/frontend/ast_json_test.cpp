// AST -> JSON dump (frontend/ast_json.hpp). ASTs are built by hand so these tests do not
// depend on the parser; the JSON is read back with boost::json::parse.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "frontend/ast.hpp"
#include "frontend/ast_json.hpp"
#include "frontend/source.hpp"

namespace varpulis::frontend {
namespace {

namespace json = boost::json;

// ---------------------------------------------------------------- AST building helpers

/// Span of the first occurrence of `needle` in the file text (at or after `from`).
SourceSpan span_of(const SourceFile& f, std::string_view needle, size_t from = 0) {
    size_t pos = f.text().find(needle, from);
    EXPECT_NE(pos, std::string::npos) << "test text lacks '" << needle << "'";
    if (pos == std::string::npos) pos = 0;
    return SourceSpan{static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + needle.size())};
}

ExprPtr make(ExprKind kind, SourceSpan span = {}) {
    auto e = std::make_shared<Expr>();
    e->kind = kind;
    e->span = span;
    return e;
}

ExprPtr ident(std::string name, SourceSpan span = {}) {
    auto e = make(ExprKind::Ident, span);
    e->text = std::move(name);
    return e;
}

ExprPtr int_lit(int64_t v, SourceSpan span = {}) {
    auto e = make(ExprKind::Int, span);
    e->int_value = v;
    return e;
}

ExprPtr float_lit(double v, SourceSpan span = {}) {
    auto e = make(ExprKind::Float, span);
    e->float_value = v;
    return e;
}

ExprPtr str_lit(std::string v, SourceSpan span = {}) {
    auto e = make(ExprKind::String, span);
    e->text = std::move(v);
    return e;
}

ExprPtr duration_lit(uint64_t ns) {
    auto e = make(ExprKind::Duration);
    e->int_value = static_cast<int64_t>(ns);
    return e;
}

ExprPtr binary(BinaryOp op, ExprPtr l, ExprPtr r, SourceSpan span = {}) {
    auto e = make(ExprKind::Binary, span);
    e->binary_op = op;
    e->args = {std::move(l), std::move(r)};
    return e;
}

template <class Node>
StmtPtr stmt(Node node, SourceSpan span = {}) {
    auto s = std::make_shared<Stmt>();
    s->span = span;
    s->node = std::move(node);
    return s;
}

Arg arg(std::string name, ExprPtr value) {
    Arg a;
    a.name = std::move(name);
    a.value = std::move(value);
    return a;
}

TypeExpr named_type(std::string name) {
    TypeExpr t;
    t.name = std::move(name);
    return t;
}

TypeExpr compound_type(TypeExpr::Kind kind, std::vector<TypeExpr> args) {
    TypeExpr t;
    t.kind = kind;
    t.args = std::move(args);
    return t;
}

json::object parse_doc(const std::string& text) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    EXPECT_FALSE(ec) << "ast_to_json produced invalid JSON: " << ec.message() << "\n" << text;
    EXPECT_TRUE(v.is_object()) << "document root must be an object";
    return v.is_object() ? v.get_object() : json::object{};
}

/// The i-th top-level statement of the dump of `program`.
json::object statement(const Program& program, const SourceFile& file, size_t i = 0) {
    json::object doc = parse_doc(ast_to_json(program, file));
    const json::value* stmts = doc.if_contains("statements");
    EXPECT_TRUE(stmts && stmts->is_array()) << "root must hold a \"statements\" array";
    if (!stmts || !stmts->is_array() || i >= stmts->get_array().size()) {
        ADD_FAILURE() << "no statement #" << i;
        return {};
    }
    return stmts->get_array()[i].get_object();
}

std::string str(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : "<not a string>"; }

// ---------------------------------------------------------------- tests

TEST(AstJsonTest, EmptyProgramIsAnObjectWithAnEmptyStatementsArray) {
    SourceFile file("t.vpl", "");
    EXPECT_EQ(ast_to_json(Program{}, file), "{\n  \"statements\": []\n}")
        << "an empty program dumps as an empty statements array with no trailing newline";
}

TEST(AstJsonTest, OutputIsIndentedByTwoSpacesWithKindFirst) {
    SourceFile file("t.vpl", "break\n");
    Program p;
    p.statements.push_back(stmt(BreakStmt{}, span_of(file, "break")));
    EXPECT_EQ(ast_to_json(p, file),
              "{\n"
              "  \"statements\": [\n"
              "    {\n"
              "      \"kind\": \"break\",\n"
              "      \"line\": 1,\n"
              "      \"column\": 1\n"
              "    }\n"
              "  ]\n"
              "}")
        << "pretty layout: 2-space indentation, kind then line then column";
}

TEST(AstJsonTest, StreamWithWhereAndEmitDumpsSourceAndOperatorsInOrder) {
    SourceFile file("t.vpl",
                    "stream Hot = Tick as t\n"
                    "    .where(temp > 30.5)\n"
                    "    .emit(sensor: id, level: \"hot\")\n");
    StreamDecl d;
    d.name = "Hot";
    d.source.kind = StreamSource::Kind::Name;
    d.source.name = "Tick";
    d.source.alias = "t";
    d.source.span = span_of(file, "Tick");

    StreamOp where;
    where.kind = OpKind::Where;
    where.name = "where";
    where.span = span_of(file, ".where");
    where.args.push_back(arg("", binary(BinaryOp::Gt, ident("temp", span_of(file, "temp")),
                                        float_lit(30.5, span_of(file, "30.5")), span_of(file, "temp > 30.5"))));
    d.ops.push_back(where);

    StreamOp emit;
    emit.kind = OpKind::Emit;
    emit.name = "emit";
    emit.span = span_of(file, ".emit");
    emit.args.push_back(arg("sensor", ident("id", span_of(file, "id"))));
    emit.args.push_back(arg("level", str_lit("hot", span_of(file, "\"hot\""))));
    d.ops.push_back(emit);

    Program p;
    p.statements.push_back(stmt(d, span_of(file, "stream")));
    json::object s = statement(p, file);

    EXPECT_EQ(str(s["kind"]), "stream") << "stream declarations have kind \"stream\"";
    EXPECT_EQ(s["line"], 1) << "statement line comes from the span";
    EXPECT_EQ(s["column"], 1) << "statement column comes from the span";
    EXPECT_EQ(str(s["name"]), "Hot") << "stream name";
    EXPECT_FALSE(s.contains("type")) << "an absent declared type is omitted";

    json::object src = s["source"].as_object();
    EXPECT_EQ(str(src["kind"]), "name") << "source kind";
    EXPECT_EQ(str(src["name"]), "Tick") << "source name";
    EXPECT_EQ(str(src["alias"]), "t") << "source alias";
    EXPECT_EQ(src["all"], false) << "source all flag";
    EXPECT_EQ(src["column"], 14) << "source column";
    EXPECT_TRUE(src["params"].as_array().empty()) << "no params on a name source";

    json::array ops = s["ops"].as_array();
    ASSERT_EQ(ops.size(), 2u) << "both operators are dumped";
    json::object w = ops[0].as_object();
    EXPECT_EQ(w.begin()->key(), "op") << "operators start with \"op\"";
    EXPECT_EQ(str(w["op"]), "where") << "first operator is .where";
    EXPECT_EQ(w["line"], 2) << ".where line";
    EXPECT_EQ(w["column"], 5) << ".where column is its dot";
    json::object cond = w["args"].as_array()[0].as_object()["value"].as_object();
    EXPECT_FALSE(w["args"].as_array()[0].as_object().contains("name")) << "positional args have no name";
    EXPECT_EQ(str(cond["kind"]), "binary") << "comparison is a binary node";
    EXPECT_EQ(str(cond["op"]), ">") << "binary operator written as in VPL";
    EXPECT_EQ(cond["line"], 2) << "expression line";
    EXPECT_EQ(cond["column"], 12) << "expression column";
    EXPECT_EQ(str(cond["left"].as_object()["name"]), "temp") << "left operand is the identifier";
    EXPECT_TRUE(cond["right"].as_object()["value"].is_double()) << "float literal stays a double";
    EXPECT_EQ(cond["right"].as_object()["value"], 30.5) << "float literal value";

    json::object e = ops[1].as_object();
    EXPECT_EQ(str(e["op"]), "emit") << "second operator is .emit";
    EXPECT_FALSE(e.contains("emit_as")) << "emit without `as Type` has no emit_as";
    json::array items = e["args"].as_array();
    ASSERT_EQ(items.size(), 2u) << "both emit items";
    EXPECT_EQ(str(items[0].as_object()["name"]), "sensor") << "named item keeps its name";
    EXPECT_EQ(str(items[1].as_object()["value"].as_object()["kind"]), "string") << "string literal kind";
    EXPECT_EQ(str(items[1].as_object()["value"].as_object()["value"]), "hot") << "string literal value";
    EXPECT_EQ(items[1].as_object()["value"].as_object()["line"], 3) << "emit item line";
}

TEST(AstJsonTest, PatternWithSeqDumpsNestedSaseNodes) {
    SourceFile file("t.vpl", "pattern P = SEQ(Login a, NOT Logout, Buy+ b where b.amount > 100) within 5m\n");
    SaseExpr login;
    login.type = "Login";
    login.alias = "a";
    login.span = span_of(file, "Login");
    SaseExpr logout;
    logout.type = "Logout";
    logout.negated = true;
    logout.span = span_of(file, "NOT");
    SaseExpr buy;
    buy.type = "Buy";
    buy.kleene = '+';
    buy.alias = "b";
    auto amount = make(ExprKind::Member);
    amount->args = {ident("b")};
    amount->text = "amount";
    buy.where = binary(BinaryOp::Gt, amount, int_lit(100));
    buy.span = span_of(file, "Buy");

    PatternDecl d;
    d.name = "P";
    d.expr.kind = SaseExpr::Kind::Seq;
    d.expr.span = span_of(file, "SEQ");
    d.expr.children = {login, logout, buy};
    d.within = duration_lit(300'000'000'000ULL);
    d.partition_by = "user";

    Program p;
    p.statements.push_back(stmt(d, span_of(file, "pattern")));
    json::object s = statement(p, file);

    EXPECT_EQ(str(s["kind"]), "pattern") << "pattern declarations have kind \"pattern\"";
    EXPECT_EQ(str(s["name"]), "P") << "pattern name";
    json::object seq = s["expr"].as_object();
    EXPECT_EQ(str(seq["kind"]), "seq") << "SEQ node";
    EXPECT_EQ(seq["column"], 13) << "SEQ node column";
    json::array items = seq["children"].as_array();
    ASSERT_EQ(items.size(), 3u) << "all SEQ items";
    json::object a = items[0].as_object();
    EXPECT_EQ(str(a["kind"]), "ref") << "SEQ item is a ref";
    EXPECT_EQ(str(a["type"]), "Login") << "ref type";
    EXPECT_EQ(str(a["alias"]), "a") << "ref alias";
    EXPECT_EQ(a["negated"], false) << "plain item is not negated";
    EXPECT_FALSE(a.contains("kleene")) << "no kleene marker when absent";
    EXPECT_FALSE(a.contains("where")) << "null where is omitted";
    EXPECT_EQ(items[1].as_object()["negated"], true) << "NOT item is negated";
    EXPECT_FALSE(items[1].as_object().contains("alias")) << "empty alias is omitted";
    json::object b = items[2].as_object();
    EXPECT_EQ(str(b["kleene"]), "+") << "kleene marker as text";
    json::object where = b["where"].as_object();
    EXPECT_EQ(str(where["left"].as_object()["kind"]), "member") << "member access node";
    EXPECT_EQ(str(where["left"].as_object()["name"]), "amount") << "member name";
    EXPECT_EQ(str(where["left"].as_object()["object"].as_object()["name"]), "b") << "member object";
    EXPECT_TRUE(where["right"].as_object()["value"].is_int64()) << "int literal is an integer";

    json::object within = s["within"].as_object();
    EXPECT_EQ(str(within["kind"]), "duration") << "within is a duration";
    EXPECT_EQ(within["ns"], 300'000'000'000LL) << "duration in nanoseconds";
    EXPECT_EQ(str(s["partition_by"]), "user") << "partition key";
    EXPECT_FALSE(s.contains("strategy")) << "default strategy is omitted";
}

TEST(AstJsonTest, FnWithIfAndReturnDumpsParamsBranchesAndBody) {
    SourceFile file("t.vpl",
                    "fn clamp(x: int) -> int:\n"
                    "    if x > 10:\n"
                    "        return 10\n"
                    "    else:\n"
                    "        return x\n");
    IfStmt ifs;
    ifs.conds.push_back(binary(BinaryOp::Gt, ident("x"), int_lit(10)));
    ifs.blocks.push_back({stmt(ReturnStmt{int_lit(10)}, span_of(file, "return 10"))});
    ifs.blocks.push_back({stmt(ReturnStmt{ident("x")}, span_of(file, "return x"))});

    FnDecl fn;
    fn.name = "clamp";
    fn.params.push_back(Param{"x", {}, named_type("int")});
    fn.ret = named_type("int");
    fn.body.push_back(stmt(ifs, span_of(file, "if")));

    Program p;
    p.statements.push_back(stmt(fn, span_of(file, "fn")));
    json::object s = statement(p, file);

    EXPECT_EQ(str(s["kind"]), "fn") << "functions have kind \"fn\"";
    EXPECT_EQ(str(s["name"]), "clamp") << "function name";
    json::array params = s["params"].as_array();
    ASSERT_EQ(params.size(), 1u) << "one parameter";
    EXPECT_EQ(str(params[0].as_object()["name"]), "x") << "parameter name";
    EXPECT_EQ(str(params[0].as_object()["type"]), "int") << "parameter type as text";
    EXPECT_EQ(str(s["returns"]), "int") << "return type as text";

    json::array body = s["body"].as_array();
    ASSERT_EQ(body.size(), 1u) << "one body statement";
    json::object i = body[0].as_object();
    EXPECT_EQ(str(i["kind"]), "if") << "if statement";
    EXPECT_EQ(i["line"], 2) << "if line";
    EXPECT_EQ(i["column"], 5) << "if column";
    json::array branches = i["branches"].as_array();
    ASSERT_EQ(branches.size(), 2u) << "then and else branches";
    EXPECT_EQ(str(branches[0].as_object()["cond"].as_object()["op"]), ">") << "first branch condition";
    EXPECT_FALSE(branches[1].as_object().contains("cond")) << "else branch has no condition";
    json::object ret = branches[0].as_object()["body"].as_array()[0].as_object();
    EXPECT_EQ(str(ret["kind"]), "return") << "return statement";
    EXPECT_EQ(ret["line"], 3) << "return line";
    EXPECT_EQ(ret["column"], 9) << "return column";
    EXPECT_EQ(ret["value"].as_object()["value"], 10) << "returned value";
    EXPECT_EQ(str(branches[1].as_object()["body"].as_array()[0].as_object()["value"].as_object()["name"]), "x")
        << "else branch returns x";
}

TEST(AstJsonTest, LiteralKindsKeepTheirJsonTypes) {
    auto b = make(ExprKind::Bool);
    b->bool_value = true;
    auto ts = make(ExprKind::Timestamp);
    ts->int_value = 1'700'000'000'000'000'000LL;
    auto arr = make(ExprKind::Array);
    arr->args = {make(ExprKind::Null), b, int_lit(-7), float_lit(2.0), float_lit(1e300), str_lit("x"),
                 duration_lit(~0ULL), ts};
    Program p;
    p.statements.push_back(stmt(ExprStmt{arr}));
    SourceFile file("t.vpl", "x\n");
    json::object s = statement(p, file);
    EXPECT_EQ(str(s["kind"]), "expr") << "expression statement";
    json::array items = s["expr"].as_object()["items"].as_array();
    ASSERT_EQ(items.size(), 8u) << "all literals";
    auto item = [&](size_t i) { return items[i].as_object(); };
    EXPECT_EQ(str(item(0)["kind"]), "null") << "null literal kind";
    EXPECT_FALSE(item(0).contains("value")) << "null literal has no value";
    EXPECT_EQ(item(1)["value"], true) << "bool literal is a JSON bool";
    EXPECT_TRUE(item(2)["value"].is_int64()) << "int literal is a JSON integer";
    EXPECT_EQ(item(2)["value"], -7) << "negative int";
    EXPECT_TRUE(item(3)["value"].is_double()) << "2.0 stays a double (written with a dot)";
    EXPECT_EQ(item(3)["value"], 2.0) << "float value";
    EXPECT_TRUE(item(4)["value"].is_double()) << "large float is a double";
    EXPECT_EQ(item(4)["value"], 1e300) << "large float round-trips";
    EXPECT_EQ(str(item(5)["value"]), "x") << "string literal";
    EXPECT_EQ(str(item(6)["kind"]), "duration") << "duration kind";
    EXPECT_TRUE(item(6)["ns"].is_uint64()) << "duration ns is unsigned (u64 stored in i64 bits)";
    EXPECT_EQ(item(6)["ns"].as_uint64(), ~0ULL) << "duration ns keeps all 64 bits";
    EXPECT_EQ(str(item(7)["kind"]), "timestamp") << "timestamp kind";
    EXPECT_EQ(item(7)["ns"], 1'700'000'000'000'000'000LL) << "timestamp ns";
}

TEST(AstJsonTest, StringsAreEscapedAndRepairedToValidUtf8) {
    std::string raw = "q\"b\\n\nt\tc\x01 caf\xC3\xA9 \xE2\x82\xAC bad\xFF\xC3 end";
    Program p;
    p.statements.push_back(stmt(ExprStmt{str_lit(raw)}));
    SourceFile file("t.vpl", "x\n");
    std::string text = ast_to_json(p, file);
    EXPECT_NE(text.find(R"("q\"b\\n\nt\tc\u0001 caf)"), std::string::npos)
        << "quotes, backslashes and control characters are escaped:\n" << text;
    json::object s = statement(p, file);  // parse validates UTF-8
    EXPECT_EQ(str(s["expr"].as_object()["value"]),
              "q\"b\\n\nt\tc\x01 caf\xC3\xA9 \xE2\x82\xAC bad\xEF\xBF\xBD\xEF\xBF\xBD end")
        << "valid UTF-8 is kept verbatim; each invalid byte becomes U+FFFD";
}

TEST(AstJsonTest, TypesAreRenderedAsText) {
    using K = TypeExpr::Kind;
    EventDecl ev;
    ev.name = "Reading";
    ev.extends = "Base";
    ev.fields.push_back({"values", {}, compound_type(K::Array, {named_type("int")}), false});
    ev.fields.push_back({"scores", {}, compound_type(K::Map, {named_type("str"), named_type("float")}), false});
    ev.fields.push_back({"note", {}, compound_type(K::Optional, {named_type("str")}), true});
    ev.fields.push_back({"pair", {}, compound_type(K::Tuple, {named_type("int"), named_type("str")}), false});
    ev.fields.push_back({"feed", {}, compound_type(K::Stream, {named_type("Tick")}), false});
    Program p;
    p.statements.push_back(stmt(ev));
    SourceFile file("t.vpl", "x\n");
    json::object s = statement(p, file);
    EXPECT_EQ(str(s["kind"]), "event") << "event declaration";
    EXPECT_EQ(str(s["extends"]), "Base") << "extends";
    json::array f = s["fields"].as_array();
    ASSERT_EQ(f.size(), 5u) << "all fields";
    EXPECT_EQ(str(f[0].as_object()["type"]), "[int]") << "array type";
    EXPECT_EQ(str(f[1].as_object()["type"]), "{str: float}") << "map type";
    EXPECT_EQ(str(f[2].as_object()["type"]), "str?") << "optional type";
    EXPECT_EQ(f[2].as_object()["optional"], true) << "optional field flag";
    EXPECT_EQ(str(f[3].as_object()["type"]), "(int, str)") << "tuple type";
    EXPECT_EQ(str(f[4].as_object()["type"]), "Stream<Tick>") << "stream type";
}

TEST(AstJsonTest, VariableKindsAndNullValuesAreOmitted) {
    Program p;
    p.statements.push_back(stmt(VarDecl{VarDecl::Kind::Let, "a", {}, named_type("int"), int_lit(1)}));
    p.statements.push_back(stmt(VarDecl{VarDecl::Kind::Var, "b", {}, std::nullopt, nullptr}));
    p.statements.push_back(stmt(VarDecl{VarDecl::Kind::Const, "c", {}, std::nullopt, float_lit(0.5)}));
    p.statements.push_back(stmt(AssignStmt{"b", {}, int_lit(2)}));
    p.statements.push_back(stmt(ReturnStmt{}));
    SourceFile file("t.vpl", "x\n");
    EXPECT_EQ(str(statement(p, file, 0)["kind"]), "let") << "let kind";
    EXPECT_EQ(str(statement(p, file, 0)["type"]), "int") << "declared type";
    EXPECT_EQ(str(statement(p, file, 1)["kind"]), "var") << "var kind";
    EXPECT_FALSE(statement(p, file, 1).contains("value")) << "null initialiser omitted";
    EXPECT_FALSE(statement(p, file, 1).contains("type")) << "absent type omitted";
    EXPECT_EQ(str(statement(p, file, 2)["kind"]), "const") << "const kind";
    EXPECT_EQ(str(statement(p, file, 3)["kind"]), "assign") << "assignment kind";
    EXPECT_EQ(str(statement(p, file, 3)["name"]), "b") << "assigned name";
    EXPECT_EQ(str(statement(p, file, 4)["kind"]), "return") << "return kind";
    EXPECT_FALSE(statement(p, file, 4).contains("value")) << "bare return has no value";
}

TEST(AstJsonTest, CallsLambdasAndUnaryOperatorsDumpTheirParts) {
    // f(x, key: -y) ; (a) => a * 2
    auto neg = make(ExprKind::Unary);
    neg->unary_op = UnaryOp::Neg;
    neg->args = {ident("y")};
    auto call = make(ExprKind::Call);
    call->args = {ident("f"), ident("x"), neg};
    call->names = {"", "key"};
    auto lambda = make(ExprKind::Lambda);
    lambda->names = {"a"};
    lambda->args = {binary(BinaryOp::Mul, ident("a"), int_lit(2))};
    auto pow = binary(BinaryOp::Pow, int_lit(2), int_lit(3));
    auto not_in = binary(BinaryOp::NotIn, ident("k"), ident("m"));
    Program p;
    p.statements.push_back(stmt(ExprStmt{call}));
    p.statements.push_back(stmt(ExprStmt{lambda}));
    p.statements.push_back(stmt(ExprStmt{pow}));
    p.statements.push_back(stmt(ExprStmt{not_in}));
    SourceFile file("t.vpl", "x\n");

    json::object c = statement(p, file, 0)["expr"].as_object();
    EXPECT_EQ(str(c["kind"]), "call") << "call kind";
    EXPECT_EQ(str(c["callee"].as_object()["name"]), "f") << "callee";
    json::array args = c["args"].as_array();
    ASSERT_EQ(args.size(), 2u) << "two call arguments";
    EXPECT_FALSE(args[0].as_object().contains("name")) << "positional argument has no name";
    EXPECT_EQ(str(args[1].as_object()["name"]), "key") << "named argument";
    json::object u = args[1].as_object()["value"].as_object();
    EXPECT_EQ(str(u["kind"]), "unary") << "unary kind";
    EXPECT_EQ(str(u["op"]), "-") << "unary minus";
    EXPECT_EQ(str(u["operand"].as_object()["name"]), "y") << "unary operand";

    json::object l = statement(p, file, 1)["expr"].as_object();
    EXPECT_EQ(str(l["kind"]), "lambda") << "lambda kind";
    EXPECT_EQ(str(l["params"].as_array()[0]), "a") << "lambda parameter";
    EXPECT_TRUE(l["body"].as_array().empty()) << "expression lambda has no block statements";
    EXPECT_EQ(str(l["result"].as_object()["op"]), "*") << "lambda result expression";

    EXPECT_EQ(str(statement(p, file, 2)["expr"].as_object()["op"]), "**") << "power operator";
    EXPECT_EQ(str(statement(p, file, 3)["expr"].as_object()["op"]), "not in") << "not in operator";
}

TEST(AstJsonTest, SpecialOperatorsDumpTheirExtraMembers) {
    StreamDecl d;
    d.name = "S";
    d.type = compound_type(TypeExpr::Kind::Stream, {named_type("Alert")});
    d.source.kind = StreamSource::Kind::Merge;
    d.source.inlines.push_back(InlineStream{"A", "Tick", {}, ident("ok"), {}});
    d.source.inlines.push_back(InlineStream{"", "Quote", {}, nullptr, {}});

    StreamOp fb;
    fb.kind = OpKind::FollowedBy;
    fb.step.all = true;
    fb.step.type = "Sell";
    fb.step.alias = "s";
    StreamOp nt;
    nt.kind = OpKind::Not;
    nt.not_type = "Cancel";
    StreamOp pat;
    pat.kind = OpKind::Pattern;
    pat.pattern_name = "p";
    PatternOpExpr chain;
    chain.chain = {"A", "B"};
    PatternOpExpr neg;
    neg.kind = PatternOpExpr::Kind::Not;
    PatternOpExpr c2;
    c2.chain = {"C"};
    neg.children = {c2};
    PatternOpExpr both;
    both.kind = PatternOpExpr::Kind::And;
    both.children = {chain, neg};
    pat.pattern_expr = both;
    StreamOp emit_as;
    emit_as.kind = OpKind::Emit;
    emit_as.emit_as = "Alert";
    StreamOp fork;
    fork.kind = OpKind::Fork;
    StreamOp print;
    print.kind = OpKind::Print;
    fork.fork_paths.push_back({"left", {print}});
    d.ops = {fb, nt, pat, emit_as, fork};

    Program p;
    p.statements.push_back(stmt(d));
    SourceFile file("t.vpl", "x\n");
    json::object s = statement(p, file);
    EXPECT_EQ(str(s["type"]), "Stream<Alert>") << "declared stream type";
    json::object src = s["source"].as_object();
    EXPECT_EQ(str(src["kind"]), "merge") << "merge source";
    json::array inl = src["inlines"].as_array();
    ASSERT_EQ(inl.size(), 2u) << "both inline streams";
    EXPECT_EQ(str(inl[0].as_object()["label"]), "A") << "inline label";
    EXPECT_EQ(str(inl[0].as_object()["filter"].as_object()["name"]), "ok") << "inline filter";
    EXPECT_FALSE(inl[1].as_object().contains("label")) << "bare inline has no label";
    EXPECT_FALSE(inl[1].as_object().contains("filter")) << "bare inline has no filter";

    json::array ops = s["ops"].as_array();
    ASSERT_EQ(ops.size(), 5u) << "all operators";
    json::object step = ops[0].as_object()["step"].as_object();
    EXPECT_EQ(str(ops[0].as_object()["op"]), "followed_by") << "followed-by op name";
    EXPECT_EQ(step["all"], true) << "step all flag";
    EXPECT_EQ(str(step["type"]), "Sell") << "step type";
    EXPECT_EQ(str(step["alias"]), "s") << "step alias";
    EXPECT_FALSE(ops[1].as_object().contains("step")) << "step only on followed_by";
    EXPECT_EQ(str(ops[1].as_object()["not"].as_object()["type"]), "Cancel") << ".not type";
    json::object po = ops[2].as_object();
    EXPECT_EQ(str(po["pattern_name"]), "p") << "pattern name";
    json::object pe = po["pattern"].as_object();
    EXPECT_EQ(str(pe["kind"]), "and") << "pattern op root";
    EXPECT_EQ(str(pe["children"].as_array()[0].as_object()["chain"].as_array()[1]), "B") << "chain members";
    EXPECT_EQ(str(pe["children"].as_array()[1].as_object()["kind"]), "not") << "negated chain";
    EXPECT_EQ(str(ops[3].as_object()["emit_as"]), "Alert") << "emit as Type";
    json::array paths = ops[4].as_object()["paths"].as_array();
    ASSERT_EQ(paths.size(), 1u) << "fork path";
    EXPECT_EQ(str(paths[0].as_object()["name"]), "left") << "fork path name";
    EXPECT_EQ(str(paths[0].as_object()["ops"].as_array()[0].as_object()["op"]), "print") << "fork path ops";
}

TEST(AstJsonTest, EveryNodeStartsWithKindAndSameAstGivesIdenticalOutput) {
    Program p;
    ConnectorDecl conn{"mq", {}, "mqtt", {arg("host", str_lit("localhost")), arg("port", int_lit(1883))}};
    p.statements.push_back(stmt(conn));
    p.statements.push_back(stmt(ContextDecl{"fast", {}, {0, 1}}));
    p.statements.push_back(stmt(ConfigBlock{"default", {}, {arg("workers", int_lit(4))}}));
    p.statements.push_back(stmt(ImportStmt{"lib.vpl", "lib"}));
    p.statements.push_back(stmt(WhileStmt{ident("go"), {stmt(ContinueStmt{})}}));
    p.statements.push_back(stmt(ForStmt{"i", {}, ident("xs"), {stmt(BreakStmt{})}}));
    p.statements.push_back(stmt(EmitStmt{"Out", {}, {arg("v", float_lit(1.5))}}));
    p.statements.push_back(stmt(TypeDecl{"Id", {}, named_type("str")}));
    SourceFile file("t.vpl", "x\n");

    const std::string first = ast_to_json(p, file);
    EXPECT_EQ(first, ast_to_json(p, file)) << "dumping the same AST twice gives identical text";
    Program copy = p;
    EXPECT_EQ(first, ast_to_json(copy, file)) << "a copy of the AST gives identical text";

    json::array stmts = parse_doc(first)["statements"].as_array();
    const char* kinds[] = {"connector", "context", "config", "import", "while", "for", "emit", "type"};
    ASSERT_EQ(stmts.size(), std::size(kinds)) << "all statements dumped";
    for (size_t i = 0; i < stmts.size(); ++i) {
        const json::object& o = stmts[i].as_object();
        ASSERT_FALSE(o.empty()) << "statement #" << i;
        EXPECT_EQ(o.begin()->key(), "kind") << "\"kind\" is the first key of statement #" << i;
        EXPECT_EQ(str(o.begin()->value()), kinds[i]) << "kind of statement #" << i;
    }
    EXPECT_EQ(stmts[0].as_object().at("params").as_array()[1].as_object().at("value").as_object().at("value"), 1883)
        << "connector params";
    EXPECT_EQ(stmts[1].as_object().at("cores").as_array().size(), 2u) << "context cores";
    EXPECT_EQ(str(stmts[3].as_object().at("alias")), "lib") << "import alias";
    EXPECT_EQ(str(stmts[4].as_object().at("body").as_array()[0].as_object().at("kind")), "continue")
        << "while body";
    EXPECT_EQ(str(stmts[5].as_object().at("var")), "i") << "for variable";
}

}  // namespace
}  // namespace varpulis::frontend
