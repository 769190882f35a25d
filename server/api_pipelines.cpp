// Pipeline endpoints of FORMATS §5.4.

#include <chrono>

#include "server/api_common.hpp"
#include "server/base64.hpp"
#include "server/event_limits.hpp"
#include "server/logging.hpp"
#include "server/pipeline_host.hpp"

namespace varpulis::server {

namespace {

constexpr const char* kCheckpointFormat = "varpulis-cpp";
constexpr int64_t kCheckpointVersion = 1;

json::object pipeline_info(const PipelineHost& p) {
    json::object o;
    o["id"] = p.id();
    o["name"] = p.name();
    o["status"] = "running";
    o["source"] = p.source();
    o["uptime_secs"] = static_cast<uint64_t>(p.uptime_secs());
    return o;
}

HttpResponse parse_error_reply(const CompileFailure& f) {
    json::object o;
    o["error"] = "parse error: " + f.message;
    o["code"] = "parse_error";
    o["line"] = f.line;
    o["column"] = f.column;
    if (!f.hint.empty()) o["hint"] = f.hint;
    return json_reply(400, o);
}

HttpResponse streams_quota_reply(size_t streams, uint64_t max) {
    return error_response(429,
                          "quota exceeded: pipeline has " + std::to_string(streams) + " streams, max is " +
                              std::to_string(max),
                          "quota_exceeded");
}

bool check_json_content_type(const HttpRequest& req, HttpResponse& err) {
    if (const std::string* ct = req.header("content-type")) {
        if (ct->find("application/json") == std::string::npos && ct->find("+json") == std::string::npos) {
            err = error_response(415, "Unsupported media type");
            return false;
        }
    }
    return true;
}

/// Resolves the tenant and its pipeline `{id}`; nullptr with the error reply in `err`.
std::shared_ptr<PipelineHost> tenant_pipeline(ServerContext& ctx, const HttpRequest& req, const PathParams& pp,
                                              HttpResponse& err, bool logs = false) {
    auto tenant = logs ? authenticate(ctx, req, err, true, "invalid_key") : authenticate(ctx, req, err);
    if (!tenant) return nullptr;
    const std::string& id = pp.get("id");
    auto p = tenant->find_pipeline(id);
    if (!p) err = pipeline_not_found(id);
    return p;
}

HttpResponse create_pipeline(ServerContext& ctx, const HttpRequest& req) {
    HttpResponse err;
    auto tenant = authenticate(ctx, req, err);
    if (!tenant) return err;
    json::object body;
    std::string name, source;
    if (!parse_object_body(req, body, err) || !string_member(body, "name", name, err) ||
        !string_member(body, "source", source, err))
        return err;
    Quota quota = tenant->quota();
    if (tenant->pipeline_count() >= quota.max_pipelines)
        return error_response(429, "quota exceeded: max pipelines (" + std::to_string(quota.max_pipelines) + ") reached",
                              "quota_exceeded");
    CompiledProgram program;
    CompileFailure failure;
    if (!compile_program(name, source, program, failure)) return parse_error_reply(failure);
    if (program.stream_count > quota.max_streams_per_pipeline)
        return streams_quota_reply(program.stream_count, quota.max_streams_per_pipeline);
    PipelineHost::Info info;
    info.id = make_uuid();
    info.name = name;
    info.tenant_id = tenant->id();
    info.created_ms = wall_clock_ms();
    info.seq = ctx.tenants.next_seq();
    auto host = std::make_shared<PipelineHost>(info, source, std::move(program), tenant->usage());
    host->set_compaction_threshold(ctx.options.arena_compact_bytes);
    if (!tenant->add_pipeline(host, quota.max_pipelines))
        return error_response(429, "quota exceeded: max pipelines (" + std::to_string(quota.max_pipelines) + ") reached",
                              "quota_exceeded");
    ctx.persist_pipeline(*host);
    ctx.request_jit(host);
    log_info("pipeline deployed", {{"pipeline_id", info.id}, {"name", name}, {"tenant", tenant->name()}});
    json::object o;
    o["id"] = info.id;
    o["name"] = name;
    o["status"] = "running";
    return json_reply(201, o);
}

HttpResponse list_pipelines(ServerContext& ctx, const HttpRequest& req) {
    HttpResponse err;
    auto tenant = authenticate(ctx, req, err);
    if (!tenant) return err;
    size_t limit, offset;
    if (!parse_pagination(req, limit, offset, err)) return err;
    auto all = tenant->pipelines();
    json::array items;
    for (size_t i = offset; i < all.size() && i < offset + limit; ++i) items.push_back(pipeline_info(*all[i]));
    json::object o;
    o["pipelines"] = std::move(items);
    o["total"] = all.size();
    o["pagination"] = pagination_json(all.size(), limit, offset);
    return json_reply(200, o);
}

HttpResponse delete_pipeline(ServerContext& ctx, const HttpRequest& req, const PathParams& pp) {
    HttpResponse err;
    auto tenant = authenticate(ctx, req, err);
    if (!tenant) return err;
    auto p = tenant->remove_pipeline(pp.get("id"));
    if (!p) return pipeline_not_found(pp.get("id"));
    p->mark_deleted();
    p->close_subscribers();
    ctx.forget_pipeline(p->id());
    log_info("pipeline deleted", {{"pipeline_id", p->id()}, {"tenant", tenant->name()}});
    json::object o;
    o["deleted"] = true;
    return json_reply(200, o);
}

HttpResponse inject_event(ServerContext& ctx, const HttpRequest& req, const PathParams& pp) {
    HttpResponse err;
    auto p = tenant_pipeline(ctx, req, pp, err);
    if (!p) return err;
    if (!check_json_content_type(req, err)) return err;
    std::string limit_error;
    if (!check_event_limits(req.body, 2, limit_error)) return error_response(400, "Invalid request body: " + limit_error);
    auto tenant = ctx.tenants.find(p->tenant_id());
    std::vector<RenderedOutput> outputs;
    std::string error;
    auto admit = [&](uint64_t n) { return !tenant || tenant->admit_events(n); };
    switch (p->process_event(req.body, wall_clock_ms(), admit, outputs, error)) {
        case PipelineHost::Ingest::BadRequest: return error_response(400, "Invalid request body: " + error);
        case PipelineHost::Ingest::UnknownType: return error_response(400, error, "unknown_event_type");
        case PipelineHost::Ingest::Rejected: return error_response(429, "rate limit exceeded", "rate_limited");
        case PipelineHost::Ingest::Ok: break;
    }
    std::string body = "{\"accepted\": true, \"output_events\": [";
    for (size_t i = 0; i < outputs.size(); ++i) {
        if (i) body += ", ";
        append_output_event(body, outputs[i]);
    }
    body += "]}";
    return json_response(200, std::move(body));
}

HttpResponse inject_batch(ServerContext& ctx, const HttpRequest& req, const PathParams& pp) {
    HttpResponse err;
    auto p = tenant_pipeline(ctx, req, pp, err);
    if (!p) return err;
    if (!check_json_content_type(req, err)) return err;
    std::string limit_error;
    if (!check_event_limits(req.body, 4, limit_error)) return error_response(400, "Invalid request body: " + limit_error);
    auto tenant = ctx.tenants.find(p->tenant_id());
    auto t0 = std::chrono::steady_clock::now();
    // Outputs are rendered straight into this per-thread buffer (reused: no large allocation
    // per request), then copied once into the body.
    thread_local std::string outputs;
    outputs.clear();
    std::string error;
    size_t accepted = 0;
    auto admit = [&](uint64_t n) { return !tenant || tenant->admit_events(n); };
    switch (p->process_batch_flat(req.body, wall_clock_ms(), admit, outputs, accepted, error)) {
        case PipelineHost::Ingest::BadRequest:
        case PipelineHost::Ingest::UnknownType: return error_response(400, "Invalid request body: " + error);
        case PipelineHost::Ingest::Rejected: return error_response(429, "rate limit exceeded", "rate_limited");
        case PipelineHost::Ingest::Ok: break;
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    std::string body;
    body.reserve(outputs.size() + 96);
    body += "{\"accepted\": ";
    body += std::to_string(accepted);
    body += ", \"output_events\": [";
    body += outputs;
    body += "], \"processing_time_us\": ";
    body += std::to_string(us);
    body += '}';
    if (outputs.capacity() > (8u << 20)) std::string().swap(outputs);  // do not pin a huge buffer
    return json_response(200, std::move(body));
}

HttpResponse checkpoint_pipeline(ServerContext& ctx, const HttpRequest& req, const PathParams& pp) {
    HttpResponse err;
    auto p = tenant_pipeline(ctx, req, pp, err);
    if (!p) return err;
    auto snap = p->checkpoint();
    if (snap.blob.empty())
        return error_response(500, "engine error: this engine build cannot save checkpoints", "engine_error");
    std::string error;
    CheckpointRecord rec{snap.events, snap.outputs, wall_clock_ms(), snap.blob};
    if (ctx.store && !p->deleted()) {
        bool ok = ctx.store->put_checkpoint(p->id(), rec, error);
        ctx.metrics.count_checkpoint(ok);
        if (ok) p->mark_persisted(snap.events);
        else log_warn("cannot persist checkpoint", {{"pipeline_id", p->id()}, {"error", error}});
    }
    json::object cp;
    cp["format"] = kCheckpointFormat;
    cp["version"] = kCheckpointVersion;
    cp["pipeline_id"] = p->id();
    cp["events_processed"] = snap.events;
    cp["output_events_emitted"] = snap.outputs;
    cp["data"] = base64_encode(snap.blob);
    json::object o;
    o["pipeline_id"] = p->id();
    o["checkpoint"] = std::move(cp);
    o["events_processed"] = snap.events;
    return json_reply(200, o);
}

HttpResponse restore_pipeline(ServerContext& ctx, const HttpRequest& req, const PathParams& pp) {
    HttpResponse err;
    auto p = tenant_pipeline(ctx, req, pp, err);
    if (!p) return err;
    json::object body;
    if (!parse_object_body(req, body, err)) return err;
    auto bad = [](const std::string& why) { return error_response(400, "invalid checkpoint: " + why, "invalid_checkpoint"); };
    auto it = body.find("checkpoint");
    if (it == body.end()) return error_response(400, "Invalid request body: missing field `checkpoint`");
    if (!it->value().is_object()) return bad("`checkpoint` must be an object");
    const json::object& cp = it->value().as_object();
    auto fmt = cp.find("format");
    if (fmt == cp.end() || !fmt->value().is_string() || fmt->value().as_string() != kCheckpointFormat)
        return bad("unknown format (expected \"varpulis-cpp\")");
    auto ver = cp.find("version");
    if (ver == cp.end() || !ver->value().is_int64() || ver->value().as_int64() != kCheckpointVersion)
        return bad("unsupported version (expected 1)");
    auto data = cp.find("data");
    std::string blob;
    if (data == cp.end() || !data->value().is_string() || !base64_decode(data->value().as_string(), blob))
        return bad("`data` must be base64 text");
    auto counter = [&](const char* key, uint64_t& out) {
        auto m = cp.find(key);
        if (m == cp.end()) return true;
        if (m->value().is_uint64()) out = m->value().as_uint64();
        else if (m->value().is_int64() && m->value().as_int64() >= 0) out = static_cast<uint64_t>(m->value().as_int64());
        else return false;
        return true;
    };
    uint64_t events = 0, outputs = 0;
    if (!counter("events_processed", events) || !counter("output_events_emitted", outputs))
        return bad("counters must be non-negative integers");
    std::string error;
    uint64_t restored = 0;
    if (!p->restore(blob, events, outputs, error, restored)) return bad(error);
    ctx.persist_checkpoint(*p, false);
    log_info("pipeline restored", {{"pipeline_id", p->id()}, {"events", std::to_string(restored)}});
    json::object o;
    o["pipeline_id"] = p->id();
    o["restored"] = true;
    o["events_restored"] = restored;
    return json_reply(200, o);
}

HttpResponse pipeline_metrics(ServerContext& ctx, const HttpRequest& req, const PathParams& pp) {
    HttpResponse err;
    auto p = tenant_pipeline(ctx, req, pp, err);
    if (!p) return err;
    json::object o;
    o["pipeline_id"] = p->id();
    o["events_processed"] = p->events_processed();
    o["output_events_emitted"] = p->outputs_emitted();
    return json_reply(200, o);
}

HttpResponse reload_pipeline(ServerContext& ctx, const HttpRequest& req, const PathParams& pp) {
    HttpResponse err;
    auto p = tenant_pipeline(ctx, req, pp, err);
    if (!p) return err;
    json::object body;
    std::string source;
    if (!parse_object_body(req, body, err) || !string_member(body, "source", source, err)) return err;
    CompiledProgram program;
    CompileFailure failure;
    if (!compile_program(p->name(), source, program, failure)) return parse_error_reply(failure);
    auto tenant = ctx.tenants.find(p->tenant_id());
    uint64_t max_streams = tenant ? tenant->quota().max_streams_per_pipeline : quota_for(QuotaTier::Default).max_streams_per_pipeline;
    if (program.stream_count > max_streams) return streams_quota_reply(program.stream_count, max_streams);
    std::string warning;
    p->reload(source, std::move(program), warning);
    if (!warning.empty()) log_warn("reload", {{"pipeline_id", p->id()}, {"warning", warning}});
    ctx.persist_pipeline(*p);
    ctx.persist_checkpoint(*p, false);
    ctx.request_jit(p);
    log_info("pipeline reloaded", {{"pipeline_id", p->id()}});
    json::object o;
    o["reloaded"] = true;
    return json_reply(200, o);
}

HttpResponse pipeline_logs(ServerContext& ctx, const HttpRequest& req, const PathParams& pp) {
    HttpResponse err;
    auto p = tenant_pipeline(ctx, req, pp, err, true);
    if (!p) return err;
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.stream = p->subscribe();
    return r;
}

}  // namespace

void register_pipeline_routes(Router& router, ServerContext& ctx) {
    const std::string base = std::string(kApiPrefix) + "/pipelines";
    ServerContext* c = &ctx;
    router.add("POST", base, kDefaultBodyLimit, [c](const HttpRequest& r, const PathParams&) { return create_pipeline(*c, r); });
    router.add("GET", base, kDefaultBodyLimit, [c](const HttpRequest& r, const PathParams&) { return list_pipelines(*c, r); });
    router.add("GET", base + "/{id}", kDefaultBodyLimit, [c](const HttpRequest& r, const PathParams& pp) {
        HttpResponse err;
        auto p = tenant_pipeline(*c, r, pp, err);
        return p ? json_reply(200, pipeline_info(*p)) : err;
    });
    router.add("DELETE", base + "/{id}", kDefaultBodyLimit,
               [c](const HttpRequest& r, const PathParams& pp) { return delete_pipeline(*c, r, pp); });
    router.add("POST", base + "/{id}/events", kDefaultBodyLimit,
               [c](const HttpRequest& r, const PathParams& pp) { return inject_event(*c, r, pp); });
    router.add("POST", base + "/{id}/events-batch", kLargeBodyLimit,
               [c](const HttpRequest& r, const PathParams& pp) { return inject_batch(*c, r, pp); });
    router.add("POST", base + "/{id}/checkpoint", kDefaultBodyLimit,
               [c](const HttpRequest& r, const PathParams& pp) { return checkpoint_pipeline(*c, r, pp); });
    router.add("POST", base + "/{id}/restore", kLargeBodyLimit,
               [c](const HttpRequest& r, const PathParams& pp) { return restore_pipeline(*c, r, pp); });
    router.add("GET", base + "/{id}/metrics", kDefaultBodyLimit,
               [c](const HttpRequest& r, const PathParams& pp) { return pipeline_metrics(*c, r, pp); });
    router.add("POST", base + "/{id}/reload", kDefaultBodyLimit,
               [c](const HttpRequest& r, const PathParams& pp) { return reload_pipeline(*c, r, pp); });
    router.add("GET", base + "/{id}/logs", kDefaultBodyLimit,
               [c](const HttpRequest& r, const PathParams& pp) { return pipeline_logs(*c, r, pp); });
}

}  // namespace varpulis::server
