#include "server/pipeline_host.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "ir/compiler.hpp"
#include "runtime/arena.hpp"
#include "runtime/engine.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/event_reader.hpp"
#include "runtime/kernel_table.hpp"
#include "runtime/value_io.hpp"
#include "server/tenant_registry.hpp"

namespace varpulis::server {

bool compile_program(const std::string& name, const std::string& source, CompiledProgram& out,
                     CompileFailure& failure) {
    std::shared_ptr<ir::Compilation> c = ir::compile_source(name, source, ir::CompileStage::Lower);
    if (!c->ok() || !c->plan) {
        const frontend::Diagnostic* first = nullptr;
        for (const auto& d : c->diags.items()) {
            if (d.severity != frontend::Severity::Error) continue;
            if (!first || d.span.begin < first->span.begin) first = &d;
        }
        if (first) {
            auto lc = c->file.locate(first->span.begin);
            failure.line = lc.line;
            failure.column = lc.column;
            // The message as `varpulis check` words it: `[CODE] message` for checker findings.
            failure.message = std::to_string(lc.line) + ":" + std::to_string(lc.column) + ": ";
            if (!first->code.empty() && first->code != "parse") failure.message += "[" + first->code + "] ";
            failure.message += first->message;
            failure.hint = first->hint;
        } else {
            failure.line = 1;
            failure.column = 1;
            failure.message = "1:1: the program could not be compiled";
        }
        return false;
    }
    out.stream_count = c->plan->streams.size();
    out.compilation = std::move(c);
    return true;
}

std::string rfc3339_ms(int64_t ms) {
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t frac = ms - secs * 1000;
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(frac));
    return buf;
}

void append_output_event(std::string& out, const RenderedOutput& o) {
    out += "{\"stream\": ";
    runtime::append_json_string(out, o.stream);
    out += ", \"event_type\": ";
    runtime::append_json_string(out, o.event_type);
    out += ", \"timestamp\": ";
    runtime::append_int(out, o.timestamp_ms);
    out += ", \"fields\": ";
    out += o.fields;
    out += '}';
}

void append_flat_output_event(std::string& out, const RenderedOutput& o) {
    out += "{\"event_type\": ";
    runtime::append_json_string(out, o.event_type);
    out += o.flat_members;
    if (!o.has_stream_field) {
        out += ", \"stream\": ";
        runtime::append_json_string(out, o.stream);
    }
    if (!o.has_timestamp_field) {
        out += ", \"timestamp\": ";
        runtime::append_int(out, o.timestamp_ms);
    }
    out += '}';
}

void LogSubscription::push(const std::string& msg) {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return;
    if (queue_.size() >= capacity_) {
        queue_.pop_front();
        ++skipped_;
    }
    queue_.push_back(msg);
}

void LogSubscription::close() {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
}

bool LogSubscription::pull(std::string& out) {
    std::lock_guard<std::mutex> lk(mu_);
    if (skipped_ > 0) {
        out += "event: warning\ndata: {\"warning\": \"skipped " + std::to_string(skipped_) + " events\"}\n\n";
        skipped_ = 0;
    }
    for (auto& m : queue_) out += m;
    queue_.clear();
    return !closed_;
}

const std::vector<double>& latency_bounds() {
    static const std::vector<double> b = {0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
                                          0.001,    0.0025,  0.005,    0.01,    0.025,  0.05,   0.1,
                                          0.25,     0.5,     1.0};
    return b;
}

PipelineHost::PipelineHost(Info info, std::string source, CompiledProgram program,
                           std::shared_ptr<UsageCounters> usage)
    : info_(std::move(info)),
      usage_(std::move(usage)),
      source_(std::move(source)),
      compilation_(std::move(program.compilation)),
      stream_count_(program.stream_count),
      interner_(std::make_unique<runtime::Interner>()),
      arena_(std::make_unique<runtime::Arena>()),
      latency_counts_(latency_bounds().size() + 1, 0) {
    reader_ = std::make_unique<runtime::EventReader>(*interner_, *arena_);
    engine_ = make_engine(*compilation_);
}

