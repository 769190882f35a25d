// The compact skip_till_any_match representation of the pattern matcher (runs merged into
// nodes, matches enumerated at completion) against the plain run lists it replaces: same
// match rows in the same order, same drop counts and live runs, on seeded random input, at the
// run caps of §9.10 (where it turns back into plain runs), and across checkpoints.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "runtime/checkpoint_io.hpp"
#include "runtime/pattern_matcher.hpp"
#include "runtime/value_io.hpp"
#include "tests/support/plan_fixture.hpp"

namespace {

using namespace varpulis;
using namespace varpulis::runtime;
using namespace varpulis::test_support;

class AnyHarness : public PlanFixture {
public:
    /// `stacks`: whether the compact form may use its stack mode (else the node DAG).
    AnyHarness(const std::string& src, const std::string& stream, bool compact, bool stacks = true)
        : PlanFixture(src), stacks_(stacks) {
        PatternMatcher::set_compact_any_match(compact);
        PatternMatcher::set_stack_any_match(stacks);
        for_operator(stream, ir::OpKind::Sequence, [&](const ir::StreamPlan& sp, const ir::Operator& op) {
            sp_ = &sp;
            op_ = &op;
            matcher_ = std::make_unique<PatternMatcher>(rt_, sp, op);
        });
        PatternMatcher::set_compact_any_match(true);
        PatternMatcher::set_stack_any_match(true);
    }

    /// Feeds one event; returns every field of every match row, one string per row.
    std::vector<std::string> feed(const std::string& type, int64_t ts, std::initializer_list<FieldInit> fields) {
        return feed_lines(matcher_.get(), type, ts, fields);
    }

    std::string save() {
        CheckpointWriter w(*plan_);
        matcher_->save(w);
        return w.bytes();
    }

    /// A new matcher (compact mode as given) restored from `blob`.
    bool restore(const std::string& blob, bool compact) {
        PatternMatcher::set_compact_any_match(compact);
        PatternMatcher::set_stack_any_match(stacks_);
        matcher_ = std::make_unique<PatternMatcher>(rt_, *sp_, *op_);
        PatternMatcher::set_compact_any_match(true);
        PatternMatcher::set_stack_any_match(true);
        CheckpointReader r(blob, heap_, interner_, *plan_);
        return matcher_->load(r);
    }

    PatternMatcher& m() { return *matcher_; }

