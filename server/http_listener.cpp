#include "server/http_listener.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <optional>
#include <thread>
#include <vector>

#include "server/logging.hpp"

namespace varpulis::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kMaxAnyBody = 16 * 1024 * 1024;
}  // namespace

struct HttpListener::Impl {
    ListenerOptions options;
    RequestHandler handler;
    BodyLimitFn body_limit;
    // Before the io_context: sessions destroyed with it still decrement the counter.
    std::atomic<bool> stopping{false};
    std::atomic<size_t> in_flight{0};
    // One io_context per thread, each run by its own thread: a connection's handlers all run
    // on the thread that owns it (no strand, no hand-off between threads per completion).
    // Connections are spread round-robin. The acceptor lives on the first one.
    std::vector<std::unique_ptr<net::io_context>> iocs;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
    std::unique_ptr<tcp::acceptor> acceptor;
    size_t next_ioc = 0;
    std::vector<std::thread> threads;
    uint16_t bound_port = 0;
    bool started = false;
    bool stopped = false;

    Impl(ListenerOptions o, RequestHandler h, BodyLimitFn b)
        : options(std::move(o)), handler(std::move(h)), body_limit(std::move(b)) {
        int n = std::max(1, options.threads);
        for (int i = 0; i < n; ++i) {
            iocs.push_back(std::make_unique<net::io_context>(1));
            guards.push_back(net::make_work_guard(*iocs.back()));
        }
        acceptor = std::make_unique<tcp::acceptor>(*iocs[0]);
    }
    ~Impl() {
        // The acceptor and the guards refer to the contexts: they go first.
        acceptor.reset();
        guards.clear();
        iocs.clear();
    }

    void do_accept();
    HttpResponse call_handler(HttpRequest& req) {
        try {
            return handler(req);
        } catch (const std::exception&) {
            return error_response(500, "Internal server error");
        } catch (...) {
            return error_response(500, "Internal server error");
        }
    }
};

namespace {

/// Counts a request from header received to response written (graceful shutdown waits for 0).
class InFlight {
public:
    explicit InFlight(std::atomic<size_t>& n) : n_(&n) { n_->fetch_add(1); }
    ~InFlight() { n_->fetch_sub(1); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

private:
    std::atomic<size_t>* n_;
};

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket&& socket, HttpListener::Impl& owner)
        : stream_(std::move(socket)), owner_(owner), timer_(stream_.get_executor()) {
        boost::system::error_code ec;
        // Small answers (single events) must not wait for Nagle's timer.
        stream_.socket().set_option(tcp::no_delay(true), ec);
        auto ep = stream_.socket().remote_endpoint(ec);
        if (!ec) client_ip_ = ep.address().to_string();
    }

    void run() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
    }

