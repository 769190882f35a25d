#include "server/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "runtime/value_io.hpp"
#include "server/pipeline_host.hpp"
#include "server/tenant_registry.hpp"

namespace varpulis::server {

namespace {

const std::vector<double>& jit_bounds() {
    static const std::vector<double> b = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};
    return b;
}

/// A label value with `\`, `"` and newlines escaped.
std::string label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

}  // namespace

void ServerMetrics::count_request(int status) {
    if (status >= 200 && status < 300) ++http_2xx_;
    else if (status >= 400 && status < 500) ++http_4xx_;
    else if (status >= 500) ++http_5xx_;
    else ++http_other_;
}

void ServerMetrics::count_rate_limited() { ++rate_limited_; }

void ServerMetrics::count_jit(bool ok, double seconds) {
    if (!ok) {
        ++jit_failed_;
        return;
    }
    ++jit_ok_;
    std::lock_guard<std::mutex> lk(jit_mu_);
    const auto& b = jit_bounds();
    size_t i = std::lower_bound(b.begin(), b.end(), seconds) - b.begin();
    ++jit_buckets_[i];
    jit_sum_ += seconds;
}

void ServerMetrics::count_checkpoint(bool ok) { ++(ok ? checkpoints_ok_ : checkpoints_failed_); }

