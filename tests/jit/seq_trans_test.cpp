// Compiled NFA transitions (codegen::compiles_seq_trans, runtime/abi.hpp SeqTransKernel): which
// sequences get a transition kernel, and a matcher deciding through it against one deciding
// with its own tables, on seeded random input: same match rows in the same order, same live
// runs and drop counts, and the kernel is actually called. Covers the default strategy
// (indexed and scan paths), strict contiguity, And/Or patterns, Kleene +/* with own-alias predicates (`first`
// and `full`, the deferred step), optional and trailing `?` steps, negations between steps,
// trailing and `.not`, within, partitions and string constants; skip_till_any_match sequences
// (plain runs through kSeqMask, the compact DAG through kSeqTest) and conjunctions.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codegen/plan_codegen.hpp"
#include "jit/jit_loader.hpp"
#include "runtime/kernel_table.hpp"
#include "runtime/pattern_matcher.hpp"
#include "tests/support/plan_fixture.hpp"

namespace {

using namespace varpulis;
using namespace varpulis::runtime;
using namespace varpulis::test_support;

jit::JitCompiler* compiler() {
    static jit::JitCompiler* c = [] {
        std::string error;
        jit::JitCompiler* made = jit::load_jit(jit::JitOptions{}, error).release();
        EXPECT_NE(made, nullptr) << "JIT set-up failed: " << error;
        return made;
    }();
    return c;
}

/// A matcher of stream `stream`'s sequence, with the compiled transitions installed or not.
class TransHarness : public PlanFixture {
public:
    TransHarness(const std::string& src, const std::string& stream, bool compiled) : PlanFixture(src) {
        for_operator(stream, ir::OpKind::Sequence, [&](const ir::StreamPlan& sp, const ir::Operator& op) {
            matcher_ = std::make_unique<PatternMatcher>(rt_, sp, op);
            generated_ = codegen::compiles_seq_trans(plan(), op);
            if (!compiled || !compiler()) return;
            std::string error;
            compiled_ = compiler()->compile(plan(), error);
            ASSERT_NE(compiled_, nullptr) << error;
            const auto& table = *compiled_->kernels;
            size_t s = static_cast<size_t>(&sp - plan().streams.data());
            size_t k = static_cast<size_t>(&op - sp.ops.data());
            for (const ir::Expr* e : table.constants) consts_.push_back(Value::string(interner_.intern(e->lit.s)));
            const bool has = s < table.ops.size() && k < table.ops[s].size();
            SeqTransKernel trans = has ? table.ops[s][k].trans : nullptr;
            EXPECT_EQ(trans != nullptr, generated_) << "a kernel exactly when codegen says it generates one";
            // As the engine installs it: with the per-step tests (skip_till_any_match).
            matcher_->set_trans_kernel(trans, table.nodes.data(), consts_.data(), has ? &table.ops[s][k].tests : nullptr);
        });
    }

