// `varpulis simulate`: run a program over an event file (FORMATS.md §4, SEMANTICS §15).

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli/commands.hpp"
#include "cli/read_file.hpp"
#include "ir/compiler.hpp"
#include "jit/jit_loader.hpp"
#include "runtime/engine.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/event_reader.hpp"
#include "runtime/output_writer.hpp"
#include "runtime/value_io.hpp"

namespace varpulis::cli {

namespace {

/// Streaming input: a thread parses the file ahead of the engine and hands over the same
/// batches, in order, as a sequential loop would read them (strings stay valid: the reader's
/// arena is never reset; field arrays, see below). A failed batch ends the input exactly
/// where the sequential loop did. Started before the JIT compiles, so reading overlaps it.
class ReadAhead {
public:
    struct Batch {
        std::vector<runtime::InputEvent> events;
        bool ok = true;
        runtime::ReadError err;
    };

    /// `recycle_fields`: nothing reads whole events after a batch is processed, so its field
    /// arrays go to a ring of arenas, reused instead of growing the reader's arena by the whole
    /// input (fresh pages cost page faults). Batch j may fill arena j % kArenas once batch
    /// j - kArenas is processed: while j is read, at most kMaxReady batches wait and one is
    /// being processed, so batch j - kMaxReady - 2 is long done.
    ReadAhead(runtime::EventReader& reader, bool recycle_fields) : reader_(reader) {
        if (recycle_fields)
            for (size_t i = 0; i < kArenas; ++i) field_arenas_.push_back(std::make_unique<runtime::Arena>(1 << 18));
        thread_ = std::thread([this] { run(); });
    }
    ~ReadAhead() { stop(); }
    ReadAhead(const ReadAhead&) = delete;
    ReadAhead& operator=(const ReadAhead&) = delete;

    /// The next batch (empty events: the end; !ok: a read error).
    Batch next() {
        Batch b;
        {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait(lk, [&] { return !ready_.empty(); });
            b = std::move(ready_.front());
            ready_.pop_front();
        }
        cv_.notify_all();
        return b;
    }

