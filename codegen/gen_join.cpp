// Join kernels: one per join source.

#include "codegen/generator.hpp"

#include <cstddef>
#include <string>
#include <vector>

#include "runtime/abi.hpp"

namespace varpulis::codegen::detail {

void Generator::join(const std::string& name, const ir::Operator& op, size_t src) {
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

}  // namespace varpulis::codegen::detail