PipelineHost::~PipelineHost() {
    close_subscribers();
    // The engine refers to the plan and the interner: it goes first.
    engine_.reset();
    reader_.reset();
}

std::unique_ptr<runtime::Engine> PipelineHost::make_engine(const ir::Compilation& c) {
    return std::make_unique<runtime::Engine>(
        *c.plan, *interner_, [this](const runtime::OutputEvent& e) { on_output(e); }, stderr);
}

std::string PipelineHost::source() const {
    std::lock_guard<std::mutex> lk(mu_);
    return source_;
}

size_t PipelineHost::stream_count() const {
    std::lock_guard<std::mutex> lk(mu_);
    return stream_count_;
}

double PipelineHost::uptime_secs() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

void PipelineHost::count_output(std::string_view stream, std::string_view event_type) {
    outputs_.fetch_add(1, std::memory_order_relaxed);
    usage_->output_events_emitted.fetch_add(1, std::memory_order_relaxed);
    size_t n = stream.size() + event_type.size() + 1;
    if (last_out_count_ && last_out_key_.size() == n && last_out_key_[stream.size()] == '\0' &&
        std::string_view(last_out_key_).substr(0, stream.size()) == stream &&
        std::string_view(last_out_key_).substr(stream.size() + 1) == event_type) {
        ++*last_out_count_;
        return;
    }
    last_out_key_.clear();
    last_out_key_.reserve(n);
    last_out_key_ += stream;
    last_out_key_ += '\0';
    last_out_key_ += event_type;
    last_out_count_ = &outputs_by_stream_[last_out_key_];
    ++*last_out_count_;
}

/// The events-batch rendering of append_flat_output_event, straight from the engine's event.
void PipelineHost::render_flat(const runtime::OutputEvent& e) {
    std::string& out = *flat_sink_;
    if (!flat_first_) out += ", ";
    flat_first_ = false;
    out += "{\"event_type\": ";
    runtime::append_json_string(out, e.event_type);
    bool has_stream = false, has_timestamp = false;
    for (uint32_t i = 0; i < e.field_count; ++i) {
        if (!e.values[i].present()) continue;
        std::string_view name = e.names[i]->view();
        if (name == "event_type") continue;
        out += ", ";
        runtime::append_json_string(out, name);
        out += ": ";
        runtime::append_json(out, e.values[i]);
        if (name == "stream") has_stream = true;
        if (name == "timestamp") has_timestamp = true;
    }
    if (!has_stream) {
        out += ", \"stream\": ";
        runtime::append_json_string(out, e.stream);
    }
    if (!has_timestamp) {
        out += ", \"timestamp\": ";
        runtime::append_int(out, e.timestamp_ms);
    }
    out += '}';
}

