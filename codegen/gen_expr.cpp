// Filter and projection kernels, and expressions: constants, fields, aliases, globals,
// unary, and/or, if; the interpreter fallback for nodes codegen does not generate.

#include "codegen/generator.hpp"

#include <bit>
#include <cstddef>
#include <string>
#include <vector>

#include "runtime/abi.hpp"

namespace varpulis::codegen::detail {

void Generator::filter(const std::string& name, const Expr* predicate) {
    begin(name, llvm::FunctionType::get(i32_, {ptr_, ptr_}, false));
    slots_ = fn_->getArg(0);
    ctx_ = fn_->getArg(1);
    slots_->setName("slots");
    ctx_->setName("ctx");
    Val v = gen(predicate);
    b_.CreateRet(b_.CreateZExt(truthy(v), i32_));
}

void Generator::project(const std::string& name, const ir::Operator& op) { project_items(name, projection_items(op)); }

std::vector<const Expr*> Generator::projection_items(const ir::Operator& op) const {
    size_t w = plan_.schemas[static_cast<size_t>(op.out)].fields.size();
    std::vector<const Expr*> items;
    for (size_t i = 0; i < w; ++i) items.push_back(i < op.exprs.size() ? op.exprs[i].get() : nullptr);
    return items;
}

void Generator::aggregate_args(const std::string& name, const ir::Operator& op) {
    std::vector<const Expr*> items;
    for (const auto& call : op.calls) items.push_back(call.arg.get());
    project_items(name, items);
}

void Generator::project_items(const std::string& name, const std::vector<const Expr*>& items) {
    llvm::Value* out = begin_in_out(name, void_);
    for (size_t i = 0; i < items.size(); ++i) store(gen(items[i]), b_.CreateConstInBoundsGEP1_64(i8_, out, 16 * i));
    b_.CreateRetVoid();
}

Val Generator::gen(const Expr* e) {
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

Val Generator::constant(const ir::Literal& l) {
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

Val Generator::string_constant() { return string_constant_at(next_string_++); }

Val Generator::string_constant_at(uint64_t id) {
    llvm::Value* table =
        cached_consts_ ? cached_consts_ : ctx_member(offsetof(runtime::KernelContext, consts), "consts");
    // The table holds interned strings only (Engine: Value::string per constant), and does not
    // change while a kernel runs: the kind is known, and a type loop loads each constant once,
    // before its loop, instead of after every store to an output row.
    auto load = [&](llvm::IRBuilder<>& at) {
        llvm::LoadInst* l = at.CreateAlignedLoad(i64_, at.CreateConstInBoundsGEP1_64(i8_, table, 16 * id + 8), llvm::Align(8));
        l->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(c_, {}));
        return l;
    };
    llvm::Value* payload = nullptr;
    if (auto* def = llvm::dyn_cast<llvm::Instruction>(table); def && table == cached_consts_ && def->getFunction() == fn_) {
        llvm::Value*& loaded = hoisted_consts_[id];
        if (!loaded) {
            llvm::IRBuilder<> entry(def->getNextNode());
            loaded = load(entry);
        }
        payload = loaded;
    } else {
        payload = load(b_);
    }
    return make(ValueKind::Str, payload);
}

Val Generator::fallback(const Expr&) {
    uint64_t id = next_node_++;
    llvm::Value* table =
        cached_nodes_ ? cached_nodes_ : ctx_member(offsetof(runtime::KernelContext, nodes), "nodes");
    llvm::Value* node =
        b_.CreateAlignedLoad(ptr_, b_.CreateConstInBoundsGEP1_64(ptr_, table, id), llvm::Align(8), "node");
    llvm::Value* out = temp();
    b_.CreateCall(fallback_, {node, slots_, ctx_, out});
    return reload(out);
}

Val Generator::load_global(int32_t index) {
    if (index < 0) return absent();
    llvm::Value* out = temp();
    b_.CreateCall(global_, {b_.getInt32(static_cast<uint32_t>(index)), ctx_, out});
    return reload(out);
}

Val Generator::alias_field(const Expr& e) {
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

Val Generator::alias_len(const Expr& e) {
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

Val Generator::field(const Expr& e) {
    if (!e.slots.empty()) {
        // A slot whose kind the code was specialised for (speculate_declared_kinds) is present.
        auto known = known_kinds_.find(e.slots[0]);
        if (known != known_kinds_.end()) {
            // Loaded once at the top of the specialised copy: an aggregate's calls often share
            // a field (sum(price * volume), sum(volume)), and their stores to the accumulators
            // would make LLVM load it again.
            llvm::Value*& payload = known_loads_[{slots_, e.slots[0]}];
            if (!payload) {
                llvm::IRBuilder<> top(known_block_, known_block_->getFirstInsertionPt());
                llvm::Value* at = top.CreateConstInBoundsGEP1_64(i8_, slots_, 16 * uint64_t{e.slots[0]} + 8);
                payload = top.CreateAlignedLoad(i64_, at, llvm::Align(8));
            }
            return make(known->second, payload);
        }
    }
    if (e.slots.size() == 1 && e.index < 0) {
        // An absent slot holds payload 0 (Value's constructor; generated code stores absent()
        // as 0 too), so the slot as it is equals the absent value the general form below
        // would build for it: no branch.
        llvm::Value* at = b_.CreateConstInBoundsGEP1_64(i8_, slots_, 16 * uint64_t{e.slots[0]});
        return {b_.CreateAlignedLoad(i8_, at, llvm::Align(8)),
                b_.CreateAlignedLoad(i64_, b_.CreateConstInBoundsGEP1_64(i8_, at, 8), llvm::Align(8))};
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

Val Generator::unary(const Expr& e) {
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

Val Generator::logical(const Expr& e, bool is_and) {
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

Val Generator::conditional(const Expr& e) {
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

}  // namespace varpulis::codegen::detail