private:
    void do_read() {
        if (owner_.stopping) return close();
        parser_.emplace();
        parser_->header_limit(kHeaderLimit);
        // The real limit depends on the route; it is set once the header is known.
        parser_->body_limit(kMaxAnyBody);
        stream_.expires_after(owner_.options.read_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                beast::bind_front_handler(&Session::on_header, shared_from_this()));
    }

    void on_header(beast::error_code ec, std::size_t) {
        if (ec == http::error::body_limit) {
            in_flight_.emplace(owner_.in_flight);
            return reject_too_large();
        }
        if (ec) return close();
        in_flight_.emplace(owner_.in_flight);
        auto& req = parser_->get();
        std::string path;
        HeaderList query;
        split_target(std::string_view(req.target().data(), req.target().size()), path, query);
        size_t limit = owner_.body_limit(std::string_view(req.method_string().data(), req.method_string().size()), path);
        auto cl = parser_->content_length();
        if (cl && *cl > limit) return reject_too_large();
        parser_->body_limit(limit);
        if (parser_->is_done()) return on_body({}, 0);
        // curl sends `Expect: 100-continue` for larger bodies and waits a second for this.
        if (beast::iequals(req[http::field::expect], "100-continue")) {
            static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            stream_.expires_after(owner_.options.read_timeout);
            net::async_write(stream_, net::buffer(kContinue), [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (ec) return self->close();
                self->read_body();
            });
            return;
        }
        read_body();
    }

    void read_body() {
        stream_.expires_after(owner_.options.read_timeout);
        auto cl = parser_->content_length();
        if (cl && !parser_->chunked()) return read_body_direct(static_cast<size_t>(*cl));
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_body, shared_from_this()));
    }

    /// A body of known length (already checked against the route's limit) is read straight
    /// into a string of that size: a few large socket reads instead of the parser's small
    /// ones, and no copy through the parser. Bytes after the body stay in `buffer_`.
    void read_body_direct(size_t length) {
        body_.resize(length);
        size_t have = std::min(length, buffer_.size());
        if (have > 0) {
            net::buffer_copy(net::buffer(body_.data(), have), buffer_.data());
            buffer_.consume(have);
        }
        if (have == length) return on_direct_body({}, 0);
        net::async_read(stream_, net::buffer(body_.data() + have, length - have),
                        beast::bind_front_handler(&Session::on_direct_body, shared_from_this()));
    }

    void on_direct_body(beast::error_code ec, std::size_t) {
        if (ec) return close();
        auto& msg = parser_->get();
        HttpRequest req;
        fill_request(msg, req);
        req.body = std::move(body_);
        body_.clear();
        bool keep_alive = msg.keep_alive();
        HttpResponse res = owner_.call_handler(req);
        if (res.stream) return start_sse(std::move(res));
        send(std::move(res), keep_alive && !owner_.stopping, false);
    }

    void on_body(beast::error_code ec, std::size_t) {
        if (ec == http::error::body_limit) return reject_too_large();
        if (ec) return close();
        auto msg = parser_->release();
        HttpRequest req;
        fill_request(msg, req);
        req.body = std::move(msg.body());
        HttpResponse res = owner_.call_handler(req);
        if (res.stream) return start_sse(std::move(res));
        send(std::move(res), msg.keep_alive() && !owner_.stopping, false);
    }

    template <class Msg>
    void fill_request(const Msg& msg, HttpRequest& req) {
        req.method.assign(msg.method_string().data(), msg.method_string().size());
        req.target.assign(msg.target().data(), msg.target().size());
        split_target(req.target, req.path, req.query);
        for (const auto& f : msg) {
            std::string name(f.name_string().data(), f.name_string().size());
            for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            req.headers.emplace_back(std::move(name), std::string(f.value().data(), f.value().size()));
        }
        req.client_ip = client_ip_;
    }

    /// 413, then a lingering close: the client may still be sending the body, and closing at
    /// once would reset the connection before it reads the answer.
    void reject_too_large() {
        HttpRequest req;
        fill_request(parser_->get(), req);
        req.body_too_large = true;
        HttpResponse res = owner_.call_handler(req);
        send(std::move(res), false, true);
    }

    void send(HttpResponse res, bool keep_alive, bool linger) {
        auto out = std::make_shared<http::response<http::string_body>>();
        out->result(static_cast<unsigned>(res.status));
        out->version(11);
        out->set(http::field::server, "varpulis");
        if (!res.content_type.empty()) out->set(http::field::content_type, res.content_type);
        for (auto& [k, v] : res.headers) out->set(k, v);
        out->body() = std::move(res.body);
        out->keep_alive(keep_alive);
        out->prepare_payload();
        response_ = out;
        stream_.expires_after(std::chrono::seconds(30));
        http::async_write(stream_, *out, [self = shared_from_this(), keep_alive, linger](beast::error_code ec, std::size_t) {
            self->response_.reset();
            self->in_flight_.reset();
            if (ec) return self->close();
            if (linger) return self->linger();
            if (!keep_alive) return self->close();
            self->do_read();
        });
    }

    void linger() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        discard_.resize(64 * 1024);
        stream_.expires_after(std::chrono::seconds(5));
        do_discard();
    }

    void do_discard() {
        stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            self->do_discard();
        });
    }

    void start_sse(HttpResponse res) {
        sse_ = std::move(res.stream);
        out_ = "HTTP/1.1 200 OK\r\nServer: varpulis\r\nContent-Type: text/event-stream\r\n"
               "Cache-Control: no-cache\r\nConnection: close\r\n";
        for (auto& [k, v] : res.headers) out_ += k + ": " + v + "\r\n";
        out_ += "\r\n: connected\n\n";
        // A log stream is long-lived by design; it must not hold up a graceful shutdown.
        in_flight_.reset();
        last_write_ = std::chrono::steady_clock::now();
        sse_write(true);
    }

    void sse_write(bool more) {
        stream_.expires_after(std::chrono::seconds(30));
        net::async_write(stream_, net::buffer(out_), [self = shared_from_this(), more](beast::error_code ec, std::size_t) {
            if (ec || !more) return self->close();
            self->out_.clear();
            self->last_write_ = std::chrono::steady_clock::now();
            self->sse_wait();
        });
    }

    void sse_wait() {
        stream_.expires_never();
        timer_.expires_after(owner_.options.sse_poll);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec) return self->close();
            self->sse_tick();
        });
    }

    void sse_tick() {
        if (owner_.stopping) return close();
        bool alive = true;
        try {
            alive = sse_->pull(out_);
        } catch (...) {
            alive = false;
        }
        if (out_.empty() && std::chrono::steady_clock::now() - last_write_ >= owner_.options.sse_keepalive)
            out_ = ": keep-alive\n\n";
        if (!out_.empty() || !alive) return sse_write(alive);
        sse_wait();
    }

    void close() {
        beast::error_code ec;
        timer_.cancel();
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
        in_flight_.reset();
    }

    beast::tcp_stream stream_;
    HttpListener::Impl& owner_;
    net::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::string body_;
    std::shared_ptr<void> response_;
    std::optional<InFlight> in_flight_;
    std::string client_ip_;
    std::shared_ptr<EventStreamSource> sse_;
    std::string out_;
    std::vector<char> discard_;
    std::chrono::steady_clock::time_point last_write_;
};

}  // namespace

