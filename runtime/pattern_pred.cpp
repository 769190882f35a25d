#include "runtime/pattern_pred.hpp"

#include <algorithm>

namespace varpulis::runtime {

using frontend::BinaryOp;
using ir::Expr;
using ir::ExprOp;
using ir::Kind;

bool PatternPred::compile(const Expr* e, Runtime& rt, PatternPred& out) {
    out = PatternPred{};
    if (!e || !rt.plan) return false;
    if (!compile_into(*e, rt, out)) {
        out = PatternPred{};
        return false;
    }
    return true;
}

bool PatternPred::compile_into(const Expr& e, Runtime& rt, PatternPred& out) {
    if (e.op == ExprOp::And) {
        if (e.args.size() != 2 || !e.args[0] || !e.args[1]) return false;
        return compile_into(*e.args[0], rt, out) && compile_into(*e.args[1], rt, out);
    }
    if (e.op != ExprOp::Binary || e.args.size() != 2 || !e.args[0] || !e.args[1]) return false;
    switch (e.bop) {
        case BinaryOp::Eq:
        case BinaryOp::Ne:
        case BinaryOp::Lt:
        case BinaryOp::Le:
        case BinaryOp::Gt:
        case BinaryOp::Ge: break;
        default: return false;
    }
    Cmp c;
    c.op = e.bop;
    if (!compile_operand(*e.args[0], rt, c.a) || !compile_operand(*e.args[1], rt, c.b)) return false;
    for (const Operand* o : {&c.a, &c.b})
        if (o->kind == Operand::kAlias && std::find(out.aliases_.begin(), out.aliases_.end(), o->index) == out.aliases_.end())
            out.aliases_.push_back(o->index);
    out.cmps_.push_back(c);
    return true;
}

bool PatternPred::compile_operand(const Expr& e, Runtime& rt, Operand& out) {
    out = Operand{};
    switch (e.op) {
        case ExprOp::Const: {
            // As eval's literal(): a string constant is the interned copy (same pointer every time).
            const ir::Literal& l = e.lit;
            out.kind = Operand::kConst;
            switch (l.kind) {
                case Kind::Null: out.lit = Value::null(); return true;
                case Kind::Bool: out.lit = Value::boolean(l.b); return true;
                case Kind::Int: out.lit = Value::integer(l.i); return true;
                case Kind::Float: out.lit = Value::floating(l.f); return true;
                case Kind::Timestamp: out.lit = Value::timestamp(l.i); return true;
                case Kind::Duration: out.lit = Value::duration(static_cast<uint64_t>(l.i)); return true;
                case Kind::Str:
                    if (!rt.interner) return false;  // eval would copy it per call: keep eval
                    out.lit = Value::string(rt.interner->intern(l.s));
                    return true;
                default: out.lit = Value::absent(); return true;
            }
        }
        case ExprOp::Field:
            out.kind = Operand::kField;
            out.index = e.index;
            out.expr = &e;
            out.one_slot = e.slots.size() == 1;
            if (out.one_slot) out.slot = e.slots[0];
            return true;
        case ExprOp::AliasField:
            if (e.index < 0 || e.slots.empty()) {  // eval: no value
                out.kind = Operand::kConst;
                out.lit = Value::absent();
                return true;
            }
            out.kind = Operand::kAlias;
            out.index = e.index;
            out.slot = e.slots[0];
            out.slot_schema = e.slot_schema;
            out.expr = &e;
            return true;
        default: return false;
    }
}

bool PatternPred::field_alias_cmp(size_t i, FieldAliasCmp& out) const {
    if (i >= cmps_.size()) return false;
    const Cmp& c = cmps_[i];
    const Operand* f = &c.a;
    const Operand* a = &c.b;
    BinaryOp op = c.op;
    if (f->kind == Operand::kAlias && a->kind == Operand::kField) {
        std::swap(f, a);
        switch (op) {  // `alias.f < field` is `field > alias.f`
            case BinaryOp::Lt: op = BinaryOp::Gt; break;
            case BinaryOp::Le: op = BinaryOp::Ge; break;
            case BinaryOp::Gt: op = BinaryOp::Lt; break;
            case BinaryOp::Ge: op = BinaryOp::Le; break;
            default: break;
        }
    }
    if (f->kind != Operand::kField || !f->one_slot || a->kind != Operand::kAlias) return false;
    out.op = op;
    out.field_slot = f->slot;
    out.alias = a->index;
    out.alias_slot = a->slot;
    out.alias_schema = a->slot_schema;
    return true;
}

const Value* PatternPred::other_schema(const Operand& o, const PatternAliasRef& r, Runtime& rt) {
    // A trend's preceding event of another step's type: the field by name, as eval reads it.
    if (o.expr->names.empty()) return &r.slots[o.slot];
    if (r.schema < 0 || static_cast<size_t>(r.schema) >= rt.plan->schemas.size()) return &kAbsent;
    int s = rt.plan->schemas[static_cast<size_t>(r.schema)].slot_of(o.expr->names[0]);
    return s >= 0 ? &r.slots[s] : &kAbsent;
}

}  // namespace varpulis::runtime
