#include "server/server.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "server/api_routes.hpp"
#include "server/server_context.hpp"
#include "server/http_listener.hpp"
#include "server/jit_service.hpp"
#include "server/logging.hpp"
#include "server/pipeline_host.hpp"
#include "server/rate_limiter.hpp"
#include "server/router.hpp"

namespace varpulis::server {

int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void ServerContext::persist_tenant(const Tenant& t) {
    if (!store || t.deleted()) return;
    TenantRecord r;
    r.id = t.id();
    r.name = t.name();
    r.api_key = t.api_key();
    r.tier = tier_name(t.tier());
    r.seq = t.seq();
    r.created_ms = t.created_ms();
    r.events_processed = t.usage()->events_processed.load();
    r.output_events_emitted = t.usage()->output_events_emitted.load();
    std::string error;
    if (!store->put_tenant(r, error)) log_error("cannot persist tenant", {{"tenant_id", t.id()}, {"error", error}});
    if (t.deleted()) forget_tenant(t);
}

void ServerContext::persist_pipeline(const PipelineHost& p) {
    if (!store || p.deleted()) return;
    PipelineRecord r;
    r.id = p.id();
    r.tenant_id = p.tenant_id();
    r.name = p.name();
    r.source = p.source();
    r.status = "running";
    r.seq = p.seq();
    r.created_ms = p.created_ms();
    std::string error;
    if (!store->put_pipeline(r, error)) log_error("cannot persist pipeline", {{"pipeline_id", p.id()}, {"error", error}});
    if (p.deleted()) forget_pipeline(p.id());
}

bool ServerContext::persist_checkpoint(PipelineHost& p, bool only_if_changed) {
    if (!store || p.deleted()) return false;
    auto snap = p.checkpoint();
    if (only_if_changed && !snap.changed_since_last) return true;
    if (snap.blob.empty()) {
        metrics.count_checkpoint(false);
        log_debug("engine produced no checkpoint", {{"pipeline_id", p.id()}});
        return false;
    }
    CheckpointRecord rec{snap.events, snap.outputs, wall_clock_ms(), std::move(snap.blob)};
    std::string error;
    bool ok = store->put_checkpoint(p.id(), rec, error);
    metrics.count_checkpoint(ok);
    if (ok) p.mark_persisted(snap.events);
    else log_error("cannot persist checkpoint", {{"pipeline_id", p.id()}, {"error", error}});
    // Deleted meanwhile: take the record back out.
    if (p.deleted()) forget_pipeline(p.id());
    return ok;
}

void ServerContext::forget_pipeline(const std::string& id) {
    if (!store) return;
    std::string error;
    if (!store->delete_pipeline(id, error)) log_error("cannot delete pipeline state", {{"pipeline_id", id}, {"error", error}});
}

void ServerContext::forget_tenant(const Tenant& t) {
    if (!store) return;
    std::string error;
    if (!store->delete_tenant(t.id(), error)) log_error("cannot delete tenant state", {{"tenant_id", t.id()}, {"error", error}});
}

void ServerContext::request_jit(const std::shared_ptr<PipelineHost>& p) {
    if (jit) jit->request(p);
}

namespace {

std::string make_request_id() {
    static std::atomic<uint64_t> counter{0};
    static const uint64_t prefix = [] {
        std::random_device rd;
        return (static_cast<uint64_t>(rd()) << 32) | rd();
    }();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08llx-%08llx", static_cast<unsigned long long>(prefix & 0xFFFFFFFFull),
                  static_cast<unsigned long long>(counter.fetch_add(1) + 1));
    return buf;
}

}  // namespace

struct Server::Impl {
    ServerContext ctx;
    Router router;
    RateLimiter limiter;
    std::unique_ptr<HttpListener> listener;
    std::unique_ptr<HttpListener> metrics_listener;
    std::unique_ptr<JitService> jit;
    std::thread checkpointer;
    std::mutex cp_mu;
    std::condition_variable cp_cv;
    bool cp_stop = false;
    bool started = false;
    bool stopped = false;

