// AST -> JSON (see ast_json.hpp for the layout).

#include "frontend/ast_json.hpp"

#include <charconv>
#include <cmath>
#include <string_view>
#include <system_error>

#include <boost/json.hpp>

namespace varpulis::frontend {

namespace json = boost::json;

namespace {

// ---------------------------------------------------------------- names

const char* unary_op_text(UnaryOp op) {
    switch (op) {
        case UnaryOp::Neg: return "-";
        case UnaryOp::BitNot: return "~";
        case UnaryOp::Not: return "not";
    }
    return "?";
}


const char* expr_kind_text(ExprKind k) {
    switch (k) {
        case ExprKind::Null: return "null";
        case ExprKind::Bool: return "bool";
        case ExprKind::Int: return "int";
        case ExprKind::Float: return "float";
        case ExprKind::String: return "string";
        case ExprKind::Duration: return "duration";
        case ExprKind::Timestamp: return "timestamp";
        case ExprKind::Ident: return "ident";
        case ExprKind::Member: return "member";
        case ExprKind::OptMember: return "opt_member";
        case ExprKind::Index: return "index";
        case ExprKind::Slice: return "slice";
        case ExprKind::Call: return "call";
        case ExprKind::Unary: return "unary";
        case ExprKind::Binary: return "binary";
        case ExprKind::Range: return "range";
        case ExprKind::If: return "if";
        case ExprKind::Array: return "array";
        case ExprKind::Map: return "map";
        case ExprKind::Lambda: return "lambda";
    }
    return "?";
}

const char* op_kind_text(OpKind k) {
    switch (k) {
        case OpKind::Where: return "where";
        case OpKind::Select: return "select";
        case OpKind::Emit: return "emit";
        case OpKind::Window: return "window";
        case OpKind::Aggregate: return "aggregate";
        case OpKind::Having: return "having";
        case OpKind::PartitionBy: return "partition_by";
        case OpKind::Within: return "within";
        case OpKind::Not: return "not";
        case OpKind::FollowedBy: return "followed_by";
        case OpKind::TrendAggregate: return "trend_aggregate";
        case OpKind::Print: return "print";
        case OpKind::Log: return "log";
        case OpKind::To: return "to";
        case OpKind::Distinct: return "distinct";
        case OpKind::Limit: return "limit";
        case OpKind::First: return "first";
        case OpKind::Filter: return "filter";
        case OpKind::Process: return "process";
        case OpKind::Pattern: return "pattern";
        case OpKind::On: return "on";
        case OpKind::Context: return "context";
        case OpKind::Watermark: return "watermark";
        case OpKind::AllowedLateness: return "allowed_lateness";
        case OpKind::Forecast: return "forecast";
        case OpKind::Enrich: return "enrich";
        case OpKind::Score: return "score";
        case OpKind::OrderBy: return "order_by";
        case OpKind::Map: return "map";
        case OpKind::Tap: return "tap";
        case OpKind::Collect: return "collect";
        case OpKind::OnError: return "on_error";
        case OpKind::Fork: return "fork";
        case OpKind::Any: return "any";
        case OpKind::All: return "all";
        case OpKind::Concurrent: return "concurrent";
        case OpKind::Strategy: return "strategy";
    }
    return "?";
}

const char* source_kind_text(StreamSource::Kind k) {
    switch (k) {
        case StreamSource::Kind::Name: return "name";
        case StreamSource::Kind::From: return "from";
        case StreamSource::Kind::Merge: return "merge";
        case StreamSource::Kind::Join: return "join";
        case StreamSource::Kind::Sequence: return "sequence";
        case StreamSource::Kind::Timer: return "timer";
    }
    return "?";
}

const char* sase_kind_text(SaseExpr::Kind k) {
    switch (k) {
        case SaseExpr::Kind::Seq: return "seq";
        case SaseExpr::Kind::And: return "and";
        case SaseExpr::Kind::Or: return "or";
        case SaseExpr::Kind::Not: return "not";
        case SaseExpr::Kind::Ref: return "ref";
    }
    return "?";
}

const char* pattern_op_kind_text(PatternOpExpr::Kind k) {
    switch (k) {
        case PatternOpExpr::Kind::Or: return "or";
        case PatternOpExpr::Kind::And: return "and";
        case PatternOpExpr::Kind::Xor: return "xor";
        case PatternOpExpr::Kind::Not: return "not";
        case PatternOpExpr::Kind::Chain: return "chain";
    }
    return "?";
}

const char* var_kind_text(VarDecl::Kind k) {
    switch (k) {
        case VarDecl::Kind::Let: return "let";
        case VarDecl::Kind::Var: return "var";
        case VarDecl::Kind::Const: return "const";
    }
    return "?";
}

// ---------------------------------------------------------------- types as text

void append_type(std::string& out, const TypeExpr& t) {
    auto arg = [&](size_t i) {
        if (i < t.args.size()) append_type(out, t.args[i]);
        else out += '?';
    };
    switch (t.kind) {
        case TypeExpr::Kind::Named: out += t.name; return;
        case TypeExpr::Kind::Array:
            out += '[';
            arg(0);
            out += ']';
            return;
        case TypeExpr::Kind::Map:
            out += '{';
            arg(0);
            out += ": ";
            arg(1);
            out += '}';
            return;
        case TypeExpr::Kind::Tuple:
            out += '(';
            for (size_t i = 0; i < t.args.size(); ++i) {
                if (i) out += ", ";
                append_type(out, t.args[i]);
            }
            out += ')';
            return;
        case TypeExpr::Kind::Stream:
            out += "Stream<";
            arg(0);
            out += '>';
            return;
        case TypeExpr::Kind::Optional:
            arg(0);
            out += '?';
            return;
    }
}

std::string type_text(const TypeExpr& t) {
    std::string s;
    append_type(s, t);
    return s;
}

// ---------------------------------------------------------------- AST -> json::value

class Builder {
public:
    explicit Builder(const SourceFile& file) : file_(file) {}

