// Long-running interpreter/JIT differential driver over random whole queries
// (tests/support/random_query.hpp): `differential_runner --cases N --seed S [-O L] [--quiet]`.
// Each case is generated from seed S + i; a mismatch prints the seed and a minimised case.
// Exit status: 0 no mismatch, 1 mismatches or generator rejects, 2 wrong usage.

#include "tests/support/random_query.hpp"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace rq = varpulis::test_support::random_query;

namespace {

volatile std::sig_atomic_t g_current_seed_valid = 0;
uint64_t g_current_seed = 0;

/// A crash in generated code or the engine still names the case (async-signal-safe).
void on_fatal_signal(int sig) {
    if (g_current_seed_valid) {
        char buf[64];
        int n = 0;
        char digits[24];
        int d = 0;
        uint64_t v = g_current_seed;
        do digits[d++] = static_cast<char>('0' + v % 10);
        while ((v /= 10) != 0);
        const char prefix[] = "\nfatal signal while running seed ";
        ssize_t ignored = write(STDERR_FILENO, prefix, sizeof prefix - 1);
        while (d) buf[n++] = digits[--d];
        buf[n++] = '\n';
        ignored = write(STDERR_FILENO, buf, static_cast<size_t>(n));
        (void)ignored;
    }
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

int usage() {
    std::fprintf(stderr,
                 "usage: differential_runner [--cases N] [--seed S] [-O 0..3] [--max-mismatches M] [--quiet] [--show]\n"
                 "                           [--background]\n"
                 "  runs N random queries (seeds S, S+1, ...) through the interpreter and the JIT;\n"
                 "  --show prints the cases (query.vpl, events.evt) instead; --background adds a mode that\n"
                 "  installs the kernels from another thread while events flow (for TSan)\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t cases = 100000, seed = 1, max_mismatches = 5;
    int opt = -1;  // -1: alternate O0 and O2
    bool quiet = false, show = false, background = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&](uint64_t& out) {
            if (i + 1 >= argc) return false;
            char* end = nullptr;
            out = std::strtoull(argv[++i], &end, 10);
            return end && *end == '\0';
        };
        uint64_t v = 0;
        if (a == "--cases" && next(v))
            cases = v;
        else if (a == "--seed" && next(v))
            seed = v;
        else if (a == "--max-mismatches" && next(v))
            max_mismatches = v;
        else if (a == "-O" && next(v) && v <= 3)
            opt = static_cast<int>(v);
        else if (a == "--quiet")
            quiet = true;
        else if (a == "--show")
            show = true;
        else if (a == "--background")
            background = true;
        else
            return usage();
    }
    if (show) {
        // Print the cases as query.vpl / events.evt text instead of running them.
        for (uint64_t i = 0; i < cases; ++i) {
            rq::Case c = rq::generate_case(seed + i, rq::default_options());
            std::printf("=== seed %llu (swap after %ld)\n--- query.vpl\n%s--- events.evt\n%s",
                        static_cast<unsigned long long>(seed + i), c.swap_at, rq::render_program(c.program).c_str(),
                        rq::render_events(c.events).c_str());
        }
        return 0;
    }
    std::signal(SIGSEGV, on_fatal_signal);
    std::signal(SIGBUS, on_fatal_signal);
    std::signal(SIGFPE, on_fatal_signal);
    std::signal(SIGILL, on_fatal_signal);
    std::signal(SIGABRT, on_fatal_signal);

    std::string error;
    rq::Runner o0(opt < 0 ? 0 : opt, error);
    rq::Runner o2(opt < 0 ? 2 : opt, error);
    if (!o0.ok() || !o2.ok()) {
        std::fprintf(stderr, "error: jit: %s\n", error.c_str());
        return 1;
    }
    o0.set_background_swap(background);
    o2.set_background_swap(background);
    const rq::GenOptions options = rq::default_options();
    uint64_t mismatches = 0, rejected = 0, with_output = 0, done = 0;
    auto started = std::chrono::steady_clock::now();
    auto last_report = started;
    for (uint64_t i = 0; i < cases; ++i) {
        const uint64_t s = seed + i;
        g_current_seed = s;
        g_current_seed_valid = 1;
        rq::Runner& runner = i % 4 == 3 ? o2 : o0;
        rq::Case c = rq::generate_case(s, options);
        rq::Outcome out = runner.run(c);
        ++done;
        if (out.verdict == rq::Verdict::Agree) {
            with_output += out.outputs > 0;
        } else if (out.verdict == rq::Verdict::Mismatch) {
            ++mismatches;
            rq::Case small = runner.minimise(c);
            rq::Outcome again = runner.run(small);
            std::printf("%s\n", rq::report(c, small, again.verdict == rq::Verdict::Mismatch ? again : out).c_str());
            std::fflush(stdout);
            if (mismatches >= max_mismatches) break;
        } else {
            ++rejected;
            std::printf("generator bug, seed %llu:\n%s\n", static_cast<unsigned long long>(s), out.detail.c_str());
            std::fflush(stdout);
        }
        auto now = std::chrono::steady_clock::now();
        if (!quiet && now - last_report > std::chrono::seconds(10)) {
            last_report = now;
            double secs = std::chrono::duration<double>(now - started).count();
            std::fprintf(stderr, "%llu cases, %llu mismatches, %llu rejected, %.1f cases/s\n",
                         static_cast<unsigned long long>(done), static_cast<unsigned long long>(mismatches),
                         static_cast<unsigned long long>(rejected), static_cast<double>(done) / secs);
        }
    }
    g_current_seed_valid = 0;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("differential: %llu cases from seed %llu, %llu with output, %llu mismatches, %llu rejected, %.1f s\n",
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(with_output), static_cast<unsigned long long>(mismatches),
                static_cast<unsigned long long>(rejected), secs);
    return mismatches || rejected ? 1 : 0;
}
