// `check`, `parse` and `explain`: the front half of the engine, no events.

#include <cstdio>

#include "cli/commands.hpp"
#include "cli/read_file.hpp"
#include "frontend/ast_json.hpp"
#include "ir/compiler.hpp"
#include "ir/printer.hpp"

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
constexpr VerbSpec kExplain{"explain", "varpulis explain [--dump-ir] FILE",
                            "Parses, checks and plans a VPL program and prints the execution plan:\n"
                            "per stream, its inputs, operators, predicates, windows, partitioning and\n"
                            "pattern states.\n"
                            "  --dump-ir   print the plan IR instead (schemas, slots, routes)\n"};

struct Parsed {
    std::string file;
    bool dump_ir = false;
    bool help = false;
};

/// Returns -1 when parsing succeeded, else the exit code to return.
int parse_args(const VerbSpec& verb, const Args& args, Parsed& out, bool allow_dump_ir) {
    for (const auto& a : args) {
        if (a == "--help" || a == "-h") {
            out.help = true;
        } else if (allow_dump_ir && a == "--dump-ir") {
            out.dump_ir = true;
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

int run_explain(const Args& args) {
    Parsed p;
    if (int rc = parse_args(kExplain, args, p, true); rc >= 0) return rc;
    auto c = compile(p.file, ir::CompileStage::Lower);
    if (!c || !c->ok()) return 1;
    std::string text = p.dump_ir ? ir::dump_ir(*c->plan) : ir::explain_plan(*c->plan);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
}

}  // namespace varpulis::cli
