#include "jit/split_compile.hpp"

#include <llvm/ADT/SmallVector.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/MCContext.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/SmallVectorMemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
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

/// Object code for modules through one target machine's code-generator pipeline, built once:
/// `addPassesToEmitMC` schedules ~100 passes and costs ~2.2 M instructions per module (5 % of
/// ema's longest compile thread) when made per module as orc::SimpleCompiler does. The legacy
/// pass manager runs again on the next module as `llc -run-twice` runs it: its passes
/// initialise per module and finish it (the MC context and object streamer reset, machine
/// functions freed per function). Not thread-safe: one per thread and target machine.
class ObjectEmitter {
public:
    explicit ObjectEmitter(llvm::TargetMachine& tm) : tm_(tm), os_(buffer_) {}

    llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> emit(llvm::Module& m) {
        if (!ready_) {
            llvm::MCContext* ctx = nullptr;
            if (tm_.addPassesToEmitMC(pm_, ctx, os_))
                return llvm::make_error<llvm::StringError>("the target cannot emit object code",
                                                           llvm::inconvertibleErrorCode());
            ready_ = true;
        }
        buffer_.clear();
        pm_.run(m);
        // The stream keeps referring to buffer_, which the move leaves empty and valid.
        return std::make_unique<llvm::SmallVectorMemoryBuffer>(std::move(buffer_), m.getModuleIdentifier() + "-jitted-objectbuffer",
                                                               /*RequiresNullTerminator=*/false);
    }

private:
    llvm::TargetMachine& tm_;
    llvm::SmallVector<char, 0> buffer_;
    llvm::raw_svector_ostream os_;
    llvm::legacy::PassManager pm_;   // destroyed first: its passes refer to the stream
    bool ready_ = false;
};

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

/// Relative cost of compiling one function (IR pipeline and machine code), in units of about
/// 27 k instructions. Measured per kernel of the benchmark queries with `opt` and `llc` on the
/// same pipelines, past each module's fixed cost, per IR instruction before optimisation:
/// ~90-120 k instructions for type loops and other kernels at the configured level, ~25 k at
/// CodeGenOptLevel::None; `optnone` kernels on the configured level's generator fit ~29 k per
/// instruction plus ~120-160 k per basic block (the greedy register allocator's work grows
/// with the blocks: multi_sensor's join tail, 354 instructions in 70 blocks, costs ~18 M or
/// more, a join of 127 in 10 blocks ~5 M). The block weight is the larger end: with the
/// smaller one multi_sensor's parts came out 47.7 | 52.4 M, with this 49.6 | 50.5.
double cost(const llvm::Function& f, int level, bool quick) {
    const auto instructions = static_cast<double>(f.getInstructionCount());
    if (quick || f.hasFnAttribute(codegen::kFirstStageAttribute)) return 0.9 * instructions;
    if (level > 0 && level < 3 && f.hasFnAttribute(codegen::kFastCodegenAttribute))
        return 1.06 * instructions + 6 * static_cast<double>(f.size());
    return 4 * instructions;
}

/// What a module of their own costs the kernels for the CodeGenOptLevel::None generator in a
/// full compile, in the same units: the clone and a code-generator pipeline (~2.5 M).
constexpr double kColdModuleCost = 90;

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
            stats.names += (stats.names.empty() ? "" : " ") + f.getName().str();
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
        const bool none = quick || cold_module(*part);
        std::unique_ptr<ObjectEmitter>& emitter = none ? gen.quick_emitter : gen.full_emitter;
        if (!emitter) emitter = std::make_unique<ObjectEmitter>(none ? *gen.quick : *gen.full);
        auto obj = emitter->emit(*part);
        stats.object_ms += ms_since(t0);
        if (!obj) return obj.takeError();
        out.push_back(std::move(*obj));
    }
    return llvm::Error::success();
}

}  // namespace

CodeGenerators::CodeGenerators() = default;
CodeGenerators::CodeGenerators(CodeGenerators&&) noexcept = default;
CodeGenerators& CodeGenerators::operator=(CodeGenerators&&) noexcept = default;
CodeGenerators::~CodeGenerators() = default;

