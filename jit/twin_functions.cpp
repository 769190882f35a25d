#include "jit/twin_functions.hpp"

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GetElementPtrTypeIterator.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "codegen/plan_codegen.hpp"

namespace varpulis::jit {

namespace {

/// Beyond this many, the set is left alone: arguments past the registers go through the stack,
/// and a loop with many of them live would spill them all.
constexpr size_t kMaxParameters = 8;

bool eligible(const llvm::Function& f) {
    return !f.isDeclaration() && !f.isVarArg() && !f.hasPersonalityFn() &&
           (f.hasFnAttribute(codegen::kTypeLoopAttribute) || f.hasFnAttribute(codegen::kFastCodegenAttribute) ||
            f.hasFnAttribute(codegen::kFirstStageAttribute));
}

/// Intrinsics that compute on their arguments as a call of a function would: any of them may
/// be a run-time value. Others may need a constant without saying so (llvm.expect,
/// llvm.objectsize) or change their lowering with one (memory intrinsics' lengths).
bool value_intrinsic(llvm::Intrinsic::ID id) {
    switch (id) {
        case llvm::Intrinsic::trunc:
        case llvm::Intrinsic::floor:
        case llvm::Intrinsic::ceil:
        case llvm::Intrinsic::round:
        case llvm::Intrinsic::rint:
        case llvm::Intrinsic::fabs:
        case llvm::Intrinsic::sqrt:
        case llvm::Intrinsic::pow:
        case llvm::Intrinsic::copysign:
        case llvm::Intrinsic::minnum:
        case llvm::Intrinsic::maxnum:
        case llvm::Intrinsic::fptosi_sat:
        case llvm::Intrinsic::fptoui_sat:
        case llvm::Intrinsic::smax:
        case llvm::Intrinsic::smin:
        case llvm::Intrinsic::umax:
        case llvm::Intrinsic::umin:
        case llvm::Intrinsic::abs: return true;
        default: return false;
    }
}

/// Whether operand `k` of `inst` may be an argument instead of the constant it is.
bool may_be_value(const llvm::Instruction& inst, unsigned k) {
    if (const auto* call = llvm::dyn_cast<llvm::CallBase>(&inst)) {
        const llvm::Use& use = call->getOperandUse(k);
        if (!call->isArgOperand(&use)) return false;   // the callee, operand bundles
        const unsigned arg = call->getArgOperandNo(&use);
        if (call->paramHasAttr(arg, llvm::Attribute::ImmArg)) return false;
        if (const auto* intrinsic = llvm::dyn_cast<llvm::IntrinsicInst>(call))
            return value_intrinsic(intrinsic->getIntrinsicID());
        return !call->getCalledFunction() || !call->getCalledFunction()->isIntrinsic();
    }
    switch (inst.getOpcode()) {
        case llvm::Instruction::Switch: return k == 0;   // case values are constants
        case llvm::Instruction::Alloca: return false;
        case llvm::Instruction::ShuffleVector: return k < 2;
        case llvm::Instruction::GetElementPtr: {
            if (k == 0) return true;
            auto it = llvm::gep_type_begin(&inst);
            for (unsigned i = 1; i < k; ++i) ++it;
            return !it.isStruct();
        }
        case llvm::Instruction::IndirectBr:
        case llvm::Instruction::LandingPad:
        case llvm::Instruction::CatchSwitch:
        case llvm::Instruction::CatchPad:
        case llvm::Instruction::CleanupPad: return false;
        default: return true;
    }
}

/// A constant of `b` where `a` has another, at instruction `inst` (numbered in `a`'s order)
/// and operand `op`.
struct Difference {
    size_t inst;
    unsigned op;
    llvm::Constant* value;
};

/// Instruction-for-instruction comparison of two functions; lives for one comparison.
class Comparison {
public:
    Comparison(const llvm::Function& a, const llvm::Function& b) : a_(a), b_(b) {}

