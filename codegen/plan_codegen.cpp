#include "codegen/plan_codegen.hpp"
#include "codegen/plan_shapes.hpp"

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>

#include "ir/nfa_shape.hpp"
#include "ir/printer.hpp"
#include "runtime/abi.hpp"
#include "runtime/value.hpp"
#include "ir/window_fusion.hpp"
#include "runtime/window_state.hpp"

namespace varpulis::codegen {

using namespace detail;

namespace {

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
    void merge_row(int32_t sid, const ir::StreamPlan& sp, size_t schema, llvm::Value* row, llvm::BasicBlock* skip) {
        const ir::Schema& ms = plan_.schemas[static_cast<size_t>(merged_schema(plan_, sp))];
        llvm::Value* merged = entry_alloca(16 * std::max<size_t>(ms.fields.size(), 1));
        llvm::BasicBlock* ready = block("merge.ready");
        for (size_t e : merge_entries(plan_, sp, schema)) {
            llvm::BasicBlock* take = block("merge.take");
            llvm::BasicBlock* other = block("merge.other");
            if (const Expr* f = sp.merge_filters[e].second.get()) {
                const Numbering saved{next_node_, next_string_};
                const Numbering& at = merge_numbering_.at({static_cast<size_t>(sid), e});
                next_node_ = at.node;
                next_string_ = at.string;
                slots_ = row;
                b_.CreateCondBr(truthy(gen(f)), take, other);
                next_node_ = saved.node;
                next_string_ = saved.string;
            } else {
                b_.CreateBr(take);
            }
            b_.SetInsertPoint(take);
            for (size_t f = 0; f < ms.fields.size(); ++f) {
                const auto& cands = ms.origins[f].candidates;
                llvm::Value* to = b_.CreateConstInBoundsGEP1_64(i8_, merged, 16 * f);
                if (e < cands.size() && cands[e].second >= 0)
                    b_.CreateMemCpy(to, llvm::Align(8), b_.CreateConstInBoundsGEP1_64(i8_, row, 16 * static_cast<uint64_t>(cands[e].second)),
                                    llvm::Align(8), 16);
                else
                    store(absent(), to);
            }
            b_.CreateBr(ready);
            b_.SetInsertPoint(other);
        }
        b_.CreateBr(skip);
        b_.SetInsertPoint(ready);
        slots_ = merged;
    }

    /// The join kernel of source `src` (runtime/abi.hpp JoinKernel): push()'s work for one
    /// event of that source, over the operator's own arrays, with the source order, widths,
    /// retention and the joined row's origins fixed at compile time.
    void join(const std::string& name, const ir::Operator& op, size_t src) {
        const ir::Join& j = *op.join;
        const size_t n = j.sources.size();
        auto width = [&](size_t s) { return plan_.schemas[static_cast<size_t>(j.sources[s].type_id)].fields.size(); };
        begin(name, llvm::FunctionType::get(i32_, {ptr_, ptr_, ptr_, ptr_}, false));
        llvm::Value* in = fn_->getArg(0);
        llvm::Value* out = fn_->getArg(1);
        llvm::Value* ts_out = fn_->getArg(2);
        llvm::Value* run = fn_->getArg(3);
        in->setName("in");
        out->setName("out");
        run->setName("run");
        auto load_at = [&](llvm::Type* t, llvm::Value* base, uint64_t offset, const char* what = "") {
            return b_.CreateAlignedLoad(t, b_.CreateConstInBoundsGEP1_64(i8_, base, offset),
                                        llvm::Align(t == i8_ ? 1 : (t == i32_ ? 4 : 8)), what);
        };
        auto store_at = [&](llvm::Value* v, llvm::Value* base, uint64_t offset) {
            llvm::Type* t = v->getType();
            b_.CreateAlignedStore(v, b_.CreateConstInBoundsGEP1_64(i8_, base, offset),
                                  llvm::Align(t == i8_ ? 1 : (t == i32_ ? 4 : 8)));
        };
        const int32_t key_slot = j.sources[src].key_slot;
        if (key_slot < 0) {
            b_.CreateRet(b_.getInt32(2));
            return;
        }
        llvm::Value* slots = load_at(ptr_, in, 0, "slots");
        llvm::Value* key_at = b_.CreateConstInBoundsGEP1_64(i8_, slots, 16 * static_cast<uint64_t>(key_slot));
        llvm::BasicBlock* keyed = block("join.keyed");
        llvm::BasicBlock* no_key = block("join.no_key");
        b_.CreateCondBr(b_.CreateICmpNE(b_.CreateAlignedLoad(i8_, key_at, llvm::Align(8)), b_.getInt8(0)), keyed, no_key);
        b_.SetInsertPoint(no_key);
        b_.CreateRet(b_.getInt32(2));

        b_.SetInsertPoint(keyed);
        llvm::Value* key_fn = load_at(ptr_, run, offsetof(runtime::JoinRun, key), "key_fn");
        llvm::Value* key =
            b_.CreateCall(llvm::FunctionType::get(i32_, {ptr_, ptr_}, false), key_fn, {run, key_at}, "key");
        llvm::BasicBlock* found = block("join.found");
        llvm::BasicBlock* failed = block("join.failed");
        b_.CreateCondBr(b_.CreateICmpEQ(key, b_.getInt32(UINT32_MAX)), failed, found);
        b_.SetInsertPoint(failed);
        b_.CreateRet(b_.getInt32(-1));

        b_.SetInsertPoint(found);
        llvm::Value* key64 = b_.CreateZExt(key, i64_);
        // After the lookup: a new key may have moved the arrays.
        llvm::Value* sides = load_at(ptr_, run, 0, "sides");
        auto row_of = [&](size_t s) {
            llvm::Value* base = load_at(ptr_, sides, 16 * s);
            return b_.CreateInBoundsGEP(i8_, base, b_.CreateMul(key64, b_.getInt64(16 * width(s))));
        };
        auto meta_of = [&](size_t s) {
            llvm::Value* base = load_at(ptr_, sides, 16 * s + 8);
            return b_.CreateInBoundsGEP(i8_, base, b_.CreateMul(key64, b_.getInt64(sizeof(runtime::JoinMeta))));
        };
        // The row becomes its source's latest for the key.
        if (const size_t w = width(src); w > 0)
            b_.CreateMemCpy(row_of(src), llvm::Align(8), slots, llvm::Align(8), 16 * w);
        llvm::Value* meta = meta_of(src);
        llvm::Value* row_ts = load_at(i64_, in, offsetof(runtime::Row, ts), "ts");
        store_at(row_ts, meta, offsetof(runtime::JoinMeta, ts));
        store_at(load_at(ptr_, in, offsetof(runtime::Row, type)), meta, offsetof(runtime::JoinMeta, type));
        store_at(load_at(ptr_, in, offsetof(runtime::Row, raw)), meta, offsetof(runtime::JoinMeta, raw));
        store_at(load_at(i32_, in, offsetof(runtime::Row, raw_count)), meta, offsetof(runtime::JoinMeta, raw_count));
        store_at(load_at(i32_, in, offsetof(runtime::Row, schema)), meta, offsetof(runtime::JoinMeta, schema));
        store_at(b_.getInt8(1), meta, offsetof(runtime::JoinMeta, present));

        // Partners in source order: the first missing or expired one ends the event.
        llvm::BasicBlock* none = block("join.none");
        std::vector<llvm::Value*> part(n, nullptr);
        part[src] = slots;
        llvm::Value* ts = row_ts;
        for (size_t other = 0; other < n; ++other) {
            if (other == src) continue;
            llvm::Value* m = meta_of(other);
            llvm::BasicBlock* present = block("join.present");
            b_.CreateCondBr(b_.CreateICmpNE(load_at(i8_, m, offsetof(runtime::JoinMeta, present)), b_.getInt8(0)),
                            present, none);
            b_.SetInsertPoint(present);
            llvm::Value* m_ts = load_at(i64_, m, offsetof(runtime::JoinMeta, ts));
            if (j.retention_ms >= 0) {
                llvm::BasicBlock* fresh = block("join.fresh");
                llvm::BasicBlock* expired = block("join.expired");
                b_.CreateCondBr(b_.CreateICmpSLT(m_ts, b_.CreateSub(row_ts, b_.getInt64(static_cast<uint64_t>(j.retention_ms)))),
                                expired, fresh);
                b_.SetInsertPoint(expired);
                store_at(b_.getInt8(0), m, offsetof(runtime::JoinMeta, present));  // too old for anything later
                b_.CreateBr(none);
                b_.SetInsertPoint(fresh);
            }
            ts = b_.CreateSelect(b_.CreateICmpSGT(m_ts, ts), m_ts, ts);
            part[other] = row_of(other);
        }
        // The joined row: per field, its first present candidate (straight-line selects).
        const ir::Schema& os = plan_.schemas[static_cast<size_t>(op.out)];
        for (size_t f = 0; f < os.fields.size(); ++f) {
            Val v = absent();
            const auto& cands = os.origins[f].candidates;
            for (size_t c = cands.size(); c-- > 0;) {
                const auto [s, slot] = cands[c];
                if (slot < 0) continue;
                llvm::Value* at = b_.CreateConstInBoundsGEP1_64(i8_, part[static_cast<size_t>(s)], 16 * static_cast<uint64_t>(slot));
                Val cv = reload(at);
                llvm::Value* here = b_.CreateICmpNE(cv.kind, b_.getInt8(0));
                v = {b_.CreateSelect(here, cv.kind, v.kind), b_.CreateSelect(here, cv.payload, v.payload)};
            }
            store(v, b_.CreateConstInBoundsGEP1_64(i8_, out, 16 * f));
        }
        b_.CreateAlignedStore(ts, ts_out, llvm::Align(8));
        b_.CreateRet(b_.getInt32(1));
        b_.SetInsertPoint(none);
        b_.CreateRet(b_.getInt32(0));
    }

    void filter(const std::string& name, const Expr* predicate) {
        begin(name, llvm::FunctionType::get(i32_, {ptr_, ptr_}, false));
        slots_ = fn_->getArg(0);
        ctx_ = fn_->getArg(1);
        slots_->setName("slots");
        ctx_->setName("ctx");
        Val v = gen(predicate);
        b_.CreateRet(b_.CreateZExt(truthy(v), i32_));
    }

    /// A sequence operator's transition kernel (runtime/abi.hpp SeqTransKernel): the decisions
    /// of PatternMatcher's advance/start loops and negation tests for this NFA, one block per
    /// position falling through the chain of steps it may enter. Predicates are tested conjunct
    /// by conjunct: without effects (compiles_seq_trans admits no interpreter call) a
    /// conjunction holds iff each conjunct is Bool true, whatever the grouping, so the `first`
    /// and index `rest` variants the matcher rebuilds give the same verdicts here.
    void seq_trans(const std::string& name, const ir::Nfa& nfa, size_t n_schemas,
                   const std::unordered_map<const Expr*, uint64_t>& strings) {
        begin(name, llvm::FunctionType::get(i32_, {ptr_}, false));
        llvm::Value* args = fn_->getArg(0);
        args->setName("args");
        auto field = [&](llvm::Type* t, size_t off, const char* n) {
            return b_.CreateAlignedLoad(t, b_.CreateConstInBoundsGEP1_64(i8_, args, off), llvm::Align(t == i32_ ? 4 : 8), n);
        };
        slots_ = field(ptr_, offsetof(runtime::SeqTransArgs, slots), "slots");
        seq_binds_ = field(ptr_, offsetof(runtime::SeqTransArgs, binds), "binds");
        seq_chunks_ = field(ptr_, offsetof(runtime::SeqTransArgs, chunks), "chunks");
        ctx_ = field(ptr_, offsetof(runtime::SeqTransArgs, ctx), "ctx");
        seq_rec_ = field(i64_, offsetof(runtime::SeqTransArgs, rec), "rec");
        llvm::Value* schema = field(i32_, offsetof(runtime::SeqTransArgs, schema), "schema");
        llvm::Value* pos = field(i32_, offsetof(runtime::SeqTransArgs, pos), "pos");
        llvm::Value* via = field(i32_, offsetof(runtime::SeqTransArgs, via), "via");
        llvm::Value* flags = field(i32_, offsetof(runtime::SeqTransArgs, flags), "flags");
        string_ids_ = &strings;
        auto flag = [&](uint32_t bit) { return b_.CreateICmpNE(b_.CreateAnd(flags, b_.getInt32(bit)), b_.getInt32(0)); };
        auto ret = [&](int32_t v) { b_.CreateRet(b_.getInt32(static_cast<uint32_t>(v))); };
        auto returns = [&](int32_t v) {
            llvm::BasicBlock* bb = block("ret");
            llvm::IRBuilderBase::InsertPointGuard guard(b_);
            b_.SetInsertPoint(bb);
            ret(v);
            return bb;
        };
        llvm::BasicBlock* none = returns(runtime::kSeqNone);

        // Negations: their predicate on the run (the matcher tests type and position).
        llvm::BasicBlock* trans = block("trans");
        llvm::BasicBlock* negs = block("negations");
        llvm::BasicBlock* modes = block("modes");
        b_.CreateCondBr(flag(runtime::kSeqNegation), negs, modes);
        b_.SetInsertPoint(negs);
        {
            llvm::BasicBlock* killed = returns(1);
            llvm::SwitchInst* sw = b_.CreateSwitch(via, none);
            for (size_t i = 0; i < nfa.negations.size(); ++i) {
                llvm::BasicBlock* at = block("neg");
                sw->addCase(b_.getInt32(static_cast<uint32_t>(i)), at);
                b_.SetInsertPoint(at);
                test_conjuncts(conjuncts_of(nfa.negations[i].predicate, -1), killed, none);
            }
        }

        b_.SetInsertPoint(modes);
        // Only skip_till_any_match asks for masks; its step tests are kernels of their own.
        if (nfa.strategy == ir::Strategy::SkipTillAnyMatch) seq_any_modes(nfa, schema, pos, flags, trans);
        else b_.CreateBr(trans);

        b_.SetInsertPoint(trans);
        if (nfa.strategy == ir::Strategy::SkipTillAnyMatch && nfa.form != ir::Nfa::Form::Or) {
            // The matcher never asks such an NFA for one decision (step_any and the compact DAG
            // take masks and step tests), so none is generated.
            b_.CreateBr(none);
            seq_binds_ = seq_chunks_ = seq_rec_ = nullptr;
            string_ids_ = nullptr;
            return;
        }
        if (nfa.form != ir::Nfa::Form::Sequence) {
            // And/Or: `pos` holds the operands the run took; the first other one the event
            // qualifies for (its whole predicate), in written order.
            for (size_t k = 0; k < nfa.steps.size(); ++k) {
                const ir::NfaStep& st = nfa.steps[k];
                llvm::BasicBlock* open = block("operand");
                llvm::BasicBlock* next = block("operand.next");
                llvm::Value* taken = b_.CreateAnd(pos, b_.getInt32(k < 32 ? uint32_t{1} << k : 0u));
                b_.CreateCondBr(b_.CreateICmpNE(taken, b_.getInt32(0)), next, open);
                b_.SetInsertPoint(open);
                llvm::BasicBlock* typed = block("operand.type");
                b_.CreateCondBr(b_.CreateICmpEQ(schema, b_.getInt32(static_cast<uint32_t>(st.type_id))), typed, next);
                b_.SetInsertPoint(typed);
                test_conjuncts(conjuncts_of(st.predicate, -1), returns(static_cast<int32_t>(k)), next);
                b_.SetInsertPoint(next);
            }
            b_.CreateBr(none);
            seq_binds_ = seq_chunks_ = seq_rec_ = nullptr;
            string_ids_ = nullptr;
            return;
        }
        const auto shapes = ir::nfa_step_shapes(nfa);
        const auto n = static_cast<int32_t>(nfa.steps.size());
        llvm::Value* complete = flag(runtime::kSeqComplete);
        llvm::Value* pending = flag(runtime::kSeqPending);
        std::vector<llvm::BasicBlock*> chain(static_cast<size_t>(n) + 1);
        for (int32_t s = 0; s < n; ++s) chain[static_cast<size_t>(s)] = block("step");
        chain[static_cast<size_t>(n)] = none;
        llvm::SwitchInst* sw = b_.CreateSwitch(pos, none);
        sw->addCase(b_.getInt32(static_cast<uint32_t>(-1)), chain[0]);
        llvm::BasicBlock* again = returns(runtime::kSeqAgain);
        for (int32_t p = 0; p < n; ++p) {
            const ir::NfaStep& st = nfa.steps[static_cast<size_t>(p)];
            const ir::NfaStepShape& sh = shapes[static_cast<size_t>(p)];
            llvm::BasicBlock* at = block("pos");
            sw->addCase(b_.getInt32(static_cast<uint32_t>(p)), at);
            b_.SetInsertPoint(at);
            llvm::BasicBlock* onward = block("onward");
            if (sh.kleene) {
                // Kleene again first: `full` once the own alias is bound (a deferred step always
                // tests `first`: its subsets are enumerated at completion).
                llvm::BasicBlock* typed = block("again.type");
                b_.CreateCondBr(b_.CreateICmpEQ(schema, b_.getInt32(static_cast<uint32_t>(st.type_id))), typed, onward);
                b_.SetInsertPoint(typed);
                if (sh.own && !sh.deferred) {
                    llvm::Value* ev = b_.CreateAlignedLoad(
                        i32_, b_.CreateConstInBoundsGEP1_64(i8_, seq_binds_, 8 * static_cast<uint64_t>(st.alias)), llvm::Align(4));
                    llvm::BasicBlock* full = block("again.full");
                    llvm::BasicBlock* first = block("again.first");
                    b_.CreateCondBr(b_.CreateICmpNE(ev, b_.getInt32(runtime::kSeqUnbound)), full, first);
                    b_.SetInsertPoint(full);
                    test_conjuncts(conjuncts_of(st.predicate, -1), again, onward);
                    b_.SetInsertPoint(first);
                    test_conjuncts(conjuncts_of(st.predicate, st.alias), again, onward);
                } else {
                    test_conjuncts(conjuncts_of(st.predicate, sh.own ? st.alias : -1), again, onward);
                }
            } else {
                b_.CreateBr(onward);
            }
            // A pending run (trailing NOT) only absorbs its Kleene step.
            b_.SetInsertPoint(onward);
            b_.CreateCondBr(pending, none, chain[static_cast<size_t>(p) + 1]);
        }
        for (int32_t s = 0; s < n; ++s) {
            const ir::NfaStep& st = nfa.steps[static_cast<size_t>(s)];
            const ir::NfaStepShape& sh = shapes[static_cast<size_t>(s)];
            b_.SetInsertPoint(chain[static_cast<size_t>(s)]);
            llvm::BasicBlock* take = returns(s);
            llvm::BasicBlock* skip = sh.optional ? chain[static_cast<size_t>(s) + 1] : none;
            if (st.quantifier == ir::Quantifier::Optional) {
                // The trailing-`?` rule: a complete run never enters a `?` step.
                llvm::BasicBlock* open = block("step.open");
                b_.CreateCondBr(complete, skip, open);
                b_.SetInsertPoint(open);
            }
            llvm::BasicBlock* typed = block("step.type");
            b_.CreateCondBr(b_.CreateICmpEQ(schema, b_.getInt32(static_cast<uint32_t>(st.type_id))), typed, skip);
            b_.SetInsertPoint(typed);
            std::vector<const Expr*> fresh = conjuncts_of(st.predicate, sh.own ? st.alias : -1);
            if (const Expr* key = ir::nfa_index_conjunct(nfa, s, n_schemas)) {
                // Found through the index bucket of the event's value: the key conjunct holds.
                std::vector<const Expr*> rest;
                for (const Expr* c : fresh)
                    if (c != key) rest.push_back(c);
                llvm::BasicBlock* by_key = block("step.via");
                llvm::BasicBlock* scan = block("step.scan");
                b_.CreateCondBr(b_.CreateICmpEQ(via, b_.getInt32(static_cast<uint32_t>(s))), by_key, scan);
                b_.SetInsertPoint(by_key);
                test_conjuncts(rest, take, skip);
                b_.SetInsertPoint(scan);
            }
            test_conjuncts(fresh, take, skip);
        }
        seq_binds_ = seq_chunks_ = seq_rec_ = nullptr;
        string_ids_ = nullptr;
    }

