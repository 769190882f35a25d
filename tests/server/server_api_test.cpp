// Every REST endpoint of FORMATS §5 through a real socket: success and error paths, auth,
// tenant isolation, quotas, limits, CORS.

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "tests/server/server_fixture.hpp"

namespace varpulis::server::testing {
namespace {

constexpr const char* kFilter = "stream Big = Trade.where(qty >= 100).emit(sym: sym, notional: px * qty)";

class ServerApiTest : public ::testing::Test {
protected:
    TempDir dir;
    Harness h{test_options(dir.str())};
    const std::string key = kAdminKey;  // the `default` tenant's key is the admin key
};

TEST_F(ServerApiTest, HealthAndReady) {
    Reply r = h.call("GET", "/health");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.str("status"), "healthy");
    EXPECT_TRUE(r.obj().contains("uptime_seconds") && r.obj().at("uptime_seconds").is_number()) << r.text;
    EXPECT_FALSE(r.str("version").empty());
    r = h.call("GET", "/ready");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.str("status"), "ready");
    EXPECT_EQ(r.obj().at("engine_loaded"), false) << r.text;
    h.deploy(key, "p", kFilter);
    r = h.call("GET", "/ready");
    EXPECT_EQ(r.obj().at("engine_loaded"), true) << r.text;
    EXPECT_EQ(r.num("streams_count"), 1) << r.text;
}

TEST_F(ServerApiTest, DeployListGetDeleteInCreationOrder) {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(h.deploy(key, "p" + std::to_string(i), kFilter));
    Reply r = h.as(key, "GET", "/api/v1/pipelines?limit=2&offset=1");
    ASSERT_EQ(r.status, 200) << r.text;
    const auto& items = r.obj().at("pipelines").as_array();
    ASSERT_EQ(items.size(), 2u) << r.text;
    EXPECT_EQ(items[0].as_object().at("id").as_string(), ids[1]);
    EXPECT_EQ(items[1].as_object().at("id").as_string(), ids[2]);
    EXPECT_EQ(r.num("total"), 3);
    const auto& page = r.obj().at("pagination").as_object();
    EXPECT_EQ(page.at("total").to_number<double>(), 3.0);
    EXPECT_EQ(page.at("limit").as_int64(), 2);
    EXPECT_EQ(page.at("offset").as_int64(), 1);
    EXPECT_EQ(page.at("has_more").as_bool(), false);
    r = h.as(key, "GET", "/api/v1/pipelines?limit=1");
    EXPECT_EQ(r.obj().at("pagination").as_object().at("has_more").as_bool(), true) << r.text;

    r = h.as(key, "GET", "/api/v1/pipelines/" + ids[0]);
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.str("id"), ids[0]);
    EXPECT_EQ(r.str("name"), "p0");
    EXPECT_EQ(r.str("status"), "running");
    EXPECT_EQ(r.str("source"), kFilter);
    EXPECT_GE(r.num("uptime_secs"), 0);

    r = h.as(key, "DELETE", "/api/v1/pipelines/" + ids[0]);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.obj().at("deleted"), true) << r.text;
    r = h.as(key, "GET", "/api/v1/pipelines/" + ids[0]);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.str("code"), "pipeline_not_found");
    EXPECT_EQ(r.str("error"), "pipeline not found: " + ids[0]);
    r = h.as(key, "DELETE", "/api/v1/pipelines/" + ids[0]);
    EXPECT_EQ(r.status, 404);
}

TEST_F(ServerApiTest, CreateRejectsBadBodies) {
    Reply r = h.as(key, "POST", "/api/v1/pipelines", "{not json");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.str("error").rfind("Invalid request body: ", 0), 0u) << r.text;
    EXPECT_FALSE(r.obj().contains("code")) << r.text;
    r = h.as(key, "POST", "/api/v1/pipelines", R"({"name": "x"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.str("error").find("source"), std::string::npos) << r.text;
    r = h.as(key, "POST", "/api/v1/pipelines", R"({"name": 5, "source": "x"})");
    EXPECT_EQ(r.status, 400) << r.text;
    r = h.call("POST", "/api/v1/pipelines", R"({"name": "x", "source": "y"})",
               {{"X-API-Key", key}, {"Content-Type", "text/plain"}});
    EXPECT_EQ(r.status, 415);
    EXPECT_EQ(r.str("error"), "Unsupported media type");
}

