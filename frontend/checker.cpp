#include "frontend/checker.hpp"

#include <functional>
#include <set>

#include "frontend/builtins.hpp"

namespace varpulis::frontend {

const char* static_kind_name(StaticKind k) {
    switch (k) {
        case StaticKind::Unknown: return "unknown";
        case StaticKind::Null: return "null";
        case StaticKind::Bool: return "bool";
        case StaticKind::Int: return "int";
        case StaticKind::Float: return "float";
        case StaticKind::Number: return "number";
        case StaticKind::Str: return "str";
        case StaticKind::Timestamp: return "timestamp";
        case StaticKind::Duration: return "duration";
        case StaticKind::Array: return "array";
        case StaticKind::Map: return "map";
    }
    return "unknown";
}

namespace {

bool numeric(StaticKind k) { return k == StaticKind::Int || k == StaticKind::Float || k == StaticKind::Number; }

StaticKind kind_of_type(const TypeExpr& t) {
    switch (t.kind) {
        case TypeExpr::Kind::Array: return StaticKind::Array;
        case TypeExpr::Kind::Map: return StaticKind::Map;
        case TypeExpr::Kind::Named:
            if (t.name == "int") return StaticKind::Int;
            if (t.name == "float") return StaticKind::Float;
            if (t.name == "bool") return StaticKind::Bool;
            if (t.name == "str") return StaticKind::Str;
            if (t.name == "timestamp") return StaticKind::Timestamp;
            if (t.name == "duration") return StaticKind::Duration;
            return StaticKind::Unknown;
        default: return StaticKind::Unknown;  // optional fields may be null: no static claim
    }
}


bool is_literal(const Expr& e) {
    switch (e.kind) {
        case ExprKind::Null: case ExprKind::Bool: case ExprKind::Int: case ExprKind::Float:
        case ExprKind::String: case ExprKind::Duration: case ExprKind::Timestamp:
            return true;
        default: return false;
    }
}

/// Lexical scope of function bodies and lambdas: name -> mutable.
struct Scope {
    std::vector<std::map<std::string, bool>> frames;
    const bool* find(const std::string& n) const {
        for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
            auto f = it->find(n);
            if (f != it->end()) return &f->second;
        }
        return nullptr;
    }
};

class Checker {
public:
    Checker(const Program& p, DiagnosticBag& d, ProgramSymbols& s) : program_(p), diags_(d), sym_(s) {}

    void run() {
        declare();
        for (const auto& st : program_.statements) check_top(*st);
    }

private:
    const Program& program_;
    DiagnosticBag& diags_;
    ProgramSymbols& sym_;
    std::map<std::string, StaticKind> global_kinds_;
    std::set<std::string> immutable_globals_;
    // Field kinds visible in the expression being checked (declared fields of the source type).
    const std::map<std::string, StaticKind>* fields_ = nullptr;

    template <typename T>
    void declare_unique(std::map<std::string, const T*>& m, const T& decl, const std::string& name,
                        SourceSpan span, const char* code, const char* what) {
        if (m.count(name)) {
            diags_.error(span, code, std::string("duplicate ") + what + " `" + name + "`",
                         "each " + std::string(what) + " name may be declared only once");
            return;
        }
        m[name] = &decl;
    }

