// Load generator for `varpulis server` (issue 5 benchmark): deploys a pipeline over the REST
// API, then either pushes `events-batch` requests as fast as the server takes them (ingest
// events/s) or sends single `events` requests open-loop at a fixed rate and reports latency
// percentiles. Loopback only; the run is bounded by --seconds.
//
// Latency is measured from each request's *scheduled* send time, so a stalled server shows up
// as latency instead of silently lowering the offered rate (no coordinated omission).
//
// A tenant may not exceed its events/s quota (500 000 for the enterprise tier, FORMATS §5.4),
// so measuring the server beyond that needs several tenants: --tenants N creates N enterprise
// tenants through the admin API (--api-key must be the server's admin key), deploys the
// pipeline in each and spreads the connections over them.

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/value_io.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string host = "127.0.0.1";
    std::string port = "9000";
    std::string api_key;
    std::string mode = "batch";   // batch | latency
    std::string program;          // VPL file deployed for the run
    std::string event_type = "StockTick";
    double seconds = 5;
    int connections = 2;
    int batch = 1000;
    double rate = 5000;           // latency mode: requests/s over all connections
    int tenants = 1;              // 1: the tenant of --api-key; N > 1: N new tenants
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "error: %s\n"
                 "usage: varpulis_load --program FILE [--host H] [--port P] [--api-key K]\n"
                 "                     [--mode batch|latency] [--seconds S] [--connections C]\n"
                 "                     [--batch N] [--rate R] [--event-type T] [--tenants N]\n",
                 why);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--host") o.host = next();
        else if (a == "--port") o.port = next();
        else if (a == "--api-key") o.api_key = next();
        else if (a == "--mode") o.mode = next();
        else if (a == "--program") o.program = next();
        else if (a == "--event-type") o.event_type = next();
        else if (a == "--seconds") o.seconds = std::atof(next().c_str());
        else if (a == "--connections") o.connections = std::atoi(next().c_str());
        else if (a == "--batch") o.batch = std::atoi(next().c_str());
        else if (a == "--rate") o.rate = std::atof(next().c_str());
        else if (a == "--tenants") o.tenants = std::atoi(next().c_str());
        else usage(("unknown option " + a).c_str());
    }
    if (o.program.empty()) usage("--program is required");
    if (o.mode != "batch" && o.mode != "latency") usage("--mode must be batch or latency");
    if (o.connections < 1 || o.batch < 1 || o.seconds <= 0 || o.rate <= 0 || o.tenants < 1)
        usage("counts must be positive");
    return o;
}

std::string json_string(const std::string& s) {
    std::string out;
    varpulis::runtime::append_json_string(out, s);
    return out;
}

/// One keep-alive HTTP/1.1 connection.
class Connection {
public:
    Connection(asio::io_context& io, const Options& o, std::string api_key) : o_(o), key_(std::move(api_key)), socket_(io) {
        tcp::resolver resolver(io);
        asio::connect(socket_, resolver.resolve(o.host, o.port));
        socket_.set_option(tcp::no_delay(true));
    }

    /// Status and body of one request.
    unsigned request(http::verb verb, const std::string& target, const std::string& body, std::string& out,
                     bool admin = false) {
        http::request<http::string_body> req{verb, target, 11};
        req.set(http::field::host, o_.host);
        req.set(http::field::content_type, "application/json");
        req.keep_alive(true);
        if (!key_.empty()) req.set(admin ? "X-Admin-Key" : "X-API-Key", key_);
        req.body() = body;
        req.prepare_payload();
        http::write(socket_, req);
        http::response_parser<http::string_body> parser;
        parser.body_limit(256 * 1024 * 1024);
        http::read(socket_, buffer_, parser);
        out = std::move(parser.get().body());
        return parser.get().result_int();
    }

private:
    const Options& o_;
    std::string key_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
};

/// The integer after `"name":` in a JSON body, or -1.
long long json_int(const std::string& body, const std::string& name) {
    auto at = body.find("\"" + name + "\"");
    if (at == std::string::npos) return -1;
    at = body.find(':', at);
    if (at == std::string::npos) return -1;
    return std::atoll(body.c_str() + at + 1);
}

