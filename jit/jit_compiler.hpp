#pragma once
// The LLVM JIT tier: compiles a plan's operators to machine code (ORC LLJIT) and hands the
// engine a runtime::KernelTable. No LLVM type appears here; LLVM errors come back as strings.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/plan.hpp"
#include "runtime/kernel_table.hpp"

namespace varpulis::jit {

struct JitOptions {
    /// Optimisation level of the IR pipeline and the code generator: 0..3 (default O2).
    int opt_level = 2;
    /// Threads one compile may use: its module is split into as many parts, balanced by
    /// estimated code-generation cost, each compiled on a thread of its own (LLVMContext and
    /// target machines included) and linked into one code version. 1: one module on the
    /// calling thread. At most the number of cores; O3 always compiles one module.
    int compile_threads = 2;
    /// Tests only: the part (>= 0) of a split compile that fails as an LLVM error would.
    int fail_part = -1;
};

/// How a compile spends its time. Both tiers generate the same module from the plan (the same
/// kernels, the same operators compiled), so a Quick version and a Full one are interchangeable
/// in the engine; they differ only in how much LLVM optimises it.
enum class CompileTier {
    /// The configured level for every kernel: what --dump-llvm-opt and --dump-asm show.
    Full,
    /// The first stage of a two-stage compile: a shorter IR pipeline and the fast code generator
    /// (fast instruction selection, fast register allocation, no machine-level optimisation)
    /// for every kernel. A few times cheaper to compile; the code runs somewhat slower until
    /// the Full version, compiled in the background, is swapped in. At O0 and O3 it is Full.
    Quick,
};

/// Compilation status of one operator.
struct OperatorStatus {
    int32_t stream = -1;
    int32_t op = -1;
    bool compiled = false;   // false: the interpreter runs it
    /// What of it is generated code and what the runtime does, or why it stays interpreted
    /// (codegen::effect_note; empty for most operators).
    std::string note;
};

/// A plan compiled to machine code. Holds its code alive through `kernels->code_owner`.
struct CompiledPlan {
    uint64_t version = 0;          // code version; an identical plan served from the cache shares it
    uint64_t ir_hash = 0;          // hash of the plan key (IR dump + codegen signature)
    bool cache_hit = false;
    CompileTier tier = CompileTier::Full;
    double compile_ms = 0;         // codegen + optimisation + machine code, or the cache lookup
    uint32_t parts = 0;            // modules the code was compiled as, concurrently (JitOptions::compile_threads)
    size_t inlined_nodes = 0;      // IR nodes generated inline
    size_t fallback_nodes = 0;     // IR nodes that call the interpreter (vp_eval_fallback)
    std::vector<OperatorStatus> operators;   // every operator of every stream, in plan order
    /// Per stream: the operator its input type's compiled loop hands rows to after the
    /// generated filters and selects (codegen::type_loop_handoff; ops.size(): straight to its
    /// readers), or -1 when no type kernel runs the stream or generated code does all of it.
    std::vector<int32_t> handoff;
    /// Function pointers per stream per operator, the fallback-node table of the plan passed to
    /// compile() (which must outlive the table), and the code owner.
    std::shared_ptr<const runtime::KernelTable> kernels;
};

/// The JIT tier's interface. The LLVM implementation lives in a module loaded on demand
/// (jit/jit_loader.hpp), so processes that only interpret never map libLLVM. One JITDylib and
/// ResourceTracker per code version; an in-memory cache maps the plan key to its code version
/// so recompiling an identical plan is a lookup. Thread-safe: every method may be called from
/// any thread (calls are serialised). Machine code lives as long as some CompiledPlan/
/// KernelTable refers to it and the version is cached (see release()); it may outlive the
/// JitCompiler.
class JitCompiler {
public:
    virtual ~JitCompiler() = default;
    JitCompiler(const JitCompiler&) = delete;
    JitCompiler& operator=(const JitCompiler&) = delete;

    /// Compiles every compilable operator of `plan` (or takes it from the cache). nullptr and
    /// `error` set on an LLVM failure.
    virtual std::shared_ptr<const CompiledPlan> compile(const ir::Plan& plan, std::string& error,
                                                        CompileTier tier) = 0;
    std::shared_ptr<const CompiledPlan> compile(const ir::Plan& plan, std::string& error) {
        return compile(plan, error, CompileTier::Full);
    }

    /// Drops code version `version` from the cache: its machine code is freed as soon as the
    /// last CompiledPlan/KernelTable using it is gone. False if it was not cached.
    virtual bool release(uint64_t version) = 0;

    /// Code versions whose machine code is currently loaded.
    virtual size_t resident_versions() const = 0;
    /// Code versions in the cache.
    virtual size_t cached_versions() const = 0;
    /// Host CPU name the code is generated for.
    virtual std::string host_cpu() const = 0;
    virtual const JitOptions& options() const = 0;

    /// The generated LLVM IR (before or after the optimisation pipeline), and the host
    /// assembly, for `explain --dump-llvm`, `--dump-llvm-opt`, `--dump-asm`.
    virtual bool dump_llvm(const ir::Plan& plan, bool optimised, std::string& out, std::string& error) = 0;
    virtual bool dump_asm(const ir::Plan& plan, std::string& out, std::string& error) = 0;

    /// Between compiles: gives LLVM's own machine code pages back to the system (about 50 MB
    /// resident after a compile; they fault back in from the page cache when the next compile
    /// runs). Compiled kernels are not affected. Returns the bytes released.
    virtual size_t release_idle_memory() = 0;

protected:
    JitCompiler() = default;
};

}  // namespace varpulis::jit