    /// feed() as the engine runs a matcher that prefilters(): on_event only for an event some
    /// step takes, with its verdicts. `skipped` counts the events that never reach on_event.
    std::vector<std::string> feed_prefiltered(const std::string& type, int64_t ts, std::initializer_list<FieldInit> fields,
                                              size_t& skipped) {
        std::vector<std::string> r;
        Row row;
        if (!input_row(type, ts, fields, row)) return r;
        produced_.clear();
        if (const uint64_t v = matcher_->step_verdicts(row))
            matcher_->on_event(row, produced_, scratch_, v);
        else
            ++skipped;
        for (const Row& m : produced_) {
            const ir::Schema& sc = plan_->schemas[static_cast<size_t>(m.schema)];
            std::string s = "@" + std::to_string(m.ts);
            for (size_t i = 0; i < sc.fields.size(); ++i)
                s += " " + sc.fields[i] + "=" + (m.slots[i].present() ? to_display(m.slots[i]) : "-");
            r.push_back(s);
        }
        clobber_input();
        return r;
    }

private:
    bool stacks_ = true;
    const ir::StreamPlan* sp_ = nullptr;
    const ir::Operator* op_ = nullptr;
    std::unique_ptr<PatternMatcher> matcher_;
};

struct Ev {
    std::string type;
    int64_t ts;
    int64_t k, v;
};

/// Time moves on by 0 to `step` - 1 ms per event and steps back by `back` once in
/// `back_every` events (disorder).
std::vector<Ev> random_events(uint32_t seed, size_t n, const std::vector<std::string>& types, int keys,
                              int64_t back = 2, uint32_t back_every = 16, uint32_t step = 4) {
    std::mt19937 rng(seed);
    std::vector<Ev> evs;
    int64_t ts = 0;
    for (size_t i = 0; i < n; ++i) {
        ts += static_cast<int64_t>(rng() % step);
        if (rng() % back_every == 0) ts -= back;  // a little disorder: expiry uses every routed event
        evs.push_back({types[rng() % types.size()], ts, static_cast<int64_t>(rng() % keys), static_cast<int64_t>(rng() % 10)});
    }
    return evs;
}

const char* const kQueries[] = {
    // kleene: a Kleene step reading the first alias, the last step reading the Kleene alias
    "event T:\n    k: int\n    v: int\n"
    "pattern P = SEQ(T as f, T+ where v > f.v as r, T where v > r.v as l) within 12ms partition by k "
    "strategy skip_till_any_match\n"
    "stream M = P .emit(k: l.k, fv: f.v, rv: r.v, n: len(r), lv: l.v)",
    // seq3: plain steps, predicates on the event only
    "event A:\n    k: int\n    v: int\nevent B:\n    k: int\n    v: int\nevent C:\n    k: int\n    v: int\n"
    "pattern P = SEQ(A where v < 5 as a, B where v >= 5 as b, C where v < 3 as c) within 20ms partition by k "
    "strategy skip_till_any_match\n"
    "stream M = P .emit(k: c.k, a: a.v, b: b.v, c: c.v)",
    // kleene_abc: a middle Kleene step, no alias read
    "event A:\n    k: int\n    v: int\nevent B:\n    k: int\n    v: int\nevent C:\n    k: int\n    v: int\n"
    "pattern P = SEQ(A where v < 4 as a, B+ where v < 5 as b, C where v >= 7 as c) within 10ms partition by k "
    "strategy skip_till_any_match\n"
    "stream M = P .emit(k: c.k, a: a.v, n: len(b), b: b.v, c: c.v)",
    // a Kleene step reading its own alias (rising values), plus a correlation on a later step
    "event A:\n    k: int\n    v: int\nevent B:\n    k: int\n    v: int\nevent C:\n    k: int\n    v: int\n"
    "pattern P = SEQ(A as a, B+ where v > b.v as b, B where v == a.v as d, C as c) within 15ms "
    "strategy skip_till_any_match\n"
    "stream M = P .emit(a: a.v, n: len(b), b: b.v, d: d.v, c: c.v)",
    // a next step reading no alias after a Kleene step of the same type (the event-level
    // verdict may skip the nodes before it, never the Kleene ones)
    "event T:\n    k: int\n    v: int\n"
    "pattern P = SEQ(T where v < 4 as x, T+ where v > 3 as y, T where v < 2 as z) within 9ms partition by k "
    "strategy skip_till_any_match\n"
    "stream M = P .emit(x: x.v, n: len(y), y: y.v, z: z.v)",
    // same-type steps, no within, unpartitioned
    "event T:\n    k: int\n    v: int\n"
    "pattern P = SEQ(T where v < 3 as x, T+ where v > x.v as y, T where v == 9 as z) within 30ms strategy skip_till_any_match\n"
    "stream M = P .emit(x: x.v, n: len(y), y: y.v, z: z.v)",
    // stack mode: two steps
    "event T:\n    k: int\n    v: int\n"
    "pattern P = SEQ(T where v < 5 as a, T where v > 3 as b) within 6ms partition by k strategy skip_till_any_match\n"
    "stream M = P .emit(k: b.k, a: a.v, b: b.v)",
    // stack mode: four steps, two Kleene steps (one without alias), the first type again last
    "event A:\n    k: int\n    v: int\nevent B:\n    k: int\n    v: int\nevent C:\n    k: int\n    v: int\n"
    "pattern P = SEQ(A where v < 5 as a, B+ where v > 2, C+ where v < 6 as c, A where v > 6 as d) within 10ms "
    "partition by k strategy skip_till_any_match\n"
    "stream M = P .emit(k: d.k, a: a.v, n: len(c), c: c.v, d: d.v)",
    // one type at every step and two middle Kleene steps: an event taken by either gives
    // runs with equal positions so far, ordered by later positions (plain runs only)
    "event T:\n    k: int\n    v: int\n"
    "pattern P = SEQ(T where v < 6 as x, T+ where v > 2 as y, T+ where v != 5 as w, T where v > 7 as z) within 5ms "
    "partition by k strategy skip_till_any_match\n"
    "stream M = P .emit(x: x.v, n: len(y), y: y.v, m: len(w), w: w.v, z: z.v)",
};

// The form each query above is kept in (compact mode on, stacks allowed).
const char* const kForms[] = {"roots", "stacks", "stacks", "runs", "stacks", "roots", "stacks", "stacks", "runs"};

std::vector<std::string> types_of(const std::string& q) {
    if (q.find("event A") != std::string::npos) return {"A", "B", "C"};
    return {"T"};
}

TEST(PatternAnyMatch, QueriesUseTheIntendedForms) {
    static_assert(std::size(kForms) == std::size(kQueries));
    for (size_t qi = 0; qi < std::size(kQueries); ++qi) {
        EXPECT_STREQ(AnyHarness(kQueries[qi], "M", true).m().any_match_form(), kForms[qi]) << "query " << qi;
        EXPECT_STREQ(AnyHarness(kQueries[qi], "M", true, false).m().any_match_form(),
                     std::string(kForms[qi]) == "runs" ? "runs" : "dag")
            << "query " << qi;
        EXPECT_STREQ(AnyHarness(kQueries[qi], "M", false).m().any_match_form(), "runs") << "query " << qi;
    }
}

TEST(PatternAnyMatch, CompactAgreesWithPlainRunsOnRandomInput) {
    size_t matches = 0;
    for (size_t qi = 0; qi < std::size(kQueries); ++qi) {
        std::string q = kQueries[qi];
        for (uint32_t seed = 1; seed <= 8; ++seed) {
            // Odd seeds: the node DAG even where the stack mode applies.
            AnyHarness compact(q, "M", true, seed % 2 == 0), plain(q, "M", false);
            auto evs = random_events(seed * 7919 + static_cast<uint32_t>(qi), 400, types_of(q), 3);
            for (size_t i = 0; i < evs.size(); ++i) {
                const Ev& e = evs[i];
                auto a = compact.feed(e.type, e.ts, {{"k", I(e.k)}, {"v", I(e.v)}});
                auto b = plain.feed(e.type, e.ts, {{"k", I(e.k)}, {"v", I(e.v)}});
                ASSERT_EQ(a, b) << "query " << qi << " seed " << seed << " event " << i;
                ASSERT_EQ(compact.m().live_runs(), plain.m().live_runs()) << "query " << qi << " seed " << seed << " event " << i;
                matches += a.size();
            }
            EXPECT_EQ(compact.m().dropped(), plain.m().dropped()) << "query " << qi << " seed " << seed;
        }
    }
    EXPECT_GT(matches, 5000u) << "the queries match often enough to compare orders";
}

// Stack mode expires roots lazily (a root is dead once its deadline is below the latest
// expiry time) and turns eager when time goes back by more than `within`: with such jumps,
// still the matches, live runs after every event and drops of plain runs.
TEST(PatternAnyMatch, LazyExpiryAgreesWhenTimeGoesBackPastWithin) {
    size_t matches = 0, stack_queries = 0;
    for (size_t qi = 0; qi < std::size(kQueries); ++qi) {
        if (std::string(kForms[qi]) != "stacks") continue;
        ++stack_queries;
        std::string q = kQueries[qi];
        for (uint32_t seed = 1; seed <= 6; ++seed) {
            AnyHarness compact(q, "M", true), plain(q, "M", false);
            // Back 45 ms (more than any query's `within`) once in 40 events; in the first
            // half only for odd seeds, so lazy and eager phases both run long.
            auto evs = random_events(seed * 6151 + static_cast<uint32_t>(qi), 500, types_of(q), 3, 45, 40, 5);
            for (size_t i = 0; i < evs.size(); ++i) {
                const Ev& e = evs[i];
                const int64_t ts = seed % 2 == 0 && i < 250 ? static_cast<int64_t>(i) * 2 : e.ts + 1000;
                auto a = compact.feed(e.type, ts, {{"k", I(e.k)}, {"v", I(e.v)}});
                auto b = plain.feed(e.type, ts, {{"k", I(e.k)}, {"v", I(e.v)}});
                ASSERT_EQ(a, b) << "query " << qi << " seed " << seed << " event " << i;
                ASSERT_EQ(compact.m().live_runs(), plain.m().live_runs()) << "query " << qi << " seed " << seed << " event " << i;
                matches += a.size();
            }
            EXPECT_EQ(compact.m().dropped(), plain.m().dropped()) << "query " << qi << " seed " << seed;
        }
    }
    EXPECT_GE(stack_queries, 3u);
    EXPECT_GT(matches, 500u);
}

// The engine skips on_event for events no step takes when the matcher prefilters() (stack
// mode only): the same matches in the same order, drops and, after every event that reaches
// the matcher, live runs as a matcher that sees every event (expiry catches up first).
TEST(PatternAnyMatch, PrefilteredEventsGiveTheSameMatches) {
    size_t matches = 0, skipped = 0, events = 0;
    for (size_t qi = 0; qi < std::size(kQueries); ++qi) {
        std::string q = kQueries[qi];
        AnyHarness probe(q, "M", true);
        EXPECT_EQ(probe.m().prefilters(), std::string(kForms[qi]) == "stacks") << "query " << qi;
        if (!probe.m().prefilters()) continue;
        for (uint32_t seed = 1; seed <= 6; ++seed) {
            AnyHarness all(q, "M", true), filtered(q, "M", true);
            auto evs = random_events(seed * 104729 + static_cast<uint32_t>(qi), 600, types_of(q), 3);
            for (size_t i = 0; i < evs.size(); ++i) {
                const Ev& e = evs[i];
                size_t before = skipped;
                auto a = all.feed(e.type, e.ts, {{"k", I(e.k)}, {"v", I(e.v)}});
                auto b = filtered.feed_prefiltered(e.type, e.ts, {{"k", I(e.k)}, {"v", I(e.v)}}, skipped);
                ASSERT_EQ(a, b) << "query " << qi << " seed " << seed << " event " << i;
                if (skipped == before) {
                    ASSERT_EQ(all.m().live_runs(), filtered.m().live_runs()) << "query " << qi << " seed " << seed << " event " << i;
                }
                matches += a.size();
                ++events;
            }
            EXPECT_EQ(all.m().dropped(), filtered.m().dropped()) << "query " << qi << " seed " << seed;
        }
    }
    EXPECT_GT(matches, 1000u);
    EXPECT_GT(skipped, events / 5) << "the queries' predicates reject enough events to exercise the skip";
}

// A checkpoint taken right after skipped events leaves out the runs they expired (the next
// on_event would drop them first): resuming gives the matches of a matcher that saw every event.
TEST(PatternAnyMatch, CheckpointAfterSkippedEventsResumesAsIfSeen) {
    size_t cuts_after_skip = 0;
    for (size_t qi = 0; qi < std::size(kQueries); ++qi) {
        std::string q = kQueries[qi];
        if (std::string(kForms[qi]) != "stacks") continue;
        // Much disorder: skipped events often are later than the next one taken (time still
        // moves on by 2 ms per event on average, so runs expire).
        auto evs = random_events(300 + static_cast<uint32_t>(qi), 400, types_of(q), 2, 6, 3, 9);
        AnyHarness whole(q, "M", true);
        std::vector<std::vector<std::string>> expect;
        std::vector<size_t> live;
        for (const Ev& e : evs) {
            expect.push_back(whole.feed(e.type, e.ts, {{"k", I(e.k)}, {"v", I(e.v)}}));
            live.push_back(whole.m().live_runs());
        }
        for (size_t cut = 20; cut < evs.size(); cut += 7) {
            AnyHarness h(q, "M", true);
            size_t skipped = 0, last_skipped = 0;
            for (size_t i = 0; i < cut; ++i) {
                size_t before = skipped;
                ASSERT_EQ(h.feed_prefiltered(evs[i].type, evs[i].ts, {{"k", I(evs[i].k)}, {"v", I(evs[i].v)}}, skipped), expect[i]);
                last_skipped = skipped > before ? last_skipped + 1 : 0;
            }
            if (last_skipped > 0) ++cuts_after_skip;
            ASSERT_TRUE(h.restore(h.save(), true)) << "query " << qi << " cut " << cut;
            for (size_t i = cut; i < evs.size(); ++i) {
                size_t before = skipped;
                ASSERT_EQ(h.feed_prefiltered(evs[i].type, evs[i].ts, {{"k", I(evs[i].k)}, {"v", I(evs[i].v)}}, skipped), expect[i])
                    << "query " << qi << " cut " << cut << " event " << i;
                if (skipped == before) {
                    ASSERT_EQ(h.m().live_runs(), live[i]) << "query " << qi << " cut " << cut << " event " << i;
                }
            }
        }
    }
    EXPECT_GT(cuts_after_skip, 5u) << "enough checkpoints are cut right after skipped events";
}

// The kleene shape lets the compact form skip roots by the order of `first.v` (roots sorted
// by it, their Kleene nodes skipped with them) when every compared value is an int or every
// one a float; mixed kinds, NaN, -0.0, infinities, strings and missing values must still give
// the plain runs' matches. Each direction of the comparison, mirrored operands, and a last step
// with another conjunct.
TEST(PatternAnyMatch, OrderedRootSkippingAgreesWithPlainRunsOnMixedKinds) {
    const char* const shapes[][2] = {
        {"v > f.v", "v > r.v"},
        {"f.v <= v", "r.v < v and k >= 0"},
        {"v < f.v", "v <= r.v"},
        {"v <= f.v", "k < 9 and r.v >= v"},
    };
    size_t matches = 0;
    for (size_t si = 0; si < std::size(shapes); ++si) {
        std::string q = std::string("event T:\n    k: int\n    v: float\n") +
                        "pattern P = SEQ(T as f, T+ where " + shapes[si][0] + " as r, T where " + shapes[si][1] +
                        " as l) within 12ms partition by k strategy skip_till_any_match\n"
                        "stream M = P .emit(k: l.k, fv: f.v, rv: r.v, n: len(r), lv: l.v)";
        for (uint32_t seed = 1; seed <= 4; ++seed) {
            AnyHarness compact(q, "M", true), plain(q, "M", false);
            std::mt19937 rng(seed * 31 + static_cast<uint32_t>(si));
            const double floats[] = {0.0, -0.0, 1.5, 2.0, 3.25, -1.0, 1e300, std::numeric_limits<double>::infinity()};
            int64_t ts = 0;
            for (int i = 0; i < 400; ++i) {
                ts += static_cast<int64_t>(rng() % 3);
                int64_t k = static_cast<int64_t>(rng() % 2);
                // Mostly floats (the sorted path), sometimes an int, NaN, a string or nothing
                // (the other kinds: plain visits, or roots that stop being skippable).
                Value v = F(floats[rng() % std::size(floats)]);
                uint32_t pick = rng() % (seed <= 2 ? 40 : 8);
                if (pick == 0) v = I(static_cast<int64_t>(rng() % 4));
                if (pick == 1) v = F(std::numeric_limits<double>::quiet_NaN());
                if (pick == 2) v = compact.S("2");
                if (pick == 3) v = Value();
                Value pv = v.kind == ValueKind::Str ? plain.S("2") : v;
                auto a = compact.feed("T", ts, {{"k", I(k)}, {"v", v}});
                auto b = plain.feed("T", ts, {{"k", I(k)}, {"v", pv}});
                ASSERT_EQ(a, b) << "shape " << si << " seed " << seed << " event " << i;
                ASSERT_EQ(compact.m().live_runs(), plain.m().live_runs()) << "shape " << si << " seed " << seed << " event " << i;
                matches += a.size();
            }
            EXPECT_EQ(compact.m().dropped(), plain.m().dropped()) << "shape " << si << " seed " << seed;
        }
    }
    EXPECT_GT(matches, 1000u) << "the shapes match often enough to exercise the skipping";
}

TEST(PatternAnyMatch, RunAndMatchCapsAsPlainRuns) {
    // 2^17 runs after 17 Bs: past the 100 000 live-run cap, so the compact form turns back
    // into plain runs in creation order; the C then completes more than 10 000 matches.
    // Stack mode, roots mode (the Kleene step reads the root) and the DAG.
    const std::string decl = "event A:\n    v: int\nevent B:\n    v: int\nevent C:\n    v: int\n";
    const std::string emit = "stream M = P .emit(a: a.v, n: len(b), b: b.v, c: c.v)";
    const std::string qs[] = {
        decl + "pattern P = SEQ(A as a, B+ as b, C as c) strategy skip_till_any_match\n" + emit,
        decl + "pattern P = SEQ(A as a, B+ where v > a.v as b, C where v > b.v as c) strategy skip_till_any_match\n" + emit,
    };
    const char* const forms[] = {"stacks", "roots"};
    for (size_t qi = 0; qi < std::size(qs); ++qi)
    for (bool stacks : {false, true}) {
    const std::string& q = qs[qi];
    AnyHarness compact(q, "M", true, stacks), plain(q, "M", false);
    EXPECT_STREQ(compact.m().any_match_form(), stacks ? forms[qi] : "dag");
    auto both = [&](const std::string& t, int64_t ts, int64_t v) {
        auto a = compact.feed(t, ts, {{"v", I(v)}});
        auto b = plain.feed(t, ts, {{"v", I(v)}});
        ASSERT_EQ(a, b) << t << "@" << ts;
        ASSERT_EQ(compact.m().live_runs(), plain.m().live_runs()) << t << "@" << ts;
        ASSERT_EQ(compact.m().dropped(), plain.m().dropped()) << t << "@" << ts;
    };
    both("A", 0, 1);
    both("A", 1, 2);
    for (int i = 0; i < 16; ++i) both("B", 2 + i, 10 + i);
    both("C", 30, 99);
    EXPECT_GT(plain.m().dropped(), 0u) << "the caps were reached";
    }
}

TEST(PatternAnyMatch, CheckpointResumesCompactRuns) {
    for (size_t qi = 0; qi < std::size(kQueries); ++qi) {
        std::string q = kQueries[qi];
        auto evs = random_events(100 + static_cast<uint32_t>(qi), 300, types_of(q), 2);
        AnyHarness whole(q, "M", true);
        std::vector<std::vector<std::string>> expect;
        for (const Ev& e : evs) expect.push_back(whole.feed(e.type, e.ts, {{"k", I(e.k)}, {"v", I(e.v)}}));
        for (size_t cut : {size_t{40}, size_t{150}, size_t{260}}) {
            AnyHarness h(q, "M", true, cut != 150);  // the DAG at one cut
            for (size_t i = 0; i < cut; ++i) h.feed(evs[i].type, evs[i].ts, {{"k", I(evs[i].k)}, {"v", I(evs[i].v)}});
            std::string blob = h.save();
            ASSERT_TRUE(h.restore(blob, true)) << "query " << qi << " cut " << cut;
            EXPECT_EQ(h.save(), blob) << "saving a restored matcher gives the same bytes, query " << qi;
            for (size_t i = cut; i < evs.size(); ++i)
                ASSERT_EQ(h.feed(evs[i].type, evs[i].ts, {{"k", I(evs[i].k)}, {"v", I(evs[i].v)}}), expect[i])
                    << "query " << qi << " cut " << cut << " event " << i;
        }
    }
}

}  // namespace