TEST_F(ServerApiTest, ParseErrorsCarryLineAndColumn) {
    Reply r = h.as(key, "POST", "/api/v1/pipelines", R"J({"name": "bad", "source": "stream A = X\nstream B = Trade.where(v > > 1)"})J");
    ASSERT_EQ(r.status, 400) << r.text;
    EXPECT_EQ(r.str("code"), "parse_error");
    EXPECT_EQ(r.num("line"), 2);
    EXPECT_GT(r.num("column"), 1);
    std::string prefix = "parse error: 2:" + std::to_string(r.num("column")) + ": ";
    EXPECT_EQ(r.str("error").rfind(prefix, 0), 0u) << r.text;
    // Checker errors are reported the same way.
    r = h.as(key, "POST", "/api/v1/pipelines", R"J({"name": "bad", "source": "stream A = Trade.where(nosuchfn(x) > 1)"})J");
    ASSERT_EQ(r.status, 400) << r.text;
    EXPECT_EQ(r.str("code"), "parse_error");
    EXPECT_EQ(r.num("line"), 1);
    EXPECT_NE(r.str("error").find("nosuchfn"), std::string::npos) << r.text;
    // Nothing was deployed.
    EXPECT_EQ(h.as(key, "GET", "/api/v1/pipelines").num("total"), 0);
}

TEST_F(ServerApiTest, AuthenticationErrors) {
    std::string id = h.deploy(key, "p", kFilter);
    Reply r = h.call("GET", "/api/v1/pipelines");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.str("code"), "missing_api_key");
    EXPECT_EQ(r.str("error"), "Missing API key");
    r = h.as("wrong", "GET", "/api/v1/pipelines");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.str("code"), "invalid_api_key");
    EXPECT_EQ(r.str("error"), "Invalid API key");
    r = h.as("wrong", "GET", "/api/v1/pipelines/" + id + "/logs");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.str("code"), "invalid_key");
    r = h.as("wrong", "GET", "/api/v1/usage");
    EXPECT_EQ(r.status, 401);
}

TEST_F(ServerApiTest, TenantsAreIsolated) {
    std::string a = h.tenant("alice");
    std::string b = h.tenant("bob");
    ASSERT_FALSE(a.empty());
    ASSERT_NE(a, b);
    std::string id = h.deploy(a, "alice-p", kFilter);
    EXPECT_EQ(h.as(b, "GET", "/api/v1/pipelines").num("total"), 0);
    EXPECT_EQ(h.as(b, "GET", "/api/v1/pipelines/" + id).status, 404);
    EXPECT_EQ(h.inject(b, id, event("Trade", R"({"sym": "A", "px": 1.0, "qty": 100})")).status, 404);
    EXPECT_EQ(h.as(b, "POST", "/api/v1/pipelines/" + id + "/checkpoint").status, 404);
    EXPECT_EQ(h.as(b, "POST", "/api/v1/pipelines/" + id + "/reload", R"({"source": "stream X = Y"})").status, 404);
    EXPECT_EQ(h.as(b, "GET", "/api/v1/pipelines/" + id + "/metrics").status, 404);
    EXPECT_EQ(h.as(b, "DELETE", "/api/v1/pipelines/" + id).status, 404);
    EXPECT_EQ(h.as(a, "GET", "/api/v1/pipelines/" + id).status, 200);
    // Usage counts per tenant.
    EXPECT_EQ(h.inject(a, id, event("Trade", R"({"sym": "A", "px": 1.0, "qty": 100})")).status, 200);
    EXPECT_EQ(h.as(a, "GET", "/api/v1/usage").num("events_processed"), 1);
    EXPECT_EQ(h.as(b, "GET", "/api/v1/usage").num("events_processed"), 0);
}

