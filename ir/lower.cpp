#include "ir/lower.hpp"

#include <functional>
#include <map>
#include <set>
#include <unordered_map>

namespace varpulis::ir {

namespace fe = frontend;
using fe::AggregateFn;
using fe::AssignStmt;
using fe::BinaryOp;
using fe::BreakStmt;
using fe::Builtin;
using fe::ContinueStmt;
using fe::DiagnosticBag;
using fe::EmitStmt;
using fe::ExprKind;
using fe::ExprStmt;
using fe::FnDecl;
using fe::ForStmt;
using fe::IfStmt;
using fe::PatternDecl;
using fe::Program;
using fe::ProgramSymbols;
using fe::ReturnStmt;
using fe::SaseExpr;
using fe::StaticKind;
using fe::StreamDecl;
using fe::StreamOp;
using fe::StreamSource;
using fe::UnaryOp;
using fe::VarDecl;
using fe::WhileStmt;
using fe::aggregate_name;
using fe::find_aggregate;
using fe::find_builtin;
using fe::find_trend_fn;

namespace {

constexpr int64_t kNsPerMs = 1000000;

ExprPtr make(ExprOp op, SourceSpan span, Kind type = Kind::Any) {
    auto e = std::make_shared<Expr>();
    e->op = op;
    e->span = span;
    e->type = type;
    return e;
}

/// An expression that is always absent (a name that resolves to nothing).
ExprPtr absent(SourceSpan span, std::string name) {
    auto e = make(ExprOp::Field, span);
    e->name = std::move(name);
    return e;
}

bool numeric(Kind k) { return k == Kind::Int || k == Kind::Float; }

/// Locals of a function body or lambda: name -> local index, innermost last.
struct Locals {
    std::vector<std::map<std::string, int32_t>> frames;
    uint32_t count = 0;
    int32_t find(const std::string& n) const {
        for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
            auto f = it->find(n);
            if (f != it->end()) return f->second;
        }
        return -1;
    }
    int32_t declare(const std::string& n) {
        int32_t idx = static_cast<int32_t>(count++);
        frames.back()[n] = idx;
        return idx;
    }
};

/// What names mean where an expression is lowered.
struct Ctx {
    int32_t schema = -1;            // the current row; -1 = none (initialisers, function bodies)
    const Nfa* nfa = nullptr;       // inside pattern predicates: its aliases are visible
    int32_t own_alias = -1;         // the step's own alias (Kleene adjacent-event predicates)
    bool* reads_own_alias = nullptr;
    Locals* locals = nullptr;
};

class Lowerer {
public:
    Lowerer(const Program& p, const ProgramSymbols& s, DiagnosticBag& d) : program_(p), sym_(s), diags_(d) {}

    std::optional<Plan> run() {
        for (const auto& [name, decl] : sym_.connectors) {
            plan_.connectors.push_back(name);
            plan_.connector_kinds.push_back(decl->type);
        }
        for (const auto& [name, fn] : sym_.functions) {
            fn_index_[name] = static_cast<int32_t>(plan_.functions.size());
            Function f;
            f.name = name;
            f.param_count = static_cast<uint32_t>(fn->params.size());
            plan_.functions.push_back(std::move(f));
        }
        // Stream names are routing names from the start, so forward references route.
        for (const auto& st : program_.statements)
            if (auto* s = std::get_if<StreamDecl>(&st->node)) routing(s->name);
        for (const auto& st : program_.statements) lower_top(*st);
        if (diags_.has_errors()) return std::nullopt;
        finalize();
        return std::move(plan_);
    }

private:
    const Program& program_;
    const ProgramSymbols& sym_;
    DiagnosticBag& diags_;
    Plan plan_;
    std::map<std::string, int32_t> global_index_;
    std::map<std::string, int32_t> fn_index_;
    std::map<int32_t, std::shared_ptr<Nfa>> match_nfa_;     // Match schema -> its NFA
    std::map<int32_t, std::shared_ptr<Join>> joined_;       // Joined schema -> its join
    std::map<int32_t, std::vector<int32_t>> merged_;        // Merged schema -> input schemas
    std::map<std::string, const StreamDecl*> declared_streams_;  // streams declared so far
    std::unordered_map<std::string, int32_t> routing_index_;     // routing name -> Event schema

    // ------------------------------------------------------------ schemas

    int32_t new_schema(std::string name, SchemaKind kind) {
        Schema s;
        s.name = std::move(name);
        s.kind = kind;
        plan_.schemas.push_back(std::move(s));
        return static_cast<int32_t>(plan_.schemas.size() - 1);
    }

    int32_t routing(const std::string& name) {
        auto it = routing_index_.find(name);
        if (it != routing_index_.end()) return it->second;
        int32_t id = new_schema(name, SchemaKind::Event);
        routing_index_.emplace(name, id);
        return id;
    }

    int32_t closed(std::string name, std::vector<std::string> fields) {
        int32_t id = new_schema(std::move(name), SchemaKind::Closed);
        plan_.schemas[id].fields = std::move(fields);
        return id;
    }

    /// Slot of field `f` in schema `id`, adding it where the schema can grow; -1 if the rows
    /// of that schema can never carry `f`.
    int32_t require(int32_t id, const std::string& f) {
        Schema& s = plan_.schemas[id];
        int existing = s.slot_of(f);
        if (existing >= 0) return existing;
        switch (s.kind) {
            case SchemaKind::Closed:
                return -1;
            case SchemaKind::Event:
            case SchemaKind::Dynamic:
                break;
            case SchemaKind::Match: {
                const Nfa& nfa = *match_nfa_.at(id);
                FieldOrigin o;
                bool found = false;
                if (f.rfind("#len:", 0) == 0) {
                    for (size_t a = 0; a < nfa.aliases.size(); ++a)
                        if (nfa.aliases[a].name == f.substr(5)) {
                            o.from = FieldOrigin::From::AliasCount;
                            o.candidates.push_back({static_cast<int32_t>(a), -1});
                            found = true;
                        }
                } else {
                    // alias_field: the longest alias that prefixes the name wins.
                    size_t best = 0;
                    for (size_t a = 0; a < nfa.aliases.size(); ++a) {
                        const std::string& an = nfa.aliases[a].name;
                        if (f.size() > an.size() + 1 && f.compare(0, an.size(), an) == 0 && f[an.size()] == '_' &&
                            an.size() >= best) {
                            best = an.size();
                            std::string field = f.substr(an.size() + 1);
                            int32_t slot = require(nfa.aliases[a].type_id, field);
                            o.from = FieldOrigin::From::Alias;
                            o.candidates = {{static_cast<int32_t>(a), slot}};
                            found = slot >= 0;
                        }
                    }
                }
                if (!found) return -1;
                Schema& again = plan_.schemas[id];  // require() above may have grown the vector
                again.fields.push_back(f);
                again.origins.push_back(std::move(o));
                return static_cast<int32_t>(again.fields.size() - 1);
            }
            case SchemaKind::Joined: {
                const Join& j = *joined_.at(id);
                FieldOrigin o;
                o.from = FieldOrigin::From::JoinSource;
                size_t dot = f.find('.');
                if (dot != std::string::npos) {
                    std::string src = f.substr(0, dot), field = f.substr(dot + 1);
                    for (size_t i = 0; i < j.sources.size(); ++i)
                        if (j.sources[i].name == src || j.sources[i].routed_as == src) {
                            int32_t slot = require(j.sources[i].type_id, field);
                            if (slot >= 0) o.candidates.push_back({static_cast<int32_t>(i), slot});
                        }
                } else {
                    for (size_t i = 0; i < j.sources.size(); ++i) {
                        int32_t slot = require(j.sources[i].type_id, f);
                        if (slot >= 0) o.candidates.push_back({static_cast<int32_t>(i), slot});
                    }
                }
                if (o.candidates.empty()) return -1;
                Schema& again = plan_.schemas[id];
                again.fields.push_back(f);
                again.origins.push_back(std::move(o));
                return static_cast<int32_t>(again.fields.size() - 1);
            }
            case SchemaKind::Merged: {
                FieldOrigin o;
                o.from = FieldOrigin::From::MergeInput;
                std::vector<int32_t> inputs = merged_.at(id);
                for (size_t i = 0; i < inputs.size(); ++i)
                    o.candidates.push_back({static_cast<int32_t>(i), require(inputs[i], f)});
                Schema& again = plan_.schemas[id];
                again.fields.push_back(f);
                again.origins.push_back(std::move(o));
                return static_cast<int32_t>(again.fields.size() - 1);
            }
        }
        Schema& again = plan_.schemas[id];
        again.fields.push_back(f);
        return static_cast<int32_t>(again.fields.size() - 1);
    }