    /// Step s's predicate as PatternMatcher's qualifies(s, b, again) chooses it, branching to
    /// `yes` or `no`: an own-alias Kleene step tests `full` only as another iteration (`again`
    /// true at run time; null: an entry) with its alias bound, never when deferred.
    void any_test_step(const ir::Nfa& nfa, const std::vector<ir::NfaStepShape>& shapes, int32_t s, llvm::Value* schema,
                       llvm::Value* again, llvm::BasicBlock* yes, llvm::BasicBlock* no) {
        const ir::NfaStep& st = nfa.steps[static_cast<size_t>(s)];
        const ir::NfaStepShape& sh = shapes[static_cast<size_t>(s)];
        llvm::BasicBlock* typed = block("any.type");
        b_.CreateCondBr(b_.CreateICmpEQ(schema, b_.getInt32(static_cast<uint32_t>(st.type_id))), typed, no);
        b_.SetInsertPoint(typed);
        if (sh.own && !sh.deferred && again) {
            llvm::BasicBlock* full = block("any.full");
            llvm::BasicBlock* first = block("any.first");
            llvm::BasicBlock* check = block("any.bound");
            b_.CreateCondBr(again, check, first);
            b_.SetInsertPoint(check);
            llvm::Value* ev = b_.CreateAlignedLoad(
                i32_, b_.CreateConstInBoundsGEP1_64(i8_, seq_binds_, 8 * static_cast<uint64_t>(st.alias)), llvm::Align(4));
            b_.CreateCondBr(b_.CreateICmpNE(ev, b_.getInt32(runtime::kSeqUnbound)), full, first);
            b_.SetInsertPoint(full);
            test_conjuncts(conjuncts_of(st.predicate, -1), yes, no);
            b_.SetInsertPoint(first);
        }
        test_conjuncts(conjuncts_of(st.predicate, sh.own ? st.alias : -1), yes, no);
    }

    /// Step `s`'s test alone (runtime/abi.hpp kSeqTest, KernelTable OpKernels::tests): the
    /// transition kernel's test mode as a function small enough to keep the call cheap.
    void seq_test(const std::string& name, const ir::Nfa& nfa, int32_t s, const std::unordered_map<const Expr*, uint64_t>& strings) {
        begin(name, llvm::FunctionType::get(i32_, {ptr_}, false));
        llvm::Value* args = fn_->getArg(0);
        args->setName("args");
        auto field = [&](llvm::Type* t, size_t off, const char* n) {
            return b_.CreateAlignedLoad(t, b_.CreateConstInBoundsGEP1_64(i8_, args, off), llvm::Align(t == i32_ ? 4 : 8), n);
        };
        slots_ = field(ptr_, offsetof(runtime::SeqTransArgs, slots), "slots");
        seq_binds_ = field(ptr_, offsetof(runtime::SeqTransArgs, binds), "binds");
        seq_chunks_ = field(ptr_, offsetof(runtime::SeqTransArgs, chunks), "chunks");
        ctx_ = field(ptr_, offsetof(runtime::SeqTransArgs, ctx), "ctx");
        seq_rec_ = field(i64_, offsetof(runtime::SeqTransArgs, rec), "rec");
        llvm::Value* schema = field(i32_, offsetof(runtime::SeqTransArgs, schema), "schema");
        llvm::Value* flags = field(i32_, offsetof(runtime::SeqTransArgs, flags), "flags");
        string_ids_ = &strings;
        llvm::BasicBlock* yes = block("yes");
        llvm::BasicBlock* no = block("no");
        {
            llvm::IRBuilderBase::InsertPointGuard guard(b_);
            b_.SetInsertPoint(yes);
            b_.CreateRet(b_.getInt32(1));
            b_.SetInsertPoint(no);
            b_.CreateRet(b_.getInt32(static_cast<uint32_t>(runtime::kSeqNone)));
        }
        llvm::Value* again = b_.CreateICmpNE(b_.CreateAnd(flags, b_.getInt32(runtime::kSeqTestAgain)), b_.getInt32(0));
        any_test_step(nfa, ir::nfa_step_shapes(nfa), s, schema, again, yes, no);
        seq_binds_ = seq_chunks_ = seq_rec_ = nullptr;
        string_ids_ = nullptr;
    }

    /// The skip_till_any_match mask mode of a transition kernel (runtime/abi.hpp kSeqMask),
    /// entered from the current block; any other call goes on to `trans`. (kSeqTest is the
    /// per-step test kernels' job: seq_test.)
    void seq_any_modes(const ir::Nfa& nfa, llvm::Value* schema, llvm::Value* pos, llvm::Value* flags,
                       llvm::BasicBlock* trans) {
        auto flag = [&](uint32_t bit) { return b_.CreateICmpNE(b_.CreateAnd(flags, b_.getInt32(bit)), b_.getInt32(0)); };
        const auto shapes = ir::nfa_step_shapes(nfa);
        const auto n = static_cast<int32_t>(nfa.steps.size());
        auto test_step = [&](int32_t s, llvm::Value* again, llvm::BasicBlock* yes, llvm::BasicBlock* no) {
            any_test_step(nfa, shapes, s, schema, again, yes, no);
        };
        if (nfa.form != ir::Nfa::Form::Sequence || n > runtime::kSeqMaxMaskSteps) {
            b_.CreateBr(trans);
            return;
        }
        llvm::BasicBlock* mask = block("mask");
        b_.CreateCondBr(flag(runtime::kSeqMask), mask, trans);
        b_.SetInsertPoint(mask);
        llvm::AllocaInst* bits;
        {
            llvm::IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
            bits = eb.CreateAlloca(i32_, nullptr, "mask.bits");
        }
        b_.CreateStore(b_.getInt32(0), bits);
        llvm::BasicBlock* done = block("mask.done");
        {
            llvm::IRBuilderBase::InsertPointGuard guard(b_);
            b_.SetInsertPoint(done);
            b_.CreateRet(b_.CreateLoad(i32_, bits));
        }
        auto set_bit = [&](uint32_t bit, llvm::BasicBlock* then) {
            llvm::BasicBlock* bb = block("mask.set");
            llvm::IRBuilderBase::InsertPointGuard guard(b_);
            b_.SetInsertPoint(bb);
            b_.CreateStore(b_.CreateOr(b_.CreateLoad(i32_, bits), b_.getInt32(bit)), bits);
            b_.CreateBr(then);
            return bb;
        };
        llvm::Value* complete = flag(runtime::kSeqComplete);
        llvm::Value* pending = flag(runtime::kSeqPending);
        // The forward chain, shared by every position: entering step s, then on through it
        // when it is optional.
        std::vector<llvm::BasicBlock*> chain(static_cast<size_t>(n) + 1);
        for (int32_t s = 0; s < n; ++s) chain[static_cast<size_t>(s)] = block("mask.step");
        chain[static_cast<size_t>(n)] = done;
        llvm::SwitchInst* sw = b_.CreateSwitch(pos, done);
        for (int32_t p = 0; p < n; ++p) {
            llvm::BasicBlock* at = block("mask.pos");
            sw->addCase(b_.getInt32(static_cast<uint32_t>(p)), at);
            b_.SetInsertPoint(at);
            llvm::BasicBlock* onward = block("mask.onward");
            if (shapes[static_cast<size_t>(p)].kleene)
                test_step(p, b_.getTrue(), set_bit(1u, onward), onward);
            else
                b_.CreateBr(onward);
            b_.SetInsertPoint(onward);
            b_.CreateCondBr(pending, done, chain[static_cast<size_t>(p) + 1]);
        }
        for (int32_t s = 0; s < n; ++s) {
            const ir::NfaStepShape& sh = shapes[static_cast<size_t>(s)];
            b_.SetInsertPoint(chain[static_cast<size_t>(s)]);
            llvm::BasicBlock* after = sh.optional ? chain[static_cast<size_t>(s) + 1] : done;
            if (nfa.steps[static_cast<size_t>(s)].quantifier == ir::Quantifier::Optional) {
                // The trailing-`?` rule: a complete run never enters a `?` step.
                llvm::BasicBlock* open = block("mask.open");
                b_.CreateCondBr(complete, after, open);
                b_.SetInsertPoint(open);
            }
            test_step(s, nullptr, set_bit(1u << (s + 1), after), after);
        }
    }

    /// The top-level conjuncts of `pred` (none: always true), without those reading alias
    /// `drop` (>= 0): a Kleene step's `first` variant.
    static std::vector<const Expr*> conjuncts_of(const ir::ExprPtr& pred, int32_t drop) {
        std::vector<const Expr*> out;
        if (!pred) return out;
        std::vector<ir::ExprPtr> all;
        ir::nfa_conjuncts(pred, all);
        for (const auto& c : all)
            if (drop < 0 || !ir::expr_reads_alias(*c, drop)) out.push_back(c.get());
        return out;
    }

    /// Branches to `yes` when every conjunct is Bool true, else to `no` (at the first that is not).
    void test_conjuncts(const std::vector<const Expr*>& cs, llvm::BasicBlock* yes, llvm::BasicBlock* no) {
        for (const Expr* c : cs) {
            llvm::BasicBlock* holds = block("conj");
            b_.CreateCondBr(truthy(gen(c)), holds, no);
            b_.SetInsertPoint(holds);
        }
        b_.CreateBr(yes);
    }

    void project(const std::string& name, const ir::Operator& op) { project_items(name, projection_items(op)); }

    /// A Select/Emit's expression per output slot (null: absent).
    std::vector<const Expr*> projection_items(const ir::Operator& op) const {
        size_t w = plan_.schemas[static_cast<size_t>(op.out)].fields.size();
        std::vector<const Expr*> items;
        for (size_t i = 0; i < w; ++i) items.push_back(i < op.exprs.size() ? op.exprs[i].get() : nullptr);
        return items;
    }

    /// An aggregate's arguments, one output slot per call (absent for count()).
    void aggregate_args(const std::string& name, const ir::Operator& op) {
        std::vector<const Expr*> items;
        for (const auto& call : op.calls) items.push_back(call.arg.get());
        project_items(name, items);
    }

    void project_items(const std::string& name, const std::vector<const Expr*>& items) {
        begin(name, llvm::FunctionType::get(void_, {ptr_, ptr_, ptr_}, false));
        slots_ = fn_->getArg(0);
        llvm::Value* out = fn_->getArg(1);
        ctx_ = fn_->getArg(2);
        slots_->setName("in");
        out->setName("out");
        ctx_->setName("ctx");
        for (size_t i = 0; i < items.size(); ++i) store(gen(items[i]), b_.CreateConstInBoundsGEP1_64(i8_, out, 16 * i));
        b_.CreateRetVoid();
    }

