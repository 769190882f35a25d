#pragma once
// Registration of the API handlers (api_*.cpp), without their JSON dependency.

#include "server/http_types.hpp"
#include "server/router.hpp"

namespace varpulis::server {

struct ServerContext;

void register_pipeline_routes(Router& router, ServerContext& ctx);
void register_tenant_routes(Router& router, ServerContext& ctx);
void register_health_routes(Router& router, ServerContext& ctx);
/// The Prometheus exposition as a response (main port and --metrics-port).
HttpResponse metrics_reply(ServerContext& ctx);

}  // namespace varpulis::server