    json::array stmts(const std::vector<StmtPtr>& list) const {
        json::array a;
        a.reserve(list.size());
        for (const auto& s : list) a.push_back(s ? stmt(*s) : json::value(nullptr));
        return a;
    }

    json::value stmt(const Stmt& s) const {
        return std::visit([&](const auto& node) { return json::value(stmt_node(node, s.span)); }, s.node);
    }

private:
    const SourceFile& file_;

    json::object node(const char* kind, SourceSpan span) const {
        json::object o;
        o["kind"] = kind;
        locate(o, span);
        return o;
    }

    void locate(json::object& o, SourceSpan span) const {
        // A default-constructed SourceFile has no line table; everything is at 1:1 then.
        LineCol lc = file_.text().empty() ? LineCol{} : file_.locate(span.begin);
        o["line"] = static_cast<int64_t>(lc.line);
        o["column"] = static_cast<int64_t>(lc.column);
    }

    static void opt_string(json::object& o, const char* key, const std::string& s) {
        if (!s.empty()) o[key] = s;
    }

    void opt_expr(json::object& o, const char* key, const ExprPtr& e) const {
        if (e) o[key] = expr(*e);
    }

    json::value expr_or_null(const ExprPtr& e) const { return e ? expr(*e) : json::value(nullptr); }

    // -------------------------------------------------------- expressions

