#pragma once
// Plan IR -> LLVM IR. One LLVM function per compiled operator:
//   Filter       int32_t vp_s<stream>_o<op>_filter(const Value* slots, void* ctx)
//   Select/Emit  void    vp_s<stream>_o<op>_project(const Value* in, Value* out, void* ctx)
//   Aggregate    void    vp_s<stream>_o<op>_project(const Value* in, Value* args, void* ctx)
//                (the argument of every call for one row; the accumulation stays in runtime/)
//   Sequence     int32_t vp_s<stream>_o<op>_step<i>(const Value* slots, void* ctx)  per step predicate
//                (trend aggregates too: their GRETA step predicates)
//   merge(...)   int32_t vp_s<stream>_m<entry>_merge(const Value* slots, void* ctx)  per merge filter
//   Print/To/Distinct/Process
//                int32_t vp_s<stream>_o<op>_effect(const Value* slots, void* ctx)
//                (expressions and a `.process` function's body generated; printing, sending,
//                the seen-set and emitted events through the vp_op_* helpers: compiles_effect())
//                and, under the default or strict strategy, its NFA transitions in one function:
//                int32_t vp_s<stream>_o<op>_trans(const SeqTransArgs* args)  (compiles_seq_trans())
//   join(...)    int32_t vp_s<stream>_o<op>_join<src>(const Row* in, Value* out, int64_t* ts, JoinRun* run)
//                per source (compiles_join(); the key index lookup through JoinRun::key)
// and, for a stream made only of those (see fuses()), the stream in one function:
//   Chain        int32_t vp_s<stream>_chain(const Value* in, Value* out, void* ctx)
// or, for a stream that does not fuse, its tail (tail_chain()), vp_s<stream>_o<from>_tail.
// The operators a chain covers are generated inside it and get no kernels of their own (the
// engine reaches them only through the chain).
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

enum class KernelKind : uint8_t { Filter, Project, Chain, Step, Type, Effect, Merge, Join, Fold, Trend, Trans, TransTest, Scan };

/// One generated function.
struct KernelSymbol {
    int32_t stream = -1;
    int32_t op = -1;
    int32_t step = -1;   // Step, TransTest: the NFA step whose predicate this is; Merge: the merge entry;
                         // Join: the source
    int32_t schema = -1; // Type: the routing schema whose rows it loops over
    KernelKind kind = KernelKind::Filter;
    std::string name;
};

/// How often kernel `k` of `plan` runs on the batch path (prepared rows), which decides how
/// much LLVM optimises it at O1/O2 (O0 and O3 treat every kernel alike).
enum class KernelUse : uint8_t {
    /// Type loops; the join kernels, step predicates, step tests, transition kernels and tail
    /// chains of a join or sequence that reads input events; and the chains, operator kernels
    /// and merge filters of a stream some input of which no type loop runs (its per-row path is
    /// then the hot one): the full IR pipeline and code generator.
    PerEvent,
    /// Per closed window or derived row on the batch path: tail chains after a window's
    /// aggregate, or after a join or sequence over other streams' rows, and the kernels of
    /// such joins and sequences; and the chains and kernels of streams whose every input type
    /// has a type loop (the loop inlines their code; they serve rows that are not prepared:
    /// streaming simulate, single-event requests). Optimised IR, then the fast code generator
    /// (`optnone`): the first stage's code made ema's batch run 1.8 % and filter's streaming
    /// Engine::process 5.7 % slower (instructions per event).
    Occasional,
    /// Never called when a kernel table is installed: step predicates beside a transition
    /// kernel (deferred steps only) and the transition kernel of a compact skip_till_any_match
    /// NFA (ir::nfa_compact_any_match: only partitions back on plain runs near a cap ask it).
    /// Compiled as in the first stage, in a full compile too.
    OffBatchPath,
};
KernelUse kernel_use(const ir::Plan& plan, const KernelSymbol& k);

/// kernel_use() == PerEvent.
bool per_event_kernel(const ir::Plan& plan, const KernelSymbol& k);

/// The function attribute build_module() puts on kernels that are not PerEvent; jit/ turns it
/// into `optnone` after the IR pipeline (fast instruction selection, no machine-level passes).
inline constexpr const char* kFastCodegenAttribute = "varpulis-fast-codegen";