    void declare() {
        std::map<std::string, const TypeDecl*> types;
        for (const auto& st : program_.statements) {
            std::visit(
                [&](const auto& n) {
                    using N = std::decay_t<decltype(n)>;
                    if constexpr (std::is_same_v<N, EventDecl>)
                        declare_unique(sym_.events, n, n.name, n.name_span, "E001", "event type");
                    else if constexpr (std::is_same_v<N, StreamDecl>)
                        declare_unique(sym_.streams, n, n.name, n.name_span, "E002", "stream");
                    else if constexpr (std::is_same_v<N, FnDecl>)
                        declare_unique(sym_.functions, n, n.name, n.name_span, "E003", "function");
                    else if constexpr (std::is_same_v<N, ConnectorDecl>)
                        declare_unique(sym_.connectors, n, n.name, n.name_span, "E004", "connector");
                    else if constexpr (std::is_same_v<N, ContextDecl>)
                        declare_unique(sym_.contexts, n, n.name, n.name_span, "E005", "context");
                    else if constexpr (std::is_same_v<N, PatternDecl>)
                        declare_unique(sym_.patterns, n, n.name, n.name_span, "E006", "pattern");
                    else if constexpr (std::is_same_v<N, TypeDecl>)
                        declare_unique(types, n, n.name, n.name_span, "E007", "type alias");
                },
                st->node);
        }
        // Declared field kinds, following `extends` chains (bounded against cycles).
        for (const auto& [name, decl] : sym_.events) {
            auto& fields = sym_.declared_fields[name];
            const EventDecl* d = decl;
            for (int depth = 0; d && depth < 16; ++depth) {
                for (const auto& f : d->fields)
                    if (!fields.count(f.name)) fields[f.name] = f.optional ? StaticKind::Unknown : kind_of_type(f.type);
                auto it = d->extends.empty() ? sym_.events.end() : sym_.events.find(d->extends);
                d = it == sym_.events.end() ? nullptr : it->second;
            }
        }
    }

    // ------------------------------------------------------------ statements

    void check_top(const Stmt& st) {
        std::visit(
            [&](const auto& n) {
                using N = std::decay_t<decltype(n)>;
                if constexpr (std::is_same_v<N, VarDecl>) {
                    StaticKind k = check_expr(n.value, nullptr);
                    global_kinds_[n.name] = k;
                    sym_.globals[n.name] = n.kind == VarDecl::Kind::Var;
                    if (n.kind == VarDecl::Kind::Var) immutable_globals_.erase(n.name);
                    else immutable_globals_.insert(n.name);
                } else if constexpr (std::is_same_v<N, AssignStmt>) {
                    check_expr(n.value, nullptr);
                    if (immutable_globals_.count(n.name)) {
                        diags_.error(n.name_span, "E040", "cannot assign to immutable variable `" + n.name + "`",
                                     "declare it with `var` instead of `let` or `const`");
                    } else if (!sym_.globals.count(n.name)) {
                        sym_.globals[n.name] = true;
                        global_kinds_[n.name] = StaticKind::Unknown;
                    } else {
                        global_kinds_[n.name] = StaticKind::Unknown;
                    }
                } else if constexpr (std::is_same_v<N, FnDecl>) {
                    Scope scope;
                    scope.frames.emplace_back();
                    for (const auto& p : n.params) scope.frames.back()[p.name] = true;
                    check_block(n.body, scope);
                } else if constexpr (std::is_same_v<N, StreamDecl>) {
                    check_stream(n);
                } else if constexpr (std::is_same_v<N, PatternDecl>) {
                    check_pattern(n);
                } else if constexpr (std::is_same_v<N, ConnectorDecl> || std::is_same_v<N, EventDecl> ||
                                     std::is_same_v<N, TypeDecl> || std::is_same_v<N, ContextDecl> ||
                                     std::is_same_v<N, ConfigBlock> || std::is_same_v<N, ImportStmt>) {
                    // Declarations: nothing more to check.
                } else {
                    Scope scope;
                    scope.frames.emplace_back();
                    check_stmt(st, scope);
                }
            },
            st.node);
    }

    void check_block(const std::vector<StmtPtr>& body, Scope& scope) {
        scope.frames.emplace_back();
        for (const auto& s : body) check_stmt(*s, scope);
        scope.frames.pop_back();
    }

