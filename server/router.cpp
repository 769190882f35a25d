#include "server/router.hpp"

namespace varpulis::server {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        out.push_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

bool match_segments(const Route& r, const std::vector<std::string_view>& parts, PathParams* params) {
    if (r.segments.size() != parts.size()) return false;
    for (size_t i = 0; i < parts.size(); ++i) {
        const std::string& seg = r.segments[i];
        if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
            if (parts[i].empty()) return false;
            if (params) params->values.emplace_back(seg.substr(1, seg.size() - 2), std::string(parts[i]));
        } else if (seg != parts[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

const std::string& PathParams::get(std::string_view name) const {
    static const std::string kEmpty;
    for (const auto& [k, v] : values)
        if (k == name) return v;
    return kEmpty;
}

void Router::add(std::string method, std::string pattern, size_t body_limit, RouteHandler handler) {
    Route r;
    r.method = std::move(method);
    r.pattern = std::move(pattern);
    r.body_limit = body_limit;
    r.handler = std::move(handler);
    for (auto s : split_path(r.pattern)) r.segments.emplace_back(s);
    routes_.push_back(std::move(r));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
    Match m;
    auto parts = split_path(path);
    for (const Route& r : routes_) {
        if (!match_segments(r, parts, nullptr)) continue;
        m.path_known = true;
        if (r.method != method) continue;
        match_segments(r, parts, &m.params);
        m.route = &r;
        return m;
    }
    return m;
}

size_t Router::body_limit(std::string_view method, std::string_view path) const {
    Match m = match(method, path);
    return m.route ? m.route->body_limit : kDefaultBodyLimit;
}

}  // namespace varpulis::server