    Kind declared_kind(int32_t schema, const std::string& f) const {
        const Schema& s = plan_.schemas[schema];
        auto it = sym_.declared_fields.find(s.name);
        if (s.kind != SchemaKind::Event || it == sym_.declared_fields.end()) return Kind::Any;
        auto k = it->second.find(f);
        if (k == it->second.end()) return Kind::Any;
        switch (k->second) {
            case StaticKind::Int: return Kind::Int;
            case StaticKind::Float: return Kind::Float;
            case StaticKind::Bool: return Kind::Bool;
            case StaticKind::Str: return Kind::Str;
            default: return Kind::Any;
        }
    }

    // ------------------------------------------------------------ expressions

    ExprPtr field_ref(const Ctx& c, const std::string& f, SourceSpan span) {
        auto e = make(ExprOp::Field, span);
        e->name = f;
        if (c.schema >= 0) {
            int32_t slot = require(c.schema, f);
            if (slot >= 0) e->slots.push_back(static_cast<uint32_t>(slot));
            e->type = declared_kind(c.schema, f);
        }
        auto g = global_index_.find(f);
        if (g != global_index_.end()) e->index = g->second;
        return e;
    }

    int32_t alias_index(const Ctx& c, const std::string& name) const {
        if (!c.nfa) return -1;
        for (size_t i = 0; i < c.nfa->aliases.size(); ++i)
            if (c.nfa->aliases[i].name == name) return static_cast<int32_t>(i);
        return -1;
    }

    ExprPtr lower_member(const fe::Expr& e, const Ctx& c) {
        const fe::Expr& base = *e.args[0];
        if (base.kind == ExprKind::Ident && !(c.locals && c.locals->find(base.text) >= 0)) {
            const std::string& a = base.text;
            int32_t alias = alias_index(c, a);
            if (alias >= 0) {
                if (alias == c.own_alias && c.reads_own_alias) *c.reads_own_alias = true;
                auto r = make(ExprOp::AliasField, e.span);
                r->index = alias;
                r->name = a + "." + e.text;
                int32_t slot = require(c.nfa->aliases[alias].type_id, e.text);
                r->slots.push_back(static_cast<uint32_t>(slot));
                r->slot_schema = c.nfa->aliases[alias].type_id;
                r->names = {e.text};
                return r;
            }
            if (c.schema >= 0) {
                const Schema& s = plan_.schemas[c.schema];
                std::vector<std::string> names;
                if (s.kind == SchemaKind::Match) {
                    names = {a + "_" + e.text};
                } else if (s.kind == SchemaKind::Joined) {
                    names = {a + "." + e.text};
                } else {
                    names = {a + "." + e.text, a + "_" + e.text};
                    if (s.name == a) names.push_back(e.text);
                }
                auto r = make(ExprOp::Field, e.span);
                r->name = a + "." + e.text;
                for (const auto& n : names) {
                    int32_t slot = require(c.schema, n);
                    if (slot >= 0) r->slots.push_back(static_cast<uint32_t>(slot));
                }
                return r;
            }
            if (!global_index_.count(a)) return absent(e.span, a + "." + e.text);
        }
        auto r = make(ExprOp::Member, e.span);
        r->name = e.text;
        r->args.push_back(lower_expr(e.args[0], c));
        return r;
    }

    ExprPtr lower_call(const fe::Expr& e, const Ctx& c) {
        const fe::Expr& callee = *e.args[0];
        std::vector<ExprPtr> args;
        if (callee.kind == ExprKind::Member) {
            auto r = make(ExprOp::Method, e.span);
            r->name = callee.text;
            r->args.push_back(lower_expr(callee.args[0], c));
            for (size_t i = 1; i < e.args.size(); ++i) r->args.push_back(lower_expr(e.args[i], c));
            return r;
        }
        const std::string& name = callee.kind == ExprKind::Ident ? callee.text : std::string();
        if (c.locals && c.locals->find(name) >= 0) {
            auto r = make(ExprOp::Method, e.span);
            r->name = "call";
            r->args.push_back(lower_expr(e.args[0], c));
            for (size_t i = 1; i < e.args.size(); ++i) r->args.push_back(lower_expr(e.args[i], c));
            return r;
        }
        // len(alias): how many events the alias bound (our extension, SEMANTICS §9.7).
        if (name == "len" && e.args.size() == 2 && e.args[1]->kind == ExprKind::Ident) {
            const std::string& a = e.args[1]->text;
            int32_t alias = alias_index(c, a);
            if (alias >= 0) {
                auto r = make(ExprOp::AliasLen, e.span, Kind::Int);
                r->index = alias;
                r->name = a;
                return r;
            }
            if (c.schema >= 0 && plan_.schemas[c.schema].kind == SchemaKind::Match) {
                int32_t slot = require(c.schema, "#len:" + a);
                if (slot >= 0) {
                    auto r = make(ExprOp::Field, e.span, Kind::Int);
                    r->name = "#len:" + a;
                    r->slots.push_back(static_cast<uint32_t>(slot));
                    return r;
                }
            }
        }
        auto fn = fn_index_.find(name);
        if (fn != fn_index_.end()) {
            auto r = make(ExprOp::CallUser, e.span);
            r->index = fn->second;
            r->name = name;
            for (size_t i = 1; i < e.args.size(); ++i) r->args.push_back(lower_expr(e.args[i], c));
            return r;
        }
        auto b = find_builtin(name);
        if (!b) {  // the checker reports unknown names; keep lowering total
            diags_.error(callee.span, "E050", "unknown function `" + name + "`");
            return absent(e.span, name);
        }
        auto r = make(ExprOp::Call, e.span);
        r->fn = b->id;
        r->name = std::string(b->name);
        for (size_t i = 1; i < e.args.size(); ++i) r->args.push_back(lower_expr(e.args[i], c));
        r->type = call_kind(*r);
        return r;
    }

