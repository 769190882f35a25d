#pragma once
// The reference expression evaluator over plan-IR expressions (SEMANTICS §4, VPL.md §9c).
// The interpreter calls it for every predicate and projection; generated code calls the same
// helpers for everything it does not inline, so both engines share one definition.

#include <cstdint>
#include <string>
#include <vector>

#include "ir/plan.hpp"
#include "runtime/arena.hpp"
#include "runtime/row.hpp"
#include "runtime/value.hpp"

namespace varpulis::runtime {

/// Engine-wide state the evaluator reads and writes. One per engine; not thread-safe.
struct Runtime {
    const ir::Plan* plan = nullptr;
    /// Strings, arrays and maps computed by expressions, and materialised rows that outlive an
    /// input event. Lives as long as the engine.
    Arena* heap = nullptr;
    Interner* interner = nullptr;
    /// Values of plan.globals; set by run_global_inits(), updated by `:=` in functions.
    std::vector<Value> globals;
    /// State of uuid() (not deterministic by design; seeded from the clock at start).
    uint64_t uuid_state = 0x9E3779B97F4A7C15ull;
};

/// An event created by an `emit Type(...)` statement while a `.process` call runs.
struct EmittedEvent {
    const StrObj* type = nullptr;           // interned
    std::vector<Field> fields;              // names interned, in statement order; absent values omitted
};

struct EvalContext {
    Runtime* rt = nullptr;
    /// The current event: Field nodes read its slots (slot indices of row->schema).
    const Row* row = nullptr;
    /// Inside pattern predicates: the event bound to each NFA alias (nullptr = unbound), and
    /// how many events each alias bound so far (len(alias)).
    const Row* const* aliases = nullptr;
    const uint32_t* alias_counts = nullptr;
    /// Locals of the running function or lambda (sized by the caller).
    Value* locals = nullptr;
    /// Collects `emit` statements; null outside `.process`.
    std::vector<EmittedEvent>* emitted = nullptr;
    /// Timestamp (ms) of the event being processed, for now(); has_now false at load time.
    int64_t now_ms = 0;
    bool has_now = false;
};

/// Evaluates `e`. Returns Absent for "no value" (missing field, kind mismatch, division by
/// zero, bad arity ...), never throws.
Value eval(const ir::Expr& e, EvalContext& ctx);

/// Boolean contexts (`.where`, `.having`, step predicates): true only for Bool true.
bool eval_condition(const ir::Expr* e, EvalContext& ctx);

/// The context an expression on `row` is evaluated in: its fields, and now() = its time.
inline EvalContext row_context(Runtime& rt, const Row& row) {
    EvalContext ctx;
    ctx.rt = &rt;
    ctx.row = &row;
    ctx.now_ms = row.ts;
    ctx.has_now = true;
    return ctx;
}

/// The context pattern predicates are evaluated in: candidate `row` with the current alias
/// bindings (SEMANTICS §9.2).
inline EvalContext pattern_context(Runtime& rt, const Row& row, const Row* const* aliases,
                                   const uint32_t* alias_counts) {
    EvalContext ctx = row_context(rt, row);
    ctx.aliases = aliases;
    ctx.alias_counts = alias_counts;
    return ctx;
}

/// A pattern predicate on candidate `row` with the current alias bindings; a null predicate
/// holds.
inline bool pattern_condition(Runtime& rt, const ir::Expr* e, const Row& row, const Row* const* aliases,
                              const uint32_t* alias_counts) {
    if (!e) return true;
    EvalContext ctx = pattern_context(rt, row, aliases, alias_counts);
    return eval_condition(e, ctx);
}

/// Calls user function `index` with `argc` arguments (missing ones unbound, extra ignored).
Value call_function(int32_t index, const Value* args, size_t argc, EvalContext& ctx);

/// Evaluates plan.inits in order into rt.globals (sized to plan.globals).
void run_global_inits(Runtime& rt);

}  // namespace varpulis::runtime
