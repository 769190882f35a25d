#include "ir/printer.hpp"

#include <charconv>
#include <cmath>

namespace varpulis::ir {

namespace {

using frontend::BinaryOp;
using frontend::UnaryOp;


std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') { out += "\\n"; continue; }
        if (c == '\t') { out += "\\t"; continue; }
        out += c;
    }
    return out + "\"";
}

std::string float_text(double f) {
    if (std::isnan(f)) return "nan";
    if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, f);
    std::string s(buf, r.ptr);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
}

std::string literal_text(const Literal& l) {
    switch (l.kind) {
        case Kind::Null: return "null";
        case Kind::Bool: return l.b ? "true" : "false";
        case Kind::Int: return std::to_string(l.i);
        case Kind::Float: return float_text(l.f);
        case Kind::Str: return quote(l.s);
        case Kind::Duration: return std::to_string(l.i) + "ns";
        case Kind::Timestamp: return "@" + std::to_string(l.i) + "ns";
        default: return "?";
    }
}

std::string join_args(const Plan& plan, const std::vector<ExprPtr>& args, size_t from, bool slots) {
    std::string out;
    for (size_t i = from; i < args.size(); ++i) {
        if (i > from) out += ", ";
        out += expr_to_string(plan, args[i].get(), slots);
    }
    return out;
}

std::string schema_ref(const Plan& plan, int32_t id) {
    if (id < 0) return "-";
    return "#" + std::to_string(id) + " " + plan.schemas[id].name;
}

const char* schema_kind(SchemaKind k) {
    switch (k) {
        case SchemaKind::Event: return "event";
        case SchemaKind::Closed: return "closed";
        case SchemaKind::Match: return "match";
        case SchemaKind::Joined: return "joined";
        case SchemaKind::Dynamic: return "dynamic";
        case SchemaKind::Merged: return "merged";
    }
    return "?";
}

const char* quantifier_text(Quantifier q) {
    switch (q) {
        case Quantifier::One: return "";
        case Quantifier::Plus: return "+";
        case Quantifier::Star: return "*";
        case Quantifier::Optional: return "?";
    }
    return "";
}

const char* op_name(OpKind k) {
    switch (k) {
        case OpKind::Filter: return "filter";
        case OpKind::Select: return "select";
        case OpKind::Emit: return "emit";
        case OpKind::Window: return "window";
        case OpKind::Aggregate: return "aggregate";
        case OpKind::Print: return "print";
        case OpKind::Log: return "log";
        case OpKind::To: return "to";
        case OpKind::Distinct: return "distinct";
        case OpKind::Limit: return "limit";
        case OpKind::Process: return "process";
        case OpKind::Sequence: return "sequence";
        case OpKind::Join: return "join";
        case OpKind::TrendAggregate: return "trend_aggregate";
        case OpKind::PatternLambda: return "pattern";
        case OpKind::Forecast: return "forecast";
        case OpKind::Enrich: return "enrich";
    }
    return "?";
}

std::string window_text(const Window& w) {
    std::string s = window_kind_name(w.kind);
    switch (w.kind) {
        case WindowKind::Tumbling: s += " " + std::to_string(w.size) + "ms"; break;
        case WindowKind::Sliding: s += " " + std::to_string(w.size) + "ms every " + std::to_string(w.slide) + "ms"; break;
        case WindowKind::Count: s += " " + std::to_string(w.size) + " events"; break;
        case WindowKind::SlidingCount:
            s += " " + std::to_string(w.size) + " events every " + std::to_string(w.slide);
            break;
        case WindowKind::Session: s += " gap " + std::to_string(w.size) + "ms"; break;
    }
    if (!w.partition_field.empty()) s += " partition by " + w.partition_field;
    return s;
}

void nfa_text(const Plan& plan, const Nfa& n, const std::string& indent, bool slots, std::string& out) {
    const char* form = n.form == Nfa::Form::Sequence ? "sequence" : n.form == Nfa::Form::And ? "and" : "or";
    out += indent + "nfa " + form + " strategy=" + strategy_name(n.strategy);
    if (n.within_ms) out += " within=" + std::to_string(*n.within_ms) + "ms";
    if (!n.partition_field.empty()) out += " partition=" + n.partition_field;
    if (n.trailing_negation) out += " trailing-not";
    out += "\n";
    for (size_t i = 0; i < n.aliases.size(); ++i)
        out += indent + "  alias " + std::to_string(i) + " " + n.aliases[i].name + ": " +
               schema_ref(plan, n.aliases[i].type_id) + "\n";
    for (size_t i = 0; i < n.steps.size(); ++i) {
        const NfaStep& s = n.steps[i];
        out += indent + "  state " + std::to_string(i) + ": " + s.type + quantifier_text(s.quantifier);
        if (s.alias >= 0) out += " as " + n.aliases[s.alias].name;
        if (s.predicate) out += " where " + expr_to_string(plan, s.predicate.get(), slots);
        if (s.own_alias_in_predicate) out += " [reads own alias]";
        out += "\n";
    }
    for (const auto& neg : n.negations) {
        out += indent + "  not " + neg.type;
        if (neg.predicate) out += " where " + expr_to_string(plan, neg.predicate.get(), slots);
        out += neg.after_step < 0 ? std::string(" (kills any open run)")
                                  : " (between state " + std::to_string(neg.after_step) + " and the next)";
        out += "\n";
    }
}

