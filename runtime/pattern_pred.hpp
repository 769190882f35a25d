#pragma once
// Step predicates of the SASE+ matcher in a flat form it can test without the evaluator.
//
// The matcher tests step predicates once per run or compact node and event, so on pattern
// workloads most of its time went to setting up an EvalContext, loading alias rows and walking
// the expression tree (or calling a kernel through the same context) for predicates such as
// `price > rising.price and v < 50`. A PatternPred holds such a predicate as a list of
// comparisons whose operands are event fields, fields of bound aliases and constants, and
// tests it straight on the slots: a `Value` read per operand, same-kind ints and floats
// compared inline, everything else through value_ops' binary_op. The verdict is
// eval_condition's, bit for bit:
//   * `and` is true only when both sides are Bool true (logical_and), and without effects the
//     order and short-circuit do not matter, so a conjunction holds iff every comparison does;
//   * operands are read as eval reads Field (first present slot, then the global fallback),
//     AliasField (unbound: absent; a row of another schema: by field name) and Const (string
//     constants interned once, as eval interns them on every call);
//   * the inline cases are eval's own fast paths (int: all six comparisons; float: the four
//     orderings, `==`/`!=` go to binary_op for NaN rules).
// Anything else (calls, arithmetic, `or`, `not`, len(alias) ...) is not compiled: the matcher
// keeps evaluating it as before.

#include <cstdint>
#include <vector>

#include "frontend/ast.hpp"
#include "ir/plan.hpp"
#include "runtime/eval.hpp"
#include "runtime/value.hpp"
#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

/// The event bound to an alias, as the matcher stores it: its slots (null: unbound) and schema.
struct PatternAliasRef {
    const Value* slots = nullptr;
    int32_t schema = -1;
};

class PatternPred {
public:
    /// The flat form of `e`, or false when `e` is not a conjunction of supported comparisons
    /// (or is null: the matcher treats a null predicate as true on its own).
    static bool compile(const ir::Expr* e, Runtime& rt, PatternPred& out);

    /// eval_condition(e) on the current event's `slots` with aliases resolved by
    /// `alias(index) -> PatternAliasRef`.
    template <class AliasFn>
    [[gnu::always_inline]] bool test(Runtime& rt, const Value* slots, AliasFn&& alias) const {
        for (const Cmp& c : cmps_) {
            const Value* a = operand(rt, c.a, slots, alias);
            const Value* b = operand(rt, c.b, slots, alias);
            if (!compare(rt, c.op, *a, *b)) return false;
        }
        return true;
    }

    /// Aliases the predicate reads (AliasField operands), each once.
    const std::vector<int32_t>& aliases() const { return aliases_; }
    size_t size() const { return cmps_.size(); }

    /// Comparison `i` seen as `field OP alias.f` between a one-slot event field and an alias
    /// field (the operands swapped and OP mirrored when the alias came first), for the
    /// matcher's reasoning about orderings; false for any other shape.
    struct FieldAliasCmp {
        frontend::BinaryOp op = frontend::BinaryOp::Eq;
        uint32_t field_slot = 0;   // slot of the current event's field
        int32_t alias = -1;
        uint32_t alias_slot = 0;   // slot read in the bound event
        int32_t alias_schema = -1; // the schema alias_slot indexes (-1: any)
    };
    bool field_alias_cmp(size_t i, FieldAliasCmp& out) const;

private:
    struct Operand {
        enum Kind : uint8_t { kConst, kField, kAlias } kind = kConst;
        int32_t index = -1;            // kField: global fallback (-1: none); kAlias: alias
        uint32_t slot = 0;             // kField with one slot, kAlias: the slot read
        int32_t slot_schema = -1;      // kAlias: the schema `slot` indexes
        const ir::Expr* expr = nullptr;  // kField: every candidate slot; kAlias: names[0]
        bool one_slot = false;         // kField: exactly one candidate slot
        Value lit;                     // kConst
    };
    struct Cmp {
        frontend::BinaryOp op = frontend::BinaryOp::Eq;
        Operand a, b;
    };

    static bool compile_operand(const ir::Expr& e, Runtime& rt, Operand& out);
    static bool compile_into(const ir::Expr& e, Runtime& rt, PatternPred& out);

    // Operands are returned by address (the slot, the constant, the global): no copies.
    template <class AliasFn>
    [[gnu::always_inline]] static const Value* operand(Runtime& rt, const Operand& o, const Value* slots, AliasFn& alias) {
        if (o.kind == Operand::kAlias) {
            PatternAliasRef r = alias(o.index);
            if (!r.slots) return &kAbsent;
            if (o.slot_schema >= 0 && r.schema != o.slot_schema) [[unlikely]]
                return other_schema(o, r, rt);
            return &r.slots[o.slot];
        }
        if (o.kind == Operand::kField) {
            if (o.one_slot) {
                if (slots[o.slot].present()) return &slots[o.slot];
            } else {
                for (uint32_t s : o.expr->slots)
                    if (slots[s].present()) return &slots[s];
            }
            if (o.index >= 0 && static_cast<size_t>(o.index) < rt.globals.size()) return &rt.globals[o.index];
            return &kAbsent;
        }
        return &o.lit;
    }

    static inline const Value kAbsent{};

    static const Value* other_schema(const Operand& o, const PatternAliasRef& r, Runtime& rt);

    [[gnu::always_inline]] static bool compare(Runtime& rt, frontend::BinaryOp op, const Value& a, const Value& b) {
        using frontend::BinaryOp;
        if (a.kind == b.kind) {
            if (a.kind == ValueKind::Int) {
                switch (op) {
                    case BinaryOp::Eq: return a.i == b.i;
                    case BinaryOp::Ne: return a.i != b.i;
                    case BinaryOp::Lt: return a.i < b.i;
                    case BinaryOp::Le: return a.i <= b.i;
                    case BinaryOp::Gt: return a.i > b.i;
                    case BinaryOp::Ge: return a.i >= b.i;
                    default: break;
                }
            } else if (a.kind == ValueKind::Float) {
                switch (op) {
                    case BinaryOp::Lt: return a.f < b.f;
                    case BinaryOp::Le: return a.f <= b.f;
                    case BinaryOp::Gt: return a.f > b.f;
                    case BinaryOp::Ge: return a.f >= b.f;
                    default: break;
                }
            }
        }
        Value v = binary_op(op, a, b, *rt.heap);
        return v.kind == ValueKind::Bool && v.b;
    }

    std::vector<Cmp> cmps_;
    std::vector<int32_t> aliases_;
};

}  // namespace varpulis::runtime