    /// The constants `b` has where `a` has others (empty: identical); nullopt when the two
    /// differ otherwise, or in a constant where `allow_constants` is false.
    std::optional<std::vector<Difference>> run(bool allow_constants) {
        if (a_.getFunctionType() != b_.getFunctionType() || a_.getCallingConv() != b_.getCallingConv() ||
            a_.getAttributes() != b_.getAttributes() || a_.size() != b_.size() ||
            a_.getInstructionCount() != b_.getInstructionCount() || a_.hasGC() != b_.hasGC())
            return std::nullopt;
        // Values may be used before their definition in block order (phis, blocks not in
        // dominance order): everything is paired first, compared after.
        for (size_t i = 0; i < a_.arg_size(); ++i) pair_[a_.getArg(static_cast<unsigned>(i))] = b_.getArg(static_cast<unsigned>(i));
        std::vector<std::pair<const llvm::Instruction*, const llvm::Instruction*>> insts;
        for (auto ai = a_.begin(), bi = b_.begin(); ai != a_.end(); ++ai, ++bi) {
            if (ai->size() != bi->size()) return std::nullopt;
            pair_[&*ai] = &*bi;
            for (auto ii = ai->begin(), ji = bi->begin(); ii != ai->end(); ++ii, ++ji) {
                pair_[&*ii] = &*ji;
                insts.emplace_back(&*ii, &*ji);
            }
        }
        std::vector<Difference> diffs;
        for (size_t n = 0; n < insts.size(); ++n) {
            const llvm::Instruction& i = *insts[n].first;
            const llvm::Instruction& j = *insts[n].second;
            if (!i.isSameOperationAs(&j) || i.getRawSubclassOptionalData() != j.getRawSubclassOptionalData() ||
                !same_metadata(i, j))
                return std::nullopt;
            if (const auto* phi = llvm::dyn_cast<llvm::PHINode>(&i))
                for (unsigned k = 0; k < phi->getNumIncomingValues(); ++k)
                    if (pair_.lookup(phi->getIncomingBlock(k)) != llvm::cast<llvm::PHINode>(j).getIncomingBlock(k))
                        return std::nullopt;
            for (unsigned k = 0; k < i.getNumOperands(); ++k) {
                const llvm::Value* x = i.getOperand(k);
                const llvm::Value* y = j.getOperand(k);
                if (x == y) continue;
                if (auto it = pair_.find(x); it != pair_.end()) {
                    if (it->second != y) return std::nullopt;
                    continue;
                }
                const bool numbers = (llvm::isa<llvm::ConstantInt>(x) && llvm::isa<llvm::ConstantInt>(y)) ||
                                     (llvm::isa<llvm::ConstantFP>(x) && llvm::isa<llvm::ConstantFP>(y));
                if (!allow_constants || !numbers || x->getType() != y->getType() || !may_be_value(i, k))
                    return std::nullopt;
                diffs.push_back({n, k, llvm::cast<llvm::Constant>(const_cast<llvm::Value*>(y))});
            }
        }
        return diffs;
    }

private:
    /// The same metadata, except that alias scopes and noalias lists (distinct per function)
    /// need only correspond one to one.
    bool same_metadata(const llvm::Instruction& i, const llvm::Instruction& j) {
        llvm::SmallVector<std::pair<unsigned, llvm::MDNode*>, 4> mi, mj;
        i.getAllMetadata(mi);
        j.getAllMetadata(mj);
        if (mi.size() != mj.size()) return false;
        for (size_t k = 0; k < mi.size(); ++k) {
            if (mi[k].first != mj[k].first) return false;
            if (mi[k].first == llvm::LLVMContext::MD_alias_scope || mi[k].first == llvm::LLVMContext::MD_noalias) {
                const auto it = scopes_.emplace(mi[k].second, mj[k].second).first;
                const auto back = scopes_back_.emplace(mj[k].second, mi[k].second).first;
                if (it->second != mj[k].second || back->second != mi[k].second) return false;
            } else if (mi[k].second != mj[k].second) {
                return false;
            }
        }
        return true;
    }

    const llvm::Function& a_;
    const llvm::Function& b_;
    llvm::DenseMap<const llvm::Value*, const llvm::Value*> pair_;
    std::map<const llvm::MDNode*, const llvm::MDNode*> scopes_;
    std::map<const llvm::MDNode*, const llvm::MDNode*> scopes_back_;
};

struct Member {
    llvm::Function* f;
    std::vector<Difference> diffs;   // against the set's first member
};

/// Sets of at least two functions among `candidates` that compare equal to their first
/// member (constants may differ when `allow_constants`), in module order.
std::vector<std::vector<Member>> twin_sets(const std::vector<llvm::Function*>& candidates, bool allow_constants) {
    std::vector<std::vector<Member>> sets;
    for (llvm::Function* f : candidates) {
        bool placed = false;
        for (auto& set : sets) {
            if (auto diffs = Comparison(*set.front().f, *f).run(allow_constants)) {
                set.push_back({f, std::move(*diffs)});
                placed = true;
                break;
            }
        }
        if (!placed) sets.push_back({{f, {}}});
    }
    std::vector<std::vector<Member>> out;
    for (auto& set : sets)
        if (set.size() > 1) out.push_back(std::move(set));
    return out;
}

/// Replaces `f`'s body with a (tail) call of `callee` with `f`'s arguments and then `extra`.
/// The call is compiled as the first stage compiles (codegen::kFirstStageAttribute): the
/// default code generator's machine passes cost ~0.9 M instructions per function however
/// small, the CodeGenOptLevel::None one's a fraction of that, and a call per batch or per
/// closed window does not need them.
void become_call(llvm::Function& f, llvm::Function& callee, const std::vector<llvm::Value*>& extra) {
    f.deleteBody();
    f.addFnAttr(codegen::kFirstStageAttribute);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(f.getContext(), "entry", &f));
    std::vector<llvm::Value*> args;
    for (llvm::Argument& a : f.args()) args.push_back(&a);
    args.insert(args.end(), extra.begin(), extra.end());
    llvm::CallInst* call = b.CreateCall(&callee, args);
    call->setCallingConv(callee.getCallingConv());
    // Same prototype: the call must become a jump. Otherwise a sibling call where the target
    // allows.
    call->setTailCallKind(extra.empty() ? llvm::CallInst::TCK_MustTail : llvm::CallInst::TCK_Tail);
    if (f.getReturnType()->isVoidTy()) b.CreateRetVoid();
    else b.CreateRet(call);
}

}  // namespace

