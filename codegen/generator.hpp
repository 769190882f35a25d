#pragma once
// Internal to codegen/ (included only by codegen/*.cpp): the generator that turns a plan's
// operators into the LLVM functions of one module. build_module() (plan_codegen.cpp) drives it;
// its kernels are defined by kind in codegen/gen_*.cpp, the value helpers every kind uses here.

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "codegen/plan_codegen.hpp"
#include "codegen/plan_shapes.hpp"
#include "ir/nfa_shape.hpp"
#include "runtime/value.hpp"

namespace varpulis::codegen::detail {

/// Generates the kernels of one plan into one module, in build_module()'s order; not
/// thread-safe, lives for one build_module() call. Fallback nodes and string constants are
/// numbered in generation order, matching KernelContext::nodes / consts.
class Generator {
public:
    Generator(const ir::Plan& plan, llvm::Module& m)
        : plan_(plan), m_(m), c_(m.getContext()), b_(c_),
          i8_(llvm::Type::getInt8Ty(c_)), i32_(llvm::Type::getInt32Ty(c_)), i64_(llvm::Type::getInt64Ty(c_)),
          f64_(llvm::Type::getDoubleTy(c_)), ptr_(llvm::PointerType::getUnqual(c_)),
          void_(llvm::Type::getVoidTy(c_)) {
        fallback_ = declare("vp_eval_fallback", void_, {ptr_, ptr_, ptr_, ptr_});
        binary_ = declare("vp_binary_op", void_, {i32_, ptr_, ptr_, ptr_, ptr_});
        global_ = declare("vp_load_global", void_, {i32_, ptr_, ptr_});
    }

    /// Where operator (stream, op)'s kernel starts numbering fallback nodes and string
    /// constants. Type kernels generate the operator again inline and must refer to the same
    /// numbers (KernelContext::nodes / consts are numbered once per plan).
    struct Numbering {
        uint64_t node = 0;
        uint64_t string = 0;
    };
    void mark_operator(size_t stream, size_t op) { numbering_[{stream, op}] = {next_node_, next_string_}; }
    /// Where mark_operator() put operator (stream, op)'s numbering.
    Numbering numbering(size_t stream, size_t op) const { return numbering_.at({stream, op}); }
    /// Merge entry `entry` of `stream`: its filter kernel is generated next.
    void mark_merge(size_t stream, size_t entry) { merge_numbering_[{stream, entry}] = {next_node_, next_string_}; }

    /// In a type loop, the row `row` of routing schema `schema` through merge stream `sp`'s
    /// entries for that schema, as Engine::Impl::run_stream does: the first entry whose filter
    /// holds converts it to the merged schema (slots_ then points to the merged row); when none
    /// does, control goes to `skip`.
    void merge_row(int32_t sid, const ir::StreamPlan& sp, size_t schema, llvm::Value* row, llvm::BasicBlock* skip);

    /// The join kernel of source `src` (runtime/abi.hpp JoinKernel): push()'s work for one
    /// event of that source, over the operator's own arrays, with the source order, widths,
    /// retention and the joined row's origins fixed at compile time.
    void join(const std::string& name, const ir::Operator& op, size_t src);

    void filter(const std::string& name, const Expr* predicate);

    /// A sequence operator's transition kernel (runtime/abi.hpp SeqTransKernel): the decisions
    /// of PatternMatcher's advance/start loops and negation tests for this NFA, one block per
    /// position falling through the chain of steps it may enter. Predicates are tested conjunct
    /// by conjunct: without effects (compiles_seq_trans admits no interpreter call) a
    /// conjunction holds iff each conjunct is Bool true, whatever the grouping, so the `first`
    /// and index `rest` variants the matcher rebuilds give the same verdicts here.
    void seq_trans(const std::string& name, const ir::Nfa& nfa, size_t n_schemas,
                   const std::unordered_map<const Expr*, uint64_t>& strings);

