// Client verbs against a running `varpulis server`: deploy, pipelines, undeploy, status, logs.

#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/read_file.hpp"
#include "server/http_client.hpp"

namespace varpulis::cli {

namespace json = boost::json;

namespace {

struct ClientOptions {
    std::string server = "http://127.0.0.1:9000";
    std::string api_key;
    std::string name;
    std::vector<std::string> positional;
};

/// `error: message` and the verb's usage line on stderr; exit status 2.
int client_usage_error(const char* usage, const std::string& message) {
    std::fprintf(stderr, "error: %s\nusage: %s\n", message.c_str(), usage);
    return 2;
}

/// Common options; returns -1 to go on, or an exit code.
int parse_client_options(const std::string& verb, const Args& args, ClientOptions& o, const char* usage) {
    auto usage_error = [usage](const std::string&, const std::string& m) { return client_usage_error(usage, m); };
    if (const char* s = std::getenv("VARPULIS_SERVER")) o.server = s;
    if (const char* k = std::getenv("VARPULIS_API_KEY")) o.api_key = k;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            std::printf("usage: %s\n\n  -s, --server URL   server base URL (default http://127.0.0.1:9000, $VARPULIS_SERVER)\n"
                        "  -k, --api-key KEY  tenant API key ($VARPULIS_API_KEY)\n",
                        usage);
            return 0;
        } else if (a == "--server" || a == "-s") {
            if (i + 1 >= args.size()) return usage_error(verb, "--server needs a URL");
            o.server = args[++i];
        } else if (a == "--api-key" || a == "-k") {
            if (i + 1 >= args.size()) return usage_error(verb, "--api-key needs a key");
            o.api_key = args[++i];
        } else if ((a == "--name" || a == "-n") && verb == "deploy") {
            if (i + 1 >= args.size()) return usage_error(verb, "--name needs a name");
            o.name = args[++i];
        } else if (!a.empty() && a[0] == '-') {
            return usage_error(verb, "unknown option `" + a + "`");
        } else {
            o.positional.push_back(a);
        }
    }
    return -1;
}

struct Connection {
    std::string host, base;
    uint16_t port = 0;
};

bool connect_to(const char* usage, const ClientOptions& o, Connection& c, int& code) {
    if (!server::parse_http_url(o.server, c.host, c.port, c.base)) {
        code = client_usage_error(usage, "--server must be an http://HOST:PORT URL");
        return false;
    }
    return true;
}

std::vector<std::pair<std::string, std::string>> auth(const ClientOptions& o) {
    std::vector<std::pair<std::string, std::string>> h;
    if (!o.api_key.empty()) h.emplace_back("X-API-Key", o.api_key);
    return h;
}

/// Prints `Error: ...` for a failed request; returns 1.
int report_failure(const server::ClientResponse& r) {
    if (r.status == 0) {
        std::fprintf(stderr, "Error: %s\n", r.error.c_str());
        return 1;
    }
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (!ec && v.is_object() && v.as_object().contains("error") && v.as_object().at("error").is_string())
        std::fprintf(stderr, "Error: %s (HTTP %d)\n", std::string(v.as_object().at("error").as_string()).c_str(), r.status);
    else
        std::fprintf(stderr, "Error: HTTP %d %s\n", r.status, r.body.c_str());
    return 1;
}

std::string text_of(const json::value& v) {
    if (v.is_string()) return std::string(v.as_string());
    return json::serialize(v);
}

}  // namespace

int run_deploy(const Args& args) {
    ClientOptions o;
    const char* usage = "varpulis deploy --server URL --api-key KEY FILE [--name NAME]";
    if (int rc = parse_client_options("deploy", args, o, usage); rc >= 0) return rc;
    if (o.positional.size() != 1) return client_usage_error(usage, "expected one VPL file");
    Connection c;
    int code = 0;
    if (!connect_to(usage, o, c, code)) return code;
    std::string source;
    if (!read_text_file(o.positional[0], source)) {
        std::fprintf(stderr, "%s: error: cannot read file\n", o.positional[0].c_str());
        return 1;
    }
    std::string name = o.name.empty() ? std::filesystem::path(o.positional[0]).stem().string() : o.name;
    json::object body;
    body["name"] = name;
    body["source"] = source;
    server::HttpClient client(c.host, c.port);
    auto r = client.request("POST", c.base + "/api/v1/pipelines", json::serialize(body), auth(o));
    if (r.status != 201) {
        boost::system::error_code ec;
        json::value v = json::parse(r.body, ec);
        if (!ec && v.is_object() && v.as_object().contains("line")) {
            // Same shape as `varpulis check`: FILE:L:C: error: message.
            std::string msg = text_of(v.as_object().at("error"));
            const std::string prefix = "parse error: ";
            if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
            std::fprintf(stderr, "%s:%s: error: %s\n", o.positional[0].c_str(),
                         msg.substr(0, msg.find(": ")).c_str(), msg.substr(msg.find(": ") + 2).c_str());
            return 1;
        }
        return report_failure(r);
    }
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    std::string id = !ec && v.is_object() && v.as_object().contains("id") ? text_of(v.as_object().at("id")) : "?";
    std::printf("Deployed pipeline %s (id %s)\n", name.c_str(), id.c_str());
    return 0;
}