void PipelineHost::on_output(const runtime::OutputEvent& e) {
    if (flat_sink_ && !has_subscribers_.load(std::memory_order_relaxed)) {
        render_flat(e);
        count_output(e.stream, e.event_type);
        return;
    }
    RenderedOutput r;
    r.stream.assign(e.stream);
    r.event_type.assign(e.event_type);
    r.timestamp_ms = e.timestamp_ms;
    r.fields = "{";
    bool first = true;
    std::string member;
    for (uint32_t i = 0; i < e.field_count; ++i) {
        if (!e.values[i].present()) continue;
        std::string_view name = e.names[i]->view();
        member.clear();
        runtime::append_json_string(member, name);
        member += ": ";
        runtime::append_json(member, e.values[i]);
        if (!first) r.fields += ", ";
        first = false;
        r.fields += member;
        if (name == "event_type") continue;
        r.flat_members += ", ";
        r.flat_members += member;
        if (name == "stream") r.has_stream_field = true;
        if (name == "timestamp") r.has_timestamp_field = true;
    }
    r.fields += '}';
    count_output(r.stream, r.event_type);
    if (has_subscribers_.load(std::memory_order_relaxed)) {
        std::string msg = "data: {\"event_type\": ";
        runtime::append_json_string(msg, r.event_type);
        msg += ", \"timestamp\": \"" + rfc3339_ms(r.timestamp_ms) + "\", \"data\": " + r.fields + ", \"stream\": ";
        runtime::append_json_string(msg, r.stream);
        msg += "}\n\n";
        std::lock_guard<std::mutex> lk(subs_mu_);
        bool any = false;
        for (auto& w : subscribers_) {
            if (auto s = w.lock()) {
                s->push(msg);
                any = true;
            }
        }
        if (!any) {
            subscribers_.clear();
            has_subscribers_ = false;
        }
    }
    if (flat_sink_) {
        if (!flat_first_) *flat_sink_ += ", ";
        flat_first_ = false;
        append_flat_output_event(*flat_sink_, r);
    } else if (collector_) {
        collector_->push_back(std::move(r));
    }
}

void PipelineHost::record_latency(double seconds, uint64_t events) {
    const auto& b = latency_bounds();
    size_t i = std::lower_bound(b.begin(), b.end(), seconds) - b.begin();
    latency_counts_[i] += events;
    latency_sum_ += seconds * static_cast<double>(events);
}

void PipelineHost::process_locked(const void* p) {
    const auto& ev = *static_cast<const runtime::InputEvent*>(p);
    auto t0 = std::chrono::steady_clock::now();
    engine_->process(ev);
    record_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (ev.type != last_type_ || !last_type_count_) {
        last_type_ = ev.type;
        last_type_count_ = &events_by_type_[ev.type];
    }
    ++*last_type_count_;
    events_.fetch_add(1, std::memory_order_relaxed);
    usage_->events_processed.fetch_add(1, std::memory_order_relaxed);
}

PipelineHost::Ingest PipelineHost::process_event(std::string_view json, int64_t now_ms, const Admit& admit,
                                                 std::vector<RenderedOutput>& outputs, std::string& error) {
    std::lock_guard<std::mutex> lk(mu_);
    runtime::InputEvent ev;
    runtime::ReadError err;
    if (!reader_->parse_json_event(json, now_ms, ev, err)) {
        error = err.message;
        return Ingest::BadRequest;
    }
    // Most often a misspelt type: say so instead of accepting an event that can never match.
    if (!engine_->reads(ev.type)) {
        error = "unknown event type `" + std::string(ev.type->view()) + "`: no stream of this pipeline reads it";
        return Ingest::UnknownType;
    }
    if (admit && !admit(1)) return Ingest::Rejected;
    collector_ = &outputs;
    try {
        process_locked(&ev);
    } catch (...) {
        collector_ = nullptr;
        throw;
    }
    collector_ = nullptr;
    jit_active_ = engine_->kernels_active();
    maybe_compact_locked();
    return Ingest::Ok;
}

PipelineHost::Ingest PipelineHost::parse_batch_locked(std::string_view json, int64_t now_ms, const Admit& admit,
                                                      std::string& error) {
    batch_events_.clear();
    batch_bad_.clear();
    runtime::ReadError err;
    if (!reader_->parse_json_event_batch(json, now_ms, batch_events_, batch_bad_, err)) {
        error = err.message;
        return Ingest::BadRequest;
    }
    // Events of a type no stream reads fail like malformed ones: skipped, not accepted (§2.2).
    std::erase_if(batch_events_, [&](const runtime::InputEvent& ev) { return !engine_->reads(ev.type); });
    if (admit && !batch_events_.empty() && !admit(batch_events_.size())) return Ingest::Rejected;
    return Ingest::Ok;
}

