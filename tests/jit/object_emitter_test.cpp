// Each compile thread keeps its code generators' pass managers from one module to the next
// (jit/split_compile.cpp ObjectEmitter): plans compiled one after the other, whose kernels have
// the same names and shapes but other constants, must each get their own code.

#include <gtest/gtest.h>

#include <string>

#include "tests/support/jit_fixture.hpp"
#include "tests/support/kernel_run.hpp"

namespace kernel_run = varpulis::kernel_run;

namespace {

using kernel_run::Case;

class ObjectEmitterTest : public kernel_run::JitFixture {};

std::string program(const std::string& threshold, int window) {
    return R"(
event T:
    name: str
    x: float
stream S = T.where(x > )" +
           threshold + R"().partition_by(name).window()" + std::to_string(window) +
           R"()
    .aggregate(name: last(name), s: sum(x), n: count())
    .emit(event_type: "S", name: name, s: s, n: n)
)";
}

std::string events() {
    std::string out;
    for (int i = 0; i < 400; ++i)
        out += "@" + std::to_string(i) + " T { name: \"k" + std::to_string(i % 3) + "\", x: " + std::to_string(i % 17) +
               ".25 }\n";
    return out;
}

TEST_F(ObjectEmitterTest, PlansCompiledOneAfterAnotherEachGetTheirOwnCode) {
    std::string previous;
    for (const auto& [threshold, window] : {std::pair<const char*, int>{"2.0", 3}, {"9.0", 3}, {"2.0", 5}, {"12.0", 2}}) {
        Case c(program(threshold, window), events());
        auto compiled = compile(c.plan());
        ASSERT_NE(compiled, nullptr);
        EXPECT_FALSE(compiled->cache_hit) << "a plan of its own, compiled through the kept pass managers";
        const kernel_run::RunResult interp = same_everywhere(c);
        EXPECT_FALSE(interp.out.empty()) << threshold << " " << window;
        EXPECT_NE(interp.out, previous) << "the constants change the outputs, so stale code would show";
        previous = interp.out;
    }
}

}  // namespace