    void check_stmt(const Stmt& st, Scope& scope) {
        std::visit(
            [&](const auto& n) {
                using N = std::decay_t<decltype(n)>;
                if constexpr (std::is_same_v<N, VarDecl>) {
                    check_expr(n.value, &scope);
                    scope.frames.back()[n.name] = n.kind == VarDecl::Kind::Var;
                } else if constexpr (std::is_same_v<N, AssignStmt>) {
                    check_expr(n.value, &scope);
                    const bool* local = scope.find(n.name);
                    if ((local && !*local) || (!local && immutable_globals_.count(n.name)))
                        diags_.error(n.name_span, "E040", "cannot assign to immutable variable `" + n.name + "`",
                                     "declare it with `var` instead of `let` or `const`");
                    else if (!local)
                        scope.frames.back()[n.name] = true;
                } else if constexpr (std::is_same_v<N, IfStmt>) {
                    for (const auto& c : n.conds) check_expr(c, &scope);
                    for (const auto& b : n.blocks) check_block(b, scope);
                } else if constexpr (std::is_same_v<N, ForStmt>) {
                    check_expr(n.iterable, &scope);
                    scope.frames.emplace_back();
                    scope.frames.back()[n.var] = true;
                    check_block(n.body, scope);
                    scope.frames.pop_back();
                } else if constexpr (std::is_same_v<N, WhileStmt>) {
                    check_expr(n.cond, &scope);
                    check_block(n.body, scope);
                } else if constexpr (std::is_same_v<N, ReturnStmt>) {
                    check_expr(n.value, &scope);
                } else if constexpr (std::is_same_v<N, EmitStmt>) {
                    for (const auto& a : n.fields) check_expr(a.value, &scope);
                } else if constexpr (std::is_same_v<N, ExprStmt>) {
                    check_expr(n.expr, &scope);
                } else if constexpr (std::is_same_v<N, FnDecl> || std::is_same_v<N, StreamDecl>) {
                    diags_.error(st.span, "E009", "declarations are only allowed at the top level");
                }
            },
            st.node);
    }

    // ------------------------------------------------------------ expressions

    void warn_kinds(const Expr& e, StaticKind a, StaticKind b) {
        diags_.warning(e.span, "W050",
                       std::string("operator `") + binary_op_text(e.binary_op) + "` cannot combine " +
                           static_kind_name(a) + " and " + static_kind_name(b) + "; the value is absent at run time");
    }

    StaticKind check_call(const Expr& e, const Scope* scope) {
        const Expr& callee = *e.args[0];
        size_t argc = e.args.size() - 1;
        for (size_t i = 1; i < e.args.size(); ++i) check_expr(e.args[i], scope);
        if (callee.kind != ExprKind::Ident) {
            check_expr(e.args[0], scope);  // method-call syntax: receiver checked, method resolved at run time
            return StaticKind::Unknown;
        }
        const std::string& name = callee.text;
        if (scope && scope->find(name)) return StaticKind::Unknown;  // a lambda held in a local
        if (auto fn = sym_.functions.find(name); fn != sym_.functions.end()) {
            size_t want = fn->second->params.size();
            if (argc != want)
                diags_.error(callee.span, "E051",
                             "function `" + name + "` takes " + std::to_string(want) + " argument" +
                                 (want == 1 ? "" : "s") + " but " + std::to_string(argc) +
                                 (argc == 1 ? " was" : " were") + " given");
            return StaticKind::Unknown;
        }
        if (auto b = find_builtin(name)) {
            if (argc < b->min_args || argc > b->max_args)
                diags_.warning(callee.span, "W051",
                               "builtin `" + name + "` called with " + std::to_string(argc) +
                                   " argument(s); the call has no value at run time");
            switch (b->id) {
                case Builtin::Len: case Builtin::Floor: case Builtin::Ceil: case Builtin::Round:
                case Builtin::ToInt: case Builtin::Now:
                    return StaticKind::Int;
                case Builtin::ToString: case Builtin::Trim: case Builtin::Lower: case Builtin::Upper:
                case Builtin::Concat: case Builtin::Replace: case Builtin::Substring: case Builtin::TypeOf:
                case Builtin::Uuid: case Builtin::Join:
                    return StaticKind::Str;
                case Builtin::Sqrt: case Builtin::Log: case Builtin::Log10: case Builtin::Exp: case Builtin::Sin:
                case Builtin::Cos: case Builtin::Tan: case Builtin::ToFloat:
                    return StaticKind::Float;
                case Builtin::StartsWith: case Builtin::EndsWith: case Builtin::Contains: case Builtin::IsNull:
                case Builtin::IsInt: case Builtin::IsFloat: case Builtin::IsString: case Builtin::IsBool:
                case Builtin::IsArray: case Builtin::IsMap:
                    return StaticKind::Bool;
                default:
                    return StaticKind::Unknown;
            }
        }
        std::vector<std::string_view> candidates;
        for (const auto& b : all_builtins()) candidates.push_back(b.name);
        for (const auto& [fname, _] : sym_.functions) candidates.push_back(fname);
        std::string_view near = closest_name(name, candidates);
        diags_.error(callee.span, "E050", "unknown function `" + name + "`",
                     near.empty() ? "declare it with `fn " + name + "(...)`"
                                  : "did you mean `" + std::string(near) + "`?");
        return StaticKind::Unknown;
    }

