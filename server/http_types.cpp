#include "server/http_types.hpp"

#include "runtime/value_io.hpp"

namespace varpulis::server {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
            if (h >= 0 && l >= 0) {
                out += static_cast<char>(h * 16 + l);
                i += 2;
                continue;
            }
        }
        out += plus_is_space && c == '+' ? ' ' : c;
    }
    return out;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
        if (k == lower_name) return &v;
    return nullptr;
}

const std::string* HttpRequest::query_param(std::string_view name) const {
    for (const auto& [k, v] : query)
        if (k == name) return &v;
    return nullptr;
}

HttpResponse json_response(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

HttpResponse error_response(int status, std::string_view message, std::string_view code) {
    std::string body = "{\"error\": ";
    runtime::append_json_string(body, message);
    if (!code.empty()) {
        body += ", \"code\": ";
        runtime::append_json_string(body, code);
    }
    body += '}';
    return json_response(status, std::move(body));
}

bool split_target(std::string_view target, std::string& path, HeaderList& query) {
    if (target.empty() || target[0] != '/') return false;
    size_t q = target.find('?');
    path = percent_decode(target.substr(0, q), false);
    query.clear();
    if (q == std::string_view::npos) return true;
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        size_t amp = rest.find('&');
        std::string_view item = rest.substr(0, amp);
        if (!item.empty()) {
            size_t eq = item.find('=');
            query.emplace_back(percent_decode(item.substr(0, eq), true),
                               eq == std::string_view::npos ? std::string() : percent_decode(item.substr(eq + 1), true));
        }
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return true;
}

}  // namespace varpulis::server
