#pragma once
// Private to jit/: a plan's module compiled to object files, its kernels split into parts that
// threads compile at the same time (each part in an LLVMContext of its own: modules sharing a
// context would serialise on it). The kernels are independent functions (one calls another only
// through an external symbol: a type loop its outlined feed), so a part is the whole module with
// the other parts' bodies deleted, and the linker joins the objects in one JITDylib.

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class MemoryBuffer;
class Module;
class TargetMachine;
}  // namespace llvm

namespace varpulis::jit {

class ObjectEmitter;

/// The code generators of one compile thread: a TargetMachine must not be used by two
/// threads at once (it builds and caches its subtargets lazily), nor an emitter.
struct CodeGenerators {
    CodeGenerators();
    CodeGenerators(CodeGenerators&&) noexcept;
    CodeGenerators& operator=(CodeGenerators&&) noexcept;
    ~CodeGenerators();

    std::unique_ptr<llvm::TargetMachine> full;    // the configured optimisation level
    std::unique_ptr<llvm::TargetMachine> quick;   // CodeGenOptLevel::None
    /// Per target machine, the code generator's pass manager, made by the first module it
    /// compiles and kept for the next (split_compile.cpp); destroyed before the machines.
    std::unique_ptr<ObjectEmitter> full_emitter;
    std::unique_ptr<ObjectEmitter> quick_emitter;
};

/// Where one part's time went ($VARPULIS_JIT_TIMING).
struct PartStats {
    size_t functions = 0;
    size_t instructions = 0;   // IR instructions before optimisation
    std::string names;         // the functions, space-separated
    double codegen_ms = 0;     // building and verifying this part's module
    double optimise_ms = 0;
    double object_ms = 0;
};

/// Builds the plan's module in `ctx` (data layout and triple set) for part `part`'s thread.
/// Called on every compile thread at once, so it must be thread-safe, and it must build the
/// same module every time.
using ModuleFactory = std::function<std::unique_ptr<llvm::Module>(llvm::LLVMContext& ctx, int part)>;

/// The estimated code-generation cost of each defined function of `m` decides its part
/// (largest first, onto the least loaded part; the kernels for the CodeGenOptLevel::None
/// generator all together): at most `max_parts` parts, numbered from 0 without gaps. Returns
/// the part of each function, by its index among m's definitions.
std::vector<int> assign_parts(const llvm::Module& m, int level, bool quick, int max_parts);

/// Compiles the module `factory` makes into object files, in as many parts as `gens.size()`
/// allows, on as many threads (part 0 on the calling thread, with `gens[0]`); each thread
/// builds, verifies and compiles its own part. Runs the IR pipeline (code_tiers.hpp) and the
/// code generator of each kernel's tier. A part that fails fails the whole compile (false,
/// `error` set; no object is returned). `fail_part` >= 0 (tests only) makes that part fail as
/// an LLVM error would. `stats`: one entry per part compiled.
bool compile_objects(const ModuleFactory& factory, std::vector<CodeGenerators>& gens, int level, bool quick,
                     int fail_part, std::vector<std::unique_ptr<llvm::MemoryBuffer>>& objects,
                     std::vector<PartStats>& stats, std::string& error);

}  // namespace varpulis::jit