TEST_F(ServerApiTest, TenantAdministration) {
    Reply r = h.call("POST", "/api/v1/tenants", R"({"name": "t"})");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.str("code"), "invalid_admin_key");
    r = h.call("GET", "/api/v1/tenants", {}, {{"X-Admin-Key", "nope"}});
    EXPECT_EQ(r.status, 401);

    r = h.admin("POST", "/api/v1/tenants", R"({"name": "acme", "quota_tier": "pro"})");
    ASSERT_EQ(r.status, 201) << r.text;
    std::string tid = r.str("id");
    EXPECT_EQ(r.str("name"), "acme");
    EXPECT_FALSE(r.str("api_key").empty());
    const auto& q = r.obj().at("quota").as_object();
    EXPECT_EQ(q.at("max_pipelines").as_int64(), 20);
    EXPECT_EQ(q.at("max_events_per_second").as_int64(), 50000);
    EXPECT_EQ(q.at("max_streams_per_pipeline").as_int64(), 100);
    r = h.admin("POST", "/api/v1/tenants", R"({"name": "acme"})");
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(r.str("code"), "already_exists");
    r = h.admin("POST", "/api/v1/tenants", R"({"name": "x", "quota_tier": "platinum"})");
    EXPECT_EQ(r.status, 400) << r.text;

    r = h.admin("GET", "/api/v1/tenants");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.num("total"), 2);  // default + acme, in creation order
    EXPECT_EQ(r.obj().at("tenants").as_array()[0].as_object().at("name").as_string(), "default");
    EXPECT_EQ(r.obj().at("tenants").as_array()[1].as_object().at("name").as_string(), "acme");
    EXPECT_TRUE(r.obj().contains("pagination"));

    r = h.admin("GET", "/api/v1/tenants/" + tid);
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.str("id"), tid);
    EXPECT_TRUE(r.obj().contains("usage")) << r.text;
    EXPECT_EQ(r.num("pipeline_count"), 0);
    r = h.admin("DELETE", "/api/v1/tenants/" + tid);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.obj().at("deleted"), true);
    r = h.admin("GET", "/api/v1/tenants/" + tid);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.str("code"), "tenant_not_found");
}

TEST(ServerAdminDisabledTest, NoApiKeyMeansAdminDisabled) {
    TempDir dir;
    auto o = test_options(dir.str());
    o.api_key.clear();
    Harness h(o);
    Reply r = h.call("GET", "/api/v1/tenants", {}, {{"X-Admin-Key", "anything"}});
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.str("code"), "admin_disabled");
}

TEST_F(ServerApiTest, InjectEventReturnsOutputsWithStreamAndTimestamp) {
    std::string id = h.deploy(key, "p", kFilter);
    Reply r = h.inject(key, id, R"({"event_type": "Trade", "fields": {"sym": "ACME", "px": 2.5, "qty": 100}, "timestamp": 1500})");
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.obj().at("accepted"), true);
    ASSERT_EQ(outputs(r).size(), 1u) << r.text;
    const auto& o = outputs(r)[0].as_object();
    EXPECT_EQ(o.at("stream").as_string(), "Big");
    EXPECT_EQ(o.at("event_type").as_string(), "Big");
    EXPECT_EQ(o.at("timestamp").as_int64(), 1500);
    EXPECT_EQ(o.at("fields").as_object().at("sym").as_string(), "ACME");
    EXPECT_DOUBLE_EQ(o.at("fields").as_object().at("notional").as_double(), 250.0);
    // `data` instead of `fields`; no timestamp → arrival time.
    r = h.inject(key, id, R"({"event_type": "Trade", "data": {"sym": "B", "px": 1, "qty": 200}})");
    ASSERT_EQ(outputs(r).size(), 1u) << r.text;
    EXPECT_GT(outputs(r)[0].as_object().at("timestamp").as_int64(), 1600000000000) << r.text;
    // Filtered out; an event type no stream reads.
    EXPECT_EQ(outputs(h.inject(key, id, event("Trade", R"({"sym": "C", "px": 1, "qty": 1})"))).size(), 0u);
    // An event type no stream reads (a misspelt type, most often) is a clear 400, not processed.
    r = h.inject(key, id, event("Quote", R"({"x": 1})"));
    EXPECT_EQ(r.status, 400) << r.text;
    EXPECT_EQ(r.str("code"), "unknown_event_type") << r.text;
    EXPECT_NE(r.str("error").find("`Quote`"), std::string::npos) << r.text;
    Reply m = h.as(key, "GET", "/api/v1/pipelines/" + id + "/metrics");
    ASSERT_EQ(m.status, 200);
    EXPECT_EQ(m.str("pipeline_id"), id);
    EXPECT_EQ(m.num("events_processed"), 3);
    EXPECT_EQ(m.num("output_events_emitted"), 2);
}

