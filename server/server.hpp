#pragma once
// `varpulis server`: the REST API of FORMATS.md §5 over HTTP, with tenants, pipelines,
// persistence in RocksDB and Prometheus metrics. Nothing here includes Beast or RocksDB.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace varpulis::server {

struct ServerOptions {
    std::string bind = "127.0.0.1";
    uint16_t port = 9000;                 // 0: ephemeral (the banner shows the bound port)
    std::string api_key;                  // admin key; provisions tenant `default`
    std::string state_dir = "varpulis-state";
    double rate_limit = 0;                // requests/s per client IP, 0 = off
    bool metrics = false;                 // serve /metrics on metrics_port too
    uint16_t metrics_port = 9090;
    std::string workdir;
    std::string log_level = "info";
    std::string log_format = "text";
    double checkpoint_interval_s = 5;     // 0 = only on request and at shutdown
    int threads = 4;
    int sse_keepalive_ms = 15000;
    bool jit = true;                      // background JIT compile of deployed pipelines
    size_t arena_compact_bytes = 64u << 20;  // per pipeline; see PipelineHost::set_compaction_threshold
    std::string version = "0.1.0";
};

struct RouteDescription {
    std::string method;
    std::string path;   // with `{id}` parameters
    size_t body_limit = 0;
};

/// Owns every component. start() and stop() from one thread; the API runs on the listener's
/// threads and a checkpoint thread.
class Server {
public:
    explicit Server(ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Opens the state, restores tenants and pipelines (with their checkpoints), binds the
    /// ports and starts serving. False with `error` set when it cannot.
    bool start(std::string& error);
    uint16_t port() const;
    /// 0 when `metrics` is off.
    uint16_t metrics_port() const;
    /// Graceful: stop accepting, drain requests in flight, checkpoint every pipeline. Idempotent.
    void stop();
    /// Persists a checkpoint of every pipeline now.
    void checkpoint_all();
    /// The registered routes, for the OpenAPI test.
    std::vector<RouteDescription> routes() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

/// Runs a server until SIGINT or SIGTERM, printing the start-up banner on stdout. Returns the
/// process exit code.
int run_server(const ServerOptions& options);

}  // namespace varpulis::server
