// Compiled code against the interpreter, on the same plan IR:
//  * Expr/*    one expression evaluated per row, by runtime::eval and by its JIT projection
//              kernel (and, for conditions, by eval_condition and the filter kernel);
//  * Engine/*  whole operators through runtime::Engine on events read beforehand: a
//              filter+emit stream, a windowed aggregate, a two-step sequence, interpreted and
//              with the JIT kernels installed (Engine::install_kernels);
//  * EngineBatch/*  the same, on rows prepared beforehand (Engine::prepare, untimed) and run
//              by Engine::process_batch in batches of 4096 (type kernels where they apply).
// Items are rows (Expr) or input events (Engine); compare items_per_second within one run.
// Kernels are compiled at the default level (-O 2) unless $VARPULIS_JIT_OPT says otherwise.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "jit/jit_loader.hpp"
#include "runtime/abi.hpp"
#include "runtime/arena.hpp"
#include "runtime/engine.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/eval.hpp"
#include "runtime/event_reader.hpp"
#include "runtime/kernel_table.hpp"
#include "runtime/row.hpp"
#include "tests/support/batch_plan.hpp"
#include "tests/support/ir_builders.hpp"

namespace {

namespace ir = varpulis::ir;
namespace jit = varpulis::jit;
namespace rt = varpulis::runtime;
using namespace varpulis::test_support;

/// One JIT compiler for the whole process (loading the module and libLLVM is paid once).
jit::JitCompiler& compiler() {
    static std::unique_ptr<jit::JitCompiler> c = [] {
        jit::JitOptions options;
        if (const char* level = std::getenv("VARPULIS_JIT_OPT")) options.opt_level = std::atoi(level);
        std::string error;
        auto j = jit::load_jit(options, error);
        if (!j) {
            std::fprintf(stderr, "kernel_bench: no JIT: %s\n", error.c_str());
            std::exit(1);
        }
        return j;
    }();
    return *c;
}

// ---------------------------------------------------------------- expressions

constexpr size_t kRows = 4096;
constexpr size_t kWidth = 4;  // f0, f1, f2: floats; f3: int


/// Seeded rows: floats in [0, 100) (one in 16 absent), ints in [0, 16).
std::vector<rt::Value> make_rows() {
    std::mt19937_64 gen(42);
    std::uniform_real_distribution<double> f(0.0, 100.0);
    std::uniform_int_distribution<int64_t> i(0, 15);
    std::vector<rt::Value> v(kRows * kWidth);
    for (size_t r = 0; r < kRows; ++r) {
        for (size_t k = 0; k < 3; ++k) v[r * kWidth + k] = gen() % 16 == 0 ? rt::Value::absent() : rt::Value::floating(f(gen));
        v[r * kWidth + 3] = rt::Value::integer(i(gen));
    }
    return v;
}

ExprPtr fc(double v) { return lit_float(v); }

/// The expressions, by benchmark name.
ExprPtr expression(int which) {
    switch (which) {
        case 0:  // arithmetic: (f0 * 2.5 + f1) - f2 / 3.0
            return bin(BinaryOp::Sub, bin(BinaryOp::Add, bin(BinaryOp::Mul, field({0}), fc(2.5)), field({1})),
                       bin(BinaryOp::Div, field({2}), fc(3.0)));
        case 1:  // integer arithmetic: f3 * 3 + 7
            return bin(BinaryOp::Add, bin(BinaryOp::Mul, field({3}), lit_int(3)), lit_int(7));
        case 2:  // comparison: f0 > 50.0
            return bin(BinaryOp::Gt, field({0}), fc(50.0));
        case 3:  // connectives: f0 > 50.0 and f1 < 10.0 or not (f3 == 7)
            return or_(and_(bin(BinaryOp::Gt, field({0}), fc(50.0)), bin(BinaryOp::Lt, field({1}), fc(10.0))),
                       un(UnaryOp::Not, bin(BinaryOp::Eq, field({3}), lit_int(7))));
        default:  // fallback-heavy: abs(f0 - f1) + sqrt(f2) > 3.0 (both calls run in the interpreter)
            return bin(BinaryOp::Gt,
                       bin(BinaryOp::Add, call(Builtin::Abs, {bin(BinaryOp::Sub, field({0}), field({1}))}),
                           call(Builtin::Sqrt, {field({2})})),
                       fc(3.0));
    }
}
const char* const kExprNames[] = {"arith_float", "arith_int", "compare", "connectives", "fallback_calls"};

struct ExprCase {
    ir::Plan plan;
    std::vector<rt::Value> rows = make_rows();
    rt::Interner interner;
    rt::Arena heap;
    rt::Runtime runtime;
    std::shared_ptr<const jit::CompiledPlan> compiled;