    static Kind call_kind(const Expr& r) {
        auto arg = [&](size_t i) { return i < r.args.size() ? r.args[i]->type : Kind::Any; };
        switch (r.fn) {
            case Builtin::Len: case Builtin::Floor: case Builtin::Ceil: case Builtin::Round: case Builtin::ToInt:
            case Builtin::Now:
                return Kind::Int;
            case Builtin::Sqrt: case Builtin::Log: case Builtin::Log10: case Builtin::Exp: case Builtin::Sin:
            case Builtin::Cos: case Builtin::Tan: case Builtin::ToFloat:
                return Kind::Float;
            case Builtin::Abs:
                return numeric(arg(0)) ? arg(0) : Kind::Any;
            case Builtin::ToString: case Builtin::Trim: case Builtin::Lower: case Builtin::Upper:
            case Builtin::Concat: case Builtin::Replace: case Builtin::Substring: case Builtin::TypeOf:
            case Builtin::Uuid: case Builtin::Join:
                return Kind::Str;
            case Builtin::StartsWith: case Builtin::EndsWith: case Builtin::Contains: case Builtin::IsNull:
            case Builtin::IsInt: case Builtin::IsFloat: case Builtin::IsString: case Builtin::IsBool:
            case Builtin::IsArray: case Builtin::IsMap:
                return Kind::Bool;
            default:
                return Kind::Any;
        }
    }

    static Kind binary_kind(BinaryOp op, Kind a, Kind b) {
        switch (op) {
            case BinaryOp::Add:
                if (a == Kind::Str && b == Kind::Str) return Kind::Str;
                [[fallthrough]];
            case BinaryOp::Sub: case BinaryOp::Mul: case BinaryOp::Div: case BinaryOp::Mod: case BinaryOp::Pow:
                if (a == Kind::Int && b == Kind::Int) return Kind::Int;
                if (numeric(a) && numeric(b)) return Kind::Float;
                return Kind::Any;
            case BinaryOp::Eq: case BinaryOp::Ne: case BinaryOp::Lt: case BinaryOp::Le: case BinaryOp::Gt:
            case BinaryOp::Ge: case BinaryOp::In: case BinaryOp::NotIn: case BinaryOp::Is:
                return Kind::Bool;
            default:
                return Kind::Any;
        }
    }

    ExprPtr lower_expr(const fe::ExprPtr& p, const Ctx& c) {
        if (!p) return nullptr;
        const fe::Expr& e = *p;
        switch (e.kind) {
            case ExprKind::Null: { auto r = make(ExprOp::Const, e.span, Kind::Null); r->lit.kind = Kind::Null; return r; }
            case ExprKind::Bool: { auto r = make(ExprOp::Const, e.span, Kind::Bool); r->lit.kind = Kind::Bool; r->lit.b = e.bool_value; return r; }
            case ExprKind::Int: { auto r = make(ExprOp::Const, e.span, Kind::Int); r->lit.kind = Kind::Int; r->lit.i = e.int_value; return r; }
            case ExprKind::Float: { auto r = make(ExprOp::Const, e.span, Kind::Float); r->lit.kind = Kind::Float; r->lit.f = e.float_value; return r; }
            case ExprKind::String: { auto r = make(ExprOp::Const, e.span, Kind::Str); r->lit.kind = Kind::Str; r->lit.s = e.text; return r; }
            case ExprKind::Duration: { auto r = make(ExprOp::Const, e.span, Kind::Duration); r->lit.kind = Kind::Duration; r->lit.i = e.int_value; return r; }
            case ExprKind::Timestamp: { auto r = make(ExprOp::Const, e.span, Kind::Timestamp); r->lit.kind = Kind::Timestamp; r->lit.i = e.int_value; return r; }
            case ExprKind::Ident: {
                if (c.locals) {
                    int32_t l = c.locals->find(e.text);
                    if (l >= 0) {
                        auto r = make(ExprOp::Local, e.span);
                        r->index = l;
                        r->name = e.text;
                        return r;
                    }
                }
                if (c.schema >= 0) return field_ref(c, e.text, e.span);
                auto g = global_index_.find(e.text);
                if (g != global_index_.end()) {
                    auto r = make(ExprOp::Global, e.span);
                    r->index = g->second;
                    r->name = e.text;
                    return r;
                }
                return absent(e.span, e.text);
            }
            case ExprKind::Member:
            case ExprKind::OptMember:
                return lower_member(e, c);
            case ExprKind::Call:
                return lower_call(e, c);
            case ExprKind::Unary: {
                auto r = make(ExprOp::Unary, e.span);
                r->uop = e.unary_op;
                r->args.push_back(lower_expr(e.args[0], c));
                if (e.unary_op == UnaryOp::Not) r->type = Kind::Bool;
                else if (e.unary_op == UnaryOp::Neg && numeric(r->args[0]->type)) r->type = r->args[0]->type;
                // Fold `-literal` so `-5` is the integer literal -5 (VPL.md §1 step 5).
                if (e.unary_op == UnaryOp::Neg && r->args[0]->op == ExprOp::Const && numeric(r->args[0]->type)) {
                    auto k = r->args[0];
                    if (k->type == Kind::Int) k->lit.i = static_cast<int64_t>(0ULL - static_cast<uint64_t>(k->lit.i));
                    else k->lit.f = -k->lit.f;
                    k->span = e.span;
                    return k;
                }
                return r;
            }
            case ExprKind::Binary: {
                ExprOp op = e.binary_op == BinaryOp::And ? ExprOp::And
                            : e.binary_op == BinaryOp::Or ? ExprOp::Or
                                                          : ExprOp::Binary;
                auto r = make(op, e.span);
                r->bop = e.binary_op;
                r->args.push_back(lower_expr(e.args[0], c));
                r->args.push_back(lower_expr(e.args[1], c));
                r->type = op == ExprOp::Binary ? binary_kind(e.binary_op, r->args[0]->type, r->args[1]->type) : Kind::Bool;
                return r;
            }
            case ExprKind::If: {
                auto r = make(ExprOp::If, e.span);
                for (const auto& a : e.args) r->args.push_back(lower_expr(a, c));
                if (r->args[1]->type == r->args[2]->type) r->type = r->args[1]->type;
                return r;
            }
            case ExprKind::Index:
            case ExprKind::Slice:
            case ExprKind::Array:
            case ExprKind::Map:
            case ExprKind::Range: {
                ExprOp op = e.kind == ExprKind::Index ? ExprOp::Index
                            : e.kind == ExprKind::Slice ? ExprOp::Slice
                            : e.kind == ExprKind::Array ? ExprOp::Array
                            : e.kind == ExprKind::Map   ? ExprOp::Map
                                                        : ExprOp::Range;
                auto r = make(op, e.span);
                r->inclusive = e.inclusive;
                r->names = e.names;
                for (const auto& a : e.args) r->args.push_back(lower_expr(a, c));
                if (op == ExprOp::Array || op == ExprOp::Range) r->type = Kind::Array;
                if (op == ExprOp::Map) r->type = Kind::Map;
                return r;
            }
            case ExprKind::Lambda: {
                Locals own;
                Locals* locals = c.locals ? c.locals : &own;
                locals->frames.emplace_back();
                auto r = make(ExprOp::Lambda, e.span);
                r->param_count = static_cast<uint32_t>(e.names.size());
                for (const auto& n : e.names) {
                    int32_t idx = locals->declare(n);
                    if (r->index < 0) r->index = idx;
                }
                Ctx inner = c;
                inner.locals = locals;
                for (const auto& s : e.body) r->body.push_back(lower_stmt(*s, inner));
                for (const auto& a : e.args) r->args.push_back(lower_expr(a, inner));
                locals->frames.pop_back();
                return r;
            }
        }
        return absent(e.span, "?");
    }

