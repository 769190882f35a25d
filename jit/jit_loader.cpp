#include "jit/jit_loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "jit/jit_module_abi.hpp"
#include "runtime/abi.hpp"

namespace varpulis::jit {

namespace {

constexpr const char* kModuleName = "libvarpulis_jit.so";

std::string executable_dir() {
    std::vector<char> buf(4096);
    ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
    if (n <= 0) return {};
    std::string path(buf.data(), static_cast<size_t>(n));
    auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

struct Module {
    JitCreateFn create = nullptr;
    std::string error;
};

/// Opens the module once per process; it is never closed (code versions and the compiler's
/// vtable live in it).
const Module& module() {
    static Module m;
    static std::once_flag once;
    std::call_once(once, [] {
        std::vector<std::string> candidates;
        if (const char* env = std::getenv("VARPULIS_JIT_MODULE"); env && *env) candidates.emplace_back(env);
        if (std::string dir = executable_dir(); !dir.empty()) candidates.push_back(dir + "/" + kModuleName);
#ifdef VARPULIS_JIT_BUILD_DIR
        candidates.push_back(std::string(VARPULIS_JIT_BUILD_DIR) + "/" + kModuleName);
#endif
        std::string tried;
        for (const std::string& path : candidates) {
            if (::access(path.c_str(), R_OK) != 0) {
                tried += (tried.empty() ? "" : ", ") + path;
                continue;
            }
            void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
            if (!handle) {
                const char* why = ::dlerror();
                m.error = "cannot load " + path + ": " + (why ? why : "unknown error");
                return;
            }
            auto abi = reinterpret_cast<JitModuleAbiFn>(::dlsym(handle, "varpulis_jit_module_abi"));
            auto create = reinterpret_cast<JitCreateFn>(::dlsym(handle, "varpulis_jit_create"));
            if (!abi || !create) {
                m.error = path + " is not a Varpulis JIT module";
                return;
            }
            if (abi() != kJitModuleAbi) {
                m.error = path + " was built for JIT interface " + std::to_string(abi()) + ", this binary needs " +
                          std::to_string(kJitModuleAbi);
                return;
            }
            m.create = create;
            return;
        }
        m.error = std::string("the JIT module ") + kModuleName + " was not found (looked at " + tried + ")";
    });
    return m;
}

}  // namespace

std::unique_ptr<JitCompiler> load_jit(const JitOptions& options, std::string& error) {
    const Module& m = module();
    if (!m.create) {
        error = m.error;
        return nullptr;
    }
    size_t count = 0;
    const runtime::AbiSymbol* helpers = runtime::abi_symbols(count);
    return std::unique_ptr<JitCompiler>(m.create(&options, helpers, count, &error));
}

}  // namespace varpulis::jit
