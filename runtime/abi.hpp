#pragma once
// The contract between the runtime and generated code (codegen/, jit/): the row layout that
// compiled kernels read and write, the kernel signatures, and the `extern "C"` helpers that
// generated code calls for everything it does not inline.
//
// Value layout (runtime/value.hpp), 16 bytes, 8-aligned:
//   offset 0  u8  ValueKind tag (0 Absent, 1 Null, 2 Bool, 3 Int, 4 Float, 5 Str, 6 Timestamp,
//                 7 Duration, 8 Array, 9 Map)
//   offset 1..7   padding, never read
//   offset 8  8-byte payload: i64 (Int, Timestamp, Duration), f64 bits (Float), bool in the low
//                 byte with the other 7 bytes zero (Bool), pointer (Str, Array, Map); 0 when
//                 Absent or Null
// A row is a contiguous array of Values, one per field of its schema (ir::Schema::fields).
//
// Kernels (one per compiled operator; `ctx` points to a KernelContext):
//   Filter      int32_t pred(const Value* slots, void* ctx)            1 = keep the row
//   Select/Emit void    proj(const Value* in, Value* out, void* ctx)   writes every output slot
//   Aggregate   void    args(const Value* in, Value* out, void* ctx)   out[c]: argument of call c
//   Sequence    int32_t step(const Value* slots, void* ctx)            per NFA step predicate;
//               alias fields read KernelContext::aliases (rows bound so far)
//   Effect      int32_t effect(const Value* slots, void* ctx)          .print/.to/.distinct/
//               .process: expressions (and a called function's body) in generated code, the
//               effect through the vp_op_* helpers (OpRun); 1 = the row goes on
//   Fold        void    fold(const Value* rows, uint64_t n, uint64_t width, CallAcc* accs,
//               void* const* sets, void* ctx)   a kept-rows window's aggregate (FoldKernel below)
//   Trend       int32_t trend(const Value* slots, int32_t schema, uint64_t* state)  a
//               predicate-free trend's GRETA update (TrendKernel below; state layout there)
// (changing any of these layouts bumps jit/jit_module_abi.hpp kJitModuleAbi)
// and one fused kernel per stream whose operators are all compiled filters and projections:
//   Chain       int32_t chain(const Value* in, Value* out, void* ctx)  1 = a row comes out; it
//               is in `out` (the last projection's schema), or is `in` when nothing projects
// and one per input event type (routing schema) whose every routed stream fuses into a chain
// or feeds a fused window (see TypeRun):
//   Type        uint64_t type(const Value* rows, uint64_t n, void* ctx)  runs every routed
//               stream, in route order, on each of the `n` rows (back to back, each as wide as
//               the schema) and emits outputs through KernelContext::run as they come;
//               returns the rows finished (n, or fewer when `emit` asked it to stop)
// Kernels never throw and never unwind: every helper below is noexcept and turns a C++
// exception from the shared semantics into an absent result.
//
// Lockstep with the interpreter: generated code inlines only the kind-checked fast paths of
// Const, Field, arithmetic and comparisons on numbers, and three-valued logic, with exactly the
// semantics of runtime/value_ops.cpp; every other node is a call to vp_eval_fallback, which
// evaluates that IR subtree with runtime::eval.

#include <cstddef>
#include <cstdint>

#include "runtime/row.hpp"
#include "runtime/value.hpp"

namespace varpulis::ir {
struct Expr;
}