    // ------------------------------------------------------------ statements and functions

    std::vector<StmtPtr> lower_block(const std::vector<fe::StmtPtr>& body, const Ctx& c) {
        c.locals->frames.emplace_back();
        std::vector<StmtPtr> out;
        for (const auto& s : body) out.push_back(lower_stmt(*s, c));
        c.locals->frames.pop_back();
        return out;
    }

    StmtPtr lower_stmt(const fe::Stmt& st, const Ctx& c) {
        auto out = std::make_shared<Stmt>();
        std::visit(
            [&](const auto& n) {
                using N = std::decay_t<decltype(n)>;
                if constexpr (std::is_same_v<N, VarDecl>) {
                    out->op = StmtOp::Let;
                    out->exprs.push_back(lower_expr(n.value, c));
                    out->index = c.locals->declare(n.name);
                } else if constexpr (std::is_same_v<N, AssignStmt>) {
                    out->exprs.push_back(lower_expr(n.value, c));
                    int32_t l = c.locals->find(n.name);
                    auto g = global_index_.find(n.name);
                    if (l >= 0) {
                        out->op = StmtOp::Assign;
                        out->index = l;
                    } else if (g != global_index_.end()) {
                        out->op = StmtOp::AssignGlobal;
                        out->index = g->second;
                    } else {
                        out->op = StmtOp::Let;
                        out->index = c.locals->declare(n.name);
                    }
                } else if constexpr (std::is_same_v<N, IfStmt>) {
                    out->op = StmtOp::If;
                    for (const auto& e : n.conds) out->exprs.push_back(lower_expr(e, c));
                    for (const auto& b : n.blocks) out->blocks.push_back(lower_block(b, c));
                } else if constexpr (std::is_same_v<N, ForStmt>) {
                    out->op = StmtOp::For;
                    out->exprs.push_back(lower_expr(n.iterable, c));
                    c.locals->frames.emplace_back();
                    out->index = c.locals->declare(n.var);
                    out->blocks.push_back(lower_block(n.body, c));
                    c.locals->frames.pop_back();
                } else if constexpr (std::is_same_v<N, WhileStmt>) {
                    out->op = StmtOp::While;
                    out->exprs.push_back(lower_expr(n.cond, c));
                    out->blocks.push_back(lower_block(n.body, c));
                } else if constexpr (std::is_same_v<N, ReturnStmt>) {
                    out->op = StmtOp::Return;
                    if (n.value) out->exprs.push_back(lower_expr(n.value, c));
                } else if constexpr (std::is_same_v<N, BreakStmt>) {
                    out->op = StmtOp::Break;
                } else if constexpr (std::is_same_v<N, ContinueStmt>) {
                    out->op = StmtOp::Continue;
                } else if constexpr (std::is_same_v<N, EmitStmt>) {
                    out->op = StmtOp::Emit;
                    out->type = n.type;
                    for (const auto& a : n.fields) {
                        out->names.push_back(a.name);
                        out->exprs.push_back(lower_expr(a.value, c));
                    }
                } else if constexpr (std::is_same_v<N, ExprStmt>) {
                    out->op = StmtOp::Expr;
                    out->exprs.push_back(lower_expr(n.expr, c));
                } else {
                    out->op = StmtOp::Expr;  // nested declarations were rejected by the checker
                }
            },
            st.node);
        return out;
    }

    void lower_function(const FnDecl& fn) {
        Function& f = plan_.functions[fn_index_.at(fn.name)];
        Locals locals;
        locals.frames.emplace_back();
        for (const auto& p : fn.params) locals.declare(p.name);
        Ctx c;
        c.locals = &locals;
        f.body = lower_block(fn.body, c);
        f.local_count = locals.count;
    }

    int32_t global(const std::string& name, bool is_mutable) {
        auto it = global_index_.find(name);
        if (it != global_index_.end()) {
            plan_.globals[it->second].is_mutable = is_mutable;
            return it->second;
        }
        int32_t idx = static_cast<int32_t>(plan_.globals.size());
        plan_.globals.push_back({name, is_mutable});
        global_index_[name] = idx;
        return idx;
    }

    void lower_top(const fe::Stmt& st) {
        std::visit(
            [&](const auto& n) {
                using N = std::decay_t<decltype(n)>;
                if constexpr (std::is_same_v<N, VarDecl>) {
                    Ctx c;
                    ExprPtr v = lower_expr(n.value, c);
                    plan_.inits.push_back({global(n.name, n.kind == VarDecl::Kind::Var), v});
                } else if constexpr (std::is_same_v<N, AssignStmt>) {
                    Ctx c;
                    ExprPtr v = lower_expr(n.value, c);
                    int32_t g = global_index_.count(n.name) ? global_index_[n.name] : global(n.name, true);
                    plan_.inits.push_back({g, v});
                } else if constexpr (std::is_same_v<N, FnDecl>) {
                    lower_function(n);
                } else if constexpr (std::is_same_v<N, StreamDecl>) {
                    lower_stream(n);
                    declared_streams_[n.name] = &n;
                }
            },
            st.node);
    }

    // ------------------------------------------------------------ streams

    static bool is_sequence_stream(const StreamDecl& s, const ProgramSymbols& sym) {
        if (s.source.kind == StreamSource::Kind::Sequence || s.source.all) return true;
        if (s.source.kind == StreamSource::Kind::Name && sym.patterns.count(s.source.name)) return true;
        for (const auto& op : s.ops)
            if (op.kind == fe::OpKind::FollowedBy) return true;
        return false;
    }