    /// Step s's predicate as PatternMatcher's qualifies(s, b, again) chooses it, branching to
    /// `yes` or `no`: an own-alias Kleene step tests `full` only as another iteration (`again`
    /// true at run time; null: an entry) with its alias bound, never when deferred.
    void any_test_step(const ir::Nfa& nfa, const std::vector<ir::NfaStepShape>& shapes, int32_t s, llvm::Value* schema,
                       llvm::Value* again, llvm::BasicBlock* yes, llvm::BasicBlock* no);

    /// Step `s`'s test alone (runtime/abi.hpp kSeqTest, KernelTable OpKernels::tests): the
    /// transition kernel's test mode as a function small enough to keep the call cheap.
    struct SeqArgs {
        llvm::Value* schema = nullptr;
        llvm::Value* pos = nullptr;
        llvm::Value* via = nullptr;
        llvm::Value* flags = nullptr;
    };
    SeqArgs seq_args(const std::string& name, bool position);
    void seq_test(const std::string& name, const ir::Nfa& nfa, int32_t s, const std::unordered_map<const Expr*, uint64_t>& strings);

    /// A stack-mode NFA's scan kernel (runtime/abi.hpp SeqScanKernel, compiles_seq_scan): the
    /// rows routed to the matcher in one loop, each row's step predicates inline by schema.
    /// `step_kernels`: per step, the name of its predicate's filter kernel in this module (empty:
    /// none), which rows not of the declared kinds call instead of a general copy inline.
    void seq_scan(const std::string& name, const ir::Nfa& nfa, const std::unordered_map<const Expr*, uint64_t>& strings,
                  const std::vector<std::string>& step_kernels);

    /// The skip_till_any_match mask mode of a transition kernel (runtime/abi.hpp kSeqMask),
    /// entered from the current block; any other call goes on to `trans`. (kSeqTest is the
    /// per-step test kernels' job: seq_test.)
    void seq_any_modes(const ir::Nfa& nfa, llvm::Value* schema, llvm::Value* pos, llvm::Value* flags,
                       llvm::BasicBlock* trans);

    /// The top-level conjuncts of `pred` (none: always true), without those reading alias
    /// `drop` (>= 0): a Kleene step's `first` variant.
    static std::vector<const Expr*> conjuncts_of(const ir::ExprPtr& pred, int32_t drop);

    /// Branches to `yes` when every conjunct is Bool true, else to `no` (at the first that is not).
    void test_conjuncts(const std::vector<const Expr*>& cs, llvm::BasicBlock* yes, llvm::BasicBlock* no);

    void project(const std::string& name, const ir::Operator& op);

    /// A Select/Emit's expression per output slot (null: absent).
    std::vector<const Expr*> projection_items(const ir::Operator& op) const;

    /// An aggregate's arguments, one output slot per call (absent for count()).
    void aggregate_args(const std::string& name, const ir::Operator& op);

    void project_items(const std::string& name, const std::vector<const Expr*>& items);

    /// Operators [from, end) of stream `s` fused (see fuses(), tail_chain()): their code is
    /// generated inline, one after the other, so values stay in registers between operators.
    /// They get no kernels of their own: the engine reaches them only through this function
    /// (Engine::Impl::run_chain), and one copy of each body is less machine code to make.
    /// Numbering as their own kernels would have had: each operator is marked where it starts.
    void chain(const std::string& name, size_t s, const ir::StreamPlan& sp, size_t from);

    /// Every stream of `streams` (all fused, see fuses(); their outputs feed no stream) on each
    /// of `n` rows of width `width`, in that order per row, the operators generated inline as
    /// in their own kernels; each Emit row goes out through ctx->run->emit. See type_fuses().
    void type_loop(const std::string& name, size_t schema, size_t width, const std::vector<int32_t>& streams);
    /// Tells alias analysis that no store of the type loop being generated writes its rows.
    void scope_row_loads(llvm::Value* rows);
    /// The type loop's open_group loads of WindowAccess fields read locals instead, loaded
    /// at entry and again after each call (the only code that can move the storage).
    void cache_window_fields();