    /// Operators [from, end) of stream `s` fused (see fuses(), tail_chain()): their code is
    /// generated inline, one after the other, so values stay in registers between operators.
    /// They get no kernels of their own: the engine reaches them only through this function
    /// (Engine::Impl::run_chain), and one copy of each body is less machine code to make.
    /// Numbering as their own kernels would have had: each operator is marked where it starts.
    void chain(const std::string& name, size_t s, const ir::StreamPlan& sp, size_t from) {
        begin(name, llvm::FunctionType::get(i32_, {ptr_, ptr_, ptr_}, false));
        slots_ = fn_->getArg(0);
        llvm::Value* out = fn_->getArg(1);
        ctx_ = fn_->getArg(2);
        slots_->setName("in");
        out->setName("out");
        ctx_->setName("ctx");
        const size_t last = last_projection(sp);   // writes `out`
        for (size_t k = from; k < sp.ops.size(); ++k) {
            const ir::Operator& op = sp.ops[k];
            mark_operator(s, k);
            if (op.kind == ir::OpKind::Filter) {
                llvm::BasicBlock* pass = block("pass");
                llvm::BasicBlock* drop = block("drop");
                b_.CreateCondBr(truthy(gen(op.exprs[0].get())), pass, drop);
                b_.SetInsertPoint(drop);
                b_.CreateRet(b_.getInt32(0));
                b_.SetInsertPoint(pass);
                continue;
            }
            const std::vector<const Expr*> items = projection_items(op);
            llvm::Value* dest = out;
            if (k != last) dest = entry_alloca(16 * std::max<size_t>(items.size(), 1));
            for (size_t i = 0; i < items.size(); ++i) store(gen(items[i]), b_.CreateConstInBoundsGEP1_64(i8_, dest, 16 * i));
            slots_ = dest;
        }
        b_.CreateRet(b_.getInt32(1));
    }

