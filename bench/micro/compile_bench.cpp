// JIT compile latency of every benchmark query (shared/bench/vpl/*.vpl):
//  * Compile/cold/<query>  a new JitCompiler (jit::load_jit: LLJIT, target machine) for each
//                          compile; only compile() is timed, the set-up is the `setup_ms`
//                          counter;
//  * Compile/warm/<query>  one JitCompiler; the version is released after each compile so the
//                          next one is not a cache hit.
//  * Compile/quick/<query> the same for the first stage of a two-stage compile
//                          (jit::CompileTier::Quick): the latency before compiled code runs.
// Both run after other compiles in the same process: the first compile of a process also pays
// for paging in libLLVM and LLVM's lazy initialisation, which `varpulis explain --engine jit`
// shows (see docs/performance.md, "JIT compile latency"). The level is -O 2 unless
// $VARPULIS_JIT_OPT says otherwise; $VARPULIS_JIT_THREADS sets JitOptions::compile_threads (a
// split compile's other threads are not in the CPU column: compare the Time column).

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "jit/jit_loader.hpp"

namespace {

namespace ir = varpulis::ir;
namespace jit = varpulis::jit;

const char* const kQueries[] = {"filter",   "aggregation",  "temporal", "ema",       "sequence",
                                "kleene",   "multi_sensor", "seq3",     "kleene_abc"};

jit::JitOptions options() {
    jit::JitOptions o;
    if (const char* level = std::getenv("VARPULIS_JIT_OPT")) o.opt_level = std::atoi(level);
    if (const char* threads = std::getenv("VARPULIS_JIT_THREADS")) o.compile_threads = std::atoi(threads);
    return o;
}

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "compile_bench: %s\n", why.c_str());
    std::exit(1);
}

std::unique_ptr<jit::JitCompiler> new_compiler() {
    std::string error;
    auto j = jit::load_jit(options(), error);
    if (!j) fail("no JIT: " + error);
    return j;
}

/// The lowered plan of a benchmark query.
std::unique_ptr<ir::Compilation> load_query(const std::string& name) {
    std::string path = std::string(VARPULIS_BENCH_VPL_DIR) + "/" + name + ".vpl";
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail("cannot open " + path);
    std::string text;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
    auto comp = ir::compile_source(path, text, ir::CompileStage::Lower);
    if (!comp->ok() || !comp->plan) fail(varpulis::frontend::render_all(comp->file, comp->diags));
    return comp;
}

void BM_CompileCold(benchmark::State& state, const char* query) {
    auto comp = load_query(query);
    double setup_ms = 0;
    for (auto _ : state) {
        state.PauseTiming();
        auto t0 = std::chrono::steady_clock::now();
        auto j = new_compiler();
        setup_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        state.ResumeTiming();
        std::string error;
        auto c = j->compile(*comp->plan, error);
        if (!c) return state.SkipWithError(error.c_str());
        benchmark::DoNotOptimize(c);
        state.PauseTiming();
        c.reset();
        j.reset();
        state.ResumeTiming();
    }
    state.counters["setup_ms"] = setup_ms / static_cast<double>(state.iterations());
}

void BM_CompileWarm(benchmark::State& state, const char* query, jit::CompileTier tier) {
    auto comp = load_query(query);
    static std::unique_ptr<jit::JitCompiler> j = new_compiler();
    for (auto _ : state) {
        std::string error;
        auto c = j->compile(*comp->plan, error, tier);
        if (!c) return state.SkipWithError(error.c_str());
        if (c->cache_hit) return state.SkipWithError("unexpected cache hit");
        j->release(c->version);
        benchmark::DoNotOptimize(c);
    }
}

[[maybe_unused]] const bool registered = [] {
    for (const char* q : kQueries) {
        benchmark::RegisterBenchmark((std::string("Compile/cold/") + q).c_str(), BM_CompileCold, q)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((std::string("Compile/warm/") + q).c_str(), BM_CompileWarm, q,
                                     jit::CompileTier::Full)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((std::string("Compile/quick/") + q).c_str(), BM_CompileWarm, q,
                                     jit::CompileTier::Quick)
            ->Unit(benchmark::kMillisecond);
    }
    return true;
}();

}  // namespace