std::string json_str(const std::string& body, const std::string& name) {
    auto at = body.find("\"" + name + "\"");
    if (at == std::string::npos) return {};
    at = body.find('"', body.find(':', at) + 1);
    auto end = body.find('"', at + 1);
    return at == std::string::npos || end == std::string::npos ? std::string() : body.substr(at + 1, end - at - 1);
}

/// A StockTick-shaped event (the `filter` workload): deterministic, about half above 50.
std::string event_json(const Options& o, uint64_t i) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "{\"event_type\":\"%s\",\"fields\":{\"symbol\":\"S%03u\",\"price\":%.2f,\"volume\":%u}}",
                  o.event_type.c_str(), static_cast<unsigned>(i % 100), 1.0 + static_cast<double>((i * 7919) % 10000) / 100.0,
                  static_cast<unsigned>(1 + (i * 31) % 1000));
    return buf;
}

double percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    size_t k = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(k, sorted.size() - 1)];
}

/// Where one connection sends: its tenant's key and the pipeline's endpoint.
struct Target {
    std::string key;
    std::string base;   // /api/v1/pipelines/{id}
};

int run_batch(const Options& o, const std::vector<Target>& targets) {
    std::string body = "{\"events\":[";
    for (int i = 0; i < o.batch; ++i) body += (i ? "," : "") + event_json(o, static_cast<uint64_t>(i));
    body += "]}";
    // 429s (a tenant over its events/s quota) are counted apart: the server answered correctly.
    std::atomic<uint64_t> accepted{0}, requests{0}, failures{0}, throttled{0};
    const auto deadline = Clock::now() + std::chrono::duration<double>(o.seconds);
    auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < o.connections; ++c) {
        threads.emplace_back([&, c] {
            try {
                const Target& t = targets[static_cast<size_t>(c) % targets.size()];
                const std::string target = t.base + "/events-batch";
                asio::io_context io;
                Connection conn(io, o, t.key);
                std::string out;
                while (Clock::now() < deadline) {
                    unsigned status = conn.request(http::verb::post, target, body, out);
                    requests.fetch_add(1);
                    if (status == 429) {
                        throttled.fetch_add(1);
                        continue;
                    }
                    long long n = json_int(out, "accepted");
                    if (status != 200 || n < 0) {
                        failures.fetch_add(1);
                        continue;
                    }
                    accepted.fetch_add(static_cast<uint64_t>(n));
                }
            } catch (const std::exception& e) {
                std::fprintf(stderr, "connection failed: %s\n", e.what());
                failures.fetch_add(1);
            }
        });
    }
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    double eps = static_cast<double>(accepted.load()) / secs;
    std::printf("{\"mode\":\"batch\",\"tenants\":%zu,\"connections\":%d,\"batch\":%d,\"seconds\":%.3f,\"requests\":%llu,"
                "\"throttled\":%llu,\"failures\":%llu,\"events\":%llu,\"events_per_second\":%.0f}\n",
                targets.size(), o.connections, o.batch, secs, static_cast<unsigned long long>(requests.load()),
                static_cast<unsigned long long>(throttled.load()), static_cast<unsigned long long>(failures.load()),
                static_cast<unsigned long long>(accepted.load()), eps);
    std::fprintf(stderr, "batch ingest: %.2f M events/s (%llu requests of %d events, %d connections, %.1f s)\n",
                 eps / 1e6, static_cast<unsigned long long>(requests.load()), o.batch, o.connections, secs);
    return failures.load() ? 1 : 0;
}