    void subscribe(StreamPlan& sp, const std::string& name) {
        for (const auto& n : sp.inputs)
            if (n == name) return;
        sp.inputs.push_back(name);
    }

    void lower_stream(const StreamDecl& s) {
        StreamPlan sp;
        sp.name = s.name;
        sp.id = static_cast<int32_t>(plan_.streams.size());
        sp.type_id = routing(s.name);
        plan_.schemas[sp.type_id].kind = SchemaKind::Event;
        sp.span = s.name_span;

        int32_t current = -1;
        std::string partition;   // active .partition_by for windows/aggregates after it
        bool trend = false;
        for (const auto& op : s.ops) trend |= op.kind == fe::OpKind::TrendAggregate;

        const StreamSource& src = s.source;
        if (is_sequence_stream(s, sym_)) {
            current = lower_sequence(s, sp, trend);
        } else if (src.kind == StreamSource::Kind::Join) {
            current = lower_join(s, sp);
        } else if (src.kind == StreamSource::Kind::Merge) {
            int32_t id = new_schema(s.name + "#merge", SchemaKind::Merged);
            std::vector<int32_t> inputs;
            for (const auto& in : src.inlines) {
                subscribe(sp, in.name);
                int32_t rs = routing(in.name);
                inputs.push_back(rs);
                Ctx c;
                c.schema = rs;
                sp.merge_filters.push_back({in.name, lower_expr(in.filter, c)});
            }
            merged_[id] = inputs;
            current = id;
        } else if (src.kind == StreamSource::Kind::Timer) {
            std::string name = "Timer_" + s.name;
            subscribe(sp, name);
            current = routing(name);
        } else {
            subscribe(sp, src.name);
            current = routing(src.name);
        }

        for (const auto& op : s.ops) lower_op(op, sp, current, partition);
        final_schema_[sp.id] = current;
        plan_.streams.push_back(std::move(sp));
    }

    std::map<int32_t, int32_t> final_schema_;  // stream id -> schema of its forwarded rows

    Operator make_op(fe::OpKind, SourceSpan span, OpKind kind, int32_t in) {
        Operator o;
        o.kind = kind;
        o.span = span;
        o.in = in;
        o.out = in;
        return o;
    }

    /// Lowers one AST operator; returns false for operators that are folded elsewhere.
    bool lower_op(const StreamOp& op, StreamPlan& sp, int32_t& current, std::string& partition) {
        auto arg0 = [&]() -> fe::ExprPtr { return op.args.empty() ? nullptr : op.args[0].value; };
        Ctx c;
        c.schema = current;
        switch (op.kind) {
            case fe::OpKind::Where:
            case fe::OpKind::Filter:
            case fe::OpKind::Having: {
                Operator o = make_op(op.kind, op.span, OpKind::Filter, current);
                o.exprs.push_back(lower_expr(arg0(), c));
                sp.ops.push_back(std::move(o));
                return true;
            }
            case fe::OpKind::Select:
            case fe::OpKind::Emit: {
                bool emit = op.kind == fe::OpKind::Emit;
                Operator o = make_op(op.kind, op.span, emit ? OpKind::Emit : OpKind::Select, current);
                std::vector<std::string> names;
                for (const auto& a : op.args) {
                    if (emit && a.name == "context") continue;  // thread placement, not a field
                    std::string name = a.name;
                    ExprPtr v;
                    if (a.value) {
                        v = lower_expr(a.value, c);
                        if (name.empty()) name = a.value->kind == ExprKind::Ident ? a.value->text : "_";
                    } else {
                        v = field_ref(c, name, a.name_span);
                    }
                    if (emit && name == "event_type") o.event_type_item = static_cast<int32_t>(names.size());
                    names.push_back(name);
                    o.exprs.push_back(v);
                }
                o.names = names;
                o.out = closed(sp.name + (emit ? "#emit" : "#select"), names);
                if (emit) sp.emits = true;
                current = o.out;
                sp.ops.push_back(std::move(o));
                return true;
            }
            case fe::OpKind::PartitionBy:
                if (arg0() && arg0()->kind == ExprKind::Ident) partition = arg0()->text;
                return false;
            case fe::OpKind::Window: {
                Operator o = make_op(op.kind, op.span, OpKind::Window, current);
                if (sp.ops.size() > 0 && sp.ops.front().kind == OpKind::Join) return false;  // retention only
                Window& w = o.window;
                const fe::Expr* size = nullptr;
                const fe::Expr* slide = nullptr;
                for (const auto& a : op.args) {
                    if (a.name.empty() && !size) size = a.value.get();
                    else if (a.name == "sliding") slide = a.value.get();
                    else if (a.name == "session") {
                        w.kind = WindowKind::Session;
                        w.size = a.value ? a.value->int_value / kNsPerMs : 0;
                    }
                }
                if (w.kind != WindowKind::Session && size) {
                    bool time = size->kind == ExprKind::Duration;
                    w.size = time ? size->int_value / kNsPerMs : size->int_value;
                    if (slide) {
                        w.kind = time ? WindowKind::Sliding : WindowKind::SlidingCount;
                        w.slide = slide->kind == ExprKind::Duration ? slide->int_value / kNsPerMs : slide->int_value;
                    } else {
                        w.kind = time ? WindowKind::Tumbling : WindowKind::Count;
                    }
                }
                if (!partition.empty()) {
                    w.partition_field = partition;
                    w.partition_slot = require(current, partition);
                }
                sp.ops.push_back(std::move(o));
                return true;
            }
            case fe::OpKind::Aggregate: {
                Operator o = make_op(op.kind, op.span, OpKind::Aggregate, current);
                std::vector<std::string> names;
                if (!partition.empty()) {
                    o.partition_field = partition;
                    o.partition_slot = require(current, partition);
                    names.push_back("_partition");
                }
                for (const auto& item : op.args) {
                    if (!item.value) continue;
                    ExprPtr combine = lower_aggregate(*item.value, o, c);
                    if (!combine) continue;  // not an aggregate: dropped (warned by the checker)
                    o.aggregates.push_back({item.name, combine});
                    names.push_back(item.name);
                }
                o.out = closed(sp.name + "#aggregate", names);
                current = o.out;
                sp.ops.push_back(std::move(o));
                return true;
            }
            case fe::OpKind::Print:
            case fe::OpKind::Log: {
                Operator o = make_op(op.kind, op.span, op.kind == fe::OpKind::Print ? OpKind::Print : OpKind::Log, current);
                for (const auto& a : op.args) {
                    o.names.push_back(a.name);
                    o.exprs.push_back(lower_expr(a.value, c));
                }
                sp.ops.push_back(std::move(o));
                return true;
            }
            case fe::OpKind::To: {
                Operator o = make_op(op.kind, op.span, OpKind::To, current);
                o.connector = arg0() ? arg0()->text : "";
                sp.ops.push_back(std::move(o));
                return true;
            }
            case fe::OpKind::Distinct: {
                Operator o = make_op(op.kind, op.span, OpKind::Distinct, current);
                if (arg0()) o.exprs.push_back(lower_expr(arg0(), c));
                sp.ops.push_back(std::move(o));
                return true;
            }
            case fe::OpKind::Limit:
            case fe::OpKind::First: {
                Operator o = make_op(op.kind, op.span, OpKind::Limit, current);
                o.limit = op.kind == fe::OpKind::First ? 1 : (arg0() ? arg0()->int_value : 0);
                sp.ops.push_back(std::move(o));
                return true;
            }
            case fe::OpKind::Process: {
                Operator o = make_op(op.kind, op.span, OpKind::Process, current);
                o.exprs.push_back(lower_expr(arg0(), c));
                o.out = new_schema(sp.name + "#process", SchemaKind::Dynamic);
                current = o.out;
                sp.has_process = true;
                sp.ops.push_back(std::move(o));
                return true;
            }
            case fe::OpKind::Pattern: {
                Operator o = make_op(op.kind, op.span, OpKind::PatternLambda, current);
                if (op.pattern_expr) {
                    diags_.error(op.span, "E093", "`.pattern(...)` with an event-type expression is not supported yet",
                                 "use a lambda, e.g. `.pattern(p: events => events.len() > 2)`");
                    return false;
                }
                o.names.push_back(op.pattern_name);
                o.exprs.push_back(lower_expr(arg0(), c));
                sp.ops.push_back(std::move(o));
                return true;
            }
            case fe::OpKind::Forecast:
            case fe::OpKind::Enrich: {
                Operator o = make_op(op.kind, op.span, op.kind == fe::OpKind::Forecast ? OpKind::Forecast : OpKind::Enrich, current);
                for (const auto& a : op.args) {
                    o.names.push_back(a.name);
                    o.exprs.push_back(a.value && a.value->kind != ExprKind::Ident ? lower_expr(a.value, c) : nullptr);
                }
                if (op.kind == fe::OpKind::Enrich) o.connector = arg0() ? arg0()->text : "";
                sp.ops.push_back(std::move(o));
                return true;
            }
            default:
                // Folded into the sequence/join/trend operator, or no runtime effect in a single
                // engine: followed-by, within, not, strategy, on, context, watermark,
                // allowed_lateness, score, trend_aggregate (handled with the sequence).
                return false;
        }
    }