    explicit Impl(ServerOptions o) : limiter(o.rate_limit) { ctx.options = std::move(o); }

    HttpResponse handle(HttpRequest& req);
    bool restore_state(std::string& error);
    void checkpoint_loop();
    void checkpoint_all();
};

HttpResponse Server::Impl::handle(HttpRequest& req) {
    auto t0 = std::chrono::steady_clock::now();
    // A caller's own id (from a proxy or a client) is kept when it is short and plain, so one
    // id follows the request through every log.
    const std::string* given = req.header("x-request-id");
    bool plain = given && !given->empty() && given->size() <= 64 &&
                 std::all_of(given->begin(), given->end(), [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
                 });
    req.request_id = plain ? *given : make_request_id();
    HttpResponse res;
    RateDecision rate;
    bool exempt = req.path == "/health" || req.path == "/ready";
    if (req.body_too_large) {
        res = error_response(413, "Request payload too large");
    } else if (req.method == "OPTIONS") {
        res.status = 204;
        res.content_type.clear();
        res.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
        res.headers.emplace_back("Access-Control-Allow-Headers", "content-type, x-api-key, authorization, x-admin-key");
        res.headers.emplace_back("Access-Control-Max-Age", "86400");
    } else if (limiter.enabled() && !exempt && !(rate = limiter.check(req.client_ip)).allowed) {
        ctx.metrics.count_rate_limited();
        res = error_response(429, "Too many requests");
        res.headers.emplace_back("Retry-After", std::to_string(rate.retry_after_s));
    } else {
        Router::Match m = router.match(req.method, req.path);
        if (!m.route) {
            res = m.path_known ? error_response(405, "Method not allowed") : error_response(404, "Not found");
        } else {
            try {
                res = m.route->handler(req, m.params);
            } catch (const std::exception& e) {
                log_error("request failed", {{"request_id", req.request_id}, {"error", e.what()}});
                res = error_response(500, "Internal server error");
            } catch (...) {
                log_error("request failed", {{"request_id", req.request_id}});
                res = error_response(500, "Internal server error");
            }
        }
    }
    if (limiter.enabled() && !exempt && !req.body_too_large && req.method != "OPTIONS") {
        res.headers.emplace_back("X-RateLimit-Limit", std::to_string(rate.limit));
        res.headers.emplace_back("X-RateLimit-Remaining", std::to_string(rate.remaining));
    }
    res.headers.emplace_back("Access-Control-Allow-Origin", "*");
    res.headers.emplace_back("x-request-id", req.request_id);
    ctx.metrics.count_request(res.status);
    if (!log_info_enabled()) return res;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    char ms_text[32];
    std::snprintf(ms_text, sizeof ms_text, "%.3f", ms);
    log_info(res.stream ? "stream opened" : "request", {{"request_id", req.request_id},
                                                        {"method", req.method},
                                                        {"path", req.path},
                                                        {"status", std::to_string(res.status)},
                                                        {"ms", ms_text},
                                                        {"client", req.client_ip}});
    return res;
}

