#pragma once
// Plain request/response types between the Beast listener and the API handlers, so that
// only http_listener.cpp sees Beast.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace varpulis::server {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
    std::string method;         // upper case, as sent
    std::string target;         // path and query, as sent
    std::string path;           // target without the query, percent-decoded
    HeaderList query;           // decoded query parameters in order
    HeaderList headers;         // names lower-cased
    std::string body;
    std::string client_ip;
    std::string request_id;
    /// Set by the listener when the body exceeds the route's limit; the body is then empty
    /// and the handler answers 413.
    bool body_too_large = false;

    const std::string* header(std::string_view lower_name) const;
    const std::string* query_param(std::string_view name) const;
};

/// A Server-Sent Events body. The listener calls pull() from one of its threads every few
/// tens of milliseconds and sends what was appended; pull() must not block.
class EventStreamSource {
public:
    virtual ~EventStreamSource() = default;
    /// Appends ready SSE text to `out`; false once the stream is over (after a final append).
    virtual bool pull(std::string& out) = 0;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    HeaderList headers;
    /// When set, the response is an SSE stream (`text/event-stream`) and `body` is ignored.
    std::shared_ptr<EventStreamSource> stream;
};

/// A JSON response with `body` as given.
HttpResponse json_response(int status, std::string body);
/// `{"error": message}` or `{"error": message, "code": code}` (FORMATS §5.2).
HttpResponse error_response(int status, std::string_view message, std::string_view code = {});

/// Splits `target` into path and query and percent-decodes both. False when the target
/// is not an origin-form path.
bool split_target(std::string_view target, std::string& path, HeaderList& query);

}  // namespace varpulis::server
