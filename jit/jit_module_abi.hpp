#pragma once
// The contract between the executable and libvarpulis_jit.so. Both sides are built from the
// same headers in one tree; the number catches a stale module left beside a newer binary.
// Bump it whenever jit_compiler.hpp, kernel_table.hpp, abi.hpp or the ir::Plan layout change
// incompatibly.

#include <cstddef>
#include <string>

#include "jit/jit_compiler.hpp"
#include "runtime/abi.hpp"

namespace varpulis::jit {

inline constexpr int kJitModuleAbi = 21;   // 12: OpKernels::fold and ::trend (FoldKernel, TrendKernel), vp_fold_distinct; 13: OpKernels::trans (SeqTransKernel); 14: kSeqTest / kSeqMask transition modes; 15: TypeRun::windows are WindowAccess, TypeRun::entered; 16: JitCompiler::compile takes a CompileTier, CompiledPlan::tier; 17: vp_compare_int_float; 18: JitOptions::compile_threads, ::fail_part, CompiledPlan::parts; 19: OpKernels::scan (SeqScanKernel); 20: type loops reopen a count window's kept group themselves (window_close recycles scratch) and write TypeRun::out_next back only before flush and on return; 21: scan kernels hand back up to SeqScanArgs::cap taken rows (SeqTaken)

using JitModuleAbiFn = int (*)();
using JitCreateFn = JitCompiler* (*)(const JitOptions*, const runtime::AbiSymbol*, size_t, std::string*);

}  // namespace varpulis::jit