bool Server::Impl::restore_state(std::string& error) {
    ctx.store = StateStore::open(ctx.options.state_dir, error);
    if (!ctx.store) return false;
    std::vector<TenantRecord> tenants;
    std::vector<PipelineRecord> pipelines;
    std::vector<std::string> warnings;
    ctx.store->load(tenants, pipelines, warnings);
    for (const auto& w : warnings) log_warn(w);
    std::sort(tenants.begin(), tenants.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
    std::sort(pipelines.begin(), pipelines.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });

    bool have_default = false;
    for (auto& r : tenants) {
        QuotaTier tier = QuotaTier::Default;
        parse_tier(r.tier, tier);
        ctx.tenants.bump_seq(r.seq);
        // The admin key names the `default` tenant's key (FORMATS §3.5): a restart with another
        // --api-key re-keys it rather than adding a second one.
        bool is_default = r.name == "default" && !ctx.options.api_key.empty();
        if (is_default) {
            have_default = true;
            r.api_key = ctx.options.api_key;
            tier = QuotaTier::Enterprise;
        }
        auto t = std::make_shared<Tenant>(r.id, r.name, r.api_key, tier, r.seq, r.created_ms);
        t->usage()->events_processed = r.events_processed;
        t->usage()->output_events_emitted = r.output_events_emitted;
        if (!ctx.tenants.add(t)) {
            log_warn("skipping duplicate tenant record", {{"tenant_id", r.id}});
            continue;
        }
        if (is_default) ctx.persist_tenant(*t);
    }
    if (!have_default && !ctx.options.api_key.empty()) {
        auto t = std::make_shared<Tenant>(make_uuid(), "default", ctx.options.api_key, QuotaTier::Enterprise,
                                          ctx.tenants.next_seq(), wall_clock_ms());
        ctx.tenants.add(t);
        ctx.persist_tenant(*t);
    }

    for (const auto& r : pipelines) {
        ctx.tenants.bump_seq(r.seq);
        auto tenant = ctx.tenants.find(r.tenant_id);
        if (!tenant) {
            log_warn("skipping pipeline of an unknown tenant", {{"pipeline_id", r.id}, {"tenant_id", r.tenant_id}});
            continue;
        }
        CompiledProgram program;
        CompileFailure failure;
        if (!compile_program(r.name, r.source, program, failure)) {
            log_warn("stored pipeline no longer compiles; not started",
                     {{"pipeline_id", r.id}, {"error", failure.message}});
            continue;
        }
        PipelineHost::Info info{r.id, r.name, r.tenant_id, r.created_ms, r.seq};
        auto host = std::make_shared<PipelineHost>(info, r.source, std::move(program), tenant->usage());
        host->set_compaction_threshold(ctx.options.arena_compact_bytes);
        CheckpointRecord cp;
        std::string cp_error;
        if (ctx.store->get_checkpoint(r.id, cp, cp_error)) {
            uint64_t restored = 0;
            if (host->restore(cp.blob, cp.events, cp.outputs, cp_error, restored)) {
                host->mark_persisted(cp.events);
                log_info("pipeline restored from checkpoint", {{"pipeline_id", r.id}, {"events", std::to_string(restored)}});
            } else {
                log_warn("checkpoint not usable; pipeline starts fresh", {{"pipeline_id", r.id}, {"error", cp_error}});
            }
        } else if (!cp_error.empty()) {
            log_warn("checkpoint not readable; pipeline starts fresh", {{"pipeline_id", r.id}, {"error", cp_error}});
        }
        if (!tenant->add_pipeline(host, ~0ull)) continue;
        ctx.request_jit(host);
    }
    return true;
}

void Server::Impl::checkpoint_all() {
    for (const auto& t : ctx.tenants.list()) {
        for (const auto& p : t->pipelines()) {
            try {
                ctx.persist_checkpoint(*p, true);
            } catch (const std::exception& e) {
                log_error("checkpoint failed", {{"pipeline_id", p->id()}, {"error", e.what()}});
            }
        }
        ctx.persist_tenant(*t);
    }
}

