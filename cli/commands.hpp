#pragma once
// The `varpulis` verbs. Each returns the process exit code: 0 success, 1 an error in the
// query or the events, 2 wrong command-line usage (FORMATS.md §3.6, §4).

#include <string>
#include <vector>

namespace varpulis::cli {

using Args = std::vector<std::string>;

int run_check(const Args& args);
int run_parse(const Args& args);
int run_explain(const Args& args);
int run_simulate(const Args& args);
int run_server(const Args& args);
// Client verbs against a running server (cli/client_commands.cpp).
int run_deploy(const Args& args);
int run_pipelines(const Args& args);
int run_undeploy(const Args& args);
int run_status(const Args& args);
int run_logs(const Args& args);

/// Prints `error: <message>` and the verb's usage line to stderr; returns 2.
int usage_error(const std::string& verb, const std::string& message);

}  // namespace varpulis::cli
