// The server's small pieces on their own: router, base64, token bucket, event limits, SSE queue.

#include <gtest/gtest.h>

#include <chrono>

#include "runtime/event_reader.hpp"
#include "server/base64.hpp"
#include "server/event_limits.hpp"
#include "server/http_client.hpp"
#include "server/pipeline_host.hpp"
#include "server/rate_limiter.hpp"
#include "server/router.hpp"
#include "server/tenant_registry.hpp"

namespace varpulis::server {
namespace {

TEST(RouterTest, MatchesPatternsAndTellsNotFoundFromWrongMethod) {
    Router r;
    r.add("GET", "/api/v1/pipelines/{id}", kDefaultBodyLimit, [](const HttpRequest&, const PathParams& p) {
        return json_response(200, p.get("id"));
    });
    r.add("POST", "/api/v1/pipelines/{id}/events-batch", kLargeBodyLimit, nullptr);
    auto m = r.match("GET", "/api/v1/pipelines/abc");
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.params.get("id"), "abc");
    m = r.match("DELETE", "/api/v1/pipelines/abc");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_known) << "a known path with another method is a 405";
    m = r.match("GET", "/api/v1/nothing");
    EXPECT_FALSE(m.path_known);
    EXPECT_EQ(r.body_limit("POST", "/api/v1/pipelines/x/events-batch"), kLargeBodyLimit);
    EXPECT_EQ(r.body_limit("POST", "/unknown"), kDefaultBodyLimit);
}

TEST(HttpTypesTest, SplitsAndDecodesTargets) {
    std::string path;
    HeaderList q;
    ASSERT_TRUE(split_target("/a%20b/c?limit=5&name=x+y&flag", path, q));
    EXPECT_EQ(path, "/a b/c");
    ASSERT_EQ(q.size(), 3u);
    EXPECT_EQ(q[0].second, "5");
    EXPECT_EQ(q[1].second, "x y");
    EXPECT_EQ(q[2].first, "flag");
    EXPECT_FALSE(split_target("http://host/x", path, q));
}

TEST(Base64Test, RoundTripsAndRejectsGarbage) {
    for (std::string s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                          std::string("\0\xff\x10 binary", 10)}) {
        std::string back;
        ASSERT_TRUE(base64_decode(base64_encode(s), back));
        EXPECT_EQ(back, s);
    }
    std::string out;
    EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
    EXPECT_FALSE(base64_decode("abc", out));
    EXPECT_FALSE(base64_decode("ab!d", out));
    EXPECT_FALSE(base64_decode("a=bc", out));
}

TEST(TokenBucketTest, RefillsAtItsRate) {
    TokenBucket b(10, 2);
    auto t = std::chrono::steady_clock::now();
    EXPECT_TRUE(b.take(1, t));
    EXPECT_TRUE(b.take(1, t));
    EXPECT_FALSE(b.take(1, t));
    EXPECT_TRUE(b.take(1, t + std::chrono::milliseconds(100)));
    EXPECT_FALSE(b.take(3, t + std::chrono::seconds(10))) << "never more than the burst";
}

TEST(TenantTest, ConstantTimeCompareAndIds) {
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
    EXPECT_FALSE(constant_time_equal("", "a"));
    std::string u = make_uuid();
    EXPECT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4');
    EXPECT_NE(make_api_key(), make_api_key());
    QuotaTier t;
    EXPECT_TRUE(parse_tier("Enterprise", t));
    EXPECT_EQ(quota_for(t).max_pipelines, 1000u);
    EXPECT_FALSE(parse_tier("gold", t));
}

TEST(EventLimitsTest, RejectsWhatTheReaderWouldCut) {
    std::string err;
    EXPECT_TRUE(check_event_limits(R"({"event_type": "A", "fields": {"a": [1, [2, {"b": "c"}]]}})", 2, err));
    std::string deep = "{\"event_type\": \"A\", \"fields\": {\"a\": " + std::string(33, '[') + std::string(33, ']') + "}}";
    EXPECT_FALSE(check_event_limits(deep, 2, err));
    std::string ok_deep = "{\"event_type\": \"A\", \"fields\": {\"a\": " + std::string(32, '[') + std::string(32, ']') + "}}";
    EXPECT_TRUE(check_event_limits(ok_deep, 2, err)) << err;
    std::string many = "{\"event_type\": \"A\", \"fields\": {";
    for (uint32_t i = 0; i < runtime::ReadLimits::kMaxFields + 1; ++i) many += (i ? ",\"f" : "\"f") + std::to_string(i) + "\":1";
    many += "}}";
    EXPECT_FALSE(check_event_limits(many, 2, err));
    EXPECT_NE(err.find("fields"), std::string::npos);
    // A batch may hold more events than an array may hold elements.
    std::string batch = "{\"events\": [";
    for (int i = 0; i < 10001; ++i) batch += i ? ",{}" : "{}";
    batch += "]}";
    EXPECT_TRUE(check_event_limits(batch, 4, err)) << err;
    std::string escaped = "{\"event_type\": \"A\\\"}\", \"fields\": {}}";
    EXPECT_TRUE(check_event_limits(escaped, 2, err)) << err;
}