    StaticKind check_expr(const ExprPtr& ep, const Scope* scope) { return check_expr(ep.get(), scope); }

    StaticKind check_expr(const Expr* ep, const Scope* scope) {
        if (!ep) return StaticKind::Unknown;
        const Expr& e = *ep;
        switch (e.kind) {
            case ExprKind::Null: return StaticKind::Null;
            case ExprKind::Bool: return StaticKind::Bool;
            case ExprKind::Int: return StaticKind::Int;
            case ExprKind::Float: return StaticKind::Float;
            case ExprKind::String: return StaticKind::Str;
            case ExprKind::Duration: return StaticKind::Duration;
            case ExprKind::Timestamp: return StaticKind::Timestamp;
            case ExprKind::Ident: {
                if (scope && scope->find(e.text)) return StaticKind::Unknown;
                if (fields_) {
                    auto f = fields_->find(e.text);
                    if (f != fields_->end()) return f->second;
                    return StaticKind::Unknown;  // an undeclared field may still arrive
                }
                return StaticKind::Unknown;
            }
            case ExprKind::Call: return check_call(e, scope);
            case ExprKind::Lambda: {
                Scope inner = scope ? *scope : Scope{};
                inner.frames.emplace_back();
                for (const auto& p : e.names) inner.frames.back()[p] = true;
                for (const auto& s : e.body) check_stmt(*s, inner);
                for (const auto& a : e.args) check_expr(a, &inner);
                return StaticKind::Unknown;
            }
            case ExprKind::Unary: {
                StaticKind k = check_expr(e.args[0], scope);
                if (e.unary_op == UnaryOp::Not) return StaticKind::Bool;
                if (e.unary_op == UnaryOp::Neg) return numeric(k) ? k : StaticKind::Unknown;
                return StaticKind::Unknown;
            }
            case ExprKind::Binary: return check_binary(e, scope);
            case ExprKind::If: {
                check_expr(e.args[0], scope);
                StaticKind a = check_expr(e.args[1], scope);
                StaticKind b = check_expr(e.args[2], scope);
                return a == b ? a : StaticKind::Unknown;
            }
            case ExprKind::Range:
                for (const auto& a : e.args) check_expr(a, scope);
                return StaticKind::Array;
            case ExprKind::Array:
                for (const auto& a : e.args) check_expr(a, scope);
                return StaticKind::Array;
            case ExprKind::Map:
                for (const auto& a : e.args) check_expr(a, scope);
                return StaticKind::Map;
            default:
                for (const auto& a : e.args) check_expr(a, scope);
                return StaticKind::Unknown;
        }
    }

    StaticKind check_binary(const Expr& e, const Scope* scope) {
        StaticKind a = check_expr(e.args[0], scope);
        StaticKind b = check_expr(e.args[1], scope);
        bool known = a != StaticKind::Unknown && b != StaticKind::Unknown;
        switch (e.binary_op) {
            case BinaryOp::Add:
                if (known && a == StaticKind::Str && b == StaticKind::Str) return StaticKind::Str;
                [[fallthrough]];
            case BinaryOp::Sub: case BinaryOp::Mul: case BinaryOp::Div: case BinaryOp::Mod: case BinaryOp::Pow:
                if (!known) return StaticKind::Unknown;
                if (numeric(a) && numeric(b))
                    return a == StaticKind::Int && b == StaticKind::Int ? StaticKind::Int
                           : (a == StaticKind::Float || b == StaticKind::Float) ? StaticKind::Float
                                                                              : StaticKind::Number;
                warn_kinds(e, a, b);
                return StaticKind::Unknown;
            case BinaryOp::Lt: case BinaryOp::Le: case BinaryOp::Gt: case BinaryOp::Ge:
                if (known && !(numeric(a) && numeric(b)) && !(a == StaticKind::Str && b == StaticKind::Str) &&
                    !(a == b && (a == StaticKind::Timestamp || a == StaticKind::Duration)))
                    warn_kinds(e, a, b);
                return StaticKind::Bool;
            case BinaryOp::Eq: case BinaryOp::Ne: case BinaryOp::In: case BinaryOp::NotIn: case BinaryOp::Is:
            case BinaryOp::And: case BinaryOp::Or: case BinaryOp::Xor:
                return StaticKind::Bool;
            default:
                return StaticKind::Unknown;
        }
    }