void HttpListener::Impl::do_accept() {
    net::io_context& target = *iocs[next_ioc++ % iocs.size()];
    acceptor->async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || stopping) return;
        if (!ec) std::make_shared<Session>(std::move(socket), *this)->run();
        do_accept();
    });
}

HttpListener::HttpListener(ListenerOptions options, RequestHandler handler, BodyLimitFn body_limit)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(body_limit))) {}

HttpListener::~HttpListener() { stop(std::chrono::milliseconds(0)); }

bool HttpListener::start(std::string& error) {
    auto& im = *impl_;
    beast::error_code ec;
    auto address = net::ip::make_address(im.options.bind, ec);
    if (ec) {
        error = "invalid bind address `" + im.options.bind + "`";
        return false;
    }
    tcp::endpoint ep(address, im.options.port);
    auto& acceptor = *im.acceptor;
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        error = "cannot listen on " + im.options.bind + ":" + std::to_string(im.options.port) + ": " + ec.message();
        return false;
    }
    im.bound_port = acceptor.local_endpoint().port();
    im.do_accept();
    for (auto& ioc_ptr : im.iocs) {
        net::io_context* ioc = ioc_ptr.get();
        im.threads.emplace_back([ioc] {
            // An exception thrown by a completion handler unwinds out of run(); the session it
            // came from is dropped, and the thread goes back to serving the others.
            for (;;) {
                try {
                    ioc->run();
                    return;
                } catch (const std::exception& e) {
                    log_error("HTTP worker caught an exception", {{"error", e.what()}});
                } catch (...) {
                    log_error("HTTP worker caught an unknown exception");
                }
            }
        });
    }
    im.started = true;
    return true;
}

uint16_t HttpListener::port() const { return impl_->bound_port; }

size_t HttpListener::in_flight() const { return impl_->in_flight.load(); }

void HttpListener::stop(std::chrono::milliseconds drain) {
    auto& im = *impl_;
    if (im.stopped) return;
    im.stopped = true;
    im.stopping = true;
    if (im.started) {
        net::post(im.acceptor->get_executor(), [&im] {
            beast::error_code ec;
            im.acceptor->close(ec);
        });
        auto deadline = std::chrono::steady_clock::now() + drain;
        while (im.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (auto& ioc : im.iocs) ioc->stop();
    for (auto& t : im.threads)
        if (t.joinable()) t.join();
    im.threads.clear();
}

}  // namespace varpulis::server