    /// Lowers an aggregate expression to a combine tree; appends its calls to `o.calls`.
    ExprPtr lower_aggregate(const fe::Expr& e, Operator& o, const Ctx& c) {
        if (e.kind == ExprKind::Binary &&
            (e.binary_op == BinaryOp::Add || e.binary_op == BinaryOp::Sub || e.binary_op == BinaryOp::Mul ||
             e.binary_op == BinaryOp::Div)) {
            ExprPtr l = lower_aggregate(*e.args[0], o, c);
            ExprPtr r = lower_aggregate(*e.args[1], o, c);
            if (!l || !r) return nullptr;
            auto b = make(ExprOp::Binary, e.span);
            b->bop = e.binary_op;
            b->args = {l, r};
            b->type = binary_kind(e.binary_op, l->type, r->type);
            return b;
        }
        if (e.kind != ExprKind::Call || e.args[0]->kind != ExprKind::Ident) return nullptr;
        auto fn = find_aggregate(e.args[0]->text);
        if (!fn) return nullptr;
        AggregateCall call;
        call.fn = *fn;
        if (e.args.size() > 1) {
            const fe::Expr& a = *e.args[1];
            if (*fn == AggregateFn::Count && a.kind == ExprKind::Call && a.args[0]->kind == ExprKind::Ident &&
                a.args[0]->text == "distinct") {
                call.fn = AggregateFn::CountDistinct;
                if (a.args.size() > 1) call.arg = lower_expr(a.args[1], c);
            } else if (*fn != AggregateFn::Count) {
                call.arg = lower_expr(e.args[1], c);
            }
        }
        if (*fn == AggregateFn::Ema && e.args.size() > 2) call.period = lower_expr(e.args[2], c);
        auto leaf = make(ExprOp::Local, e.span);
        leaf->index = static_cast<int32_t>(o.calls.size());
        leaf->name = std::string(aggregate_name(call.fn));
        leaf->type = call.fn == AggregateFn::Count || call.fn == AggregateFn::CountDistinct ? Kind::Int
                     : call.fn == AggregateFn::First || call.fn == AggregateFn::Last      ? Kind::Any
                                                                                          : Kind::Float;
        o.calls.push_back(std::move(call));
        return leaf;
    }

    // ------------------------------------------------------------ sequences

    struct RawStep {
        std::string type;
        SourceSpan span;
        fe::ExprPtr where;             // AST predicate
        fe::ExprPtr extra_where;       // first .where of a referenced stream
        int32_t extra_schema = -1;
        std::string alias;
        Quantifier q = Quantifier::One;
        bool negated = false;
    };

    /// A step naming an earlier stream S over event type T matches T plus S's first `.where`.
    void resolve_step_stream(RawStep& st) {
        auto it = declared_streams_.find(st.type);
        if (it == declared_streams_.end()) return;
        const StreamDecl& s = *it->second;
        if (s.source.kind != StreamSource::Kind::Name || is_sequence_stream(s, sym_)) return;
        st.type = s.source.name;
        for (const auto& op : s.ops)
            if (op.kind == fe::OpKind::Where && !op.args.empty()) {
                st.extra_where = op.args[0].value;
                break;
            }
    }

