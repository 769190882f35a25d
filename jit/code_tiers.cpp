#include "jit/code_tiers.hpp"

#include <llvm/IR/Function.h>
#include <llvm/IR/Module.h>
#include <llvm/Passes/OptimizationLevel.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Scalar/CorrelatedValuePropagation.h>
#include <llvm/Transforms/Scalar/DCE.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/GVN.h>
#include <llvm/Transforms/Scalar/JumpThreading.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>
#include <llvm/Transforms/Utils/Cloning.h>
#include <llvm/Transforms/Utils/ValueMapper.h>

#include "codegen/plan_codegen.hpp"

namespace varpulis::jit {

namespace {

constexpr const char* kColdModuleName = "varpulis_plan_cold";

/// codegen::KernelUse::OffBatchPath.
bool cold_kernel(const llvm::Function& f) {
    return !f.isDeclaration() && f.hasFnAttribute(codegen::kFirstStageAttribute);
}

}  // namespace

/// Kernels are small loop-free functions (kind dispatch, inline number arithmetic, calls to the
/// runtime helpers), and the per-module default pipelines spend most of their time in passes
/// that find nothing to do here (inliner, loop and vectoriser passes, IPO, attribute
/// inference). O1 and O2 therefore run a hand-picked function pipeline: SROA for the
/// helper-call temporaries, EarlyCSE for repeated loads, SimplifyCFG and InstCombine to fold
/// the kind dispatch of constants and merge blocks; O2 adds what the default O2 pipeline gets
/// its speed on these kernels from: JumpThreading and CorrelatedValuePropagation (an absent
/// field, or a connective's known kind, goes straight to its case instead of through a phi and
/// a second switch), GVN, a second InstCombine and JumpThreading round, and DCE. O3 keeps the
/// full default O3 pipeline; O0 only the always-inliner; the quick tier (`quick`, O1/O2 only)
/// SROA alone, and so do the kernels the batch path never calls (codegen::KernelUse::
/// OffBatchPath) in a full compile: the optimising passes would cost about as much compile
/// time for them as for the hot kernels. Measurements: docs/performance.md, "JIT compile
/// latency".
void optimise(llvm::Module& m, llvm::TargetMachine* tm, int level, bool quick) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    if (level <= 0 || level >= 3) {
        llvm::ModulePassManager mpm = level <= 0 ? pb.buildO0DefaultPipeline(llvm::OptimizationLevel::O0)
                                                 : pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
        mpm.run(m, mam);
        return;
    }
    // The quick tier: SROA only, which turns the helper-call temporaries into registers. It
    // costs about nothing, as the code generator has that much less to do; EarlyCSE,
    // SimplifyCFG and InstCombine on top added ~7 % (multi_sensor) for code that runs only
    // until the full version replaces it.
    llvm::FunctionPassManager first;
    first.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
    llvm::FunctionPassManager full;
    // Type loops (codegen::kTypeLoopAttribute) and the kernels for the fast code generator
    // (codegen::KernelUse::Occasional) at O2: the same without GVN and the second InstCombine,
    // JumpThreading and SimplifyCFG. A loop's kind dispatch is folded by the declared kinds and the first
    // JumpThreading/CVP round, and EarlyCSE finds its repeated loads: the benchmark workloads'
    // modules assemble to the same instructions without them except multi_sensor's tail after
    // its join (278 -> 293 instructions, run per joined row: +0.04 instructions per event), for
    // 7 % less full-stage compile work (ema, multi_sensor). Other PerEvent kernels (joins,
    // transition kernels) keep GVN: temporal +0.8 % instructions per event without it. The
    // InstCombine after JumpThreading and CVP is left out of this pipeline too: every type loop
    // and Occasional kernel of the benchmark modules comes out byte for byte the same without
    // it (ema's loop: ~1 M instructions less).
    llvm::FunctionPassManager loop;
    for (llvm::FunctionPassManager* p : {&full, &loop}) {
        p->addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
        p->addPass(llvm::EarlyCSEPass());
        p->addPass(llvm::SimplifyCFGPass());
        p->addPass(llvm::InstCombinePass());
    }
    if (level >= 2) {
        for (llvm::FunctionPassManager* p : {&full, &loop}) {
            const bool second_round = p == &full;
            p->addPass(llvm::JumpThreadingPass());
            p->addPass(llvm::CorrelatedValuePropagationPass());
            p->addPass(llvm::SimplifyCFGPass());
            if (second_round) {
                p->addPass(llvm::GVNPass());
                p->addPass(llvm::InstCombinePass());
                p->addPass(llvm::JumpThreadingPass());
                p->addPass(llvm::SimplifyCFGPass());
            }
            p->addPass(llvm::DCEPass());
        }
    }
    // Function passes may ask for module analyses through the proxy, which must exist first.
    mam.getResult<llvm::FunctionAnalysisManagerModuleProxy>(m);
    for (llvm::Function& f : m) {
        if (f.isDeclaration()) continue;
        if (quick || cold_kernel(f)) first.run(f, fam);
        else if (f.hasFnAttribute(codegen::kTypeLoopAttribute) || f.hasFnAttribute(codegen::kFastCodegenAttribute))
            loop.run(f, fam);
        else full.run(f, fam);
    }
}

/// Kernels codegen marked for the fast code generator (codegen::KernelUse other than PerEvent)
/// become `optnone`: fast instruction selection and no machine-level optimisation on the
/// default-level code generator (Occasional; their IR is optimised, so the code stays close),
/// while split_cold_kernels() sends the OffBatchPath ones to the CodeGenOptLevel::None one.
void apply_codegen_tiers(llvm::Module& m, int level) {
    if (level <= 0 || level >= 3) return;
    for (llvm::Function& f : m) {
        if (f.isDeclaration() || !f.hasFnAttribute(codegen::kFastCodegenAttribute)) continue;
        f.removeFnAttr(llvm::Attribute::InlineHint);
        f.addFnAttr(llvm::Attribute::NoInline);
        f.addFnAttr(llvm::Attribute::OptimizeNone);
    }
}

/// `optnone` on the default-level code generator still runs the greedy register allocator and
/// its analyses (docs/architecture.md, "Two-stage compile": 67 M instead of 28 M instructions on
/// multi_sensor's first stage), so the kernels the batch path never calls go to a module of
/// their own, which the CodeGenOptLevel::None target machine compiles: fast instruction
/// selection and register allocation, as in the first stage. Kernels call no other kernel, so
/// the split needs no cross-module references beyond the runtime helpers both modules declare.
std::unique_ptr<llvm::Module> split_cold_kernels(llvm::Module& m, int level) {
    if (level <= 0 || level >= 3) return nullptr;
    size_t cold = 0, hot = 0;
    for (const llvm::Function& f : m)
        if (!f.isDeclaration()) ++(cold_kernel(f) ? cold : hot);
    if (cold == 0) return nullptr;
    if (hot == 0) {
        m.setModuleIdentifier(kColdModuleName);
        return nullptr;
    }
    llvm::ValueToValueMapTy map;
    std::unique_ptr<llvm::Module> out = llvm::CloneModule(m, map, [](const llvm::GlobalValue* g) {
        const auto* f = llvm::dyn_cast<llvm::Function>(g);
        return f && cold_kernel(*f);
    });
    out->setModuleIdentifier(kColdModuleName);
    for (llvm::Function& f : m)
        if (cold_kernel(f)) f.deleteBody();
    return out;
}

bool cold_module(const llvm::Module& m) { return m.getModuleIdentifier() == kColdModuleName; }

}  // namespace varpulis::jit
