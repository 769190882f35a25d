#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.hpp"

namespace {

constexpr const char* kVersion = "0.1.0";

void print_help() {
    std::fputs(
        "varpulis - a complex event processing engine for the VPL language\n"
        "\n"
        "usage: varpulis <command> [options]\n"
        "\n"
        "commands:\n"
        "  check FILE      parse and check a VPL program; diagnostics on stderr\n"
        "  parse FILE      print the program's syntax tree as JSON\n"
        "  explain FILE    print the execution plan (--dump-ir for the plan IR; --engine jit\n"
        "                  for what is compiled; --dump-llvm, --dump-llvm-opt, --dump-asm)\n"
        "  simulate        run a program over an event file (--engine interp|jit|auto)\n"
        "  server          serve the REST API (pipelines, events, tenants, metrics)\n"
        "  deploy FILE     deploy a program to a server (--server URL --api-key KEY [--name N])\n"
        "  pipelines       list the pipelines deployed on a server\n"
        "  undeploy ID     delete a pipeline from a server\n"
        "  status          a server's health (and the tenant's usage with --api-key)\n"
        "  logs ID         follow a pipeline's output events (Server-Sent Events)\n"
        "\n"
        "Run `varpulis <command> --help` for the options of a command.\n"
        "Exit status: 0 success, 1 error in the program or events, 2 wrong usage.\n",
        stdout);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_help();
        return 2;
    }
    std::string verb = argv[1];
    varpulis::cli::Args args(argv + 2, argv + argc);
    if (verb == "--help" || verb == "-h" || verb == "help") {
        print_help();
        return 0;
    }
    if (verb == "--version" || verb == "-V") {
        std::printf("varpulis %s\n", kVersion);
        return 0;
    }
    if (verb == "check") return varpulis::cli::run_check(args);
    if (verb == "parse") return varpulis::cli::run_parse(args);
    if (verb == "explain") return varpulis::cli::run_explain(args);
    if (verb == "simulate") return varpulis::cli::run_simulate(args);
    if (verb == "server") return varpulis::cli::run_server(args);
    if (verb == "deploy") return varpulis::cli::run_deploy(args);
    if (verb == "pipelines") return varpulis::cli::run_pipelines(args);
    if (verb == "undeploy") return varpulis::cli::run_undeploy(args);
    if (verb == "status") return varpulis::cli::run_status(args);
    if (verb == "logs") return varpulis::cli::run_logs(args);
    std::fprintf(stderr, "error: unknown command `%s`\n", verb.c_str());
    print_help();
    return 2;
}