    size_t fallbacks_used() const { return next_node_; }

    /// An effect kernel (see compiles_effect()): int32_t effect(const Value* slots, void* ctx).
    /// Expressions are generated here; printing, sending, the seen-set and emitted events are
    /// the engine's, reached through the vp_op_* helpers (runtime/abi.hpp OpRun).
    void effect(const std::string& name, const ir::Operator& op);

    /// `.process(f(args))`: the arguments on the row, then f's body with its frame on the
    /// stack (published as KernelContext::locals for the interpreter's fallbacks), with the
    /// statement semantics of runtime/eval.cpp exec_stmt. Returns 1, or 0 when an emit failed.
    void process(const ir::Function& fn, const Expr& call);

    /// Statements after a jump are unreachable; they are still generated (into a block with no
    /// predecessor) so that fallback and string numbers follow for_stmt_exprs().
    void jump(llvm::BasicBlock* to);

    /// exec_loop_body's guard: past kMaxLoopIterations the call ends (Flow::Abort).
    void count_iteration();

    /// A loop statement's body at the current block: the guard, `s`'s block with `break` to
    /// `end` and `continue` to `head`, back to `head`; code continues at `end`.
    void loop_body(const ir::Stmt& s, llvm::BasicBlock* end, llvm::BasicBlock* head);

    void set_local(int32_t index, const Val& v);

    /// eval_condition: a missing expression holds.
    llvm::Value* condition(const Expr* e);

    void statements(const std::vector<ir::StmtPtr>& body);

    void statement(const ir::Stmt& s);

    /// A local of the compiled body's frame; absent outside one (no frame) or out of range.
    Val local(const Expr& e);

    /// One event into a fused window: its open group found here (open_group), else by the
    /// runtime (TypeRun::window_enter_open, then window_enter: new partitions and groups,
    /// closes), then the accumulators updated with the arithmetic of runtime/window_state.hpp
    /// acc_add (same operations in the same order: bit-identical).
    void window_feed(llvm::Value* run, int32_t sid, llvm::Value* row, llvm::Value* slots, const ir::Operator& window,
                     const ir::Operator& aggregate, const Numbering& at, llvm::BasicBlock* stop);

    /// `body(acc, group_count)` generated for events whose fields read by `aggregate`'s
    /// arguments have the kinds their event declares (VPL.md §4.1: a promise events need not
    /// keep), with those kinds known, so the kind tests and conversions fold away; the others
    /// call `other_name(slots, acc, group_count, ctx)`, the same body generated as is into a
    /// function of its own (outline_feed). One test of the kind bytes picks the copy. Both
    /// copies are the same code over the same values, so results do not depend on which one
    /// ran; the general one, which events keeping their declared kinds never run, stays out of
    /// the type loop, whose optimised machine code is most of a full compile's work.
    template <class Body>
    void speculate_declared_kinds(const std::string& other_name, const ir::Operator& aggregate, llvm::Value* slots,
                                  llvm::Value* acc, llvm::Value* group_count, Body&& body);

    /// The declared kinds (Int, Float, Bool, Str) of the one-slot fields `e` reads, by slot.
    static void declared_kinds(const Expr* e, std::map<uint32_t, ValueKind>& out);
    /// Whether every slot of `kinds` of the row at `slots` holds its declared kind.
    llvm::Value* has_kinds(llvm::Value* slots, const std::map<uint32_t, ValueKind>& kinds);

    /// `void name(slots, acc, group_count, ctx)` with `body(acc, group_count)` over its
    /// parameters (fallbacks and string constants read through its ctx), generated while the
    /// current function waits; marked for the first stage's treatment (kFirstStageAttribute).
    template <class Body>
    llvm::Function* outline_feed(const std::string& name, Body&& body);