void operator_text(const Plan& plan, const Operator& o, bool slots, std::string& out) {
    std::string line = "    ";
    line += op_name(o.kind);
    switch (o.kind) {
        case OpKind::Filter:
        case OpKind::Process:
            line += " " + expr_to_string(plan, o.exprs[0].get(), slots);
            break;
        case OpKind::Select:
        case OpKind::Emit:
        case OpKind::Print:
        case OpKind::Log:
        case OpKind::Forecast:
        case OpKind::Enrich:
            line += "(";
            for (size_t i = 0; i < o.exprs.size(); ++i) {
                if (i) line += ", ";
                if (i < o.names.size() && !o.names[i].empty()) line += o.names[i] + ": ";
                line += o.exprs[i] ? expr_to_string(plan, o.exprs[i].get(), slots) : "_";
            }
            line += ")";
            if (o.kind == OpKind::Emit && o.event_type_item >= 0) line += " [event_type from item]";
            break;
        case OpKind::Window:
            line += " " + window_text(o.window);
            break;
        case OpKind::Aggregate:
            line += "(";
            for (size_t i = 0; i < o.aggregates.size(); ++i) {
                if (i) line += ", ";
                line += o.aggregates[i].name + ": " + expr_to_string(plan, o.aggregates[i].combine.get(), slots);
            }
            line += ")";
            if (!o.partition_field.empty()) line += " per " + o.partition_field;
            break;
        case OpKind::To:
        case OpKind::Limit:
            line += o.kind == OpKind::To ? " " + o.connector : " " + std::to_string(o.limit);
            break;
        case OpKind::Distinct:
            line += o.exprs.empty() ? " (whole event)" : " " + expr_to_string(plan, o.exprs[0].get(), slots);
            break;
        case OpKind::PatternLambda:
            line += " " + (o.names.empty() ? std::string() : o.names[0]) + ": " +
                    expr_to_string(plan, o.exprs[0].get(), slots);
            break;
        case OpKind::Join: {
            line += "(";
            for (size_t i = 0; i < o.join->sources.size(); ++i) {
                const auto& s = o.join->sources[i];
                if (i) line += ", ";
                line += s.name + " on " + s.key_field;
            }
            line += ")";
            line += o.join->retention_ms < 0 ? " retention=forever" : " retention=" + std::to_string(o.join->retention_ms) + "ms";
            break;
        }
        default:
            break;
    }
    if (slots) line += "  [" + schema_ref(plan, o.in) + " -> " + schema_ref(plan, o.out) + "]";
    out += line + "\n";
    if (o.kind == OpKind::Aggregate)
        for (size_t i = 0; i < o.calls.size(); ++i) {
            const auto& c = o.calls[i];
            out += "      %" + std::to_string(i) + " = " + std::string(frontend::aggregate_name(c.fn)) + "(";
            if (c.arg) out += expr_to_string(plan, c.arg.get(), slots);
            if (c.period) out += ", " + expr_to_string(plan, c.period.get(), slots);
            out += ")\n";
        }
    if (o.nfa) nfa_text(plan, *o.nfa, "      ", slots, out);
    if (o.trend) {
        nfa_text(plan, o.trend->nfa, "      ", slots, out);
        for (const auto& it : o.trend->items) {
            out += "      item " + it.name + " = " + std::string(frontend::trend_fn_name(it.fn)) + "(";
            if (it.alias >= 0) out += o.trend->nfa.aliases[it.alias].name + (it.field.empty() ? "" : "." + it.field);
            out += ")\n";
        }
    }
}