    void stop() {
        if (!thread_.joinable()) return;
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

private:
    static constexpr size_t kMaxReady = 8;
    static constexpr size_t kArenas = kMaxReady + 3;

    void run() {
        for (size_t j = 0;; ++j) {
            Batch b;
            runtime::Arena* fields = field_arenas_.empty() ? nullptr : field_arenas_[j % kArenas].get();
            if (fields) fields->reset();
            b.ok = reader_.next_batch(b.events, b.err, 4096, fields);
            bool last = !b.ok || b.events.empty();
            {
                std::unique_lock<std::mutex> lk(mu_);
                cv_.wait(lk, [&] { return stop_ || ready_.size() < kMaxReady; });
                if (stop_) return;
                ready_.push_back(std::move(b));
            }
            cv_.notify_all();
            if (last) return;
        }
    }

    runtime::EventReader& reader_;
    std::vector<std::unique_ptr<runtime::Arena>> field_arenas_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Batch> ready_;
    bool stop_ = false;
    std::thread thread_;   // last: started once everything above exists
};

constexpr const char* kUsage = "varpulis simulate --program FILE --events FILE [options]";
constexpr const char* kHelp =
    "Runs a VPL program over an event file (.evt, or JSON lines for .jsonl/.json) and prints the\n"
    "output events on stdout; diagnostics, .print lines and a final summary go to stderr.\n"
    "  -p, --program FILE     the VPL program\n"
    "  -e, --events FILE      the events\n"
    "      --immediate        do not pace by event time\n"
    "      --preload          read all events before processing (the summary then times\n"
    "                         processing only)\n"
    "      --json             one JSON object per output event (FORMATS.md §4)\n"
    "  -q, --quiet            count outputs, print none\n"
    "  -v, --verbose          more information on stderr\n"
    "      --skip-bad-events  skip malformed event lines (counted) instead of stopping\n"
    "      --engine E         execution engine: interp (the reference interpreter), jit\n"
    "                         (compile filters and projections to machine code before the\n"
    "                         first event) or auto (default: start interpreting at once,\n"
    "                         compile in the background, switch at an event boundary)\n"
    "  -O, --opt-level N      JIT optimisation level 0-3 (default 2)\n"
    "      --jit-tier T       how --engine jit compiles: two-stage (default: a quick first\n"
    "                         stage before the first event, the fully optimised code swapped\n"
    "                         in from the background), full (one fully optimised compile\n"
    "                         first) or quick (the first stage only)\n"
    "  -w, --workers N        accepted for compatibility; one engine always runs\n";

enum class EngineMode { Interp, Jit, Auto };
enum class JitTiers { TwoStage, Full, Quick };

struct Options {
    std::string program, events;
    bool immediate = false, preload = false, json = false, quiet = false, verbose = false, skip_bad = false;
    EngineMode mode = EngineMode::Auto;
    int opt_level = 2;
    JitTiers tiers = JitTiers::TwoStage;
    /// Testing: with auto, wait for the compilation and switch exactly after this many input
    /// events (-1: switch whenever the compilation is ready).
    long long swap_after = -1;
};

bool parse_count(const std::string& text, long long lo, long long hi, long long& out) {
    if (text.empty()) return false;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (*end != '\0' || v < lo || v > hi) return false;
    out = v;
    return true;
}

void print_jit_summary(const jit::CompiledPlan& c, const jit::JitCompiler& j) {
    size_t compiled = 0;
    for (const auto& op : c.operators) compiled += op.compiled;
    std::fprintf(stderr, "jit: %zu of %zu operators compiled in %.2f ms (O%d, cpu %s%s%s)\n", compiled,
                 c.operators.size(), c.compile_ms, j.options().opt_level, j.host_cpu().c_str(),
                 c.tier == jit::CompileTier::Quick ? ", first stage" : "", c.cache_hit ? ", cached" : "");
}

void report_read_error(const std::string& file, const runtime::ReadError& err) {
    if (err.line > 0) std::fprintf(stderr, "%s:%u: error: %s\n", file.c_str(), err.line, err.message.c_str());
    else std::fprintf(stderr, "%s: error: %s\n", file.c_str(), err.message.c_str());
}

}  // namespace

int run_simulate(const Args& args) {
    Options o;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](std::string& dst) -> bool {
            if (i + 1 >= args.size()) return false;
            dst = args[++i];
            return true;
        };
        if (a == "--help" || a == "-h") {
            std::printf("usage: %s\n\n%s", kUsage, kHelp);
            return 0;
        } else if (a == "-p" || a == "--program") {
            if (!value(o.program)) return usage_error("simulate", "--program needs a file");
        } else if (a == "-e" || a == "--events") {
            if (!value(o.events)) return usage_error("simulate", "--events needs a file");
        } else if (a == "--immediate") {
            o.immediate = true;
        } else if (a == "--preload") {
            o.preload = true;
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "-q" || a == "--quiet") {
            o.quiet = true;
        } else if (a == "-v" || a == "--verbose") {
            o.verbose = true;
        } else if (a == "--skip-bad-events") {
            o.skip_bad = true;
        } else if (a == "--engine") {
            std::string e;
            if (!value(e)) return usage_error("simulate", "--engine needs interp, jit or auto");
            if (e == "interp") o.mode = EngineMode::Interp;
            else if (e == "jit") o.mode = EngineMode::Jit;
            else if (e == "auto") o.mode = EngineMode::Auto;
            else return usage_error("simulate", "unknown engine `" + e + "` (available: interp, jit, auto)");
        } else if (a == "-O" || a == "--opt-level") {
            std::string n;
            long long v = 0;
            if (!value(n) || !parse_count(n, 0, 3, v)) return usage_error("simulate", "--opt-level needs 0, 1, 2 or 3");
            o.opt_level = static_cast<int>(v);
        } else if (a == "--jit-tier") {
            std::string t;
            if (!value(t)) return usage_error("simulate", "--jit-tier needs two-stage, full or quick");
            if (t == "two-stage") o.tiers = JitTiers::TwoStage;
            else if (t == "full") o.tiers = JitTiers::Full;
            else if (t == "quick") o.tiers = JitTiers::Quick;
            else return usage_error("simulate", "unknown jit tier `" + t + "` (available: two-stage, full, quick)");
        } else if (a == "--swap-after") {
            std::string n;
            if (!value(n) || !parse_count(n, 0, (1LL << 62), o.swap_after))
                return usage_error("simulate", "--swap-after needs a number of events");
        } else if (a == "-w" || a == "--workers") {
            std::string n;
            if (!value(n)) return usage_error("simulate", "--workers needs a number");
        } else {
            return usage_error("simulate", "unknown option `" + a + "`");
        }
    }
    if (o.program.empty() || o.events.empty())
        return usage_error("simulate", "--program and --events are required");