    /// Every stream of `streams` (all fused, see fuses(); their outputs feed no stream) on each
    /// of `n` rows of width `width`, in that order per row, the operators generated inline as
    /// in their own kernels; each Emit row goes out through ctx->run->emit. See type_fuses().
    void type_loop(const std::string& name, size_t schema, size_t width, const std::vector<int32_t>& streams) {
        begin(name, llvm::FunctionType::get(i64_, {ptr_, i64_, ptr_}, false));
        llvm::Value* rows = fn_->getArg(0);
        llvm::Value* n = fn_->getArg(1);
        ctx_ = fn_->getArg(2);
        rows->setName("rows");
        n->setName("n");
        ctx_->setName("ctx");
        // The context's tables and the run's callbacks do not change during the call: loaded
        // once, not per row.
        cached_nodes_ = ctx_member(offsetof(runtime::KernelContext, nodes), "nodes");
        cached_consts_ = ctx_member(offsetof(runtime::KernelContext, consts), "consts");
        llvm::Value* run = ctx_member(offsetof(runtime::KernelContext, run), "run");
        llvm::Value* emit = b_.CreateAlignedLoad(
            ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, emit)), llvm::Align(8), "emit");
        llvm::Value* begin_row = b_.CreateAlignedLoad(
            ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, begin_row)), llvm::Align(8),
            "begin_row");
        auto* emit_type = llvm::FunctionType::get(i32_, {ptr_, i32_, i64_, ptr_}, false);
        auto* begin_row_type = llvm::FunctionType::get(void_, {ptr_, i64_}, false);
        window_enter_ = b_.CreateAlignedLoad(
            ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, window_enter)), llvm::Align(8),
            "window_enter");
        window_close_ = b_.CreateAlignedLoad(
            ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, window_close)), llvm::Align(8),
            "window_close");
        push_ = b_.CreateAlignedLoad(ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, push)),
                                     llvm::Align(8), "push");
        llvm::Value* end_row = b_.CreateAlignedLoad(
            ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, end_row)), llvm::Align(8),
            "end_row");
        auto* end_row_type = llvm::FunctionType::get(i32_, {ptr_, i64_}, false);
        // Fused windows' fast path (TypeRun::window_enter_open): their pointers and the run's times.
        ts_base_ = b_.CreateAlignedLoad(ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, ts)),
                                        llvm::Align(8), "ts");
        llvm::Value* windows = b_.CreateAlignedLoad(
            ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, windows)), llvm::Align(8), "windows");
        enter_open_ = b_.CreateAlignedLoad(
            ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, window_enter_open)), llvm::Align(8),
            "window_enter_open");
        window_of_.clear();
        for (int32_t sid : streams)
            if (type_loop_accumulates(plan_, plan_.streams[static_cast<size_t>(sid)]))
                window_of_[sid] = b_.CreateAlignedLoad(
                    ptr_, b_.CreateConstInBoundsGEP1_64(i8_, windows, 8 * static_cast<uint64_t>(sid)), llvm::Align(8),
                    "window");
        bool any_forwards = false;
        for (int32_t sid : streams) any_forwards = any_forwards || forwards(plan_, plan_.streams[static_cast<size_t>(sid)]);
        bool calls_interpreter_any = false;
        for (int32_t sid : streams)
            for (const auto& op : plan_.streams[static_cast<size_t>(sid)].ops)
                calls_interpreter_any = calls_interpreter_any || calls_interpreter(plan_, op);
        // Stateless streams that only emit write their outputs to the run's buffer
        // (TypeRun::out_next) instead of one call per output.
        bool buffered = !any_forwards;
        for (int32_t sid : streams) {
            const ir::StreamPlan& sp = plan_.streams[static_cast<size_t>(sid)];
            if (type_loop_handoff(plan_, sp) >= 0 || sp.ops.back().kind != ir::OpKind::Emit ||
                16 + 16 * plan_.schemas[static_cast<size_t>(sp.ops.back().out)].fields.size() > runtime::kMaxOutputEntry)
                buffered = false;
        }
        auto* flush_type = llvm::FunctionType::get(i32_, {ptr_}, false);
        llvm::Value* flush = b_.CreateAlignedLoad(
            ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, flush)), llvm::Align(8), "flush");
        llvm::Value* out_next_at = b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, out_next));
        llvm::Value* out_end = b_.CreateAlignedLoad(
            ptr_, b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, out_end)), llvm::Align(8),
            "out_end");

        llvm::BasicBlock* entry = b_.GetInsertBlock();
        llvm::BasicBlock* head = block("row");
        llvm::BasicBlock* body = block("row.body");
        llvm::BasicBlock* done = block("done");
        b_.CreateBr(head);
        b_.SetInsertPoint(head);
        llvm::PHINode* i = b_.CreatePHI(i64_, 2, "i");
        i->addIncoming(b_.getInt64(0), entry);
        b_.CreateCondBr(b_.CreateICmpULT(i, n), body, done);
        b_.SetInsertPoint(body);
        llvm::Value* row = b_.CreateInBoundsGEP(i8_, rows, b_.CreateMul(i, b_.getInt64(16 * width)), "slots");
        if (calls_interpreter_any) b_.CreateCall(begin_row_type, begin_row, {run, i})->addFnAttr(llvm::Attribute::NoUnwind);
        llvm::BasicBlock* stop = block("stop");
        for (int32_t sid : streams) {
            const ir::StreamPlan& sp = plan_.streams[static_cast<size_t>(sid)];
            llvm::BasicBlock* next = block("stream.next");
            slots_ = row;
            llvm::Value* row_in = row;   // the row the stream's operators start from
            llvm::Value* out = nullptr;
            llvm::Value* entry = nullptr;   // buffered: this row's output entry
            const size_t last = last_projection(sp);
            // The first operator the loop hands to the engine (-1: none). Generated code runs
            // the compiled filters and selects before it; a window fused with its aggregate gets
            // its accumulator updates inline; anything else (a buffering window, a sequence, a
            // join, ...) gets the row through TypeRun::push, and the engine runs the rest.
            const int handoff = type_loop_handoff(plan_, sp);
            if (!sp.merge_filters.empty()) {
                merge_row(sid, sp, schema, row, next);
                row_in = slots_;
            }
            auto hand_over = [&](size_t k) {
                auto* push_type = llvm::FunctionType::get(i32_, {ptr_, i32_, i32_, i64_, ptr_}, false);
                llvm::CallInst* go_on = b_.CreateCall(push_type, push_, {run, b_.getInt32(static_cast<uint32_t>(sid)),
                                                                         b_.getInt32(static_cast<uint32_t>(k)), i, slots_});
                go_on->addFnAttr(llvm::Attribute::NoUnwind);
                llvm::BasicBlock* pushed = block("pushed");
                b_.CreateCondBr(b_.CreateICmpNE(go_on, b_.getInt32(0)), pushed, stop);
                b_.SetInsertPoint(pushed);
            };
            if (handoff >= 0 && static_cast<size_t>(handoff) == sp.ops.size()) hand_over(sp.ops.size());
            for (size_t k = 0; k < sp.ops.size(); ++k) {
                const ir::Operator& op = sp.ops[k];
                if (static_cast<int>(k) == handoff) {
                    if (type_loop_accumulates(plan_, sp))
                        window_feed(run, sid, i, slots_, op, sp.ops[k + 1], numbering_.at({static_cast<size_t>(sid), k + 1}),
                                    stop);
                    else
                        hand_over(k);
                    break;
                }
                const Numbering saved{next_node_, next_string_};
                const Numbering& at = numbering_.at({static_cast<size_t>(sid), k});
                next_node_ = at.node;
                next_string_ = at.string;
                if (op.kind == ir::OpKind::Filter) {
                    llvm::BasicBlock* pass = block("pass");
                    b_.CreateCondBr(truthy(gen(op.exprs[0].get())), pass, next);
                    b_.SetInsertPoint(pass);
                } else {
                    std::vector<const Expr*> items = projection_items(op);
                    llvm::Value* dest = nullptr;
                    if (buffered && k == last && op.kind == ir::OpKind::Emit) {
                        // Room for the entry first: a flush delivers the earlier rows' outputs.
                        const uint64_t size = 16 + 16 * items.size();
                        llvm::Value* at = b_.CreateAlignedLoad(ptr_, out_next_at, llvm::Align(8), "out.next");
                        llvm::BasicBlock* check = b_.GetInsertBlock();
                        llvm::BasicBlock* full = block("out.full");
                        llvm::BasicBlock* flushed = block("out.flushed");
                        llvm::BasicBlock* room = block("out.room");
                        b_.CreateCondBr(b_.CreateICmpULE(b_.CreateConstInBoundsGEP1_64(i8_, at, size), out_end), room, full);
                        b_.SetInsertPoint(full);
                        llvm::CallInst* ok = b_.CreateCall(flush_type, flush, {run});
                        ok->addFnAttr(llvm::Attribute::NoUnwind);
                        b_.CreateCondBr(b_.CreateICmpNE(ok, b_.getInt32(0)), flushed, stop);
                        b_.SetInsertPoint(flushed);
                        llvm::Value* reset = b_.CreateAlignedLoad(ptr_, out_next_at, llvm::Align(8), "out.reset");
                        b_.CreateBr(room);
                        b_.SetInsertPoint(room);
                        llvm::PHINode* p = b_.CreatePHI(ptr_, 2, "entry");
                        p->addIncoming(at, check);
                        p->addIncoming(reset, flushed);
                        entry = p;
                        dest = b_.CreateConstInBoundsGEP1_64(i8_, entry, 16);
                    } else {
                        dest = entry_alloca(16 * std::max<size_t>(items.size(), 1));
                    }
                    for (size_t s = 0; s < items.size(); ++s)
                        store(gen(items[s]), b_.CreateConstInBoundsGEP1_64(i8_, dest, 16 * s));
                    slots_ = dest;
                    if (k == last) out = dest;
                }
                next_node_ = saved.node;
                next_string_ = saved.string;
            }
            // The stream's row goes out, to its readers or both (runtime/abi.hpp TypeRun::emit).
            const bool emits = out && sp.ops.back().kind == ir::OpKind::Emit;
            if (entry) {
                const uint64_t size = 16 + 16 * plan_.schemas[static_cast<size_t>(sp.ops.back().out)].fields.size();
                b_.CreateAlignedStore(b_.getInt32(static_cast<uint32_t>(sid)), entry, llvm::Align(8));
                b_.CreateAlignedStore(i, b_.CreateConstInBoundsGEP1_64(i8_, entry, 8), llvm::Align(8));
                b_.CreateAlignedStore(b_.CreateConstInBoundsGEP1_64(i8_, entry, size), out_next_at, llvm::Align(8));
                b_.CreateBr(next);
            } else if (handoff < 0 && (emits || forwards(plan_, sp))) {
                llvm::CallInst* go_on = b_.CreateCall(
                    emit_type, emit, {run, b_.getInt32(static_cast<uint32_t>(sid)), i, out ? out : row_in});
                go_on->addFnAttr(llvm::Attribute::NoUnwind);
                b_.CreateCondBr(b_.CreateICmpNE(go_on, b_.getInt32(0)), next, stop);
            } else {
                b_.CreateBr(next);
            }
            b_.SetInsertPoint(next);
        }
        if (any_forwards) {
            // Only a row that entered the engine can have queued rows or used scratch.
            llvm::Value* entered_at = b_.CreateConstInBoundsGEP1_64(i8_, run, offsetof(runtime::TypeRun, entered));
            llvm::BasicBlock* ending = block("row.end");
            llvm::BasicBlock* next_row = block("row.next");
            b_.CreateCondBr(b_.CreateICmpNE(b_.CreateAlignedLoad(i32_, entered_at, llvm::Align(4), "entered"),
                                            b_.getInt32(0)),
                            ending, next_row);
            b_.SetInsertPoint(ending);
            llvm::CallInst* go_on = b_.CreateCall(end_row_type, end_row, {run, i});
            go_on->addFnAttr(llvm::Attribute::NoUnwind);
            b_.CreateAlignedStore(b_.getInt32(0), entered_at, llvm::Align(4));
            b_.CreateCondBr(b_.CreateICmpNE(go_on, b_.getInt32(0)), next_row, stop);
            b_.SetInsertPoint(next_row);
        }
        llvm::Value* i_next = b_.CreateAdd(i, b_.getInt64(1), "i.next");
        i->addIncoming(i_next, b_.GetInsertBlock());
        b_.CreateBr(head);
        b_.SetInsertPoint(stop);
        b_.CreateRet(i);
        b_.SetInsertPoint(done);
        b_.CreateRet(n);
        cached_nodes_ = nullptr;
        cached_consts_ = nullptr;
    }

    size_t fallbacks_used() const { return next_node_; }

    /// An effect kernel (see compiles_effect()): int32_t effect(const Value* slots, void* ctx).
    /// Expressions are generated here; printing, sending, the seen-set and emitted events are
    /// the engine's, reached through the vp_op_* helpers (runtime/abi.hpp OpRun).
    void effect(const std::string& name, const ir::Operator& op) {
        begin(name, llvm::FunctionType::get(i32_, {ptr_, ptr_}, false));
        slots_ = fn_->getArg(0);
        ctx_ = fn_->getArg(1);
        slots_->setName("slots");
        ctx_->setName("ctx");
        locals_ = nullptr;
        llvm::Value* null = llvm::ConstantPointerNull::get(ptr_);
        switch (op.kind) {
            case ir::OpKind::Print: {
                auto* print = declare("vp_op_print", i32_, {ptr_, ptr_, i32_});
                llvm::Value* values = null;
                if (!op.exprs.empty()) {
                    values = entry_alloca(16 * op.exprs.size());
                    for (size_t i = 0; i < op.exprs.size(); ++i)
                        store(gen(op.exprs[i].get()), b_.CreateConstInBoundsGEP1_64(i8_, values, 16 * i));
                }
                b_.CreateRet(b_.CreateCall(print, {ctx_, values, b_.getInt32(static_cast<uint32_t>(op.exprs.size()))}));
                break;
            }
            case ir::OpKind::To:
                b_.CreateRet(b_.CreateCall(declare("vp_op_send", i32_, {ptr_}), {ctx_}));
                break;
            case ir::OpKind::Distinct: {
                auto* distinct = declare("vp_op_distinct", i32_, {ptr_, ptr_});
                llvm::Value* key = op.exprs.empty() ? null : spill(gen(op.exprs[0].get()));
                b_.CreateRet(b_.CreateCall(distinct, {ctx_, key}));
                break;
            }
            case ir::OpKind::Process: process(*process_function(plan_, op), *op.exprs[0]); break;
            default: b_.CreateRet(b_.getInt32(1)); break;
        }
        locals_ = nullptr;
    }

    /// `.process(f(args))`: the arguments on the row, then f's body with its frame on the
    /// stack (published as KernelContext::locals for the interpreter's fallbacks), with the
    /// statement semantics of runtime/eval.cpp exec_stmt. Returns 1, or 0 when an emit failed.
    void process(const ir::Function& fn, const Expr& call) {
        std::vector<Val> args;
        for (const auto& a : call.args) args.push_back(gen(a.get()));
        frame_size_ = std::max<size_t>(std::max(fn.local_count, fn.param_count), 1);
        locals_ = entry_alloca(16 * frame_size_);
        for (size_t i = 0; i < frame_size_; ++i) {
            const bool param = i < fn.param_count && i < args.size();
            store(param ? args[i] : absent(), b_.CreateConstInBoundsGEP1_64(i8_, locals_, 16 * i));
        }
        llvm::Value* locals_at = b_.CreateConstInBoundsGEP1_64(i8_, ctx_, offsetof(runtime::KernelContext, locals));
        b_.CreateAlignedStore(locals_, locals_at, llvm::Align(8));
        iterations_ = entry_alloca(8);
        b_.CreateAlignedStore(b_.getInt64(0), iterations_, llvm::Align(8));
        fn_exit_ = block("fn.exit");
        fn_fail_ = block("fn.fail");
        loops_.clear();
        statements(fn.body);
        b_.CreateBr(fn_exit_);
        b_.SetInsertPoint(fn_exit_);
        b_.CreateAlignedStore(llvm::ConstantPointerNull::get(ptr_), locals_at, llvm::Align(8));
        b_.CreateRet(b_.getInt32(1));
        b_.SetInsertPoint(fn_fail_);
        b_.CreateAlignedStore(llvm::ConstantPointerNull::get(ptr_), locals_at, llvm::Align(8));
        b_.CreateRet(b_.getInt32(0));
    }

    /// Statements after a jump are unreachable; they are still generated (into a block with no
    /// predecessor) so that fallback and string numbers follow for_stmt_exprs().
    void jump(llvm::BasicBlock* to) {
        b_.CreateBr(to);
        b_.SetInsertPoint(block("dead"));
    }

    /// exec_loop_body's guard: past kMaxLoopIterations the call ends (Flow::Abort).
    void count_iteration() {
        llvm::Value* n = b_.CreateAdd(b_.CreateAlignedLoad(i64_, iterations_, llvm::Align(8)), b_.getInt64(1));
        b_.CreateAlignedStore(n, iterations_, llvm::Align(8));
        llvm::BasicBlock* go = block("loop.body");
        b_.CreateCondBr(b_.CreateICmpUGT(n, b_.getInt64(kMaxLoopIterations)), fn_exit_, go);
        b_.SetInsertPoint(go);
    }

    void set_local(int32_t index, const Val& v) {
        if (index < 0 || static_cast<size_t>(index) >= frame_size_) return;
        store(v, b_.CreateConstInBoundsGEP1_64(i8_, locals_, 16 * static_cast<uint64_t>(index)));
    }

    /// eval_condition: a missing expression holds.
    llvm::Value* condition(const Expr* e) { return e ? truthy(gen(e)) : static_cast<llvm::Value*>(b_.getTrue()); }

    void statements(const std::vector<ir::StmtPtr>& body) {
        for (const auto& s : body)
            if (s) statement(*s);
    }

    void statement(const ir::Stmt& s) {
        using ir::StmtOp;
        switch (s.op) {
            case StmtOp::Let:
            case StmtOp::Assign:
                set_local(s.index, s.exprs.empty() ? absent() : gen(s.exprs[0].get()));
                break;
            case StmtOp::AssignGlobal: {
                Val v = s.exprs.empty() ? absent() : gen(s.exprs[0].get());
                b_.CreateCall(declare("vp_store_global", void_, {i32_, ptr_, ptr_}),
                              {b_.getInt32(static_cast<uint32_t>(s.index)), ctx_, spill(v)});
                break;
            }
            case StmtOp::If: {
                llvm::BasicBlock* done = block("if.end");
                for (size_t i = 0; i < s.exprs.size(); ++i) {
                    llvm::BasicBlock* then = block("if.then");
                    llvm::BasicBlock* other = block("if.next");
                    b_.CreateCondBr(condition(s.exprs[i].get()), then, other);
                    b_.SetInsertPoint(then);
                    if (i < s.blocks.size()) statements(s.blocks[i]);
                    b_.CreateBr(done);
                    b_.SetInsertPoint(other);
                }
                if (s.blocks.size() > s.exprs.size()) statements(s.blocks[s.exprs.size()]);
                b_.CreateBr(done);
                b_.SetInsertPoint(done);
                break;
            }
            case StmtOp::While: {
                llvm::BasicBlock* head = block("while.head");
                llvm::BasicBlock* body = block("while.body");
                llvm::BasicBlock* end = block("while.end");
                b_.CreateBr(head);
                b_.SetInsertPoint(head);
                if (s.exprs.empty()) b_.CreateBr(end);
                else b_.CreateCondBr(condition(s.exprs[0].get()), body, end);
                b_.SetInsertPoint(body);
                count_iteration();
                loops_.push_back({end, head});
                if (!s.blocks.empty()) statements(s.blocks[0]);
                loops_.pop_back();
                b_.CreateBr(head);
                b_.SetInsertPoint(end);
                break;
            }
            case StmtOp::For: {
                Val it = s.exprs.empty() ? absent() : gen(s.exprs[0].get());
                llvm::Value* it_at = spill(it);
                llvm::Value* at = entry_alloca(8);
                b_.CreateAlignedStore(b_.getInt64(0), at, llvm::Align(8));
                llvm::Value* item = temp();
                auto* next_item = declare("vp_for_item", i32_, {ptr_, ptr_, i64_, ptr_});
                llvm::BasicBlock* head = block("for.head");
                llvm::BasicBlock* body = block("for.body");
                llvm::BasicBlock* end = block("for.end");
                b_.CreateBr(head);
                b_.SetInsertPoint(head);
                llvm::Value* i = b_.CreateAlignedLoad(i64_, at, llvm::Align(8));
                llvm::Value* more = b_.CreateCall(next_item, {ctx_, it_at, i, item});
                b_.CreateCondBr(b_.CreateICmpNE(more, b_.getInt32(0)), body, end);
                b_.SetInsertPoint(body);
                b_.CreateAlignedStore(b_.CreateAdd(i, b_.getInt64(1)), at, llvm::Align(8));
                set_local(s.index, reload(item));
                count_iteration();
                loops_.push_back({end, head});
                if (!s.blocks.empty()) statements(s.blocks[0]);
                loops_.pop_back();
                b_.CreateBr(head);
                b_.SetInsertPoint(end);
                break;
            }
            case StmtOp::Return:
                if (!s.exprs.empty()) gen(s.exprs[0].get());   // evaluated for its effects (uuid())
                jump(fn_exit_);
                break;
            // Outside a loop, break and continue end the call (the flow reaches call_function).
            case StmtOp::Break: jump(loops_.empty() ? fn_exit_ : loops_.back().first); break;
            case StmtOp::Continue: jump(loops_.empty() ? fn_exit_ : loops_.back().second); break;
            case StmtOp::Emit: {
                const size_t n = std::min(s.exprs.size(), s.names.size());
                llvm::Value* values = entry_alloca(16 * std::max<size_t>(n, 1));
                for (size_t i = 0; i < n; ++i) store(gen(s.exprs[i].get()), b_.CreateConstInBoundsGEP1_64(i8_, values, 16 * i));
                auto* emit = declare("vp_op_emit", i32_, {ptr_, i32_, ptr_});
                llvm::Value* ok = b_.CreateCall(emit, {ctx_, b_.getInt32(next_emit_++), values});
                llvm::BasicBlock* cont = block("emitted");
                b_.CreateCondBr(b_.CreateICmpNE(ok, b_.getInt32(0)), cont, fn_fail_);
                b_.SetInsertPoint(cont);
                break;
            }
            case StmtOp::Expr:
                if (!s.exprs.empty()) gen(s.exprs[0].get());
                break;
        }
    }

    /// A local of the compiled body's frame; absent outside one (no frame) or out of range.
    Val local(const Expr& e) {
        if (!locals_ || e.index < 0 || static_cast<size_t>(e.index) >= frame_size_) return absent();
        return reload(b_.CreateConstInBoundsGEP1_64(i8_, locals_, 16 * static_cast<uint64_t>(e.index)));
    }

    /// One event into a fused window: its open group found here (open_group), else by the
    /// runtime (TypeRun::window_enter_open, then window_enter: new partitions and groups,
    /// closes), then the accumulators updated with the arithmetic of runtime/window_state.hpp
    /// acc_add (same operations in the same order: bit-identical).
    void window_feed(llvm::Value* run, int32_t sid, llvm::Value* row, llvm::Value* slots, const ir::Operator& window,
                     const ir::Operator& aggregate, const Numbering& at, llvm::BasicBlock* stop) {
        using frontend::AggregateFn;
        auto* enter_type = llvm::FunctionType::get(ptr_, {ptr_, i32_, i64_, ptr_}, false);
        auto* close_type = llvm::FunctionType::get(i32_, {ptr_, i32_, i64_}, false);
        llvm::Value* sid_v = b_.getInt32(static_cast<uint32_t>(sid));
        llvm::Value* ts = b_.CreateAlignedLoad(i64_, b_.CreateInBoundsGEP(i64_, ts_base_, row), llvm::Align(8), "row.ts");
        llvm::Value* access = window_of_.at(sid);
        llvm::BasicBlock* miss = block("window.miss");
        llvm::BasicBlock* entered = block("window.entered");
        const OpenGroup hit = open_group(access, slots, ts, window, aggregate, miss);
        llvm::BasicBlock* hit_end = b_.GetInsertBlock();
        b_.CreateBr(entered);

        b_.SetInsertPoint(miss);
        auto* open_type = llvm::FunctionType::get(ptr_, {ptr_, ptr_, i64_}, false);
        llvm::CallInst* joined = b_.CreateCall(open_type, enter_open_, {access, slots, ts}, "cursor.open");
        joined->addFnAttr(llvm::Attribute::NoUnwind);
        llvm::BasicBlock* open_end = b_.GetInsertBlock();
        llvm::BasicBlock* slow = block("window.enter");
        llvm::BasicBlock* runtime_entered = block("window.runtime");
        b_.CreateCondBr(b_.CreateIsNull(joined), slow, runtime_entered);
        b_.SetInsertPoint(slow);
        llvm::CallInst* entered_slow = b_.CreateCall(enter_type, window_enter_, {run, sid_v, row, slots}, "cursor.slow");
        entered_slow->addFnAttr(llvm::Attribute::NoUnwind);
        b_.CreateCondBr(b_.CreateIsNull(entered_slow), stop, runtime_entered);
        b_.SetInsertPoint(runtime_entered);
        llvm::PHINode* cursor = b_.CreatePHI(ptr_, 2, "cursor");
        cursor->addIncoming(joined, open_end);
        cursor->addIncoming(entered_slow, slow);
        auto member = [&](llvm::Value* base, size_t offset, const char* name) {
            return b_.CreateAlignedLoad(ptr_, b_.CreateConstInBoundsGEP1_64(i8_, base, offset), llvm::Align(8), name);
        };
        llvm::Value* acc_rt = member(cursor, offsetof(runtime::WindowCursor, acc), "acc");
        llvm::Value* group_rt = member(cursor, offsetof(runtime::WindowCursor, group), "group");
        llvm::Value* part_rt = member(cursor, offsetof(runtime::WindowCursor, part), "part");
        llvm::BasicBlock* runtime_end = b_.GetInsertBlock();
        b_.CreateBr(entered);
        b_.SetInsertPoint(entered);
        auto merge = [&](llvm::Value* fast, llvm::Value* rt, const char* name) {
            llvm::PHINode* phi = b_.CreatePHI(ptr_, 2, name);
            phi->addIncoming(fast, hit_end);
            phi->addIncoming(rt, runtime_end);
            return phi;
        };
        llvm::Value* acc = merge(hit.acc, acc_rt, "acc");
        llvm::Value* group = merge(hit.group, group_rt, "group");
        llvm::Value* part = merge(hit.part, part_rt, "part");
        llvm::Value* group_count_at = b_.CreateConstInBoundsGEP1_64(i8_, group, offsetof(runtime::GroupHeader, count));
        llvm::Value* group_count = b_.CreateAlignedLoad(i64_, group_count_at, llvm::Align(8), "group.count");

        auto feed = [&] {
            feed_calls(aggregate, at, acc, [&](const ir::AggregateCall& call, size_t, const Val& v, llvm::Value* v_at) {
                switch (call.fn) {
                    case AggregateFn::First: {
                        llvm::BasicBlock* set = block("first.set");
                        llvm::BasicBlock* cont = block("first.done");
                        b_.CreateCondBr(b_.CreateICmpEQ(group_count, b_.getInt64(0)), set, cont);
                        b_.SetInsertPoint(set);
                        store(v, v_at);
                        b_.CreateBr(cont);
                        b_.SetInsertPoint(cont);
                        return true;
                    }
                    case AggregateFn::Last: store(v, v_at); return true;
                    default: return false;
                }
            });
        };
        speculate_declared_kinds(aggregate, slots, feed);

        b_.CreateAlignedStore(b_.CreateAdd(group_count, b_.getInt64(1)), group_count_at, llvm::Align(8));
        llvm::Value* part_count_at = b_.CreateConstInBoundsGEP1_64(i8_, part, offsetof(runtime::WindowPartition, count));
        llvm::Value* part_count =
            b_.CreateAdd(b_.CreateAlignedLoad(i64_, part_count_at, llvm::Align(8)), b_.getInt64(1), "part.count");
        b_.CreateAlignedStore(part_count, part_count_at, llvm::Align(8));
        if (window.window.kind != ir::WindowKind::Count) return;
        llvm::BasicBlock* full = block("window.full");
        llvm::BasicBlock* open = block("window.open");
        b_.CreateCondBr(b_.CreateICmpSGE(part_count, b_.getInt64(window.window.size)), full, open);
        b_.SetInsertPoint(full);
        // The runtime closes the partition of the entered cursor, which the fast path did not set.
        b_.CreateAlignedStore(part,
                              b_.CreateConstInBoundsGEP1_64(i8_, access, offsetof(runtime::WindowAccess, cursor) +
                                                                             offsetof(runtime::WindowCursor, part)),
                              llvm::Align(8));
        llvm::CallInst* go_on = b_.CreateCall(close_type, window_close_, {run, sid_v, row});
        go_on->addFnAttr(llvm::Attribute::NoUnwind);
        b_.CreateCondBr(b_.CreateICmpNE(go_on, b_.getInt32(0)), open, stop);
        b_.SetInsertPoint(open);
    }

    /// `body` generated twice: for events whose fields read by `aggregate`'s arguments have
    /// the kinds their event declares (VPL.md §4.1: a promise events need not keep), with
    /// those kinds known, so the kind tests and conversions fold away; and as is for the
    /// others. One test of the kind bytes picks the copy. Both copies are the same code over
    /// the same values, so results do not depend on which one ran.
    template <class Body>
    void speculate_declared_kinds(const ir::Operator& aggregate, llvm::Value* slots, Body&& body) {
        std::map<uint32_t, ValueKind> kinds;
        std::function<void(const Expr*)> visit = [&](const Expr* e) {
            if (!e) return;
            if (e->op == ir::ExprOp::Field && !e->slots.empty()) {
                ValueKind k = ValueKind::Absent;
                switch (e->type) {
                    case ir::Kind::Int: k = ValueKind::Int; break;
                    case ir::Kind::Float: k = ValueKind::Float; break;
                    case ir::Kind::Bool: k = ValueKind::Bool; break;
                    case ir::Kind::Str: k = ValueKind::Str; break;
                    default: break;
                }
                if (k != ValueKind::Absent) kinds.emplace(e->slots[0], k);
            }
            for (const auto& a : e->args) visit(a.get());
        };
        for (const auto& call : aggregate.calls) visit(call.arg.get());
        if (kinds.empty()) {
            body();
            return;
        }
        llvm::Value* kept = b_.getTrue();
        for (const auto& [slot, kind] : kinds) {
            llvm::Value* tag_at = b_.CreateConstInBoundsGEP1_64(i8_, slots, 16 * uint64_t{slot});
            kept = b_.CreateAnd(kept, b_.CreateICmpEQ(b_.CreateAlignedLoad(i8_, tag_at, llvm::Align(8)),
                                                      b_.getInt8(tag(kind))));
        }
        llvm::BasicBlock* declared = block("kinds.declared");
        llvm::BasicBlock* other = block("kinds.other");
        llvm::BasicBlock* done = block("kinds.done");
        b_.CreateCondBr(kept, declared, other);
        b_.SetInsertPoint(declared);
        known_kinds_ = std::move(kinds);
        body();
        known_kinds_.clear();
        b_.CreateBr(done);
        b_.SetInsertPoint(other);
        body();
        b_.CreateBr(done);
        b_.SetInsertPoint(done);
    }

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
                         const ir::Operator& aggregate, llvm::BasicBlock* miss) {
        const ir::Window& w = window.window;
        auto load = [&](llvm::Type* type, llvm::Value* base, uint64_t offset, const char* name) {
            return b_.CreateAlignedLoad(type, b_.CreateConstInBoundsGEP1_64(i8_, base, offset),
                                        llvm::Align(type == i8_ ? 1 : type == i32_ ? 4 : 8), name);
        };
        auto require = [&](llvm::Value* ok, const char* name) {
            llvm::BasicBlock* next = block(name);
            b_.CreateCondBr(ok, next, miss);
            b_.SetInsertPoint(next);
        };
        llvm::Value* parts = load(ptr_, access, offsetof(runtime::WindowAccess, parts), "parts");
        llvm::Value* part = parts;
        if (w.partition_slot >= 0) {
            const uint64_t at = 16 * static_cast<uint64_t>(w.partition_slot);
            require(b_.CreateICmpEQ(load(i8_, slots, at, "key.kind"), b_.getInt8(tag(ValueKind::Str))), "key.str");
            llvm::Value* key = load(ptr_, slots, at + 8, "key");
            llvm::Value* keys = load(ptr_, access, offsetof(runtime::WindowAccess, keys), "keys");
            llvm::Value* shift = load(i64_, access, offsetof(runtime::WindowAccess, key_shift), "key.shift");
            // runtime::key_cache_set, then its ways in order (WindowAggregate::cached_partition).
            llvm::Value* set_index =
                b_.CreateLShr(b_.CreateMul(b_.CreatePtrToInt(key, i64_), b_.getInt64(0x9E3779B97F4A7C15ull)), shift);
            llvm::Value* set = b_.CreateInBoundsGEP(
                i8_, keys, b_.CreateMul(set_index, b_.getInt64(sizeof(runtime::KeyCacheSlot) * runtime::kKeyCacheWays)),
                "key.set");
            llvm::BasicBlock* found = block("key.found");
            std::vector<std::pair<llvm::Value*, llvm::BasicBlock*>> ways;
            for (size_t w = 0; w < runtime::kKeyCacheWays; ++w) {
                llvm::Value* way = b_.CreateConstInBoundsGEP1_64(i8_, set, sizeof(runtime::KeyCacheSlot) * w, "key.way");
                llvm::BasicBlock* next = w + 1 < runtime::kKeyCacheWays ? block("key.next") : miss;
                ways.emplace_back(way, b_.GetInsertBlock());
                b_.CreateCondBr(b_.CreateICmpEQ(load(ptr_, way, offsetof(runtime::KeyCacheSlot, key), "cached"), key), found,
                                next);
                b_.SetInsertPoint(next == miss ? found : next);
            }
            llvm::PHINode* slot = b_.CreatePHI(ptr_, static_cast<unsigned>(ways.size()), "key.slot");
            for (auto& [way, from] : ways) slot->addIncoming(way, from);
            require(b_.CreateICmpEQ(load(i32_, slot, offsetof(runtime::KeyCacheSlot, hash), "cached.hash"),
                                    load(i32_, key, offsetof(runtime::StrObj, hash), "key.hash")),
                    "key.cached");
            llvm::Value* pi = b_.CreateZExt(load(i32_, slot, offsetof(runtime::KeyCacheSlot, part), "part.index"), i64_);
            part = b_.CreateInBoundsGEP(i8_, parts, b_.CreateMul(pi, b_.getInt64(sizeof(runtime::WindowPartition))), "part");
        }
        require(b_.CreateICmpNE(load(i8_, part, offsetof(runtime::WindowPartition, ngroups), "ngroups"), b_.getInt8(0)),
                "window.open");
        // WindowAggregate::closes: a tumbling window that started, joined before its end; a
        // session the event continues (the gap compared as the runtime does).
        if (w.kind == ir::WindowKind::Tumbling) {
            require(b_.CreateICmpNE(load(i8_, part, offsetof(runtime::WindowPartition, started), "started"), b_.getInt8(0)),
                    "window.started");
            llvm::Value* start = load(i64_, part, offsetof(runtime::WindowPartition, start), "start");
            require(b_.CreateICmpSLT(ts, b_.CreateAdd(start, b_.getInt64(w.size))), "window.inside");
        } else if (w.kind == ir::WindowKind::Session) {
            llvm::Value* last = load(i64_, part, offsetof(runtime::WindowPartition, last_ts), "last");
            require(b_.CreateICmpSLE(b_.CreateSub(ts, last), b_.getInt64(w.size)), "session.inside");
        }
        llvm::Value* g = b_.CreateZExt(load(i32_, part, offsetof(runtime::WindowPartition, groups), "group.index"), i64_);
        llvm::Value* groups = load(ptr_, access, offsetof(runtime::WindowAccess, groups), "groups");
        llvm::Value* group =
            b_.CreateInBoundsGEP(i8_, groups, b_.CreateMul(g, b_.getInt64(sizeof(runtime::GroupHeader))), "group");
        // With an aggregate key (the window's own, a string here), the event joins the group
        // of present keys; the first group may be that of absent ones (partition "default").
        if (aggregate.partition_slot >= 0)
            require(b_.CreateICmpEQ(load(i32_, group, offsetof(runtime::GroupHeader, absent_key), "absent"),
                                    b_.getInt32(0)),
                    "group.present");
        b_.CreateAlignedStore(ts, b_.CreateConstInBoundsGEP1_64(i8_, group, offsetof(runtime::GroupHeader, last_ts)),
                              llvm::Align(8));
        if (w.kind == ir::WindowKind::Session)
            b_.CreateAlignedStore(ts, b_.CreateConstInBoundsGEP1_64(i8_, part, offsetof(runtime::WindowPartition, last_ts)),
                                  llvm::Align(8));
        llvm::Value* accs = load(ptr_, access, offsetof(runtime::WindowAccess, accs), "accs");
        llvm::Value* acc = b_.CreateInBoundsGEP(
            i8_, accs, b_.CreateMul(g, b_.getInt64(sizeof(runtime::CallAcc) * aggregate.calls.size())), "acc");
        return {acc, group, part};
    }

    /// Every call of `aggregate` fed one row into its accumulator in `accs` (runtime::CallAcc
    /// per call): its argument generated in call order, numbered from `at` (the fallback and
    /// string numbers of the aggregate's own kernel), then `special(call, c, v, v_at)` for the
    /// calls a caller treats itself (returns true), acc_add's arithmetic for the others.
    template <class Special>
    void feed_calls(const ir::Operator& aggregate, const Numbering& at, llvm::Value* accs, Special&& special) {
        const Numbering saved{next_node_, next_string_};
        next_node_ = at.node;
        next_string_ = at.string;
        for (size_t c = 0; c < aggregate.calls.size(); ++c) {
            const ir::AggregateCall& call = aggregate.calls[c];
            Val v = gen(call.arg.get());
            llvm::Value* base = b_.CreateConstInBoundsGEP1_64(i8_, accs, sizeof(runtime::CallAcc) * c);
            llvm::Value* v_at = b_.CreateConstInBoundsGEP1_64(i8_, base, offsetof(runtime::CallAcc, v));
            if (call.fn == frontend::AggregateFn::Count || special(call, c, v, v_at)) continue;
            accumulate(call.fn, v, base);
        }
        next_node_ = saved.node;
        next_string_ = saved.string;
    }

    /// A window's kept rows folded into the aggregate's accumulators (runtime/abi.hpp
    /// FoldKernel): one loop over the rows in arrival order, every call's argument generated
    /// as in the aggregate's own kernel (numbered from `at`, the same fallback and string
    /// numbers) and fed with acc_add's arithmetic, as run_aggregate feeds it row by row.
    void fold(const std::string& name, const ir::Operator& aggregate, const Numbering& at) {
        using frontend::AggregateFn;
        begin(name, llvm::FunctionType::get(void_, {ptr_, i64_, i64_, ptr_, ptr_, ptr_}, false));
        llvm::Value* rows = fn_->getArg(0);
        llvm::Value* n = fn_->getArg(1);
        llvm::Value* width = fn_->getArg(2);
        llvm::Value* accs = fn_->getArg(3);
        llvm::Value* sets = fn_->getArg(4);
        ctx_ = fn_->getArg(5);
        rows->setName("rows");
        n->setName("n");
        width->setName("width");
        accs->setName("accs");
        sets->setName("sets");
        ctx_->setName("ctx");
        llvm::Function* distinct = declare("vp_fold_distinct", void_, {ptr_, ptr_});
        llvm::Value* stride = b_.CreateMul(width, b_.getInt64(16), "stride");
        llvm::Value* last = b_.CreateSub(n, b_.getInt64(1), "last");
        llvm::BasicBlock* entry = b_.GetInsertBlock();
        llvm::BasicBlock* body = block("fold.row");
        llvm::BasicBlock* done = block("fold.done");
        b_.CreateCondBr(b_.CreateICmpEQ(n, b_.getInt64(0)), done, body);
        b_.SetInsertPoint(body);
        llvm::PHINode* i = b_.CreatePHI(i64_, 2, "i");
        i->addIncoming(b_.getInt64(0), entry);
        slots_ = b_.CreateInBoundsGEP(i8_, rows, b_.CreateMul(i, stride), "row");

        feed_calls(aggregate, at, accs, [&](const ir::AggregateCall& call, size_t c, const Val& v, llvm::Value* v_at) {
            switch (call.fn) {
                case AggregateFn::First:
                case AggregateFn::Last: {
                    // run_aggregate evaluates First on the first row and Last on the last one.
                    llvm::BasicBlock* set = block("edge.set");
                    llvm::BasicBlock* cont = block("edge.done");
                    llvm::Value* edge = call.fn == AggregateFn::First ? b_.getInt64(0) : last;
                    b_.CreateCondBr(b_.CreateICmpEQ(i, edge), set, cont);
                    b_.SetInsertPoint(set);
                    store(v, v_at);
                    b_.CreateBr(cont);
                    b_.SetInsertPoint(cont);
                    return true;
                }
                case AggregateFn::CountDistinct: {
                    llvm::Value* set = b_.CreateAlignedLoad(
                        ptr_, b_.CreateConstInBoundsGEP1_64(ptr_, sets, static_cast<uint64_t>(c)), llvm::Align(8), "set");
                    b_.CreateCall(distinct, {set, spill(v)});
                    return true;
                }
                default: return false;
            }
        });

        llvm::Value* i1 = b_.CreateAdd(i, b_.getInt64(1), "i.next");
        i->addIncoming(i1, b_.GetInsertBlock());
        b_.CreateCondBr(b_.CreateICmpULT(i1, n), body, done);
        b_.SetInsertPoint(done);
        b_.CreateRetVoid();
        slots_ = nullptr;
    }

    /// GRETA's per-event update of a trend without step predicates (runtime/abi.hpp
    /// TrendKernel): runtime::TrendAggregator's process() on its kernel records, every
    /// operation in the same order (bit-identical sums), the counts in 64 bits with their
    /// overflow checked before anything is written.
    void trend(const std::string& name, const ir::Operator& op) {
        using frontend::TrendFn;
        const ir::Nfa& nfa = op.trend->nfa;
        const auto& items = op.trend->items;
        const size_t nsteps = nfa.steps.size();
        const size_t record = 1 + 4 * items.size();
        begin(name, llvm::FunctionType::get(i32_, {ptr_, i32_, ptr_}, false));
        slots_ = fn_->getArg(0);
        llvm::Value* schema = fn_->getArg(1);
        llvm::Value* state = fn_->getArg(2);
        slots_->setName("slots");
        schema->setName("schema");
        state->setName("state");

        auto optional = [](ir::Quantifier q) { return q == ir::Quantifier::Star || q == ir::Quantifier::Optional; };
        auto word = [&](size_t rec, size_t w) { return b_.CreateConstInBoundsGEP1_64(i64_, state, rec * record + w); };
        auto load_rec = [&](size_t rec) {
            TrendRec r;
            r.cnt = b_.CreateAlignedLoad(i64_, word(rec, 0), llvm::Align(8), "cnt");
            for (size_t i = 0; i < items.size(); ++i) {
                r.n.push_back(b_.CreateAlignedLoad(i64_, word(rec, 1 + 4 * i), llvm::Align(8), "n"));
                r.sum.push_back(b_.CreateAlignedLoad(f64_, word(rec, 2 + 4 * i), llvm::Align(8), "sum"));
                r.ext.push_back(b_.CreateAlignedLoad(f64_, word(rec, 3 + 4 * i), llvm::Align(8), "ext"));
                r.has.push_back(b_.CreateICmpNE(b_.CreateAlignedLoad(i64_, word(rec, 4 + 4 * i), llvm::Align(8)),
                                                b_.getInt64(0), "has"));
            }
            return r;
        };
        auto store_rec = [&](size_t rec, const TrendRec& r) {
            b_.CreateAlignedStore(r.cnt, word(rec, 0), llvm::Align(8));
            for (size_t i = 0; i < items.size(); ++i) {
                b_.CreateAlignedStore(r.n[i], word(rec, 1 + 4 * i), llvm::Align(8));
                b_.CreateAlignedStore(r.sum[i], word(rec, 2 + 4 * i), llvm::Align(8));
                b_.CreateAlignedStore(r.ext[i], word(rec, 3 + 4 * i), llvm::Align(8));
                b_.CreateAlignedStore(b_.CreateZExt(r.has[i], i64_), word(rec, 4 + 4 * i), llvm::Align(8));
            }
        };
        llvm::Value* ov = nullptr;   // some count passed 64 bits (per case)
        auto add_count = [&](llvm::Value* a, llvm::Value* x, llvm::Value* live) {
            llvm::Value* r = b_.CreateIntrinsic(llvm::Intrinsic::uadd_with_overflow, {i64_}, {a, x});
            ov = b_.CreateOr(ov, b_.CreateAnd(live, b_.CreateExtractValue(r, 1)));
            return b_.CreateExtractValue(r, 0);
        };
        // add_val(dst, src): what every item's function keeps of a set of trends.
        auto add_val = [&](const TrendRec& d, const TrendRec& src, llvm::Value* live) {
            TrendRec r = d;
            r.cnt = add_count(d.cnt, src.cnt, live);
            for (size_t i = 0; i < items.size(); ++i) {
                switch (items[i].fn) {
                    case TrendFn::CountEvents: r.n[i] = add_count(d.n[i], src.n[i], live); break;
                    case TrendFn::SumTrends:
                    case TrendFn::AvgTrends:
                        r.n[i] = add_count(d.n[i], src.n[i], live);
                        r.sum[i] = b_.CreateFAdd(d.sum[i], src.sum[i]);
                        break;
                    case TrendFn::MinTrends:
                    case TrendFn::MaxTrends: {
                        llvm::Value* better = items[i].fn == TrendFn::MinTrends ? b_.CreateFCmpOLT(src.ext[i], d.ext[i])
                                                                                : b_.CreateFCmpOGT(src.ext[i], d.ext[i]);
                        llvm::Value* take = b_.CreateAnd(src.has[i], b_.CreateOr(b_.CreateNot(d.has[i]), better));
                        r.ext[i] = b_.CreateSelect(take, src.ext[i], d.ext[i]);
                        r.has[i] = b_.CreateOr(d.has[i], take);
                        break;
                    }
                    default: break;
                }
            }
            return r;
        };
        auto select_rec = [&](llvm::Value* c, const TrendRec& a, const TrendRec& other) {
            TrendRec r = a;
            r.cnt = b_.CreateSelect(c, a.cnt, other.cnt);
            for (size_t i = 0; i < items.size(); ++i) {
                r.n[i] = b_.CreateSelect(c, a.n[i], other.n[i]);
                r.sum[i] = b_.CreateSelect(c, a.sum[i], other.sum[i]);
                r.ext[i] = b_.CreateSelect(c, a.ext[i], other.ext[i]);
                r.has[i] = b_.CreateSelect(c, a.has[i], other.has[i]);
            }
            return r;
        };
        TrendRec zero;
        zero.cnt = b_.getInt64(0);
        for (size_t i = 0; i < items.size(); ++i) {
            zero.n.push_back(b_.getInt64(0));
            zero.sum.push_back(llvm::ConstantFP::get(f64_, 0.0));
            zero.ext.push_back(llvm::ConstantFP::get(f64_, 0.0));
            zero.has.push_back(b_.getFalse());
        }

        llvm::BasicBlock* none = block("trend.none");
        llvm::SwitchInst* sw = b_.CreateSwitch(schema, none);
        b_.SetInsertPoint(none);
        b_.CreateRet(b_.getInt32(0));
        std::vector<int32_t> types;
        for (const auto& st : nfa.steps)
            if (st.type_id >= 0 && std::find(types.begin(), types.end(), st.type_id) == types.end()) types.push_back(st.type_id);
        for (int32_t type : types) {
            llvm::BasicBlock* at = block("trend.type");
            sw->addCase(b_.getInt32(static_cast<uint32_t>(type)), at);
            b_.SetInsertPoint(at);
            ov = b_.getFalse();
            const ir::Schema& sch = plan_.schemas[static_cast<size_t>(type)];
            std::vector<size_t> here;
            std::vector<TrendRec> verts;
            std::vector<llvm::Value*> valid;
            for (size_t s = 0; s < nsteps; ++s) {
                const ir::NfaStep& st = nfa.steps[s];
                if (st.type_id != type) continue;
                bool start = true, end = true;
                for (size_t t = 0; t < s; ++t) start = start && optional(nfa.steps[t].quantifier);
                (void)end;
                std::vector<size_t> preds;
                if (st.quantifier == ir::Quantifier::Plus || st.quantifier == ir::Quantifier::Star) preds.push_back(s);
                for (size_t t = s; t-- > 0;) {
                    preds.push_back(t);
                    if (!optional(nfa.steps[t].quantifier)) break;
                }
                TrendRec v = zero;
                if (start) v.cnt = b_.getInt64(1);
                // Counts are checked below, once the vertex is known to count a trend.
                llvm::Value* outer = ov;
                ov = b_.getFalse();
                for (size_t q : preds) v = add_val(v, load_rec(q), b_.getTrue());
                // A count that wrapped to 0 still counts trends (2^64 of them).
                llvm::Value* pred_ov = ov;
                llvm::Value* ok = b_.CreateOr(b_.CreateICmpNE(v.cnt, b_.getInt64(0)), pred_ov, "vertex");
                ov = b_.getFalse();
                // own_contribution: the event's field for the items whose alias this step binds.
                llvm::Value* c = nullptr;
                for (size_t i = 0; i < items.size(); ++i) {
                    const ir::TrendItem& it = items[i];
                    if (it.alias < 0 || st.alias != it.alias) continue;
                    if (it.fn == TrendFn::CountTrends) continue;
                    if (it.fn == TrendFn::CountEvents) {
                        v.n[i] = add_count(v.n[i], v.cnt, b_.getTrue());
                        continue;
                    }
                    const int slot = it.field.empty() ? -1 : sch.slot_of(it.field);
                    if (slot < 0) continue;
                    llvm::Value* f_at = b_.CreateConstInBoundsGEP1_64(i8_, slots_, 16 * static_cast<uint64_t>(slot));
                    Val x{b_.CreateAlignedLoad(i8_, f_at, llvm::Align(8)),
                          b_.CreateAlignedLoad(i64_, b_.CreateConstInBoundsGEP1_64(i8_, f_at, 8), llvm::Align(8))};
                    llvm::Value* f = as_double(x);
                    llvm::Value* num = b_.CreateOr(is(x, ValueKind::Int), b_.CreateAnd(is(x, ValueKind::Float), b_.CreateFCmpORD(f, f)));
                    switch (it.fn) {
                        case TrendFn::SumTrends:
                        case TrendFn::AvgTrends: {
                            if (!c) c = b_.CreateUIToFP(v.cnt, f64_, "trends");
                            v.sum[i] = b_.CreateSelect(num, b_.CreateFAdd(v.sum[i], b_.CreateFMul(c, f)), v.sum[i]);
                            v.n[i] = b_.CreateSelect(num, add_count(v.n[i], v.cnt, num), v.n[i]);
                            break;
                        }
                        case TrendFn::MinTrends:
                        case TrendFn::MaxTrends: {
                            llvm::Value* better = it.fn == TrendFn::MinTrends ? b_.CreateFCmpOLT(f, v.ext[i]) : b_.CreateFCmpOGT(f, v.ext[i]);
                            llvm::Value* take = b_.CreateAnd(num, b_.CreateOr(b_.CreateNot(v.has[i]), better));
                            v.ext[i] = b_.CreateSelect(take, f, v.ext[i]);
                            v.has[i] = b_.CreateOr(v.has[i], num);
                            break;
                        }
                        default: break;
                    }
                }
                ov = b_.CreateOr(outer, b_.CreateAnd(ok, b_.CreateOr(pred_ov, ov)));
                here.push_back(s);
                verts.push_back(v);
                valid.push_back(ok);
            }
            // Commit: every vertex into its step's totals, end vertices into the result, in
            // step order; nothing is written when a count overflowed.
            std::vector<TrendRec> totals;
            for (size_t j = 0; j < here.size(); ++j) {
                TrendRec old = load_rec(here[j]);
                totals.push_back(select_rec(valid[j], add_val(old, verts[j], valid[j]), old));
            }
            bool touches_result = false;
            TrendRec result = load_rec(nsteps);
            llvm::Value* ended = b_.getFalse();
            for (size_t j = 0; j < here.size(); ++j) {
                bool end = true;
                for (size_t t = here[j] + 1; t < nsteps; ++t) end = end && optional(nfa.steps[t].quantifier);
                if (!end) continue;
                touches_result = true;
                result = select_rec(valid[j], add_val(result, verts[j], valid[j]), result);
                ended = b_.CreateOr(ended, valid[j]);
            }
            llvm::BasicBlock* overflow = block("trend.overflow");
            llvm::BasicBlock* commit = block("trend.commit");
            b_.CreateCondBr(ov, overflow, commit);
            b_.SetInsertPoint(overflow);
            b_.CreateRet(b_.getInt32(static_cast<uint32_t>(-1)));
            b_.SetInsertPoint(commit);
            for (size_t j = 0; j < here.size(); ++j) store_rec(here[j], totals[j]);
            if (touches_result) store_rec(nsteps, result);
            b_.CreateRet(b_.CreateZExt(ended, i32_));
        }
        slots_ = nullptr;
    }

    /// acc_add for one numeric-input call, when `v` is a numeric input (numeric_input: ints
    /// widen; NaN and other kinds are skipped).
    void accumulate(frontend::AggregateFn fn, const Val& v, llvm::Value* base) {
        using frontend::AggregateFn;
        llvm::Value* x = as_double(v);
        llvm::Value* ok = b_.CreateOr(is(v, ValueKind::Int), b_.CreateAnd(is(v, ValueKind::Float), b_.CreateFCmpORD(x, x)));
        llvm::BasicBlock* add = block("acc.add");
        llvm::BasicBlock* cont = block("acc.done");
        b_.CreateCondBr(ok, add, cont);
        b_.SetInsertPoint(add);
        llvm::Value* a_at = b_.CreateConstInBoundsGEP1_64(i8_, base, offsetof(runtime::CallAcc, a));
        llvm::Value* b_at = b_.CreateConstInBoundsGEP1_64(i8_, base, offsetof(runtime::CallAcc, b));
        llvm::Value* n_at = b_.CreateConstInBoundsGEP1_64(i8_, base, offsetof(runtime::CallAcc, n));
        llvm::Value* a = b_.CreateAlignedLoad(f64_, a_at, llvm::Align(8), "acc.a");
        llvm::Value* n = b_.CreateAlignedLoad(i64_, n_at, llvm::Align(8), "acc.n");
        llvm::Value* n1 = b_.CreateAdd(n, b_.getInt64(1));
        llvm::Value* a1 = nullptr;
        switch (fn) {
            case AggregateFn::Sum:
            case AggregateFn::Avg: a1 = b_.CreateFAdd(a, x); break;
            case AggregateFn::Min: a1 = b_.CreateSelect(b_.CreateFCmpOLT(x, a), x, a); break;   // std::min(a, x)
            case AggregateFn::Max: a1 = b_.CreateSelect(b_.CreateFCmpOLT(a, x), x, a); break;   // std::max(a, x)
            case AggregateFn::Stddev: {  // Welford
                llvm::Value* d = b_.CreateFSub(x, a);
                a1 = b_.CreateFAdd(a, b_.CreateFDiv(d, b_.CreateSIToFP(n1, f64_)));
                llvm::Value* m2 = b_.CreateAlignedLoad(f64_, b_at, llvm::Align(8), "acc.b");
                b_.CreateAlignedStore(b_.CreateFAdd(m2, b_.CreateFMul(d, b_.CreateFSub(x, a1))), b_at, llvm::Align(8));
                break;
            }
            case AggregateFn::Ema: {
                llvm::Value* k = b_.CreateAlignedLoad(f64_, b_at, llvm::Align(8), "ema.k");
                llvm::Value* e = b_.CreateFAdd(b_.CreateFMul(k, x),
                                               b_.CreateFMul(b_.CreateFSub(llvm::ConstantFP::get(f64_, 1.0), k), a));
                a1 = b_.CreateSelect(b_.CreateICmpNE(n, b_.getInt64(0)), e, x);
                break;
            }
            default: a1 = a; break;
        }
        b_.CreateAlignedStore(a1, a_at, llvm::Align(8));
        b_.CreateAlignedStore(n1, n_at, llvm::Align(8));
        b_.CreateBr(cont);
        b_.SetInsertPoint(cont);
    }

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
    llvm::Value* truthy(const Val& v) { return b_.CreateAnd(is(v, ValueKind::Bool), bool_bit(v)); }
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

    Val gen(const Expr* e) {
        if (!e) return absent();
        if (!inlined(*e)) return fallback(*e);
        switch (e->op) {
            case ExprOp::Const:
                if (string_ids_ && is_string_constant(*e)) {
                    // Every constant of a predicate compiles_seq_trans admits is numbered
                    // (for_compiled_exprs); absent rather than throw if one ever is not.
                    auto it = string_ids_->find(e);
                    return it != string_ids_->end() ? string_constant_at(it->second) : absent();
                }
                return constant(e->lit);
            case ExprOp::Field: return field(*e);
            case ExprOp::Global: return load_global(e->index);
            case ExprOp::AliasField: return alias_field(*e);
            case ExprOp::AliasLen: return alias_len(*e);
            case ExprOp::Unary: return unary(*e);
            case ExprOp::Binary: return binary(*e);
            case ExprOp::And:
            case ExprOp::Or: return logical(*e, e->op == ExprOp::And);
            case ExprOp::If: return conditional(*e);
            case ExprOp::Local: return local(*e);
            default: return fallback(*e);
        }
    }

    Val constant(const ir::Literal& l) {
        switch (l.kind) {
            case Kind::Null: return make(ValueKind::Null, b_.getInt64(0));
            case Kind::Bool: return make(ValueKind::Bool, b_.getInt64(l.b ? 1 : 0));
            case Kind::Int: return make(ValueKind::Int, b_.getInt64(static_cast<uint64_t>(l.i)));
            case Kind::Float: return make(ValueKind::Float, b_.getInt64(std::bit_cast<uint64_t>(l.f)));
            case Kind::Timestamp: return make(ValueKind::Timestamp, b_.getInt64(static_cast<uint64_t>(l.i)));
            case Kind::Duration: return make(ValueKind::Duration, b_.getInt64(static_cast<uint64_t>(l.i)));
            case Kind::Str: return string_constant();
            default: return absent();
        }
    }

    /// String constant number k: ctx->consts[k], interned by the engine running the code.
    Val string_constant() { return string_constant_at(next_string_++); }
    Val string_constant_at(uint64_t id) {
        llvm::Value* table =
            cached_consts_ ? cached_consts_ : ctx_member(offsetof(runtime::KernelContext, consts), "consts");
        return reload(b_.CreateConstInBoundsGEP1_64(i8_, table, 16 * id));
    }

    /// The interpreter on this node: vp_eval_fallback(nodes[k], slots, ctx, &out).
    Val fallback(const Expr&) {
        uint64_t id = next_node_++;
        llvm::Value* table =
            cached_nodes_ ? cached_nodes_ : ctx_member(offsetof(runtime::KernelContext, nodes), "nodes");
        llvm::Value* node =
            b_.CreateAlignedLoad(ptr_, b_.CreateConstInBoundsGEP1_64(ptr_, table, id), llvm::Align(8), "node");
        llvm::Value* out = temp();
        b_.CreateCall(fallback_, {node, slots_, ctx_, out});
        return reload(out);
    }

    Val load_global(int32_t index) {
        if (index < 0) return absent();
        llvm::Value* out = temp();
        b_.CreateCall(global_, {b_.getInt32(static_cast<uint32_t>(index)), ctx_, out});
        return reload(out);
    }

    /// ctx->aliases[alias]->slots[slot]; absent without bindings or when the alias is unbound.
    /// Transition kernels (seq_binds_ set): the bound event's record in the matcher's store
    /// instead (runtime/abi.hpp SeqTransArgs), its slots after the SeqEvent header.
    Val alias_field(const Expr& e) {
        Join j{block("alias.done"), {}};
        llvm::BasicBlock* none = block("alias.none");
        llvm::Value* row = nullptr;   // Row* (kernel contexts) or SeqEvent* (transition kernels)
        llvm::Value* slots = nullptr;
        size_t schema_at = offsetof(runtime::Row, schema);
        if (seq_binds_) {
            llvm::Value* ev = b_.CreateAlignedLoad(
                i32_, b_.CreateConstInBoundsGEP1_64(i8_, seq_binds_, 8 * static_cast<uint64_t>(e.index)), llvm::Align(4), "alias.ev");
            llvm::BasicBlock* bound = block("alias.bound");
            b_.CreateCondBr(b_.CreateICmpNE(ev, b_.getInt32(runtime::kSeqUnbound)), bound, none);
            b_.SetInsertPoint(bound);
            llvm::Value* id = b_.CreateZExt(ev, i64_);
            llvm::Value* chunk = b_.CreateAlignedLoad(
                ptr_, b_.CreateInBoundsGEP(ptr_, seq_chunks_, b_.CreateLShr(id, runtime::kSeqEventChunkShift)), llvm::Align(8), "alias.chunk");
            llvm::Value* in_chunk = b_.CreateAnd(id, b_.getInt64((uint64_t{1} << runtime::kSeqEventChunkShift) - 1));
            row = b_.CreateInBoundsGEP(i8_, chunk, b_.CreateMul(in_chunk, seq_rec_), "alias.event");
            slots = b_.CreateConstInBoundsGEP1_64(i8_, row, sizeof(runtime::SeqEvent), "alias.slots");
            schema_at = offsetof(runtime::SeqEvent, schema);
        } else {
            llvm::Value* table = ctx_member(offsetof(runtime::KernelContext, aliases), "aliases");
            llvm::BasicBlock* has_table = block("alias.table");
            b_.CreateCondBr(b_.CreateIsNotNull(table), has_table, none);
            b_.SetInsertPoint(has_table);
            row = b_.CreateAlignedLoad(
                ptr_, b_.CreateConstInBoundsGEP1_64(ptr_, table, static_cast<uint64_t>(e.index)), llvm::Align(8), "row");
            llvm::BasicBlock* bound = block("alias.bound");
            b_.CreateCondBr(b_.CreateIsNotNull(row), bound, none);
            b_.SetInsertPoint(bound);
            slots = b_.CreateAlignedLoad(ptr_, row, llvm::Align(8), "alias.slots");
        }
        if (e.slot_schema < 0 || e.names.empty()) {
            to(j, reload(b_.CreateConstInBoundsGEP1_64(i8_, slots, 16 * uint64_t{e.slots[0]})));
        } else {
            // runtime::eval: a row of the alias's schema is read at the lowered slot; a row of
            // another schema (a trend's predecessor at another step) by the field's name, its
            // slot in each schema known here; a schema without the field reads as absent.
            llvm::Value* schema = b_.CreateAlignedLoad(
                i32_, b_.CreateConstInBoundsGEP1_64(i8_, row, schema_at), llvm::Align(8), "alias.schema");
            llvm::SwitchInst* sw = b_.CreateSwitch(schema, none);
            for (size_t t = 0; t < plan_.schemas.size(); ++t) {
                const int slot = static_cast<int32_t>(t) == e.slot_schema ? static_cast<int>(e.slots[0])
                                                                           : plan_.schemas[t].slot_of(e.names[0]);
                if (slot < 0) continue;
                llvm::BasicBlock* at = block("alias.schema_case");
                sw->addCase(b_.getInt32(static_cast<uint32_t>(t)), at);
                b_.SetInsertPoint(at);
                to(j, reload(b_.CreateConstInBoundsGEP1_64(i8_, slots, 16 * static_cast<uint64_t>(slot))));
            }
        }
        b_.SetInsertPoint(none);
        to(j, absent());
        return finish(j);
    }

    /// len(alias): ctx->alias_counts[alias], 0 without counts.
    Val alias_len(const Expr& e) {
        if (seq_binds_) {
            llvm::Value* n = b_.CreateAlignedLoad(
                i32_, b_.CreateConstInBoundsGEP1_64(i8_, seq_binds_, 8 * static_cast<uint64_t>(e.index) + offsetof(runtime::SeqBinding, count)),
                llvm::Align(4), "alias.count");
            return make(ValueKind::Int, b_.CreateZExt(n, i64_));
        }
        llvm::Value* counts = ctx_member(offsetof(runtime::KernelContext, alias_counts), "counts");
        Join j{block("len.done"), {}};
        llvm::BasicBlock* has = block("len.counts");
        llvm::BasicBlock* none = block("len.none");
        b_.CreateCondBr(b_.CreateIsNotNull(counts), has, none);
        b_.SetInsertPoint(has);
        llvm::Value* n = b_.CreateAlignedLoad(
            i32_, b_.CreateConstInBoundsGEP1_64(i32_, counts, static_cast<uint64_t>(e.index)), llvm::Align(4));
        to(j, make(ValueKind::Int, b_.CreateZExt(n, i64_)));
        b_.SetInsertPoint(none);
        to(j, make(ValueKind::Int, b_.getInt64(0)));
        return finish(j);
    }

    /// First present candidate slot, then the global, else absent.
    Val field(const Expr& e) {
        if (!e.slots.empty()) {
            // A slot whose kind the code was specialised for (speculate_declared_kinds) is present.
            auto known = known_kinds_.find(e.slots[0]);
            if (known != known_kinds_.end()) {
                llvm::Value* at = b_.CreateConstInBoundsGEP1_64(i8_, slots_, 16 * uint64_t{e.slots[0]});
                return make(known->second,
                            b_.CreateAlignedLoad(i64_, b_.CreateConstInBoundsGEP1_64(i8_, at, 8), llvm::Align(8)));
            }
        }
        Join j{block("field.done"), {}};
        for (uint32_t s : e.slots) {
            llvm::Value* at = b_.CreateConstInBoundsGEP1_64(i8_, slots_, 16 * uint64_t{s});
            llvm::Value* kind = b_.CreateAlignedLoad(i8_, at, llvm::Align(8));
            llvm::BasicBlock* found = block("field.present");
            llvm::BasicBlock* next = block("field.next");
            b_.CreateCondBr(b_.CreateICmpNE(kind, b_.getInt8(0)), found, next);
            b_.SetInsertPoint(found);
            llvm::Value* payload =
                b_.CreateAlignedLoad(i64_, b_.CreateConstInBoundsGEP1_64(i8_, at, 8), llvm::Align(8));
            to(j, {kind, payload});
            b_.SetInsertPoint(next);
        }
        to(j, load_global(e.index));
        return finish(j);
    }

    Val unary(const Expr& e) {
        Val a = gen(e.args[0].get());
        switch (e.uop) {
            case UnaryOp::Neg: {
                llvm::Value* i = is(a, ValueKind::Int);
                llvm::Value* f = is(a, ValueKind::Float);
                // Int wraps (0 - x); a float flips its sign bit, like `-a.f`.
                llvm::Value* neg_int = b_.CreateSub(b_.getInt64(0), a.payload);
                llvm::Value* neg_float = b_.CreateXor(a.payload, b_.getInt64(0x8000000000000000ull));
                llvm::Value* kind = b_.CreateSelect(i, b_.getInt8(tag(ValueKind::Int)),
                                                    b_.CreateSelect(f, b_.getInt8(tag(ValueKind::Float)), b_.getInt8(0)));
                llvm::Value* payload = b_.CreateSelect(i, neg_int, b_.CreateSelect(f, neg_float, b_.getInt64(0)));
                return {kind, payload};
            }
            case UnaryOp::Not: {
                llvm::Value* isb = is(a, ValueKind::Bool);
                llvm::Value* r = b_.CreateZExt(b_.CreateNot(bool_bit(a)), i64_);
                return {b_.CreateSelect(isb, b_.getInt8(tag(ValueKind::Bool)), b_.getInt8(0)),
                        b_.CreateSelect(isb, r, b_.getInt64(0))};
            }
            case UnaryOp::BitNot: return absent();
        }
        return absent();
    }

    Val call_binary(BinaryOp op, const Val& a, const Val& b) {
        llvm::Value* pa = spill(a);
        llvm::Value* pb = spill(b);
        llvm::Value* out = temp();
        b_.CreateCall(binary_, {b_.getInt32(static_cast<uint32_t>(op)), pa, pb, ctx_, out});
        return reload(out);
    }

    /// Kind-pair dispatch: (a.kind << 4 | b.kind) for a switch.
    llvm::Value* pair_code(const Val& a, const Val& b) {
        return b_.CreateOr(b_.CreateShl(b_.CreateZExt(a.kind, i32_), 4), b_.CreateZExt(b.kind, i32_));
    }
    static uint32_t pair(ValueKind a, ValueKind b) { return uint32_t{tag(a)} << 4 | tag(b); }

    Val binary(const Expr& e) {
        Val a = gen(e.args[0].get());
        Val b = gen(e.args[1].get());
        switch (e.bop) {
            case BinaryOp::Add:
            case BinaryOp::Sub:
            case BinaryOp::Mul:
            case BinaryOp::Div:
            case BinaryOp::Mod: return arithmetic(e.bop, a, b);
            case BinaryOp::Eq:
            case BinaryOp::Ne:
            case BinaryOp::Lt:
            case BinaryOp::Le:
            case BinaryOp::Gt:
            case BinaryOp::Ge: return comparison(e.bop, a, b);
            default: return call_binary(e.bop, a, b);  // `**`, xor, strings, time arithmetic ...
        }
    }

    Val arithmetic(BinaryOp op, const Val& a, const Val& b) {
        Join j{block("arith.done"), {}};
        // Float `%` is fmod: the helper computes it, so Mod has no inline float path.
        const bool float_path = op != BinaryOp::Mod;
        llvm::BasicBlock* ints = block("arith.int");
        llvm::BasicBlock* nums = float_path ? block("arith.num") : nullptr;
        llvm::BasicBlock* slow = block("arith.slow");
        auto* sw = b_.CreateSwitch(pair_code(a, b), slow, 3);
        sw->addCase(b_.getInt32(pair(ValueKind::Int, ValueKind::Int)), ints);
        if (float_path) {
            sw->addCase(b_.getInt32(pair(ValueKind::Float, ValueKind::Float)), nums);
            sw->addCase(b_.getInt32(pair(ValueKind::Int, ValueKind::Float)), nums);
            sw->addCase(b_.getInt32(pair(ValueKind::Float, ValueKind::Int)), nums);
        }

        b_.SetInsertPoint(ints);
        llvm::Value* x = a.payload;
        llvm::Value* y = b.payload;
        switch (op) {
            case BinaryOp::Add: to(j, make(ValueKind::Int, b_.CreateAdd(x, y))); break;
            case BinaryOp::Sub: to(j, make(ValueKind::Int, b_.CreateSub(x, y))); break;
            case BinaryOp::Mul: to(j, make(ValueKind::Int, b_.CreateMul(x, y))); break;
            default: {
                // Div/Mod: /0 has no value; y == -1 avoids INT64_MIN / -1 (wraps, or 0 for %).
                llvm::BasicBlock* zero = block("arith.zero");
                llvm::BasicBlock* nonzero = block("arith.nonzero");
                llvm::BasicBlock* minus1 = block("arith.minus1");
                llvm::BasicBlock* divide = block("arith.divide");
                b_.CreateCondBr(b_.CreateICmpEQ(y, b_.getInt64(0)), zero, nonzero);
                b_.SetInsertPoint(zero);
                to(j, absent());
                b_.SetInsertPoint(nonzero);
                b_.CreateCondBr(b_.CreateICmpEQ(y, b_.getInt64(static_cast<uint64_t>(-1))), minus1, divide);
                b_.SetInsertPoint(minus1);
                to(j, make(ValueKind::Int, op == BinaryOp::Div ? b_.CreateSub(b_.getInt64(0), x) : b_.getInt64(0)));
                b_.SetInsertPoint(divide);
                to(j, make(ValueKind::Int, op == BinaryOp::Div ? b_.CreateSDiv(x, y) : b_.CreateSRem(x, y)));
                break;
            }
        }

        if (float_path) {
            b_.SetInsertPoint(nums);
            llvm::Value* fx = as_double(a);
            llvm::Value* fy = as_double(b);
            switch (op) {
                case BinaryOp::Add: to(j, floating(b_.CreateFAdd(fx, fy))); break;
                case BinaryOp::Sub: to(j, floating(b_.CreateFSub(fx, fy))); break;
                case BinaryOp::Mul: to(j, floating(b_.CreateFMul(fx, fy))); break;
                default: {
                    // Division by (either) zero has no value; otherwise IEEE division.
                    llvm::Value* z = b_.CreateFCmpOEQ(fy, llvm::ConstantFP::get(f64_, 0.0));
                    llvm::Value* q = b_.CreateBitCast(b_.CreateFDiv(fx, fy), i64_);
                    to(j, {b_.CreateSelect(z, b_.getInt8(0), b_.getInt8(tag(ValueKind::Float))),
                           b_.CreateSelect(z, b_.getInt64(0), q)});
                    break;
                }
            }
        }

        b_.SetInsertPoint(slow);
        to(j, call_binary(op, a, b));
        return finish(j);
    }

    llvm::Value* trunc_f64(llvm::Value* f) { return b_.CreateUnaryIntrinsic(llvm::Intrinsic::trunc, f); }
    llvm::Value* fptosi_sat(llvm::Value* f) {
        return b_.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {i64_, f64_}, {f});
    }

    /// values_equal(Int i, Float f): f denotes exactly the int i.
    llvm::Value* int_equals_float(llvm::Value* i, llvm::Value* f) {
        auto* two63 = llvm::ConstantFP::get(f64_, 9223372036854775808.0);
        auto* minus_two63 = llvm::ConstantFP::get(f64_, -9223372036854775808.0);
        llvm::Value* in_range = b_.CreateAnd(b_.CreateFCmpOGE(f, minus_two63), b_.CreateFCmpOLT(f, two63));
        llvm::Value* integral = b_.CreateFCmpOEQ(f, trunc_f64(f));
        llvm::Value* same = b_.CreateICmpEQ(fptosi_sat(f), i);
        return b_.CreateSelect(b_.CreateAnd(in_range, integral), same, b_.getFalse());
    }

    /// value_ops compare_int_float(i, f): -1, 0, 1, or 2 (unordered: f is NaN). Exact, with no
    /// rounding of large ints.
    llvm::Value* compare_int_float(llvm::Value* i, llvm::Value* f) {
        auto c = [&](int v) { return b_.getInt32(static_cast<uint32_t>(v)); };
        auto* two63 = llvm::ConstantFP::get(f64_, 9223372036854775808.0);
        auto* minus_two63 = llvm::ConstantFP::get(f64_, -9223372036854775808.0);
        llvm::Value* t = trunc_f64(f);
        llvm::Value* ti = fptosi_sat(t);
        llvm::Value* r = b_.CreateSelect(b_.CreateFCmpOLT(f, t), c(1), c(0));
        r = b_.CreateSelect(b_.CreateFCmpOGT(f, t), c(-1), r);
        r = b_.CreateSelect(b_.CreateICmpSGT(i, ti), c(1), r);
        r = b_.CreateSelect(b_.CreateICmpSLT(i, ti), c(-1), r);
        r = b_.CreateSelect(b_.CreateFCmpOLT(f, minus_two63), c(1), r);
        r = b_.CreateSelect(b_.CreateFCmpOGE(f, two63), c(-1), r);
        return b_.CreateSelect(b_.CreateFCmpUNO(f, f), c(2), r);
    }

    /// `c op 0` for a three-way result; false when unordered (2).
    llvm::Value* order_holds(BinaryOp op, llvm::Value* c) {
        auto k = [&](int v) { return b_.getInt32(static_cast<uint32_t>(v)); };
        switch (op) {
            case BinaryOp::Lt: return b_.CreateICmpEQ(c, k(-1));
            case BinaryOp::Le: return b_.CreateOr(b_.CreateICmpEQ(c, k(-1)), b_.CreateICmpEQ(c, k(0)));
            case BinaryOp::Gt: return b_.CreateICmpEQ(c, k(1));
            default: return b_.CreateOr(b_.CreateICmpEQ(c, k(0)), b_.CreateICmpEQ(c, k(1)));
        }
    }

    Val comparison(BinaryOp op, const Val& a, const Val& b) {
        const bool equality = op == BinaryOp::Eq || op == BinaryOp::Ne;
        const bool negate = op == BinaryOp::Ne;
        Join j{block("cmp.done"), {}};
        llvm::BasicBlock* ii = block("cmp.int");
        llvm::BasicBlock* ff = block("cmp.float");
        llvm::BasicBlock* if_ = block("cmp.int_float");
        llvm::BasicBlock* fi = block("cmp.float_int");
        llvm::BasicBlock* slow = block("cmp.slow");
        auto* sw = b_.CreateSwitch(pair_code(a, b), slow, 5);
        sw->addCase(b_.getInt32(pair(ValueKind::Int, ValueKind::Int)), ii);
        sw->addCase(b_.getInt32(pair(ValueKind::Float, ValueKind::Float)), ff);
        sw->addCase(b_.getInt32(pair(ValueKind::Int, ValueKind::Float)), if_);
        sw->addCase(b_.getInt32(pair(ValueKind::Float, ValueKind::Int)), fi);
        llvm::BasicBlock* bb = nullptr;
        if (equality) {
            bb = block("cmp.bool");
            sw->addCase(b_.getInt32(pair(ValueKind::Bool, ValueKind::Bool)), bb);
        }
        auto result = [&](llvm::Value* bit) { to(j, boolean(negate ? b_.CreateNot(bit) : bit)); };

        b_.SetInsertPoint(ii);
        switch (op) {
            case BinaryOp::Eq:
            case BinaryOp::Ne: result(b_.CreateICmpEQ(a.payload, b.payload)); break;
            case BinaryOp::Lt: result(b_.CreateICmpSLT(a.payload, b.payload)); break;
            case BinaryOp::Le: result(b_.CreateICmpSLE(a.payload, b.payload)); break;
            case BinaryOp::Gt: result(b_.CreateICmpSGT(a.payload, b.payload)); break;
            default: result(b_.CreateICmpSGE(a.payload, b.payload)); break;
        }

        b_.SetInsertPoint(ff);
        {
            llvm::Value* x = as_f64(a.payload);
            llvm::Value* y = as_f64(b.payload);
            switch (op) {
                case BinaryOp::Eq:
                case BinaryOp::Ne:
                    // NaN equals NaN (values_equal); -0.0 equals 0.0.
                    result(b_.CreateOr(b_.CreateFCmpOEQ(x, y),
                                       b_.CreateAnd(b_.CreateFCmpUNO(x, x), b_.CreateFCmpUNO(y, y))));
                    break;
                // Ordered comparisons: false when either side is NaN, as kUnordered.
                case BinaryOp::Lt: result(b_.CreateFCmpOLT(x, y)); break;
                case BinaryOp::Le: result(b_.CreateFCmpOLE(x, y)); break;
                case BinaryOp::Gt: result(b_.CreateFCmpOGT(x, y)); break;
                default: result(b_.CreateFCmpOGE(x, y)); break;
            }
        }

        b_.SetInsertPoint(if_);
        if (equality) result(int_equals_float(a.payload, as_f64(b.payload)));
        else result(order_holds(op, compare_int_float(a.payload, as_f64(b.payload))));

        b_.SetInsertPoint(fi);
        if (equality) {
            result(int_equals_float(b.payload, as_f64(a.payload)));
        } else {
            llvm::Value* r = compare_int_float(b.payload, as_f64(a.payload));
            llvm::Value* c = b_.CreateSelect(b_.CreateICmpEQ(r, b_.getInt32(2)), r, b_.CreateNeg(r));
            result(order_holds(op, c));
        }

        if (bb) {
            b_.SetInsertPoint(bb);
            result(b_.CreateICmpEQ(bool_bit(a), bool_bit(b)));
        }

        b_.SetInsertPoint(slow);
        to(j, call_binary(op, a, b));
        return finish(j);
    }

    /// Three-valued and/or (SEMANTICS §4.2): the right side is evaluated only when the left
    /// one does not decide; then logical_and/logical_or.
    Val logical(const Expr& e, bool is_and) {
        Val a = gen(e.args[0].get());
        Join j{block(is_and ? "and.done" : "or.done"), {}};
        llvm::BasicBlock* decided = block("logic.decided");
        llvm::BasicBlock* rhs = block("logic.rhs");
        llvm::Value* a_bool = is(a, ValueKind::Bool);
        llvm::Value* a_bit = bool_bit(a);
        // `false and X` / `true or X` is the left value itself.
        llvm::Value* decides = b_.CreateAnd(a_bool, is_and ? b_.CreateNot(a_bit) : a_bit);
        b_.CreateCondBr(decides, decided, rhs);
        b_.SetInsertPoint(decided);
        to(j, a);
        b_.SetInsertPoint(rhs);
        Val b = gen(e.args[1].get());
        llvm::Value* b_bool = is(b, ValueKind::Bool);
        llvm::Value* b_bit = bool_bit(b);
        llvm::Value* both = b_.CreateAnd(a_bool, b_bool);
        llvm::Value* kind;
        llvm::Value* payload;
        if (is_and) {
            llvm::Value* any_false = b_.CreateOr(b_.CreateAnd(a_bool, b_.CreateNot(a_bit)),
                                                 b_.CreateAnd(b_bool, b_.CreateNot(b_bit)));
            kind = b_.CreateSelect(b_.CreateOr(any_false, both), b_.getInt8(tag(ValueKind::Bool)), b_.getInt8(0));
            payload = b_.CreateSelect(any_false, b_.getInt64(0), b_.CreateSelect(both, b_.getInt64(1), b_.getInt64(0)));
        } else {
            llvm::Value* any_true = b_.CreateOr(b_.CreateAnd(a_bool, a_bit), b_.CreateAnd(b_bool, b_bit));
            kind = b_.CreateSelect(b_.CreateOr(any_true, both), b_.getInt8(tag(ValueKind::Bool)), b_.getInt8(0));
            payload = b_.CreateSelect(any_true, b_.getInt64(1), b_.getInt64(0));
        }
        to(j, {kind, payload});
        return finish(j);
    }

    /// Only a Bool true takes the then-branch; a missing branch has no value.
    Val conditional(const Expr& e) {
        llvm::Value* c = e.args.empty() ? static_cast<llvm::Value*>(b_.getFalse()) : truthy(gen(e.args[0].get()));
        Join j{block("if.done"), {}};
        llvm::BasicBlock* then = block("if.then");
        llvm::BasicBlock* other = block("if.else");
        b_.CreateCondBr(c, then, other);
        b_.SetInsertPoint(then);
        to(j, e.args.size() > 1 ? gen(e.args[1].get()) : absent());
        b_.SetInsertPoint(other);
        to(j, e.args.size() > 2 ? gen(e.args[2].get()) : absent());
        return finish(j);
    }

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
    llvm::Value* enter_open_ = nullptr;             // TypeRun::window_enter_open
    std::map<uint32_t, ValueKind> known_kinds_;     // slots_ slot -> kind it is known to have
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

}  // namespace