void stmt_text(const Plan& plan, const Stmt& s, const std::string& indent, std::string& out) {
    auto e0 = [&]() { return s.exprs.empty() ? std::string() : expr_to_string(plan, s.exprs[0].get(), true); };
    auto block = [&](const std::vector<StmtPtr>& b) {
        for (const auto& x : b) stmt_text(plan, *x, indent + "  ", out);
    };
    switch (s.op) {
        case StmtOp::Let: out += indent + "%" + std::to_string(s.index) + " = " + e0() + "\n"; break;
        case StmtOp::Assign: out += indent + "%" + std::to_string(s.index) + " := " + e0() + "\n"; break;
        case StmtOp::AssignGlobal: out += indent + "@" + std::to_string(s.index) + " := " + e0() + "\n"; break;
        case StmtOp::If:
            for (size_t i = 0; i < s.blocks.size(); ++i) {
                if (i < s.exprs.size())
                    out += indent + (i == 0 ? "if " : "elif ") + expr_to_string(plan, s.exprs[i].get(), true) + ":\n";
                else
                    out += indent + "else:\n";
                block(s.blocks[i]);
            }
            break;
        case StmtOp::For:
            out += indent + "for %" + std::to_string(s.index) + " in " + e0() + ":\n";
            block(s.blocks[0]);
            break;
        case StmtOp::While:
            out += indent + "while " + e0() + ":\n";
            block(s.blocks[0]);
            break;
        case StmtOp::Return: out += indent + "return " + e0() + "\n"; break;
        case StmtOp::Break: out += indent + "break\n"; break;
        case StmtOp::Continue: out += indent + "continue\n"; break;
        case StmtOp::Emit: {
            out += indent + "emit " + s.type + "(";
            for (size_t i = 0; i < s.names.size(); ++i) {
                if (i) out += ", ";
                out += s.names[i] + ": " + expr_to_string(plan, s.exprs[i].get(), true);
            }
            out += ")\n";
            break;
        }
        case StmtOp::Expr: out += indent + e0() + "\n"; break;
    }
}

}  // namespace

std::string expr_to_string(const Plan& plan, const Expr* e, bool with_slots) {
    if (!e) return "_";
    switch (e->op) {
        case ExprOp::Const: return literal_text(e->lit);
        case ExprOp::Field: {
            std::string s = e->name.rfind("#len:", 0) == 0 ? "len(" + e->name.substr(5) + ")" : e->name;
            if (with_slots) {
                std::string slots;
                for (size_t i = 0; i < e->slots.size(); ++i) slots += (i ? "|$" : "$") + std::to_string(e->slots[i]);
                s = (slots.empty() ? std::string("absent") : slots) + ":" + e->name;
                if (e->index >= 0) s += "??@" + std::to_string(e->index);
            }
            return s;
        }
        case ExprOp::AliasField:
            return with_slots ? "alias" + std::to_string(e->index) + ".$" + std::to_string(e->slots.at(0)) + ":" + e->name
                              : e->name;
        case ExprOp::AliasLen: return "len(" + e->name + ")";
        case ExprOp::Global: return with_slots ? "@" + std::to_string(e->index) + ":" + e->name : e->name;
        case ExprOp::Local: return with_slots ? "%" + std::to_string(e->index) + ":" + e->name : e->name;
        case ExprOp::Unary: {
            const char* op = e->uop == UnaryOp::Neg ? "-" : e->uop == UnaryOp::Not ? "not " : "~";
            return std::string(op) + "(" + expr_to_string(plan, e->args[0].get(), with_slots) + ")";
        }
        case ExprOp::Binary:
        case ExprOp::And:
        case ExprOp::Or:
            return "(" + expr_to_string(plan, e->args[0].get(), with_slots) + " " + frontend::binary_op_text(e->bop) + " " +
                   expr_to_string(plan, e->args[1].get(), with_slots) + ")";
        case ExprOp::If:
            return "(if " + expr_to_string(plan, e->args[0].get(), with_slots) + " then " +
                   expr_to_string(plan, e->args[1].get(), with_slots) + " else " +
                   expr_to_string(plan, e->args[2].get(), with_slots) + ")";
        case ExprOp::Call:
        case ExprOp::CallUser:
            return e->name + "(" + join_args(plan, e->args, 0, with_slots) + ")";
        case ExprOp::Method:
            return expr_to_string(plan, e->args[0].get(), with_slots) + "." + e->name + "(" +
                   join_args(plan, e->args, 1, with_slots) + ")";
        case ExprOp::Array: return "[" + join_args(plan, e->args, 0, with_slots) + "]";
        case ExprOp::Map: {
            std::string s = "{";
            for (size_t i = 0; i < e->args.size(); ++i) {
                if (i) s += ", ";
                s += quote(i < e->names.size() ? e->names[i] : "") + ": " + expr_to_string(plan, e->args[i].get(), with_slots);
            }
            return s + "}";
        }
        case ExprOp::Index:
            return expr_to_string(plan, e->args[0].get(), with_slots) + "[" +
                   expr_to_string(plan, e->args[1].get(), with_slots) + "]";
        case ExprOp::Slice:
            return expr_to_string(plan, e->args[0].get(), with_slots) + "[" +
                   (e->args.size() > 1 && e->args[1] ? expr_to_string(plan, e->args[1].get(), with_slots) : "") + ":" +
                   (e->args.size() > 2 && e->args[2] ? expr_to_string(plan, e->args[2].get(), with_slots) : "") + "]";
        case ExprOp::Member: return expr_to_string(plan, e->args[0].get(), with_slots) + "." + e->name;
        case ExprOp::Range:
            return expr_to_string(plan, e->args[0].get(), with_slots) + (e->inclusive ? "..=" : "..") +
                   expr_to_string(plan, e->args[1].get(), with_slots);
        case ExprOp::Lambda: {
            std::string s = "(";
            for (uint32_t i = 0; i < e->param_count; ++i) s += (i ? ", %" : "%") + std::to_string(e->index + static_cast<int32_t>(i));
            s += ") => ";
            if (!e->body.empty()) s += "{...} ";
            return s + (e->args.empty() ? "_" : expr_to_string(plan, e->args[0].get(), with_slots));
        }
    }
    return "?";
}

