#pragma once
// Plan IR -> LLVM IR. One LLVM function per compiled operator:
//   Filter       int32_t vp_s<stream>_o<op>_filter(const Value* slots, void* ctx)
//   Select/Emit  void    vp_s<stream>_o<op>_project(const Value* in, Value* out, void* ctx)
//   Aggregate    void    vp_s<stream>_o<op>_project(const Value* in, Value* args, void* ctx)
//                (the argument of every call for one row; the accumulation stays in runtime/)
//   Sequence     int32_t vp_s<stream>_o<op>_step<i>(const Value* slots, void* ctx)  per step predicate
// and, for a stream made only of those (see fuses()), the stream in one function:
//   Chain        int32_t vp_s<stream>_chain(const Value* in, Value* out, void* ctx)
// and, for an input event type whose every stream fuses and feeds no other (type_fuses()),
// everything the program does with such events in one loop over a run of rows:
//   Type         uint64_t vp_t<schema>_type(const Value* rows, uint64_t n, void* ctx)
//                (windows fused with their aggregate: accumulator updates inline, the group
//                lookup and window closes through KernelContext::run)
// with the ABI of runtime/abi.hpp. Const, Field, Global, numeric arithmetic and comparisons,
// `not`/negation, three-valued and/or and `if` are generated inline (string constants are
// loaded from KernelContext::consts) with the exact semantics of
// runtime/value_ops.cpp; every other IR node (strings, calls, arrays, maps, methods, aliases,
// `in` ...) becomes a call to vp_eval_fallback on that node, which runs the interpreter on it.
//
// Nothing here throws for any plan. LLVM types appear only as forward declarations; only jit/
// includes this header.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/plan.hpp"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace varpulis::codegen {

enum class KernelKind : uint8_t { Filter, Project, Chain, Step, Type };

/// One generated function.
struct KernelSymbol {
    int32_t stream = -1;
    int32_t op = -1;
    int32_t step = -1;   // Step: the NFA step whose predicate this is
    int32_t schema = -1; // Type: the routing schema whose rows it loops over
    KernelKind kind = KernelKind::Filter;
    std::string name;
};

/// Whether operator `op` gets a kernel (every other operator stays interpreted).
bool compiles(const ir::Operator& op);

/// The IR nodes generated code evaluates through vp_eval_fallback, numbered in the order the
/// kernels refer to them (the KernelContext::nodes table). The numbering depends only on the
/// plan's structure, so identical plans get identical tables.
std::vector<const ir::Expr*> fallback_nodes(const ir::Plan& plan);

/// The string constants generated code loads from KernelContext::consts, by number.
std::vector<const ir::Expr*> string_constants(const ir::Plan& plan);

/// Whether stream `sp` gets a Chain kernel: every operator is a compiled Filter, Select or
/// Emit (Emit last), it has no merge filters, and no operator after the first projection
/// calls the interpreter.
bool fuses(const ir::Plan& plan, const ir::StreamPlan& sp);

/// For a stream of the form [compiled filters and selects] window [any operators]: the
/// window's operator index; else -1. A type kernel runs the filters and selects, then feeds
/// the window: with type_loop_accumulates(), by updating its aggregate's accumulators inline;
/// otherwise through TypeRun::window_push (the window keeps rows). The engine runs what
/// follows when a window closes.
int type_loop_window(const ir::Plan& plan, const ir::StreamPlan& sp);

/// Whether the window of type_loop_window() fuses with the aggregate after it so that
/// generated code updates the accumulators (ir::window_fuses_per_event).
bool type_loop_accumulates(const ir::Plan& plan, const ir::StreamPlan& sp);

/// Whether routing schema `schema` gets a Type kernel: some stream reads it, every stream
/// reading it fuses() or has a type_loop_window(), so one loop over the rows does everything
/// the engine would (rows other streams read are handed to the engine's queue, which runs
/// after each row: runtime/abi.hpp TypeRun).
bool type_fuses(const ir::Plan& plan, size_t schema);

/// Counts of IR nodes in compiled operators: generated inline, and calling the interpreter.
struct CodegenStats {
    size_t inlined = 0;
    size_t fallbacks = 0;
};
CodegenStats codegen_stats(const ir::Plan& plan);

/// An exact text key of everything code generation depends on (the IR dump plus the compiled
/// expressions with bit-exact literals). Equal keys mean interchangeable machine code.
std::string plan_key(const ir::Plan& plan);

/// Builds the module of every kernel of `plan` in `context`. The caller sets the target
/// triple and data layout before optimising.
std::unique_ptr<llvm::Module> build_module(const ir::Plan& plan, llvm::LLVMContext& context,
                                           std::vector<KernelSymbol>& kernels);

}  // namespace varpulis::codegen
