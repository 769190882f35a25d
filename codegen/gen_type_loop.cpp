// Type loops (one compiled loop per input event type over its batched rows), the chains and
// tails of fused operators, and merge entries inside a type loop.

#include "codegen/generator.hpp"

#include <llvm/Analysis/ValueTracking.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/MDBuilder.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/abi.hpp"

namespace varpulis::codegen::detail {

void Generator::merge_row(int32_t sid, const ir::StreamPlan& sp, size_t schema, llvm::Value* row, llvm::BasicBlock* skip) {
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

void Generator::chain(const std::string& name, size_t s, const ir::StreamPlan& sp, size_t from) {
    llvm::Value* out = begin_in_out(name, i32_);
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

void Generator::scope_row_loads(llvm::Value* rows) {
    // `noalias` on the rows is not enough: they reach the engine's callbacks (push,
    // window_enter), so alias analysis cannot tell a pointer loaded later (an accumulator, an
    // output entry) from one into the rows, and reloads a field after every store. No store of
    // the loop writes the rows, which this says in scoped-noalias metadata.
    llvm::MDBuilder md(c_);
    llvm::MDNode* domain = md.createAnonymousAliasScopeDomain("type loop");
    llvm::MDNode* scope = md.createAnonymousAliasScope(domain, "rows");
    llvm::MDNode* list = llvm::MDNode::get(c_, {scope});
    for (llvm::BasicBlock& bb : *fn_)
        for (llvm::Instruction& inst : bb) {
            if (auto* load = llvm::dyn_cast<llvm::LoadInst>(&inst)) {
                if (llvm::getUnderlyingObject(load->getPointerOperand(), 0) == rows)
                    load->setMetadata(llvm::LLVMContext::MD_alias_scope, list);
            } else if (auto* store = llvm::dyn_cast<llvm::StoreInst>(&inst)) {
                store->setMetadata(llvm::LLVMContext::MD_noalias, list);
            }
        }
}

void Generator::cache_window_fields() {
    // The key cache, partitions, groups and accumulators move only when the runtime grows them
    // (window_enter_open, window_enter, window_close, or anything else the loop calls), but the
    // loop's stores to accumulators and counts may alias the WindowAccess as far as LLVM
    // knows, so it reloaded all five pointers for every event.
    std::vector<AccessLoad> loads = std::move(access_loads_);
    access_loads_.clear();
    if (loads.empty()) return;
    // One window only: with two (ema's FastEMA and SlowEMA) the ten pointers did not fit in
    // registers, and were spilled and refreshed after every call (ema +4 % instructions).
    for (const AccessLoad& a : loads)
        if (a.access != loads.front().access) return;
    std::map<std::pair<llvm::Value*, uint64_t>, llvm::AllocaInst*> locals;
    std::vector<llvm::CallInst*> calls;
    // The entry block makes no calls; the loop's blocks follow it.
    for (llvm::BasicBlock& bb : *fn_)
        for (llvm::Instruction& inst : bb)
            if (auto* call = llvm::dyn_cast<llvm::CallInst>(&inst);
                call && !llvm::isa<llvm::IntrinsicInst>(call) && &bb != &fn_->getEntryBlock())
                calls.push_back(call);
    for (const AccessLoad& a : loads) {
        auto [it, fresh] = locals.try_emplace({a.access, a.offset}, nullptr);
        if (fresh) {
            llvm::Type* type = a.load->getType();
            it->second = llvm::cast<llvm::AllocaInst>(entry_alloca(8));
            auto fill = [&](llvm::IRBuilder<>& at) {
                llvm::LoadInst* l = at.CreateAlignedLoad(type, at.CreateConstInBoundsGEP1_64(i8_, a.access, a.offset),
                                                         a.load->getAlign());
                at.CreateAlignedStore(l, it->second, llvm::Align(8));
            };
            // `access` is loaded in the entry block, before the loop.
            llvm::IRBuilder<> at(llvm::cast<llvm::Instruction>(a.access)->getNextNode());
            fill(at);
            for (llvm::CallInst* call : calls) {
                llvm::IRBuilder<> after(call->getNextNode());
                fill(after);
            }
        }
        llvm::IRBuilder<> here(a.load);
        llvm::LoadInst* cached = here.CreateAlignedLoad(a.load->getType(), it->second, llvm::Align(8));
        cached->takeName(a.load);
        a.load->replaceAllUsesWith(cached);
        a.load->eraseFromParent();
    }
}

void Generator::type_loop(const std::string& name, size_t schema, size_t width, const std::vector<int32_t>& streams) {
    begin(name, llvm::FunctionType::get(i64_, {ptr_, i64_, ptr_}, false));
    llvm::Value* rows = fn_->getArg(0);
    llvm::Value* n = fn_->getArg(1);
    ctx_ = fn_->getArg(2);
    // Nothing writes the batch's rows while the kernel runs (the engine's callbacks only read
    // them): their loads stay valid across stores to windows and output rows.
    fn_->addParamAttr(0, llvm::Attribute::NoAlias);
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
    // The loop keeps out_next in a local (a register after SROA), since stores to an entry
    // may alias the run: written back before flush reads it and when the kernel returns.
    llvm::Value* out_local = nullptr;
    if (buffered) {
        out_local = entry_alloca(8);
        b_.CreateAlignedStore(b_.CreateAlignedLoad(ptr_, out_next_at, llvm::Align(8), "out.first"), out_local,
                              llvm::Align(8));
    }
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
                    llvm::Value* at = b_.CreateAlignedLoad(ptr_, out_local, llvm::Align(8), "out.next");
                    llvm::BasicBlock* check = b_.GetInsertBlock();
                    llvm::BasicBlock* full = block("out.full");
                    llvm::BasicBlock* flushed = block("out.flushed");
                    llvm::BasicBlock* room = block("out.room");
                    b_.CreateCondBr(b_.CreateICmpULE(b_.CreateConstInBoundsGEP1_64(i8_, at, size), out_end), room, full);
                    b_.SetInsertPoint(full);
                    b_.CreateAlignedStore(at, out_next_at, llvm::Align(8));
                    llvm::CallInst* ok = b_.CreateCall(flush_type, flush, {run});
                    ok->addFnAttr(llvm::Attribute::NoUnwind);
                    llvm::Value* reset = b_.CreateAlignedLoad(ptr_, out_next_at, llvm::Align(8), "out.reset");
                    b_.CreateAlignedStore(reset, out_local, llvm::Align(8));
                    b_.CreateCondBr(b_.CreateICmpNE(ok, b_.getInt32(0)), flushed, stop);
                    b_.SetInsertPoint(flushed);
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
            b_.CreateAlignedStore(b_.CreateConstInBoundsGEP1_64(i8_, entry, size), out_local, llvm::Align(8));
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
    if (out_local)
        b_.CreateAlignedStore(b_.CreateAlignedLoad(ptr_, out_local, llvm::Align(8)), out_next_at, llvm::Align(8));
    b_.CreateRet(i);
    b_.SetInsertPoint(done);
    if (out_local)
        b_.CreateAlignedStore(b_.CreateAlignedLoad(ptr_, out_local, llvm::Align(8)), out_next_at, llvm::Align(8));
    b_.CreateRet(n);
    scope_row_loads(rows);
    cache_window_fields();
    cached_nodes_ = nullptr;
    cached_consts_ = nullptr;
    hoisted_consts_.clear();
}

}  // namespace varpulis::codegen::detail