int run_latency(const Options& o, const std::vector<Target>& targets) {
    const double interval = static_cast<double>(o.connections) / o.rate;   // per connection
    const auto start = Clock::now() + std::chrono::milliseconds(50);
    const auto deadline = start + std::chrono::duration<double>(o.seconds);
    std::vector<std::vector<double>> lat(static_cast<size_t>(o.connections));
    std::atomic<uint64_t> failures{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < o.connections; ++c) {
        threads.emplace_back([&, c] {
            try {
                const Target& t = targets[static_cast<size_t>(c) % targets.size()];
                const std::string target = t.base + "/events";
                asio::io_context io;
                Connection conn(io, o, t.key);
                std::string out;
                auto& mine = lat[static_cast<size_t>(c)];
                // Connections are staggered so the offered load is even.
                auto offset = std::chrono::duration<double>(interval * c / o.connections);
                for (uint64_t i = 0;; ++i) {
                    auto due = start + std::chrono::duration_cast<Clock::duration>(
                                           offset + std::chrono::duration<double>(interval * static_cast<double>(i)));
                    if (due >= deadline) break;
                    std::this_thread::sleep_until(due);
                    unsigned status = conn.request(http::verb::post, target,
                                                   event_json(o, i * static_cast<uint64_t>(o.connections) + c), out);
                    auto done = Clock::now();
                    if (status != 200) failures.fetch_add(1);
                    mine.push_back(std::chrono::duration<double, std::milli>(done - due).count());
                }
            } catch (const std::exception& e) {
                std::fprintf(stderr, "connection failed: %s\n", e.what());
                failures.fetch_add(1);
            }
        });
    }
    for (auto& t : threads) t.join();
    std::vector<double> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    double achieved = static_cast<double>(all.size()) / o.seconds;
    std::printf("{\"mode\":\"latency\",\"connections\":%d,\"rate\":%.0f,\"achieved_rate\":%.0f,\"requests\":%zu,"
                "\"failures\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
                o.connections, o.rate, achieved, all.size(), static_cast<unsigned long long>(failures.load()),
                percentile(all, 50), percentile(all, 90), percentile(all, 99), percentile(all, 99.9),
                all.empty() ? 0.0 : all.back());
    std::fprintf(stderr, "single events at %.0f/s: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%zu requests)\n", o.rate,
                 percentile(all, 50), percentile(all, 99), all.empty() ? 0.0 : all.back(), all.size());
    return failures.load() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    std::ifstream in(o.program);
    if (!in) usage(("cannot read " + o.program).c_str());
    std::stringstream src;
    src << in.rdbuf();
    try {
        asio::io_context io;
        std::string out;
        // Tenants: the caller's own, or N new enterprise tenants made with the admin key.
        std::vector<std::string> keys, tenant_ids;
        Connection admin(io, o, o.api_key);
        if (o.tenants == 1) {
            keys.push_back(o.api_key);
        } else {
            for (int t = 0; t < o.tenants; ++t) {
                unsigned status = admin.request(http::verb::post, "/api/v1/tenants",
                                                "{\"name\":\"load-" + std::to_string(t) + "\",\"quota_tier\":\"enterprise\"}",
                                                out, true);
                std::string key = json_str(out, "api_key");
                if (status != 201 || key.empty()) {
                    std::fprintf(stderr, "error: creating tenant failed (%u): %s\n", status, out.c_str());
                    return 1;
                }
                keys.push_back(key);
                tenant_ids.push_back(json_str(out, "id"));
            }
        }
        std::vector<Target> targets;
        for (const std::string& key : keys) {
            Connection c(io, o, key);
            unsigned status = c.request(http::verb::post, "/api/v1/pipelines",
                                        "{\"name\":\"load\",\"source\":" + json_string(src.str()) + "}", out);
            std::string id = json_str(out, "id");
            if (status != 201 || id.empty()) {
                std::fprintf(stderr, "error: deploy failed (%u): %s\n", status, out.c_str());
                return 1;
            }
            targets.push_back({key, "/api/v1/pipelines/" + id});
        }
        int rc = o.mode == "batch" ? run_batch(o, targets) : run_latency(o, targets);
        for (const Target& t : targets) {
            Connection c(io, o, t.key);
            c.request(http::verb::delete_, t.base, "", out);
        }
        for (const std::string& id : tenant_ids) admin.request(http::verb::delete_, "/api/v1/tenants/" + id, "", out, true);
        return rc;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