    struct OpenGroup {
        llvm::Value* acc;
        llvm::Value* group;
        llvm::Value* part;
    };

    /// The open group an event at `ts` joins, found in the window's runtime::WindowAccess
    /// exactly as WindowAggregate::enter_open finds it (time-stamped as cursor_at does), with a
    /// string key looked up by address in the key cache; every other case (a key not cached
    /// or not a string, no open window, a window the event closes, a group still to open)
    /// branches to `miss`, where the runtime decides.
    OpenGroup open_group(llvm::Value* access, llvm::Value* slots, llvm::Value* ts, const ir::Operator& window,
                         const ir::Operator& aggregate, llvm::BasicBlock* miss);

    /// Every call of `aggregate` fed one row into its accumulator in `accs` (runtime::CallAcc
    /// per call): its argument generated in call order, numbered from `at` (the fallback and
    /// string numbers of the aggregate's own kernel), then `special(call, c, v, v_at)` for the
    /// calls a caller treats itself (returns true), acc_add's arithmetic for the others.
    template <class Special>
    void feed_calls(const ir::Operator& aggregate, const Numbering& at, llvm::Value* accs, Special&& special);

    /// A window's kept rows folded into the aggregate's accumulators (runtime/abi.hpp
    /// FoldKernel): one loop over the rows in arrival order, every call's argument generated
    /// as in the aggregate's own kernel (numbered from `at`, the same fallback and string
    /// numbers) and fed with acc_add's arithmetic, as run_aggregate feeds it row by row.
    void fold(const std::string& name, const ir::Operator& aggregate, const Numbering& at);

    /// GRETA's per-event update of a trend without step predicates (runtime/abi.hpp
    /// TrendKernel): runtime::TrendAggregator's process() on its kernel records, every
    /// operation in the same order (bit-identical sums), the counts in 64 bits with their
    /// overflow checked before anything is written.
    void trend(const std::string& name, const ir::Operator& op);

    /// acc_add for one numeric-input call, when `v` is a numeric input (numeric_input: ints
    /// widen; NaN and other kinds are skipped).
    void accumulate(frontend::AggregateFn fn, const Val& v, llvm::Value* base);

private:
    llvm::Function* declare(const char* name, llvm::Type* ret, std::vector<llvm::Type*> params) {
        if (llvm::Function* known = m_.getFunction(name)) return known;
        auto* f = llvm::Function::Create(llvm::FunctionType::get(ret, params, false),
                                         llvm::Function::ExternalLinkage, name, m_);
        f->addFnAttr(llvm::Attribute::NoUnwind);
        return f;
    }

    void begin(const std::string& name, llvm::FunctionType* type) {
        fn_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, m_);
        fn_->addFnAttr(llvm::Attribute::NoUnwind);
        b_.SetInsertPoint(llvm::BasicBlock::Create(c_, "entry", fn_));
    }

    /// begin() for a kernel of shape `ret (in slots, out slots, ctx)`: slots_ and ctx_ set;
    /// returns `out`.
    llvm::Value* begin_in_out(const std::string& name, llvm::Type* ret) {
        begin(name, llvm::FunctionType::get(ret, {ptr_, ptr_, ptr_}, false));
        slots_ = fn_->getArg(0);
        llvm::Value* out = fn_->getArg(1);
        ctx_ = fn_->getArg(2);
        slots_->setName("in");
        out->setName("out");
        ctx_->setName("ctx");
        return out;
    }

    llvm::BasicBlock* block(const char* name) { return llvm::BasicBlock::Create(c_, name, fn_); }

    // ---------------------------------------------------------------- values

    Val make(ValueKind k, llvm::Value* payload) { return {b_.getInt8(tag(k)), payload}; }
    Val absent() { return make(ValueKind::Absent, b_.getInt64(0)); }
    Val boolean(llvm::Value* bit) { return make(ValueKind::Bool, b_.CreateZExt(bit, i64_)); }
    Val floating(llvm::Value* d) { return make(ValueKind::Float, b_.CreateBitCast(d, i64_)); }

