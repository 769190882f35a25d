// Seeded random differential test of whole queries: random VPL programs (filters, projections,
// windows, aggregates, sequences, Kleene closures, negation, AND/OR patterns, distinct, limit,
// merge, stream chains) over random event streams, through the interpreter and the JIT tier
// in several swap modes, compared byte for byte (tests/support/random_query.hpp).
//
// VARPULIS_RANDOM_CASES (default 2000) and VARPULIS_RANDOM_SEED (default 20261128) override the
// bounded CI run; bench/differential.cpp runs millions.

#include "tests/support/random_query.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "runtime/pattern_matcher.hpp"

namespace rq = varpulis::test_support::random_query;

namespace {

uint64_t env_number(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

TEST(RandomQueryTest, GeneratorIsDeterministic) {
    const rq::GenOptions o = rq::default_options();
    for (uint64_t seed : {1ull, 2ull, 99ull}) {
        rq::Case a = rq::generate_case(seed, o), b = rq::generate_case(seed, o);
        EXPECT_EQ(rq::render_program(a.program), rq::render_program(b.program)) << "seed " << seed;
        EXPECT_EQ(rq::render_events(a.events), rq::render_events(b.events)) << "seed " << seed;
        EXPECT_EQ(a.swap_at, b.swap_at) << "seed " << seed;
    }
    EXPECT_NE(rq::render_program(rq::generate_case(1, o).program), rq::render_program(rq::generate_case(2, o).program))
        << "different seeds give different programs";
}

/// The mismatch path itself: a fault injected into every run with kernels (the last output line
/// dropped) must be caught, minimised to a small case and reported with the seed.
TEST(RandomQueryTest, MismatchesAreMinimisedAndReported) {
    std::string error;
    rq::Runner runner(0, error);
    ASSERT_TRUE(runner.ok()) << "JIT set-up failed: " << error;
    runner.inject_fault_for_testing([](std::string& out) {
        size_t end = out.find("\n--- diagnostics");
        std::string lines = out.substr(0, end == std::string::npos ? out.size() : end + 1);
        if (lines.empty()) return;
        size_t cut = lines.rfind('\n', lines.size() - 2);
        out.erase(cut == std::string::npos ? 0 : cut + 1, lines.size() - (cut == std::string::npos ? 0 : cut + 1));
    });
    uint64_t seed = 1;
    rq::Case c;
    rq::Outcome out;
    for (;; ++seed) {
        c = rq::generate_case(seed, rq::default_options());
        out = runner.run(c);
        if (out.verdict == rq::Verdict::Mismatch) break;
        ASSERT_LT(seed, 50u) << "no generated case produced output";
    }
    rq::Case small = runner.minimise(c);
    rq::Outcome again = runner.run(small);
    EXPECT_EQ(again.verdict, rq::Verdict::Mismatch) << "the minimised case still mismatches";
    EXPECT_EQ(small.program.streams.size(), 1u) << rq::render_program(small.program);
    EXPECT_LE(small.events.size(), 1u) << rq::render_events(small.events);
    std::string text = rq::report(c, small, again);
    EXPECT_NE(text.find("seed " + std::to_string(seed)), std::string::npos) << text;
    EXPECT_NE(text.find("--- minimised query.vpl\n"), std::string::npos) << text;
    EXPECT_LE(rq::render_program(small.program).size(), 200u) << "minimised program is small:\n" << text;
    EXPECT_NE(text.find("varpulis simulate"), std::string::npos) << text;
}

/// Every generated program must pass the checker and every event stream must read: a
/// rejected case is a generator bug, not a skipped case.
TEST(RandomQueryTest, InterpreterAndJitAgreeOnRandomQueries) {
    const uint64_t cases = env_number("VARPULIS_RANDOM_CASES", 2000);
    const uint64_t seed = env_number("VARPULIS_RANDOM_SEED", 20261128);
    std::string error;
    rq::Runner o0(0, error);
    ASSERT_TRUE(o0.ok()) << "JIT set-up failed: " << error;
    rq::Runner o2(2, error);
    ASSERT_TRUE(o2.ok()) << "JIT set-up failed: " << error;
    const rq::GenOptions options = rq::default_options();

    size_t rejected = 0, with_output = 0, mismatches = 0, with_kernels = 0, with_folds = 0, with_trends = 0;
    auto started = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < cases; ++i) {
        // Most cases at O0 (compiles several times faster); every fourth at O2 so the optimiser
        // is held to the same semantics.
        rq::Runner& runner = i % 4 == 3 ? o2 : o0;
        rq::Case c = rq::generate_case(seed + i, options);
        rq::Outcome out = runner.run(c);
        switch (out.verdict) {
            case rq::Verdict::Agree:
                with_output += out.outputs > 0;
                with_kernels += out.compiled_ops > 0;
                with_folds += out.folds > 0 && out.outputs > 0;
                with_trends += out.trends > 0 && out.outputs > 0;
                break;
            case rq::Verdict::Mismatch: {
                ++mismatches;
                if (mismatches <= 3) {
                    rq::Case small = runner.minimise(c);
                    rq::Outcome again = runner.run(small);
                    ADD_FAILURE() << rq::report(c, small, again.verdict == rq::Verdict::Mismatch ? again : out);
                }
                break;
            }
            default:
                ++rejected;
                if (rejected <= 3) ADD_FAILURE() << "generator bug, seed " << (seed + i) << ":\n" << out.detail;
        }
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf(
        "random queries: %llu cases from seed %llu, %zu with output, %zu with compiled operators, "
        "%zu with folded windows, %zu with trend kernels, %zu mismatches, %zu rejected, %.1f s\n",
        static_cast<unsigned long long>(cases), static_cast<unsigned long long>(seed), with_output, with_kernels,
        with_folds, with_trends, mismatches, rejected, seconds);
    EXPECT_EQ(mismatches, 0u) << "interpreter/JIT mismatches (reports above)";
    EXPECT_EQ(rejected, 0u) << "generated cases that do not compile or read";
    EXPECT_GT(with_output * 2, static_cast<size_t>(cases)) << "most cases should produce output";
    EXPECT_GT(with_kernels * 2, static_cast<size_t>(cases)) << "most cases should run compiled operators";
    // Windows that keep their rows and predicate-free trends must be exercised compiled too.
    EXPECT_GT(with_folds * 50, static_cast<size_t>(cases)) << "too few cases fold windows with output";
    EXPECT_GT(with_trends * 100, static_cast<size_t>(cases)) << "too few cases run trend kernels with output";
}

/// skip_till_any_match keeps runs in a compact DAG where it can; the plain run lists are the
/// general path. Both, deciding through the transition kernel or not, must agree with the
/// interpreter on the generated any-match patterns.
TEST(RandomQueryTest, AnyMatchPatternsAgreeWithAndWithoutCompactRuns) {
    const uint64_t seed = env_number("VARPULIS_RANDOM_SEED", 20261128);
    std::string error;
    rq::Runner runner(0, error);
    ASSERT_TRUE(runner.ok()) << "JIT set-up failed: " << error;
    const rq::GenOptions options = rq::default_options();
    size_t any = 0, with_output = 0, mismatches = 0;
    for (uint64_t i = 0; i < 4000 && any < 100; ++i) {
        rq::Case c = rq::generate_case(seed + i, options);
        if (rq::render_program(c.program).find("skip_till_any_match") == std::string::npos) continue;
        ++any;
        for (bool compact : {false, true}) {
            varpulis::runtime::PatternMatcher::set_compact_any_match(compact);
            rq::Outcome out = runner.run(c);
            EXPECT_TRUE(out.verdict == rq::Verdict::Agree || out.verdict == rq::Verdict::Mismatch)
                << "generator bug, seed " << (seed + i) << ":\n" << out.detail;
            with_output += out.outputs > 0;
            if (out.verdict == rq::Verdict::Mismatch && ++mismatches <= 3)
                ADD_FAILURE() << "compact " << compact << "\n" << rq::report(c, c, out);
        }
    }
    varpulis::runtime::PatternMatcher::set_compact_any_match(true);
    EXPECT_EQ(mismatches, 0u) << "interpreter/JIT mismatches on skip_till_any_match patterns (reports above)";
    EXPECT_GE(any, 60u) << "too few generated skip_till_any_match patterns";
    EXPECT_GT(with_output, any) << "most any-match cases should produce output";
}

}  // namespace
