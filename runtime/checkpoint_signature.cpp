#include "runtime/checkpoint_signature.hpp"

#include <cstring>
#include <string_view>
#include <unordered_set>

#include "runtime/checkpoint_io.hpp"

namespace varpulis::runtime {

namespace {

using ir::Expr;
using ir::ExprOp;

/// Feeds a plan fragment into FNV-1a 64 in an unambiguous form (every list and string
/// length-prefixed, every optional part tagged).
class Hasher {
public:
    explicit Hasher(const ir::Plan& plan) : plan_(plan) {}

    uint64_t value() const { return h_; }

    void u64(uint64_t v) {
        char b[8];
        std::memcpy(b, &v, 8);
        h_ = fnv1a64(std::string_view(b, 8), h_);
    }
    void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
    void str(std::string_view s) {
        u64(s.size());
        h_ = fnv1a64(s, h_);
    }
    void tag(char c) { u64(static_cast<unsigned char>(c)); }

    /// A schema by content (its index differs between program versions).
    void schema(int32_t id) {
        if (id < 0 || static_cast<size_t>(id) >= plan_.schemas.size()) {
            tag('-');
            return;
        }
        const ir::Schema& s = plan_.schemas[static_cast<size_t>(id)];
        tag('S');
        str(s.name);
        u64(static_cast<uint64_t>(s.kind));
        u64(s.fields.size());
        for (const auto& f : s.fields) str(f);
        u64(s.origins.size());
        for (const auto& o : s.origins) {
            u64(static_cast<uint64_t>(o.from));
            u64(o.candidates.size());
            for (auto [a, b] : o.candidates) {
                i64(a);
                i64(b);
            }
        }
    }

    void global(int32_t id) {
        if (id < 0 || static_cast<size_t>(id) >= plan_.globals.size()) {
            tag('-');
            return;
        }
        tag('G');
        str(plan_.globals[static_cast<size_t>(id)].name);
        u64(plan_.globals[static_cast<size_t>(id)].is_mutable);
    }

    void function(int32_t id) {
        if (id < 0 || static_cast<size_t>(id) >= plan_.functions.size()) {
            tag('-');
            return;
        }
        const ir::Function& f = plan_.functions[static_cast<size_t>(id)];
        tag('F');
        str(f.name);
        // Recursion (direct or mutual) hashes the name only on re-entry.
        if (!in_progress_.insert(id).second) return;
        u64(f.param_count);
        u64(f.local_count);
        stmts(f.body);
        in_progress_.erase(id);
    }

    void expr(const Expr* e) {
        if (!e) {
            tag('0');
            return;
        }
        tag('E');
        u64(static_cast<uint64_t>(e->op));
        u64(static_cast<uint64_t>(e->type));
        u64(static_cast<uint64_t>(e->lit.kind));
        u64(e->lit.b);
        i64(e->lit.i);
        uint64_t bits;
        std::memcpy(&bits, &e->lit.f, 8);
        u64(bits);
        str(e->lit.s);
        u64(static_cast<uint64_t>(e->uop));
        u64(static_cast<uint64_t>(e->bop));
        u64(static_cast<uint64_t>(e->fn));
        u64(e->inclusive);
        switch (e->op) {
            case ExprOp::Global:
            case ExprOp::Field:  // index: the global a missing field falls back to
                global(e->index);
                break;
            case ExprOp::CallUser:
                function(e->index);
                break;
            default:
                i64(e->index);
                break;
        }
        u64(e->slots.size());
        for (uint32_t s : e->slots) u64(s);
        schema(e->slot_schema);
        str(e->name);
        u64(e->names.size());
        for (const auto& n : e->names) str(n);
        u64(e->args.size());
        for (const auto& a : e->args) expr(a.get());
        stmts(e->body);
        u64(e->param_count);
    }

    void stmts(const std::vector<ir::StmtPtr>& body) {
        u64(body.size());
        for (const auto& s : body) stmt(s.get());
    }

