// jit::merge_twin_functions on hand-written modules: what counts as a twin, what the merged
// module looks like, and that it still verifies.

#include <gtest/gtest.h>

#include <llvm/AsmParser/Parser.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/raw_ostream.h>

#include <memory>
#include <string>

#include "jit/twin_functions.hpp"

namespace jit = varpulis::jit;

namespace {

class TwinFunctionsTest : public ::testing::Test {
protected:
    /// `text` parsed, with the attribute groups #0 (type loop), #1 (fast code generator) and
    /// #2 (a per-event kernel: none of the three) appended.
    std::unique_ptr<llvm::Module> parse(const std::string& text) {
        const std::string full = text +
                                 "\nattributes #0 = { nounwind \"varpulis-type-loop\" }\n"
                                 "attributes #1 = { nounwind \"varpulis-fast-codegen\" }\n"
                                 "attributes #2 = { nounwind }\n";
        llvm::SMDiagnostic diag;
        auto m = llvm::parseAssemblyString(full, diag, ctx_);
        std::string why;
        llvm::raw_string_ostream os(why);
        diag.print("test", os);
        EXPECT_NE(m, nullptr) << os.str();
        return m;
    }

    static std::string print(const llvm::Module& m) {
        std::string out;
        llvm::raw_string_ostream os(out);
        m.print(os, nullptr);
        return os.str();
    }

    static void expect_valid(const llvm::Module& m) {
        std::string why;
        llvm::raw_string_ostream os(why);
        EXPECT_FALSE(llvm::verifyModule(m, &os)) << os.str() << print(m);
    }

    /// The function `f` calls (null when its body is not one call).
    static const llvm::Function* callee_of(const llvm::Module& m, const char* f) {
        const llvm::Function* fn = m.getFunction(f);
        if (!fn || fn->isDeclaration() || fn->getInstructionCount() != 2) return nullptr;
        const auto* call = llvm::dyn_cast<llvm::CallInst>(&fn->getEntryBlock().front());
        return call ? call->getCalledFunction() : nullptr;
    }

    llvm::LLVMContext ctx_;
};

/// A loop over rows comparing each with `threshold` and passing `k` (or 7) to a helper.
std::string loop_ir(const std::string& name, const std::string& threshold, int k) {
    return "define i64 @" + name + R"IR((ptr noalias %rows, i64 %n, ptr %ctx) #0 {
entry:
  br label %head
head:
  %i = phi i64 [ 0, %entry ], [ %next, %body ]
  %more = icmp ult i64 %i, %n
  br i1 %more, label %body, label %done
body:
  %p = getelementptr inbounds i8, ptr %rows, i64 %i
  %x = load double, ptr %p, align 8
  %big = fcmp ogt double %x, )IR" + threshold + R"IR(
  %k = select i1 %big, i32 )IR" + std::to_string(k) + R"IR(, i32 7
  call void @helper(i32 %k, ptr %ctx)
  %next = add nuw i64 %i, 1
  br label %head
done:
  ret i64 %n
}
)IR";
}

/// Two loops differing in a comparison constant and a call argument, with one more constant
/// they share.
const std::string kTwoLoops = "declare void @helper(i32, ptr)\n\n" + loop_ir("loop_a", "5.000000e+00", 0) + "\n" +
                              loop_ir("loop_b", "1.000000e+01", 1);

TEST_F(TwinFunctionsTest, LoopsDifferingInConstantsCallOneBodyWithTheirOwn) {
    auto m = parse(kTwoLoops);
    ASSERT_NE(m, nullptr);
    const jit::TwinStats stats = jit::merge_twin_functions(*m, {"loop_a", "loop_b"});
    EXPECT_EQ(stats.shared, 1u);
    EXPECT_EQ(stats.merged, 2u);
    EXPECT_EQ(stats.parameters, 2u) << "5.0/10.0 and 0/1; the shared 7 stays a constant";
    expect_valid(*m);
    const llvm::Function* shared = m->getFunction("loop_a_twins");
    ASSERT_NE(shared, nullptr) << print(*m);
    EXPECT_EQ(shared->arg_size(), 5u);
    EXPECT_TRUE(shared->hasFnAttribute(llvm::Attribute::NoInline));
    EXPECT_TRUE(shared->hasFnAttribute("varpulis-type-loop")) << "compiled as the loops were";
    EXPECT_TRUE(shared->hasParamAttribute(0, llvm::Attribute::NoAlias));
    EXPECT_EQ(callee_of(*m, "loop_a"), shared);
    EXPECT_EQ(callee_of(*m, "loop_b"), shared);
    for (const char* f : {"loop_a", "loop_b"})
        EXPECT_TRUE(m->getFunction(f)->hasFnAttribute("varpulis-first-stage"))
            << f << ": a call per batch is compiled by the quick code generator";
    EXPECT_FALSE(shared->hasFnAttribute("varpulis-first-stage"));
    const std::string text = print(*m);
    EXPECT_NE(text.find("call i64 @loop_a_twins(ptr %rows, i64 %n, ptr %ctx, double 5.000000e+00, i32 0)"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("call i64 @loop_a_twins(ptr %rows, i64 %n, ptr %ctx, double 1.000000e+01, i32 1)"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("select i1 %big, i32 %1, i32 7"), std::string::npos)
        << "the differing constant is the second extra argument, the shared one stays\n" << text;
}

TEST_F(TwinFunctionsTest, PerEventKernelsAreLeftAlone) {
    std::string text = kTwoLoops;
    for (size_t at = text.find(" #0 {"); at != std::string::npos; at = text.find(" #0 {", at)) text.replace(at, 5, " #2 {");
    auto m = parse(text);
    ASSERT_NE(m, nullptr);
    const jit::TwinStats stats = jit::merge_twin_functions(*m, {"loop_a", "loop_b"});
    EXPECT_EQ(stats.merged, 0u) << "a call more per event would cost more than the compile saves";
    EXPECT_EQ(m->getFunction("loop_a_twins"), nullptr);
}

TEST_F(TwinFunctionsTest, ConstantsThatMustStayConstantsKeepFunctionsApart) {
    // A switch case value, an alloca's size and a memcpy length cannot be arguments.
    for (const auto& [a, b] : {std::pair<const char*, const char*>{"i32 3, label %x", "i32 4, label %x"},
                               {"%buf = alloca i8, i32 16", "%buf = alloca i8, i32 32"},
                               {"i64 16, i1 false", "i64 24, i1 false"}}) {
        const std::string body = R"IR(
  %buf = alloca i8, i32 16
  call void @llvm.memcpy.p0.p0.i64(ptr %buf, ptr %in, i64 16, i1 false)
  switch i32 %s, label %y [ i32 3, label %x ]
x:
  ret i32 1
y:
  ret i32 0
}
)IR";
        std::string fa = body, fb = body;
        const size_t at = fb.find(a);
        ASSERT_NE(at, std::string::npos) << a;
        fb.replace(at, std::string(a).size(), b);
        auto m = parse("declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)\n"
                       "define i32 @fa(ptr %in, i32 %s) #1 {\nentry:" + fa +
                       "define i32 @fb(ptr %in, i32 %s) #1 {\nentry:" + fb);
        ASSERT_NE(m, nullptr);
        EXPECT_EQ(jit::merge_twin_functions(*m, {"fa", "fb"}).merged, 0u) << b;
        expect_valid(*m);
    }
}

