#pragma once
// An in-process `varpulis server` on an ephemeral loopback port with its state in a fresh
// temporary directory, and a small JSON-speaking client. Real sockets, real RocksDB.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server/http_client.hpp"
#include "server/server.hpp"

namespace varpulis::server::testing {

namespace json = boost::json;

inline constexpr const char* kAdminKey = "test-admin-key";

/// A temporary directory removed at the end of the test.
class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() / ("varpulis-server-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string str() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

struct Reply {
    int status = 0;
    json::value body;
    std::string text;
    ClientResponse raw;
    const json::object& obj() const {
        static const json::object kEmpty;
        return body.is_object() ? body.as_object() : kEmpty;
    }
    std::string str(const char* key) const {
        auto it = obj().find(key);
        return it != obj().end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
    }
    int64_t num(const char* key) const {
        auto it = obj().find(key);
        if (it == obj().end()) return -1;
        if (it->value().is_int64()) return it->value().as_int64();
        if (it->value().is_uint64()) return static_cast<int64_t>(it->value().as_uint64());
        return -1;
    }
};

inline ServerOptions test_options(const std::string& state_dir) {
    ServerOptions o;
    o.port = 0;
    o.api_key = kAdminKey;
    o.state_dir = state_dir;
    o.checkpoint_interval_s = 0;
    o.jit = false;
    o.threads = 4;
    o.sse_keepalive_ms = 200;
    o.log_level = "warn";
    return o;
}

/// A running server and a client for it.
class Harness {
public:
    explicit Harness(ServerOptions o) : server_(std::make_unique<Server>(std::move(o))) {
        std::string error;
        started_ = server_->start(error);
        EXPECT_TRUE(started_) << "server did not start: " << error;
        client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port(), std::chrono::seconds(60));
    }
    Server& server() { return *server_; }
    HttpClient& client() { return *client_; }
    bool started() const { return started_; }
    void stop() { server_->stop(); }

    Reply call(const std::string& method, const std::string& target, const std::string& body = {},
               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        Reply r;
        r.raw = client_->request(method, target, body, headers);
        r.status = r.raw.status;
        r.text = r.raw.body;
        boost::system::error_code ec;
        r.body = json::parse(r.text, ec);
        if (ec) r.body = nullptr;
        return r;
    }
    Reply as(const std::string& key, const std::string& method, const std::string& target, const std::string& body = {}) {
        return call(method, target, body, {{"X-API-Key", key}});
    }
    Reply admin(const std::string& method, const std::string& target, const std::string& body = {}) {
        return call(method, target, body, {{"X-Admin-Key", kAdminKey}});
    }

    /// Deploys `source` as the tenant with `key`; the new pipeline's id (fails the test otherwise).
    std::string deploy(const std::string& key, const std::string& name, const std::string& source) {
        json::object b;
        b["name"] = name;
        b["source"] = source;
        Reply r = as(key, "POST", "/api/v1/pipelines", json::serialize(b));
        EXPECT_EQ(r.status, 201) << r.text;
        return r.str("id");
    }
    /// Creates a tenant; its API key.
    std::string tenant(const std::string& name, const std::string& tier = "") {
        json::object b;
        b["name"] = name;
        if (!tier.empty()) b["quota_tier"] = tier;
        Reply r = admin("POST", "/api/v1/tenants", json::serialize(b));
        EXPECT_EQ(r.status, 201) << r.text;
        return r.str("api_key");
    }
    Reply inject(const std::string& key, const std::string& id, const std::string& event_json) {
        return as(key, "POST", "/api/v1/pipelines/" + id + "/events", event_json);
    }

private:
    std::unique_ptr<Server> server_;
    std::unique_ptr<HttpClient> client_;
    bool started_ = false;
};

/// `{"event_type": type, "fields": fields}`.
inline std::string event(const std::string& type, const std::string& fields_json) {
    return "{\"event_type\": \"" + type + "\", \"fields\": " + fields_json + "}";
}

/// The `output_events` array of a reply.
inline const json::array& outputs(const Reply& r) {
    static const json::array kEmpty;
    auto it = r.obj().find("output_events");
    return it != r.obj().end() && it->value().is_array() ? it->value().as_array() : kEmpty;
}

}  // namespace varpulis::server::testing
