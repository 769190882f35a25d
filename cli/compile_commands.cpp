// `check`, `parse` and `explain`: the front half of the engine, no events.

#include <cstdio>

#include "cli/commands.hpp"
#include "cli/read_file.hpp"
#include "frontend/ast_json.hpp"
#include "ir/compiler.hpp"
#include "ir/printer.hpp"
#include "jit/jit_loader.hpp"

namespace varpulis::cli {

namespace {

struct VerbSpec {
    const char* name;
    const char* usage;
    const char* help;
};

constexpr VerbSpec kCheck{"check", "varpulis check FILE",
                          "Parses and checks a VPL program. Prints `FILE: OK (N statements, W warnings)` on\n"
                          "success; errors and warnings go to stderr as FILE:LINE:COL diagnostics.\n"};
constexpr VerbSpec kParse{"parse", "varpulis parse FILE",
                          "Parses a VPL program and prints its syntax tree as one JSON document.\n"};
constexpr VerbSpec kExplain{"explain", "varpulis explain [--dump-ir | --engine jit | --dump-llvm ...] FILE",
                            "Parses, checks and plans a VPL program and prints the execution plan:\n"
                            "per stream, its inputs, operators, predicates, windows, partitioning and\n"
                            "pattern states.\n"
                            "  --dump-ir        print the plan IR instead (schemas, slots, routes)\n"
                            "  --engine jit     compile the plan too, and add per operator whether it runs\n"
                            "                   as machine code (compiled) or on the interpreter\n"
                            "                   (interpreted), with the compile time\n"
                            "  --dump-llvm      print the generated LLVM IR instead\n"
                            "  --dump-llvm-opt  print the LLVM IR after the optimisation pipeline\n"
                            "  --dump-asm       print the generated host assembly\n"
                            "  -O, --opt-level N  JIT optimisation level 0-3 (default 2)\n"};

enum class Dump { Plan, Ir, Llvm, LlvmOpt, Asm };

struct Parsed {
    std::string file;
    Dump dump = Dump::Plan;
    bool jit = false;   // explain --engine jit
    int opt_level = 2;
    bool help = false;
};

/// Returns -1 when parsing succeeded, else the exit code to return. `explain` takes the
/// dump and engine options.
int parse_args(const VerbSpec& verb, const Args& args, Parsed& out, bool explain) {
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            out.help = true;
        } else if (explain && a == "--dump-ir") {
            out.dump = Dump::Ir;
        } else if (explain && a == "--dump-llvm") {
            out.dump = Dump::Llvm;
        } else if (explain && a == "--dump-llvm-opt") {
            out.dump = Dump::LlvmOpt;
        } else if (explain && a == "--dump-asm") {
            out.dump = Dump::Asm;
        } else if (explain && a == "--engine") {
            if (i + 1 >= args.size()) return usage_error(verb.name, "--engine needs interp, jit or auto");
            const std::string& e = args[++i];
            if (e == "jit" || e == "auto") out.jit = true;
            else if (e == "interp") out.jit = false;
            else return usage_error(verb.name, "unknown engine `" + e + "` (available: interp, jit, auto)");
        } else if (explain && (a == "-O" || a == "--opt-level")) {
            const std::string n = i + 1 < args.size() ? args[++i] : "";
            if (n.size() != 1 || n[0] < '0' || n[0] > '3') return usage_error(verb.name, "--opt-level needs 0, 1, 2 or 3");
            out.opt_level = n[0] - '0';
        } else if (!a.empty() && a[0] == '-') {
            return usage_error(verb.name, "unknown option `" + a + "`");
        } else if (out.file.empty()) {
            out.file = a;
        } else {
            return usage_error(verb.name, "unexpected argument `" + a + "`");
        }
    }
    if (out.help) {
        std::printf("usage: %s\n\n%s", verb.usage, verb.help);
        return 0;
    }
    if (out.file.empty()) return usage_error(verb.name, "missing program FILE");
    return -1;
}