void PipelineHost::run_batch_locked() {
    // The events as prepared rows through Engine::process_batch: type kernels (generated
    // per-type loops) run only there. Each event of the batch is recorded with the batch's mean
    // processing time.
    const uint64_t before = engine_->stats().events;
    const uint64_t loops_before = engine_->type_kernel_events();
    auto account = [&] {
        loop_events_.fetch_add(engine_->type_kernel_events() - loops_before, std::memory_order_relaxed);
        const auto done = static_cast<size_t>(engine_->stats().events - before);
        const size_t n = std::min(done, batch_events_.size());
        if (n == 0) return;
        for (size_t i = 0; i < n; ++i) {
            const runtime::InputEvent& ev = batch_events_[i];
            if (ev.type != last_type_ || !last_type_count_) {
                last_type_ = ev.type;
                last_type_count_ = &events_by_type_[ev.type];
            }
            ++*last_type_count_;
        }
        events_.fetch_add(n, std::memory_order_relaxed);
        usage_->events_processed.fetch_add(n, std::memory_order_relaxed);
    };
    try {
        if (!batch_rows_) batch_rows_ = std::make_unique<runtime::EventBatch>();
        batch_rows_->clear();
        engine_->prepare(batch_events_.data(), batch_events_.size(), *batch_rows_);
        auto t0 = std::chrono::steady_clock::now();
        engine_->process_batch(*batch_rows_, 0, batch_rows_->size());
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!batch_events_.empty())
            record_latency(seconds / static_cast<double>(batch_events_.size()), batch_events_.size());
        account();
    } catch (...) {
        account();
        collector_ = nullptr;
        flat_sink_ = nullptr;
        throw;
    }
    collector_ = nullptr;
    flat_sink_ = nullptr;
    jit_active_ = engine_->kernels_active();
    batch_events_.clear();
    batch_bad_.clear();
    maybe_compact_locked();
}

PipelineHost::Ingest PipelineHost::process_batch(std::string_view json, int64_t now_ms, const Admit& admit,
                                                 std::vector<RenderedOutput>& outputs, size_t& accepted,
                                                 std::string& error) {
    std::lock_guard<std::mutex> lk(mu_);
    Ingest r = parse_batch_locked(json, now_ms, admit, error);
    if (r != Ingest::Ok) return r;
    accepted = batch_events_.size();
    collector_ = &outputs;
    run_batch_locked();
    return Ingest::Ok;
}

PipelineHost::Ingest PipelineHost::process_batch_flat(std::string_view json, int64_t now_ms, const Admit& admit,
                                                      std::string& flat_out, size_t& accepted, std::string& error) {
    std::lock_guard<std::mutex> lk(mu_);
    Ingest r = parse_batch_locked(json, now_ms, admit, error);
    if (r != Ingest::Ok) return r;
    accepted = batch_events_.size();
    flat_sink_ = &flat_out;
    flat_first_ = true;
    run_batch_locked();
    return Ingest::Ok;
}

PipelineHost::Snapshot PipelineHost::checkpoint() {
    std::lock_guard<std::mutex> lk(mu_);
    Snapshot s;
    s.blob = engine_->save_checkpoint();
    s.events = events_.load();
    s.outputs = outputs_.load();
    s.changed_since_last = persisted_events_ != s.events;
    return s;
}

void PipelineHost::mark_persisted(uint64_t events) {
    std::lock_guard<std::mutex> lk(mu_);
    persisted_events_ = events;
}

bool PipelineHost::restore(std::string_view blob, uint64_t events, uint64_t outputs, std::string& error,
                           uint64_t& events_restored) {
    std::lock_guard<std::mutex> lk(mu_);
    auto fresh = make_engine(*compilation_);
    runtime::RestoreReport report;
    if (!fresh->restore_checkpoint(blob, report, error)) return false;
    if (kernels_) fresh->install_kernels(kernels_);
    engine_ = std::move(fresh);
    events_ = events;
    outputs_ = outputs;
    persisted_events_ = ~0ull;
    events_restored = events;
    return true;
}

