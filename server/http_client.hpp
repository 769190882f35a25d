#pragma once
// A small synchronous HTTP/1.1 client (Boost.Beast behind this plain header) for the CLI client
// verbs and the server tests. One connection per request.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace varpulis::server {

struct ClientResponse {
    int status = 0;  // 0: no response (see `error`)
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string error;
    /// The first header with this (lower-case) name, or "".
    std::string header(std::string_view lower_name) const;
};

/// `http://host:port[/base]` → parts. False when it is not such a URL.
bool parse_http_url(std::string_view url, std::string& host, uint16_t& port, std::string& base_path);

class HttpClient {
public:
    HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(30));

    /// Sends one request and reads the whole response. `headers` are sent as given; a JSON
    /// body gets `Content-Type: application/json` unless a content type is given.
    ClientResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                           const std::vector<std::pair<std::string, std::string>>& headers = {}) const;

    /// Sends exactly `raw` (a whole HTTP request, possibly malformed or lying about its length)
    /// and reads what comes back until the server closes or `timeout`.
    ClientResponse raw(std::string_view raw) const;

    /// GET of a streaming response: `on_data` gets the status (first call, with empty data)
    /// and then body bytes as they arrive; return false to stop. Ends on close, error or when
    /// no byte arrives within `idle_timeout`. Returns the status (0 on a connection error).
    int stream(std::string_view target, const std::vector<std::pair<std::string, std::string>>& headers,
               const std::function<bool(int status, std::string_view data)>& on_data,
               std::chrono::milliseconds idle_timeout, std::string& error) const;

private:
    std::string host_;
    uint16_t port_;
    std::chrono::milliseconds timeout_;
};

}  // namespace varpulis::server
