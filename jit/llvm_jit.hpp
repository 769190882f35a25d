#pragma once
// The LLVM ORC implementation of jit::JitCompiler. Linked directly only by the JIT module and
// the JIT's own tests; everything else goes through jit::load_jit (jit/jit_loader.hpp).

#include <memory>
#include <string>

#include "jit/jit_compiler.hpp"
#include "runtime/abi.hpp"

namespace varpulis::jit {

/// Sets up LLJIT for the host. `helpers` are the runtime functions generated code calls, by
/// address in the calling process (runtime::abi_symbols()): the module has no runtime of its
/// own. nullptr and `error` set when LLVM cannot target this host.
std::unique_ptr<JitCompiler> create_llvm_jit(const JitOptions& options, const runtime::AbiSymbol* helpers,
                                             size_t helper_count, std::string& error);

}  // namespace varpulis::jit