    void stmt(const ir::Stmt* s) {
        if (!s) {
            tag('0');
            return;
        }
        tag('T');
        u64(static_cast<uint64_t>(s->op));
        if (s->op == ir::StmtOp::AssignGlobal)
            global(s->index);
        else
            i64(s->index);
        u64(s->exprs.size());
        for (const auto& e : s->exprs) expr(e.get());
        u64(s->blocks.size());
        for (const auto& b : s->blocks) stmts(b);
        str(s->type);
        u64(s->names.size());
        for (const auto& n : s->names) str(n);
    }

    void nfa(const ir::Nfa& n) {
        tag('N');
        u64(static_cast<uint64_t>(n.form));
        u64(static_cast<uint64_t>(n.strategy));
        u64(n.within_ms.has_value());
        i64(n.within_ms.value_or(0));
        u64(n.trailing_negation);
        str(n.partition_field);
        u64(n.aliases.size());
        for (const auto& a : n.aliases) {
            str(a.name);
            schema(a.type_id);
            u64(a.fields.size());
            for (const auto& f : a.fields) str(f);
        }
        u64(n.steps.size());
        for (const auto& s : n.steps) {
            str(s.type);
            schema(s.type_id);
            expr(s.predicate.get());
            u64(static_cast<uint64_t>(s.quantifier));
            i64(s.alias);
            u64(s.own_alias_in_predicate);
        }
        u64(n.negations.size());
        for (const auto& g : n.negations) {
            str(g.type);
            schema(g.type_id);
            expr(g.predicate.get());
            i64(g.after_step);
        }
    }

    void op(const ir::Operator& o) {
        tag('O');
        u64(static_cast<uint64_t>(o.kind));
        schema(o.in);
        schema(o.out);
        u64(o.exprs.size());
        for (const auto& e : o.exprs) expr(e.get());
        u64(o.names.size());
        for (const auto& n : o.names) str(n);
        i64(o.event_type_item);
        u64(static_cast<uint64_t>(o.window.kind));
        i64(o.window.size);
        i64(o.window.slide);
        str(o.window.partition_field);
        i64(o.window.partition_slot);
        u64(o.calls.size());
        for (const auto& c : o.calls) {
            u64(static_cast<uint64_t>(c.fn));
            expr(c.arg.get());
            expr(c.period.get());
        }
        u64(o.aggregates.size());
        for (const auto& a : o.aggregates) {
            str(a.name);
            expr(a.combine.get());
        }
        str(o.partition_field);
        i64(o.partition_slot);
        i64(o.limit);
        str(o.connector);
        if (o.nfa) nfa(*o.nfa);
        else tag('0');
        if (o.join) {
            tag('J');
            i64(o.join->retention_ms);
            u64(o.join->sources.size());
            for (const auto& s : o.join->sources) {
                str(s.name);
                str(s.routed_as);
                schema(s.type_id);
                str(s.key_field);
                i64(s.key_slot);
            }
        } else {
            tag('0');
        }
        if (o.trend) {
            tag('R');
            nfa(o.trend->nfa);
            u64(o.trend->items.size());
            for (const auto& it : o.trend->items) {
                str(it.name);
                u64(static_cast<uint64_t>(it.fn));
                i64(it.alias);
                str(it.field);
            }
        } else {
            tag('0');
        }
    }

private:
    const ir::Plan& plan_;
    uint64_t h_ = 14695981039346656037ull;
    std::unordered_set<int32_t> in_progress_;
};

}  // namespace

uint64_t stream_signature(const ir::Plan& plan, const ir::StreamPlan& sp) {
    Hasher h(plan);
    h.str(sp.name);
    h.u64(sp.inputs.size());
    for (const auto& in : sp.inputs) {
        h.str(in);
        h.schema(plan.routing_schema(in));
    }
    h.u64(sp.merge_filters.size());
    for (const auto& [name, filter] : sp.merge_filters) {
        h.str(name);
        h.expr(filter.get());
    }
    h.u64(sp.emits);
    h.u64(sp.has_process);
    h.u64(sp.ops.size());
    for (const auto& o : sp.ops) h.op(o);
    return h.value();
}

uint64_t global_signature(const ir::Plan& plan, size_t index) {
    Hasher h(plan);
    h.global(static_cast<int32_t>(index));
    for (const auto& init : plan.inits)
        if (init.global == static_cast<int32_t>(index)) h.expr(init.value.get());
    return h.value();
}

}  // namespace varpulis::runtime
