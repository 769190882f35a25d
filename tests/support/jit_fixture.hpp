#pragma once
// A test suite with one JIT compiler loaded for all its tests, and the comparisons the JIT
// suites share: a program run compiled in every way must give the interpreter's outputs.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "jit/jit_loader.hpp"
#include "tests/support/kernel_run.hpp"

namespace varpulis::kernel_run {

class JitFixture : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string error;
        compiler_ = jit::load_jit(jit::JitOptions{}, error).release();
        ASSERT_NE(compiler_, nullptr) << "JIT set-up failed: " << error;
    }
    static void TearDownTestSuite() {
        delete compiler_;
        compiler_ = nullptr;
    }

    static std::shared_ptr<const jit::CompiledPlan> compile(const ir::Plan& plan) {
        std::string error;
        auto c = compiler_->compile(plan, error);
        EXPECT_NE(c, nullptr) << "compile failed: " << error;
        return c;
    }

    /// Runs `c` interpreted, then compiled per event, on prepared rows, swapped in mid-stream
    /// and mid-batch, and swapped out mid-stream: every run must give the interpreter's
    /// outputs, diagnostics and output count. Returns the interpreter's result.
    static RunResult same_everywhere(Case& c) {
        auto compiled = compile(c.plan());
        if (!compiled) return {};
        const RunResult interp = run(c, nullptr, Mode{});
        struct Named {
            const char* name;
            Mode mode;
        };
        const long mid = static_cast<long>(c.events.size() / 2);
        for (const Named& m : {Named{"jit per event", Mode{false, 0, 0, -1}}, Named{"jit prepared rows", Mode{true, 7, 0, -1}},
                               Named{"swap mid-stream", Mode{false, 0, mid, -1}},
                               Named{"swap mid-batch", Mode{true, 5, mid, -1}},
                               Named{"jit then interpreter", Mode{false, 0, 0, mid}}}) {
            RunResult got = run(c, compiled->kernels, m.mode);
            EXPECT_EQ(got.out, interp.out) << m.name;
            EXPECT_EQ(got.diag, interp.diag) << m.name;
            EXPECT_EQ(got.stats.outputs, interp.stats.outputs) << m.name;
        }
        return interp;
    }

    static inline jit::JitCompiler* compiler_ = nullptr;
};

}  // namespace varpulis::kernel_run
