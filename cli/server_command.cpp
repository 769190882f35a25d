// `varpulis server`: the REST API (FORMATS.md §3.5, §5); everything lives in server/.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/commands.hpp"
#include "server/server.hpp"

namespace varpulis::cli {

namespace {

constexpr const char* kUsage = "varpulis server [options]";
constexpr const char* kHelp =
    "Serves the REST API of Varpulis (pipelines, events, tenants; FORMATS.md §5).\n"
    "  -p, --port N                 port (default 9000; 0 picks a free one, shown in the banner)\n"
    "      --bind ADDR              address to bind (default 127.0.0.1)\n"
    "      --api-key KEY            admin key (also $VARPULIS_API_KEY); provisions tenant `default`\n"
    "      --state-dir DIR          RocksDB state: tenants, pipelines, checkpoints\n"
    "                               (default ./varpulis-state)\n"
    "      --rate-limit N           requests per second per client IP (0 = off, default)\n"
    "      --metrics                serve Prometheus metrics on --metrics-port too\n"
    "      --metrics-port N         (default 9090)\n"
    "      --workdir DIR            working directory (relative paths resolve from it)\n"
    "      --log-level L            trace, debug, info (default), warn, error, off\n"
    "      --log-format F           text (default) or json\n"
    "      --checkpoint-interval S  seconds between checkpoints of changed pipelines (default 5;\n"
    "                               0 = only on request and at shutdown)\n"
    "      --threads N              HTTP worker threads (default 4)\n"
    "      --no-jit                 interpret only (no background JIT compilation)\n";

bool parse_number(const std::string& s, double lo, double hi, double& out) {
    if (s.empty()) return false;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (*end != '\0' || !(v >= lo && v <= hi)) return false;
    out = v;
    return true;
}

}  // namespace

int run_server(const Args& args) {
    auto usage_error = [](const char*, const std::string& message) {
        std::fprintf(stderr, "error: %s\nusage: %s (see `varpulis server --help`)\n", message.c_str(), kUsage);
        return 2;
    };
    server::ServerOptions o;
    if (const char* k = std::getenv("VARPULIS_API_KEY")) o.api_key = k;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](std::string& dst) -> bool {
            if (i + 1 >= args.size()) return false;
            dst = args[++i];
            return true;
        };
        std::string v;
        double n = 0;
        if (a == "--help" || a == "-h") {
            std::printf("usage: %s\n\n%s", kUsage, kHelp);
            return 0;
        } else if (a == "-p" || a == "--port") {
            if (!value(v) || !parse_number(v, 0, 65535, n)) return usage_error("server", "--port needs 0-65535");
            o.port = static_cast<uint16_t>(n);
        } else if (a == "--bind") {
            if (!value(o.bind)) return usage_error("server", "--bind needs an address");
        } else if (a == "--api-key") {
            if (!value(o.api_key)) return usage_error("server", "--api-key needs a key");
        } else if (a == "--state-dir") {
            if (!value(o.state_dir)) return usage_error("server", "--state-dir needs a directory");
        } else if (a == "--rate-limit") {
            if (!value(v) || !parse_number(v, 0, 1e9, n)) return usage_error("server", "--rate-limit needs a number");
            o.rate_limit = n;
        } else if (a == "--metrics") {
            o.metrics = true;
        } else if (a == "--metrics-port") {
            if (!value(v) || !parse_number(v, 0, 65535, n)) return usage_error("server", "--metrics-port needs 0-65535");
            o.metrics_port = static_cast<uint16_t>(n);
        } else if (a == "--workdir") {
            if (!value(o.workdir)) return usage_error("server", "--workdir needs a directory");
        } else if (a == "--log-level") {
            if (!value(o.log_level)) return usage_error("server", "--log-level needs a level");
        } else if (a == "--log-format") {
            if (!value(o.log_format) || (o.log_format != "text" && o.log_format != "json"))
                return usage_error("server", "--log-format needs text or json");
        } else if (a == "--checkpoint-interval") {
            if (!value(v) || !parse_number(v, 0, 86400, n))
                return usage_error("server", "--checkpoint-interval needs seconds");
            o.checkpoint_interval_s = n;
        } else if (a == "--threads") {
            if (!value(v) || !parse_number(v, 1, 256, n)) return usage_error("server", "--threads needs 1-256");
            o.threads = static_cast<int>(n);
        } else if (a == "--no-jit") {
            o.jit = false;
        } else if (a == "--sse-keepalive-ms") {
            if (!value(v) || !parse_number(v, 10, 3600000, n)) return usage_error("server", "--sse-keepalive-ms needs ms");
            o.sse_keepalive_ms = static_cast<int>(n);
        } else if (a == "--tls-cert" || a == "--tls-key") {
            return usage_error("server", "TLS is not supported; put a TLS proxy in front");
        } else {
            return usage_error("server", "unknown option `" + a + "`");
        }
    }
    return server::run_server(o);
}

}  // namespace varpulis::cli