TwinStats merge_twin_functions(llvm::Module& m, const std::unordered_set<std::string>& kernels) {
    TwinStats stats;
    std::vector<llvm::Function*> candidates;
    for (llvm::Function& f : m)
        if (eligible(f)) candidates.push_back(&f);

    // Identical functions first: a kernel's callees (a type loop's outlined feeds) merged, the
    // kernels calling them may become twins.
    std::vector<llvm::Function*> left;
    std::vector<llvm::Function*> erased;
    for (auto& set : twin_sets(candidates, false)) {
        llvm::Function& first = *set.front().f;
        for (size_t i = 1; i < set.size(); ++i) {
            llvm::Function& f = *set[i].f;
            ++stats.merged;
            if (kernels.count(f.getName().str())) {
                become_call(f, first, {});
            } else {
                f.replaceAllUsesWith(&first);
                erased.push_back(&f);
            }
        }
    }
    for (llvm::Function* f : candidates) {
        bool kept = true;
        for (llvm::Function* e : erased) kept = kept && e != f;
        if (kept && !f->isDeclaration() && f->getInstructionCount() > 2) left.push_back(f);
    }
    for (llvm::Function* f : erased) f->eraseFromParent();

    for (auto& set : twin_sets(left, true)) {
        llvm::Function& first = *set.front().f;
        // One parameter per distinct combination of the members' constants at a position.
        std::map<std::pair<size_t, unsigned>, std::vector<llvm::Constant*>> at;
        std::vector<llvm::Instruction*> insts;
        for (llvm::Instruction& inst : llvm::instructions(first)) insts.push_back(&inst);
        for (size_t s = 1; s < set.size(); ++s)
            for (const Difference& d : set[s].diffs) {
                auto [it, fresh] = at.try_emplace({d.inst, d.op});
                if (fresh) {
                    auto* own = llvm::cast<llvm::Constant>(insts[d.inst]->getOperand(d.op));
                    it->second.assign(set.size(), own);
                }
                it->second[s] = d.value;
            }
        std::map<std::vector<llvm::Constant*>, unsigned> parameter_of;
        std::vector<std::vector<llvm::Constant*>> parameters;
        for (auto& [pos, values] : at)
            if (parameter_of.emplace(values, static_cast<unsigned>(parameters.size())).second) parameters.push_back(values);
        if (parameters.size() > kMaxParameters) continue;
        if (parameters.empty()) continue;   // identical after the first round: already handled

        std::vector<llvm::Type*> types(first.getFunctionType()->param_begin(), first.getFunctionType()->param_end());
        for (const auto& values : parameters) types.push_back(values.front()->getType());
        auto* shared = llvm::Function::Create(llvm::FunctionType::get(first.getReturnType(), types, false),
                                              llvm::Function::ExternalLinkage, first.getName() + "_twins", m);
        shared->copyAttributesFrom(&first);
        // Inlined back into each member, it would be compiled once per member again (O3).
        shared->addFnAttr(llvm::Attribute::NoInline);
        // The first member's body moves (a copy would cost about as much as the comparisons).
        shared->splice(shared->end(), &first);
        for (unsigned i = 0; i < first.arg_size(); ++i) {
            shared->getArg(i)->setName(first.getArg(i)->getName());
            first.getArg(i)->replaceAllUsesWith(shared->getArg(i));
        }
        for (auto& [pos, values] : at)
            insts[pos.first]->setOperand(pos.second,
                                         shared->getArg(static_cast<unsigned>(first.arg_size()) + parameter_of.at(values)));
        for (size_t s = 0; s < set.size(); ++s) {
            std::vector<llvm::Value*> own;
            for (const auto& values : parameters) own.push_back(values[s]);
            become_call(*set[s].f, *shared, own);
        }
        stats.merged += set.size();
        ++stats.shared;
        stats.parameters += parameters.size();
    }
    return stats;
}

}  // namespace varpulis::jit