TEST(LogSubscriptionTest, ReportsSkippedEventsWhenTheReaderLags) {
    LogSubscription s(3);
    for (int i = 0; i < 5; ++i) s.push("data: " + std::to_string(i) + "\n\n");
    std::string out;
    EXPECT_TRUE(s.pull(out));
    EXPECT_EQ(out, "event: warning\ndata: {\"warning\": \"skipped 2 events\"}\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n");
    out.clear();
    s.close();
    EXPECT_FALSE(s.pull(out));
    EXPECT_TRUE(out.empty());
}

TEST(OutputRenderingTest, FlatFormLeavesOutCollidingEnvelopeMembers) {
    RenderedOutput o;
    o.stream = "S";
    o.event_type = "T";
    o.timestamp_ms = 5;
    o.fields = "{\"timestamp\": 1}";
    o.flat_members = ", \"timestamp\": 1";
    o.has_timestamp_field = true;
    std::string flat;
    append_flat_output_event(flat, o);
    EXPECT_EQ(flat, "{\"event_type\": \"T\", \"timestamp\": 1, \"stream\": \"S\"}");
    std::string full;
    append_output_event(full, o);
    EXPECT_EQ(full, "{\"stream\": \"S\", \"event_type\": \"T\", \"timestamp\": 5, \"fields\": {\"timestamp\": 1}}");
    EXPECT_EQ(rfc3339_ms(1500), "1970-01-01T00:00:01.500Z");
    EXPECT_EQ(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
}

TEST(EventReaderBatchTest, ParsesGoodElementsAndReportsBadOnes) {
    runtime::Interner interner;
    runtime::Arena arena;
    runtime::EventReader reader(interner, arena);
    std::vector<runtime::InputEvent> events;
    std::vector<runtime::ReadError> bad;
    runtime::ReadError err;
    ASSERT_TRUE(reader.parse_json_event_batch(
        R"({"events": [{"event_type": "A", "fields": {"x": 1}}, 7, {"fields": {}},
                       {"event_type": "B", "data": {"s": "t", "big": 123456789012345678901234}, "timestamp": 9}]})",
        100, events, bad, err))
        << err.message;
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].type->view(), "A");
    EXPECT_EQ(events[0].timestamp_ms, 100);
    ASSERT_EQ(events[0].field_count, 1u);
    EXPECT_EQ(events[0].fields[0].value.i, 1);
    EXPECT_EQ(events[1].type->view(), "B");
    EXPECT_EQ(events[1].timestamp_ms, 9);
    ASSERT_NE(events[1].find("s"), nullptr);
    EXPECT_EQ(events[1].find("s")->str(), "t");
    ASSERT_NE(events[1].find("big"), nullptr);
    EXPECT_EQ(events[1].find("big")->kind, runtime::ValueKind::Float);
    ASSERT_EQ(bad.size(), 2u);
    EXPECT_EQ(bad[0].line, 2u);
    EXPECT_EQ(bad[1].line, 3u);
    EXPECT_NE(bad[1].message.find("event_type"), std::string::npos) << bad[1].message;
    EXPECT_FALSE(reader.parse_json_event_batch(R"({"events": 5})", 0, events, bad, err));
    EXPECT_FALSE(reader.parse_json_event_batch("[", 0, events, bad, err));
}

TEST(HttpClientTest, ParsesServerUrls) {
    std::string host, base;
    uint16_t port = 0;
    ASSERT_TRUE(parse_http_url("http://localhost:9000", host, port, base));
    EXPECT_EQ(host, "localhost");
    EXPECT_EQ(port, 9000);
    EXPECT_EQ(base, "");
    ASSERT_TRUE(parse_http_url("http://10.0.0.1/prefix/", host, port, base));
    EXPECT_EQ(port, 80);
    EXPECT_EQ(base, "/prefix");
    EXPECT_FALSE(parse_http_url("https://x", host, port, base));
    EXPECT_FALSE(parse_http_url("http://x:99999", host, port, base));
}

}  // namespace
}  // namespace varpulis::server
