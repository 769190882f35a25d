// Tenant administration (FORMATS §5.4, `X-Admin-Key`) and the tenant's own `/usage`.

#include "server/api_common.hpp"
#include "server/logging.hpp"
#include "server/pipeline_host.hpp"

namespace varpulis::server {

namespace {

json::object quota_json(const Quota& q) {
    json::object o;
    o["max_pipelines"] = q.max_pipelines;
    o["max_events_per_second"] = q.max_events_per_second;
    o["max_streams_per_pipeline"] = q.max_streams_per_pipeline;
    return o;
}

json::object tenant_json(const Tenant& t) {
    json::object o;
    o["id"] = t.id();
    o["name"] = t.name();
    o["api_key"] = t.api_key();
    o["quota_tier"] = tier_name(t.tier());
    o["quota"] = quota_json(t.quota());
    return o;
}

json::object usage_json(const Tenant& t) {
    json::object u;
    u["events_processed"] = t.usage()->events_processed.load();
    u["output_events_emitted"] = t.usage()->output_events_emitted.load();
    u["active_pipelines"] = t.pipeline_count();
    return u;
}

HttpResponse tenant_not_found(const std::string& id) {
    return error_response(404, "tenant not found: " + id, "tenant_not_found");
}

HttpResponse create_tenant(ServerContext& ctx, const HttpRequest& req) {
    HttpResponse err;
    if (!check_admin(ctx, req, err)) return err;
    json::object body;
    std::string name;
    if (!parse_object_body(req, body, err) || !string_member(body, "name", name, err)) return err;
    if (name.empty()) return error_response(400, "Invalid request body: `name` must not be empty");
    QuotaTier tier = QuotaTier::Default;
    if (auto it = body.find("quota_tier"); it != body.end() && !it->value().is_null()) {
        if (!it->value().is_string() || !parse_tier(it->value().as_string(), tier))
            return error_response(400, "Invalid request body: `quota_tier` must be one of free, pro, enterprise");
    }
    auto t = std::make_shared<Tenant>(make_uuid(), name, make_api_key(), tier, ctx.tenants.next_seq(), wall_clock_ms());
    if (!ctx.tenants.add(t)) return error_response(409, "tenant already exists: " + name, "already_exists");
    ctx.persist_tenant(*t);
    log_info("tenant created", {{"tenant_id", t->id()}, {"name", name}, {"tier", tier_name(tier)}});
    return json_reply(201, tenant_json(*t));
}

HttpResponse list_tenants(ServerContext& ctx, const HttpRequest& req) {
    HttpResponse err;
    if (!check_admin(ctx, req, err)) return err;
    size_t limit, offset;
    if (!parse_pagination(req, limit, offset, err)) return err;
    auto all = ctx.tenants.list();
    json::array items;
    for (size_t i = offset; i < all.size() && i < offset + limit; ++i) {
        json::object o = tenant_json(*all[i]);
        o["pipeline_count"] = all[i]->pipeline_count();
        items.push_back(std::move(o));
    }
    json::object o;
    o["tenants"] = std::move(items);
    o["total"] = all.size();
    o["pagination"] = pagination_json(all.size(), limit, offset);
    return json_reply(200, o);
}

HttpResponse get_tenant(ServerContext& ctx, const HttpRequest& req, const PathParams& pp) {
    HttpResponse err;
    if (!check_admin(ctx, req, err)) return err;
    auto t = ctx.tenants.find(pp.get("id"));
    if (!t) return tenant_not_found(pp.get("id"));
    json::object o = tenant_json(*t);
    o["usage"] = usage_json(*t);
    o["pipeline_count"] = t->pipeline_count();
    return json_reply(200, o);
}

HttpResponse delete_tenant(ServerContext& ctx, const HttpRequest& req, const PathParams& pp) {
    HttpResponse err;
    if (!check_admin(ctx, req, err)) return err;
    auto t = ctx.tenants.remove(pp.get("id"));
    if (!t) return tenant_not_found(pp.get("id"));
    t->mark_deleted();
    for (auto& p : t->pipelines()) {
        t->remove_pipeline(p->id());
        p->mark_deleted();
        p->close_subscribers();
        ctx.forget_pipeline(p->id());
    }
    ctx.forget_tenant(*t);
    log_info("tenant deleted", {{"tenant_id", t->id()}, {"name", t->name()}});
    json::object o;
    o["deleted"] = true;
    return json_reply(200, o);
}

HttpResponse usage(ServerContext& ctx, const HttpRequest& req) {
    HttpResponse err;
    auto t = authenticate(ctx, req, err);
    if (!t) return err;
    json::object o;
    o["tenant_id"] = t->id();
    o["events_processed"] = t->usage()->events_processed.load();
    o["output_events_emitted"] = t->usage()->output_events_emitted.load();
    o["active_pipelines"] = t->pipeline_count();
    o["quota"] = quota_json(t->quota());
    return json_reply(200, o);
}

}  // namespace

void register_tenant_routes(Router& router, ServerContext& ctx) {
    const std::string base = std::string(kApiPrefix) + "/tenants";
    ServerContext* c = &ctx;
    router.add("POST", base, kDefaultBodyLimit, [c](const HttpRequest& r, const PathParams&) { return create_tenant(*c, r); });
    router.add("GET", base, kDefaultBodyLimit, [c](const HttpRequest& r, const PathParams&) { return list_tenants(*c, r); });
    router.add("GET", base + "/{id}", kDefaultBodyLimit,
               [c](const HttpRequest& r, const PathParams& pp) { return get_tenant(*c, r, pp); });
    router.add("DELETE", base + "/{id}", kDefaultBodyLimit,
               [c](const HttpRequest& r, const PathParams& pp) { return delete_tenant(*c, r, pp); });
    router.add("GET", std::string(kApiPrefix) + "/usage", kDefaultBodyLimit,
               [c](const HttpRequest& r, const PathParams&) { return usage(*c, r); });
}

}  // namespace varpulis::server