TEST_F(ServerApiTest, BadEventsAreClear4xxAndTheServerKeepsServing) {
    std::string id = h.deploy(key, "p", kFilter);
    struct Case {
        const char* body;
        int status;
    };
    std::string deep = "{\"event_type\": \"Trade\", \"fields\": {\"a\": " + std::string(40, '[') + std::string(40, ']') + "}}";
    std::string many = "{\"event_type\": \"Trade\", \"fields\": {";
    for (int i = 0; i < 1100; ++i) many += (i ? ", \"f" : "\"f") + std::to_string(i) + "\": 1";
    many += "}}";
    std::string long_string = "{\"event_type\": \"Trade\", \"fields\": {\"s\": \"" + std::string(300 * 1024, 'x') + "\"}}";
    std::vector<std::pair<std::string, int>> cases = {
        {"{bad json", 400},
        {"[]", 400},
        {R"({"fields": {"a": 1}})", 400},
        {R"({"event_type": 5, "fields": {}})", 400},
        {R"({"event_type": "Trade", "fields": [1, 2]})", 400},
        {R"({"event_type": "Trade", "fields": {}, "data": {}})", 400},
        {deep, 400},
        {many, 400},
        {long_string, 400},
        {R"({"event_type": "Trade", "fields": {"px": 1e400}})", 400},
        {R"({"event_type": "Trade", "fields": {"sym": "A", "px": 1.5, "qty": 123456789012345678901234567890}})", 200},
    };
    for (const auto& [body, status] : cases) {
        Reply r = h.inject(key, id, body);
        EXPECT_EQ(r.status, status) << body.substr(0, 200) << " → " << r.text;
        if (status == 400) {
            EXPECT_EQ(r.str("error").rfind("Invalid request body", 0), 0u) << r.text;
        }
    }
    Reply r = h.inject(key, id, event("Trade", R"({"sym": "A", "px": 1.0, "qty": 100})"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(outputs(r).size(), 1u);
}

TEST_F(ServerApiTest, EventsBatchReturnsFlatOutputs) {
    std::string id = h.deploy(key, "p",
                              "stream Big = Trade.where(qty >= 100).emit(event_type: \"Large\", sym: sym, qty: qty)");
    Reply r = h.as(key, "POST", "/api/v1/pipelines/" + id + "/events-batch",
                   R"({"events": [{"event_type": "Trade", "fields": {"sym": "A", "qty": 100}},
                                  {"fields": {"missing": "type"}},
                                  {"event_type": "Quote", "fields": {"unread": "type"}},
                                  {"event_type": "Trade", "fields": {"sym": "B", "qty": 1}},
                                  {"event_type": "Trade", "fields": {"sym": "C", "qty": 500}, "timestamp": 42}]})");
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.num("accepted"), 3) << "the malformed event and the unread type are skipped";
    EXPECT_GE(r.num("processing_time_us"), 0);
    ASSERT_EQ(outputs(r).size(), 2u) << r.text;
    const auto& o = outputs(r)[1].as_object();
    EXPECT_EQ(o.at("event_type").as_string(), "Large");
    EXPECT_EQ(o.at("sym").as_string(), "C");
    EXPECT_EQ(o.at("qty").as_int64(), 500);
    EXPECT_EQ(o.at("stream").as_string(), "Big");
    EXPECT_EQ(o.at("timestamp").as_int64(), 42);
    EXPECT_FALSE(o.contains("fields"));
    r = h.as(key, "POST", "/api/v1/pipelines/" + id + "/events-batch", R"({"evts": []})");
    EXPECT_EQ(r.status, 400) << r.text;
    r = h.as(key, "POST", "/api/v1/pipelines/" + id + "/events-batch", R"({"events": []})");
    EXPECT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.num("accepted"), 0);
}

TEST_F(ServerApiTest, QuotasPerTier) {
    std::string free_key = h.tenant("small", "free");
    h.deploy(free_key, "a", kFilter);
    h.deploy(free_key, "b", kFilter);
    Reply r = h.as(free_key, "POST", "/api/v1/pipelines", json::serialize(json::object{{"name", "c"}, {"source", kFilter}}));
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.str("code"), "quota_exceeded");
    EXPECT_EQ(r.str("error"), "quota exceeded: max pipelines (2) reached");

    std::string pro_key = h.tenant("mid", "free");
    std::string six;
    for (int i = 0; i < 6; ++i) six += "stream S" + std::to_string(i) + " = T.where(x > " + std::to_string(i) + ")\n";
    r = h.as(pro_key, "POST", "/api/v1/pipelines", json::serialize(json::object{{"name", "six"}, {"source", six}}));
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.str("error"), "quota exceeded: pipeline has 6 streams, max is 5");

    // 100 events/s for the free tier: a batch of 150 is refused whole.
    std::string id = h.deploy(pro_key, "p", kFilter);
    std::string batch = "{\"events\": [";
    for (int i = 0; i < 150; ++i) batch += (i ? "," : "") + event("Trade", R"({"qty": 1})");
    batch += "]}";
    r = h.as(pro_key, "POST", "/api/v1/pipelines/" + id + "/events-batch", batch);
    EXPECT_EQ(r.status, 429) << r.text;
    EXPECT_EQ(r.str("code"), "rate_limited");
    EXPECT_EQ(r.str("error"), "rate limit exceeded");
    EXPECT_EQ(h.as(pro_key, "GET", "/api/v1/pipelines/" + id + "/metrics").num("events_processed"), 0);

    r = h.as(free_key, "GET", "/api/v1/usage");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.num("active_pipelines"), 2);
    EXPECT_EQ(r.obj().at("quota").as_object().at("max_pipelines").as_int64(), 2);
    EXPECT_FALSE(r.str("tenant_id").empty());
}