TEST_F(TwinFunctionsTest, IdenticalCalleesMergeFirstAndTheirCallersBecomeTwins) {
    // feed_a and feed_b (called only by the loops) are the same: feed_b goes, and the loops,
    // which then differ only in 0/1, share a body.
    auto m = parse(R"IR(
define void @feed_a(ptr %p) #1 {
  store i8 1, ptr %p, align 1
  ret void
}
define void @feed_b(ptr %p) #1 {
  store i8 1, ptr %p, align 1
  ret void
}
define i64 @loop_a(ptr %rows, i64 %n, ptr %ctx) #0 {
  %q = getelementptr inbounds i8, ptr %ctx, i64 0
  call void @feed_a(ptr %q)
  ret i64 %n
}
define i64 @loop_b(ptr %rows, i64 %n, ptr %ctx) #0 {
  %q = getelementptr inbounds i8, ptr %ctx, i64 8
  call void @feed_b(ptr %q)
  ret i64 %n
}
define void @proj_a(ptr %in, ptr %out) #1 {
  %v = load i64, ptr %in, align 8
  store i64 %v, ptr %out, align 8
  ret void
}
define void @proj_b(ptr %in, ptr %out) #1 {
  %v = load i64, ptr %in, align 8
  store i64 %v, ptr %out, align 8
  ret void
}
)IR");
    ASSERT_NE(m, nullptr);
    const jit::TwinStats stats = jit::merge_twin_functions(*m, {"loop_a", "loop_b", "proj_a", "proj_b"});
    expect_valid(*m);
    EXPECT_EQ(m->getFunction("feed_b"), nullptr) << "no kernel: its calls go to feed_a\n" << print(*m);
    ASSERT_NE(m->getFunction("feed_a"), nullptr);
    EXPECT_FALSE(m->getFunction("feed_a")->isDeclaration());
    EXPECT_EQ(callee_of(*m, "proj_b"), m->getFunction("proj_a")) << "a kernel the engine looks up stays, as a jump";
    const auto* jump = llvm::cast<llvm::CallInst>(&m->getFunction("proj_b")->getEntryBlock().front());
    EXPECT_TRUE(jump->isMustTailCall());
    const llvm::Function* shared = m->getFunction("loop_a_twins");
    ASSERT_NE(shared, nullptr) << print(*m);
    EXPECT_EQ(callee_of(*m, "loop_a"), shared);
    EXPECT_EQ(callee_of(*m, "loop_b"), shared);
    EXPECT_EQ(stats.merged, 4u) << "feed_b, proj_b, loop_a, loop_b";
}

TEST_F(TwinFunctionsTest, DifferentCalleesOrTooManyConstantsAreNotTwins) {
    auto m = parse(R"IR(
declare void @f(i64)
declare void @g(i64)
define void @a(ptr %p) #1 {
  call void @f(i64 1)
  ret void
}
define void @b(ptr %p) #1 {
  call void @g(i64 1)
  ret void
}
define void @c(ptr %p) #1 {
  call void @f(i64 1)
  call void @f(i64 2)
  call void @f(i64 3)
  call void @f(i64 4)
  call void @f(i64 5)
  call void @f(i64 6)
  call void @f(i64 7)
  call void @f(i64 8)
  call void @f(i64 9)
  ret void
}
define void @d(ptr %p) #1 {
  call void @f(i64 11)
  call void @f(i64 12)
  call void @f(i64 13)
  call void @f(i64 14)
  call void @f(i64 15)
  call void @f(i64 16)
  call void @f(i64 17)
  call void @f(i64 18)
  call void @f(i64 19)
  ret void
}
)IR");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(jit::merge_twin_functions(*m, {"a", "b", "c", "d"}).merged, 0u) << print(*m);
    expect_valid(*m);
}

}  // namespace