/// The function attribute build_module() puts on type loops: at O2 jit/ runs the IR pipeline
/// without its second round (GVN, JumpThreading, SimplifyCFG) on them (as on Occasional
/// kernels), which changed no instruction of the benchmark workloads' loops and was ~4 % of
/// their full-stage compile.
inline constexpr const char* kTypeLoopAttribute = "varpulis-type-loop";

/// The function attribute build_module() adds on OffBatchPath kernels: jit/ gives them the
/// first stage's IR pipeline (SROA) and code generator (CodeGenOptLevel::None, from a module of
/// their own) in a full compile too.
inline constexpr const char* kFirstStageAttribute = "varpulis-first-stage";

/// Whether operator `op` gets a kernel (every other operator stays interpreted).
bool compiles(const ir::Operator& op);

/// Whether operator `op` gets an effect kernel (runtime/abi.hpp EffectKernel):
///   Effect       int32_t vp_s<stream>_o<op>_effect(const Value* slots, void* ctx)
/// `.print(args)` and `.distinct(expr)` generate their expressions, `.print()`, `.to(C)` and
/// `.distinct()` only call the runtime helper (which formats or hashes the whole event), and
/// `.process(f(args))` generates the arguments and f's body (every statement form; the user
/// functions it calls run in the interpreter) unless f's calls may recurse: a compiled body
/// is not entered through runtime::call_function, so a recursion would meet the interpreter's
/// call-depth limit a level later.
/// Printing, sending, the seen-set and emitted events stay in the engine (OpRun).
bool compiles_effect(const ir::Plan& plan, const ir::Operator& op);

/// Whether window operator k of `sp`, which keeps its rows (sliding and sliding count windows,
/// count_distinct, ... : every window ir::window_fuses() refuses) and feeds the Aggregate at
/// k + 1, gets a fold kernel (runtime/abi.hpp FoldKernel):
///   Fold         void vp_s<stream>_o<op>_fold(const Value* rows, uint64_t n, uint64_t width,
///                                             CallAcc* accs, void* const* sets, void* ctx)
/// the loop over a closed window's rows, each call's argument and its accumulation (acc_add's
/// arithmetic; count_distinct's set insert through vp_fold_distinct) are generated; keeping
/// the rows (the partition lookup, eviction, the close decision) stays runtime code
/// (runtime::WindowOperator). Not when an argument calls the interpreter (the fold has no row
/// context) or an ema period is not a constant.
bool compiles_fold(const ir::Plan& plan, const ir::StreamPlan& sp, size_t k);

/// Whether trend aggregate `op` (SEMANTICS §11.3) has no step predicate, so that its whole
/// per-event GRETA update gets a kernel (runtime/abi.hpp TrendKernel):
///   Trend        int32_t vp_s<stream>_o<op>_trend(const Value* slots, int32_t schema, uint64_t* state)
/// the dispatch on the event's type, each step's vertex from its predecessors' totals, the
/// event's own field and the additions to the totals and the result are generated, over the
/// records runtime::TrendAggregator keeps an open window in while a kernel is attached. The
/// partition lookup, opening and closing windows and counts past 64 bits stay runtime code.
/// (A trend with step predicates gets Step kernels for them instead.)
bool compiles_trend(const ir::Plan& plan, const ir::Operator& op);

/// What `explain --engine jit` says about a window with a fold kernel.
std::string fold_note();

/// Whether join operator `op` gets a kernel per source (runtime/abi.hpp JoinKernel):
///   Join         int32_t vp_s<stream>_o<op>_join<src>(const Row* in, Value* out, int64_t* ts, JoinRun* run)
/// the key test, storing the row as the source's latest, the partner checks (present, within
/// the retention) and the joined row from the out schema's origins are generated; the key
/// index (runtime::PartitionIndex) is reached through JoinRun::key, runtime code.
bool compiles_join(const ir::Plan& plan, const ir::Operator& op);