TEST_F(ServerApiTest, PaginationLimits) {
    Reply r = h.as(key, "GET", "/api/v1/pipelines?limit=1001");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.str("code"), "invalid_limit");
    r = h.as(key, "GET", "/api/v1/pipelines?limit=abc");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.str("error"), "Invalid query parameters");
    r = h.admin("GET", "/api/v1/tenants?limit=5000");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.str("code"), "invalid_limit");
}

TEST_F(ServerApiTest, UnknownRoutesAndMethods) {
    Reply r = h.call("GET", "/nope");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.text, R"({"error": "Not found"})");
    r = h.call("PUT", "/api/v1/pipelines");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.str("error"), "Method not allowed");
}

TEST_F(ServerApiTest, CorsPreflightAndRequestIds) {
    Reply r = h.call("OPTIONS", "/api/v1/pipelines", {},
                     {{"Origin", "http://example.com"}, {"Access-Control-Request-Method", "POST"}});
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(r.raw.header("access-control-allow-origin"), "*");
    EXPECT_NE(r.raw.header("access-control-allow-methods").find("DELETE"), std::string::npos);
    EXPECT_NE(r.raw.header("access-control-allow-headers").find("x-api-key"), std::string::npos);
    r = h.call("GET", "/health");
    EXPECT_EQ(r.raw.header("access-control-allow-origin"), "*");
    std::string id1 = r.raw.header("x-request-id");
    std::string id2 = h.call("GET", "/health").raw.header("x-request-id");
    EXPECT_FALSE(id1.empty());
    EXPECT_NE(id1, id2);
    EXPECT_EQ(h.call("GET", "/health", {}, {{"X-Request-Id", "trace-42"}}).raw.header("x-request-id"), "trace-42");
    EXPECT_NE(h.call("GET", "/health", {}, {{"X-Request-Id", "bad id with spaces"}}).raw.header("x-request-id"),
              "bad id with spaces");
}

TEST_F(ServerApiTest, BodyLimitsAnswer413) {
    std::string id = h.deploy(key, "p", kFilter);
    // Declared too large: refused from the header alone.
    ClientResponse raw = h.client().raw("POST /api/v1/pipelines/" + id + "/events HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key +
                                        "\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{}");
    EXPECT_EQ(raw.status, 413) << raw.body << raw.error;
    EXPECT_NE(raw.body.find("Request payload too large"), std::string::npos);
    // Really sent: 1.5 MiB to a 1 MiB route.
    std::string big = "{\"event_type\": \"Trade\", \"fields\": {\"pad\": \"" + std::string(1536 * 1024, 'x') + "\"}}";
    Reply r = h.inject(key, id, big);
    EXPECT_EQ(r.status, 413) << r.raw.error;
    EXPECT_EQ(r.str("error"), "Request payload too large");
    // The same size is fine where the limit is 16 MiB.
    std::string batch = "{\"events\": [";
    for (int i = 0; i < 12; ++i) batch += (i ? "," : "") + event("Trade", "{\"pad\": \"" + std::string(128 * 1024, 'y') + "\", \"qty\": 100}");
    batch += "]}";
    ASSERT_GT(batch.size(), 1024u * 1024u);
    r = h.as(key, "POST", "/api/v1/pipelines/" + id + "/events-batch", batch);
    EXPECT_EQ(r.status, 200) << r.text.substr(0, 300);
    EXPECT_EQ(r.num("accepted"), 12);
    // And the server still serves.
    EXPECT_EQ(h.call("GET", "/health").status, 200);
}