namespace {

/// A kernel of stream `s`: `vp_s<s>_<part>` (part names its operator, step or merge entry).
KernelSymbol stream_symbol(size_t s, int32_t op, int32_t step, KernelKind kind, const std::string& part) {
    KernelSymbol sym;
    sym.stream = static_cast<int32_t>(s);
    sym.op = op;
    sym.step = step;
    sym.kind = kind;
    sym.name = "vp_s" + std::to_string(s) + "_" + part;
    return sym;
}

/// The name part of operator k's own kernel: `o<k>_<what>`.
std::string op_part(size_t k, const char* what) { return "o" + std::to_string(k) + "_" + what; }

}  // namespace

std::unique_ptr<llvm::Module> build_module(const ir::Plan& plan, llvm::LLVMContext& context,
                                           std::vector<KernelSymbol>& kernels) {
    auto m = std::make_unique<llvm::Module>("varpulis_plan", context);
    Generator gen(plan, *m);
    kernels.clear();
    std::unordered_map<const Expr*, uint64_t> string_ids;  // transition kernels: constant number by node
    for (size_t s = 0; s < plan.streams.size(); ++s) {
        const auto& sp = plan.streams[s];
        // Operators a chain covers (the whole stream when it fuses, else its tail) are generated
        // only inside the chain, at their place in the order, so fallback numbering stays that
        // of fallback_nodes().
        const int tail = tail_chain(plan, sp);
        const size_t chained = fuses(plan, sp) ? 0 : tail > 0 ? static_cast<size_t>(tail) : sp.ops.size();
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            const ir::Operator& op = sp.ops[k];
            if (k == chained) {
                KernelSymbol sym = k == 0 ? stream_symbol(s, 0, -1, KernelKind::Chain, "chain")
                                          : stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Chain, op_part(k, "tail"));
                gen.chain(sym.name, s, sp, k);
                kernels.push_back(std::move(sym));
                break;
            }
            if (!compiles(op)) {
                if (!compiles_effect(plan, op)) continue;
                gen.mark_operator(s, k);
                KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Effect, op_part(k, "effect"));
                gen.effect(sym.name, op);
                kernels.push_back(std::move(sym));
                continue;
            }
            gen.mark_operator(s, k);
            const bool filter = op.kind == ir::OpKind::Filter;
            KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), -1, filter ? KernelKind::Filter : KernelKind::Project,
                                             op_part(k, filter ? "filter" : "project"));
            if (sym.kind == KernelKind::Filter) gen.filter(sym.name, op.exprs[0].get());
            else if (op.kind == ir::OpKind::Aggregate) gen.aggregate_args(sym.name, op);
            else gen.project(sym.name, op);
            kernels.push_back(std::move(sym));
        }
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            const ir::Operator& op = sp.ops[k];
            if (!compiles_steps(op)) continue;
            const ir::Nfa& nfa = *step_nfa(op);
            for (size_t i = 0; i < nfa.steps.size(); ++i) {
                const ir::Expr* pred = nfa.steps[i].predicate.get();
                if (!pred) continue;
                KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), static_cast<int32_t>(i), KernelKind::Step,
                                                 op_part(k, "step") + std::to_string(i));
                gen.filter(sym.name, pred);
                kernels.push_back(std::move(sym));
            }
        }
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            if (!compiles_trend(plan, sp.ops[k])) continue;
            KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Trend, op_part(k, "trend"));
            gen.trend(sym.name, sp.ops[k]);
            kernels.push_back(std::move(sym));
        }
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            if (!compiles_fold(plan, sp, k)) continue;
            KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Fold, op_part(k, "fold"));
            gen.fold(sym.name, sp.ops[k + 1], gen.numbering(s, k + 1));
            kernels.push_back(std::move(sym));
        }
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            const ir::Operator& op = sp.ops[k];
            if (!compiles_join(plan, op)) continue;
            for (size_t src = 0; src < op.join->sources.size(); ++src) {
                KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), static_cast<int32_t>(src), KernelKind::Join,
                                                 op_part(k, "join") + std::to_string(src));
                gen.join(sym.name, op, src);
                kernels.push_back(std::move(sym));
            }
        }
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            const ir::Operator& op = sp.ops[k];
            if (!compiles_seq_trans(plan, op)) continue;
            if (string_ids.empty())
                for (const Expr* c : string_constants(plan)) string_ids.emplace(c, string_ids.size());
            KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Trans, op_part(k, "trans"));
            gen.seq_trans(sym.name, *op.nfa, plan.schemas.size(), string_ids);
            kernels.push_back(std::move(sym));
            if (op.nfa->strategy != ir::Strategy::SkipTillAnyMatch || op.nfa->form == ir::Nfa::Form::Or) continue;
            for (size_t st = 0; st < op.nfa->steps.size(); ++st) {
                KernelSymbol t = stream_symbol(s, static_cast<int32_t>(k), static_cast<int32_t>(st), KernelKind::TransTest,
                                               op_part(k, "test") + std::to_string(st));
                gen.seq_test(t.name, *op.nfa, static_cast<int32_t>(st), string_ids);
                kernels.push_back(std::move(t));
            }
        }
        for (size_t e = 0; e < sp.merge_filters.size(); ++e) {
            const ir::Expr* f = sp.merge_filters[e].second.get();
            if (!f) continue;
            gen.mark_merge(s, e);
            KernelSymbol sym = stream_symbol(s, -1, static_cast<int32_t>(e), KernelKind::Merge,
                                             "m" + std::to_string(e) + "_merge");
            gen.filter(sym.name, f);
            kernels.push_back(std::move(sym));
        }
    }
    for (size_t t = 0; t < plan.schemas.size(); ++t) {
        if (!type_fuses(plan, t)) continue;
        KernelSymbol sym;
        sym.schema = static_cast<int32_t>(t);
        sym.kind = KernelKind::Type;
        sym.name = "vp_t" + std::to_string(t) + "_type";
        gen.type_loop(sym.name, t, plan.schemas[t].fields.size(), plan.routes[t]);
        kernels.push_back(std::move(sym));
    }
    for (const KernelSymbol& k : kernels)
        if (!per_event_kernel(plan, k)) m->getFunction(k.name)->addFnAttr(kFastCodegenAttribute);
    return m;
}