namespace varpulis::runtime {

struct EvalContext;

/// What a kernel's `ctx` points to. Built by the engine on the stack for each call.
/// `nodes` is the fallback-node table of the installed KernelTable: generated code loads the
/// IR node of fallback number k from nodes[k] (so compiled code holds no pointer into any one
/// plan, and the code cache can serve an identical plan). `consts` are the plan's string
/// constants, interned by the engine that runs the code (KernelTable::constants): string k is
/// consts[k]. Pattern step predicates also get the rows bound to each alias (nullptr =
/// unbound) and how many events each alias bound (len(alias)); elsewhere both are null.
/// Type kernels get `run`, the engine's receiver of their outputs.
/// Layout is part of the ABI: offset 0 `eval`, 8 `nodes`, 16 `consts`, 24 `aliases`,
/// 32 `alias_counts`, 40 `run`, 48 `op`, 56 `locals`; a Row's slot pointer is at its offset 0.
/// Effect kernels (.print, .to, .distinct, .process) get `op` (offset 48), the engine's side
/// of the operator (OpRun), and a compiled function body keeps its frame in `locals` (offset
/// 56; null elsewhere), which vp_eval_fallback hands to the interpreter as its locals.
struct TypeRun;
struct OpRun;
struct KernelContext {
    EvalContext* eval;
    const ir::Expr* const* nodes;
    const Value* consts;
    const Row* const* aliases = nullptr;
    const uint32_t* alias_counts = nullptr;
    TypeRun* run = nullptr;
    OpRun* op = nullptr;
    Value* locals = nullptr;
};

/// What a type kernel reports to while it loops over a run of rows (the engine implements
/// it). Generated code loads both pointers once per call and calls them directly (no helper
/// in between: an output costs one indirect call). `emit` (offset 0): row `row` (0-based in
/// the run) of stream `stream` produced the output row `out` (the stream's Emit schema; valid
/// during the call); returns 0 to stop the loop (the output sink failed), 1 to go on.
/// `begin_row` (offset 8): row `row` is about to be evaluated, so the EvalContext behind
/// KernelContext::eval must describe it (only called by kernels that reach the interpreter
/// through vp_eval_fallback). Both are noexcept.
///
/// A stream whose rows other streams read also hands its row to `emit` (the stream's last
/// projection's row, or the input row when it only filters); the engine queues it for its
/// readers, and `end_row` (offset 32) runs that queue after the row's last stream (SEMANTICS
/// §1.2: an event's routes first, then what they derived); 0 = stop. Every callback above
/// that enters the engine (emit, window_enter, window_close, push, flush, end_row) sets
/// `entered` (offset 96); a row that left it 0 queued nothing and used no scratch, so the
/// kernel calls `end_row` only after rows that set it, and clears it after the call.
///
/// Streams of the form [filters and selects] window aggregate [anything] (a window the engine
/// fuses with its aggregate, runtime/window_aggregate.hpp) update the window's accumulators in
/// generated code: `window_enter` (offset 16) hands over row `row` of stream `stream`, as
/// `slots` in the window's input schema, to that window, which first runs what the event's
/// arrival closes (the stream's remaining operators, outputs included), and returns the
/// event's group (runtime/window_state.hpp WindowCursor), or null to stop the loop.
/// `window_close` (offset 24) closes a count window that the event filled (the partition in
/// `windows[stream]->cursor.part`); 0 = stop. The next event of that partition reopens it in
/// generated code (the group the partition keeps, reset as WindowAggregate::open_group does)
/// without entering the engine, so the engine recycles its scratch in `window_close`. Before `window_enter`, generated code looks the
/// event's open group up itself in `windows[stream]` (offset 48, a runtime/window_state.hpp
/// WindowAccess: key cache by string address, partitions, groups, accumulators) with the
/// row's time `ts[row]` (offset 56); when that finds nothing it tries `window_enter_open`
/// (offset 64) on the same pointer: the event's group when it closes nothing and joins an
/// open group (runtime::WindowAggregate::enter_open, which also caches the key's address),
/// else null. Neither needs anything of the engine.
///
/// Any other stream of the form [filters and selects] X [anything] (X a buffering window, a
/// sequence, a join, a limit, ...: codegen::type_loop_handoff) hands row `row`, as `slots`
/// after its filters and selects, to `push` (offset 40) with X's operator index `op`; the
/// engine runs X and what follows, outputs included; 0 = stop.
struct WindowCursor;
struct TypeRun {
    int32_t (*emit)(TypeRun* self, int32_t stream, uint64_t row, const Value* out) noexcept;
    void (*begin_row)(TypeRun* self, uint64_t row) noexcept;
    WindowCursor* (*window_enter)(TypeRun* self, int32_t stream, uint64_t row, const Value* slots) noexcept;
    int32_t (*window_close)(TypeRun* self, int32_t stream, uint64_t row) noexcept;
    int32_t (*end_row)(TypeRun* self, uint64_t row) noexcept;
    int32_t (*push)(TypeRun* self, int32_t stream, int32_t op, uint64_t row, const Value* slots) noexcept;
    void* const* windows;   // offset 48: per stream, its fused window's WindowAccess (or null)
    const int64_t* ts;      // offset 56: the run's event times, by row
    WindowCursor* (*window_enter_open)(void* window, const Value* slots, int64_t ts) noexcept;
    /// Buffered outputs: kernels whose streams all end in an Emit, feed no stream and keep no
    /// state write each output as an entry at `out_next` (offset 72): i32 stream at 0, u64 row
    /// at 8, the Emit row's Values from 16; entries are 8-aligned and at most
    /// kMaxOutputEntry bytes. When an entry would pass `out_end` (offset 80) they call
    /// `flush` (offset 88), which hands the entries to the engine's output in order and resets
    /// `out_next`; 0 = stop. The engine flushes what is left after the kernel returns. Kernels
    /// keep their position in a register and store it to `out_next` only before `flush` and
    /// when they return.
    unsigned char* out_next;
    unsigned char* out_end;
    int32_t (*flush)(TypeRun* self) noexcept;
    uint32_t entered;
};
inline constexpr size_t kMaxOutputEntry = 4096;

/// The engine's side of an effect kernel (one operator, one row; built per call). Generated
/// code reaches it only through the vp_op_* helpers below, which are noexcept: the engine's
/// callbacks catch whatever they throw, keep it and return 0, and the engine rethrows once
/// the kernel has returned.
///   print    `.print(...)` of the row: the n printed values (values null, n 0: the whole event)
///   send     `.to(Connector)` of the row (the connector is the operator's)
///   distinct whether the row's key was not seen yet (and remember it); key null: the whole
///            event is the key, formatted and hashed by the runtime
///   emit     `.process`: the function's emit statement `index` (KernelTable::emits) with its
///            field values, in statement order (absent ones are left out, as the interpreter does)
struct OpRun {
    int32_t (*print)(OpRun* self, const Value* values, uint32_t n) noexcept;
    int32_t (*send)(OpRun* self) noexcept;
    int32_t (*distinct)(OpRun* self, const Value* key) noexcept;
    int32_t (*emit)(OpRun* self, uint32_t index, const Value* values) noexcept;
};

/// A join (runtime::JoinOperator, SEMANTICS §10) keeps per source, per key number, the
/// source's latest row: `width` Values at sides[src].slots + key * width (width: the
/// source schema's field count) and its JoinMeta at sides[src].meta[key]. The arrays move when
/// a new key grows them, so generated code loads `sides` after JoinRun::key returns.
/// JoinMeta layout: ts 0, type 8, raw 16, raw_count 24, schema 28, present 32 (0: none, or
/// dropped as too old). JoinSide: slots 0, meta 8. JoinRun: sides 0, key 8.
struct JoinMeta {
    int64_t ts = 0;
    const StrObj* type = nullptr;
    const Field* raw = nullptr;
    uint32_t raw_count = 0;
    int32_t schema = -1;
    uint8_t present = 0;
};
struct JoinSide {
    Value* slots;
    JoinMeta* meta;
};
struct JoinRun {
    JoinSide* sides;
    /// The number of key `*key` (present) in the join's key index (runtime::PartitionIndex, key
    /// text of SEMANTICS §6.5), added when new: every source's arrays grow with it, so `sides`
    /// moves. UINT32_MAX when it could not grow.
    uint32_t (*key)(JoinRun* self, const Value* key) noexcept;
};

/// Join kernels, one per join operator and source (codegen::compiles_join):
///   int32_t join(const Row* in, Value* out, int64_t* ts, JoinRun* run)
/// for an event `in` of the source's schema: tests its key (absent: returns 2, the next source
/// of that schema may take it), finds the key's number (JoinRun::key), stores the row as the
/// source's latest, checks every other source's partner in source order (none: 0; one older
/// than the retention: drops it, 0) and writes the joined row (the join's out schema) to `out`
/// and its time (the latest of the rows joined) to `*ts`: 1. -1: the key index could not grow.
using JoinKernel = int32_t (*)(const Row* in, Value* out, int64_t* ts, JoinRun* run);

/// Sequence transitions (codegen::compiles_seq_trans), one kernel per sequence operator:
///   int32_t trans(const SeqTransArgs* a)
/// The NFA transition decision of runtime::PatternMatcher (SEMANTICS §9.2 steps 3 and 4) for
/// one run and the current event, specialised for the operator's NFA: a switch over the run's
/// position, then the steps it may take in order (its Kleene step again, the next steps through
/// optional ones, the trailing-`?` rule, own-alias `first`/`full` variants, the indexed path's
/// remaining conjuncts), each as an inline type test and predicate. Returns the step to enter
/// (>= 0), kSeqAgain (another event for the run's Kleene step, cap not tested: the matcher
/// counts it) or kSeqNone. With kSeqNegation in `flags` it tests negation `via` instead (type
/// and predicate) on the run: 1 = the run dies, kSeqNone = it lives. Run storage, the index, expiry, caps and
/// match rows stay runtime code. And/Or patterns (no positions): `pos` is the mask of the
/// operands the run took (0: none, or an Or), and the kernel returns the first other operand
/// the event qualifies for, or kSeqNone.
///
/// skip_till_any_match, where a run may take several transitions on one event, asks two
/// other questions:
///   * kSeqTest: does the event qualify for step i (type test, own-alias variant,
///     predicate)? With kSeqTestAgain as another iteration of the run's Kleene step (its own
///     alias bound: `full`, else `first`), without as an entry (`first` for an own-alias
///     Kleene step). 1 or kSeqNone: PatternMatcher's qualifies(i, binds, again). Asked of a
///     function per step with the transition kernel's signature (KernelTable
///     OpKernels::tests; `pos` and `via` unread), generated for skip_till_any_match Sequence
///     and And operators: small enough for the per-node calls of the compact DAG, and the
///     transition kernel does not repeat every predicate for it.
///   * kSeqMask (Sequence form, in the transition kernel of skip_till_any_match operators
///     only): every transition the run at `pos` may take, in the order the matcher takes
///     them: bit 0 its Kleene step again, bit 1 + s entering step s (the next steps through
///     optional ones, the trailing-`?` rule, none but bit 0 when kSeqPending). Only for NFAs
///     of at most 31 steps.
/// The transition kernel of a skip_till_any_match Sequence or And operator answers only
/// kSeqNegation and kSeqMask (anything else: kSeqNone): the matcher never asks it for a single
/// decision.
///
/// Bound events are read where the matcher keeps them: event id `ev` is the record at
/// chunks[ev >> kSeqEventChunkShift] + (ev & (2^shift - 1)) * rec, a SeqEvent header followed
/// by its slots (Values of the event's schema). A run binds per alias a SeqBinding (ev
/// kSeqUnbound: none; count: len(alias)). String constants, globals and the heap come through
/// `ctx` (a KernelContext whose `eval` has `rt` set); transition kernels never call the
/// interpreter.
/// Layout: slots 0, binds 8, chunks 16, ctx 24, rec 32, schema 40, pos 44, via 48, flags 52.
inline constexpr uint32_t kSeqEventChunkShift = 10;
inline constexpr uint32_t kSeqUnbound = 0xFFFFFFFFu;
inline constexpr int32_t kSeqNone = -1;
inline constexpr int32_t kSeqAgain = -2;
inline constexpr uint32_t kSeqComplete = 1;  // every required step matched
inline constexpr uint32_t kSeqPending = 2;   // complete, waiting for a trailing NOT's deadline
inline constexpr uint32_t kSeqNegation = 4;  // test negation `via`, not a transition
inline constexpr uint32_t kSeqTest = 8;        // test step `via` for one run (skip_till_any_match)
inline constexpr uint32_t kSeqTestAgain = 16;  // with kSeqTest: as another Kleene iteration
inline constexpr uint32_t kSeqMask = 32;       // all transitions of the run at `pos` as a bit mask
inline constexpr int32_t kSeqMaxMaskSteps = 31;
struct SeqEvent {
    int64_t ts = 0;
    const StrObj* type = nullptr;
    int32_t schema = -1;
    uint32_t refs = 0;
    uint32_t n = 0;  // slot count
    uint32_t pad_ = 0;
};
struct SeqBinding {
    uint32_t ev = kSeqUnbound;
    uint32_t count = 0;
};
struct SeqTransArgs {
    const Value* slots;
    const SeqBinding* binds;
    unsigned char* const* chunks;
    void* ctx;
    uint64_t rec;
    int32_t schema;
    int32_t pos;
    int32_t via;
    uint32_t flags;
};
using SeqTransKernel = int32_t (*)(const SeqTransArgs* a);

/// Scan kernels (KernelTable OpKernels::scan), for skip_till_any_match sequences whose step
/// predicates read no alias (the matcher's stack mode, ir::nfa_stack_any_match) and inline
/// alone: PatternMatcher::scan's loop with the step predicates inline. From row `i` of the
/// batch, while rows are of a schema routed here (`routed[schema]`, schema < n_schemas) and
/// before `end`: a row no step takes raises `skipped` to its time; a row some step takes is
/// written to `taken[n_taken++]` with its first slot, its verdicts (bit s: step s) and the
/// `skipped` time before it, which starts again from INT64_MIN; the loop stops once `cap`
/// rows are taken. `offset` (the first slot of the row at hand) moves by each row's width.
/// Returns the row it stopped at (fewer than `cap` taken: a row not routed here, or `end`);
/// `skipped` is then the time of the rows skipped after the last taken one.
struct SeqTaken {
    uint64_t row;
    uint64_t offset;
    uint64_t verdicts;
    int64_t skipped;
};
struct SeqScanArgs {
    const int32_t* schemas;
    const int64_t* ts;
    const Value* values;
    const uint32_t* widths;
    const uint8_t* routed;
    uint64_t n_schemas;
    uint64_t offset;     // in/out
    int64_t skipped;     // in/out
    SeqTaken* taken;     // out: [0, n_taken)
    uint64_t cap;
    uint64_t n_taken;    // out
    void* ctx;           // KernelContext of the predicates (string constants)
};
using SeqScanKernel = uint64_t (*)(SeqScanArgs* a, uint64_t i, uint64_t end);

/// Effect kernels: int32_t effect(const Value* slots, void* ctx), 1 = the row goes on (a
/// distinct row seen before: 0). `.process` kernels run the called function's body in
/// generated code and return 1.
using EffectKernel = int32_t (*)(const Value* slots, void* ctx);

/// Fold kernels, one per window that keeps its rows and feeds an `.aggregate`
/// (codegen::compiles_fold: sliding and sliding count windows, count_distinct, ...):
///   void fold(const Value* rows, uint64_t n, uint64_t width, CallAcc* accs, void* const* sets, void* ctx)
/// runs over a closed window's `n` rows (n >= 1), kept by the runtime side by side (`width`
/// Values each, arrival order), and computes every aggregate call's argument per row and
/// feeds it to accs[c] (runtime/window_state.hpp CallAcc, reset by the caller): the numeric
/// functions with acc_add's arithmetic row by row in arrival order (so results equal
/// run_aggregate's bit for bit), First from row 0 and Last from row n-1 into `v`,
/// count_distinct through vp_fold_distinct(sets[c], &arg), count() not at all (the caller
/// knows n). `ctx` is a KernelContext whose `eval` has no row (the arguments call no
/// interpreter).
struct CallAcc;
using FoldKernel = void (*)(const Value* rows, uint64_t n, uint64_t width, CallAcc* accs, void* const* sets, void* ctx);

/// Trend kernels, one per trend aggregate without step predicates (codegen::compiles_trend,
/// SEMANTICS §11.3): GRETA's per-event update of the event's partition's open window,
///   int32_t trend(const Value* slots, int32_t schema, uint64_t* state)
/// for an event of schema `schema` (a step type) with fields `slots`. `state` is the
/// window's TrendAggregator state in records of 1 + 4 * items u64 words: record s (< steps)
/// the totals of step s's vertices, record `steps` the result (the sum over end vertices).
/// A record: word 0 the number of (partial) trends; per item i, from word 1 + 4i: its event or
/// contribution count n, its sum (f64 bits), its min/max (f64 bits), whether it has one (0/1).
/// Per step of type `schema` the kernel makes the event's vertex record (a start step counts
/// 1, then the totals of the steps a predecessor may be at, then the event's own field for
/// the items whose alias the step binds), drops it when it counts no trend, and adds the
/// vertices to their step's totals and, at an end step, to the result: TrendAggregator's
/// process() with every count in 64 bits. Returns 1 when a vertex was made at an end step (the
/// runtime stamps the result's time), 0 otherwise, -1 with nothing written when a count would
/// pass 2^64 - 1 (the runtime redoes the event with its arbitrary-precision counts).
using TrendKernel = int32_t (*)(const Value* slots, int32_t schema, uint64_t* state);

using FilterKernel = int32_t (*)(const Value* slots, void* ctx);
using ProjectKernel = void (*)(const Value* in, Value* out, void* ctx);
using ChainKernel = int32_t (*)(const Value* in, Value* out, void* ctx);
using TypeKernel = uint64_t (*)(const Value* rows, uint64_t n, void* ctx);

}  // namespace varpulis::runtime

