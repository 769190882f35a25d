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
};

/// Compilation status of one operator.
struct OperatorStatus {
    int32_t stream = -1;
    int32_t op = -1;
    bool compiled = false;   // false: the interpreter runs it
};

/// A plan compiled to machine code. Holds its code alive through `kernels->code_owner`.
struct CompiledPlan {
    uint64_t version = 0;          // code version; an identical plan served from the cache shares it
    uint64_t ir_hash = 0;          // hash of the plan key (IR dump + codegen signature)
    bool cache_hit = false;
    double compile_ms = 0;         // codegen + optimisation + machine code, or the cache lookup
    size_t inlined_nodes = 0;      // IR nodes generated inline
    size_t fallback_nodes = 0;     // IR nodes that call the interpreter (vp_eval_fallback)
    std::vector<OperatorStatus> operators;   // every operator of every stream, in plan order
    /// Function pointers per stream per operator, the fallback-node table of the plan passed to
    /// compile() (which must outlive the table), and the code owner.
    std::shared_ptr<const runtime::KernelTable> kernels;
};

/// Owns an LLJIT instance targeting the host CPU. One JITDylib and ResourceTracker per code
/// version; an in-memory cache maps the plan key to its code version so recompiling an
/// identical plan is a lookup. Thread-safe: every method may be called from any thread (calls
/// are serialised). Machine code lives as long as some CompiledPlan/KernelTable refers to it
/// and the version is cached (see release()); it may outlive the JitCompiler.
class JitCompiler {
public:
    /// Sets up LLVM for the host; nullptr and `error` set when it cannot.
    static std::unique_ptr<JitCompiler> create(const JitOptions& options, std::string& error);
    ~JitCompiler();
    JitCompiler(const JitCompiler&) = delete;
    JitCompiler& operator=(const JitCompiler&) = delete;

    /// Compiles every compilable operator of `plan` (or takes it from the cache). nullptr and
    /// `error` set on an LLVM failure.
    std::shared_ptr<const CompiledPlan> compile(const ir::Plan& plan, std::string& error);

    /// Drops code version `version` from the cache: its machine code is freed as soon as the
    /// last CompiledPlan/KernelTable using it is gone. False if it was not cached.
    bool release(uint64_t version);

    /// Code versions whose machine code is currently loaded.
    size_t resident_versions() const;
    /// Code versions in the cache.
    size_t cached_versions() const;
    /// Host CPU name the code is generated for.
    std::string host_cpu() const;
    const JitOptions& options() const;

    /// The generated LLVM IR (before or after the optimisation pipeline), and the host
    /// assembly, for `explain --dump-llvm`, `--dump-llvm-opt`, `--dump-asm`.
    bool dump_llvm(const ir::Plan& plan, bool optimised, std::string& out, std::string& error);
    bool dump_asm(const ir::Plan& plan, std::string& out, std::string& error);

    struct Impl;

private:
    explicit JitCompiler(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace varpulis::jit