    /// A boolean context (`.where`, `.having`, step filters): a literal that is not a boolean is
    /// an error (Varpulis E060); a computed non-boolean a warning.
    void check_condition(const ExprPtr& e, const char* op) {
        StaticKind k = check_expr(e, nullptr);
        if (!e || k == StaticKind::Unknown || k == StaticKind::Bool) return;
        if (is_literal(*e))
            diags_.error(e->span, "E060", std::string("`") + op + "` needs a boolean condition, found a " +
                                              static_kind_name(k) + " literal");
        else
            diags_.warning(e->span, "W052", std::string("`") + op + "` condition is a " + static_kind_name(k) +
                                                ", never a boolean; no event passes");
    }

    // ------------------------------------------------------------ streams

    void note_source_name(const std::string& name, SourceSpan span) {
        if (sym_.events.empty()) return;  // programs without declarations use event types freely
        if (sym_.events.count(name) || sym_.streams.count(name) || sym_.patterns.count(name)) return;
        std::vector<std::string_view> known;
        for (const auto& [n, _] : sym_.events) known.push_back(n);
        for (const auto& [n, _] : sym_.streams) known.push_back(n);
        std::string_view near = closest_name(name, known);
        diags_.warning(span, "W030", "`" + name + "` is neither a declared event type nor a stream",
                       near.empty() ? "" : "did you mean `" + std::string(near) + "`?");
    }

    void check_connector_ref(const std::string& name, SourceSpan span) {
        if (sym_.connectors.count(name)) return;
        std::vector<std::string_view> known;
        for (const auto& [n, _] : sym_.connectors) known.push_back(n);
        std::string_view near = closest_name(name, known);
        diags_.error(span, "E030", "undefined connector `" + name + "`",
                     near.empty() ? "declare it with `connector " + name + " = kind(...)`"
                                  : "did you mean `" + std::string(near) + "`?");
    }

    void check_stream(const StreamDecl& s) {
        const StreamSource& src = s.source;
        bool in_sequence = src.kind == StreamSource::Kind::Sequence || src.all || sym_.patterns.count(src.name);
        for (const auto& op : s.ops)
            if (op.kind == OpKind::FollowedBy) in_sequence = true;

        auto fit = sym_.declared_fields.find(src.name);
        fields_ = fit != sym_.declared_fields.end() && src.kind == StreamSource::Kind::Name && !in_sequence
                      ? &fit->second
                      : nullptr;

        switch (src.kind) {
            case StreamSource::Kind::Name:
                note_source_name(src.name, src.name_span);
                break;
            case StreamSource::Kind::From:
                note_source_name(src.name, src.name_span);
                if (!src.params.empty() && src.params[0].value && src.params[0].value->kind == ExprKind::Ident)
                    check_connector_ref(src.params[0].value->text, src.params[0].value->span);
                for (const auto& p : src.params) check_expr(p.value, nullptr);
                break;
            case StreamSource::Kind::Merge:
            case StreamSource::Kind::Join:
                for (const auto& in : src.inlines) {
                    note_source_name(in.name, in.name_span);
                    check_expr(in.filter, nullptr);
                }
                break;
            case StreamSource::Kind::Sequence:
                for (const auto& st : src.steps) {
                    note_source_name(st.type, st.type_span);
                    check_expr(st.where, nullptr);
                }
                break;
            case StreamSource::Kind::Timer:
                for (const auto& p : src.params) check_expr(p.value, nullptr);
                break;
        }

        bool seen_window = false, seen_aggregate = false;
        for (const auto& op : s.ops) check_op(op, in_sequence, seen_window, seen_aggregate);
        fields_ = nullptr;
    }