std::string ServerMetrics::render(const TenantRegistry& registry, double uptime_s) const {
    struct Row {
        std::string tenant;
        std::shared_ptr<PipelineHost> host;
        PipelineHost::Metrics m;
    };
    std::vector<Row> rows;
    auto tenants = registry.list();
    for (const auto& t : tenants)
        for (auto& p : t->pipelines()) rows.push_back({t->name(), p, p->metrics()});

    std::string out;
    out.reserve(4096 + rows.size() * 2048);

    std::map<std::string, uint64_t> by_type;
    for (const auto& r : rows)
        for (const auto& [type, n] : r.m.events_by_type) by_type[type] += n;
    header(out, "varpulis_events_total", "counter", "Input events received, by event type.");
    for (const auto& [type, n] : by_type)
        out += "varpulis_events_total{event_type=\"" + label(type) + "\"} " + std::to_string(n) + "\n";

    header(out, "varpulis_events_processed", "counter", "Events processed, by pipeline (label stream).");
    for (const auto& r : rows)
        out += "varpulis_events_processed{stream=\"" + label(r.host->name()) + "\",pipeline_id=\"" +
               label(r.host->id()) + "\"} " + std::to_string(r.m.events) + "\n";

    std::map<std::pair<std::string, std::string>, uint64_t> outputs;
    for (const auto& r : rows)
        for (const auto& [key, n] : r.m.outputs_by_stream) outputs[key] += n;
    header(out, "varpulis_output_events_total", "counter", "Output events emitted, by stream and event type.");
    for (const auto& [key, n] : outputs)
        out += "varpulis_output_events_total{stream=\"" + label(key.first) + "\",event_type=\"" + label(key.second) +
               "\"} " + std::to_string(n) + "\n";

    header(out, "varpulis_processing_latency_seconds", "histogram",
           "Time to process one input event and everything derived from it, by pipeline (events of "
           "one events-batch request each count the batch's mean).");
    const auto& bounds = latency_bounds();
    for (const auto& r : rows) {
        std::string labels = "stream=\"" + label(r.host->name()) + "\",pipeline_id=\"" + label(r.host->id()) + "\"";
        uint64_t cum = 0;
        for (size_t i = 0; i < bounds.size(); ++i) {
            cum += r.m.latency_counts[i];
            out += "varpulis_processing_latency_seconds_bucket{" + labels + ",le=\"" + number(bounds[i]) + "\"} " +
                   std::to_string(cum) + "\n";
        }
        cum += r.m.latency_counts.back();
        out += "varpulis_processing_latency_seconds_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(cum) + "\n";
        out += "varpulis_processing_latency_seconds_sum{" + labels + "} " + number(r.m.latency_sum) + "\n";
        out += "varpulis_processing_latency_seconds_count{" + labels + "} " + std::to_string(cum) + "\n";
    }

    // Events are processed synchronously within the request: queues are always empty.
    header(out, "varpulis_stream_queue_size", "gauge", "Events waiting to be processed, by pipeline.");
    for (const auto& r : rows)
        out += "varpulis_stream_queue_size{stream=\"" + label(r.host->name()) + "\",pipeline_id=\"" +
               label(r.host->id()) + "\"} 0\n";

    size_t streams = 0;
    for (const auto& r : rows) streams += r.m.streams;
    header(out, "varpulis_active_streams", "gauge", "Streams of all deployed pipelines.");
    out += "varpulis_active_streams " + std::to_string(streams) + "\n";

    header(out, "varpulis_pipeline_events_total", "counter", "Input events processed per pipeline.");
    for (const auto& r : rows)
        out += "varpulis_pipeline_events_total{pipeline_id=\"" + label(r.host->id()) + "\",pipeline=\"" +
               label(r.host->name()) + "\",tenant=\"" + label(r.tenant) + "\"} " + std::to_string(r.m.events) + "\n";
    header(out, "varpulis_pipeline_outputs_total", "counter", "Output events emitted per pipeline.");
    for (const auto& r : rows)
        out += "varpulis_pipeline_outputs_total{pipeline_id=\"" + label(r.host->id()) + "\",pipeline=\"" +
               label(r.host->name()) + "\",tenant=\"" + label(r.tenant) + "\"} " + std::to_string(r.m.outputs) + "\n";
    header(out, "varpulis_pipeline_jit_active", "gauge", "1 when the pipeline runs compiled kernels.");
    for (const auto& r : rows)
        out += "varpulis_pipeline_jit_active{pipeline_id=\"" + label(r.host->id()) + "\"} " +
               (r.m.jit_active ? "1\n" : "0\n");

    header(out, "varpulis_pipeline_compiled_loop_events_total", "counter",
           "Input events run by generated per-type loops (the JIT's type kernels; events-batch requests).");
    for (const auto& r : rows)
        out += "varpulis_pipeline_compiled_loop_events_total{pipeline_id=\"" + label(r.host->id()) + "\"} " +
               std::to_string(r.m.loop_events) + "\n";

    header(out, "varpulis_pipeline_arena_compactions_total", "counter",
           "Times the pipeline's event arena was reclaimed (engine rebuilt from its checkpoint).");
    for (const auto& r : rows)
        out += "varpulis_pipeline_arena_compactions_total{pipeline_id=\"" + label(r.host->id()) + "\"} " +
               std::to_string(r.m.compactions) + "\n";
    header(out, "varpulis_pipelines", "gauge", "Deployed pipelines.");
    out += "varpulis_pipelines " + std::to_string(rows.size()) + "\n";
    header(out, "varpulis_tenants", "gauge", "Tenants.");
    out += "varpulis_tenants " + std::to_string(tenants.size()) + "\n";

    header(out, "varpulis_http_requests_total", "counter", "HTTP requests answered, by status class.");
    out += "varpulis_http_requests_total{class=\"2xx\"} " + std::to_string(http_2xx_.load()) + "\n";
    out += "varpulis_http_requests_total{class=\"4xx\"} " + std::to_string(http_4xx_.load()) + "\n";
    out += "varpulis_http_requests_total{class=\"5xx\"} " + std::to_string(http_5xx_.load()) + "\n";
    out += "varpulis_http_requests_total{class=\"other\"} " + std::to_string(http_other_.load()) + "\n";
    header(out, "varpulis_http_rate_limited_total", "counter", "Requests refused by the per-IP rate limit.");
    out += "varpulis_http_rate_limited_total " + std::to_string(rate_limited_.load()) + "\n";

    header(out, "varpulis_checkpoints_total", "counter", "Pipeline checkpoints persisted, by result.");
    out += "varpulis_checkpoints_total{result=\"ok\"} " + std::to_string(checkpoints_ok_.load()) + "\n";
    out += "varpulis_checkpoints_total{result=\"error\"} " + std::to_string(checkpoints_failed_.load()) + "\n";

    header(out, "varpulis_jit_compiles_total", "counter", "Background JIT compilations, by result.");
    out += "varpulis_jit_compiles_total{result=\"ok\"} " + std::to_string(jit_ok_.load()) + "\n";
    out += "varpulis_jit_compiles_total{result=\"error\"} " + std::to_string(jit_failed_.load()) + "\n";
    header(out, "varpulis_jit_compile_seconds", "histogram", "Time of successful JIT compilations.");
    {
        std::lock_guard<std::mutex> lk(jit_mu_);
        const auto& b = jit_bounds();
        uint64_t cum = 0;
        for (size_t i = 0; i < b.size(); ++i) {
            cum += jit_buckets_[i];
            out += "varpulis_jit_compile_seconds_bucket{le=\"" + number(b[i]) + "\"} " + std::to_string(cum) + "\n";
        }
        cum += jit_buckets_.back();
        out += "varpulis_jit_compile_seconds_bucket{le=\"+Inf\"} " + std::to_string(cum) + "\n";
        out += "varpulis_jit_compile_seconds_sum " + number(jit_sum_) + "\n";
        out += "varpulis_jit_compile_seconds_count " + std::to_string(cum) + "\n";
    }

    header(out, "varpulis_uptime_seconds", "gauge", "Seconds since the server started.");
    out += "varpulis_uptime_seconds " + number(uptime_s) + "\n";
    return out;
}

}  // namespace varpulis::server