    int32_t lower_sequence(const StreamDecl& s, StreamPlan& sp, bool trend) {
        auto nfa = std::make_shared<Nfa>();
        std::vector<RawStep> raw;
        const StreamSource& src = s.source;
        fe::ExprPtr within;
        std::string strategy;
        SourceSpan strategy_span{};
        auto add_ref = [&](const SaseExpr& r) {
            RawStep st;
            st.type = r.type;
            st.span = r.type_span;
            st.where = r.where;
            st.alias = r.alias;
            st.negated = r.negated;
            st.q = r.kleene == '+' ? Quantifier::Plus : r.kleene == '*' ? Quantifier::Star
                   : r.kleene == '?' ? Quantifier::Optional : Quantifier::One;
            raw.push_back(std::move(st));
        };
        if (src.kind == StreamSource::Kind::Name && sym_.patterns.count(src.name)) {
            const PatternDecl& p = *sym_.patterns.at(src.name);
            const SaseExpr& e = p.expr;
            bool simple_operands = true;
            for (const auto& ch : e.children) simple_operands &= ch.kind == SaseExpr::Kind::Ref;
            if (e.kind == SaseExpr::Kind::Seq) {
                for (const auto& item : e.children) add_ref(item);
            } else if (e.kind == SaseExpr::Kind::Ref) {
                add_ref(e);
            } else if ((e.kind == SaseExpr::Kind::And || e.kind == SaseExpr::Kind::Or) && simple_operands) {
                nfa->form = e.kind == SaseExpr::Kind::And ? Nfa::Form::And : Nfa::Form::Or;
                for (const auto& item : e.children) add_ref(item);
            } else {
                diags_.error(p.name_span, "E093",
                             "pattern `" + p.name + "`: this combination of SEQ/AND/OR/NOT is not supported yet",
                             "AND and OR take single event references; NOT is supported inside SEQ");
            }
            within = p.within;
            nfa->partition_field = p.partition_by;
            strategy = p.strategy;
            strategy_span = p.strategy_span;
        } else if (src.kind == StreamSource::Kind::Sequence) {
            for (const auto& st : src.steps) {
                RawStep r;
                r.type = st.type;
                r.span = st.type_span;
                r.where = st.where;
                r.alias = st.alias;
                raw.push_back(std::move(r));
            }
        } else {
            RawStep head;
            head.type = src.name;
            head.span = src.name_span;
            head.alias = src.alias;
            head.q = src.all ? Quantifier::Plus : Quantifier::One;
            raw.push_back(std::move(head));
        }
        std::vector<const StreamOp*> nots;
        for (const auto& op : s.ops) {
            switch (op.kind) {
                case fe::OpKind::FollowedBy: {
                    RawStep st;
                    st.type = op.step.type;
                    st.span = op.step.type_span;
                    st.where = op.step.where;
                    st.alias = op.step.alias;
                    st.q = op.step.all ? Quantifier::Plus : Quantifier::One;
                    raw.push_back(std::move(st));
                    break;
                }
                case fe::OpKind::Within:
                    if (!op.args.empty()) within = op.args[0].value;
                    break;
                case fe::OpKind::Not:
                    nots.push_back(&op);
                    break;
                case fe::OpKind::PartitionBy:
                    if (!op.args.empty() && op.args[0].value && op.args[0].value->kind == ExprKind::Ident)
                        nfa->partition_field = op.args[0].value->text;
                    break;
                case fe::OpKind::Strategy:
                    if (!op.args.empty() && op.args[0].value) {
                        strategy = op.args[0].value->text;
                        strategy_span = op.args[0].value->span;
                    }
                    break;
                default:
                    break;
            }
        }
        if (within && within->kind == ExprKind::Duration) nfa->within_ms = within->int_value / kNsPerMs;
        nfa->strategy = strategy == "skip_till_any_match" ? Strategy::SkipTillAnyMatch
                        : strategy == "strict_contiguity" ? Strategy::StrictContiguity
                                                          : Strategy::SkipTillNextMatch;
        (void)strategy_span;

        // Aliases first, so every predicate can name them.
        for (auto& st : raw) {
            resolve_step_stream(st);
            subscribe(sp, st.type);
            if (st.alias.empty() || st.negated) continue;
            NfaAlias a;
            a.name = st.alias;
            a.type_id = routing(st.type);
            nfa->aliases.push_back(std::move(a));
        }
        int32_t last_step = -1;
        for (auto& st : raw) {
            int32_t schema = routing(st.type);
            Ctx c;
            c.schema = schema;
            c.nfa = nfa.get();
            if (st.negated) {
                NfaNegation n;
                n.type = st.type;
                n.type_id = schema;
                n.predicate = and_predicates(lower_expr(st.where, c), st.extra_where, schema);
                n.after_step = last_step;
                nfa->negations.push_back(std::move(n));
                continue;
            }
            NfaStep step;
            step.type = st.type;
            step.type_id = schema;
            step.quantifier = st.q;
            for (size_t a = 0; a < nfa->aliases.size(); ++a)
                if (!st.alias.empty() && nfa->aliases[a].name == st.alias) step.alias = static_cast<int32_t>(a);
            bool own = false;
            c.own_alias = step.alias;
            c.reads_own_alias = &own;
            step.predicate = and_predicates(lower_expr(st.where, c), st.extra_where, schema);
            step.own_alias_in_predicate = own;
            nfa->steps.push_back(std::move(step));
            last_step = static_cast<int32_t>(nfa->steps.size() - 1);
        }
        if (!nfa->negations.empty() && nfa->negations.back().after_step == last_step && last_step >= 0 &&
            nfa->form == Nfa::Form::Sequence)
            nfa->trailing_negation = true;
        for (const StreamOp* op : nots) {
            subscribe(sp, op->not_type);
            int32_t schema = routing(op->not_type);
            Ctx c;
            c.schema = schema;
            c.nfa = nfa.get();
            NfaNegation n;
            n.type = op->not_type;
            n.type_id = schema;
            n.predicate = lower_expr(op->not_where, c);
            n.after_step = -1;
            nfa->negations.push_back(std::move(n));
        }
        if (nfa->steps.empty()) {
            diags_.error(s.name_span, "E093", "stream `" + s.name + "`: a pattern needs at least one positive step");
            return routing(s.name);
        }
        if (!nfa->partition_field.empty())
            for (auto& st : nfa->steps) require(st.type_id, nfa->partition_field);

        Operator o;
        o.span = s.source.span;
        o.in = -1;  // reads the routed events of every step type
        o.nfa = nfa;
        if (trend) {
            // In a trend, `alias.f` reads the event preceding the current one, whatever its
            // step (SEMANTICS §11.3): every step type must carry the fields such predicates read.
            std::function<void(const ExprPtr&)> require_everywhere = [&](const ExprPtr& e) {
                if (!e) return;
                if (e->op == ExprOp::AliasField && !e->names.empty())
                    for (const auto& st : nfa->steps) require(st.type_id, e->names[0]);
                for (const auto& a : e->args) require_everywhere(a);
            };
            for (const auto& st : nfa->steps) require_everywhere(st.predicate);
            o.kind = OpKind::TrendAggregate;
            auto t = std::make_shared<Trend>();
            t->nfa = *nfa;
            std::vector<std::string> names;
            if (!nfa->partition_field.empty()) names.push_back(nfa->partition_field);
            for (const auto& op : s.ops) {
                if (op.kind != fe::OpKind::TrendAggregate) continue;
                for (const auto& a : op.args) {
                    TrendItem item;
                    item.name = a.name;
                    if (a.value && a.value->kind == ExprKind::Call && a.value->args[0]->kind == ExprKind::Ident) {
                        item.fn = find_trend_fn(a.value->args[0]->text);
                        if (a.value->args.size() > 1) {
                            const fe::Expr& arg = *a.value->args[1];
                            std::string alias = arg.kind == ExprKind::Member && arg.args[0]->kind == ExprKind::Ident
                                                    ? arg.args[0]->text
                                                    : arg.kind == ExprKind::Ident ? arg.text : "";
                            for (size_t i = 0; i < nfa->aliases.size(); ++i)
                                if (nfa->aliases[i].name == alias) item.alias = static_cast<int32_t>(i);
                            if (arg.kind == ExprKind::Member && item.alias >= 0) {
                                item.field = arg.text;
                                require(nfa->aliases[item.alias].type_id, arg.text);
                            }
                        }
                    }
                    t->items.push_back(item);
                    names.push_back(a.name);
                }
            }
            o.trend = t;
            o.nfa.reset();
            o.out = closed(s.name + "#trend", names);
        } else {
            o.kind = OpKind::Sequence;
            int32_t id = new_schema(s.name + "#match", SchemaKind::Match);
            match_nfa_[id] = nfa;
            Schema& ms = plan_.schemas[id];
            ms.fields = {"stream", "match_duration_ms"};
            FieldOrigin a, b;
            a.from = FieldOrigin::From::StreamName;
            b.from = FieldOrigin::From::MatchDuration;
            ms.origins = {a, b};
            o.out = id;
        }
        int32_t out = o.out;
        sp.ops.push_back(std::move(o));
        return out;
    }