    std::string source;
    if (!read_text_file(o.program, source)) {
        std::fprintf(stderr, "%s: error: cannot read file\n", o.program.c_str());
        return 1;
    }
    auto compiled = ir::compile_source(o.program, std::move(source), ir::CompileStage::Lower);
    std::string diags = frontend::render_all(compiled->file, compiled->diags);
    std::fputs(diags.c_str(), stderr);
    if (!compiled->ok()) return 1;
    const ir::Plan& plan = *compiled->plan;
    if (o.verbose) std::fprintf(stderr, "program loaded: %zu streams\n", plan.streams.size());

    runtime::Interner interner;
    // Streaming input is parsed on a thread of its own, with its own interner (an interner is
    // not thread-safe); the engine thread maps its names to `interner` (see below).
    runtime::Interner read_interner;
    runtime::Arena event_arena(1 << 20);
    runtime::ReadOptions ropts;
    ropts.skip_bad_events = o.skip_bad;
    runtime::EventReader reader(o.preload ? interner : read_interner, event_arena, ropts);
    runtime::OutputWriter writer(o.json, o.quiet);
    // --quiet: outputs are built and counted but not handed to anyone (like the anchors' core
    // mode, which builds each record and folds it into a checksum).
    runtime::OutputSink sink;
    if (!o.quiet) sink = [&](const runtime::OutputEvent& e) { writer.write(e); };
    runtime::Engine engine(plan, interner, std::move(sink), stderr);
    runtime::ReadError err;