    llvm::Value* is(const Val& v, ValueKind k) { return b_.CreateICmpEQ(v.kind, b_.getInt8(tag(k))); }
    /// The `b` member of a Bool: the low payload byte.
    llvm::Value* bool_bit(const Val& v) { return b_.CreateICmpNE(b_.CreateTrunc(v.payload, i8_), b_.getInt8(0)); }
    /// Boolean contexts: true only for Bool true (eval_condition).
    llvm::Value* truthy(const Val& v) {
        if (llvm::Value* bit = truthy_through_join(v)) return bit;
        return b_.CreateAnd(is(v, ValueKind::Bool), bool_bit(v));
    }
    /// truthy() of a value a Join just built, in the join block: a phi of the test made in
    /// each predecessor, where a comparison's inline cases know their kind is Bool (the phi of
    /// kinds hid that from the optimiser, which left a compare of constants in every filter).
    /// Null when `v` is not such a value.
    llvm::Value* truthy_through_join(const Val& v) {
        auto* kind = llvm::dyn_cast<llvm::PHINode>(v.kind);
        auto* payload = llvm::dyn_cast<llvm::PHINode>(v.payload);
        if (!kind || !payload || kind->getParent() != b_.GetInsertBlock() || payload->getParent() != kind->getParent())
            return nullptr;
        const unsigned n = kind->getNumIncomingValues();
        if (payload->getNumIncomingValues() != n) return nullptr;
        for (unsigned i = 0; i < n; ++i) {
            llvm::BasicBlock* from = kind->getIncomingBlock(i);
            if (payload->getBasicBlockIndex(from) < 0) return nullptr;
            for (unsigned k = 0; k < i; ++k)
                if (kind->getIncomingBlock(k) == from) return nullptr;
        }
        llvm::PHINode* bit = llvm::PHINode::Create(b_.getInt1Ty(), n, "truthy", kind->getParent()->getFirstNonPHIIt());
        for (unsigned i = 0; i < n; ++i) {
            llvm::BasicBlock* from = kind->getIncomingBlock(i);
            llvm::IRBuilder<> at(from->getTerminator());
            llvm::Value* k = kind->getIncomingValue(i);
            llvm::Value* p = payload->getIncomingValueForBlock(from);
            bit->addIncoming(at.CreateAnd(at.CreateICmpEQ(k, at.getInt8(tag(ValueKind::Bool))),
                                          at.CreateICmpNE(at.CreateTrunc(p, i8_), at.getInt8(0))),
                             from);
        }
        return bit;
    }
    llvm::Value* as_f64(llvm::Value* payload) { return b_.CreateBitCast(payload, f64_); }
    /// A number as a double (value_ops `as_double`): ints converted, floats as they are.
    llvm::Value* as_double(const Val& v) {
        return b_.CreateSelect(is(v, ValueKind::Int), b_.CreateSIToFP(v.payload, f64_), as_f64(v.payload));
    }

    /// Writes `v` as a 16-byte Value at `at`.
    void store(const Val& v, llvm::Value* at) {
        b_.CreateAlignedStore(v.kind, at, llvm::Align(8));
        b_.CreateAlignedStore(v.payload, b_.CreateConstInBoundsGEP1_64(i8_, at, 8), llvm::Align(8));
    }
    llvm::Value* spill(const Val& v) {
        llvm::Value* slot = temp();
        store(v, slot);
        return slot;
    }
    Val reload(llvm::Value* slot) {
        return {b_.CreateAlignedLoad(i8_, slot, llvm::Align(8)),
                b_.CreateAlignedLoad(i64_, b_.CreateConstInBoundsGEP1_64(i8_, slot, 8), llvm::Align(8))};
    }
    /// A 16-byte Value on the stack, allocated in the entry block (SROA turns it into registers
    /// where no helper takes its address).
    llvm::Value* temp() { return entry_alloca(16); }
    /// `bytes` of 8-aligned stack in the entry block (where SROA looks for them).
    llvm::Value* entry_alloca(size_t bytes) {
        llvm::BasicBlock& entry = fn_->getEntryBlock();
        llvm::IRBuilder<> at(&entry, entry.begin());
        llvm::AllocaInst* a = at.CreateAlloca(llvm::ArrayType::get(i8_, bytes));
        a->setAlignment(llvm::Align(8));
        return a;
    }
    /// A pointer member of the kernel's KernelContext (runtime/abi.hpp).
    llvm::Value* ctx_member(size_t offset, const char* name) {
        return b_.CreateAlignedLoad(ptr_, b_.CreateConstInBoundsGEP1_64(i8_, ctx_, offset), llvm::Align(8), name);
    }

