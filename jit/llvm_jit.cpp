#include "jit/llvm_jit.hpp"

#include <llvm-c/Core.h>
#include <llvm/AsmParser/Parser.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "codegen/plan_codegen.hpp"
#include "jit/code_tiers.hpp"
#include "jit/resident_code.hpp"
#include "jit/split_compile.hpp"
#include "jit/twin_functions.hpp"
#include "runtime/abi.hpp"

namespace varpulis::jit {

namespace {

namespace orc = llvm::orc;

/// LLVM errors stop here: converted to our error text at the call site.
std::string take_message(llvm::Error err) { return llvm::toString(std::move(err)); }

uint64_t fnv1a64(const std::string& s) {
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

llvm::CodeGenOptLevel codegen_level(int level) {
    switch (level) {
        case 0: return llvm::CodeGenOptLevel::None;
        case 1: return llvm::CodeGenOptLevel::Less;
        case 3: return llvm::CodeGenOptLevel::Aggressive;
        default: return llvm::CodeGenOptLevel::Default;
    }
}

/// State shared by the compiler and every code version (which may outlive the compiler).
struct State {
    std::mutex mu;  // serialises every use of jit and gens
    JitOptions options;
    /// Per compile thread (split_compile.hpp), its target machines: the IR pipeline's cost
    /// model and the code generators of both tiers; gens[0]'s also --dump-asm's. Made from the
    /// target LLJIT adjusts for its linker, while `jit` is built, and they outlive it.
    std::vector<CodeGenerators> gens;
    std::unique_ptr<orc::LLJIT> jit;
    orc::JITDylib* runtime_jd = nullptr;
    std::string cpu;
    std::atomic<size_t> resident{0};
    uint64_t next_version = 1;
    /// $VARPULIS_JIT_TIMING set: each compile prints where its time went (stderr).
    bool timing = false;
};

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

/// One compiled module in its own JITDylib under its own ResourceTracker; destroying it frees
/// the machine code.
struct CodeVersion {
    std::shared_ptr<State> state;
    uint64_t version = 0;
    std::string key;
    orc::JITDylib* jd = nullptr;
    orc::ResourceTrackerSP tracker;
    std::vector<std::vector<runtime::OpKernels>> ops;
    std::vector<runtime::TypeKernel> types;
    std::vector<std::vector<runtime::FilterKernel>> merges;   // per stream, per merge entry
    size_t fallback_count = 0;
    uint32_t parts = 0;   // modules compiled concurrently

    CodeVersion() = default;
    CodeVersion(const CodeVersion&) = delete;
    CodeVersion& operator=(const CodeVersion&) = delete;
    ~CodeVersion() {
        if (!jd) return;
        std::lock_guard<std::mutex> lock(state->mu);
        // Failures here leave memory mapped but are not actionable: report and go on.
        if (auto err = tracker->remove())
            std::fprintf(stderr, "warning: jit: freeing code version %llu: %s\n",
                         static_cast<unsigned long long>(version), take_message(std::move(err)).c_str());
        if (auto err = state->jit->getExecutionSession().removeJITDylib(*jd))
            std::fprintf(stderr, "warning: jit: removing code version %llu: %s\n",
                         static_cast<unsigned long long>(version), take_message(std::move(err)).c_str());
        state->resident.fetch_sub(1);
    }
};

/// The names the engine looks kernels up by.
std::unordered_set<std::string> kernel_names(const std::vector<codegen::KernelSymbol>& syms) {
    std::unordered_set<std::string> names;
    for (const auto& sym : syms) names.insert(sym.name);
    return names;
}

/// A plan's module for dumps, in `ctx`, with the JIT's target; `compiled`: with its twin
/// kernels merged, as compiles make it (twin_functions.hpp).
std::unique_ptr<llvm::Module> module_for(State& st, const ir::Plan& plan, llvm::LLVMContext& ctx, bool compiled) {
    std::vector<codegen::KernelSymbol> syms;
    auto m = codegen::build_module(plan, ctx, syms);
    m->setDataLayout(st.jit->getDataLayout());
    m->setTargetTriple(st.jit->getTargetTriple().str());
    if (compiled) merge_twin_functions(*m, kernel_names(syms));
    return m;
}

/// The plan's module, or null with `error` set when code generation produced invalid IR.
std::unique_ptr<llvm::Module> verified_module(State& st, const ir::Plan& plan, llvm::LLVMContext& ctx,
                                              bool compiled, std::string& error) {
    auto m = module_for(st, plan, ctx, compiled);
    std::string verify;
    llvm::raw_string_ostream vos(verify);
    if (llvm::verifyModule(*m, &vos)) {
        error = "code generation produced invalid LLVM IR: " + vos.str();
        return nullptr;
    }
    return m;
}

/// Kernel-shaped code: the kind dispatch of a comparison, an int/float fast path, a helper call
/// through stack temporaries, field loads and stores of a projection. See warm_up().
constexpr const char* kWarmupModule = R"IR(
define void @vp_warmup_helper(i32 %op, ptr %a, ptr %b, ptr %ctx, ptr %out) noinline nounwind {
  store i8 0, ptr %out, align 8
  ret void
}

define i32 @vp_warmup_filter(ptr %slots, ptr %ctx) nounwind {
entry:
  %tmp = alloca [16 x i8], align 8
  %res = alloca [16 x i8], align 8
  %kind = load i8, ptr %slots, align 8
  %pp = getelementptr inbounds i8, ptr %slots, i64 8
  %payload = load i64, ptr %pp, align 8
  %k32 = zext i8 %kind to i32
  %sh = shl i32 %k32, 4
  %key = or i32 %sh, 4
  switch i32 %key, label %slow [
    i32 51, label %int
    i32 68, label %float
  ]
int:
  %ci = icmp sgt i64 %payload, 50
  br label %done
float:
  %d = bitcast i64 %payload to double
  %t = call double @llvm.trunc.f64(double %d)
  %s = call i64 @llvm.fptosi.sat.i64.f64(double %t)
  %f = sitofp i64 %s to double
  %q = fdiv double %f, 3.0
  %cf = fcmp ogt double %q, 5.0e+01
  br label %done
slow:
  store i8 %kind, ptr %tmp, align 8
  %tp = getelementptr inbounds i8, ptr %tmp, i64 8
  store i64 %payload, ptr %tp, align 8
  call void @vp_warmup_helper(i32 7, ptr %tmp, ptr %tmp, ptr %ctx, ptr %res)
  %rk = load i8, ptr %res, align 8
  %cs = icmp eq i8 %rk, 2
  br label %done
done:
  %c = phi i1 [ %ci, %int ], [ %cf, %float ], [ %cs, %slow ]
  %r = zext i1 %c to i32
  ret i32 %r
}

define void @vp_warmup_project(ptr %in, ptr %out, ptr %ctx) nounwind {
entry:
  %kind = load i8, ptr %in, align 8
  %present = icmp ne i8 %kind, 0
  %pp = getelementptr inbounds i8, ptr %in, i64 8
  %payload = load i64, ptr %pp, align 8
  %v = select i1 %present, i64 %payload, i64 0
  %d = sitofp i64 %v to double
  %m = fmul double %d, 2.5
  %a = fadd double %m, 1.0
  %bits = bitcast double %a to i64
  store i8 4, ptr %out, align 8
  %op = getelementptr inbounds i8, ptr %out, i64 8
  store i64 %bits, ptr %op, align 8
  %o2 = getelementptr inbounds i8, ptr %out, i64 16
  %w = mul i64 %v, 3
  store i8 3, ptr %o2, align 8
  %o2p = getelementptr inbounds i8, ptr %o2, i64 8
  store i64 %w, ptr %o2p, align 8
  ret void
}

declare double @llvm.trunc.f64(double)
declare i64 @llvm.fptosi.sat.i64.f64(double)
)IR";

/// Compiles kWarmupModule once through the whole path (IR pipeline, the code generators of the
/// full or the quick tier of every compile thread, linker) and frees it again. The first module
/// a process compiles pays for paging in the parts of libLLVM that code generation runs and for
/// LLVM's lazily built tables (some per target machine): about as much as compiling a benchmark
/// query. Paying it here, when the JIT is created (on the compile thread in `--engine auto`),
/// keeps it out of the first plan's compile latency. A failure only means the first compile
/// stays slower, so it is ignored.
void warm_up(State& st, bool quick) {
    auto parse = [&st](llvm::LLVMContext& ctx, int) {
        llvm::SMDiagnostic diag;
        std::unique_ptr<llvm::Module> m = llvm::parseAssemblyString(kWarmupModule, diag, ctx);
        if (m) {
            m->setDataLayout(st.jit->getDataLayout());
            m->setTargetTriple(st.jit->getTargetTriple().str());
        }
        return m;
    };
    std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects;
    std::vector<PartStats> stats;
    std::string error;
    if (!compile_objects(parse, st.gens, st.options.opt_level, quick, -1, objects, stats, error)) return;
    auto jd = st.jit->createJITDylib(quick ? "varpulis_warmup_quick" : "varpulis_warmup");
    if (!jd) return llvm::consumeError(jd.takeError());
    bool added = true;
    for (auto& object : objects)
        if (auto err = st.jit->addObjectFile(*jd, std::move(object))) {
            llvm::consumeError(std::move(err));
            added = false;
        }
    if (added)
        for (const char* name : {"vp_warmup_filter", "vp_warmup_project"})
            if (auto addr = st.jit->lookup(*jd, name); !addr) llvm::consumeError(addr.takeError());
    llvm::consumeError(st.jit->getExecutionSession().removeJITDylib(*jd));
}

class LlvmJit final : public JitCompiler {
public:
    explicit LlvmJit(std::shared_ptr<State> st) : state(std::move(st)) {}
    ~LlvmJit() override;