namespace {

/// Whether stream `sp` reads some input event type (not only other streams' rows).
bool reads_events(const ir::Plan& plan, const ir::StreamPlan& sp) {
    for (const auto& name : sp.inputs) {
        bool stream = false;
        for (const auto& other : plan.streams) stream = stream || other.name == name;
        if (!stream) return true;
    }
    return false;
}

}  // namespace

bool per_event_kernel(const ir::Plan& plan, const KernelSymbol& k) {
    if (k.kind == KernelKind::Type) return true;
    const ir::StreamPlan& sp = plan.streams[static_cast<size_t>(k.stream)];
    switch (k.kind) {
        case KernelKind::Type: return true;
        // A join or a sequence over other streams' rows runs once per row they derive (a
        // closed window ...), not per event.
        case KernelKind::Join:
        case KernelKind::Step:
        case KernelKind::Trend:
        case KernelKind::TransTest:
        case KernelKind::Trans: return reads_events(plan, sp);
        // A fold loops over every row a closed window keeps: its body is per kept row.
        case KernelKind::Fold: return true;
        case KernelKind::Chain:
            if (k.op > 0) {
                // A tail runs per row the operator before it produces: a join or a sequence
                // over input events produces about one per event (temporal: 648 -> 660
                // instructions per event with a fast-codegen tail), a window one per closed
                // window, and an operator over other streams' rows one per theirs.
                const ir::OpKind before = sp.ops[static_cast<size_t>(k.op) - 1].kind;
                return (before == ir::OpKind::Join || before == ir::OpKind::Sequence) && reads_events(plan, sp);
            }
            break;
        case KernelKind::Filter:
        case KernelKind::Project:
        case KernelKind::Effect:
        case KernelKind::Merge: break;
    }
    // Per-row path: hot unless every input of the stream is an input event type with a type
    // loop (rows another stream forwards always take the per-row path).
    if (sp.inputs.empty() || !reads_events(plan, sp)) return true;
    for (const auto& name : sp.inputs)
        for (const auto& other : plan.streams)
            if (other.name == name) return true;
    const auto s = static_cast<size_t>(k.stream);
    for (size_t t = 0; t < plan.routes.size(); ++t)
        for (int32_t sid : plan.routes[t])
            if (static_cast<size_t>(sid) == s && !type_fuses(plan, t)) return true;
    return false;
}

}  // namespace varpulis::codegen
