// `/health`, `/ready` (FORMATS §5.5) and `/metrics` (§5.7), without authentication.

#include <cmath>

#include "runtime/value_io.hpp"
#include "server/api_common.hpp"
#include "server/pipeline_host.hpp"

namespace varpulis::server {

namespace {

double uptime_seconds(const ServerContext& ctx) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started).count();
}

HttpResponse health(ServerContext& ctx) {
    // By hand: Boost.JSON writes doubles as `1.5E0`, valid but unlike every other producer.
    std::string body = "{\"status\": \"healthy\", \"uptime_seconds\": ";
    runtime::append_json_float(body, std::round(uptime_seconds(ctx) * 1000) / 1000);
    body += ", \"version\": ";
    runtime::append_json_string(body, ctx.options.version);
    body += '}';
    return json_response(200, std::move(body));
}

HttpResponse ready(ServerContext& ctx) {
    // OUR CONTRACT: ready once initialised; `engine_loaded` tells whether any pipeline runs.
    uint64_t streams = 0, events = 0, outputs = 0, pipelines = 0;
    for (const auto& t : ctx.tenants.list()) {
        for (const auto& p : t->pipelines()) {
            ++pipelines;
            streams += p->stream_count();
            events += p->events_processed();
            outputs += p->outputs_emitted();
        }
    }
    json::object o;
    o["status"] = "ready";
    o["engine_loaded"] = pipelines > 0;
    o["streams_count"] = streams;
    o["events_processed"] = events;
    o["output_events_emitted"] = outputs;
    return json_reply(200, o);
}

}  // namespace

HttpResponse metrics_reply(ServerContext& ctx) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = ctx.metrics.render(ctx.tenants, uptime_seconds(ctx));
    return r;
}

void register_health_routes(Router& router, ServerContext& ctx) {
    ServerContext* c = &ctx;
    router.add("GET", "/health", kDefaultBodyLimit, [c](const HttpRequest&, const PathParams&) { return health(*c); });
    router.add("GET", "/ready", kDefaultBodyLimit, [c](const HttpRequest&, const PathParams&) { return ready(*c); });
    router.add("GET", "/metrics", kDefaultBodyLimit,
               [c](const HttpRequest&, const PathParams&) { return metrics_reply(*c); });
}

}  // namespace varpulis::server
