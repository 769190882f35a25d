#pragma once
// Private to jit/: how much LLVM optimises each kernel of a plan's module. The IR pipelines per
// level and tier, the fast code generator for kernels off the per-event path
// (codegen::kernel_use), and the split that sends the kernels the batch path never calls
// through the code generator at CodeGenOptLevel::None.

#include <memory>

namespace llvm {
class Module;
class TargetMachine;
}  // namespace llvm

namespace varpulis::jit {

/// Runs the IR pipeline of `level` on `m`; `quick`: the first stage of a two-stage compile.
/// At O1/O2 the kernels the batch path never calls (codegen::kFirstStageAttribute) get the
/// quick tier's pipeline even in a full compile, and at O2 type loops (codegen::kTypeLoopAttribute)
/// and Occasional kernels (codegen::kFastCodegenAttribute) skip its second round (GVN,
/// InstCombine, JumpThreading, SimplifyCFG).
void optimise(llvm::Module& m, llvm::TargetMachine* tm, int level, bool quick);

/// After the IR pipeline, at O1 and O2: the kernels marked for the fast code generator
/// (codegen::kFastCodegenAttribute) become `optnone` (fast instruction selection, no
/// machine-level optimisation).
void apply_codegen_tiers(llvm::Module& m, int level);

/// At O1/O2: moves the definitions of the kernels the batch path never calls
/// (codegen::kFirstStageAttribute) out of `m` into a module of their own (cold_module() holds for it; declarations stay in `m`), to be
/// compiled by the code generator at CodeGenOptLevel::None. Null when `m` has no such kernel,
/// or only such kernels (then `m` itself becomes the cold module). Both modules share `m`'s
/// context.
std::unique_ptr<llvm::Module> split_cold_kernels(llvm::Module& m, int level);

/// Whether `m` is a module split_cold_kernels() made (or renamed): every kernel in it gets the
/// quick tier's code generator.
bool cold_module(const llvm::Module& m);

}  // namespace varpulis::jit