    ExprPtr and_predicates(ExprPtr a, const fe::ExprPtr& extra_ast, int32_t schema) {
        if (!extra_ast) return a;
        Ctx c;
        c.schema = schema;
        ExprPtr b = lower_expr(extra_ast, c);
        if (!a) return b;
        auto r = make(ExprOp::And, a->span, Kind::Bool);
        r->bop = BinaryOp::And;
        r->args = {b, a};
        return r;
    }

    // ------------------------------------------------------------ joins

    /// Collects `A.k == B.k2` equalities (under `and`) into per-source key fields.
    void collect_keys(const fe::Expr& e, Join& j) {
        if (e.kind == ExprKind::Binary && e.binary_op == BinaryOp::And) {
            collect_keys(*e.args[0], j);
            collect_keys(*e.args[1], j);
            return;
        }
        if (e.kind != ExprKind::Binary || e.binary_op != BinaryOp::Eq) return;
        for (int side = 0; side < 2; ++side) {
            const fe::Expr& m = *e.args[side];
            if (m.kind != ExprKind::Member || m.args[0]->kind != ExprKind::Ident) continue;
            for (auto& s : j.sources)
                if (s.name == m.args[0]->text && s.key_field.empty()) s.key_field = m.text;
        }
    }

    int32_t lower_join(const StreamDecl& s, StreamPlan& sp) {
        auto j = std::make_shared<Join>();
        for (const auto& in : s.source.inlines) {
            JoinSource js;
            js.name = in.label.empty() ? in.name : in.label;
            js.routed_as = in.name;
            auto it = declared_streams_.find(in.name);
            if (it != declared_streams_.end() && it->second->ops.empty() &&
                it->second->source.kind == StreamSource::Kind::Name)
                js.routed_as = it->second->source.name;  // a stream without operators: its event type
            j->sources.push_back(js);
        }
        for (const auto& in : s.source.inlines)
            if (in.filter) collect_keys(*in.filter, *j);
        for (const auto& op : s.ops) {
            if (op.kind == fe::OpKind::On && !op.args.empty() && op.args[0].value) collect_keys(*op.args[0].value, *j);
            if (op.kind == fe::OpKind::Window && !op.args.empty() && op.args[0].value && op.args[0].name.empty()) {
                const fe::Expr& w = *op.args[0].value;
                j->retention_ms = w.kind == ExprKind::Duration ? w.int_value / kNsPerMs : -1;
                break;
            }
        }
        for (auto& js : j->sources) {
            subscribe(sp, js.routed_as);
            js.type_id = routing(js.routed_as);
            if (js.key_field.empty()) {
                // Varpulis guesses a key among common names; we take the first of them
                // (the runtime tries them in order on each event).
                js.key_field = "symbol";
            }
            js.key_slot = require(js.type_id, js.key_field);
        }
        Operator o;
        o.kind = OpKind::Join;
        o.span = s.source.span;
        o.join = j;
        int32_t id = new_schema(s.name + "#join", SchemaKind::Joined);
        joined_[id] = j;
        o.out = id;
        sp.ops.push_back(std::move(o));
        return id;
    }

    // ------------------------------------------------------------ finish

    void finalize() {
        // Forwarding: the rows a stream passes on must fill every field its consumers read.
        // Requiring a field of an upstream schema can grow other schemas, so iterate.
        for (int round = 0; round < 64; ++round) {
            size_t before = 0;
            for (const auto& s : plan_.schemas) before += s.fields.size();
            for (auto& sp : plan_.streams) {
                int32_t out = final_schema_.at(sp.id);
                sp.forward_slots.clear();
                if (plan_.schemas[out].kind == SchemaKind::Dynamic) continue;
                for (size_t i = 0; i < plan_.schemas[sp.type_id].fields.size(); ++i) {
                    std::string f = plan_.schemas[sp.type_id].fields[i];
                    sp.forward_slots.push_back(out == sp.type_id ? static_cast<int32_t>(i) : require(out, f));
                }
            }
            size_t after = 0;
            for (const auto& s : plan_.schemas) after += s.fields.size();
            if (after == before) break;
        }
        plan_.routes.assign(plan_.schemas.size(), {});
        for (const auto& sp : plan_.streams)
            for (const auto& in : sp.inputs) {
                auto it = routing_index_.find(in);
                if (it != routing_index_.end()) plan_.routes[static_cast<size_t>(it->second)].push_back(sp.id);
            }
    }
};

void validate_expr(const Plan& plan, const Expr* e, int32_t schema, std::string& err) {
    if (!e || !err.empty()) return;
    if (e->op == ExprOp::Field && schema >= 0)
        for (uint32_t s : e->slots)
            if (s >= plan.schemas[schema].fields.size()) err = "field slot out of range for `" + e->name + "`";
    if (e->op == ExprOp::Global && (e->index < 0 || e->index >= static_cast<int32_t>(plan.globals.size())))
        err = "global index out of range";
    if (e->op == ExprOp::CallUser && (e->index < 0 || e->index >= static_cast<int32_t>(plan.functions.size())))
        err = "function index out of range";
    for (const auto& a : e->args) validate_expr(plan, a.get(), schema, err);
}

}  // namespace

std::optional<Plan> lower_program(const Program& program, const ProgramSymbols& symbols, DiagnosticBag& diags) {
    return Lowerer(program, symbols, diags).run();
}

std::string validate_plan(const Plan& plan) {
    std::string err;
    int32_t n = static_cast<int32_t>(plan.schemas.size());
    if (plan.routes.size() != plan.schemas.size()) return "routes and schemas differ in size";
    for (const auto& sp : plan.streams) {
        if (sp.type_id < 0 || sp.type_id >= n) return "stream `" + sp.name + "` has no routing schema";
        for (const auto& op : sp.ops) {
            if (op.out < 0 || op.out >= n) return "stream `" + sp.name + "`: operator output schema out of range";
            if (op.in >= n) return "stream `" + sp.name + "`: operator input schema out of range";
            for (const auto& e : op.exprs) validate_expr(plan, e.get(), op.in, err);
            if (!err.empty()) return "stream `" + sp.name + "`: " + err;
        }
        for (int32_t s : sp.forward_slots)
            if (s < -1) return "stream `" + sp.name + "`: bad forward slot";
    }
    return {};
}

}  // namespace varpulis::ir
