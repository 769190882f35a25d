#pragma once
// Internal to codegen/: the shape predicates and plan walks shared by the generator and the
// public eligibility checks (compiles_*, *_note, codegen_stats, plan_key).

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/plan_codegen.hpp"
#include "runtime/value.hpp"

namespace llvm {
class Value;
}

namespace varpulis::codegen::detail {

using frontend::BinaryOp;
using frontend::UnaryOp;
using ir::Expr;
using ir::ExprOp;
using ir::Kind;
using runtime::ValueKind;

constexpr uint8_t tag(ValueKind k) { return static_cast<uint8_t>(k); }

/// Whether codegen generates `e` itself (its children are generated recursively); otherwise
/// the node is a vp_eval_fallback call. Arity checks keep malformed nodes on the interpreter.
bool inlined(const Expr& e);

/// Children of an inlined node, in the order generated code evaluates them.
template <class F>
void for_children(const Expr& e, F&& f) {
    switch (e.op) {
        case ExprOp::Unary: f(e.args[0].get()); break;
        case ExprOp::Binary:
        case ExprOp::And:
        case ExprOp::Or:
            f(e.args[0].get());
            f(e.args[1].get());
            break;
        case ExprOp::If:
            for (size_t i = 0; i < e.args.size() && i < 3; ++i) f(e.args[i].get());
            break;
        default: break;
    }
}

/// The NFA whose step predicates get kernels: a sequence's, or a trend aggregate's (GRETA);
/// null for other operators.
const ir::Nfa* step_nfa(const ir::Operator& op);

/// Sequence and trend-aggregate operators get one kernel per step predicate (the matching and
/// the GRETA counting are runtime code).
bool compiles_steps(const ir::Operator& op);

/// Mirrors runtime/eval.cpp: past this many loop iterations in one call a function gives up.
constexpr uint64_t kMaxLoopIterations = 10'000'000;

void callees(const ir::Plan& plan, const std::vector<ir::StmtPtr>& body, std::vector<int32_t>& out);
void callees(const ir::Plan& plan, const Expr& e, std::vector<int32_t>& out);

/// How many call levels a call of function `index` may reach (itself included); -1 when it
/// may recurse or reach an invalid function. `on_path` holds the functions being explored,
/// `known` the answers so far (-2: not yet; a function that reaches one on the path is on a
/// cycle itself, so -1 is final too).
int call_depth(const ir::Plan& plan, int32_t index, std::vector<char>& on_path, std::vector<int>& known);

/// A compiled body is not entered through runtime::call_function, so the user functions it
/// calls run one level less deep than in the interpreter. That is invisible as long as no
/// call chain can reach the interpreter's recursion limit (runtime/eval.cpp kMaxCallDepth,
/// 200): bodies whose calls may recurse, or nest this deep, keep the interpreter.
constexpr int kMaxCompiledCallDepth = 100;

/// The user function a `.process` operator calls when its body compiles; else null.
const ir::Function* process_function(const ir::Plan& plan, const ir::Operator& op);

/// A function body's expressions in the order generated code evaluates them (an `if`'s
/// conditions each before its branch).
template <class F>
void for_stmt_exprs(const std::vector<ir::StmtPtr>& body, F&& f) {
    for (const auto& s : body) {
        if (!s) continue;
        switch (s->op) {
            case ir::StmtOp::If:
                for (size_t i = 0; i < s->exprs.size(); ++i) {
                    f(s->exprs[i].get());
                    if (i < s->blocks.size()) for_stmt_exprs(s->blocks[i], f);
                }
                if (s->blocks.size() > s->exprs.size()) for_stmt_exprs(s->blocks[s->exprs.size()], f);
                break;
            case ir::StmtOp::For:
            case ir::StmtOp::While:
                if (!s->exprs.empty()) f(s->exprs[0].get());
                if (!s->blocks.empty()) for_stmt_exprs(s->blocks[0], f);
                break;
            case ir::StmtOp::Emit:
                for (size_t i = 0; i < s->exprs.size() && i < s->names.size(); ++i) f(s->exprs[i].get());
                break;
            case ir::StmtOp::Break:
            case ir::StmtOp::Continue: break;
            default:
                if (!s->exprs.empty()) f(s->exprs[0].get());
                break;
        }
    }
}

/// The emit statements of a body in generation order.
void collect_emits(const std::vector<ir::StmtPtr>& body, std::vector<const ir::Stmt*>& out);

/// The expressions of an effect kernel (see compiles_effect()) in generation order.
template <class F>
void for_effect_exprs(const ir::Plan& plan, const ir::Operator& op, F&& f) {
    switch (op.kind) {
        case ir::OpKind::Print:
            for (const auto& e : op.exprs) f(e.get());
            break;
        case ir::OpKind::Distinct:
            if (!op.exprs.empty()) f(op.exprs[0].get());
            break;
        case ir::OpKind::Process: {
            const ir::Function* fn = process_function(plan, op);
            for (const auto& a : op.exprs[0]->args) f(a.get());
            for_stmt_exprs(fn->body, f);
            break;
        }
        default: break;
    }
}

/// Visits the expressions compiled for each compiled operator, in kernel order.
template <class F>
void for_compiled_exprs(const ir::Plan& plan, F&& f) {
    for (const auto& sp : plan.streams) {
        for (const auto& op : sp.ops) {
            if (!compiles(op)) {
                if (compiles_effect(plan, op)) for_effect_exprs(plan, op, f);
                continue;
            }
            if (op.kind == ir::OpKind::Filter) {
                f(op.exprs[0].get());
                continue;
            }
            if (op.kind == ir::OpKind::Aggregate) {
                for (const auto& call : op.calls) f(call.arg.get());
                continue;
            }
            size_t w = plan.schemas[static_cast<size_t>(op.out)].fields.size();
            for (size_t i = 0; i < w && i < op.exprs.size(); ++i) f(op.exprs[i].get());
        }
        for (const auto& op : sp.ops)
            if (compiles_steps(op))
                for (const auto& step : step_nfa(op)->steps)
                    if (step.predicate) f(step.predicate.get());
        for (const auto& entry : sp.merge_filters)
            if (entry.second) f(entry.second.get());
    }
    // Last, so that no other kernel's numbering moves: negation predicates exist only in
    // transition kernels, which look their string constants up by node (seq_trans).
    for (const auto& sp : plan.streams)
        for (const auto& op : sp.ops)
            if (compiles_seq_trans(plan, op))
                for (const auto& n : op.nfa->negations)
                    if (n.predicate) f(n.predicate.get());
}

/// Walks `e` in generation order: fallback nodes and string constants are numbered in the
/// order generated code refers to them.
struct Collected {
    std::vector<const Expr*> fallbacks;
    std::vector<const Expr*> strings;
    CodegenStats stats;
};

bool is_string_constant(const Expr& e);

void collect(const Expr* e, Collected& out);

Collected collect_plan(const ir::Plan& plan);

/// The last operator of a fused stream that is not a Filter: the projection whose row comes
/// out (filters may follow it). ops.size() when the stream only filters.
size_t last_projection(const ir::StreamPlan& sp);

/// The merge entries of `sp` whose source is routing schema `schema`, in written order (the
/// first whose filter holds takes the event, as Engine::Impl::run_stream does).
std::vector<size_t> merge_entries(const ir::Plan& plan, const ir::StreamPlan& sp, size_t schema);

/// Whether other streams read `sp`'s rows (through the engine's queue).
bool forwards(const ir::Plan& plan, const ir::StreamPlan& sp);

/// Whether an operator's compiled code calls the interpreter anywhere.
bool calls_interpreter(const ir::Plan& plan, const ir::Operator& op);

void serialise(const Expr* e, std::string& out);

/// A compiled function body's statement structure (its expressions are keyed separately).
void serialise_body(const std::vector<ir::StmtPtr>& body, std::string& out);

/// A Value in registers: the kind tag (i8) and the 8-byte payload (i64).
struct Val {
    llvm::Value* kind;
    llvm::Value* payload;
};

/// One record of a trend kernel's state (runtime/abi.hpp TrendKernel) as SSA values: the
/// trend count, and per item its count, sum, min/max and whether it has one (i1).
struct TrendRec {
    llvm::Value* cnt = nullptr;
    std::vector<llvm::Value*> n, sum, ext, has;
};

}  // namespace varpulis::codegen::detail
