// Flat step predicates of the pattern matcher (runtime/pattern_pred.hpp) against the
// evaluator: which predicates compile, and the same verdict as eval_condition on seeded random
// rows (every value kind, NaN, -0.0, absent fields, unbound aliases, int/float mixes).

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "runtime/eval.hpp"
#include "runtime/pattern_pred.hpp"
#include "tests/support/plan_fixture.hpp"

namespace {

using namespace varpulis;
using namespace varpulis::runtime;
using namespace varpulis::test_support;

const char* kProgram = R"(event A:
    x: int
    y: float
    s: str

event B:
    x: int
    y: float
    s: str

var limit = 7

pattern P = SEQ(
    A as a,
    B where x > a.x and y <= a.y and s == a.s and x != 3 and y >= 2.5 and s != "k" and x == a.y as b,
    A where x < b.x and y == b.y and s < b.s and y != a.y and x >= limit and y > a.x as c,
    B where x + 1 > a.x or y < 0.0 as d,
    A where abs(y) > 1.0 as e,
    B where y > a.y as f,
    A where x <= b.x and s == b.s as g
) within 10s strategy skip_till_any_match

stream M = P
    .emit(v: e.x)
)";

class PatternPredTest : public PlanFixture, public ::testing::Test {
public:
    PatternPredTest() : PlanFixture(kProgram) {
        for_operator("M", ir::OpKind::Sequence, [&](const ir::StreamPlan&, const ir::Operator& op) { nfa_ = op.nfa.get(); });
    }

protected:
    /// A random value of any kind, biased to the kinds the comparisons inline.
    Value random_value(std::mt19937_64& rng) {
        static const double kFloats[] = {0.0, -0.0, 1.0, 2.5, 3.0, -7.25, 7.0,
                                         std::numeric_limits<double>::quiet_NaN(),
                                         std::numeric_limits<double>::infinity()};
        static const char* kStrs[] = {"k", "a", "b", ""};
        switch (rng() % 10) {
            case 0: return Value::absent();
            case 1: return Value::null();
            case 2: return Value::boolean(rng() % 2 == 0);
            case 3:
            case 4: return Value::integer(static_cast<int64_t>(rng() % 9) - 1);
            case 5:
            case 6: return Value::floating(kFloats[rng() % (sizeof(kFloats) / sizeof(kFloats[0]))]);
            case 7: return Value::integer(rng() % 2 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min());
            default: {
                // Same text through the interner and through separate copies: compared by content.
                const char* t = kStrs[rng() % 4];
                return rng() % 2 ? Value::string(interner_.intern(t)) : S(t);
            }
        }
    }

    std::vector<Value> random_row(std::mt19937_64& rng, int32_t schema) {
        std::vector<Value> v(plan_->schemas[static_cast<size_t>(schema)].fields.size() + 1);
        for (auto& x : v) x = random_value(rng);
        return v;
    }

    const ir::Nfa* nfa_ = nullptr;
};

TEST_F(PatternPredTest, CompilesConjunctionsOfComparisonsOnly) {
    ASSERT_NE(nfa_, nullptr);
    ASSERT_EQ(nfa_->steps.size(), 7u);
    PatternPred p;
    EXPECT_FALSE(PatternPred::compile(nfa_->steps[0].predicate.get(), rt_, p)) << "no predicate: nothing to compile";
    ASSERT_TRUE(PatternPred::compile(nfa_->steps[1].predicate.get(), rt_, p)) << "b: fields, aliases, constants";
    EXPECT_EQ(p.size(), 7u);
    EXPECT_EQ(p.aliases(), std::vector<int32_t>{nfa_->steps[0].alias}) << "b reads a only";
    ASSERT_TRUE(PatternPred::compile(nfa_->steps[2].predicate.get(), rt_, p)) << "c: a global in a comparison";
    EXPECT_EQ(p.size(), 6u);
    EXPECT_EQ(p.aliases().size(), 2u) << "c reads a and b";
    EXPECT_FALSE(PatternPred::compile(nfa_->steps[3].predicate.get(), rt_, p)) << "`or` and arithmetic stay in eval";
    EXPECT_FALSE(PatternPred::compile(nfa_->steps[4].predicate.get(), rt_, p)) << "calls stay in eval";
}

TEST_F(PatternPredTest, SameVerdictAsEvalConditionOnRandomRows) {
    ASSERT_NE(nfa_, nullptr);
    std::mt19937_64 rng(20261128);
    const size_t na = nfa_->aliases.size();
    size_t held = 0, tested = 0;
    for (size_t si : {1, 2, 5, 6}) {
        const ir::NfaStep& st = nfa_->steps[si];
        PatternPred p;
        ASSERT_TRUE(PatternPred::compile(st.predicate.get(), rt_, p));
        for (int iter = 0; iter < 20000; ++iter) {
            std::vector<Value> cur = random_row(rng, st.type_id);
            // Mostly equal-looking rows, so conjunctions hold often enough to matter.
            std::vector<std::vector<Value>> alias_slots(na);
            std::vector<Row> alias_rows(na);
            std::vector<const Row*> alias_ptrs(na, nullptr);
            std::vector<uint32_t> counts(na, 1);
            for (size_t a = 0; a < na; ++a) {
                if (rng() % 8 == 0) continue;  // unbound
                int32_t schema = nfa_->steps[a].type_id;
                alias_slots[a] = rng() % 3 ? cur : random_row(rng, schema);
                if (rng() % 2) alias_slots[a][rng() % alias_slots[a].size()] = random_value(rng);
                alias_rows[a] = Row{alias_slots[a].data(), schema, 0, nullptr, nullptr, 0};
                alias_ptrs[a] = &alias_rows[a];
            }
            if (rng() % 4 == 0) rt_.globals.assign(rt_.globals.size(), random_value(rng));
            Row row{cur.data(), st.type_id, 0, nullptr, nullptr, 0};
            EvalContext ctx = pattern_context(rt_, row, alias_ptrs.data(), counts.data());
            bool want = eval_condition(st.predicate.get(), ctx);
            bool got = p.test(rt_, cur.data(), [&](int32_t a) {
                return alias_ptrs[static_cast<size_t>(a)]
                           ? PatternAliasRef{alias_rows[static_cast<size_t>(a)].slots, alias_rows[static_cast<size_t>(a)].schema}
                           : PatternAliasRef{};
            });
            ASSERT_EQ(got, want) << "step " << si << ", iteration " << iter;
            held += want;
            ++tested;
        }
    }
    EXPECT_EQ(tested, 80000u);
    EXPECT_GT(held, 0u) << "the random rows never satisfied a predicate: the test would prove little";
}

}  // namespace