    explicit ExprCase(int which, bool compile) : plan(batch_plan({expression(which)}, kWidth, 0)) {
        runtime.plan = &plan;
        runtime.heap = &heap;
        runtime.interner = &interner;
        if (!compile) return;
        std::string error;
        compiled = compiler().compile(plan, error);
        if (!compiled) {
            std::fprintf(stderr, "kernel_bench: compile failed: %s\n", error.c_str());
            std::exit(1);
        }
    }
    rt::Row row(size_t r) const { return rt::Row{&rows[r * kWidth], 0, 1000, nullptr, nullptr, 0}; }
    rt::EvalContext context(const rt::Row& row) {
        rt::EvalContext c;
        c.rt = &runtime;
        c.row = &row;
        c.now_ms = row.ts;
        c.has_now = true;
        return c;
    }
    rt::KernelContext kernel_context(rt::EvalContext& c) const {
        rt::KernelContext kc{};
        kc.eval = &c;
        kc.nodes = compiled->kernels->nodes.data();
        return kc;
    }
};

void BM_ExprInterp(benchmark::State& state) {
    ExprCase c(static_cast<int>(state.range(0)), false);
    const ir::Expr& e = *c.plan.streams[0].ops[0].exprs[0];
    for (auto _ : state) {
        for (size_t r = 0; r < kRows; ++r) {
            rt::Row row = c.row(r);
            rt::EvalContext ctx = c.context(row);
            rt::Value v = rt::eval(e, ctx);
            benchmark::DoNotOptimize(v);
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
    state.SetLabel(kExprNames[state.range(0)]);
}

void BM_ExprJit(benchmark::State& state) {
    ExprCase c(static_cast<int>(state.range(0)), true);
    rt::ProjectKernel project = c.compiled->kernels->ops[0][0].project;
    if (!project) return state.SkipWithError("projection not compiled");
    for (auto _ : state) {
        for (size_t r = 0; r < kRows; ++r) {
            rt::Row row = c.row(r);
            rt::EvalContext ctx = c.context(row);
            rt::KernelContext kc = c.kernel_context(ctx);
            rt::Value v;
            project(row.slots, &v, &kc);
            benchmark::DoNotOptimize(v);
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
    state.SetLabel(kExprNames[state.range(0)]);
}

void BM_CondInterp(benchmark::State& state) {
    ExprCase c(static_cast<int>(state.range(0)), false);
    const ir::Expr* e = c.plan.streams[1].ops[0].exprs[0].get();
    for (auto _ : state) {
        size_t kept = 0;
        for (size_t r = 0; r < kRows; ++r) {
            rt::Row row = c.row(r);
            rt::EvalContext ctx = c.context(row);
            kept += rt::eval_condition(e, ctx);
        }
        benchmark::DoNotOptimize(kept);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
    state.SetLabel(kExprNames[state.range(0)]);
}

void BM_CondJit(benchmark::State& state) {
    ExprCase c(static_cast<int>(state.range(0)), true);
    rt::FilterKernel filter = c.compiled->kernels->ops[1][0].filter;
    if (!filter) return state.SkipWithError("filter not compiled");
    for (auto _ : state) {
        size_t kept = 0;
        for (size_t r = 0; r < kRows; ++r) {
            rt::Row row = c.row(r);
            rt::EvalContext ctx = c.context(row);
            rt::KernelContext kc = c.kernel_context(ctx);
            kept += static_cast<size_t>(filter(row.slots, &kc));
        }
        benchmark::DoNotOptimize(kept);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
    state.SetLabel(kExprNames[state.range(0)]);
}

// Arithmetic results are projections; conditions are filters (comparisons and connectives).
BENCHMARK(BM_ExprInterp)->DenseRange(0, 4);
BENCHMARK(BM_ExprJit)->DenseRange(0, 4);
BENCHMARK(BM_CondInterp)->Arg(2)->Arg(3)->Arg(4);
BENCHMARK(BM_CondJit)->Arg(2)->Arg(3)->Arg(4);

// ---------------------------------------------------------------- whole operators

constexpr size_t kEvents = 100000;

/// .evt text of the workload, shaped like shared/bench/gen.py's (seeded).
std::string make_events(int workload) {
    std::mt19937_64 gen(7);
    std::string out;
    out.reserve(kEvents * 64);
    char line[160];
    for (size_t i = 0; i < kEvents; ++i) {
        const int sym = static_cast<int>(gen() % 100);
        const double price = 10.0 + static_cast<double>(gen() % 20000) / 100.0;
        switch (workload) {
            case 0:
                std::snprintf(line, sizeof line, "@%zu StockTick { symbol: \"SYM%02d\", price: %.2f, volume: %d }\n", i,
                              sym, price, static_cast<int>(gen() % 5000));
                break;
            case 1:
                std::snprintf(line, sizeof line,
                              "@%zu Trade { symbol: \"SYM%02d\", price: %.2f, volume: %.1f, ts: %zu }\n", i, sym, price,
                              static_cast<double>(gen() % 10000) / 10.0, i);
                break;
            default:  // A or B with one of 1000 ids, one event per ms
                std::snprintf(line, sizeof line, "@%zu %s { id: %d }\n", i, gen() % 2 ? "A" : "B",
                              static_cast<int>(gen() % 1000));
                break;
        }
        out += line;
    }
    return out;
}

const char* const kWorkloads[] = {"filter", "aggregation", "sequence"};

/// A benchmark workload (shared/bench/vpl) with its events read once.
struct EngineCase {
    std::unique_ptr<ir::Compilation> comp;
    rt::Interner interner;
    rt::Arena arena;
    std::vector<rt::InputEvent> events;
    std::shared_ptr<const jit::CompiledPlan> compiled;

    EngineCase(int workload, bool use_jit) {
        std::string path = std::string(VARPULIS_BENCH_VPL_DIR) + "/" + kWorkloads[workload] + ".vpl";
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (!f) fail("cannot open " + path);
        std::string text;
        char buf[4096];
        for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
        std::fclose(f);
        comp = ir::compile_source(path, text, ir::CompileStage::Lower);
        if (!comp->ok() || !comp->plan) fail(varpulis::frontend::render_all(comp->file, comp->diags));
        rt::EventReader reader(interner, arena);
        rt::ReadError err;
        if (!reader.read_text(make_events(workload), rt::EventFormat::Evt, events, err)) fail(err.message);
        if (!use_jit) return;
        std::string error;
        compiled = compiler().compile(*comp->plan, error);
        if (!compiled) fail(error);
    }
    [[noreturn]] static void fail(const std::string& why) {
        std::fprintf(stderr, "kernel_bench: %s\n", why.c_str());
        std::exit(1);
    }
};

void BM_Engine(benchmark::State& state) {
    const int workload = static_cast<int>(state.range(0));
    const bool use_jit = state.range(1) != 0;
    EngineCase c(workload, use_jit);
    uint64_t outputs = 0;
    for (auto _ : state) {
        state.PauseTiming();
        auto engine = std::make_unique<rt::Engine>(
            *c.comp->plan, c.interner, [&](const rt::OutputEvent&) { ++outputs; }, stderr);
        if (use_jit) engine->install_kernels(c.compiled->kernels);
        state.ResumeTiming();
        for (const auto& e : c.events) engine->process(e);
        engine->finish();
        state.PauseTiming();
        engine.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.events.size()));
    state.counters["outputs_per_run"] = static_cast<double>(outputs) / static_cast<double>(state.iterations());
    state.SetLabel(std::string(kWorkloads[workload]) + (use_jit ? "/jit" : "/interp"));
}

BENCHMARK(BM_Engine)
    ->ArgsProduct({{0, 1, 2}, {0, 1}})
    ->ArgNames({"workload", "jit"})
    ->Unit(benchmark::kMillisecond);

void BM_EngineBatch(benchmark::State& state) {
    const int workload = static_cast<int>(state.range(0));
    const bool use_jit = state.range(1) != 0;
    constexpr size_t kBatch = 4096;
    EngineCase c(workload, use_jit);
    uint64_t outputs = 0;
    uint64_t fused = 0;
    for (auto _ : state) {
        state.PauseTiming();
        auto engine = std::make_unique<rt::Engine>(
            *c.comp->plan, c.interner, [&](const rt::OutputEvent&) { ++outputs; }, stderr);
        if (use_jit) engine->install_kernels(c.compiled->kernels);
        std::vector<rt::EventBatch> batches;
        for (size_t i = 0; i < c.events.size(); i += kBatch) {
            batches.emplace_back();
            engine->prepare(c.events.data() + i, std::min(kBatch, c.events.size() - i), batches.back());
        }
        state.ResumeTiming();
        for (const auto& b : batches) engine->process_batch(b);
        engine->finish();
        state.PauseTiming();
        fused += engine->type_kernel_events();
        engine.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.events.size()));
    state.counters["outputs_per_run"] = static_cast<double>(outputs) / static_cast<double>(state.iterations());
    state.counters["type_kernel_events_per_run"] = static_cast<double>(fused) / static_cast<double>(state.iterations());
    state.SetLabel(std::string(kWorkloads[workload]) + (use_jit ? "/jit" : "/interp"));
}

BENCHMARK(BM_EngineBatch)
    ->ArgsProduct({{0, 1, 2}, {0, 1}})
    ->ArgNames({"workload", "jit"})
    ->Unit(benchmark::kMillisecond);

}  // namespace
