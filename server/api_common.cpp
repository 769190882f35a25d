#include "server/api_common.hpp"

#include <charconv>

namespace varpulis::server {

HttpResponse json_reply(int status, const json::value& v) { return json_response(status, json::serialize(v)); }

std::shared_ptr<Tenant> authenticate(ServerContext& ctx, const HttpRequest& req, HttpResponse& err, bool allow_query,
                                     const char* invalid_code) {
    const std::string* key = req.header("x-api-key");
    if (!key && allow_query) key = req.query_param("api_key");
    if (!key) {
        err = error_response(401, "Missing API key", "missing_api_key");
        return nullptr;
    }
    auto t = ctx.tenants.find_by_key(*key);
    if (!t) err = error_response(401, "Invalid API key", invalid_code);
    return t;
}

bool check_admin(ServerContext& ctx, const HttpRequest& req, HttpResponse& err) {
    if (ctx.options.api_key.empty()) {
        err = error_response(403, "Tenant administration is disabled: the server has no --api-key", "admin_disabled");
        return false;
    }
    const std::string* key = req.header("x-admin-key");
    if (!key || !constant_time_equal(*key, ctx.options.api_key)) {
        err = error_response(401, "Invalid admin key", "invalid_admin_key");
        return false;
    }
    return true;
}

bool parse_object_body(const HttpRequest& req, json::object& out, HttpResponse& err) {
    if (const std::string* ct = req.header("content-type")) {
        if (ct->find("application/json") == std::string::npos && ct->find("+json") == std::string::npos) {
            err = error_response(415, "Unsupported media type");
            return false;
        }
    }
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec) {
        err = error_response(400, "Invalid request body: " + ec.message());
        return false;
    }
    if (!v.is_object()) {
        err = error_response(400, "Invalid request body: expected a JSON object");
        return false;
    }
    out = std::move(v.as_object());
    return true;
}

bool string_member(const json::object& o, const char* key, std::string& out, HttpResponse& err) {
    auto it = o.find(key);
    if (it == o.end()) {
        err = error_response(400, std::string("Invalid request body: missing field `") + key + "`");
        return false;
    }
    if (!it->value().is_string()) {
        err = error_response(400, std::string("Invalid request body: field `") + key + "` must be a string");
        return false;
    }
    out = std::string(it->value().as_string());
    return true;
}

bool parse_pagination(const HttpRequest& req, size_t& limit, size_t& offset, HttpResponse& err) {
    limit = 50;
    offset = 0;
    auto parse = [](const std::string& s, size_t& v) {
        if (s.empty() || s.size() > 18) return false;
        auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        return r.ec == std::errc() && r.ptr == s.data() + s.size();
    };
    if (const std::string* l = req.query_param("limit")) {
        if (!parse(*l, limit)) {
            err = error_response(400, "Invalid query parameters");
            return false;
        }
    }
    if (const std::string* o = req.query_param("offset")) {
        if (!parse(*o, offset)) {
            err = error_response(400, "Invalid query parameters");
            return false;
        }
    }
    if (limit > 1000) {
        err = error_response(400, "limit must be at most 1000", "invalid_limit");
        return false;
    }
    return true;
}

json::object pagination_json(size_t total, size_t limit, size_t offset) {
    json::object p;
    p["total"] = total;
    p["limit"] = limit;
    p["offset"] = offset;
    p["has_more"] = offset + limit < total;
    return p;
}

HttpResponse pipeline_not_found(const std::string& id) {
    return error_response(404, "pipeline not found: " + id, "pipeline_not_found");
}

}  // namespace varpulis::server