    json::value expr(const Expr& e) const {
        json::object o = node(expr_kind_text(e.kind), e.span);
        auto at = [&](size_t i) -> const ExprPtr* { return i < e.args.size() ? &e.args[i] : nullptr; };
        auto member = [&](const char* key, size_t i) {
            if (const ExprPtr* p = at(i)) opt_expr(o, key, *p);
        };
        switch (e.kind) {
            case ExprKind::Null: break;
            case ExprKind::Bool: o["value"] = e.bool_value; break;
            case ExprKind::Int: o["value"] = e.int_value; break;
            case ExprKind::Float: o["value"] = e.float_value; break;
            case ExprKind::String: o["value"] = e.text; break;
            case ExprKind::Duration: o["ns"] = e.duration_ns(); break;
            case ExprKind::Timestamp: o["ns"] = e.int_value; break;
            case ExprKind::Ident: o["name"] = e.text; break;
            case ExprKind::Member:
            case ExprKind::OptMember:
                member("object", 0);
                o["name"] = e.text;
                break;
            case ExprKind::Index:
                member("object", 0);
                member("index", 1);
                break;
            case ExprKind::Slice:
                member("object", 0);
                member("begin", 1);
                member("end", 2);
                break;
            case ExprKind::Call: {
                member("callee", 0);
                json::array args;
                for (size_t i = 1; i < e.args.size(); ++i) {
                    json::object a;
                    // names[k] names argument k (args[k + 1]); "" when positional.
                    if (i - 1 < e.names.size()) opt_string(a, "name", e.names[i - 1]);
                    opt_expr(a, "value", e.args[i]);
                    args.push_back(std::move(a));
                }
                o["args"] = std::move(args);
                break;
            }
            case ExprKind::Unary:
                o["op"] = unary_op_text(e.unary_op);
                member("operand", 0);
                break;
            case ExprKind::Binary:
                o["op"] = binary_op_text(e.binary_op);
                member("left", 0);
                member("right", 1);
                break;
            case ExprKind::Range:
                member("start", 0);
                member("end", 1);
                o["inclusive"] = e.inclusive;
                break;
            case ExprKind::If:
                member("cond", 0);
                member("then", 1);
                member("else", 2);
                break;
            case ExprKind::Array: {
                json::array items;
                items.reserve(e.args.size());
                for (const auto& a : e.args) items.push_back(expr_or_null(a));
                o["items"] = std::move(items);
                break;
            }
            case ExprKind::Map: {
                json::array entries;
                for (size_t i = 0; i < e.args.size(); ++i) {
                    json::object kv;
                    kv["key"] = i < e.names.size() ? e.names[i] : std::string();
                    opt_expr(kv, "value", e.args[i]);
                    entries.push_back(std::move(kv));
                }
                o["entries"] = std::move(entries);
                break;
            }
            case ExprKind::Lambda: {
                json::array params;
                for (const auto& n : e.names) params.push_back(json::string(n));
                o["params"] = std::move(params);
                o["body"] = stmts(e.body);
                member("result", 0);
                break;
            }
        }
        return o;
    }

    json::array args(const std::vector<Arg>& list) const {
        json::array a;
        a.reserve(list.size());
        for (const auto& arg : list) {
            json::object o;
            opt_string(o, "name", arg.name);
            opt_expr(o, "value", arg.value);
            if (arg.desc) o["desc"] = true;
            a.push_back(std::move(o));
        }
        return a;
    }

    // -------------------------------------------------------- stream sources and operators

    json::object source(const StreamSource& s) const {
        json::object o = node(source_kind_text(s.kind), s.span);
        o["name"] = s.name;
        o["alias"] = s.alias;
        o["all"] = s.all;
        o["params"] = args(s.params);
        json::array inlines;
        for (const auto& in : s.inlines) {
            json::object i;
            opt_string(i, "label", in.label);
            i["name"] = in.name;
            opt_expr(i, "filter", in.filter);
            inlines.push_back(std::move(i));
        }
        o["inlines"] = std::move(inlines);
        json::array steps;
        for (const auto& st : s.steps) {
            json::object i;
            i["alias"] = st.alias;
            i["type"] = st.type;
            opt_expr(i, "where", st.where);
            opt_expr(i, "within", st.within);
            steps.push_back(std::move(i));
        }
        o["steps"] = std::move(steps);
        return o;
    }

    static json::object pattern_op(const PatternOpExpr& p) {
        json::object o;
        o["kind"] = pattern_op_kind_text(p.kind);
        if (p.kind == PatternOpExpr::Kind::Chain) {
            json::array chain;
            for (const auto& n : p.chain) chain.push_back(json::string(n));
            o["chain"] = std::move(chain);
        } else {
            json::array children;
            for (const auto& c : p.children) children.push_back(pattern_op(c));
            o["children"] = std::move(children);
        }
        return o;
    }

    json::array ops(const std::vector<StreamOp>& list) const {
        json::array a;
        a.reserve(list.size());
        for (const auto& op : list) a.push_back(stream_op(op));
        return a;
    }

    json::object stream_op(const StreamOp& op) const {
        json::object o;
        o["op"] = op_kind_text(op.kind);
        locate(o, op.span);
        o["args"] = args(op.args);
        opt_string(o, "emit_as", op.emit_as);
        switch (op.kind) {
            case OpKind::FollowedBy: {
                json::object st = node("step", op.step.span);
                st["all"] = op.step.all;
                st["type"] = op.step.type;
                opt_expr(st, "where", op.step.where);
                opt_string(st, "alias", op.step.alias);
                o["step"] = std::move(st);
                break;
            }
            case OpKind::Not: {
                json::object n;
                n["type"] = op.not_type;
                opt_expr(n, "where", op.not_where);
                o["not"] = std::move(n);
                break;
            }
            case OpKind::Pattern:
                opt_string(o, "pattern_name", op.pattern_name);
                if (op.pattern_expr) o["pattern"] = pattern_op(*op.pattern_expr);
                break;
            case OpKind::Fork: {
                json::array paths;
                for (const auto& [name, path_ops] : op.fork_paths) {
                    json::object p;
                    p["name"] = name;
                    p["ops"] = ops(path_ops);
                    paths.push_back(std::move(p));
                }
                o["paths"] = std::move(paths);
                break;
            }
            default: break;
        }
        return o;
    }