TEST_F(ServerApiTest, MalformedHttpNeverStopsTheServer) {
    std::string id = h.deploy(key, "p", kFilter);
    h.client().raw("garbage that is not HTTP\r\n\r\n");
    h.client().raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    h.client().raw("POST /api/v1/pipelines HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
    // A body shorter than announced: the server waits for the rest; this client gives up.
    HttpClient impatient("127.0.0.1", h.server().port(), std::chrono::milliseconds(500));
    impatient.raw("POST /api/v1/pipelines HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort");
    // A chunked body has no length up front: the limit applies while reading it.
    std::string chunk(1100 * 1024, 'z');
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
    ClientResponse r = h.client().raw("POST /api/v1/pipelines/" + id + "/events HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key +
                                      "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                      size_line + chunk + "\r\n0\r\n\r\n");
    EXPECT_EQ(r.status, 413) << r.body.substr(0, 200) << r.error;
    EXPECT_EQ(h.call("GET", "/health").status, 200);
    EXPECT_EQ(outputs(h.inject(key, id, event("Trade", R"({"sym": "A", "px": 1.0, "qty": 100})"))).size(), 1u);
}

TEST_F(ServerApiTest, ConcurrentInjectionCountsExactly) {
    std::string shared = h.deploy(key, "shared", kFilter);
    std::vector<std::string> own;
    for (int t = 0; t < 4; ++t) own.push_back(h.deploy(key, "own" + std::to_string(t), kFilter));
    constexpr int kPerThread = 100;
    std::atomic<int> errors{0}, outs{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            HttpClient c("127.0.0.1", h.server().port(), std::chrono::seconds(60));
            for (int i = 0; i < kPerThread; ++i) {
                for (const std::string& id : {shared, own[t]}) {
                    auto r = c.request("POST", "/api/v1/pipelines/" + id + "/events",
                                       event("Trade", R"({"sym": "A", "px": 1.0, "qty": 100})"), {{"X-API-Key", kAdminKey}});
                    if (r.status != 200) ++errors;
                    else if (r.body.find("\"stream\": \"Big\"") != std::string::npos) ++outs;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(outs.load(), 8 * kPerThread);
    Reply m = h.as(key, "GET", "/api/v1/pipelines/" + shared + "/metrics");
    EXPECT_EQ(m.num("events_processed"), 4 * kPerThread);
    EXPECT_EQ(m.num("output_events_emitted"), 4 * kPerThread);
    for (const auto& id : own) EXPECT_EQ(h.as(key, "GET", "/api/v1/pipelines/" + id + "/metrics").num("events_processed"), kPerThread);
    EXPECT_EQ(h.as(key, "GET", "/api/v1/usage").num("events_processed"), 8 * kPerThread);
}

TEST(ServerRateLimitTest, PerIpTokenBucketAnswers429WithHeaders) {
    TempDir dir;
    auto o = test_options(dir.str());
    o.rate_limit = 2;
    Harness h(o);
    int ok = 0, limited = 0;
    ClientResponse last_limited;
    for (int i = 0; i < 12; ++i) {
        Reply r = h.call("GET", "/api/v1/usage", {}, {{"X-API-Key", kAdminKey}});
        if (r.status == 429) {
            ++limited;
            last_limited = r.raw;
        } else if (r.status == 200) {
            ++ok;
            EXPECT_EQ(r.raw.header("x-ratelimit-limit"), "2");
        }
    }
    EXPECT_GE(ok, 2);
    EXPECT_GE(limited, 1);
    EXPECT_EQ(last_limited.header("x-ratelimit-limit"), "2");
    EXPECT_EQ(last_limited.header("x-ratelimit-remaining"), "0");
    EXPECT_FALSE(last_limited.header("retry-after").empty());
    // Health checks are never limited.
    for (int i = 0; i < 5; ++i) EXPECT_EQ(h.call("GET", "/health").status, 200);
}

TEST_F(ServerApiTest, CheckpointAndRestoreThroughRest) {
    std::string id = h.deploy(key, "w", "stream Sum = M.window(3).aggregate(total: sum(v)).emit(total: total)");
    for (int v : {1, 2}) ASSERT_EQ(h.inject(key, id, event("M", "{\"v\": " + std::to_string(v) + "}")).status, 200);
    Reply cp = h.as(key, "POST", "/api/v1/pipelines/" + id + "/checkpoint");
    ASSERT_EQ(cp.status, 200) << cp.text;
    EXPECT_EQ(cp.str("pipeline_id"), id);
    EXPECT_EQ(cp.num("events_processed"), 2);
    json::object checkpoint = cp.obj().at("checkpoint").as_object();
    EXPECT_EQ(checkpoint.at("format").as_string(), "varpulis-cpp");
    EXPECT_EQ(checkpoint.at("version").as_int64(), 1);

    // Two more events close a window (1+2+10) and open another.
    Reply r = h.inject(key, id, event("M", R"({"v": 10})"));
    ASSERT_EQ(outputs(r).size(), 1u) << r.text;
    EXPECT_EQ(outputs(r)[0].as_object().at("fields").as_object().at("total").to_number<double>(), 13.0);

    auto restore = [&](const json::value& body) {
        return h.as(key, "POST", "/api/v1/pipelines/" + id + "/restore", json::serialize(body));
    };
    json::object bad = checkpoint;
    bad["format"] = "other";
    r = restore(json::object{{"checkpoint", bad}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.str("code"), "invalid_checkpoint");
    bad = checkpoint;
    bad["data"] = "not base64!";
    EXPECT_EQ(restore(json::object{{"checkpoint", bad}}).status, 400);
    bad = checkpoint;
    bad["data"] = "AAAA";
    r = restore(json::object{{"checkpoint", bad}});
    EXPECT_EQ(r.status, 400) << r.text;
    EXPECT_EQ(r.str("code"), "invalid_checkpoint");
    EXPECT_EQ(restore(json::object{{"checkpoint", 5}}).status, 400);
    EXPECT_EQ(h.as(key, "POST", "/api/v1/pipelines/" + id + "/restore", "{}").status, 400);

    // Back to the state after 1, 2: one more event closes 1+2+5.
    r = restore(json::object{{"checkpoint", checkpoint}});
    ASSERT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.obj().at("restored"), true);
    EXPECT_EQ(r.num("events_restored"), 2);
    r = h.inject(key, id, event("M", R"({"v": 5})"));
    ASSERT_EQ(outputs(r).size(), 1u) << r.text;
    EXPECT_EQ(outputs(r)[0].as_object().at("fields").as_object().at("total").to_number<double>(), 8.0);
}

TEST_F(ServerApiTest, LogsStreamDeliversOutputEvents) {
    std::string id = h.deploy(key, "p", kFilter);
    std::mutex mu;
    std::condition_variable cv;
    bool connected = false;
    std::string received;
    int status = 0;
    std::thread reader([&] {
        HttpClient c("127.0.0.1", h.server().port(), std::chrono::seconds(60));
        std::string error;
        status = c.stream("/api/v1/pipelines/" + id + "/logs", {{"X-API-Key", key}},
                          [&](int st, std::string_view data) {
                              std::lock_guard<std::mutex> lk(mu);
                              status = st;
                              received.append(data);
                              if (received.find(": connected") != std::string::npos) connected = true;
                              cv.notify_all();
                              size_t n = 0;
                              for (size_t p = 0; (p = received.find("data: ", p)) != std::string::npos; ++p) ++n;
                              return n < 3 || received.find(": keep-alive") == std::string::npos;
                          },
                          std::chrono::seconds(60), error);
    });
    {
        std::unique_lock<std::mutex> lk(mu);
        ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(60), [&] { return connected; })) << received;
    }
    for (int i = 0; i < 3; ++i)
        h.inject(key, id, R"({"event_type": "Trade", "fields": {"sym": "S", "px": 1.0, "qty": 100}, "timestamp": 1000})");
    reader.join();
    EXPECT_EQ(status, 200);
    size_t n = 0;
    for (size_t p = 0; (p = received.find("data: {\"event_type\": \"Big\", \"timestamp\": \"1970-01-01T00:00:01.000Z\"", p)) !=
                       std::string::npos;
         ++p)
        ++n;
    EXPECT_EQ(n, 3u) << received;
    EXPECT_NE(received.find("\"data\": {\"sym\": \"S\", \"notional\": 100.0}"), std::string::npos) << received;
    EXPECT_NE(received.find(": keep-alive"), std::string::npos) << received;
}

TEST_F(ServerApiTest, ReloadUnderContinuousInjectionLosesNothing) {
    std::string id = h.deploy(key, "r", "stream Out = E.where(x >= 0).emit(x: x, v: 1)");
    // The injector runs until the reload has been answered and 100 more events went in, so the
    // swap always happens mid-stream however the threads are scheduled.
    constexpr int kBefore = 100, kAfter = 100, kMax = 100000;
    std::atomic<int> sent{0};
    std::atomic<bool> reloaded{false};
    std::vector<int> versions;
    versions.reserve(kMax);
    std::atomic<bool> failed{false};
    std::thread injector([&] {
        HttpClient c("127.0.0.1", h.server().port(), std::chrono::seconds(60));
        int stop_at = kMax;
        for (int i = 0; i < stop_at; ++i) {
            if (reloaded && stop_at == kMax) stop_at = i + kAfter;
            auto r = c.request("POST", "/api/v1/pipelines/" + id + "/events", event("E", "{\"x\": " + std::to_string(i) + "}"),
                               {{"X-API-Key", kAdminKey}});
            boost::system::error_code ec;
            auto v = json::parse(r.body, ec);
            if (r.status != 200 || ec || v.as_object().at("output_events").as_array().size() != 1) {
                failed = true;
                break;
            }
            const auto& out = v.as_object().at("output_events").as_array()[0].as_object();
            versions.push_back(static_cast<int>(out.at("fields").as_object().at("v").as_int64()));
            sent = i + 1;
        }
    });
    while (sent < kBefore && !failed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Reply r = h.as(key, "POST", "/api/v1/pipelines/" + id + "/reload",
                   R"J({"source": "stream Out = E.where(x >= 0).emit(x: x, v: 2)"})J");
    reloaded = true;
    EXPECT_EQ(r.status, 200) << r.text;
    EXPECT_EQ(r.obj().at("reloaded"), true);
    injector.join();
    ASSERT_FALSE(failed);
    const int total = static_cast<int>(versions.size());
    ASSERT_GE(total, kBefore + kAfter);
    // Every event produced exactly one output, all v1 outputs strictly before all v2 ones.
    int switch_at = -1;
    for (int i = 0; i < total; ++i) {
        ASSERT_TRUE(versions[i] == 1 || versions[i] == 2) << i;
        if (versions[i] == 2 && switch_at < 0) switch_at = i;
        if (switch_at >= 0) {
            EXPECT_EQ(versions[i], 2) << "event " << i << " after the switch at " << switch_at;
        }
    }
    EXPECT_GE(switch_at, kBefore);
    EXPECT_LE(switch_at, total - kAfter);
    Reply m = h.as(key, "GET", "/api/v1/pipelines/" + id + "/metrics");
    EXPECT_EQ(m.num("events_processed"), total);
    EXPECT_EQ(m.num("output_events_emitted"), total);
    EXPECT_NE(h.as(key, "GET", "/api/v1/pipelines/" + id).str("source").find("v: 2"), std::string::npos);
    // A bad new program leaves the running one alone.
    r = h.as(key, "POST", "/api/v1/pipelines/" + id + "/reload", R"({"source": "stream Out = E.where("})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.str("code"), "parse_error");
    EXPECT_EQ(outputs(h.inject(key, id, event("E", R"({"x": 1})"))).size(), 1u);
}

TEST_F(ServerApiTest, ReloadKeepsStateOfUnchangedStreams) {
    std::string id = h.deploy(key, "w", "stream Sum = M.window(3).aggregate(total: sum(v)).emit(total: total)");
    for (int v : {1, 2}) h.inject(key, id, event("M", "{\"v\": " + std::to_string(v) + "}"));
    Reply r = h.as(key, "POST", "/api/v1/pipelines/" + id + "/reload",
                   R"J({"source": "stream Sum = M.window(3).aggregate(total: sum(v)).emit(total: total)\nstream Other = N.where(x > 1)"})J");
    ASSERT_EQ(r.status, 200) << r.text;
    r = h.inject(key, id, event("M", R"({"v": 4})"));
    ASSERT_EQ(outputs(r).size(), 1u) << "the window lost its first two events: " << r.text;
    EXPECT_EQ(outputs(r)[0].as_object().at("fields").as_object().at("total").to_number<double>(), 7.0);
}

TEST_F(ServerApiTest, MetricsExposition) {
    std::string id = h.deploy(key, "p", kFilter);
    h.inject(key, id, event("Trade", R"({"sym": "A", "px": 1.0, "qty": 100})"));
    Reply r = h.call("GET", "/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.raw.header("content-type").find("text/plain"), std::string::npos);
    for (const char* needle :
         {"varpulis_events_total{event_type=\"Trade\"} 1", "varpulis_events_processed{stream=\"p\"",
          "varpulis_output_events_total{stream=\"Big\",event_type=\"Big\"} 1", "varpulis_processing_latency_seconds_bucket{",
          "varpulis_processing_latency_seconds_count{", "varpulis_stream_queue_size{", "varpulis_active_streams 1",
          "varpulis_jit_compiles_total{result=\"ok\"}", "varpulis_jit_compile_seconds_bucket{le=\"+Inf\"}",
          "# TYPE varpulis_processing_latency_seconds histogram"})
        EXPECT_NE(r.text.find(needle), std::string::npos) << needle;
}

}  // namespace
}  // namespace varpulis::server::testing
