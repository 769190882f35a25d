#include "server/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>

namespace varpulis::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string ClientResponse::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return v;
    return {};
}

bool parse_http_url(std::string_view url, std::string& host, uint16_t& port, std::string& base_path) {
    constexpr std::string_view kScheme = "http://";
    if (url.substr(0, kScheme.size()) != kScheme) return false;
    url.remove_prefix(kScheme.size());
    size_t slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    base_path = slash == std::string_view::npos ? "" : std::string(url.substr(slash));
    while (!base_path.empty() && base_path.back() == '/') base_path.pop_back();
    size_t colon = authority.rfind(':');
    port = 80;
    if (colon != std::string_view::npos) {
        std::string_view p = authority.substr(colon + 1);
        if (p.empty()) return false;
        unsigned v = 0;
        for (char c : p) {
            if (!std::isdigit(static_cast<unsigned char>(c))) return false;
            v = v * 10 + static_cast<unsigned>(c - '0');
            if (v > 65535) return false;
        }
        port = static_cast<uint16_t>(v);
        authority = authority.substr(0, colon);
    }
    if (authority.empty()) return false;
    host = std::string(authority);
    return true;
}

HttpClient::HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

namespace {

bool connect(net::io_context& ioc, beast::tcp_stream& stream, const std::string& host, uint16_t port,
             std::chrono::milliseconds timeout, std::string& error) {
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) {
        error = "cannot resolve " + host + ": " + ec.message();
        return false;
    }
    stream.expires_after(timeout);
    stream.connect(results, ec);
    if (ec) {
        error = "cannot connect to " + host + ":" + std::to_string(port) + ": " + ec.message();
        return false;
    }
    return true;
}

/// Synchronous operations with a deadline: run the async form on a private io_context.
template <class Op>
beast::error_code run_with_deadline(net::io_context& ioc, Op&& op) {
    beast::error_code result = net::error::would_block;
    op([&](beast::error_code ec, std::size_t) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
}

}  // namespace

ClientResponse HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                                   const std::vector<std::pair<std::string, std::string>>& headers) const {
    ClientResponse out;
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    if (!connect(ioc, stream, host_, port_, timeout_, out.error)) return out;
    http::request<http::string_body> req;
    req.method_string(std::string(method));
    req.target(std::string(target));
    req.version(11);
    req.set(http::field::host, host_ + ":" + std::to_string(port_));
    req.set(http::field::user_agent, "varpulis-cli");
    bool has_ct = false;
    for (const auto& [k, v] : headers) {
        req.set(k, v);
        std::string lower = k;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == "content-type") has_ct = true;
    }
    if (!body.empty() && !has_ct) req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
    req.keep_alive(false);
    req.prepare_payload();
    stream.expires_after(timeout_);
    beast::error_code write_ec = run_with_deadline(ioc, [&](auto handler) { http::async_write(stream, req, handler); });
    // Even when the write fails (the server answered early and closed), the answer may be
    // waiting in the receive buffer.
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    stream.expires_after(timeout_);
    beast::error_code ec = run_with_deadline(ioc, [&](auto handler) { http::async_read(stream, buffer, parser, handler); });
    if (ec) {
        out.error = (write_ec ? "write: " + write_ec.message() + "; " : std::string()) + "read: " + ec.message();
        return out;
    }
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
        std::string name(f.name_string().data(), f.name_string().size());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers.emplace_back(std::move(name), std::string(f.value().data(), f.value().size()));
    }
    out.body = std::move(res.body());
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return out;
}

/// Whatever arrives within `timeout` (at most `size` bytes) into `buf`; `n` bytes were read.
static beast::error_code read_some(net::io_context& ioc, beast::tcp_stream& stream, char* buf, std::size_t size,
                                   std::chrono::milliseconds timeout, std::size_t& n) {
    stream.expires_after(timeout);
    beast::error_code result = net::error::would_block;
    stream.async_read_some(net::buffer(buf, size), [&](beast::error_code ec, std::size_t k) {
        result = ec;
        n = k;
    });
    ioc.restart();
    ioc.run();
    return result;
}

ClientResponse HttpClient::raw(std::string_view raw) const {
    ClientResponse out;
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    if (!connect(ioc, stream, host_, port_, timeout_, out.error)) return out;
    stream.expires_after(timeout_);
    beast::error_code write_ec =
        run_with_deadline(ioc, [&](auto handler) { net::async_write(stream, net::buffer(raw.data(), raw.size()), handler); });
    std::string data;
    char buf[8192];
    for (;;) {
        std::size_t n = 0;
        beast::error_code result = read_some(ioc, stream, buf, sizeof buf, timeout_, n);
        data.append(buf, n);
        if (result) break;
    }
    out.body = data;
    if (data.rfind("HTTP/1.1 ", 0) == 0 && data.size() >= 12) out.status = std::atoi(data.substr(9, 3).c_str());
    else out.error = write_ec ? write_ec.message() : "no response";
    return out;
}

int HttpClient::stream(std::string_view target, const std::vector<std::pair<std::string, std::string>>& headers,
                       const std::function<bool(int, std::string_view)>& on_data, std::chrono::milliseconds idle_timeout,
                       std::string& error) const {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    if (!connect(ioc, stream, host_, port_, timeout_, error)) return 0;
    std::string req = "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + host_ + ":" + std::to_string(port_) +
                      "\r\nAccept: text/event-stream\r\nUser-Agent: varpulis-cli\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "\r\n";
    stream.expires_after(timeout_);
    if (auto ec = run_with_deadline(ioc, [&](auto h) { net::async_write(stream, net::buffer(req), h); })) {
        error = ec.message();
        return 0;
    }
    std::string head;
    int status = 0;
    bool in_body = false;
    char buf[8192];
    for (;;) {
        std::size_t n = 0;
        beast::error_code result = read_some(ioc, stream, buf, sizeof buf, idle_timeout, n);
        std::string_view chunk(buf, n);
        if (!in_body) {
            head.append(chunk);
            size_t end = head.find("\r\n\r\n");
            if (end != std::string::npos) {
                in_body = true;
                if (head.rfind("HTTP/1.", 0) == 0 && head.size() >= 12) status = std::atoi(head.substr(9, 3).c_str());
                if (!on_data(status, {})) return status;
                std::string rest = head.substr(end + 4);
                if (!rest.empty() && !on_data(status, rest)) return status;
            }
        } else if (n > 0) {
            if (!on_data(status, chunk)) return status;
        }
        if (result) {
            if (result != net::error::eof && result != beast::error::timeout) error = result.message();
            if (result == beast::error::timeout) error = "timeout";
            break;
        }
    }
    return status;
}

}  // namespace varpulis::server