    json::object sase(const SaseExpr& s) const {
        json::object o = node(sase_kind_text(s.kind), s.span);
        if (s.kind == SaseExpr::Kind::Ref) {
            o["type"] = s.type;
            if (s.kleene != 0) o["kleene"] = std::string(1, s.kleene);
            o["negated"] = s.negated;
            opt_expr(o, "where", s.where);
            opt_string(o, "alias", s.alias);
        } else {
            json::array children;
            for (const auto& c : s.children) children.push_back(sase(c));
            o["children"] = std::move(children);
        }
        return o;
    }

    // -------------------------------------------------------- statements

    json::object stmt_node(const EventDecl& d, SourceSpan span) const {
        json::object o = node("event", span);
        o["name"] = d.name;
        opt_string(o, "extends", d.extends);
        json::array fields;
        for (const auto& f : d.fields) {
            json::object fo;
            fo["name"] = f.name;
            fo["type"] = type_text(f.type);
            fo["optional"] = f.optional;
            fields.push_back(std::move(fo));
        }
        o["fields"] = std::move(fields);
        return o;
    }

    json::object stmt_node(const TypeDecl& d, SourceSpan span) const {
        json::object o = node("type", span);
        o["name"] = d.name;
        o["type"] = type_text(d.type);
        return o;
    }

    json::object stmt_node(const StreamDecl& d, SourceSpan span) const {
        json::object o = node("stream", span);
        o["name"] = d.name;
        if (d.type) o["type"] = type_text(*d.type);
        o["source"] = source(d.source);
        o["ops"] = ops(d.ops);
        return o;
    }

    json::object stmt_node(const PatternDecl& d, SourceSpan span) const {
        json::object o = node("pattern", span);
        o["name"] = d.name;
        o["expr"] = sase(d.expr);
        opt_expr(o, "within", d.within);
        opt_string(o, "partition_by", d.partition_by);
        opt_string(o, "strategy", d.strategy);
        return o;
    }

    json::object stmt_node(const ConnectorDecl& d, SourceSpan span) const {
        json::object o = node("connector", span);
        o["name"] = d.name;
        o["type"] = d.type;
        o["params"] = args(d.params);
        return o;
    }

    json::object stmt_node(const VarDecl& d, SourceSpan span) const {
        json::object o = node(var_kind_text(d.kind), span);
        o["name"] = d.name;
        if (d.type) o["type"] = type_text(*d.type);
        opt_expr(o, "value", d.value);
        return o;
    }

    json::object stmt_node(const FnDecl& d, SourceSpan span) const {
        json::object o = node("fn", span);
        o["name"] = d.name;
        json::array params;
        for (const auto& p : d.params) {
            json::object po;
            po["name"] = p.name;
            po["type"] = type_text(p.type);
            params.push_back(std::move(po));
        }
        o["params"] = std::move(params);
        if (d.ret) o["returns"] = type_text(*d.ret);
        o["body"] = stmts(d.body);
        return o;
    }

    json::object stmt_node(const ContextDecl& d, SourceSpan span) const {
        json::object o = node("context", span);
        o["name"] = d.name;
        json::array cores;
        for (int64_t c : d.cores) cores.push_back(c);
        o["cores"] = std::move(cores);
        return o;
    }

    json::object stmt_node(const ConfigBlock& d, SourceSpan span) const {
        json::object o = node("config", span);
        o["name"] = d.name;
        o["items"] = args(d.items);
        return o;
    }

    json::object stmt_node(const ImportStmt& d, SourceSpan span) const {
        json::object o = node("import", span);
        o["path"] = d.path;
        opt_string(o, "alias", d.alias);
        return o;
    }