void PipelineHost::reload(std::string source, CompiledProgram program, std::string& warning) {
    std::lock_guard<std::mutex> lk(mu_);
    std::string blob = engine_->save_checkpoint();
    auto fresh = make_engine(*program.compilation);
    if (!blob.empty()) {
        runtime::RestoreReport report;
        std::string error;
        if (!fresh->restore_checkpoint(blob, report, error)) {
            warning = "state not carried over: " + error;
            fresh = make_engine(*program.compilation);
        }
    } else {
        warning = "state not carried over: the engine produced no checkpoint";
    }
    // Old engine and kernels before the old plan: they refer to it.
    engine_ = std::move(fresh);
    kernels_.reset();
    compilation_ = std::move(program.compilation);
    stream_count_ = program.stream_count;
    source_ = std::move(source);
    jit_active_ = false;
    ++generation_;
    persisted_events_ = ~0ull;
}

void PipelineHost::set_compaction_threshold(size_t bytes) {
    std::lock_guard<std::mutex> lk(mu_);
    compact_bytes_ = bytes;
}

void PipelineHost::maybe_compact_locked() {
    if (compact_bytes_ == 0 || arena_->bytes_used() < compact_bytes_) return;
    std::string blob = engine_->save_checkpoint();
    std::unique_ptr<runtime::Engine> fresh;
    if (!blob.empty()) {
        fresh = make_engine(*compilation_);
        runtime::RestoreReport report;
        std::string error;
        if (!fresh->restore_checkpoint(blob, report, error)) fresh.reset();
    }
    if (!fresh) {
        // Keep going on the current engine; try again when the arena has doubled.
        compact_bytes_ *= 2;
        return;
    }
    if (kernels_) fresh->install_kernels(kernels_);
    engine_ = std::move(fresh);
    arena_->reset();
    compactions_.fetch_add(1, std::memory_order_relaxed);
}

std::shared_ptr<LogSubscription> PipelineHost::subscribe() {
    auto s = std::make_shared<LogSubscription>();
    std::lock_guard<std::mutex> lk(subs_mu_);
    subscribers_.push_back(s);
    has_subscribers_ = true;
    return s;
}

void PipelineHost::close_subscribers() {
    std::lock_guard<std::mutex> lk(subs_mu_);
    for (auto& w : subscribers_)
        if (auto s = w.lock()) s->close();
    subscribers_.clear();
    has_subscribers_ = false;
}

std::shared_ptr<ir::Compilation> PipelineHost::jit_job(uint64_t& generation) const {
    std::lock_guard<std::mutex> lk(mu_);
    generation = generation_;
    return compilation_;
}

bool PipelineHost::install_kernels(uint64_t generation, std::shared_ptr<const runtime::KernelTable> table) {
    std::lock_guard<std::mutex> lk(mu_);
    if (generation != generation_) return false;
    kernels_ = table;
    engine_->install_kernels(std::move(table));
    return true;
}

PipelineHost::Metrics PipelineHost::metrics() const {
    std::lock_guard<std::mutex> lk(mu_);
    Metrics m;
    m.events = events_.load();
    m.outputs = outputs_.load();
    m.latency_counts = latency_counts_;
    m.latency_sum = latency_sum_;
    for (const auto& [type, n] : events_by_type_) m.events_by_type.emplace_back(std::string(type->view()), n);
    for (const auto& [key, n] : outputs_by_stream_) {
        size_t z = key.find('\0');
        m.outputs_by_stream.push_back({{key.substr(0, z), key.substr(z + 1)}, n});
    }
    m.streams = stream_count_;
    m.jit_active = jit_active_.load();
    m.loop_events = loop_events_.load();
    m.compactions = compactions_.load();
    return m;
}

}  // namespace varpulis::server
