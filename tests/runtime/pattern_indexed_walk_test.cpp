// The equality-indexed skip_till_next_match runs: advancing the runs of a single index bucket
// (or a lone scan-list run) by walking the list in place against collecting and merging the
// candidates by creation order, the general path. Same match rows in the same order, same live
// runs and drop counts, on seeded random input, for single and several indexed steps, scan
// lists next to buckets, same-type steps and partitions.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "runtime/pattern_matcher.hpp"
#include "runtime/value_io.hpp"
#include "tests/support/plan_fixture.hpp"

namespace {

using namespace varpulis;
using namespace varpulis::runtime;
using namespace varpulis::test_support;

class WalkHarness : public PlanFixture {
public:
    WalkHarness(const std::string& src, const std::string& stream, bool walk, bool in_place = true, bool shortcuts = true)
        : PlanFixture(src) {
        PatternMatcher::set_indexed_list_walk(walk);
        PatternMatcher::set_finish_in_place(in_place);
        PatternMatcher::set_indexed_shortcuts(shortcuts);
        for_operator(stream, ir::OpKind::Sequence, [&](const ir::StreamPlan& sp, const ir::Operator& op) {
            matcher_ = std::make_unique<PatternMatcher>(rt_, sp, op);
        });
        PatternMatcher::set_indexed_list_walk(true);
        PatternMatcher::set_finish_in_place(true);
        PatternMatcher::set_indexed_shortcuts(true);
    }

    /// Feeds one event; returns every field of every match row, one string per row.
    std::vector<std::string> feed(const std::string& type, int64_t ts, std::initializer_list<FieldInit> fields) {
        return feed_lines(matcher_.get(), type, ts, fields);
    }

