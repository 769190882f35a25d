#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "ir/nfa_shape.hpp"

namespace varpulis::ir {
namespace {

/// Whether the first operator of the only stream, a pattern over A, B, C and X events, keeps
/// compact runs.
bool compact(const std::string& pattern) {
    const std::string text = "event A:\n    v: int\nevent B:\n    v: int\nevent C:\n    v: int\nevent X:\n    v: int\n"
                             "pattern P = " + pattern + " within 1s strategy skip_till_any_match\nstream M = P.emit(n: 1)\n";
    std::unique_ptr<Compilation> c = compile_source("q.vpl", text, CompileStage::Lower);
    EXPECT_TRUE(c->ok()) << frontend::render_all(c->file, c->diags);
    if (!c->ok()) return false;
    const Nfa* nfa = c->plan->streams.at(0).ops.at(0).nfa.get();
    EXPECT_NE(nfa, nullptr) << pattern;
    return nfa && nfa_compact_any_match(*nfa);
}

TEST(NfaShapeTest, CompactAnyMatchTakesLinearSequencesOfOneAndMiddlePlusSteps) {
    EXPECT_TRUE(compact("SEQ(A as a, B+ where v > a.v as b, C where v > b.v as c)")) << "the kleene workload's shape";
    EXPECT_TRUE(compact("SEQ(A where v < 50 as a, B where v >= 50 as b, C as c)")) << "the seq3 workload's shape";
    EXPECT_TRUE(compact("SEQ(A as a, B+ where v > b.v as b, C as c)")) << "a Kleene step may read its own alias";
}

TEST(NfaShapeTest, CompactAnyMatchRefusesWhatTheCompactRunsCannotKeep) {
    EXPECT_FALSE(compact("SEQ(A as a, NOT X, C as c)")) << "negation";
    EXPECT_FALSE(compact("SEQ(A+ as a, C as c)")) << "a Kleene first step";
    EXPECT_FALSE(compact("SEQ(A as a, C+ as c)")) << "a Kleene last step";
    EXPECT_FALSE(compact("SEQ(A as a, B* as b, C as c)")) << "an optional step";
    EXPECT_FALSE(compact("SEQ(A as a, B+ as b, C where v > len(b) as c)")) << "len() of an alias";
    EXPECT_FALSE(compact("SEQ(A where v > c.v as a, C as c)")) << "an alias read before the step that binds it";
    EXPECT_FALSE(compact("SEQ(A as a, B+ as b, B as d, C as c)")) << "a middle + followed by a middle step of its type";
    EXPECT_FALSE(compact("SEQ(A where len(uuid()) > 0 as a, C as c)")) << "a predicate with effects";
}

}  // namespace
}  // namespace varpulis::ir