int run_pipelines(const Args& args) {
    ClientOptions o;
    const char* usage = "varpulis pipelines --server URL --api-key KEY";
    if (int rc = parse_client_options("pipelines", args, o, usage); rc >= 0) return rc;
    if (!o.positional.empty()) return client_usage_error(usage, "unexpected argument `" + o.positional[0] + "`");
    Connection c;
    int code = 0;
    if (!connect_to(usage, o, c, code)) return code;
    server::HttpClient client(c.host, c.port);
    auto r = client.request("GET", c.base + "/api/v1/pipelines?limit=1000", {}, auth(o));
    if (r.status != 200) return report_failure(r);
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("pipelines") || !v.as_object().at("pipelines").is_array()) {
        std::fprintf(stderr, "Error: unexpected response: %s\n", r.body.c_str());
        return 1;
    }
    const auto& items = v.as_object().at("pipelines").as_array();
    std::printf("%-36s  %-24s  %-10s  %s\n", "ID", "NAME", "STATUS", "UPTIME");
    for (const auto& item : items) {
        if (!item.is_object()) continue;
        const auto& p = item.as_object();
        auto get = [&](const char* k) { return p.contains(k) ? text_of(p.at(k)) : std::string(); };
        std::printf("%-36s  %-24s  %-10s  %ss\n", get("id").c_str(), get("name").c_str(), get("status").c_str(),
                    get("uptime_secs").c_str());
    }
    std::printf("%zu pipeline%s\n", items.size(), items.size() == 1 ? "" : "s");
    return 0;
}

int run_undeploy(const Args& args) {
    ClientOptions o;
    const char* usage = "varpulis undeploy --server URL --api-key KEY ID";
    if (int rc = parse_client_options("undeploy", args, o, usage); rc >= 0) return rc;
    if (o.positional.size() != 1) return client_usage_error(usage, "expected one pipeline id");
    Connection c;
    int code = 0;
    if (!connect_to(usage, o, c, code)) return code;
    server::HttpClient client(c.host, c.port);
    auto r = client.request("DELETE", c.base + "/api/v1/pipelines/" + o.positional[0], {}, auth(o));
    if (r.status != 200) return report_failure(r);
    std::printf("Undeployed pipeline %s\n", o.positional[0].c_str());
    return 0;
}

int run_status(const Args& args) {
    ClientOptions o;
    const char* usage = "varpulis status --server URL [--api-key KEY]";
    if (int rc = parse_client_options("status", args, o, usage); rc >= 0) return rc;
    Connection c;
    int code = 0;
    if (!connect_to(usage, o, c, code)) return code;
    server::HttpClient client(c.host, c.port);
    auto h = client.request("GET", c.base + "/health");
    if (h.status != 200) return report_failure(h);
    std::printf("server: %s\nhealth: %s\n", o.server.c_str(), h.body.c_str());
    if (!o.api_key.empty()) {
        auto u = client.request("GET", c.base + "/api/v1/usage", {}, auth(o));
        if (u.status != 200) return report_failure(u);
        std::printf("usage:  %s\n", u.body.c_str());
    }
    return 0;
}

int run_logs(const Args& args) {
    ClientOptions o;
    const char* usage = "varpulis logs --server URL --api-key KEY ID";
    if (int rc = parse_client_options("logs", args, o, usage); rc >= 0) return rc;
    if (o.positional.size() != 1) return client_usage_error(usage, "expected one pipeline id");
    Connection c;
    int code = 0;
    if (!connect_to(usage, o, c, code)) return code;
    server::HttpClient client(c.host, c.port);
    std::string pending, error, failure_body;
    int status = client.stream(
        c.base + "/api/v1/pipelines/" + o.positional[0] + "/logs", auth(o),
        [&](int st, std::string_view data) {
            if (st != 200) {
                failure_body.append(data);
                return true;
            }
            pending.append(data);
            // One SSE message per blank-line-terminated block; print its data lines.
            size_t end;
            while ((end = pending.find("\n\n")) != std::string::npos) {
                std::string block = pending.substr(0, end);
                pending.erase(0, end + 2);
                bool warning = block.rfind("event: warning", 0) == 0;
                size_t pos = 0;
                while (pos < block.size()) {
                    size_t nl = block.find('\n', pos);
                    std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
                    pos = nl == std::string::npos ? block.size() : nl + 1;
                    if (line.rfind("data: ", 0) != 0) continue;
                    std::fprintf(warning ? stderr : stdout, "%s%s\n", warning ? "warning: " : "", line.c_str() + 6);
                }
                std::fflush(stdout);
            }
            return true;
        },
        std::chrono::hours(24 * 365), error);
    if (status == 0) {
        std::fprintf(stderr, "Error: %s\n", error.c_str());
        return 1;
    }
    if (status != 200) {
        server::ClientResponse r;
        r.status = status;
        r.body = failure_body;
        return report_failure(r);
    }
    return 0;
}

}  // namespace varpulis::cli
