// Trend kernels: GRETA's per-event update of a trend aggregate without step predicates.

#include "codegen/generator.hpp"

#include <llvm/IR/Constants.h>
#include <llvm/IR/Intrinsics.h>

#include <algorithm>
#include <string>
#include <vector>

namespace varpulis::codegen::detail {

void Generator::trend(const std::string& name, const ir::Operator& op) {
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

}  // namespace varpulis::codegen::detail