std::string dump_ir(const Plan& plan) {
    std::string out;
    out += "schemas:\n";
    for (size_t i = 0; i < plan.schemas.size(); ++i) {
        const Schema& s = plan.schemas[i];
        out += "  #" + std::to_string(i) + " " + s.name + " (" + schema_kind(s.kind) + "): [";
        for (size_t f = 0; f < s.fields.size(); ++f) out += (f ? ", " : "") + std::string("$") + std::to_string(f) + " " + s.fields[f];
        out += "]\n";
    }
    if (!plan.globals.empty()) {
        out += "globals:\n";
        for (size_t i = 0; i < plan.globals.size(); ++i)
            out += "  @" + std::to_string(i) + " " + plan.globals[i].name + (plan.globals[i].is_mutable ? " (var)" : "") + "\n";
        for (const auto& init : plan.inits)
            out += "  init " + (init.global >= 0 ? "@" + std::to_string(init.global) : std::string("_")) + " = " +
                   expr_to_string(plan, init.value.get(), true) + "\n";
    }
    for (const auto& f : plan.functions) {
        out += "fn " + f.name + "(" + std::to_string(f.param_count) + " params, " + std::to_string(f.local_count) + " locals):\n";
        for (const auto& s : f.body) stmt_text(plan, *s, "  ", out);
    }
    for (const auto& sp : plan.streams) {
        out += "stream " + sp.name + " (id " + std::to_string(sp.id) + ", forwards " + schema_ref(plan, sp.type_id) + "):\n";
        out += "  inputs:";
        for (const auto& in : sp.inputs) out += " " + in;
        out += "\n";
        for (const auto& [name, filter] : sp.merge_filters)
            out += "  merge " + name + (filter ? " where " + expr_to_string(plan, filter.get(), true) : std::string()) + "\n";
        for (const auto& op : sp.ops) operator_text(plan, op, true, out);
        out += "  forward slots: [";
        for (size_t i = 0; i < sp.forward_slots.size(); ++i) out += (i ? ", " : "") + std::to_string(sp.forward_slots[i]);
        out += "]\n";
    }
    out += "routes:\n";
    for (size_t i = 0; i < plan.routes.size(); ++i) {
        if (plan.routes[i].empty()) continue;
        out += "  " + plan.schemas[i].name + " ->";
        for (int32_t s : plan.routes[i]) out += " " + plan.streams[s].name;
        out += "\n";
    }
    return out;
}

std::string explain_plan(const Plan& plan) {
    std::string out;
    for (const auto& sp : plan.streams) {
        out += "stream " + sp.name + "\n";
        out += "  reads:";
        for (const auto& in : sp.inputs) out += " " + in;
        out += "\n";
        for (const auto& [name, filter] : sp.merge_filters)
            if (filter) out += "  merge " + name + " where " + expr_to_string(plan, filter.get(), false) + "\n";
        for (const auto& op : sp.ops) operator_text(plan, op, false, out);
        out += std::string("  output: ") +
               (sp.emits ? "emitted events" : sp.has_process ? "events from `emit` statements" : "none (forwards only)") +
               "\n";
    }
    if (plan.streams.empty()) out += "(no streams)\n";
    return out;
}

}  // namespace varpulis::ir