std::unique_ptr<ir::Compilation> compile(const std::string& path, ir::CompileStage stage) {
    std::string text;
    if (!read_text_file(path, text)) {
        std::fprintf(stderr, "%s: error: cannot read file\n", path.c_str());
        return nullptr;
    }
    auto c = ir::compile_source(path, std::move(text), stage);
    std::string diags = frontend::render_all(c->file, c->diags);
    std::fputs(diags.c_str(), stderr);
    return c;
}

}  // namespace

int usage_error(const std::string& verb, const std::string& message) {
    std::fprintf(stderr, "error: %s\nusage: varpulis %s FILE (see `varpulis %s --help`)\n", message.c_str(),
                 verb.c_str(), verb.c_str());
    return 2;
}

int run_check(const Args& args) {
    Parsed p;
    if (int rc = parse_args(kCheck, args, p, false); rc >= 0) return rc;
    auto c = compile(p.file, ir::CompileStage::Lower);
    if (!c || !c->ok()) return 1;
    std::printf("%s: OK (%zu statements, %zu warnings)\n", p.file.c_str(), c->program->statements.size(),
                c->diags.warning_count());
    return 0;
}

int run_parse(const Args& args) {
    Parsed p;
    if (int rc = parse_args(kParse, args, p, false); rc >= 0) return rc;
    auto c = compile(p.file, ir::CompileStage::Parse);
    if (!c || !c->ok()) return 1;
    std::string json = frontend::ast_to_json(*c->program, c->file);
    std::fwrite(json.data(), 1, json.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
}

namespace {

const char* op_kind_text(ir::OpKind k) {
    switch (k) {
        case ir::OpKind::Filter: return "filter";
        case ir::OpKind::Select: return "select";
        case ir::OpKind::Emit: return "emit";
        case ir::OpKind::Window: return "window";
        case ir::OpKind::Aggregate: return "aggregate";
        case ir::OpKind::Print: return "print";
        case ir::OpKind::Log: return "log";
        case ir::OpKind::To: return "to";
        case ir::OpKind::Distinct: return "distinct";
        case ir::OpKind::Limit: return "limit";
        case ir::OpKind::Process: return "process";
        case ir::OpKind::Sequence: return "sequence";
        case ir::OpKind::Join: return "join";
        case ir::OpKind::TrendAggregate: return "trend_aggregate";
        case ir::OpKind::PatternLambda: return "pattern";
        case ir::OpKind::Forecast: return "forecast";
        case ir::OpKind::Enrich: return "enrich";
    }
    return "operator";
}

/// The JIT section of `explain --engine jit`: per operator, compiled or interpreted. `first`,
/// when set, is the first stage of a two-stage compile (the engine runs it while `c`, the full
/// optimisation, compiles in the background): its time is the compile latency.
std::string jit_report(const ir::Plan& plan, const jit::CompiledPlan& c, const jit::CompiledPlan* first,
                       const jit::JitCompiler& j) {
    std::string out;
    char line[320];
    if (first)
        std::snprintf(line, sizeof line,
                      "jit: O%d, cpu %s, compiled in %.2f ms (+ %.2f ms in the background for the fully optimised "
                      "version; %zu IR nodes inline, %zu through the interpreter)\n",
                      j.options().opt_level, j.host_cpu().c_str(), first->compile_ms, c.compile_ms, c.inlined_nodes,
                      c.fallback_nodes);
    else
        std::snprintf(line, sizeof line,
                      "jit: O%d, cpu %s, compiled in %.2f ms (%zu IR nodes inline, %zu through the interpreter)\n",
                      j.options().opt_level, j.host_cpu().c_str(), c.compile_ms, c.inlined_nodes, c.fallback_nodes);
    out += line;
    size_t at = 0;
    for (size_t s = 0; s < plan.streams.size(); ++s) {
        bool fused = c.kernels && c.kernels->chain(s) != nullptr;
        out += "stream " + plan.streams[s].name + (fused ? ": fused into one compiled function\n" : "\n");
        for (size_t k = 0; k < plan.streams[s].ops.size(); ++k, ++at) {
            bool compiled = at < c.operators.size() && c.operators[at].compiled;
            size_t steps = 0;
            if (c.kernels && s < c.kernels->ops.size() && k < c.kernels->ops[s].size())
                for (auto* step : c.kernels->ops[s][k].steps) steps += step != nullptr;
            out += "    " + std::to_string(k) + " " + op_kind_text(plan.streams[s].ops[k].kind) + ": " +
                   (compiled ? "compiled" : "interpreted");
            const bool noted = at < c.operators.size() && !c.operators[at].note.empty();
            // A note (compiled trend aggregates) already says what of the operator is generated.
            if (steps && !noted) out += " (" + std::to_string(steps) + " step predicate" + (steps > 1 ? "s" : "") + " compiled)";
            if (noted) out += " (" + c.operators[at].note + ")";
            out += "\n";
        }
    }
    // Input types whose streams run in one generated loop over prepared rows (type kernels).
    if (c.kernels)
        for (size_t t = 0; t < plan.schemas.size() && t < plan.routes.size(); ++t) {
            if (!c.kernels->type_kernel(t)) continue;
            out += "type " + plan.schemas[t].name + ": one compiled loop over batches of rows, streams";
            for (int32_t sid : plan.routes[t]) {
                const auto& sp = plan.streams[static_cast<size_t>(sid)];
                out += " " + sp.name;
                // What generated code leaves to the engine (TypeRun::push).
                const int32_t k = static_cast<size_t>(sid) < c.handoff.size() ? c.handoff[static_cast<size_t>(sid)] : -1;
                if (k >= 0 && static_cast<size_t>(k) < sp.ops.size())
                    out += " (rows handed to its " + std::string(op_kind_text(sp.ops[static_cast<size_t>(k)].kind)) + ")";
                else if (k >= 0)
                    out += " (rows handed to its readers)";
            }
            out += "\n";
        }
    return out;
}

}  // namespace

int run_explain(const Args& args) {
    Parsed p;
    if (int rc = parse_args(kExplain, args, p, true); rc >= 0) return rc;
    auto c = compile(p.file, ir::CompileStage::Lower);
    if (!c || !c->ok()) return 1;
    const ir::Plan& plan = *c->plan;
    if (p.dump == Dump::Ir || (p.dump == Dump::Plan && !p.jit)) {
        std::string text = p.dump == Dump::Ir ? ir::dump_ir(plan) : ir::explain_plan(plan);
        std::fwrite(text.data(), 1, text.size(), stdout);
        return 0;
    }
    std::string error;
    jit::JitOptions jopts;
    jopts.opt_level = p.opt_level;
    auto compiler = jit::load_jit(jopts, error);
    std::string text;
    bool ok = compiler != nullptr;
    if (ok) {
        switch (p.dump) {
            case Dump::Llvm: ok = compiler->dump_llvm(plan, false, text, error); break;
            case Dump::LlvmOpt: ok = compiler->dump_llvm(plan, true, text, error); break;
            case Dump::Asm: ok = compiler->dump_asm(plan, text, error); break;
            default: {
                // As `simulate --engine jit` runs it: the quick first stage, then the full one.
                auto first = compiler->compile(plan, error, jit::CompileTier::Quick);
                auto compiled = first ? compiler->compile(plan, error) : nullptr;
                ok = compiled != nullptr;
                const bool two_stage = ok && first->tier == jit::CompileTier::Quick;
                if (ok)
                    text = ir::explain_plan(plan) +
                           jit_report(plan, *compiled, two_stage ? first.get() : nullptr, *compiler);
                break;
            }
        }
    }
    if (!ok) {
        std::fprintf(stderr, "error: jit: %s\n", error.c_str());
        return 1;
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
}

}  // namespace varpulis::cli