    using JitCompiler::compile;
    std::shared_ptr<const CompiledPlan> compile(const ir::Plan& plan, std::string& error, CompileTier tier) override;
    bool release(uint64_t version) override;
    size_t resident_versions() const override { return state->resident.load(); }
    size_t cached_versions() const override;
    std::string host_cpu() const override { return state->cpu; }
    const JitOptions& options() const override { return state->options; }
    bool dump_llvm(const ir::Plan& plan, bool optimised, std::string& out, std::string& error) override;
    bool dump_asm(const ir::Plan& plan, std::string& out, std::string& error) override;
    size_t release_idle_memory() override {
        // Under the compile lock: no compile runs LLVM code meanwhile (one would only fault it
        // back in, but the count returned would be meaningless).
        std::lock_guard<std::mutex> lock(state->mu);
        return release_library_code_pages(reinterpret_cast<const void*>(&LLVMGetGlobalContext));
    }

private:
    std::shared_ptr<State> state;
    mutable std::mutex cache_mu;
    std::unordered_multimap<uint64_t, std::shared_ptr<CodeVersion>> cache;  // by key hash

    /// Code generation and linking; called with state->mu held. On failure everything it made
    /// is removed again.
    std::shared_ptr<CodeVersion> build(const ir::Plan& plan, std::string key, bool quick, std::string& error) {
        State& st = *state;
        auto v = std::make_shared<CodeVersion>();
        v->state = state;
        v->version = st.next_version++;
        v->key = std::move(key);
        v->fallback_count = codegen::fallback_nodes(plan).size();
        v->ops.resize(plan.streams.size());
        v->merges.resize(plan.streams.size());
        for (size_t s = 0; s < plan.streams.size(); ++s) v->ops[s].resize(plan.streams[s].ops.size());

        // Code generation, optimisation and machine code, in parts on as many threads
        // (split_compile.hpp): each builds its own copy of the module from the plan.
        const auto t_parts = Clock::now();
        std::vector<codegen::KernelSymbol> syms;
        std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects;
        std::vector<PartStats> parts;
        TwinStats twins;
        auto factory = [&st, &plan, &syms, &twins](llvm::LLVMContext& c, int part) {
            std::vector<codegen::KernelSymbol> others;
            std::vector<codegen::KernelSymbol>& own = part == 0 ? syms : others;
            auto m = codegen::build_module(plan, c, own);
            m->setDataLayout(st.jit->getDataLayout());
            m->setTargetTriple(st.jit->getTargetTriple().str());
            const TwinStats merged = merge_twin_functions(*m, kernel_names(own));
            if (part == 0) twins = merged;
            return m;
        };
        if (!compile_objects(factory, st.gens, st.options.opt_level, quick, st.options.fail_part, objects, parts, error))
            return nullptr;
        const double parts_ms = ms_since(t_parts);
        v->parts = static_cast<uint32_t>(parts.size());
        if (syms.empty()) return v;  // nothing to compile: no JITDylib

        const auto t_link = Clock::now();
        auto jd = st.jit->createJITDylib("varpulis_v" + std::to_string(v->version));
        if (!jd) {
            error = take_message(jd.takeError());
            return nullptr;
        }
        jd->addToLinkOrder(*st.runtime_jd);
        orc::ResourceTrackerSP tracker = jd->createResourceTracker();
        auto discard = [&]() {
            llvm::consumeError(tracker->remove());
            llvm::consumeError(st.jit->getExecutionSession().removeJITDylib(*jd));
        };
        for (auto& object : objects) {
            if (auto err = st.jit->addObjectFile(tracker, std::move(object))) {
                error = take_message(std::move(err));
                discard();
                return nullptr;
            }
        }
        // The first lookup links the objects.
        for (const auto& sym : syms) {
            auto addr = st.jit->lookup(*jd, sym.name);
            if (!addr) {
                error = take_message(addr.takeError());
                discard();
                return nullptr;
            }
            if (sym.kind == codegen::KernelKind::Merge) {
                auto& m = v->merges[static_cast<size_t>(sym.stream)];
                if (m.size() <= static_cast<size_t>(sym.step)) m.resize(static_cast<size_t>(sym.step) + 1, nullptr);
                m[static_cast<size_t>(sym.step)] = addr->toPtr<runtime::FilterKernel>();
                continue;
            }
            if (sym.kind == codegen::KernelKind::Type) {
                auto schema = static_cast<size_t>(sym.schema);
                if (v->types.size() <= schema) v->types.resize(schema + 1, nullptr);
                v->types[schema] = addr->toPtr<runtime::TypeKernel>();
                continue;
            }
            auto& k = v->ops[static_cast<size_t>(sym.stream)][static_cast<size_t>(sym.op)];
            switch (sym.kind) {
                case codegen::KernelKind::Filter: k.filter = addr->toPtr<runtime::FilterKernel>(); break;
                case codegen::KernelKind::Project: k.project = addr->toPtr<runtime::ProjectKernel>(); break;
                case codegen::KernelKind::Chain: k.chain = addr->toPtr<runtime::ChainKernel>(); break;
                case codegen::KernelKind::Effect: k.effect = addr->toPtr<runtime::EffectKernel>(); break;
                case codegen::KernelKind::Fold: k.fold = addr->toPtr<runtime::FoldKernel>(); break;
                case codegen::KernelKind::Trend: k.trend = addr->toPtr<runtime::TrendKernel>(); break;
                case codegen::KernelKind::Type:
                case codegen::KernelKind::Merge: break;
                case codegen::KernelKind::Join: {
                    auto src = static_cast<size_t>(sym.step);
                    if (k.joins.size() <= src) k.joins.resize(src + 1, nullptr);
                    k.joins[src] = addr->toPtr<runtime::JoinKernel>();
                    break;
                }
                case codegen::KernelKind::Trans: k.trans = addr->toPtr<runtime::SeqTransKernel>(); break;
                case codegen::KernelKind::Scan: k.scan = addr->toPtr<runtime::SeqScanKernel>(); break;
                case codegen::KernelKind::TransTest: {
                    auto step = static_cast<size_t>(sym.step);
                    if (k.tests.size() <= step) k.tests.resize(step + 1, nullptr);
                    k.tests[step] = addr->toPtr<runtime::SeqTransKernel>();
                    break;
                }
                case codegen::KernelKind::Step: {
                    auto step = static_cast<size_t>(sym.step);
                    if (k.steps.size() <= step) k.steps.resize(step + 1, nullptr);
                    k.steps[step] = addr->toPtr<runtime::FilterKernel>();
                    break;
                }
            }
        }
        v->jd = &*jd;
        v->tracker = tracker;
        st.resident.fetch_add(1);
        if (st.timing) {
            size_t functions = 0, instructions = 0;
            for (const PartStats& p : parts) {
                functions += p.functions;
                instructions += p.instructions;
            }
            std::fprintf(stderr,
                         "jit timing: %zu functions, %zu IR instructions; %zu part%s %.2f ms, link %.2f ms\n",
                         functions, instructions, parts.size(), parts.size() == 1 ? "" : "s", parts_ms,
                         ms_since(t_link));
            for (size_t i = 0; i < parts.size(); ++i)
                std::fprintf(stderr,
                             "jit timing:   part %zu: %zu functions, %zu IR instructions; codegen %.2f ms, optimise "
                             "%.2f ms, machine code %.2f ms (%s)\n",
                             i, parts[i].functions, parts[i].instructions, parts[i].codegen_ms, parts[i].optimise_ms,
                             parts[i].object_ms, parts[i].names.c_str());
            if (twins.merged)
                std::fprintf(stderr, "jit timing:   twins: %zu kernels run %zu shared bodies (%zu constant arguments)\n",
                             twins.merged, twins.shared, twins.parameters);
        }
        return v;
    }
};

LlvmJit::~LlvmJit() {
    // Cached versions nobody else holds are freed here (without holding any of our locks).
    std::unordered_multimap<uint64_t, std::shared_ptr<CodeVersion>> drop;
    {
        std::lock_guard<std::mutex> lock(cache_mu);
        drop.swap(cache);
    }
}

}  // namespace

std::unique_ptr<JitCompiler> create_llvm_jit(const JitOptions& options, const runtime::AbiSymbol* syms,
                                             size_t count, std::string& error) {
    static std::once_flag once;
    static bool native_ok = false;
    std::call_once(once, [] {
        native_ok = !llvm::InitializeNativeTarget() && !llvm::InitializeNativeTargetAsmPrinter() &&
                    !llvm::InitializeNativeTargetAsmParser();
    });
    if (!native_ok) {
        error = "LLVM has no code generator for this host";
        return nullptr;
    }
    auto st = std::make_shared<State>();
    st->options = options;
    const char* timing = std::getenv("VARPULIS_JIT_TIMING");
    st->timing = timing && *timing && std::string(timing) != "0";
    if (st->options.opt_level < 0) st->options.opt_level = 0;
    if (st->options.opt_level > 3) st->options.opt_level = 3;
    // More compile threads than cores would only take turns.
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    st->gens.resize(static_cast<size_t>(std::clamp(st->options.compile_threads, 1, cores)));

    auto jtmb = orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) {
        error = take_message(jtmb.takeError());
        return nullptr;
    }
    jtmb->setCodeGenOptLevel(codegen_level(st->options.opt_level));
    st->cpu = jtmb->getCPU();
    // The target machine is made from the builder as LLJIT adjusts it for its linker (code
    // model, relocation model), so the IR pipeline's cost model, the machine code and
    // --dump-asm all come from the same one. The inactive platform: kernels have no static
    // initialisers, and the generic IR platform would add a support module to every code
    // version's JITDylib.
    State* raw = st.get();
    auto jit = orc::LLJITBuilder()
                   .setJITTargetMachineBuilder(*jtmb)
                   .setCompileFunctionCreator(
                       [raw](orc::JITTargetMachineBuilder adjusted)
                           -> llvm::Expected<std::unique_ptr<orc::IRCompileLayer::IRCompiler>> {
                           // Every compile thread gets target machines of its own. LLJIT's IR
                           // compile layer is not used (modules arrive as objects), but LLJIT
                           // wants a compiler.
                           for (CodeGenerators& g : raw->gens) {
                               adjusted.setCodeGenOptLevel(codegen_level(raw->options.opt_level));
                               auto full = adjusted.createTargetMachine();
                               if (!full) return full.takeError();
                               g.full = std::move(*full);
                               adjusted.setCodeGenOptLevel(llvm::CodeGenOptLevel::None);
                               auto quick = adjusted.createTargetMachine();
                               if (!quick) return quick.takeError();
                               g.quick = std::move(*quick);
                           }
                           return std::make_unique<orc::SimpleCompiler>(*raw->gens[0].full);
                       })
                   .setPlatformSetUp(orc::setUpInactivePlatform)
                   .create();
    if (!jit) {
        error = take_message(jit.takeError());
        return nullptr;
    }
    st->jit = std::move(*jit);

