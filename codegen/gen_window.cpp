// Fused windows in type loops, their accumulators, and fold kernels over kept rows.

#include "codegen/generator.hpp"

#include <llvm/IR/Constants.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/abi.hpp"
#include "runtime/window_state.hpp"

namespace varpulis::codegen::detail {

void Generator::window_feed(llvm::Value* run, int32_t sid, llvm::Value* row, llvm::Value* slots, const ir::Operator& window,
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

    auto feed = [&](llvm::Value* accs, llvm::Value* count) {
        feed_calls(aggregate, at, accs, [&](const ir::AggregateCall& call, size_t, const Val& v, llvm::Value* v_at) {
            switch (call.fn) {
                case AggregateFn::First: {
                    llvm::BasicBlock* set = block("first.set");
                    llvm::BasicBlock* cont = block("first.done");
                    b_.CreateCondBr(b_.CreateICmpEQ(count, b_.getInt64(0)), set, cont);
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
    speculate_declared_kinds(fn_->getName().str() + "_s" + std::to_string(sid) + "_feed", aggregate, slots, acc, group_count,
                             feed);

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

void Generator::declared_kinds(const Expr* e, std::map<uint32_t, ValueKind>& out) {
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
        if (k != ValueKind::Absent) out.emplace(e->slots[0], k);
    }
    for (const auto& a : e->args) declared_kinds(a.get(), out);
}

llvm::Value* Generator::has_kinds(llvm::Value* slots, const std::map<uint32_t, ValueKind>& kinds) {
    llvm::Value* kept = b_.getTrue();
    for (const auto& [slot, kind] : kinds) {
        llvm::Value* tag_at = b_.CreateConstInBoundsGEP1_64(i8_, slots, 16 * uint64_t{slot});
        kept = b_.CreateAnd(kept, b_.CreateICmpEQ(b_.CreateAlignedLoad(i8_, tag_at, llvm::Align(8)),
                                                  b_.getInt8(tag(kind))));
    }
    return kept;
}

template <class Body>
void Generator::speculate_declared_kinds(const std::string& other_name, const ir::Operator& aggregate, llvm::Value* slots,
                                         llvm::Value* acc, llvm::Value* group_count, Body&& body) {
    std::map<uint32_t, ValueKind> kinds;
    for (const auto& call : aggregate.calls) declared_kinds(call.arg.get(), kinds);
    if (kinds.empty()) {
        body(acc, group_count);
        return;
    }
    llvm::Value* kept = has_kinds(slots, kinds);
    llvm::BasicBlock* declared = block("kinds.declared");
    llvm::BasicBlock* other = block("kinds.other");
    llvm::BasicBlock* done = block("kinds.done");
    b_.CreateCondBr(kept, declared, other);
    b_.SetInsertPoint(declared);
    known_kinds_ = std::move(kinds);
    known_block_ = declared;
    body(acc, group_count);
    known_kinds_.clear();
    known_block_ = nullptr;
    known_loads_.clear();
    b_.CreateBr(done);
    b_.SetInsertPoint(other);
    llvm::Function* general = outline_feed(other_name, body);
    llvm::CallInst* call = b_.CreateCall(general, {slots, acc, group_count, ctx_});
    call->setCallingConv(general->getCallingConv());
    call->addFnAttr(llvm::Attribute::NoUnwind);
    call->addFnAttr(llvm::Attribute::Cold);
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
}

template <class Body>
llvm::Function* Generator::outline_feed(const std::string& name, Body&& body) {
    const llvm::IRBuilderBase::InsertPoint resume = b_.saveIP();
    llvm::Function* caller = fn_;
    llvm::Value* const saved[] = {slots_, ctx_, cached_nodes_, cached_consts_};
    begin(name, llvm::FunctionType::get(void_, {ptr_, ptr_, i64_, ptr_}, false));
    llvm::Function* f = fn_;
    // Off the batch path's per-event work (codegen::KernelUse::OffBatchPath): the first
    // stage's IR pipeline and code generator, from the cold module, in a full compile too.
    f->addFnAttr(kFirstStageAttribute);
    f->addFnAttr(kFastCodegenAttribute);
    // The loop keeps its window pointers and the group it entered in registers across the
    // call: with the C convention they would need callee-saved registers the loop has too few
    // of (ema: +5 % instructions per event from the spills); with preserve_most the cold callee
    // saves what it uses. `cold` lets the loop's code generator lay the call out of line.
    f->setCallingConv(llvm::CallingConv::PreserveMost);
    f->addFnAttr(llvm::Attribute::Cold);
    slots_ = f->getArg(0);
    ctx_ = f->getArg(3);
    slots_->setName("slots");
    f->getArg(1)->setName("acc");
    f->getArg(2)->setName("group.count");
    ctx_->setName("ctx");
    cached_nodes_ = cached_consts_ = nullptr;
    body(f->getArg(1), f->getArg(2));
    b_.CreateRetVoid();
    fn_ = caller;
    slots_ = saved[0];
    ctx_ = saved[1];
    cached_nodes_ = saved[2];
    cached_consts_ = saved[3];
    b_.restoreIP(resume);
    return f;
}

Generator::OpenGroup Generator::open_group(llvm::Value* access, llvm::Value* slots, llvm::Value* ts, const ir::Operator& window,
                                           const ir::Operator& aggregate, llvm::BasicBlock* miss) {
    const ir::Window& w = window.window;
    auto load = [&](llvm::Type* type, llvm::Value* base, uint64_t offset, const char* name) {
        llvm::LoadInst* l = b_.CreateAlignedLoad(type, b_.CreateConstInBoundsGEP1_64(i8_, base, offset),
                                                 llvm::Align(type == i8_ ? 1 : type == i32_ ? 4 : 8), name);
        if (base == access) access_loads_.push_back({access, offset, l});
        return l;
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
    llvm::Value* is_open =
        b_.CreateICmpNE(load(i8_, part, offsetof(runtime::WindowPartition, ngroups), "ngroups"), b_.getInt8(0));
    bool reopens = w.kind == ir::WindowKind::Count;
    for (const auto& call : aggregate.calls) reopens = reopens && call.fn != frontend::AggregateFn::Ema;
    if (reopens) {
        // A count window closes right after its last event; the key's next event opens a new
        // one in the group the partition keeps (WindowAggregate::open_group through
        // take_group, which reuses p.groups[0]; close_before does nothing for count windows):
        // done here with the same stores, instead of a runtime call every `size` events of a
        // key. A partition that never had a group, or an Ema (its period is evaluated at
        // opening), goes to the runtime.
        llvm::BasicBlock* reopen = block("window.reopen");
        llvm::BasicBlock* reset = block("window.reset");
        llvm::BasicBlock* open = block("window.open");
        b_.CreateCondBr(is_open, open, reopen);
        b_.SetInsertPoint(reopen);
        llvm::Value* g = load(i32_, part, offsetof(runtime::WindowPartition, groups), "kept.group");
        b_.CreateCondBr(b_.CreateICmpEQ(g, b_.getInt32(runtime::kNoGroup)), miss, reset);
        b_.SetInsertPoint(reset);
        auto store_at = [&](llvm::Value* v, llvm::Value* base, uint64_t offset) {
            b_.CreateAlignedStore(v, b_.CreateConstInBoundsGEP1_64(i8_, base, offset),
                                  llvm::Align(v->getType() == i8_ ? 1 : v->getType() == i32_ ? 4 : 8));
        };
        store_at(b_.getInt8(1), part, offsetof(runtime::WindowPartition, ngroups));
        llvm::Value* gi = b_.CreateZExt(g, i64_);
        llvm::Value* gh = b_.CreateInBoundsGEP(i8_, load(ptr_, access, offsetof(runtime::WindowAccess, groups), "groups"),
                                               b_.CreateMul(gi, b_.getInt64(sizeof(runtime::GroupHeader))));
        store_at(b_.getInt64(0), gh, offsetof(runtime::GroupHeader, count));
        // last_ts: stored below for every entered group, as cursor_at does.
        llvm::Value* absent_key = b_.getInt32(0);
        if (aggregate.partition_slot >= 0)
            absent_key = b_.CreateZExt(
                b_.CreateICmpEQ(load(i8_, slots, 16 * static_cast<uint64_t>(aggregate.partition_slot), "agg.key.kind"),
                                b_.getInt8(tag(ValueKind::Absent))),
                i32_);
        store_at(absent_key, gh, offsetof(runtime::GroupHeader, absent_key));
        llvm::Value* acc0 = b_.CreateInBoundsGEP(
            i8_, load(ptr_, access, offsetof(runtime::WindowAccess, accs), "accs"),
            b_.CreateMul(gi, b_.getInt64(sizeof(runtime::CallAcc) * aggregate.calls.size())));
        for (size_t c = 0; c < aggregate.calls.size(); ++c) {   // acc_reset
            const frontend::AggregateFn fn = aggregate.calls[c].fn;
            llvm::Value* acc = b_.CreateConstInBoundsGEP1_64(i8_, acc0, sizeof(runtime::CallAcc) * c);
            const double a = fn == frontend::AggregateFn::Min   ? INFINITY
                             : fn == frontend::AggregateFn::Max ? -INFINITY
                                                                : 0.0;
            store_at(llvm::ConstantFP::get(f64_, a), acc, offsetof(runtime::CallAcc, a));
            store_at(llvm::ConstantFP::get(f64_, 0.0), acc, offsetof(runtime::CallAcc, b));
            store_at(b_.getInt64(0), acc, offsetof(runtime::CallAcc, n));
            store(absent(), b_.CreateConstInBoundsGEP1_64(i8_, acc, offsetof(runtime::CallAcc, v)));
        }
        b_.CreateBr(open);
        b_.SetInsertPoint(open);
    } else {
        require(is_open, "window.open");
    }
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

template <class Special>
void Generator::feed_calls(const ir::Operator& aggregate, const Numbering& at, llvm::Value* accs, Special&& special) {
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

void Generator::fold(const std::string& name, const ir::Operator& aggregate, const Numbering& at) {
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

void Generator::accumulate(frontend::AggregateFn fn, const Val& v, llvm::Value* base) {
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

}  // namespace varpulis::codegen::detail