void Server::Impl::checkpoint_loop() {
    auto interval = std::chrono::duration<double>(ctx.options.checkpoint_interval_s);
    std::unique_lock<std::mutex> lk(cp_mu);
    for (;;) {
        if (cp_cv.wait_for(lk, interval, [&] { return cp_stop; })) return;
        lk.unlock();
        checkpoint_all();
        lk.lock();
    }
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() { stop(); }

bool Server::start(std::string& error) {
    auto& im = *impl_;
    auto& o = im.ctx.options;
    if (!init_logging(o.log_level, o.log_format, error)) return false;
    if (o.jit) {
        im.jit = std::make_unique<JitService>(im.ctx.metrics, 2);
        im.ctx.jit = im.jit.get();
    }
    register_health_routes(im.router, im.ctx);
    register_pipeline_routes(im.router, im.ctx);
    register_tenant_routes(im.router, im.ctx);
    if (!im.restore_state(error)) return false;

    ListenerOptions lo;
    lo.bind = o.bind;
    lo.port = o.port;
    lo.threads = std::max(2, o.threads);
    lo.sse_keepalive = std::chrono::milliseconds(std::max(10, o.sse_keepalive_ms));
    auto body_limit = [&im](std::string_view method, std::string_view path) { return im.router.body_limit(method, path); };
    im.listener = std::make_unique<HttpListener>(lo, [&im](HttpRequest& r) { return im.handle(r); }, body_limit);
    if (!im.listener->start(error)) return false;
    if (o.metrics) {
        ListenerOptions mo = lo;
        mo.port = o.metrics_port;
        mo.threads = 1;
        im.metrics_listener = std::make_unique<HttpListener>(
            mo,
            [&im](HttpRequest& r) {
                if (r.path == "/metrics" && r.method == "GET") return metrics_reply(im.ctx);
                return error_response(404, "Not found");
            },
            [](std::string_view, std::string_view) { return kDefaultBodyLimit; });
        if (!im.metrics_listener->start(error)) {
            im.listener->stop(std::chrono::milliseconds(0));
            return false;
        }
    }
    if (o.checkpoint_interval_s > 0) im.checkpointer = std::thread([&im] { im.checkpoint_loop(); });
    im.started = true;
    log_info("server started", {{"port", std::to_string(port())}, {"state_dir", o.state_dir}});
    return true;
}

uint16_t Server::port() const { return impl_->listener ? impl_->listener->port() : 0; }

uint16_t Server::metrics_port() const { return impl_->metrics_listener ? impl_->metrics_listener->port() : 0; }

void Server::checkpoint_all() { impl_->checkpoint_all(); }

void Server::stop() {
    auto& im = *impl_;
    if (im.stopped) return;
    im.stopped = true;
    if (im.listener) im.listener->stop(std::chrono::seconds(10));
    if (im.metrics_listener) im.metrics_listener->stop(std::chrono::seconds(1));
    {
        std::lock_guard<std::mutex> lk(im.cp_mu);
        im.cp_stop = true;
    }
    im.cp_cv.notify_all();
    if (im.checkpointer.joinable()) im.checkpointer.join();
    if (im.jit) im.jit->stop();
    if (im.started) {
        for (const auto& t : im.ctx.tenants.list())
            for (const auto& p : t->pipelines()) p->close_subscribers();
        im.checkpoint_all();
        log_info("server stopped");
    }
    im.ctx.store.reset();
}

std::vector<RouteDescription> Server::routes() const {
    std::vector<RouteDescription> out;
    for (const auto& r : impl_->router.routes()) out.push_back({r.method, r.pattern, r.body_limit});
    return out;
}

int run_server(const ServerOptions& options) {
    // Signals are taken by sigwait below; every thread started after this inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    if (!options.workdir.empty()) {
        std::error_code ec;
        std::filesystem::current_path(options.workdir, ec);
        if (ec) {
            std::fprintf(stderr, "Error: cannot use workdir %s: %s\n", options.workdir.c_str(), ec.message().c_str());
            return 1;
        }
    }
    Server server(options);
    std::string error;
    if (!server.start(error)) {
        std::fprintf(stderr, "Error: %s\n", error.c_str());
        return 1;
    }
    std::error_code ec;
    auto state = std::filesystem::absolute(options.state_dir, ec);
    std::printf("Varpulis/C++ server %s\n", options.version.c_str());
    std::printf("  REST API:  http://%s:%u/api/v1\n", options.bind.c_str(), server.port());
    std::printf("  Health:    http://%s:%u/health\n", options.bind.c_str(), server.port());
    if (server.metrics_port())
        std::printf("  Metrics:   http://%s:%u/metrics\n", options.bind.c_str(), server.metrics_port());
    std::printf("  State:     %s\n", ec ? options.state_dir.c_str() : state.c_str());
    std::printf("Listening on http://%s:%u\n", options.bind.c_str(), server.port());
    std::fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    log_info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    server.stop();
    return 0;
}

}  // namespace varpulis::server