    // The runtime helpers, by address: executables need not export them.
    auto& rjd = st->jit->getExecutionSession().createBareJITDylib("varpulis_runtime");
    orc::SymbolMap helpers;
    for (size_t i = 0; i < count; ++i)
        helpers[st->jit->mangleAndIntern(syms[i].name)] = orc::ExecutorSymbolDef(
            orc::ExecutorAddr::fromPtr(syms[i].address), llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
    if (auto err = rjd.define(orc::absoluteSymbols(std::move(helpers)))) {
        error = take_message(std::move(err));
        return nullptr;
    }
    st->runtime_jd = &rjd;

    static std::once_flag warmed;
    // Both code generators: the quick tier's (fast instruction selection and register
    // allocation) has lazily built state of its own.
    std::call_once(warmed, [&st] {
        warm_up(*st, false);
        if (st->options.opt_level > 0 && st->options.opt_level < 3) warm_up(*st, true);
    });

    return std::make_unique<LlvmJit>(std::move(st));
}

namespace {

std::shared_ptr<const CompiledPlan> LlvmJit::compile(const ir::Plan& plan, std::string& error, CompileTier tier) {
    auto t0 = std::chrono::steady_clock::now();
    // The quick tier only exists between O0 and O3 (those treat every kernel alike already).
    const int level = state->options.opt_level;
    if (level <= 0 || level >= 3) tier = CompileTier::Full;
    const bool quick = tier == CompileTier::Quick;
    std::string key = codegen::plan_key(plan);
    if (quick) key += "\n;; quick tier\n";
    const uint64_t hash = fnv1a64(key);

    std::shared_ptr<CodeVersion> code;
    bool hit = false;
    {
        std::lock_guard<std::mutex> lock(cache_mu);
        auto [lo, hi] = cache.equal_range(hash);
        for (auto it = lo; it != hi; ++it)
            if (it->second->key == key) code = it->second;
    }
    if (code) {
        hit = true;
    } else {
        {
            std::lock_guard<std::mutex> lock(state->mu);
            code = build(plan, key, quick, error);
        }
        if (!code) return nullptr;
        std::lock_guard<std::mutex> lock(cache_mu);
        cache.emplace(hash, code);
    }

    auto table = std::make_shared<runtime::KernelTable>();
    table->ops = code->ops;
    table->types = code->types;
    table->merges = code->merges;
    table->nodes = codegen::fallback_nodes(plan);
    table->constants = codegen::string_constants(plan);
    table->emits = codegen::emit_statements(plan);
    if (table->nodes.size() != code->fallback_count) {
        error = "internal error: fallback table does not match the compiled code";
        return nullptr;
    }
    table->code_owner = code;

    auto out = std::make_shared<CompiledPlan>();
    out->version = code->version;
    out->ir_hash = hash;
    out->cache_hit = hit;
    out->tier = tier;
    out->parts = code->parts;
    codegen::CodegenStats stats = codegen::codegen_stats(plan);
    out->inlined_nodes = stats.inlined;
    out->fallback_nodes = stats.fallbacks;
    // A window a type kernel feeds is compiled too when its accumulator updates are generated
    // into the loop. A window that keeps the rows the loop hands it (sliding, count_distinct
    // ...) is compiled when its aggregate is folded by a kernel of its own (Fold), as are the
    // other operators a type kernel hands rows to (sequences, joins, ...).
    std::vector<int> fed_window(plan.streams.size(), -1);
    out->handoff.assign(plan.streams.size(), -1);
    for (size_t t = 0; t < plan.schemas.size() && t < plan.routes.size(); ++t)
        if (table->type_kernel(t))
            for (int32_t sid : plan.routes[t]) {
                const ir::StreamPlan& sp = plan.streams[static_cast<size_t>(sid)];
                const int k = codegen::type_loop_handoff(plan, sp);
                if (k < 0) continue;
                if (codegen::type_loop_accumulates(plan, sp)) fed_window[static_cast<size_t>(sid)] = k;
                if (!codegen::type_loop_accumulates(plan, sp)) out->handoff[static_cast<size_t>(sid)] = k;
            }
    for (size_t s = 0; s < plan.streams.size(); ++s) {
        // A chain (the whole stream's, or a tail from an operator before) runs the operator's
        // code: it has no kernel of its own then.
        bool chained = false;
        for (size_t k = 0; k < plan.streams[s].ops.size(); ++k) {
            const ir::Operator& op = plan.streams[s].ops[k];
            chained = chained || (k < table->ops[s].size() && table->ops[s][k].chain);
            bool compiled = table->find(s, k) != nullptr || chained || fed_window[s] == static_cast<int>(k);
            std::string note = codegen::effect_note(plan, op);
            if (op.kind == ir::OpKind::Join && compiled) note = codegen::join_note(plan, op);
            if (op.kind == ir::OpKind::Sequence && compiled) note = codegen::seq_note(plan, op);
            if (op.kind == ir::OpKind::Window && table->ops[s].size() > k && table->ops[s][k].fold)
                note = codegen::fold_note();
            if (op.kind == ir::OpKind::TrendAggregate && op.trend && table->ops[s][k].trend) {
                // No step predicates: the whole per-event GRETA update is a kernel.
                note = codegen::trend_note(op);
            } else if (op.kind == ir::OpKind::TrendAggregate && op.trend) {
                // Compiled when it has step predicates and every one runs as a kernel: what
                // remains is the GRETA arithmetic, runtime code like an aggregate's
                // accumulators.
                const auto& steps = table->ops[s][k].steps;
                bool any = false, all = true;
                for (size_t i = 0; i < op.trend->nfa.steps.size(); ++i) {
                    if (!op.trend->nfa.steps[i].predicate) continue;
                    any = true;
                    if (i >= steps.size() || !steps[i]) all = false;
                }
                compiled = any && all;
                if (compiled) note = codegen::trend_note(op);
            }
            out->operators.push_back({static_cast<int32_t>(s), static_cast<int32_t>(k), compiled, std::move(note)});
        }
    }
    out->kernels = std::move(table);
    out->compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

bool LlvmJit::release(uint64_t version) {
    std::shared_ptr<CodeVersion> dropped;  // destroyed after the lock is released
    std::lock_guard<std::mutex> lock(cache_mu);
    for (auto it = cache.begin(); it != cache.end(); ++it) {
        if (it->second->version == version) {
            dropped = std::move(it->second);
            cache.erase(it);
            return true;
        }
    }
    return false;
}

size_t LlvmJit::cached_versions() const {
    std::lock_guard<std::mutex> lock(cache_mu);
    return cache.size();
}

bool LlvmJit::dump_llvm(const ir::Plan& plan, bool optimised, std::string& out, std::string& error) {
    std::lock_guard<std::mutex> lock(state->mu);
    llvm::LLVMContext ctx;
    auto m = verified_module(*state, plan, ctx, optimised, error);
    if (!m) return false;
    if (optimised) {
        optimise(*m, state->gens[0].full.get(), state->options.opt_level, false);
        apply_codegen_tiers(*m, state->options.opt_level);
    }
    out.clear();
    llvm::raw_string_ostream os(out);
    m->print(os, nullptr);
    os.flush();
    return true;
}

bool LlvmJit::dump_asm(const ir::Plan& plan, std::string& out, std::string& error) {
    std::lock_guard<std::mutex> lock(state->mu);
    llvm::LLVMContext ctx;
    auto m = verified_module(*state, plan, ctx, true, error);
    if (!m) return false;
    // As a full compile makes it: the kernels off the per-event path from their own module,
    // by the CodeGenOptLevel::None code generator, after the others.
    std::unique_ptr<llvm::Module> cold = split_cold_kernels(*m, state->options.opt_level);
    out.clear();
    for (llvm::Module* part : {m.get(), cold.get()}) {
        if (!part) continue;
        optimise(*part, state->gens[0].full.get(), state->options.opt_level, false);
        apply_codegen_tiers(*part, state->options.opt_level);
        llvm::TargetMachine& tm = cold_module(*part) ? *state->gens[0].quick : *state->gens[0].full;
        llvm::SmallString<0> buf;
        llvm::raw_svector_ostream os(buf);
        llvm::legacy::PassManager pm;
        if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile)) {
            error = "the target cannot emit assembly";
            return false;
        }
        pm.run(*part);
        out.append(buf.begin(), buf.end());
    }
    return true;
}

}  // namespace

}  // namespace varpulis::jit
