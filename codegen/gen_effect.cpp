// Effect kernels (print, to, distinct, .process) and the compiled user function bodies
// `.process` runs: its frame and statements.

#include "codegen/generator.hpp"

#include <llvm/IR/Constants.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "runtime/abi.hpp"

namespace varpulis::codegen::detail {

void Generator::effect(const std::string& name, const ir::Operator& op) {
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

void Generator::process(const ir::Function& fn, const Expr& call) {
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

void Generator::jump(llvm::BasicBlock* to) {
    b_.CreateBr(to);
    b_.SetInsertPoint(block("dead"));
}

void Generator::count_iteration() {
    llvm::Value* n = b_.CreateAdd(b_.CreateAlignedLoad(i64_, iterations_, llvm::Align(8)), b_.getInt64(1));
    b_.CreateAlignedStore(n, iterations_, llvm::Align(8));
    llvm::BasicBlock* go = block("loop.body");
    b_.CreateCondBr(b_.CreateICmpUGT(n, b_.getInt64(kMaxLoopIterations)), fn_exit_, go);
    b_.SetInsertPoint(go);
}

void Generator::loop_body(const ir::Stmt& s, llvm::BasicBlock* end, llvm::BasicBlock* head) {
    count_iteration();
    loops_.push_back({end, head});
    if (!s.blocks.empty()) statements(s.blocks[0]);
    loops_.pop_back();
    b_.CreateBr(head);
    b_.SetInsertPoint(end);
}

void Generator::set_local(int32_t index, const Val& v) {
    if (index < 0 || static_cast<size_t>(index) >= frame_size_) return;
    store(v, b_.CreateConstInBoundsGEP1_64(i8_, locals_, 16 * static_cast<uint64_t>(index)));
}

llvm::Value* Generator::condition(const Expr* e) { return e ? truthy(gen(e)) : static_cast<llvm::Value*>(b_.getTrue()); }

void Generator::statements(const std::vector<ir::StmtPtr>& body) {
    for (const auto& s : body)
        if (s) statement(*s);
}

void Generator::statement(const ir::Stmt& s) {
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
            loop_body(s, end, head);
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
            loop_body(s, end, head);
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

Val Generator::local(const Expr& e) {
    if (!locals_ || e.index < 0 || static_cast<size_t>(e.index) >= frame_size_) return absent();
    return reload(b_.CreateConstInBoundsGEP1_64(i8_, locals_, 16 * static_cast<uint64_t>(e.index)));
}

}  // namespace varpulis::codegen::detail
