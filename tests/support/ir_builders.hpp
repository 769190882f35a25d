#pragma once
// Builders for plan-IR expression and statement trees, shared by the evaluator and JIT tests
// (which must build the same trees to compare the two engines).

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "frontend/builtins.hpp"
#include "ir/plan.hpp"
#include "runtime/value.hpp"
#include "runtime/value_io.hpp"
#include "runtime/value_ops.hpp"

namespace varpulis::test_support {

using frontend::BinaryOp;
using frontend::Builtin;
using frontend::UnaryOp;
using ir::ExprOp;
using ir::ExprPtr;
using ir::Kind;
using ir::StmtOp;
using ir::StmtPtr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

/// "kind display" (e.g. `int 3`, `string "a"`, `float 2.5`), or "absent": one string states
/// both the kind and the value of a result.
inline std::string describe(const runtime::Value& v) {
    if (!v.present()) return "absent";
    return std::string(runtime::type_name(v.kind)) + " " + runtime::to_display(v);
}


inline ExprPtr node(ExprOp op, std::vector<ExprPtr> args = {}) {
    auto e = std::make_shared<ir::Expr>();
    e->op = op;
    e->args = std::move(args);
    return e;
}

inline ExprPtr lit_int(int64_t v) {
    auto e = node(ExprOp::Const);
    e->lit.kind = e->type = Kind::Int;
    e->lit.i = v;
    return e;
}
inline ExprPtr lit_float(double v) {
    auto e = node(ExprOp::Const);
    e->lit.kind = e->type = Kind::Float;
    e->lit.f = v;
    return e;
}
inline ExprPtr lit_bool(bool v) {
    auto e = node(ExprOp::Const);
    e->lit.kind = e->type = Kind::Bool;
    e->lit.b = v;
    return e;
}
inline ExprPtr lit_str(std::string v) {
    auto e = node(ExprOp::Const);
    e->lit.kind = e->type = Kind::Str;
    e->lit.s = std::move(v);
    return e;
}
inline ExprPtr lit_null() {
    auto e = node(ExprOp::Const);
    e->lit.kind = e->type = Kind::Null;
    return e;
}
inline ExprPtr lit_ts(int64_t ns) {
    auto e = node(ExprOp::Const);
    e->lit.kind = e->type = Kind::Timestamp;
    e->lit.i = ns;
    return e;
}
inline ExprPtr lit_dur(int64_t ns) {
    auto e = node(ExprOp::Const);
    e->lit.kind = e->type = Kind::Duration;
    e->lit.i = ns;
    return e;
}
/// A field read: slots in order, then global `global` when >= 0.
inline ExprPtr field(std::vector<uint32_t> slots, int32_t global = -1) {
    auto e = node(ExprOp::Field);
    e->slots = std::move(slots);
    e->index = global;
    e->name = "f";
    return e;
}
/// An always-absent expression (what lowering makes of an unknown name).
inline ExprPtr missing() { return field({}); }
inline ExprPtr local(int32_t i) {
    auto e = node(ExprOp::Local);
    e->index = i;
    return e;
}
inline ExprPtr global(int32_t i) {
    auto e = node(ExprOp::Global);
    e->index = i;
    e->name = "g";
    return e;
}
inline ExprPtr bin(BinaryOp op, ExprPtr a, ExprPtr b) {
    auto e = node(ExprOp::Binary, {std::move(a), std::move(b)});
    e->bop = op;
    return e;
}
inline ExprPtr un(UnaryOp op, ExprPtr a) {
    auto e = node(ExprOp::Unary, {std::move(a)});
    e->uop = op;
    return e;
}
/// `and` / `or` nodes carry their operator too (the printer shows it).
inline ExprPtr logic(ExprOp op, ExprPtr a, ExprPtr b) {
    auto e = node(op, {std::move(a), std::move(b)});
    e->bop = op == ExprOp::And ? BinaryOp::And : BinaryOp::Or;
    return e;
}
inline ExprPtr and_(ExprPtr a, ExprPtr b) { return logic(ExprOp::And, std::move(a), std::move(b)); }
inline ExprPtr or_(ExprPtr a, ExprPtr b) { return logic(ExprOp::Or, std::move(a), std::move(b)); }
inline ExprPtr call(Builtin fn, std::vector<ExprPtr> args) {
    auto e = node(ExprOp::Call, std::move(args));
    e->fn = fn;
    e->name = std::string(frontend::builtin_name(fn));
    return e;
}
inline ExprPtr call_user(int32_t fn, std::vector<ExprPtr> args) {
    auto e = node(ExprOp::CallUser, std::move(args));
    e->index = fn;
    return e;
}
inline ExprPtr array(std::vector<ExprPtr> items) { return node(ExprOp::Array, std::move(items)); }
inline ExprPtr map_lit(std::vector<std::string> keys, std::vector<ExprPtr> values) {
    auto e = node(ExprOp::Map, std::move(values));
    e->names = std::move(keys);
    return e;
}
inline ExprPtr index(ExprPtr base, ExprPtr i) { return node(ExprOp::Index, {std::move(base), std::move(i)}); }
inline ExprPtr slice(ExprPtr base, ExprPtr lo, ExprPtr hi) { return node(ExprOp::Slice, {std::move(base), std::move(lo), std::move(hi)}); }
inline ExprPtr member(ExprPtr base, std::string name) {
    auto e = node(ExprOp::Member, {std::move(base)});
    e->name = std::move(name);
    return e;
}
inline ExprPtr range(ExprPtr a, ExprPtr b, bool inclusive) {
    auto e = node(ExprOp::Range, {std::move(a), std::move(b)});
    e->inclusive = inclusive;
    return e;
}
inline ExprPtr if_(ExprPtr c, ExprPtr a, ExprPtr b) { return node(ExprOp::If, {std::move(c), std::move(a), std::move(b)}); }
inline ExprPtr method(std::string name, std::vector<ExprPtr> args) {
    auto e = node(ExprOp::Method, std::move(args));
    e->name = std::move(name);
    return e;
}
inline ExprPtr lambda(int32_t first_local, uint32_t params, ExprPtr value, std::vector<StmtPtr> body = {}) {
    auto e = node(ExprOp::Lambda, {std::move(value)});
    e->index = first_local;
    e->param_count = params;
    e->body = std::move(body);
    return e;
}

inline StmtPtr stmt(StmtOp op, int32_t index = -1, std::vector<ExprPtr> exprs = {}, std::vector<std::vector<StmtPtr>> blocks = {}) {
    auto s = std::make_shared<ir::Stmt>();
    s->op = op;
    s->index = index;
    s->exprs = std::move(exprs);
    s->blocks = std::move(blocks);
    return s;
}
inline StmtPtr let(int32_t l, ExprPtr v) { return stmt(StmtOp::Let, l, {std::move(v)}); }
inline StmtPtr assign(int32_t l, ExprPtr v) { return stmt(StmtOp::Assign, l, {std::move(v)}); }
inline StmtPtr assign_global(int32_t g, ExprPtr v) { return stmt(StmtOp::AssignGlobal, g, {std::move(v)}); }
inline StmtPtr expr_stmt(ExprPtr v) { return stmt(StmtOp::Expr, -1, {std::move(v)}); }
inline StmtPtr ret(ExprPtr v) { return stmt(StmtOp::Return, -1, v ? std::vector<ExprPtr>{std::move(v)} : std::vector<ExprPtr>{}); }
inline StmtPtr brk() { return stmt(StmtOp::Break); }
inline StmtPtr cont() { return stmt(StmtOp::Continue); }
inline StmtPtr if_stmt(std::vector<ExprPtr> conds, std::vector<std::vector<StmtPtr>> blocks) {
    return stmt(StmtOp::If, -1, std::move(conds), std::move(blocks));
}
inline StmtPtr for_stmt(int32_t var, ExprPtr iterable, std::vector<StmtPtr> body) {
    return stmt(StmtOp::For, var, {std::move(iterable)}, {std::move(body)});
}
inline StmtPtr while_stmt(ExprPtr cond, std::vector<StmtPtr> body) {
    return stmt(StmtOp::While, -1, {std::move(cond)}, {std::move(body)});
}
inline StmtPtr emit(std::string type, std::vector<std::string> names, std::vector<ExprPtr> values) {
    auto s = stmt(StmtOp::Emit, -1, std::move(values));
    s->type = std::move(type);
    s->names = std::move(names);
    return s;
}

}  // namespace varpulis::test_support
