#pragma once
// The route table: method + path pattern (`/api/v1/pipelines/{id}`) → handler, with a
// body limit per route. Exposed (routes()) so the OpenAPI test can compare it to the
// document.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_types.hpp"

namespace varpulis::server {

/// Values of the `{name}` segments of a matched pattern.
struct PathParams {
    std::vector<std::pair<std::string, std::string>> values;
    const std::string& get(std::string_view name) const;
};

using RouteHandler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

constexpr size_t kDefaultBodyLimit = 1024 * 1024;       // FORMATS §5.2
constexpr size_t kLargeBodyLimit = 16 * 1024 * 1024;    // events-batch, restore

struct Route {
    std::string method;
    std::string pattern;
    size_t body_limit = kDefaultBodyLimit;
    RouteHandler handler;
    std::vector<std::string> segments;  // pattern split on '/'
};

/// Not thread-safe to modify; matching is read-only and may run on any thread once every
/// route is added.
class Router {
public:
    void add(std::string method, std::string pattern, size_t body_limit, RouteHandler handler);

    struct Match {
        const Route* route = nullptr;
        PathParams params;
        bool path_known = false;  // some route has this path (→ 405 rather than 404)
    };
    Match match(std::string_view method, std::string_view path) const;
    /// The body limit of the route a request will reach (the default when none).
    size_t body_limit(std::string_view method, std::string_view path) const;
    const std::vector<Route>& routes() const { return routes_; }

private:
    std::vector<Route> routes_;
};

}  // namespace varpulis::server
