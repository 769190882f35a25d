// The entry points of libvarpulis_jit.so, found with dlsym by jit_loader.cpp. Only these two
// symbols are exported; the static libraries inside the module stay hidden.

#include <string>

#include "jit/jit_module_abi.hpp"
#include "jit/llvm_jit.hpp"

extern "C" __attribute__((visibility("default"))) int varpulis_jit_module_abi() {
    return varpulis::jit::kJitModuleAbi;
}

extern "C" __attribute__((visibility("default"))) varpulis::jit::JitCompiler* varpulis_jit_create(
    const varpulis::jit::JitOptions* options, const varpulis::runtime::AbiSymbol* helpers, size_t helper_count,
    std::string* error) {
    // Nothing may unwind into the loader's frame from here.
    try {
        return varpulis::jit::create_llvm_jit(*options, helpers, helper_count, *error).release();
    } catch (const std::exception& e) {
        *error = e.what();
    } catch (...) {
        *error = "unknown failure while starting LLVM";
    }
    return nullptr;
}
