#pragma once
// Helpers shared by the API handlers (authentication, JSON bodies, pagination). Private to
// server/; the only header that includes Boost.JSON (api_*.cpp only).

#include <boost/json.hpp>

#include <memory>
#include <string>

#include "server/api_routes.hpp"
#include "server/http_types.hpp"
#include "server/router.hpp"
#include "server/server_context.hpp"

namespace varpulis::server {

namespace json = boost::json;

constexpr const char* kApiPrefix = "/api/v1";

HttpResponse json_reply(int status, const json::value& v);

/// The tenant of the request's `X-API-Key` (or `?api_key=` when `allow_query`), or nullptr with
/// the 401 in `err`. `invalid_code` is the code for an unknown key (`invalid_key` on logs).
std::shared_ptr<Tenant> authenticate(ServerContext& ctx, const HttpRequest& req, HttpResponse& err,
                                     bool allow_query = false, const char* invalid_code = "invalid_api_key");
/// `X-Admin-Key` against `--api-key`: 403 `admin_disabled` without one, 401 `invalid_admin_key`.
bool check_admin(ServerContext& ctx, const HttpRequest& req, HttpResponse& err);
/// A JSON object body (415 for another content type, 400 "Invalid request body: ...").
bool parse_object_body(const HttpRequest& req, json::object& out, HttpResponse& err);
/// A required string member (400 "Invalid request body: ..." when missing or not a string).
bool string_member(const json::object& o, const char* key, std::string& out, HttpResponse& err);
/// `?limit&offset` (FORMATS §5.3).
bool parse_pagination(const HttpRequest& req, size_t& limit, size_t& offset, HttpResponse& err);
json::object pagination_json(size_t total, size_t limit, size_t offset);
/// 404 `pipeline_not_found`.
HttpResponse pipeline_not_found(const std::string& id);


}  // namespace varpulis::server