    void check_op(const StreamOp& op, bool in_sequence, bool& seen_window, bool& seen_aggregate) {
        auto arg0 = [&]() -> ExprPtr { return op.args.empty() ? nullptr : op.args[0].value; };
        switch (op.kind) {
            case OpKind::Where:
            case OpKind::Filter:
                check_condition(arg0(), op.kind == OpKind::Where ? ".where" : ".filter");
                break;
            case OpKind::Having:
                if (!seen_aggregate)
                    diags_.error(op.span, "E010", "`.having` without an earlier `.aggregate`",
                                 "use `.where` to filter events, or add `.aggregate(...)` before `.having`");
                fields_ = nullptr;
                check_condition(arg0(), ".having");
                break;
            case OpKind::Aggregate:
                if (seen_aggregate)
                    diags_.error(op.span, "E011", "a stream may have only one `.aggregate`",
                                 "chain a second stream to aggregate again");
                if (!seen_window)
                    diags_.warning(op.span, "W001", "`.aggregate` without `.window` aggregates each event on its own",
                                   "add `.window(...)` before `.aggregate`");
                for (const auto& item : op.args) check_aggregate_item(item);
                seen_aggregate = true;
                break;
            case OpKind::Window:
                if (seen_window)
                    diags_.error(op.span, "E012", "a stream may have only one `.window`",
                                 "chain a second stream for another window");
                check_window(op);
                seen_window = true;
                break;
            case OpKind::PartitionBy:
                if (seen_window)
                    diags_.warning(op.span, "W002", "`.partition_by` after `.window` has no effect on that window",
                                   "move `.partition_by` before `.window`");
                if (!arg0() || arg0()->kind != ExprKind::Ident)
                    diags_.warning(op.span, "W003", "`.partition_by` takes a bare field name; other expressions are ignored");
                break;
            case OpKind::Within:
                if (!in_sequence)
                    diags_.error(op.span, "E020", "`.within` outside a sequence",
                                 "`.within` bounds a `->` chain, e.g. `A as a -> B .within(5m)`");
                if (!arg0() || arg0()->kind != ExprKind::Duration)
                    diags_.error(arg0() ? arg0()->span : op.span, "E061", "`.within` needs a duration literal such as `30s`");
                break;
            case OpKind::To:
                if (!arg0() || arg0()->kind != ExprKind::Ident) {
                    diags_.error(op.span, "E090", "`.to(expression)` is not supported; name a connector");
                } else {
                    check_connector_ref(arg0()->text, arg0()->span);
                }
                for (size_t i = 1; i < op.args.size(); ++i) check_expr(op.args[i].value, nullptr);
                break;
            case OpKind::Enrich:
                if (arg0() && arg0()->kind == ExprKind::Ident) {
                    const std::string& c = arg0()->text;
                    auto it = sym_.connectors.find(c);
                    if (it == sym_.connectors.end()) {
                        check_connector_ref(c, arg0()->span);
                    } else {
                        const std::string& t = it->second->type;
                        if (t != "http" && t != "database" && t != "postgres" && t != "mysql" && t != "sqlite" &&
                            t != "redis")
                            diags_.error(arg0()->span, "E032",
                                         "`.enrich` needs an http, database or redis connector; `" + c + "` is " + t);
                    }
                }
                {
                    bool has_fields = false;
                    for (const auto& a : op.args) has_fields |= a.name == "fields";
                    if (!has_fields) diags_.warning(op.span, "W032", "`.enrich` without `fields:` adds nothing");
                }
                for (size_t i = 1; i < op.args.size(); ++i) check_expr(op.args[i].value, nullptr);
                break;
            case OpKind::Context:
                if (arg0() && arg0()->kind == ExprKind::Ident && !sym_.contexts.count(arg0()->text))
                    diags_.error(arg0()->span, "E031", "undefined context `" + arg0()->text + "`",
                                 "declare it with `context " + arg0()->text + "`");
                break;
            case OpKind::Emit:
                if (!op.emit_as.empty() && !sym_.events.count(op.emit_as))
                    diags_.warning(op.emit_as_span, "W031", "`.emit as " + op.emit_as + "`: `" + op.emit_as +
                                                                "` is not a declared event type");
                for (const auto& a : op.args) {
                    if (a.name == "context" && a.value && a.value->kind == ExprKind::Ident) {
                        if (!sym_.contexts.count(a.value->text))
                            diags_.error(a.value->span, "E031", "undefined context `" + a.value->text + "`");
                        continue;
                    }
                    check_expr(a.value, nullptr);
                }
                break;
            case OpKind::Map: case OpKind::Concurrent: case OpKind::OnError: case OpKind::Collect:
            case OpKind::Fork: case OpKind::Any: case OpKind::All: case OpKind::OrderBy: case OpKind::Tap:
                diags_.error(op.span, "E090", "operator `." + op.name + "` is not supported",
                             "see VPL.md §8 for the supported operators");
                break;
            case OpKind::Limit:
                if (!arg0() || arg0()->kind != ExprKind::Int || arg0()->int_value < 0)
                    diags_.error(arg0() ? arg0()->span : op.span, "E091",
                                 "`.limit` needs a non-negative integer literal");
                break;
            case OpKind::Strategy:
                if (!arg0() || arg0()->kind != ExprKind::Ident ||
                    (arg0()->text != "skip_till_next_match" && arg0()->text != "skip_till_any_match" &&
                     arg0()->text != "strict_contiguity"))
                    diags_.error(arg0() ? arg0()->span : op.span, "E092", "unknown selection strategy",
                                 "use skip_till_next_match, skip_till_any_match or strict_contiguity");
                if (!in_sequence)
                    diags_.error(op.span, "E020", "`.strategy` outside a sequence");
                break;
            case OpKind::Not:
                note_source_name(op.not_type, op.not_type_span);
                check_expr(op.not_where, nullptr);
                if (!in_sequence) diags_.error(op.span, "E020", "`.not` outside a sequence");
                break;
            case OpKind::FollowedBy:
                note_source_name(op.step.type, op.step.type_span);
                check_expr(op.step.where, nullptr);
                fields_ = nullptr;
                break;
            case OpKind::TrendAggregate:
                for (const auto& a : op.args) {
                    if (!a.value || a.value->kind != ExprKind::Call) {
                        diags_.error(a.value ? a.value->span : a.name_span, "E073",
                                     "`.trend_aggregate` items are calls such as `count_trends()`");
                        continue;
                    }
                    for (size_t i = 1; i < a.value->args.size(); ++i) check_expr(a.value->args[i], nullptr);
                }
                fields_ = nullptr;
                break;
            case OpKind::Select:
                for (const auto& a : op.args) check_expr(a.value, nullptr);
                fields_ = nullptr;
                break;
            default:
                for (const auto& a : op.args) check_expr(a.value, nullptr);
                break;
        }
    }