    // Tiering. Code versions keep what they need of the compiler alive; the background thread
    // is declared last, so it is joined before anything it uses goes away. In auto mode the
    // JIT module itself is loaded on that thread, so interpreting starts without LLVM.
    jit::JitOptions jopts;
    jopts.opt_level = o.opt_level;
    std::unique_ptr<jit::JitCompiler> compiler;
    std::shared_ptr<const jit::CompiledPlan> background_result;
    std::string background_error;
    const bool swap_on_count = o.mode == EngineMode::Auto && o.swap_after >= 0;
    bool swapped = false;
    // Set while the background thread compiles: a run that ends first does not wait for it.
    std::atomic<bool> background_busy{false};
    struct Done {
        std::atomic<bool>& busy;
        ~Done() { busy.store(false, std::memory_order_release); }
    };
    std::jthread background;
    // Tiering starts once the run has lasted kTierDelay: shorter runs finish before compiled
    // code could pay off, so they never load LLVM. A forced swap (--swap-after) starts at once.
    constexpr auto kTierDelay = std::chrono::milliseconds(20);
    constexpr auto kTierMinRest = std::chrono::milliseconds(200);
    constexpr int kTierNice = 5;
    bool tier_started = false;
    auto start_tiering = [&] {
        if (tier_started || o.mode != EngineMode::Auto) return;
        tier_started = true;
        background_busy.store(true);
        background = std::jthread([&] {
            Done done{background_busy};
            // Below the reader, engine and writer threads: on a busy machine (two cores, all
            // three at work end to end) compiling takes the idle time rather than theirs.
            setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kTierNice);
            compiler = jit::load_jit(jopts, background_error);
            if (!compiler) {
                std::fprintf(stderr, "warning: jit unavailable (%s); interpreting\n", background_error.c_str());
                return;
            }
            // Free-running tiering publishes at once; the engine adopts it at its next event. It
            // goes through the quick tier first (compiled code a few times sooner), then the
            // fully optimised version; a forced swap installs the full version only.
            std::shared_ptr<const jit::CompiledPlan> first;
            if (!swap_on_count) {
                first = compiler->compile(plan, background_error, jit::CompileTier::Quick);
                if (!first) return;
                engine.install_kernels(first->kernels);
                if (first->tier != jit::CompileTier::Quick) {
                    compiler->release_idle_memory();
                    background_result = std::move(first);
                    return;
                }
            }
            auto c = compiler->compile(plan, background_error);
            compiler->release_idle_memory();
            if (c && !swap_on_count) engine.install_kernels(c->kernels);
            if (!c && first) {
                // The first stage keeps running: compiled, if not fully optimised.
                std::fprintf(stderr, "warning: jit: %s; the first stage's code runs\n", background_error.c_str());
                c = std::move(first);
            }
            background_result = std::move(c);
        });
    };
    // Streaming input: the reader starts now, so parsing overlaps loading and compiling.
    std::unique_ptr<ReadAhead> read_ahead;
    if (!o.preload) {
        if (!reader.open(o.events, err)) {
            report_read_error(o.events, err);
            return 1;
        }
        read_ahead = std::make_unique<ReadAhead>(reader, !engine.keeps_field_lists());
    }
    // --engine jit compiles in two stages by default: the quick tier first (the engine starts on
    // it), then the fully optimised version on the background thread, which the engine adopts
    // at an event boundary as in auto mode. With --preload the second stage is usually done
    // before the clock starts.
    if (o.mode == EngineMode::Jit) {
        std::string error;
        compiler = jit::load_jit(jopts, error);
        std::shared_ptr<const jit::CompiledPlan> c;
        if (compiler)
            c = compiler->compile(plan, error,
                                  o.tiers == JitTiers::Full ? jit::CompileTier::Full : jit::CompileTier::Quick);
        if (!c) {
            std::fprintf(stderr, "error: jit: %s\n", error.c_str());
            return 1;
        }
        if (o.verbose) print_jit_summary(*c, *compiler);
        engine.install_kernels(c->kernels);
        if (c->tier == jit::CompileTier::Quick && o.tiers == JitTiers::TwoStage) {
            background_busy.store(true);
            background = std::jthread([&] {
                Done done{background_busy};
                auto full = compiler->compile(plan, background_error);
                if (full) engine.install_kernels(full->kernels);
                // One plan, two compiles: LLVM's code is not needed again in this process.
                const size_t released = compiler->release_idle_memory();
                if (o.verbose && full)
                    std::fprintf(stderr, "jit: released %.1f MB of compiler code pages\n", released / 1048576.0);
                background_result = std::move(full);
            });
        } else {
            size_t released = compiler->release_idle_memory();
            if (o.verbose) std::fprintf(stderr, "jit: released %.1f MB of compiler code pages\n", released / 1048576.0);
        }
    }
    if (swap_on_count) start_tiering();
    auto swap_now = [&] {
        if (background.joinable()) background.join();
        if (background_result) engine.install_kernels(background_result->kernels);
        swapped = true;
    };
    if (swap_on_count && o.swap_after == 0) swap_now();

    const bool progress = isatty(STDERR_FILENO) && !o.json;
    auto started = std::chrono::steady_clock::now();
    auto last_progress = started;
    int64_t last_ts = 0;
    bool have_ts = false;
    // Every 1024 events, or after each prepared batch: start tiering once the run has lasted
    // kTierDelay, and show progress.
    // How far the run is (0 to 1; -1: unknown, e.g. a pipe): events processed of those preloaded,
    // or the share of the event file read.
    uint64_t preloaded_events = 0;
    auto run_fraction = [&]() -> double {
        if (o.preload)
            return preloaded_events ? static_cast<double>(engine.stats().events) / static_cast<double>(preloaded_events) : -1;
        return reader.input_fraction();
    };
    auto between_events = [&] {
        if (!tier_started && o.mode == EngineMode::Auto) {
            const auto elapsed = std::chrono::steady_clock::now() - started;
            if (elapsed >= kTierDelay) {
                // Compiling costs tens of milliseconds of CPU (LLVM loaded, two compiles) that a
                // short input never wins back, end to end on a busy machine least of all: it
                // starts only when the rest of the run, estimated from how far it is, is long.
                const double f = run_fraction();
                if (f < 0 || (f > 0 && std::chrono::duration<double>(elapsed).count() * (1 - f) / f >=
                                           std::chrono::duration<double>(kTierMinRest).count()))
                    start_tiering();
            }
        }
        if (progress) {
            auto now = std::chrono::steady_clock::now();
            if (now - last_progress > std::chrono::seconds(3)) {
                last_progress = now;
                double s = std::chrono::duration<double>(now - started).count();
                std::fprintf(stderr, "\rprocessed %llu events, %llu outputs, %.1f s",
                             static_cast<unsigned long long>(engine.stats().events),
                             static_cast<unsigned long long>(engine.stats().outputs), s);
            }
        }
    };
    // With --immediate, events are prepared as rows (Engine::prepare) and run a batch at a
    // time; a forced swap splits the batch exactly after event N.
    auto run_batch = [&](const runtime::EventBatch& batch) {
        size_t at = 0;
        while (at < batch.size()) {
            size_t n = batch.size() - at;
            if (swap_on_count && !swapped) {
                const auto left = static_cast<unsigned long long>(o.swap_after) - engine.stats().events;
                if (left < n) n = static_cast<size_t>(left);
            }
            engine.process_batch(batch, at, n);
            at += n;
            if (swap_on_count && !swapped && engine.stats().events == static_cast<unsigned long long>(o.swap_after))
                swap_now();
        }
        between_events();
    };
    auto feed = [&](const runtime::InputEvent& ev) {
        if (!o.immediate && have_ts && ev.timestamp_ms > last_ts) {
            writer.hand_over();  // what the replay produced so far shows up during the pause
            std::this_thread::sleep_for(std::chrono::milliseconds(ev.timestamp_ms - last_ts));
        }
        if (!have_ts || ev.timestamp_ms > last_ts) last_ts = ev.timestamp_ms;
        have_ts = true;
        engine.process(ev);
        if (swap_on_count && !swapped && engine.stats().events == static_cast<unsigned long long>(o.swap_after))
            swap_now();
        if ((engine.stats().events & 0x3FF) == 0) between_events();
    };

    std::vector<runtime::InputEvent> events;
    double process_seconds = 0;
    if (o.preload && o.immediate) {
        // Rows are laid out at load time, before the clock starts: the reader's batches are
        // converted as they come, so the InputEvents never all exist at once (their fields and
        // strings stay in the reader's arena).
        std::vector<runtime::EventBatch> batches;
        if (!reader.open(o.events, err)) {
            report_read_error(o.events, err);
            return 1;
        }
        // Rows hold what operators read; when none reads whole events later, the field arrays
        // are dead once a batch is prepared and their memory serves the next batch.
        runtime::Arena field_arena(1 << 20);
        runtime::Arena* fields = engine.keeps_field_lists() ? nullptr : &field_arena;
        for (;;) {
            if (fields) fields->reset();
            if (!reader.next_batch(events, err, 4096, fields)) {
                writer.flush();
                report_read_error(o.events, err);
                return 1;
            }
            if (events.empty()) break;
            batches.emplace_back();
            engine.prepare(events.data(), events.size(), batches.back());
        }
        std::vector<runtime::InputEvent>().swap(events);
        for (const auto& b : batches) preloaded_events += b.size();
        auto t0 = std::chrono::steady_clock::now();
        started = t0;   // the run (tiering, progress) starts with processing
        for (const auto& b : batches) run_batch(b);
        engine.finish();
        process_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } else if (o.preload) {
        if (!reader.read_file(o.events, events, err)) {
            writer.flush();
            report_read_error(o.events, err);
            return 1;
        }
        preloaded_events = events.size();
        auto t0 = std::chrono::steady_clock::now();
        started = t0;
        for (const auto& ev : events) feed(ev);
        engine.finish();
        process_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } else {
        ReadAhead& ahead = *read_ahead;
        auto stop_reading = [&] { ahead.stop(); };
        // Reader names (read_interner) -> engine names (interner).
        std::unordered_map<const runtime::StrObj*, const runtime::StrObj*> names;
        struct NameCache {
            const runtime::StrObj* from = nullptr;
            const runtime::StrObj* to = nullptr;
        };
        NameCache name_cache[64];
        runtime::EventBatch stream_batch;   // --immediate: each batch's rows (reused)
        auto map_name = [&](const runtime::StrObj* s) -> const runtime::StrObj* {
            if (!s) return s;
            NameCache& c = name_cache[(reinterpret_cast<uintptr_t>(s) >> 4) & 63];
            if (c.from == s) return c.to;
            auto it = names.find(s);
            const runtime::StrObj* t = it != names.end() ? it->second : names.emplace(s, interner.intern(s->view())).first->second;
            c.from = s;
            c.to = t;
            return t;
        };
        const bool keeps_fields = engine.keeps_field_lists();
        const runtime::Engine::ForeignNames foreign{
            [](void* ctx, const runtime::StrObj* s) { return (*static_cast<decltype(map_name)*>(ctx))(s); }, &map_name};
        while (true) {
            ReadAhead::Batch b = ahead.next();
            if (!b.ok) {
                stop_reading();
                writer.flush();
                report_read_error(o.events, b.err);
                return 1;
            }
            if (b.events.empty()) break;
            if (o.immediate && !keeps_fields) {
                // Rows a batch at a time: the fused per-type loops apply, as with --preload
                // (filter and aggregation run a fifth of the instructions per event). The rows
                // keep no names, so prepare maps the reader's names only as it meets them.
                stream_batch.clear();
                engine.prepare(b.events.data(), b.events.size(), stream_batch, foreign);
                run_batch(stream_batch);
                continue;
            }
            for (auto& ev : b.events) {
                ev.type = map_name(ev.type);
                for (uint32_t f = 0; f < ev.field_count; ++f) ev.fields[f].name = map_name(ev.fields[f].name);
            }
            if (o.immediate) {
                stream_batch.clear();
                engine.prepare(b.events.data(), b.events.size(), stream_batch);
                run_batch(stream_batch);
            } else {
                for (auto& ev : b.events) feed(ev);
            }
        }
        stop_reading();
        engine.finish();
        process_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }
    writer.flush();
    if (progress) std::fputc('\n', stderr);
    // Auto mode: a compile still running when the input is done could only pay off after the
    // end, so the process does not wait for it (it ends with _Exit below, LLVM's code still
    // running on that thread, once every output and message is written). --engine jit reports
    // both of its stages, so it waits.
    const bool abandon = o.mode == EngineMode::Auto && background.joinable() &&
                         background_busy.load(std::memory_order_acquire);
    if (abandon) {
        if (o.verbose) std::fprintf(stderr, "jit: the input ended before compiling did; not waiting for it\n");
    } else {
        if (background.joinable()) background.join();
        if (o.mode == EngineMode::Auto && !tier_started && o.verbose)
            std::fprintf(stderr, "jit: not started (the run was estimated too short to win back compiling: "
                                 "under %lld ms, or under %lld ms left after it)\n",
                         static_cast<long long>(kTierDelay.count()), static_cast<long long>(kTierMinRest.count()));
        if (o.mode == EngineMode::Jit && compiler && !background_result && !background_error.empty())
            std::fprintf(stderr, "warning: jit: %s; the first stage's code ran throughout\n", background_error.c_str());
        if (o.mode == EngineMode::Jit && background_result && o.verbose) print_jit_summary(*background_result, *compiler);
        if (o.mode == EngineMode::Auto && compiler) {
            if (!background_result)
                std::fprintf(stderr, "warning: jit: %s; interpreted throughout\n", background_error.c_str());
            else if (o.verbose)
                print_jit_summary(*background_result, *compiler);
        }
    }
    for (const auto& d : engine.drops()) {
        if (d.pattern_caps)
            std::fprintf(stderr, "warning: stream %s: %llu dropped by pattern caps\n", d.stream.c_str(),
                         static_cast<unsigned long long>(d.pattern_caps));
        if (d.trend_overflows)
            std::fprintf(stderr, "warning: stream %s: %llu trend aggregate values overflowed to float\n",
                         d.stream.c_str(), static_cast<unsigned long long>(d.trend_overflows));
    }
    if (reader.skipped_count() > 0)
        std::fprintf(stderr, "warning: skipped %llu bad event lines\n",
                     static_cast<unsigned long long>(reader.skipped_count()));
    const auto& st = engine.stats();
    if (o.verbose && st.unrouted)
        std::fprintf(stderr, "%llu events had a type no stream reads\n", static_cast<unsigned long long>(st.unrouted));
    double rate = process_seconds > 0 ? static_cast<double>(st.events) / process_seconds : 0;
    std::fprintf(stderr, "events=%llu outputs=%llu process_seconds=%.6f events_per_second=%.0f\n",
                 static_cast<unsigned long long>(st.events), static_cast<unsigned long long>(st.outputs),
                 process_seconds, rate);
    if (abandon) {
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(0);
    }
    return 0;
}

}  // namespace varpulis::cli