/// What `explain --engine jit` says about a trend aggregate (SEMANTICS §11.3) whose step
/// predicates all have kernels (KernelKind::Step, as a sequence's): the predicates, with the
/// predecessor's fields (`r.price`) read from KernelContext::aliases, are generated code; the
/// GRETA count arithmetic (BigCount) and the vertices stay in runtime::TrendAggregator.
std::string trend_note(const ir::Operator& op);

/// Whether sequence operator `op` gets a transition kernel (runtime/abi.hpp SeqTransKernel):
///   Trans        int32_t vp_s<stream>_o<op>_trans(const SeqTransArgs* args)
/// the NFA's transition decisions and negation tests with every predicate inline, reading
/// bound events in the matcher's store. Sequences and conjunctions under skip_till_next_match
/// or strict_contiguity, and disjunctions, when no predicate needs the interpreter; the runs, the index,
/// expiry, caps and match rows stay in runtime::PatternMatcher.
bool compiles_seq_trans(const ir::Plan& plan, const ir::Operator& op);

/// Whether a sequence with a transition kernel also gets a scan kernel (runtime/abi.hpp
/// SeqScanKernel): a skip_till_any_match NFA the matcher keeps in stack mode
/// (ir::nfa_stack_any_match, at most 64 steps).
///   Scan         uint64_t vp_s<stream>_o<op>_scan(SeqScanArgs* args, uint64_t i, uint64_t end)
bool compiles_seq_scan(const ir::Nfa& nfa);

/// What `explain --engine jit` says about a sequence with a transition kernel (else empty).
std::string seq_note(const ir::Plan& plan, const ir::Operator& op);

/// What `explain --engine jit` says about a compiled join (empty when it is not compiled).
std::string join_note(const ir::Plan& plan, const ir::Operator& op);

/// What `explain --engine jit` should say about a Print, To, Distinct or Process operator:
/// which part is generated code and which the runtime does, or (Process) why the function
/// stays interpreted. Empty for other operators.
std::string effect_note(const ir::Plan& plan, const ir::Operator& op);

/// The emit statements of compiled `.process` bodies, numbered as generated code passes them
/// to vp_op_emit (KernelTable::emits).
std::vector<const ir::Stmt*> emit_statements(const ir::Plan& plan);

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

/// A merge stream's merged schema (rows of every input converted to it), or -1.
int merged_schema(const ir::Plan& plan, const ir::StreamPlan& sp);

/// For a stream that does not fuse(): the first operator of its longest suffix of compiled
/// filters and projections (Emit last, no interpreter call after a projection, no `.process`),
/// which gets a chain kernel of its own, `vp_s<stream>_o<from>_tail` (KernelTable
/// ops[stream][from].chain): what comes out of the operator before it (a sequence's matches, a
/// join's rows, a window's results ...) runs through one call. -1 when there is none.
int tail_chain(const ir::Plan& plan, const ir::StreamPlan& sp);

/// For a stream that no type loop runs inline and has no `.process`: the index of its
/// first operator that is not a compiled Filter or Select (ops.size() when it has none), which
/// a type kernel hands the row to after running the filters and selects before it; else -1.
/// A window there that fuses with its aggregate per event (type_loop_accumulates()) gets its
/// accumulator updates generated inline; any other operator (a buffering window, a sequence,
/// a join, a limit, ...) gets the row through TypeRun::push, and the engine runs it and the
/// operators after it.
int type_loop_handoff(const ir::Plan& plan, const ir::StreamPlan& sp);

/// Whether the operator of type_loop_handoff() is a window that fuses with the aggregate after
/// it so that generated code updates the accumulators (ir::window_fuses_per_event).
bool type_loop_accumulates(const ir::Plan& plan, const ir::StreamPlan& sp);

/// Whether routing schema `schema` gets a Type kernel: some stream reads it, every stream
/// reading it fuses() or has a type_loop_handoff(), so one loop over the rows does everything
/// the engine would (rows other streams read are handed to the engine's queue, which runs
/// after each row: runtime/abi.hpp TypeRun), and the loop generates some work: a stream runs
/// inline, filters or selects before its hand-over, builds a merged row or accumulates a
/// window. When every stream would hand its row untouched to its first operator, the type has
/// no kernel (the per-row path makes fewer indirect calls).
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