    /// Collects the values flowing into a join block.
    struct Join {
        llvm::BasicBlock* block;
        std::vector<std::pair<llvm::BasicBlock*, Val>> incoming;
    };
    void to(Join& j, const Val& v) {
        j.incoming.emplace_back(b_.GetInsertBlock(), v);
        b_.CreateBr(j.block);
    }
    Val finish(Join& j) {
        b_.SetInsertPoint(j.block);
        auto* k = b_.CreatePHI(i8_, static_cast<unsigned>(j.incoming.size()), "kind");
        auto* p = b_.CreatePHI(i64_, static_cast<unsigned>(j.incoming.size()), "payload");
        for (auto& [bb, v] : j.incoming) {
            k->addIncoming(v.kind, bb);
            p->addIncoming(v.payload, bb);
        }
        return {k, p};
    }

    // ---------------------------------------------------------------- expressions

    Val gen(const Expr* e);

    Val constant(const ir::Literal& l);

    /// String constant number k: ctx->consts[k], interned by the engine running the code.
    Val string_constant();
    Val string_constant_at(uint64_t id);

    /// The interpreter on this node: vp_eval_fallback(nodes[k], slots, ctx, &out).
    Val fallback(const Expr&);

    Val load_global(int32_t index);

    /// ctx->aliases[alias]->slots[slot]; absent without bindings or when the alias is unbound.
    /// Transition kernels (seq_binds_ set): the bound event's record in the matcher's store
    /// instead (runtime/abi.hpp SeqTransArgs), its slots after the SeqEvent header.
    Val alias_field(const Expr& e);

    /// len(alias): ctx->alias_counts[alias], 0 without counts.
    Val alias_len(const Expr& e);

    /// First present candidate slot, then the global, else absent.
    Val field(const Expr& e);

    Val unary(const Expr& e);

    Val call_binary(BinaryOp op, const Val& a, const Val& b);

    /// Kind-pair dispatch: (a.kind << 4 | b.kind) for a switch.
    llvm::Value* pair_code(const Val& a, const Val& b);
    static uint32_t pair(ValueKind a, ValueKind b);

    Val binary(const Expr& e);

    Val arithmetic(BinaryOp op, const Val& a, const Val& b);

    llvm::Value* trunc_f64(llvm::Value* f);
    llvm::Value* fptosi_sat(llvm::Value* f);

    /// values_equal(Int i, Float f): f denotes exactly the int i.
    llvm::Value* int_equals_float(llvm::Value* i, llvm::Value* f);

    /// value_ops compare_int_float(i, f): -1, 0, 1, or 2 (unordered: f is NaN). Exact, with no
    /// rounding of large ints.
    llvm::Value* compare_int_float(llvm::Value* i, llvm::Value* f);

    /// compare_int_float(i, f): generated inline, or (`inline_code` false) a call of the runtime's
    /// (vp_compare_int_float), which keeps a comparison of two non-constant operands small.
    llvm::Value* compare_mixed(llvm::Value* i, llvm::Value* f, bool inline_code);

    /// `c op 0` for a three-way result; false when unordered (2).
    llvm::Value* order_holds(BinaryOp op, llvm::Value* c);