    void check_window(const StreamOp& op) {
        bool has_size = false;
        for (const auto& a : op.args) {
            const Expr* v = a.value.get();
            if (!v) continue;
            if (a.name.empty()) {
                has_size = true;
                if (v->kind != ExprKind::Duration && v->kind != ExprKind::Int)
                    diags_.error(v->span, "E062", "window size must be a duration (e.g. `5m`) or an event count");
                else if (v->kind == ExprKind::Int && v->int_value <= 0)
                    diags_.error(v->span, "E062", "window size must be positive");
            } else if (a.name == "session") {
                has_size = true;
                if (v->kind != ExprKind::Duration) diags_.error(v->span, "E062", "session gap must be a duration");
            } else if (a.name == "sliding") {
                if (v->kind != ExprKind::Duration && v->kind != ExprKind::Int)
                    diags_.error(v->span, "E062", "`sliding:` must be a duration or an event count");
            } else if (a.name != "policy") {
                diags_.error(a.name_span, "E063", "unknown window parameter `" + a.name + "`",
                             "use `sliding:`, `session:` or `policy:`");
            }
        }
        if (!has_size) diags_.error(op.span, "E062", "`.window` needs a size, e.g. `.window(5m)` or `.window(100)`");
    }

    /// Returns true when `e` is an aggregate call or a + - * / combination of them.
    bool check_aggregate_expr(const Expr& e, bool report_unknown) {
        if (e.kind == ExprKind::Binary &&
            (e.binary_op == BinaryOp::Add || e.binary_op == BinaryOp::Sub || e.binary_op == BinaryOp::Mul ||
             e.binary_op == BinaryOp::Div)) {
            bool l = check_aggregate_expr(*e.args[0], report_unknown);
            bool r = check_aggregate_expr(*e.args[1], report_unknown);
            return l && r;
        }
        if (e.kind != ExprKind::Call || e.args[0]->kind != ExprKind::Ident) {
            check_expr(&e, nullptr);
            return false;
        }
        const Expr& callee = *e.args[0];
        const std::string& name = callee.text;
        size_t argc = e.args.size() - 1;
        auto fn = find_aggregate(name);
        if (!fn) {
            if (sym_.functions.count(name) || find_builtin(name)) {
                check_expr(&e, nullptr);
                return false;
            }
            std::string_view near = closest_name(name, aggregate_names());
            if (report_unknown)
                diags_.error(callee.span, "E070", "unknown aggregate function `" + name + "`",
                             near.empty() ? "aggregates: count sum avg min max stddev first last count_distinct ema"
                                          : "did you mean `" + std::string(near) + "`?");
            return true;  // reported; not dropped
        }
        switch (*fn) {
            case AggregateFn::Sum: case AggregateFn::Avg: case AggregateFn::Min: case AggregateFn::Max:
            case AggregateFn::Stddev:
                if (argc == 0)
                    diags_.error(callee.span, "E071", "aggregate `" + name + "` needs a field argument",
                                 "e.g. `" + name + "(price)`");
                break;
            case AggregateFn::Ema:
                if (argc != 2)
                    diags_.error(callee.span, "E072", "aggregate `ema` takes exactly two arguments (field, period)",
                                 "e.g. `ema(price, 10)`");
                break;
            default:
                break;
        }
        for (size_t i = 1; i < e.args.size(); ++i) {
            const Expr& a = *e.args[i];
            // count(distinct(x)) is the documented spelling of count_distinct(x).
            if (*fn == AggregateFn::Count && a.kind == ExprKind::Call && a.args[0]->kind == ExprKind::Ident &&
                a.args[0]->text == "distinct") {
                for (size_t j = 1; j < a.args.size(); ++j) check_expr(a.args[j], nullptr);
                continue;
            }
            check_expr(e.args[i], nullptr);
        }
        return true;
    }

