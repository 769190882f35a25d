#include "jit/split_compile.hpp"

#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "codegen/plan_codegen.hpp"
#include "jit/code_tiers.hpp"

namespace varpulis::jit {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

/// Relative code-generation cost of one function, in IR instructions weighted by the tier that
/// compiles it: a kernel at the configured level (the greedy register allocator and the
/// machine passes) costs about twice an `optnone` one at the same level per instruction, and
/// that about three times one the CodeGenOptLevel::None generator compiles (llc per kernel,
/// multi_sensor: a type loop ~126 k machine-code instructions per IR instruction, its join tail
/// with `optnone` ~60 k, the first stage ~20 k). The constant stands for the per-function work
/// of the ~150 machine passes.
double cost(const llvm::Function& f, int level, bool quick) {
    double per_instruction = 6;
    if (quick || f.hasFnAttribute(codegen::kFirstStageAttribute)) per_instruction = 1;
    else if (level > 0 && level < 3 && f.hasFnAttribute(codegen::kFastCodegenAttribute)) per_instruction = 3;
    return per_instruction * (static_cast<double>(f.getInstructionCount()) + 20);
}

using PartOf = std::unordered_map<std::string, int>;

/// Deletes the bodies of the definitions that belong to other parts (their declarations stay
/// for the calls into them); returns the function and IR instruction counts kept.
void keep_part(llvm::Module& m, const PartOf& part_of, int part, PartStats& stats) {
    std::vector<llvm::Function*> drop;
    for (llvm::Function& f : m) {
        if (f.isDeclaration()) continue;
        auto it = part_of.find(f.getName().str());
        if (it != part_of.end() && it->second == part) {
            ++stats.functions;
            stats.instructions += f.getInstructionCount();
        } else {
            drop.push_back(&f);
        }
    }
    for (llvm::Function* f : drop) f->deleteBody();
}

/// One part through the IR pipeline and its tier's code generators: the kernels the batch path
/// never calls from a module of their own at CodeGenOptLevel::None (split_cold_kernels), the
/// rest at the configured level, or everything at None in the quick tier.
llvm::Error emit_part(llvm::Module& m, CodeGenerators& gen, int level, bool quick,
                      std::vector<std::unique_ptr<llvm::MemoryBuffer>>& out, PartStats& stats) {
    std::unique_ptr<llvm::Module> cold = quick ? nullptr : split_cold_kernels(m, level);
    for (llvm::Module* part : {&m, cold.get()}) {
        if (!part) continue;
        auto t0 = Clock::now();
        optimise(*part, gen.full.get(), level, quick);
        apply_codegen_tiers(*part, level);
        stats.optimise_ms += ms_since(t0);
        t0 = Clock::now();
        llvm::TargetMachine& tm = quick || cold_module(*part) ? *gen.quick : *gen.full;
        auto obj = llvm::orc::SimpleCompiler(tm)(*part);
        stats.object_ms += ms_since(t0);
        if (!obj) return obj.takeError();
        out.push_back(std::move(*obj));
    }
    return llvm::Error::success();
}

}  // namespace

std::vector<int> assign_parts(const llvm::Module& m, int level, bool quick, int max_parts) {
    std::vector<double> costs;
    bool local = false;
    for (const llvm::Function& f : m)
        if (!f.isDeclaration()) {
            costs.push_back(cost(f, level, quick));
            local = local || f.hasLocalLinkage();
        }
    std::vector<int> part(costs.size(), 0);
    // O3 runs module passes (the inliner, IPO) that see every kernel at once: one part. A
    // function with internal linkage could not be called from another part's object.
    if (max_parts <= 1 || level >= 3 || local || costs.size() < 2) return part;
    std::vector<size_t> order(costs.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return costs[a] > costs[b]; });
    std::vector<double> load(static_cast<size_t>(std::min<size_t>(static_cast<size_t>(max_parts), costs.size())), 0);
    for (size_t i : order) {
        const size_t p = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
        part[i] = static_cast<int>(p);
        load[p] += costs[i];
    }
    return part;
}

bool compile_objects(std::unique_ptr<llvm::Module> m, const ModuleFactory& factory, std::vector<CodeGenerators>& gens,
                     int level, bool quick, int fail_part, std::vector<std::unique_ptr<llvm::MemoryBuffer>>& objects,
                     std::vector<PartStats>& stats, std::string& error) {
    const std::vector<int> assigned = assign_parts(*m, level, quick, static_cast<int>(gens.size()));
    int parts = 1;
    PartOf part_of;
    {
        size_t i = 0;
        for (const llvm::Function& f : *m)
            if (!f.isDeclaration()) {
                part_of.emplace(f.getName().str(), assigned[i]);
                parts = std::max(parts, assigned[i++] + 1);
            }
    }
    struct Result {
        std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects;
        PartStats stats;
        std::string error;
    };
    std::vector<Result> results(static_cast<size_t>(parts));
    auto run = [&](int p, llvm::Module& mod) {
        Result& r = results[static_cast<size_t>(p)];
        keep_part(mod, part_of, p, r.stats);
        if (p == fail_part) {
            r.error = "part " + std::to_string(p) + " failed (test)";
            return;
        }
        if (auto err = emit_part(mod, gens[static_cast<size_t>(p)], level, quick, r.objects, r.stats))
            r.error = llvm::toString(std::move(err));
    };
    // A worker's own copy of the module: in its own context, so that neither part waits for
    // the other (a context is not thread-safe; ORC serialises the modules sharing one).
    auto worker = [&](int p) {
        Result& r = results[static_cast<size_t>(p)];
        try {
            const auto t0 = Clock::now();
            llvm::LLVMContext ctx;
            std::unique_ptr<llvm::Module> mod = factory(ctx);
            r.stats.codegen_ms = ms_since(t0);
            if (!mod) r.error = "code generation failed on a compile thread";
            else run(p, *mod);
        } catch (const std::exception& e) {
            // Nothing may escape a thread; the compile fails as an LLVM error would.
            r.error = std::string("compile thread: ") + e.what();
        }
    };
    std::vector<std::thread> threads;
    int inline_from = parts;
    for (int p = 1; p < parts; ++p) {
        try {
            threads.emplace_back(worker, p);
        } catch (const std::system_error&) {
            // No thread to be had: the remaining parts compile on this one after the first.
            inline_from = p;
            break;
        }
    }
    run(0, *m);
    m.reset();
    for (int p = inline_from; p < parts; ++p) worker(p);
    for (std::thread& t : threads) t.join();

    stats.clear();
    for (Result& r : results) {
        if (!r.error.empty() && error.empty()) error = r.error;
        stats.push_back(r.stats);
    }
    if (!error.empty()) return false;
    for (Result& r : results)
        for (auto& o : r.objects) objects.push_back(std::move(o));
    return true;
}

}  // namespace varpulis::jit