static_assert(sizeof(varpulis::runtime::Value) == 16, "Value ABI: 16 bytes");
static_assert(alignof(varpulis::runtime::Value) == 8, "Value ABI: 8-aligned");
static_assert(offsetof(varpulis::runtime::Value, kind) == 0, "Value ABI: kind tag at offset 0");
static_assert(offsetof(varpulis::runtime::Value, i) == 8, "Value ABI: payload at offset 8");
static_assert(offsetof(varpulis::runtime::KernelContext, eval) == 0, "KernelContext ABI");
static_assert(offsetof(varpulis::runtime::KernelContext, nodes) == 8, "KernelContext ABI");
static_assert(offsetof(varpulis::runtime::KernelContext, consts) == 16, "KernelContext ABI");
static_assert(offsetof(varpulis::runtime::KernelContext, aliases) == 24, "KernelContext ABI");
static_assert(offsetof(varpulis::runtime::KernelContext, alias_counts) == 32, "KernelContext ABI");
static_assert(offsetof(varpulis::runtime::KernelContext, run) == 40, "KernelContext ABI");
static_assert(offsetof(varpulis::runtime::KernelContext, op) == 48, "KernelContext ABI");
static_assert(offsetof(varpulis::runtime::KernelContext, locals) == 56, "KernelContext ABI");
static_assert(offsetof(varpulis::runtime::OpRun, emit) == 24, "OpRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, emit) == 0, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, begin_row) == 8, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, window_enter) == 16, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, window_close) == 24, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, end_row) == 32, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, push) == 40, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, windows) == 48, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, ts) == 56, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, window_enter_open) == 64, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, out_next) == 72, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, out_end) == 80, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, flush) == 88, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::TypeRun, entered) == 96, "TypeRun ABI");
static_assert(offsetof(varpulis::runtime::Row, slots) == 0, "Row ABI: slot pointer first");
static_assert(offsetof(varpulis::runtime::Row, schema) == 8, "Row ABI");
static_assert(offsetof(varpulis::runtime::Row, ts) == 16, "Row ABI");
static_assert(offsetof(varpulis::runtime::Row, type) == 24, "Row ABI");
static_assert(offsetof(varpulis::runtime::Row, raw) == 32, "Row ABI");
static_assert(offsetof(varpulis::runtime::Row, raw_count) == 40, "Row ABI");
static_assert(offsetof(varpulis::runtime::JoinMeta, ts) == 0, "JoinMeta ABI");
static_assert(offsetof(varpulis::runtime::JoinMeta, type) == 8, "JoinMeta ABI");
static_assert(offsetof(varpulis::runtime::JoinMeta, raw) == 16, "JoinMeta ABI");
static_assert(offsetof(varpulis::runtime::JoinMeta, raw_count) == 24, "JoinMeta ABI");
static_assert(offsetof(varpulis::runtime::JoinMeta, schema) == 28, "JoinMeta ABI");
static_assert(offsetof(varpulis::runtime::JoinMeta, present) == 32, "JoinMeta ABI");
static_assert(sizeof(varpulis::runtime::JoinMeta) == 40, "JoinMeta ABI");
static_assert(offsetof(varpulis::runtime::JoinSide, meta) == 8, "JoinSide ABI");
static_assert(sizeof(varpulis::runtime::JoinSide) == 16, "JoinSide ABI");
static_assert(offsetof(varpulis::runtime::JoinRun, key) == 8, "JoinRun ABI");
static_assert(sizeof(varpulis::runtime::SeqEvent) == 32, "SeqEvent ABI");
static_assert(offsetof(varpulis::runtime::SeqEvent, schema) == 16, "SeqEvent ABI");
static_assert(sizeof(varpulis::runtime::SeqBinding) == 8, "SeqBinding ABI");
static_assert(offsetof(varpulis::runtime::SeqBinding, count) == 4, "SeqBinding ABI");
static_assert(offsetof(varpulis::runtime::SeqTransArgs, binds) == 8, "SeqTransArgs ABI");
static_assert(offsetof(varpulis::runtime::SeqTransArgs, chunks) == 16, "SeqTransArgs ABI");
static_assert(offsetof(varpulis::runtime::SeqTransArgs, ctx) == 24, "SeqTransArgs ABI");
static_assert(offsetof(varpulis::runtime::SeqTransArgs, rec) == 32, "SeqTransArgs ABI");
static_assert(offsetof(varpulis::runtime::SeqTransArgs, schema) == 40, "SeqTransArgs ABI");
static_assert(offsetof(varpulis::runtime::SeqTransArgs, pos) == 44, "SeqTransArgs ABI");
static_assert(offsetof(varpulis::runtime::SeqTransArgs, via) == 48, "SeqTransArgs ABI");
static_assert(offsetof(varpulis::runtime::SeqTransArgs, flags) == 52, "SeqTransArgs ABI");

extern "C" {

/// Evaluates IR subtree `ir_expr` (an ir::Expr*) with the interpreter against the row
/// `row_slots`, writing the result to `out`. `ctx` is the kernel's KernelContext*.
void vp_eval_fallback(const void* ir_expr, const varpulis::runtime::Value* row_slots, void* ctx,
                      varpulis::runtime::Value* out) noexcept;

/// `*a op *b` through runtime::binary_op (`op` is a frontend::BinaryOp); strings it builds live
/// in the engine heap reached through `ctx`.
void vp_binary_op(int32_t op, const varpulis::runtime::Value* a, const varpulis::runtime::Value* b, void* ctx,
                  varpulis::runtime::Value* out) noexcept;

/// runtime::compare_int_float: -1, 0 or 1 as `i` is below, exactly equal to or above `f`, 2 when
/// `f` is NaN. Generated comparisons call it for an int and a float when neither operand is a
/// constant (rare at run time: fields and aliases usually keep their declared kinds).
int32_t vp_compare_int_float(int64_t i, double f) noexcept;

/// `op *a` through runtime::unary_op (`op` is a frontend::UnaryOp).
void vp_unary_op(int32_t op, const varpulis::runtime::Value* a, varpulis::runtime::Value* out) noexcept;

/// Global variable `index` (absent when out of range): the last resort of a Field lookup and
/// the value of a Global node.
void vp_load_global(int32_t index, void* ctx, varpulis::runtime::Value* out) noexcept;

/// Boolean contexts: 1 only for Bool true.
int32_t vp_condition(const varpulis::runtime::Value* v) noexcept;

/// Effect kernels' operator helpers: each forwards to KernelContext::op (runtime/abi.hpp
/// OpRun) and returns its answer (0 when the context has no OpRun).
int32_t vp_op_print(void* ctx, const varpulis::runtime::Value* values, uint32_t n) noexcept;
int32_t vp_op_send(void* ctx) noexcept;
int32_t vp_op_distinct(void* ctx, const varpulis::runtime::Value* key) noexcept;
int32_t vp_op_emit(void* ctx, uint32_t index, const varpulis::runtime::Value* values) noexcept;

/// Fold kernels' count_distinct: adds *v to the distinct set `set` (a runtime::DistinctSet)
/// unless it is absent, as run_aggregate does.
void vp_fold_distinct(void* set, const varpulis::runtime::Value* v) noexcept;

/// Compiled function bodies: global `index` := *v (no effect when out of range).
void vp_store_global(int32_t index, void* ctx, const varpulis::runtime::Value* v) noexcept;

/// `for x in it`: item `i` of an array, or the [key, value] pair array of entry `i` of a map
/// (made in the engine heap, as the interpreter does); 0 past the end or for any other kind.
int32_t vp_for_item(void* ctx, const varpulis::runtime::Value* it, uint64_t i, varpulis::runtime::Value* out) noexcept;

}  // extern "C"

namespace varpulis::runtime {

/// One helper symbol generated code may call: its C name and address. The JIT defines these
/// in every code version, so executables need not export them dynamically.
struct AbiSymbol {
    const char* name;
    const void* address;
};

/// Every helper of this header.
const AbiSymbol* abi_symbols(size_t& count);

}  // namespace varpulis::runtime