    Val comparison(BinaryOp op, const Val& a, const Val& b);

    /// Three-valued and/or (SEMANTICS §4.2): the right side is evaluated only when the left
    /// one does not decide; then logical_and/logical_or.
    Val logical(const Expr& e, bool is_and);

    /// Only a Bool true takes the then-branch; a missing branch has no value.
    Val conditional(const Expr& e);

    const ir::Plan& plan_;
    llvm::Module& m_;
    llvm::LLVMContext& c_;
    llvm::IRBuilder<> b_;
    llvm::Type* i8_;
    llvm::Type* i32_;
    llvm::Type* i64_;
    llvm::Type* f64_;
    llvm::PointerType* ptr_;
    llvm::Type* void_;
    llvm::Function* fallback_ = nullptr;
    llvm::Function* binary_ = nullptr;
    llvm::Function* global_ = nullptr;
    llvm::Function* fn_ = nullptr;
    llvm::Value* slots_ = nullptr;
    llvm::Value* ctx_ = nullptr;
    uint64_t next_node_ = 0;
    uint64_t next_string_ = 0;
    std::map<std::pair<size_t, size_t>, Numbering> numbering_;
    std::map<std::pair<size_t, size_t>, Numbering> merge_numbering_;   // (stream, merge entry)
    llvm::Value* cached_nodes_ = nullptr;    // type kernels: ctx->nodes / ctx->consts, loaded once
    llvm::Value* cached_consts_ = nullptr;
    llvm::Value* window_enter_ = nullptr;    // type kernels: ctx->run's window callbacks
    llvm::Value* window_close_ = nullptr;
    llvm::Value* push_ = nullptr;                  // TypeRun::push
    llvm::Value* ts_base_ = nullptr;                // TypeRun::ts
    std::map<int32_t, llvm::Value*> window_of_;     // stream -> its TypeRun::windows entry
    /// Loads of a WindowAccess's storage pointers made by open_group (access, offset, load),
    /// which cache_window_fields() turns into locals refreshed only after calls.
    struct AccessLoad {
        llvm::Value* access;
        uint64_t offset;
        llvm::LoadInst* load;
    };
    std::vector<AccessLoad> access_loads_;
    llvm::Value* enter_open_ = nullptr;             // TypeRun::window_enter_open
    std::map<uint32_t, ValueKind> known_kinds_;     // slots_ slot -> kind it is known to have
    /// While known_kinds_ holds: the block whose start dominates the whole specialised copy,
    /// and the payloads loaded there, so a field read by several calls is loaded once.
    llvm::BasicBlock* known_block_ = nullptr;
    std::map<uint64_t, llvm::Value*> hoisted_consts_;   // type loop: string constant -> its pointer
    std::map<std::pair<llvm::Value*, uint32_t>, llvm::Value*> known_loads_;
    // Compiled function bodies (`.process` effect kernels).
    llvm::Value* locals_ = nullptr;                 // the frame, frame_size_ Values; null outside
    size_t frame_size_ = 0;
    llvm::Value* iterations_ = nullptr;             // loop iterations of the call (i64)
    llvm::BasicBlock* fn_exit_ = nullptr;
    llvm::BasicBlock* fn_fail_ = nullptr;
    std::vector<std::pair<llvm::BasicBlock*, llvm::BasicBlock*>> loops_;   // (break, continue) targets
    uint32_t next_emit_ = 0;                        // KernelTable::emits numbering
    // Transition kernels (seq_trans): the run's bindings, the event store's chunk table and
    // record size (runtime/abi.hpp SeqTransArgs), and string constants by node.
    llvm::Value* seq_binds_ = nullptr;
    llvm::Value* seq_chunks_ = nullptr;
    llvm::Value* seq_rec_ = nullptr;
    const std::unordered_map<const Expr*, uint64_t>* string_ids_ = nullptr;
};

}  // namespace varpulis::codegen::detail
