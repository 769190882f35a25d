// Persistence across restarts (RocksDB), bad stored state, the metrics port, JIT tiering, and
// the OpenAPI document against the routes the server registers.

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "server/state_store.hpp"
#include "tests/server/server_fixture.hpp"

namespace varpulis::server::testing {
namespace {

constexpr const char* kWindow = "stream Sum = M.window(3).aggregate(total: sum(v)).emit(total: total)";

TEST(ServerStateTest, PipelinesTenantsAndStateSurviveARestart) {
    TempDir dir;
    std::string id, tenant_key;
    {
        Harness h(test_options(dir.str()));
        tenant_key = h.tenant("acme");
        id = h.deploy(tenant_key, "w", kWindow);
        h.deploy(tenant_key, "second", "stream X = T.where(a > 1).emit(a: a)");
        for (int v : {1, 2}) ASSERT_EQ(h.inject(tenant_key, id, event("M", "{\"v\": " + std::to_string(v) + "}")).status, 200);
        h.stop();  // graceful: checkpoints every pipeline
    }
    Harness h(test_options(dir.str()));
    Reply r = h.as(tenant_key, "GET", "/api/v1/pipelines");
    ASSERT_EQ(r.status, 200) << r.text;
    ASSERT_EQ(r.num("total"), 2) << r.text;
    EXPECT_EQ(r.obj().at("pipelines").as_array()[0].as_object().at("id").as_string(), id);
    EXPECT_EQ(r.obj().at("pipelines").as_array()[1].as_object().at("name").as_string(), "second");
    EXPECT_EQ(h.as(tenant_key, "GET", "/api/v1/pipelines/" + id + "/metrics").num("events_processed"), 2);
    r = h.inject(tenant_key, id, event("M", R"({"v": 4})"));
    ASSERT_EQ(outputs(r).size(), 1u) << "window state lost across the restart: " << r.text;
    EXPECT_EQ(outputs(r)[0].as_object().at("fields").as_object().at("total").to_number<double>(), 7.0);
    EXPECT_EQ(h.as(tenant_key, "GET", "/api/v1/usage").num("events_processed"), 3);
    // Creation order continues after the restored ones.
    std::string third = h.deploy(tenant_key, "third", kWindow);
    r = h.as(tenant_key, "GET", "/api/v1/pipelines");
    EXPECT_EQ(r.obj().at("pipelines").as_array()[2].as_object().at("id").as_string(), third);
}

TEST(ServerStateTest, DeletedPipelinesAndTenantsStayDeleted) {
    TempDir dir;
    std::string key;
    {
        Harness h(test_options(dir.str()));
        key = h.tenant("gone");
        std::string id = h.deploy(kAdminKey, "p", kWindow);
        EXPECT_EQ(h.as(kAdminKey, "DELETE", "/api/v1/pipelines/" + id).status, 200);
        std::string tid = h.admin("GET", "/api/v1/tenants").obj().at("tenants").as_array()[1].as_object().at("id").as_string().c_str();
        EXPECT_EQ(h.admin("DELETE", "/api/v1/tenants/" + tid).status, 200);
    }
    Harness h(test_options(dir.str()));
    EXPECT_EQ(h.as(kAdminKey, "GET", "/api/v1/pipelines").num("total"), 0);
    EXPECT_EQ(h.as(key, "GET", "/api/v1/pipelines").status, 401);
    EXPECT_EQ(h.admin("GET", "/api/v1/tenants").num("total"), 1);
}

TEST(ServerStateTest, CorruptCheckpointStartsThePipelineFresh) {
    TempDir dir;
    std::string id;
    {
        Harness h(test_options(dir.str()));
        id = h.deploy(kAdminKey, "w", kWindow);
        h.inject(kAdminKey, id, event("M", R"({"v": 1})"));
    }
    {
        std::string error;
        auto store = StateStore::open(dir.str(), error);
        ASSERT_TRUE(store) << error;
        CheckpointRecord garbage{7, 0, 0, std::string("\x01\x02garbage that is no checkpoint", 31)};
        ASSERT_TRUE(store->put_checkpoint(id, garbage, error)) << error;
    }
    Harness h(test_options(dir.str()));
    Reply r = h.as(kAdminKey, "GET", "/api/v1/pipelines/" + id);
    ASSERT_EQ(r.status, 200) << "the pipeline must come back even when its checkpoint is unusable";
    for (int v : {1, 1}) EXPECT_EQ(outputs(h.inject(kAdminKey, id, event("M", "{\"v\": " + std::to_string(v) + "}"))).size(), 0u);
    r = h.inject(kAdminKey, id, event("M", R"({"v": 1})"));
    ASSERT_EQ(outputs(r).size(), 1u) << r.text;
    EXPECT_EQ(outputs(r)[0].as_object().at("fields").as_object().at("total").to_number<double>(), 3.0);
}

TEST(ServerStateTest, ChangedAdminKeyRekeysTheDefaultTenant) {
    TempDir dir;
    std::string id;
    {
        Harness h(test_options(dir.str()));
        id = h.deploy(kAdminKey, "p", kWindow);
    }
    auto o = test_options(dir.str());
    o.api_key = "new-admin-key";
    Harness h(o);
    EXPECT_EQ(h.as(kAdminKey, "GET", "/api/v1/pipelines").status, 401);
    Reply r = h.as("new-admin-key", "GET", "/api/v1/pipelines");
    EXPECT_EQ(r.num("total"), 1) << r.text;
    EXPECT_EQ(h.call("GET", "/api/v1/tenants", {}, {{"X-Admin-Key", "new-admin-key"}}).num("total"), 1);
}

TEST(ServerStateTest, PeriodicCheckpointsRunOnTheirOwn) {
    TempDir dir;
    auto o = test_options(dir.str());
    o.checkpoint_interval_s = 0.05;
    Harness h(o);
    std::string id = h.deploy(kAdminKey, "w", kWindow);
    h.inject(kAdminKey, id, event("M", R"({"v": 5})"));
    // The checkpoint thread counts what it stores; wait (generously) for the first one.
    bool stored = false;
    for (int i = 0; i < 1200 && !stored; ++i) {
        stored = h.call("GET", "/metrics").text.find("varpulis_checkpoints_total{result=\"ok\"} 0") == std::string::npos;
        if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(stored) << h.call("GET", "/metrics").text;
}

TEST(ServerStateTest, ArenaCompactionKeepsState) {
    TempDir dir;
    auto o = test_options(dir.str());
    o.arena_compact_bytes = 16 * 1024;  // compact every few events
    Harness h(o);
    std::string id = h.deploy(kAdminKey, "w",
                              "stream Sum = M.window(3).aggregate(total: sum(v), tag: last(s)).emit(total: total, tag: tag)");
    std::string pad(4000, 'p');
    for (int i = 1; i <= 30; ++i) {
        std::string tag = "tag-" + std::to_string(i) + "-" + pad;
        Reply r = h.inject(kAdminKey, id, event("M", "{\"v\": " + std::to_string(i) + ", \"s\": \"" + tag + "\"}"));
        ASSERT_EQ(r.status, 200) << r.text;
        if (i % 3 != 0) {
            EXPECT_EQ(outputs(r).size(), 0u) << i;
            continue;
        }
        ASSERT_EQ(outputs(r).size(), 1u) << i << ": " << r.text;
        const auto& f = outputs(r)[0].as_object().at("fields").as_object();
        EXPECT_EQ(f.at("total").to_number<double>(), 3.0 * i - 3) << i;
        EXPECT_EQ(f.at("tag").as_string(), tag) << i;
    }
    std::string metrics = h.call("GET", "/metrics").text;
    EXPECT_EQ(metrics.find("varpulis_pipeline_arena_compactions_total{pipeline_id=\"" + id + "\"} 0"), std::string::npos)
        << "no compaction happened";
}

TEST(ServerStateTest, StateDirectoryInUseIsAStartError) {
    TempDir dir;
    Harness first(test_options(dir.str()));
    Server second(test_options(dir.str()));
    std::string error;
    EXPECT_FALSE(second.start(error));
    EXPECT_NE(error.find("state"), std::string::npos) << error;
}

TEST(ServerMetricsPortTest, MetricsOnTheirOwnPort) {
    TempDir dir;
    auto o = test_options(dir.str());
    o.metrics = true;
    o.metrics_port = 0;
    Harness h(o);
    ASSERT_NE(h.server().metrics_port(), 0);
    HttpClient m("127.0.0.1", h.server().metrics_port());
    auto r = m.request("GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("varpulis_active_streams"), std::string::npos);
    EXPECT_EQ(m.request("GET", "/api/v1/pipelines").status, 404);
}

TEST(ServerJitTest, PipelinesAreCompiledInTheBackground) {
    TempDir dir;
    auto o = test_options(dir.str());
    o.jit = true;
    Harness h(o);
    std::string id = h.deploy(kAdminKey, "p", "stream Big = Trade.where(qty >= 100).emit(sym: sym, n: qty * 2)");
    bool compiled = false;
    for (int i = 0; i < 1200 && !compiled; ++i) {
        Reply r = h.call("GET", "/metrics");
        compiled = r.text.find("varpulis_jit_compiles_total{result=\"ok\"} 1") != std::string::npos;
        if (r.text.find("varpulis_jit_compiles_total{result=\"error\"} 1") != std::string::npos) break;
        if (!compiled) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(compiled) << h.call("GET", "/metrics").text;
    Reply r = h.inject(kAdminKey, id, event("Trade", R"({"sym": "A", "qty": 150})"));
    ASSERT_EQ(outputs(r).size(), 1u) << r.text;
    EXPECT_EQ(outputs(r)[0].as_object().at("fields").as_object().at("n").as_int64(), 300);
    EXPECT_NE(h.call("GET", "/metrics").text.find("varpulis_pipeline_jit_active{pipeline_id=\"" + id + "\"} 1"),
              std::string::npos);
    // events-batch runs the generated per-type loop: same outputs, and the events are counted
    // as run by it (single events go through the per-event path).
    r = h.as(kAdminKey, "POST", "/api/v1/pipelines/" + id + "/events-batch",
             R"({"events": [{"event_type": "Trade", "fields": {"sym": "B", "qty": 99}},
                              {"event_type": "Trade", "fields": {"sym": "C", "qty": 100}},
                              {"event_type": "Trade", "fields": {"sym": "D", "qty": 2.5e2}}]})");
    ASSERT_EQ(r.status, 200) << r.text;
    ASSERT_EQ(outputs(r).size(), 2u) << r.text;
    EXPECT_EQ(outputs(r)[0].as_object().at("sym").as_string(), "C");
    EXPECT_EQ(outputs(r)[0].as_object().at("n").as_int64(), 200);
    EXPECT_EQ(outputs(r)[1].as_object().at("n").as_double(), 500.0);
    const std::string m = h.call("GET", "/metrics").text;
    EXPECT_NE(m.find("varpulis_pipeline_compiled_loop_events_total{pipeline_id=\"" + id + "\"} 3"), std::string::npos)
        << m;
}

/// `paths:` of an OpenAPI YAML file → method + path pairs (a line-based reader is enough for
/// the document's regular layout: paths at two spaces, methods at four).
std::set<std::string> openapi_operations(const std::string& file) {
    std::ifstream in(file);
    std::set<std::string> ops;
    std::string line, path;
    bool in_paths = false;
    while (std::getline(in, line)) {
        if (line.rfind("paths:", 0) == 0) {
            in_paths = true;
            continue;
        }
        if (!in_paths) continue;
        if (!line.empty() && line[0] != ' ' && line[0] != '#') break;
        if (line.rfind("  /", 0) == 0) {
            path = line.substr(2, line.find(':', 2) - 2);
        } else if (line.size() > 4 && line.rfind("    ", 0) == 0 && line[4] != ' ') {
            std::string m = line.substr(4, line.find(':') - 4);
            if (m == "get" || m == "post" || m == "delete" || m == "put" || m == "patch") {
                for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                ops.insert(m + " " + path);
            }
        }
    }
    return ops;
}

TEST(ServerOpenApiTest, DocumentMatchesTheRegisteredRoutes) {
    TempDir dir;
    Harness h(test_options(dir.str()));
    std::set<std::string> registered;
    for (const auto& r : h.server().routes()) registered.insert(r.method + " " + r.path);
    std::set<std::string> documented = openapi_operations(VARPULIS_OPENAPI_FILE);
    ASSERT_FALSE(documented.empty()) << "cannot read " << VARPULIS_OPENAPI_FILE;
    for (const auto& op : registered) EXPECT_TRUE(documented.count(op)) << "not documented: " << op;
    for (const auto& op : documented) EXPECT_TRUE(registered.count(op)) << "documented but not served: " << op;
}

}  // namespace
}  // namespace varpulis::server::testing