    PatternMatcher& m() { return *matcher_; }

private:
    std::unique_ptr<PatternMatcher> matcher_;
};

const char* const kEvents =
    "event A:\n    k: int\n    id: int\n    v: int\n"
    "event B:\n    k: int\n    id: int\n    v: int\n"
    "event C:\n    k: int\n    id: int\n    v: int\n";

const char* const kQueries[] = {
    // the sequence benchmark's shape: one bucket per B
    "pattern P = SEQ(A as a, B where id == a.id as b) within 20ms\n"
    "stream M = P .emit(a: a.id, av: a.v, b: b.id, bv: b.v)",
    // two indexed steps of different types, another conjunct on the bucket's step
    "pattern P = SEQ(A as a, B where id == a.id and v > a.v as b, C where id == b.v as c) within 25ms\n"
    "stream M = P .emit(a: a.id, b: b.v, c: c.id)",
    // an unindexed middle step: runs wait in the scan list, C events merge it with a bucket
    "pattern P = SEQ(A where v < 6 as a, B where v > 2 as b, C where id == a.id as c) within 15ms\n"
    "stream M = P .emit(a: a.id, b: b.v, c: c.v)",
    // same type for every step, several runs per key
    "pattern P = SEQ(A as x, A where id == x.id and v >= x.v as y) within 12ms\n"
    "stream M = P .emit(x: x.v, y: y.v, id: y.id)",
    // partitioned, keys from a float-free int field
    "pattern P = SEQ(A as a, B where id == a.id as b, C as c) within 18ms partition by k\n"
    "stream M = P .emit(k: c.k, a: a.v, b: b.v, c: c.v)",
    // a trailing Kleene step (runs stay after completing) and an optional step
    "pattern P = SEQ(A as a, B? where v > 7 as o, C where id == a.id as c, B+ as t) within 20ms\n"
    "stream M = P .emit(a: a.id, c: c.v, n: len(t))",
    // the last step's alias read for every field kind a match row has, and a last step
    // whose type also starts runs (the event completes some runs and is stored for others)
    "pattern P = SEQ(A as x, A where id == x.id as y) within 10ms\n"
    "stream M = P .emit(x: x.v, y: y.v, yk: y.k, n: len(y), m: len(x))",
    // predicate-free starts of two types (an optional first step), a bucket step whose
    // equality is its whole predicate after an unindexed one, an event-side key of B's
    "pattern P = SEQ(B? as o, A as a, C where id == a.v as c, B where v == a.id as b) within 16ms\n"
    "stream M = P .emit(o: o.v, a: a.id, c: c.v, b: b.k)",
};

/// The event types a query's steps read (only those are routed to its matcher).
std::vector<std::string> step_types(const std::string& q) {
    std::vector<std::string> types;
    for (std::string t : {"A", "B", "C"})
        for (const char* before : {"SEQ(", ", "})
            for (const char* after : {" ", "? ", "+ "})
                if (q.find(before + t + after) != std::string::npos && (types.empty() || types.back() != t))
                    types.push_back(t);
    return types;
}

/// The matcher's switches for one side of a comparison (WalkHarness).
struct Switches {
    bool walk = true, in_place = true, shortcuts = true;
};

/// Two matchers built with switches `x` and `y` from every query, fed the same seeded random
/// events (`seeds` seeds, mixed with `salt`): the same match rows and live runs after every
/// event, the same drops at the end, and enough rows for that to mean something.
void expect_same_matches(Switches x, Switches y, uint32_t seeds, uint32_t salt) {
    for (size_t qi = 0; qi < std::size(kQueries); ++qi) {
        std::string q = std::string(kEvents) + kQueries[qi];
        std::vector<std::string> types = step_types(kQueries[qi]);
        size_t rows = 0;
        for (uint32_t seed = 1; seed <= seeds; ++seed) {
            WalkHarness one(q, "M", x.walk, x.in_place, x.shortcuts), two(q, "M", y.walk, y.in_place, y.shortcuts);
            std::mt19937 rng(seed * salt + static_cast<uint32_t>(qi));
            int64_t ts = 0;
            for (size_t i = 0; i < 600; ++i) {
                ts += static_cast<int64_t>(rng() % 3);
                if (rng() % 16 == 0) ts -= 2;  // a little disorder: expiry uses every event
                const std::string& type = types[rng() % types.size()];
                int64_t k = rng() % 3, id = rng() % 5, v = rng() % 10;
                auto a = one.feed(type, ts, {{"k", I(k)}, {"id", I(id)}, {"v", I(v)}});
                auto b = two.feed(type, ts, {{"k", I(k)}, {"id", I(id)}, {"v", I(v)}});
                ASSERT_EQ(a, b) << "query " << qi << " seed " << seed << " event " << i;
                rows += a.size();
                ASSERT_EQ(one.m().live_runs(), two.m().live_runs()) << "query " << qi << " seed " << seed << " event " << i;
            }
            EXPECT_EQ(one.m().dropped(), two.m().dropped()) << "query " << qi << " seed " << seed;
        }
        EXPECT_GT(rows, 50u) << "query " << qi << " matches too rarely to compare the paths";
    }
}

TEST(PatternIndexedWalk, ListWalkAgreesWithMergedCandidatesOnRandomInput) {
    expect_same_matches({}, {.walk = false}, 8, 7919);
}

/// A run whose last step ends it makes its match row from the event where it lies
/// (finish_in_place) instead of copying the event into the store, binding it and completing:
/// the same rows, live runs and drops either way.
TEST(PatternIndexedWalk, FinishInPlaceAgreesWithTakingTheEvent) {
    expect_same_matches({}, {.in_place = false}, 6, 104729);
}

/// Starts decided by the event's type when the step has no predicate, and runs entering the
/// step whose bucket they were found in when its equality is its whole predicate: the same
/// rows, live runs and drops as testing those predicates.
TEST(PatternIndexedWalk, ShortcutsAgreeWithTestingThePredicates) {
    expect_same_matches({}, {.shortcuts = false}, 6, 15485863);
}

}  // namespace
