#pragma once
// Loads the JIT tier on demand. The LLVM implementation is a separate shared module
// (libvarpulis_jit.so next to the executable) opened with dlopen the first time a JIT is asked
// for: relocating libLLVM costs tens of milliseconds at start-up, which a run that only
// interprets, or that starts interpreting while the JIT loads on another thread, should not pay.

#include <memory>
#include <string>

#include "jit/jit_compiler.hpp"

namespace varpulis::jit {

/// A JIT compiler from the module. Thread-safe; the module stays loaded for the life of the
/// process. nullptr and `error` set when the module is missing, does not match this build, or
/// LLVM cannot target this host. The module is looked up in $VARPULIS_JIT_MODULE (a path),
/// then next to the executable, then in the build tree the executable was built in.
std::unique_ptr<JitCompiler> load_jit(const JitOptions& options, std::string& error);

}  // namespace varpulis::jit
