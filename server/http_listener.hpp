#pragma once
// An HTTP/1.1 server on a few threads, each with its own io_context and its share of the
// connections (Boost.Beast behind a pimpl). Reads the header first and sets the body limit of
// the route before reading the body (straight into one string when its length is known);
// streams SSE bodies.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/http_types.hpp"

namespace varpulis::server {

struct ListenerOptions {
    std::string bind = "127.0.0.1";
    uint16_t port = 0;  // 0: ephemeral
    int threads = 4;  // one io_context each; connections are assigned round-robin
    std::chrono::milliseconds sse_poll{50};
    std::chrono::milliseconds sse_keepalive{15000};
    std::chrono::seconds read_timeout{60};
};

/// Called on a listener thread for every complete request (or one whose body was too large);
/// must not throw (the listener answers 500 if it does).
using RequestHandler = std::function<HttpResponse(HttpRequest&)>;
/// Body limit for a request, decided from its method and path once the header is read.
using BodyLimitFn = std::function<size_t(std::string_view method, std::string_view path)>;

/// Thread-safety: start() and stop() from one controlling thread; handlers run on the pool.
class HttpListener {
public:
    HttpListener(ListenerOptions options, RequestHandler handler, BodyLimitFn body_limit);
    ~HttpListener();
    HttpListener(const HttpListener&) = delete;
    HttpListener& operator=(const HttpListener&) = delete;

    /// Binds, listens and starts the threads. False with `error` set when the address is taken.
    bool start(std::string& error);
    /// The bound port (useful with port 0).
    uint16_t port() const;
    /// Stops accepting, ends SSE streams, waits up to `drain` for requests in flight to be
    /// answered, then stops the threads. Idempotent.
    void stop(std::chrono::milliseconds drain);
    /// Requests between header received and response written.
    size_t in_flight() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace varpulis::server