std::vector<int> assign_parts(const llvm::Module& m, int level, bool quick, int max_parts) {
    std::vector<double> costs;
    std::vector<bool> cold;
    bool local = false;
    for (const llvm::Function& f : m)
        if (!f.isDeclaration()) {
            costs.push_back(cost(f, level, quick));
            cold.push_back(!quick && f.hasFnAttribute(codegen::kFirstStageAttribute));
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
    // The kernels for the CodeGenOptLevel::None generator stay together, as one item: each
    // part that has some needs a module and a code-generator pipeline more (split_cold_kernels).
    double cold_cost = 0;
    for (size_t i = 0; i < costs.size(); ++i) cold_cost += cold[i] ? costs[i] : 0;
    if (cold_cost > 0) cold_cost += kColdModuleCost;
    bool cold_placed = cold_cost == 0;
    auto least_loaded = [&load] { return static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin()); };
    auto place_cold = [&] {
        const size_t p = least_loaded();
        for (size_t i = 0; i < part.size(); ++i)
            if (cold[i]) part[i] = static_cast<int>(p);
        load[p] += cold_cost;
        cold_placed = true;
    };
    for (size_t i : order) {
        if (cold[i]) continue;
        if (!cold_placed && cold_cost >= costs[i]) place_cold();
        const size_t p = least_loaded();
        part[i] = static_cast<int>(p);
        load[p] += costs[i];
    }
    if (!cold_placed) place_cold();
    // The calling thread links all parts once they are done: it gets the lightest part (part 0),
    // and parts are numbered by load, without gaps.
    std::vector<size_t> by_load(load.size());
    std::iota(by_load.begin(), by_load.end(), size_t{0});
    std::stable_sort(by_load.begin(), by_load.end(), [&](size_t a, size_t b) { return load[a] < load[b]; });
    std::vector<int> renumber(load.size(), -1);
    int next = 0;
    for (size_t p : by_load)
        if (std::find(part.begin(), part.end(), static_cast<int>(p)) != part.end()) renumber[p] = next++;
    for (int& p : part) p = renumber[static_cast<size_t>(p)];
    return part;
}

bool compile_objects(const ModuleFactory& factory, std::vector<CodeGenerators>& gens, int level, bool quick,
                     int fail_part, std::vector<std::unique_ptr<llvm::MemoryBuffer>>& objects,
                     std::vector<PartStats>& stats, std::string& error) {
    struct Result {
        std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects;
        PartStats stats;
        bool used = false;
        std::string error;
    };
    std::vector<Result> results(gens.size());
    // Every thread builds its own copy of the module (in its own context, so that no part waits
    // for another: a context is not thread-safe) and works out the same assignment from it, so
    // nothing but starting the threads is serial.
    auto run = [&](int p) {
        Result& r = results[static_cast<size_t>(p)];
        try {
            const auto t0 = Clock::now();
            llvm::LLVMContext ctx;
            std::unique_ptr<llvm::Module> m = factory(ctx, p);
            if (!m) {
                r.error = "code generation failed";
                return;
            }
            const std::vector<int> assigned = assign_parts(*m, level, quick, static_cast<int>(gens.size()));
            if (std::find(assigned.begin(), assigned.end(), p) == assigned.end()) return;  // nothing for this part
            r.used = true;
            PartOf part_of;
            size_t i = 0;
            for (const llvm::Function& f : *m)
                if (!f.isDeclaration()) part_of.emplace(f.getName().str(), assigned[i++]);
            keep_part(*m, part_of, p, r.stats);
            // Each part checks its own functions: together they check the whole module.
            std::string verify;
            llvm::raw_string_ostream vos(verify);
            if (llvm::verifyModule(*m, &vos)) {
                r.error = "code generation produced invalid LLVM IR: " + vos.str();
                return;
            }
            r.stats.codegen_ms = ms_since(t0);
            if (p == fail_part) {
                r.error = "part " + std::to_string(p) + " failed (test)";
                return;
            }
            if (auto err = emit_part(*m, gens[static_cast<size_t>(p)], level, quick, r.objects, r.stats))
                r.error = llvm::toString(std::move(err));
        } catch (const std::exception& e) {
            // Nothing may escape a compile thread: the compile fails as an LLVM error would.
            r.error = std::string("compile thread: ") + e.what();
        }
    };
    std::vector<std::thread> threads;
    size_t inline_from = gens.size();
    for (size_t p = 1; p < gens.size(); ++p) {
        try {
            threads.emplace_back(run, static_cast<int>(p));
        } catch (const std::system_error&) {
            // No thread to be had: the remaining parts compile on this one after the first.
            inline_from = p;
            break;
        }
    }
    run(0);
    for (size_t p = inline_from; p < gens.size(); ++p) run(static_cast<int>(p));
    for (std::thread& t : threads) t.join();

    stats.clear();
    for (Result& r : results) {
        if (!r.error.empty() && error.empty()) error = r.error;
        if (r.used) stats.push_back(r.stats);
    }
    if (!error.empty()) return false;
    for (Result& r : results)
        for (auto& o : r.objects) objects.push_back(std::move(o));
    return true;
}

}  // namespace varpulis::jit