    void check_aggregate_item(const Arg& item) {
        if (!item.value) return;
        if (!check_aggregate_expr(*item.value, true))
            diags_.warning(item.value->span, "W040",
                           "aggregate item `" + item.name + "` is not an aggregate expression and is dropped",
                           "items are aggregate calls such as `sum(x)`, or `+ - * /` combinations of them");
    }

    // ------------------------------------------------------------ patterns

    void check_sase(const SaseExpr& e) {
        if (e.kind == SaseExpr::Kind::Ref) {
            note_source_name(e.type, e.type_span);
            check_expr(e.where, nullptr);
        }
        for (const auto& c : e.children) check_sase(c);
    }

    void check_pattern(const PatternDecl& p) {
        check_sase(p.expr);
        if (p.within && p.within->kind != ExprKind::Duration)
            diags_.error(p.within->span, "E061", "`within` needs a duration literal such as `30s`");
        if (!p.strategy.empty() && p.strategy != "skip_till_next_match" && p.strategy != "skip_till_any_match" &&
            p.strategy != "strict_contiguity")
            diags_.error(p.strategy_span, "E092", "unknown selection strategy `" + p.strategy + "`",
                         "use skip_till_next_match, skip_till_any_match or strict_contiguity");
    }
};

}  // namespace

bool check_program(const Program& program, DiagnosticBag& diags, ProgramSymbols& symbols) {
    size_t before = diags.error_count();
    Checker(program, diags, symbols).run();
    return diags.error_count() == before;
}

}  // namespace varpulis::frontend