    std::vector<std::string> feed(const std::string& type, int64_t ts, std::initializer_list<FieldInit> fields) {
        return feed_lines(matcher_.get(), type, ts, fields);
    }
    PatternMatcher& m() { return *matcher_; }
    bool generated() const { return generated_; }

private:
    std::unique_ptr<PatternMatcher> matcher_;
    std::shared_ptr<const jit::CompiledPlan> compiled_;
    std::vector<Value> consts_;
    bool generated_ = false;
};

const char* const kEvents =
    "event A:\n    k: int\n    id: int\n    v: int\n    s: str\n"
    "event B:\n    k: int\n    id: int\n    v: int\n    s: str\n"
    "event C:\n    k: int\n    id: int\n    v: int\n    s: str\n"
    // every type routed, whichever the query reads (the matcher sees them all here)
    "stream RA = A.where(v > 100)\nstream RB = B.where(v > 100)\nstream RC = C.where(v > 100)\n";

const char* const kQueries[] = {
    // indexed: one bucket per B, and a `rest` conjunct next to the key
    "pattern P = SEQ(A as a, B where id == a.id and v > a.v as b) within 20ms\n"
    "stream M = P .emit(a: a.id, av: a.v, b: b.id, bv: b.v)",
    // an unindexed middle step (scan list), a string constant
    "pattern P = SEQ(A where v < 6 and s == \"x\" as a, B where v > 2 as b, C where id == a.id as c) within 15ms\n"
    "stream M = P .emit(a: a.id, b: b.v, c: c.v)",
    // Kleene + reading its own alias (deferred subsets), then a plain step
    "pattern P = SEQ(A as a, B+ where v > b.v and id == a.id as b, C where v > a.v as c) within 14ms\n"
    "stream M = P .emit(a: a.v, n: len(b), bv: b.v, c: c.v)",
    // a first Kleene step with its own alias (`first` then `full`), a trailing Kleene *
    "pattern P = SEQ(A+ where v >= a.v as a, B where id == a.id as b, C* where v < b.v as c) within 12ms partition by k\n"
    "stream M = P .emit(k: b.k, n: len(a), b: b.v, m: len(c))",
    // optional steps, the trailing `?` rule
    "pattern P = SEQ(A as a, B? where v > 7 as o, C where id == a.id as c, B? where v < 3 as t) within 20ms\n"
    "stream M = P .emit(a: a.id, o: o.v, c: c.v, t: t.v)",
    // a negation between steps and one on any open run
    "pattern P = SEQ(A as a, NOT C where id == a.id, B where v > a.v as b) within 16ms\n"
    "stream M = P .not(C where v == 9) .emit(a: a.v, b: b.v)",
    // a trailing negation (matches confirmed at the deadline)
    "pattern P = SEQ(A as a, B where id == a.id as b, NOT C where id == b.id) within 10ms partition by k\n"
    "stream M = P .emit(k: a.k, a: a.v, b: b.v)",
    // conjunctions (operands in any order, reading each other), under both strategies, and a disjunction
    "pattern P = A where v > 2 as a AND B where id == a.id as b AND C where v < b.v as c within 9ms partition by k\n"
    "stream M = P .emit(a: a.v, b: b.v, c: c.v)",
    "pattern P = A as a AND B where v >= a.v as b strategy strict_contiguity\n"
    "stream M = P .not(C where id == a.id) .emit(a: a.v, b: b.v)",
    "pattern P = A where v > 6 as a OR B where s == \"x\" as b OR C as c\n"
    "stream M = P .emit(a: a.v, b: b.v, c: c.id)",
    // strict contiguity with a Kleene step
    "pattern P = SEQ(A as a, B+ where v >= a.v as b, C as c) strategy strict_contiguity\n"
    "stream M = P .emit(a: a.v, n: len(b), c: c.v)",
};

TEST(SeqTrans, CodegenGeneratesTransitionsForEverySequenceStrategy) {
    struct Expect {
        const char* query;
        bool trans;
    } cases[] = {
        {"pattern P = SEQ(A as a, B where id == a.id as b)\nstream M = P .emit(a: a.id)", true},
        {"pattern P = SEQ(A as a, B as b) strategy strict_contiguity\nstream M = P .emit(a: a.id)", true},
        {"pattern P = A as a AND B where id == a.id as b\nstream M = P .emit(a: a.id)", true},
        {"pattern P = A where v > 3 as a OR B as b\nstream M = P .emit(a: a.id)", true},
        // skip_till_any_match sequences and conjunctions too (kSeqTest / kSeqMask)
        {"pattern P = SEQ(A as a, B as b) strategy skip_till_any_match\nstream M = P .emit(a: a.id)", true},
        {"pattern P = A as a AND B as b strategy skip_till_any_match\nstream M = P .emit(a: a.id)", true},
        // a predicate the generated code cannot inline (a call) keeps the tables
        {"pattern P = SEQ(A as a, B where abs(v) > a.v as b)\nstream M = P .emit(a: a.id)", false},
    };
    for (const auto& c : cases) {
        TransHarness h(std::string(kEvents) + c.query, "M", true);
        EXPECT_EQ(h.generated(), c.trans) << c.query;
        EXPECT_EQ(h.m().has_trans_kernel(), c.trans) << c.query;
    }
}

// skip_till_any_match: every branching path. Events are few per window so that runs stay
// well under the caps while still branching.
const char* const kAnyQueries[] = {
    // the compact DAG's shape: a middle Kleene + reading the first alias (the root's shared
    // verdict), then a step reading the Kleene alias
    "pattern P = SEQ(A as a, B+ where v > a.v as b, C where v > b.v as c) within 10ms partition by k strategy skip_till_any_match\n"
    "stream M = P .emit(a: a.v, n: len(b), bv: b.v, c: c.v)",
    // alias-free predicates (one verdict per event in the DAG) and a string constant
    "pattern P = SEQ(A where v < 5 as a, B where v >= 5 and s == \"x\" as b, C where v < 3 as c) within 6ms strategy skip_till_any_match\n"
    "stream M = P .emit(a: a.id, b: b.v, c: c.v)",
    // an own-alias Kleene step (`first`, then `full`) and a trailing Kleene *
    "pattern P = SEQ(A as a, B+ where v >= b.v and id == a.id as b, C* where v < a.v as c) within 5ms partition by k strategy skip_till_any_match\n"
    "stream M = P .emit(a: a.v, n: len(b), bv: b.v, m: len(c))",
    // optional steps, the trailing `?` rule
    "pattern P = SEQ(A as a, B? where v > 6 as o, C where id == a.id as c, B? where v < 3 as t) within 6ms strategy skip_till_any_match\n"
    "stream M = P .emit(a: a.id, o: o.v, c: c.v, t: t.v)",
    // a complete run still absorbing its Kleene step never enters a later `?` step
    "pattern P = SEQ(A as a, B+ where id == a.id as b, C? where v > 4 as c) within 5ms partition by k strategy skip_till_any_match\n"
    "stream M = P .emit(a: a.v, n: len(b), c: c.v)",
    // negations between steps, `.not`, and a trailing negation
    "pattern P = SEQ(A as a, NOT C where id == a.id, B where v > a.v as b) within 6ms strategy skip_till_any_match\n"
    "stream M = P .not(C where v == 9) .emit(a: a.v, b: b.v)",
    "pattern P = SEQ(A as a, B+ where id == a.id as b, NOT C where id == a.id) within 5ms partition by k strategy skip_till_any_match\n"
    "stream M = P .emit(k: a.k, a: a.v, n: len(b))",
    // a conjunction (runs branch per operand)
    "pattern P = A where v > 2 as a AND B where id == a.id as b AND C where v < b.v as c within 8ms strategy skip_till_any_match\n"
    "stream M = P .emit(a: a.v, b: b.v, c: c.v)",
};

/// Feeds the same seeded events to a matcher deciding through the kernel and one deciding
/// with its tables; both must give the same rows in the same order, runs and drops.
void compare_on_random_input(const std::string& q, size_t qi, uint32_t seed, size_t events, size_t& rows) {
    TransHarness jit(q, "M", true), tables(q, "M", false);
    ASSERT_TRUE(jit.m().has_trans_kernel()) << "query " << qi;
    ASSERT_FALSE(tables.m().has_trans_kernel());
    std::mt19937 rng(seed * 104729 + static_cast<uint32_t>(qi));
    int64_t ts = 0;
    for (size_t i = 0; i < events; ++i) {
        ts += static_cast<int64_t>(rng() % 3);
        if (rng() % 16 == 0) ts -= 2;
        const char* type = "ABC" + rng() % 3;
        std::string t(1, *type);
        int64_t k = rng() % 3, id = rng() % 4, v = rng() % 10;
        Value s = rng() % 2 ? jit.S("x") : jit.S("y");
        Value s2 = tables.S(s.s->view() == "x" ? "x" : "y");
        auto a = jit.feed(t, ts, {{"k", I(k)}, {"id", I(id)}, {"v", I(v)}, {"s", s}});
        auto b = tables.feed(t, ts, {{"k", I(k)}, {"id", I(id)}, {"v", I(v)}, {"s", s2}});
        ASSERT_EQ(a, b) << "query " << qi << " seed " << seed << " event " << i;
        rows += a.size();
        ASSERT_EQ(jit.m().live_runs(), tables.m().live_runs()) << "query " << qi << " seed " << seed << " event " << i;
    }
    EXPECT_EQ(jit.m().dropped(), tables.m().dropped()) << "query " << qi << " seed " << seed;
    EXPECT_GT(jit.m().trans_calls(), 0u) << "query " << qi << ": the kernel decides";
    EXPECT_EQ(tables.m().trans_calls(), 0u);
}

TEST(SeqTrans, AnyMatchTransitionsAgreeWithTheMatchersTablesOnPlainRunsAndTheCompactDag) {
    for (bool compact : {false, true}) {
        PatternMatcher::set_compact_any_match(compact);
        for (size_t qi = 0; qi < std::size(kAnyQueries); ++qi) {
            std::string q = std::string(kEvents) + kAnyQueries[qi];
            size_t rows = 0;
            for (uint32_t seed = 1; seed <= 4; ++seed) {
                compare_on_random_input(q, qi, seed, 300, rows);
                if (HasFatalFailure()) break;
            }
            EXPECT_GT(rows, 20u) << "query " << qi << " compact " << compact << " matches too rarely to compare the paths";
        }
    }
    PatternMatcher::set_compact_any_match(true);
}

TEST(SeqTrans, CompiledTransitionsAgreeWithTheMatchersTablesOnRandomInput) {
    for (size_t qi = 0; qi < std::size(kQueries); ++qi) {
        std::string q = std::string(kEvents) + kQueries[qi];
        size_t rows = 0;
        for (uint32_t seed = 1; seed <= 6; ++seed) {
            compare_on_random_input(q, qi, seed, 500, rows);
            if (HasFatalFailure()) break;
        }
        EXPECT_GT(rows, 20u) << "query " << qi << " matches too rarely to compare the paths";
    }
}

}  // namespace
