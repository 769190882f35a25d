// Partition lookup of the pattern matcher for string keys: the cache in front of the key
// index must send equal strings (any copy) to one partition and never mix different strings
// whose content hashes collide.

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "runtime/pattern_matcher.hpp"
#include "runtime/value_io.hpp"
#include "tests/support/plan_fixture.hpp"

namespace {

using namespace varpulis;
using namespace varpulis::runtime;
using namespace varpulis::test_support;

const char* kProgram = R"(event A:
    k: str
    v: int

event B:
    k: str
    v: int

pattern P = SEQ(
    A as a,
    B as b
) within 10s partition by k strategy skip_till_any_match

stream M = P
    .emit(ak: a.k, av: a.v, bk: b.k, bv: b.v)
)";

class PatternPartitionTest : public PlanFixture, public ::testing::Test {
public:
    PatternPartitionTest() : PlanFixture(kProgram) {
        for_operator("M", ir::OpKind::Sequence, [&](const ir::StreamPlan& sp, const ir::Operator& op) {
            matcher_ = std::make_unique<PatternMatcher>(rt_, sp, op);
        });
    }

protected:
    /// A string with a chosen content hash (to force collisions in hash-keyed caches).
    Value forged(const std::string& text, uint32_t hash) {
        auto& buf = forged_.emplace_back(sizeof(StrObj) + text.size() + 8);
        auto* s = reinterpret_cast<StrObj*>(buf.data());
        s->size = static_cast<uint32_t>(text.size());
        s->hash = hash;
        std::memcpy(s->data, text.data(), text.size());
        return Value::string(s);
    }

    /// Feeds one event; returns each match row's fields joined by spaces.
    std::vector<std::string> feed(const std::string& type, int64_t ts, Value k, int64_t v) {
        std::vector<std::string> r;
        Row row;
        if (!matcher_ || !input_row(type, ts, {{"k", k}, {"v", I(v)}}, row)) return r;
        out_.clear();
        matcher_->on_event(row, out_, scratch_);
        for (const Row& m : out_) {
            const ir::Schema& sc = plan_->schemas[static_cast<size_t>(m.schema)];
            std::string s;
            for (size_t i = 0; i < sc.fields.size(); ++i)
                s += (i ? " " : "") + sc.fields[i] + "=" + (m.slots[i].present() ? to_display(m.slots[i]) : "-");
            r.push_back(s);
        }
        clobber_input();
        return r;
    }

    std::unique_ptr<PatternMatcher> matcher_;
    std::vector<Row> out_;
    std::vector<std::vector<uint64_t>> forged_;
};

bool has(const std::string& row, const std::string& part) { return row.find(part) != std::string::npos; }

TEST_F(PatternPartitionTest, EqualStringsMeetWhateverTheirCopy) {
    ASSERT_TRUE(matcher_);
    EXPECT_TRUE(feed("A", 1, S("x"), 1).empty());
    EXPECT_TRUE(feed("A", 2, Value::string(interner_.intern("x")), 2).empty());
    auto m = feed("B", 3, S("x"), 3);
    ASSERT_EQ(m.size(), 2u) << "both A events of key x match the B of another copy of x";
    EXPECT_TRUE(has(m[0], "a_v=1") && has(m[0], "b_v=3")) << m[0];
    EXPECT_TRUE(has(m[1], "a_v=2") && has(m[1], "b_v=3")) << m[1];
}

TEST_F(PatternPartitionTest, CollidingHashesStayApart) {
    ASSERT_TRUE(matcher_);
    const uint32_t h = 0x12345678u;
    EXPECT_TRUE(feed("A", 1, forged("x", h), 1).empty());
    EXPECT_TRUE(feed("A", 2, forged("y", h), 2).empty());
    EXPECT_TRUE(feed("A", 3, forged("xy", h), 3).empty());
    auto mx = feed("B", 4, forged("x", h), 4);
    ASSERT_EQ(mx.size(), 1u) << "only the A of key x";
    EXPECT_TRUE(has(mx[0], "a_v=1")) << mx[0];
    auto my = feed("B", 5, forged("y", h), 5);
    ASSERT_EQ(my.size(), 1u) << "only the A of key y";
    EXPECT_TRUE(has(my[0], "a_v=2")) << my[0];
    auto mxy = feed("B", 6, S("xy"), 6);
    ASSERT_EQ(mxy.size(), 1u) << "key xy, whatever the hash its copy carries";
    EXPECT_TRUE(has(mxy[0], "a_v=3")) << mxy[0];
    // Back to x after y took the cache entry: still its own partition.
    auto mx2 = feed("B", 7, forged("x", h), 7);
    ASSERT_EQ(mx2.size(), 1u);
    EXPECT_TRUE(has(mx2[0], "a_v=1") && has(mx2[0], "b_v=7")) << mx2[0];
}

}  // namespace