    json::object stmt_node(const IfStmt& d, SourceSpan span) const {
        json::object o = node("if", span);
        json::array branches;
        for (size_t i = 0; i < d.blocks.size(); ++i) {
            json::object b;
            if (i < d.conds.size()) opt_expr(b, "cond", d.conds[i]);
            b["body"] = stmts(d.blocks[i]);
            branches.push_back(std::move(b));
        }
        o["branches"] = std::move(branches);
        return o;
    }

    json::object stmt_node(const ForStmt& d, SourceSpan span) const {
        json::object o = node("for", span);
        o["var"] = d.var;
        opt_expr(o, "iterable", d.iterable);
        o["body"] = stmts(d.body);
        return o;
    }

    json::object stmt_node(const WhileStmt& d, SourceSpan span) const {
        json::object o = node("while", span);
        opt_expr(o, "cond", d.cond);
        o["body"] = stmts(d.body);
        return o;
    }

    json::object stmt_node(const ReturnStmt& d, SourceSpan span) const {
        json::object o = node("return", span);
        opt_expr(o, "value", d.value);
        return o;
    }

    json::object stmt_node(const BreakStmt&, SourceSpan span) const { return node("break", span); }
    json::object stmt_node(const ContinueStmt&, SourceSpan span) const { return node("continue", span); }

    json::object stmt_node(const EmitStmt& d, SourceSpan span) const {
        json::object o = node("emit", span);
        o["type"] = d.type;
        o["fields"] = args(d.fields);
        return o;
    }

    json::object stmt_node(const AssignStmt& d, SourceSpan span) const {
        json::object o = node("assign", span);
        o["name"] = d.name;
        opt_expr(o, "value", d.value);
        return o;
    }

    json::object stmt_node(const ExprStmt& d, SourceSpan span) const {
        json::object o = node("expr", span);
        opt_expr(o, "expr", d.expr);
        return o;
    }
};

// ---------------------------------------------------------------- pretty printer

/// Appends `s` as a JSON string literal; invalid UTF-8 bytes become U+FFFD.
void write_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default:
                    if (c < 0x20) {
                        out += "\\u00";
                        out += kHex[c >> 4];
                        out += kHex[c & 0xF];
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        // Multi-byte sequence: validate per RFC 3629 (no overlongs, no surrogates, <= U+10FFFF).
        size_t len = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        }
        bool ok = len != 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
        }
        if (ok) {
            out.append(s.data() + i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";  // U+FFFD
            ++i;
        }
    }
    out += '"';
}

void write_double(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out += "null";
        return;
    }
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, d);
    std::string_view text(buf, res.ec == std::errc() ? static_cast<size_t>(res.ptr - buf) : 0);
    out += text;
    if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void newline(std::string& out, int depth) {
    out += '\n';
    out.append(static_cast<size_t>(depth) * 2, ' ');
}

void write_value(std::string& out, const json::value& v, int depth) {
    switch (v.kind()) {
        case json::kind::null: out += "null"; return;
        case json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
        case json::kind::int64: out += std::to_string(v.get_int64()); return;
        case json::kind::uint64: out += std::to_string(v.get_uint64()); return;
        case json::kind::double_: write_double(out, v.get_double()); return;
        case json::kind::string: {
            const json::string& s = v.get_string();
            write_string(out, std::string_view(s.data(), s.size()));
            return;
        }
        case json::kind::array: {
            const json::array& a = v.get_array();
            if (a.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            bool first = true;
            for (const auto& item : a) {
                if (!first) out += ',';
                first = false;
                newline(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            newline(out, depth);
            out += ']';
            return;
        }
        case json::kind::object: {
            const json::object& o = v.get_object();
            if (o.empty()) {
                out += "{}";
                return;
            }
            out += '{';
            bool first = true;
            for (const auto& kv : o) {
                if (!first) out += ',';
                first = false;
                newline(out, depth + 1);
                write_string(out, std::string_view(kv.key().data(), kv.key().size()));
                out += ": ";
                write_value(out, kv.value(), depth + 1);
            }
            newline(out, depth);
            out += '}';
            return;
        }
    }
}

}  // namespace

json::value ast_to_json_value(const Program& program, const SourceFile& file) {
    Builder b(file);
    json::object root;
    root["statements"] = b.stmts(program.statements);
    return root;
}

std::string to_pretty_json(const json::value& value) {
    std::string out;
    write_value(out, value, 0);
    return out;
}

std::string ast_to_json(const Program& program, const SourceFile& file) {
    return to_pretty_json(ast_to_json_value(program, file));
}

}  // namespace varpulis::frontend
