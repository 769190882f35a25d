// Sequence transition kernels and the skip_till_any_match test kernels.

#include "codegen/generator.hpp"

#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/nfa_shape.hpp"
#include "runtime/abi.hpp"

namespace varpulis::codegen::detail {

/// Begins a function of the transition kernels' signature (runtime/abi.hpp SeqTransArgs) and
/// loads what every such kernel reads; `pos` and `via` only when `position` (step tests read
/// neither).
Generator::SeqArgs Generator::seq_args(const std::string& name, bool position) {
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
    SeqArgs a;
    a.schema = field(i32_, offsetof(runtime::SeqTransArgs, schema), "schema");
    if (position) {
        a.pos = field(i32_, offsetof(runtime::SeqTransArgs, pos), "pos");
        a.via = field(i32_, offsetof(runtime::SeqTransArgs, via), "via");
    }
    a.flags = field(i32_, offsetof(runtime::SeqTransArgs, flags), "flags");
    return a;
}

void Generator::seq_trans(const std::string& name, const ir::Nfa& nfa, size_t n_schemas,
                          const std::unordered_map<const Expr*, uint64_t>& strings) {
    const SeqArgs a = seq_args(name, true);
    llvm::Value *schema = a.schema, *pos = a.pos, *via = a.via, *flags = a.flags;
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

void Generator::any_test_step(const ir::Nfa& nfa, const std::vector<ir::NfaStepShape>& shapes, int32_t s, llvm::Value* schema,
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

void Generator::seq_test(const std::string& name, const ir::Nfa& nfa, int32_t s, const std::unordered_map<const Expr*, uint64_t>& strings) {
    const SeqArgs a = seq_args(name, false);
    llvm::Value *schema = a.schema, *flags = a.flags;
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

void Generator::seq_scan(const std::string& name, const ir::Nfa& nfa, const std::unordered_map<const Expr*, uint64_t>& strings,
                         const std::vector<std::string>& step_kernels) {
    begin(name, llvm::FunctionType::get(i64_, {ptr_, i64_, i64_}, false));
    llvm::Value* args = fn_->getArg(0);
    llvm::Value* first = fn_->getArg(1);
    llvm::Value* end = fn_->getArg(2);
    args->setName("args");
    string_ids_ = &strings;
    known_kinds_.clear();
    auto at = [&](size_t off) { return b_.CreateConstInBoundsGEP1_64(i8_, args, off); };
    auto field = [&](llvm::Type* t, size_t off, const char* n) { return b_.CreateAlignedLoad(t, at(off), llvm::Align(8), n); };
    llvm::Value* schemas = field(ptr_, offsetof(runtime::SeqScanArgs, schemas), "schemas");
    llvm::Value* ts = field(ptr_, offsetof(runtime::SeqScanArgs, ts), "ts");
    llvm::Value* values = field(ptr_, offsetof(runtime::SeqScanArgs, values), "values");
    llvm::Value* widths = field(ptr_, offsetof(runtime::SeqScanArgs, widths), "widths");
    llvm::Value* routed = field(ptr_, offsetof(runtime::SeqScanArgs, routed), "routed");
    llvm::Value* n_schemas = field(i64_, offsetof(runtime::SeqScanArgs, n_schemas), "n_schemas");
    llvm::Value* offset0 = field(i64_, offsetof(runtime::SeqScanArgs, offset), "offset0");
    llvm::Value* skipped0 = field(i64_, offsetof(runtime::SeqScanArgs, skipped), "skipped0");
    llvm::Value* taken = field(ptr_, offsetof(runtime::SeqScanArgs, taken), "taken");
    llvm::Value* cap = field(i64_, offsetof(runtime::SeqScanArgs, cap), "cap");
    ctx_ = field(ptr_, offsetof(runtime::SeqScanArgs, ctx), "ctx");
    // Loop state in allocas (SROA makes them registers in both tiers).
    llvm::AllocaInst *iv, *off, *skp, *bits, *nt;
    {
        llvm::IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
        iv = eb.CreateAlloca(i64_, nullptr, "i");
        off = eb.CreateAlloca(i64_, nullptr, "offset");
        skp = eb.CreateAlloca(i64_, nullptr, "skipped");
        bits = eb.CreateAlloca(i64_, nullptr, "verdicts");
        nt = eb.CreateAlloca(i64_, nullptr, "n_taken");
    }
    b_.CreateStore(first, iv);
    b_.CreateStore(offset0, off);
    b_.CreateStore(skipped0, skp);
    b_.CreateStore(b_.getInt64(0), nt);
    llvm::BasicBlock* head = block("scan.head");
    llvm::BasicBlock* body = block("scan.body");
    llvm::BasicBlock* mine = block("scan.routed");
    llvm::BasicBlock* judged = block("scan.judged");
    llvm::BasicBlock* skip = block("scan.skip");
    llvm::BasicBlock* stop = block("scan.stop");
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::Value* i = b_.CreateLoad(i64_, iv, "i");
    b_.CreateStore(b_.getInt64(0), bits);
    b_.CreateCondBr(b_.CreateICmpULT(i, end), body, stop);
    b_.SetInsertPoint(body);
    llvm::Value* sch = b_.CreateAlignedLoad(i32_, b_.CreateInBoundsGEP(i32_, schemas, i), llvm::Align(4), "schema");
    llvm::Value* sch64 = b_.CreateSExt(sch, i64_);
    // Negative schemas (unrouted) compare above n_schemas unsigned.
    llvm::BasicBlock* check = block("scan.check");
    b_.CreateCondBr(b_.CreateICmpULT(sch64, n_schemas), check, stop);
    b_.SetInsertPoint(check);
    llvm::Value* r = b_.CreateLoad(i8_, b_.CreateInBoundsGEP(i8_, routed, sch64));
    b_.CreateCondBr(b_.CreateICmpNE(r, b_.getInt8(0)), mine, stop);
    b_.SetInsertPoint(mine);
    llvm::Value* offset = b_.CreateLoad(i64_, off, "offset");
    slots_ = b_.CreateInBoundsGEP(i8_, values, b_.CreateMul(offset, b_.getInt64(sizeof(runtime::Value))), "row");
    // Per schema the steps of its type, each predicate inline; a step without one holds.
    llvm::SwitchInst* sw = b_.CreateSwitch(sch, judged);
    std::map<int32_t, std::vector<size_t>> by_type;
    for (size_t s = 0; s < nfa.steps.size(); ++s)
        if (nfa.steps[s].type_id >= 0) by_type[nfa.steps[s].type_id].push_back(s);
    for (const auto& [type, steps] : by_type) {
        llvm::BasicBlock* bb = block("scan.type");
        sw->addCase(b_.getInt32(static_cast<uint32_t>(type)), bb);
        b_.SetInsertPoint(bb);
        for (size_t s : steps) {
            llvm::BasicBlock* yes = block("scan.yes");
            llvm::BasicBlock* next = block("scan.next");
            const std::vector<const Expr*> cs = conjuncts_of(nfa.steps[s].predicate, -1);
            // Fields of the declared kinds (the usual case) skip the kind tests and conversions;
            // any other row takes the general copy.
            std::map<uint32_t, ValueKind> kinds;
            for (const Expr* c : cs) declared_kinds(c, kinds);
            llvm::Function* general = nullptr;
            if (!kinds.empty()) {
                llvm::BasicBlock* declared = block("scan.declared");
                llvm::BasicBlock* other = block("scan.other");
                b_.CreateCondBr(has_kinds(slots_, kinds), declared, other);
                b_.SetInsertPoint(declared);
                known_kinds_ = std::move(kinds);
                known_block_ = declared;   // where field() loads the known slots, once
                test_conjuncts(cs, yes, next);
                known_kinds_.clear();
                known_block_ = nullptr;
                known_loads_.clear();
                b_.SetInsertPoint(other);
                // The step's own predicate kernel, out of the loop: the general copy inline
                // would cost every row registers and a stack frame.
                general = s < step_kernels.size() && !step_kernels[s].empty() ? m_.getFunction(step_kernels[s]) : nullptr;
            }
            if (general) {
                llvm::CallInst* call = b_.CreateCall(general, {slots_, ctx_});
                call->addFnAttr(llvm::Attribute::NoUnwind);
                call->addFnAttr(llvm::Attribute::Cold);
                b_.CreateCondBr(b_.CreateICmpNE(call, b_.getInt32(0)), yes, next);
            } else {
                test_conjuncts(cs, yes, next);
            }
            b_.SetInsertPoint(yes);
            b_.CreateStore(b_.CreateOr(b_.CreateLoad(i64_, bits), b_.getInt64(uint64_t{1} << s)), bits);
            b_.CreateBr(next);
            b_.SetInsertPoint(next);
        }
        b_.CreateBr(judged);
    }
    b_.SetInsertPoint(judged);
    llvm::BasicBlock* take = block("scan.take");
    llvm::BasicBlock* advance = block("scan.advance");
    llvm::Value* v = b_.CreateLoad(i64_, bits);
    b_.CreateCondBr(b_.CreateICmpNE(v, b_.getInt64(0)), take, skip);
    // A taken row: its entry, then the skipped time starts again.
    b_.SetInsertPoint(take);
    llvm::Value* n = b_.CreateLoad(i64_, nt, "n");
    llvm::Value* entry = b_.CreateInBoundsGEP(i8_, taken, b_.CreateMul(n, b_.getInt64(sizeof(runtime::SeqTaken))));
    auto put = [&](llvm::Value* x, size_t field_off) {
        b_.CreateAlignedStore(x, b_.CreateConstInBoundsGEP1_64(i8_, entry, field_off), llvm::Align(8));
    };
    put(i, offsetof(runtime::SeqTaken, row));
    put(offset, offsetof(runtime::SeqTaken, offset));
    put(v, offsetof(runtime::SeqTaken, verdicts));
    put(b_.CreateLoad(i64_, skp), offsetof(runtime::SeqTaken, skipped));
    b_.CreateStore(b_.getInt64(std::numeric_limits<int64_t>::min()), skp);
    llvm::Value* n1 = b_.CreateAdd(n, b_.getInt64(1));
    b_.CreateStore(n1, nt);
    llvm::BasicBlock* full = block("scan.full");
    b_.CreateCondBr(b_.CreateICmpUGE(n1, cap), full, advance);
    b_.SetInsertPoint(skip);
    llvm::Value* t = b_.CreateAlignedLoad(i64_, b_.CreateInBoundsGEP(i64_, ts, i), llvm::Align(8), "t");
    llvm::Value* was = b_.CreateLoad(i64_, skp);
    b_.CreateStore(b_.CreateSelect(b_.CreateICmpSGT(t, was), t, was), skp);
    b_.CreateBr(advance);
    // Past the row: on with the next, or (`cap` taken) stop after it.
    auto past = [&] {
        llvm::Value* w = b_.CreateAlignedLoad(i32_, b_.CreateInBoundsGEP(i32_, widths, sch64), llvm::Align(4), "width");
        b_.CreateStore(b_.CreateAdd(offset, b_.CreateZExt(w, i64_)), off);
        b_.CreateStore(b_.CreateAdd(i, b_.getInt64(1)), iv);
    };
    b_.SetInsertPoint(advance);
    past();
    b_.CreateBr(head);
    b_.SetInsertPoint(full);
    past();
    b_.CreateBr(stop);
    b_.SetInsertPoint(stop);
    b_.CreateAlignedStore(b_.CreateLoad(i64_, off), at(offsetof(runtime::SeqScanArgs, offset)), llvm::Align(8));
    b_.CreateAlignedStore(b_.CreateLoad(i64_, skp), at(offsetof(runtime::SeqScanArgs, skipped)), llvm::Align(8));
    b_.CreateAlignedStore(b_.CreateLoad(i64_, nt), at(offsetof(runtime::SeqScanArgs, n_taken)), llvm::Align(8));
    b_.CreateRet(b_.CreateLoad(i64_, iv));
    slots_ = ctx_ = nullptr;
    string_ids_ = nullptr;
}

void Generator::seq_any_modes(const ir::Nfa& nfa, llvm::Value* schema, llvm::Value* pos, llvm::Value* flags,
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

std::vector<const Expr*> Generator::conjuncts_of(const ir::ExprPtr& pred, int32_t drop) {
    std::vector<const Expr*> out;
    if (!pred) return out;
    std::vector<ir::ExprPtr> all;
    ir::nfa_conjuncts(pred, all);
    for (const auto& c : all)
        if (drop < 0 || !ir::expr_reads_alias(*c, drop)) out.push_back(c.get());
    return out;
}

void Generator::test_conjuncts(const std::vector<const Expr*>& cs, llvm::BasicBlock* yes, llvm::BasicBlock* no) {
    for (const Expr* c : cs) {
        llvm::BasicBlock* holds = block("conj");
        b_.CreateCondBr(truthy(gen(c)), holds, no);
        b_.SetInsertPoint(holds);
    }
    b_.CreateBr(yes);
}

}  // namespace varpulis::codegen::detail
