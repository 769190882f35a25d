// The reference expression evaluator (runtime/eval.cpp), its builtins and the value helpers
// (runtime/value_ops.hpp), over hand-built plan-IR trees (SEMANTICS §4, §14; VPL.md §9c).

#include "runtime/eval.hpp"
#include "tests/support/ir_builders.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "ir/compiler.hpp"
#include "runtime/value_io.hpp"
#include "runtime/value_ops.hpp"

using namespace varpulis::runtime;
namespace ir = varpulis::ir;

namespace {

using namespace varpulis::test_support;



// ---------------------------------------------------------------- fixture

class EvalTest : public ::testing::Test {
protected:
    EvalTest() : slots(8) {
        rt.plan = &plan;
        rt.heap = &heap;
        rt.interner = &interner;
        row.slots = slots.data();
        row.schema = 0;
        ctx.rt = &rt;
        ctx.row = &row;
    }

    Value ev(const ExprPtr& e) { return eval(*e, ctx); }
    std::string run(const ExprPtr& e) { return describe(ev(e)); }
    std::string builtin(Builtin fn, std::vector<Value> args) {
        return describe(call_builtin(fn, args.data(), args.size(), ctx));
    }

    Value str(std::string_view s) { return Value::string(heap.make_string(s)); }
    Value arr(std::initializer_list<Value> items) {
        ArrayObj* a = heap.make_array(static_cast<uint32_t>(items.size()));
        uint32_t i = 0;
        for (const Value& v : items) a->items[i++] = v;
        return Value::array(a);
    }
    Value map(std::initializer_list<std::pair<std::string_view, Value>> items) {
        MapObj* m = heap.make_map(static_cast<uint32_t>(items.size()));
        uint32_t i = 0;
        for (const auto& [k, v] : items) {
            m->keys[i] = heap.make_string(k);
            m->values[i++] = v;
        }
        return Value::map(m);
    }
    static Value I(int64_t v) { return Value::integer(v); }
    static Value F(double v) { return Value::floating(v); }
    static Value B(bool v) { return Value::boolean(v); }

    /// Adds a user function and returns its index.
    int32_t add_function(std::string name, uint32_t params, uint32_t locals, std::vector<StmtPtr> body) {
        ir::Function f;
        f.name = std::move(name);
        f.param_count = params;
        f.local_count = locals;
        f.body = std::move(body);
        plan.functions.push_back(std::move(f));
        return static_cast<int32_t>(plan.functions.size() - 1);
    }
    Value call_fn(int32_t fn, std::vector<Value> args) { return call_function(fn, args.data(), args.size(), ctx); }

    Arena heap;
    Interner interner;
    ir::Plan plan;
    Runtime rt;
    std::vector<Value> slots;
    Row row;
    EvalContext ctx;
};

// ---------------------------------------------------------------- arithmetic

TEST_F(EvalTest, IntArithmeticStaysIntAndWraps) {
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_int(2), lit_int(3))), "int 5") << "int + int is int";
    EXPECT_EQ(run(bin(BinaryOp::Sub, lit_int(2), lit_int(3))), "int -1") << "int - int is int";
    EXPECT_EQ(run(bin(BinaryOp::Mul, lit_int(4), lit_int(3))), "int 12") << "int * int is int";
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_int(kMax), lit_int(1))), "int " + std::to_string(kMin))
        << "int overflow wraps (two's complement)";
    EXPECT_EQ(run(bin(BinaryOp::Mul, lit_int(kMin), lit_int(-1))), "int " + std::to_string(kMin))
        << "INT64_MIN * -1 wraps";
}

TEST_F(EvalTest, MixedArithmeticIsFloat) {
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_int(1), lit_float(0.5))), "float 1.5") << "int + float is float";
    EXPECT_EQ(run(bin(BinaryOp::Mul, lit_float(2.0), lit_int(3))), "float 6") << "float * int is float";
    EXPECT_EQ(run(bin(BinaryOp::Div, lit_int(7), lit_float(2.0))), "float 3.5") << "int / float is float";
}

TEST_F(EvalTest, IntDivisionTruncatesTowardZero) {
    EXPECT_EQ(run(bin(BinaryOp::Div, lit_int(7), lit_int(2))), "int 3") << "7 / 2";
    EXPECT_EQ(run(bin(BinaryOp::Div, lit_int(-7), lit_int(2))), "int -3") << "-7 / 2 truncates toward zero";
    EXPECT_EQ(run(bin(BinaryOp::Mod, lit_int(-7), lit_int(2))), "int -1") << "remainder has the dividend's sign";
    EXPECT_EQ(run(bin(BinaryOp::Mod, lit_int(7), lit_int(-2))), "int 1") << "7 % -2";
    EXPECT_EQ(run(bin(BinaryOp::Mod, lit_float(7.5), lit_int(2))), "float 1.5") << "float remainder";
    EXPECT_EQ(run(bin(BinaryOp::Div, lit_int(kMin), lit_int(-1))), "int " + std::to_string(kMin))
        << "INT64_MIN / -1 wraps instead of trapping";
    EXPECT_EQ(run(bin(BinaryOp::Mod, lit_int(kMin), lit_int(-1))), "int 0") << "INT64_MIN % -1 is 0";
}

TEST_F(EvalTest, DivisionByZeroHasNoValue) {
    EXPECT_EQ(run(bin(BinaryOp::Div, lit_int(1), lit_int(0))), "absent") << "int / 0";
    EXPECT_EQ(run(bin(BinaryOp::Mod, lit_int(1), lit_int(0))), "absent") << "int % 0";
    EXPECT_EQ(run(bin(BinaryOp::Div, lit_float(1.0), lit_float(0.0))), "absent") << "float / 0.0";
    EXPECT_EQ(run(bin(BinaryOp::Div, lit_float(1.0), lit_int(0))), "absent") << "float / int 0";
    EXPECT_EQ(run(bin(BinaryOp::Mod, lit_float(1.0), lit_float(-0.0))), "absent") << "float % -0.0";
}

TEST_F(EvalTest, PowerIntIntIsIntThroughFloat) {
    EXPECT_EQ(run(bin(BinaryOp::Pow, lit_int(3), lit_int(2))), "int 9") << "3 ** 2";
    EXPECT_EQ(run(bin(BinaryOp::Pow, lit_int(4), lit_int(3))), "int 64") << "4 ** 3";
    EXPECT_EQ(run(bin(BinaryOp::Pow, lit_int(2), lit_int(-1))), "int 0") << "2 ** -1 = 0.5 truncated";
    EXPECT_EQ(run(bin(BinaryOp::Pow, lit_int(10), lit_int(30))), "int " + std::to_string(kMax))
        << "an out-of-range power saturates like Rust's `as i64`";
    EXPECT_EQ(run(bin(BinaryOp::Pow, lit_float(1.5), lit_int(2))), "float 2.25") << "float ** int is float";
    EXPECT_EQ(run(bin(BinaryOp::Pow, lit_int(4), lit_float(0.5))), "float 2") << "int ** float is float";
    EXPECT_EQ(run(bin(BinaryOp::Pow, lit_str("a"), lit_int(2))), "absent") << "string ** int";
}

TEST_F(EvalTest, UnaryMinusAppliesToThePowerResult) {
    // The parser makes `-2 ** 2` into -(2 ** 2) (SEMANTICS §17 #26).
    EXPECT_EQ(run(un(UnaryOp::Neg, bin(BinaryOp::Pow, lit_int(2), lit_int(2)))), "int -4") << "-(2 ** 2)";
    EXPECT_EQ(run(bin(BinaryOp::Pow, lit_int(-2), lit_int(2))), "int 4") << "(-2) ** 2";
    EXPECT_EQ(run(bin(BinaryOp::Pow, lit_int(2), un(UnaryOp::Neg, lit_int(1)))), "int 0") << "2 ** -1";
}

TEST_F(EvalTest, UnaryOperators) {
    EXPECT_EQ(run(un(UnaryOp::Neg, lit_int(5))), "int -5") << "-int";
    EXPECT_EQ(run(un(UnaryOp::Neg, lit_float(2.5))), "float -2.5") << "-float";
    EXPECT_EQ(run(un(UnaryOp::Neg, lit_int(kMin))), "int " + std::to_string(kMin)) << "-INT64_MIN wraps";
    EXPECT_EQ(run(un(UnaryOp::Neg, lit_str("a"))), "absent") << "-string";
    EXPECT_EQ(run(un(UnaryOp::Neg, missing())), "absent") << "-absent";
    EXPECT_EQ(run(un(UnaryOp::BitNot, lit_int(1))), "absent") << "~ has no value";
    EXPECT_EQ(run(un(UnaryOp::Not, lit_bool(true))), "bool false") << "not true";
    EXPECT_EQ(run(un(UnaryOp::Not, lit_bool(false))), "bool true") << "not false";
}

TEST_F(EvalTest, StringConcatenation) {
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_str("ab"), lit_str("cd"))), "string \"abcd\"") << "str + str";
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_str(""), lit_str(""))), "string \"\"") << "empty + empty";
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_str("abc"), lit_int(1))), "absent") << "\"abc\" + 1 has no value";
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_int(1), lit_str("abc"))), "absent") << "1 + \"abc\"";
    EXPECT_EQ(run(bin(BinaryOp::Sub, lit_str("ab"), lit_str("b"))), "absent") << "str - str";
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_null(), lit_int(1))), "absent") << "null + 1";
}

TEST_F(EvalTest, AbsentPropagatesThroughArithmetic) {
    EXPECT_EQ(run(bin(BinaryOp::Add, missing(), lit_int(1))), "absent") << "absent + 1";
    EXPECT_EQ(run(bin(BinaryOp::Mul, lit_int(1), missing())), "absent") << "1 * absent";
}

TEST_F(EvalTest, BitwiseAndIsOperatorsHaveNoValue) {
    EXPECT_EQ(run(bin(BinaryOp::BitAnd, lit_int(3), lit_int(1))), "absent") << "&";
    EXPECT_EQ(run(bin(BinaryOp::Shl, lit_int(1), lit_int(2))), "absent") << "<<";
    EXPECT_EQ(run(bin(BinaryOp::Is, lit_int(1), lit_int(1))), "absent") << "is";
}

TEST_F(EvalTest, TimestampDurationArithmetic) {
    const int64_t s = 1'000'000'000;
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_ts(10 * s), lit_dur(5 * s))), describe(Value::timestamp(15 * s)))
        << "timestamp + duration";
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_dur(5 * s), lit_ts(10 * s))), describe(Value::timestamp(15 * s)))
        << "duration + timestamp";
    EXPECT_EQ(run(bin(BinaryOp::Sub, lit_ts(10 * s), lit_dur(5 * s))), describe(Value::timestamp(5 * s)))
        << "timestamp - duration";
    EXPECT_EQ(run(bin(BinaryOp::Sub, lit_ts(10 * s), lit_ts(4 * s))), "duration 6s") << "timestamp - timestamp";
    EXPECT_EQ(run(bin(BinaryOp::Sub, lit_ts(4 * s), lit_ts(10 * s))), "absent") << "negative duration";
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_dur(60 * s), lit_dur(60 * s))), "duration 2m") << "duration + duration";
    EXPECT_EQ(run(bin(BinaryOp::Add, lit_ts(s), lit_int(1))), "absent") << "timestamp + int";
    EXPECT_EQ(run(bin(BinaryOp::Lt, lit_ts(s), lit_ts(2 * s))), "bool true") << "timestamps compare";
    EXPECT_EQ(run(bin(BinaryOp::Ge, lit_dur(s), lit_dur(2 * s))), "bool false") << "durations compare";
    EXPECT_EQ(run(bin(BinaryOp::Lt, lit_ts(s), lit_dur(2 * s))), "absent") << "timestamp vs duration";
}

// ---------------------------------------------------------------- logic

TEST_F(EvalTest, ThreeValuedAndOrTruthTable) {
    // T, F, U (absent), and a non-bool (treated as unknown).
    auto T = [] { return lit_bool(true); };
    auto F_ = [] { return lit_bool(false); };
    auto U = [] { return missing(); };
    auto N = [] { return lit_int(1); };
    struct Row3 {
        std::function<ExprPtr()> a, b;
        const char* name;
        const char* and_r;
        const char* or_r;
    };
    const std::vector<Row3> table = {
        {T, T, "T,T", "bool true", "bool true"},       {T, F_, "T,F", "bool false", "bool true"},
        {T, U, "T,U", "absent", "bool true"},          {F_, T, "F,T", "bool false", "bool true"},
        {F_, F_, "F,F", "bool false", "bool false"},   {F_, U, "F,U", "bool false", "absent"},
        {U, T, "U,T", "absent", "bool true"},          {U, F_, "U,F", "bool false", "absent"},
        {U, U, "U,U", "absent", "absent"},             {N, T, "1,T", "absent", "bool true"},
        {N, F_, "1,F", "bool false", "absent"},        {T, N, "T,1", "absent", "bool true"},
    };
    for (const auto& r : table) {
        EXPECT_EQ(run(and_(r.a(), r.b())), r.and_r) << r.name << " and";
        EXPECT_EQ(run(or_(r.a(), r.b())), r.or_r) << r.name << " or";
    }
    EXPECT_EQ(run(un(UnaryOp::Not, missing())), "absent") << "not unknown is unknown";
    EXPECT_EQ(run(un(UnaryOp::Not, lit_int(0))), "absent") << "not of a non-bool is unknown";
}

TEST_F(EvalTest, ConditionIsTrueOnlyForBoolTrue) {
    EXPECT_TRUE(eval_condition(lit_bool(true).get(), ctx)) << "true";
    EXPECT_FALSE(eval_condition(lit_bool(false).get(), ctx)) << "false";
    EXPECT_FALSE(eval_condition(missing().get(), ctx)) << "absent is false";
    EXPECT_FALSE(eval_condition(lit_int(1).get(), ctx)) << "a non-bool is false";
    EXPECT_TRUE(eval_condition(nullptr, ctx)) << "no predicate always holds";
    // SEMANTICS §4.2 example: `not (flag and x > 1)` without `flag`.
    slots[1] = I(5);
    auto pred = un(UnaryOp::Not, and_(field({0}), bin(BinaryOp::Gt, field({1}), lit_int(1))));
    EXPECT_FALSE(eval_condition(pred.get(), ctx)) << "x = 5: unknown, dropped";
    slots[1] = I(0);
    EXPECT_TRUE(eval_condition(pred.get(), ctx)) << "x = 0: flag and false is false, so not(...) is true";
}

// ---------------------------------------------------------------- comparisons

TEST_F(EvalTest, NumericEqualityAcrossIntAndFloat) {
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_int(10), lit_float(10.0))), "bool true") << "10 == 10.0";
    EXPECT_EQ(run(bin(BinaryOp::Ne, lit_int(10), lit_float(10.0))), "bool false") << "10 != 10.0";
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_int(10), lit_float(10.5))), "bool false") << "10 == 10.5";
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_int((int64_t{1} << 53) + 1), lit_float(9007199254740992.0))), "bool false")
        << "2^53 + 1 is not the float 2^53 (exact comparison)";
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_str("1"), lit_int(1))), "bool false") << "\"1\" == 1";
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_bool(true), lit_int(1))), "bool false") << "true == 1";
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_null(), lit_null())), "bool true") << "null == null";
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_null(), lit_int(0))), "bool false") << "null == 0";
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_float(kNaN), lit_float(kNaN))), "bool true") << "NaN == NaN";
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_float(-0.0), lit_float(0.0))), "bool true") << "-0.0 == 0.0";
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_float(-0.0), lit_int(0))), "bool true") << "-0.0 == 0";
    EXPECT_EQ(run(bin(BinaryOp::Eq, lit_str("ab"), lit_str("ab"))), "bool true") << "equal strings";
    EXPECT_EQ(run(bin(BinaryOp::Eq, missing(), lit_int(5))), "absent") << "absent == 5";
    EXPECT_EQ(run(bin(BinaryOp::Ne, missing(), lit_int(5))), "absent") << "missing != 5 is not true";
    EXPECT_EQ(run(bin(BinaryOp::Eq, missing(), missing())), "absent") << "absent == absent";
}

TEST_F(EvalTest, ArraysAndMapsCompareElementWise) {
    EXPECT_EQ(run(bin(BinaryOp::Eq, array({lit_int(1), lit_float(2.0)}), array({lit_float(1.0), lit_int(2)}))),
              "bool true")
        << "[1, 2.0] == [1.0, 2]";
    EXPECT_EQ(run(bin(BinaryOp::Eq, array({lit_int(1)}), array({lit_int(1), lit_int(2)}))), "bool false")
        << "different lengths";
    EXPECT_EQ(run(bin(BinaryOp::Eq, map_lit({"a", "b"}, {lit_int(1), lit_int(2)}),
                      map_lit({"b", "a"}, {lit_float(2.0), lit_int(1)}))),
              "bool true")
        << "maps with the same entries in another order";
    EXPECT_EQ(run(bin(BinaryOp::Eq, map_lit({"a"}, {lit_int(1)}), map_lit({"a"}, {lit_int(2)}))), "bool false")
        << "maps with a different value";
    EXPECT_EQ(run(bin(BinaryOp::Eq, array({}), map_lit({}, {}))), "bool false") << "array vs map";
}

TEST_F(EvalTest, OrderingTreatsIntAndFloatAsNumbers) {
    EXPECT_EQ(run(bin(BinaryOp::Ge, lit_int(10), lit_float(10.0))), "bool true") << "10 >= 10.0";
    EXPECT_EQ(run(bin(BinaryOp::Le, lit_int(9), lit_float(9.5))), "bool true") << "9 <= 9.5";
    EXPECT_EQ(run(bin(BinaryOp::Lt, lit_int(1), lit_float(1.5))), "bool true") << "1 < 1.5";
    EXPECT_EQ(run(bin(BinaryOp::Gt, lit_float(1.5), lit_int(1))), "bool true") << "1.5 > 1";
    EXPECT_EQ(run(bin(BinaryOp::Gt, lit_int(-1), lit_float(-1.5))), "bool true") << "-1 > -1.5";
    EXPECT_EQ(run(bin(BinaryOp::Gt, lit_int((int64_t{1} << 53) + 1), lit_float(9007199254740992.0))), "bool true")
        << "2^53 + 1 > 2^53 exactly";
    EXPECT_EQ(run(bin(BinaryOp::Lt, lit_int(kMax), lit_float(9223372036854775808.0))), "bool true")
        << "INT64_MAX < 2^63";
    EXPECT_EQ(run(bin(BinaryOp::Lt, lit_int(2), lit_int(3))), "bool true") << "2 < 3";
    EXPECT_EQ(run(bin(BinaryOp::Le, lit_int(3), lit_int(3))), "bool true") << "3 <= 3";
    EXPECT_EQ(run(bin(BinaryOp::Lt, lit_float(kNaN), lit_int(1))), "bool false") << "NaN < 1";
    EXPECT_EQ(run(bin(BinaryOp::Ge, lit_float(kNaN), lit_float(kNaN))), "bool false") << "NaN >= NaN";
    EXPECT_EQ(run(bin(BinaryOp::Lt, lit_str("abc"), lit_str("abd"))), "bool true") << "strings by bytes";
    EXPECT_EQ(run(bin(BinaryOp::Lt, lit_int(1), lit_str("a"))), "absent") << "1 < \"a\"";
    EXPECT_EQ(run(bin(BinaryOp::Lt, lit_bool(false), lit_bool(true))), "absent") << "bools have no order";
    EXPECT_EQ(run(bin(BinaryOp::Gt, missing(), lit_int(1))), "absent") << "absent > 1";
}

// ---------------------------------------------------------------- membership, ranges, if

TEST_F(EvalTest, MembershipInArraysMapsAndStrings) {
    EXPECT_EQ(run(bin(BinaryOp::In, lit_int(1), array({lit_float(1.0), lit_int(2)}))), "bool true") << "1 in [1.0, 2]";
    EXPECT_EQ(run(bin(BinaryOp::In, lit_int(3), array({lit_int(1), lit_int(2)}))), "bool false") << "3 in [1, 2]";
    EXPECT_EQ(run(bin(BinaryOp::NotIn, lit_int(3), array({lit_int(1), lit_int(2)}))), "bool true") << "3 not in [1, 2]";
    EXPECT_EQ(run(bin(BinaryOp::In, missing(), array({lit_int(1)}))), "absent") << "absent in [1]";
    EXPECT_EQ(run(bin(BinaryOp::NotIn, missing(), array({lit_int(1)}))), "absent") << "absent not in [1]";
    slots[0] = arr({I(1), str("x")});
    EXPECT_EQ(run(bin(BinaryOp::In, lit_str("x"), field({0}))), "bool true") << "in an array-valued field";
    EXPECT_EQ(run(bin(BinaryOp::NotIn, lit_float(1.0), field({0}))), "bool false") << "1.0 not in [1, \"x\"]";
    auto m = map_lit({"k"}, {lit_int(1)});
    EXPECT_EQ(run(bin(BinaryOp::In, lit_str("k"), m)), "bool true") << "\"k\" in map (key)";
    EXPECT_EQ(run(bin(BinaryOp::In, lit_str("z"), m)), "bool false") << "\"z\" in map";
    EXPECT_EQ(run(bin(BinaryOp::In, lit_int(1), m)), "bool false") << "a value is not a key";
    EXPECT_EQ(run(bin(BinaryOp::In, lit_str("ell"), lit_str("hello"))), "bool true") << "substring";
    EXPECT_EQ(run(bin(BinaryOp::In, lit_str("xyz"), lit_str("hello"))), "bool false") << "not a substring";
    EXPECT_EQ(run(bin(BinaryOp::In, lit_int(1), lit_str("1"))), "absent") << "int in string";
    EXPECT_EQ(run(bin(BinaryOp::In, lit_int(1), lit_int(1))), "absent") << "int in int";
}

TEST_F(EvalTest, RangesBuildIntArrays) {
    EXPECT_EQ(run(range(lit_int(1), lit_int(4), false)), "array [1, 2, 3]") << "1..4 excludes 4";
    EXPECT_EQ(run(range(lit_int(1), lit_int(3), true)), "array [1, 2, 3]") << "1..=3 includes 3";
    EXPECT_EQ(run(range(lit_int(3), lit_int(1), false)), "array []") << "3..1 is empty";
    EXPECT_EQ(run(range(lit_int(2), lit_int(2), true)), "array [2]") << "2..=2";
    EXPECT_EQ(run(range(lit_float(1.0), lit_int(3), false)), "absent") << "float bound";
    EXPECT_EQ(run(range(lit_int(0), lit_int(int64_t{1} << 40), false)), "absent") << "a huge range is refused";
    EXPECT_EQ(run(range(lit_int(kMin), lit_int(kMax), true)), "absent") << "the widest range does not overflow";
}

TEST_F(EvalTest, IfTakesThenOnlyForTrue) {
    EXPECT_EQ(run(if_(lit_bool(true), lit_str("hot"), lit_str("ok"))), "string \"hot\"") << "true";
    EXPECT_EQ(run(if_(lit_bool(false), lit_str("hot"), lit_str("ok"))), "string \"ok\"") << "false";
    EXPECT_EQ(run(if_(missing(), lit_int(1), lit_int(0))), "int 0") << "absent condition takes else";
    EXPECT_EQ(run(if_(lit_int(1), lit_int(1), lit_int(0))), "int 0") << "non-bool condition takes else";
    EXPECT_EQ(run(if_(lit_bool(true), missing(), lit_int(0))), "absent") << "chosen branch absent";
}

// ---------------------------------------------------------------- index, slice, member

TEST_F(EvalTest, IndexArraysMapsAndStrings) {
    auto a = [] { return array({lit_int(10), lit_int(20), lit_int(30)}); };
    EXPECT_EQ(run(index(a(), lit_int(0))), "int 10") << "[0]";
    EXPECT_EQ(run(index(a(), lit_int(-1))), "int 30") << "[-1] counts from the end";
    EXPECT_EQ(run(index(a(), lit_int(-3))), "int 10") << "[-3]";
    EXPECT_EQ(run(index(a(), lit_int(3))), "absent") << "past the end";
    EXPECT_EQ(run(index(a(), lit_int(-4))), "absent") << "before the start";
    EXPECT_EQ(run(index(a(), lit_float(0.0))), "absent") << "float index";
    EXPECT_EQ(run(index(a(), missing())), "absent") << "absent index";
    auto m = [] { return map_lit({"k", "n"}, {lit_int(1), lit_null()}); };
    EXPECT_EQ(run(index(m(), lit_str("k"))), "int 1") << "map by key";
    EXPECT_EQ(run(index(m(), lit_str("n"))), "null null") << "a null value is present";
    EXPECT_EQ(run(index(m(), lit_str("z"))), "absent") << "missing key";
    EXPECT_EQ(run(index(m(), lit_int(0))), "absent") << "map by int";
    EXPECT_EQ(run(index(lit_str("h\xC3\xA9llo"), lit_int(1))), "string \"\xC3\xA9\"") << "string by character";
    EXPECT_EQ(run(index(lit_str("abc"), lit_int(-1))), "string \"c\"") << "string [-1]";
    EXPECT_EQ(run(index(lit_str("abc"), lit_int(3))), "absent") << "string past the end";
    EXPECT_EQ(run(index(lit_int(5), lit_int(0))), "absent") << "int is not indexable";
}

TEST_F(EvalTest, SlicesClampAndCountNegativeFromTheEnd) {
    auto a = [] { return array({lit_int(1), lit_int(2), lit_int(3), lit_int(4)}); };
    EXPECT_EQ(run(slice(a(), lit_int(1), lit_int(3))), "array [2, 3]") << "[1:3]";
    EXPECT_EQ(run(slice(a(), lit_int(-2), nullptr)), "array [3, 4]") << "[-2:]";
    EXPECT_EQ(run(slice(a(), nullptr, lit_int(-1))), "array [1, 2, 3]") << "[:-1]";
    EXPECT_EQ(run(slice(a(), nullptr, nullptr)), "array [1, 2, 3, 4]") << "[:]";
    EXPECT_EQ(run(slice(a(), lit_null(), lit_int(2))), "array [1, 2]") << "null bound is open";
    EXPECT_EQ(run(slice(a(), lit_int(5), lit_int(9))), "array []") << "clamped past the end";
    EXPECT_EQ(run(slice(a(), lit_int(-9), lit_int(1))), "array [1]") << "clamped before the start";
    EXPECT_EQ(run(slice(a(), lit_int(3), lit_int(1))), "array []") << "lo > hi is empty";
    EXPECT_EQ(run(slice(lit_str("h\xC3\xA9llo"), lit_int(1), lit_int(3))), "string \"\xC3\xA9l\"")
        << "string slices count characters";
    EXPECT_EQ(run(slice(lit_str("hello"), lit_int(-3), nullptr)), "string \"llo\"") << "string [-3:]";
    EXPECT_EQ(run(slice(a(), missing(), lit_int(2))), "absent") << "absent bound";
    EXPECT_EQ(run(slice(a(), lit_str("x"), lit_int(2))), "absent") << "string bound";
    EXPECT_EQ(run(slice(lit_int(5), lit_int(0), lit_int(1))), "absent") << "int is not sliceable";
}

TEST_F(EvalTest, MemberReadsMapKeys) {
    EXPECT_EQ(run(member(map_lit({"a"}, {lit_int(7)}), "a")), "int 7") << "m.a";
    EXPECT_EQ(run(member(map_lit({"a"}, {lit_int(7)}), "b")), "absent") << "m.b missing";
    EXPECT_EQ(run(member(lit_int(1), "a")), "absent") << "member of an int";
}

TEST_F(EvalTest, ArrayAndMapLiteralsDropAbsentItems) {
    EXPECT_EQ(run(array({lit_int(1), missing(), lit_str("x")})), "array [1, \"x\"]") << "absent element dropped";
    EXPECT_EQ(run(map_lit({"a", "b"}, {lit_int(1), missing()})), "map {a: 1}") << "absent value omits its key";
}

// ---------------------------------------------------------------- names

TEST_F(EvalTest, FieldReadsFirstPresentSlotThenGlobal) {
    rt.globals = {I(100)};
    slots[0] = I(5);
    EXPECT_EQ(run(field({0}, 0)), "int 5") << "an event field wins over the global";
    EXPECT_EQ(run(field({1}, 0)), "int 100") << "missing field falls back to the global";
    EXPECT_EQ(run(field({1})), "absent") << "missing field without global";
    slots[2] = str("b");
    EXPECT_EQ(run(field({1, 2, 0})), "string \"b\"") << "first present of several slots";
    slots[1] = Value::null();
    EXPECT_EQ(run(field({1}, 0)), "null null") << "a null field is present";
    ctx.row = nullptr;
    EXPECT_EQ(run(field({0}, 0)), "int 100") << "no row: the global";
    EXPECT_EQ(run(global(0)), "int 100") << "Global node";
    EXPECT_EQ(run(global(3)), "absent") << "Global out of range";
    // `.where(v > limit)` with a top-level `let limit`.
    ctx.row = &row;
    slots[0] = I(150);
    EXPECT_TRUE(eval_condition(bin(BinaryOp::Gt, field({0}), field({7}, 0)).get(), ctx)) << "v > limit";
}

TEST_F(EvalTest, AliasFieldsAndCounts) {
    std::vector<Value> a_slots = {I(1), F(2.5)};
    Row a;
    a.slots = a_slots.data();
    const Row* aliases[2] = {&a, nullptr};
    uint32_t counts[2] = {3, 0};
    auto af = [](int32_t alias, uint32_t slot) {
        auto e = node(ExprOp::AliasField);
        e->index = alias;
        e->slots = {slot};
        return e;
    };
    auto alen = [](int32_t alias) {
        auto e = node(ExprOp::AliasLen);
        e->index = alias;
        return e;
    };
    EXPECT_EQ(run(af(0, 1)), "absent") << "no aliases outside patterns";
    EXPECT_EQ(run(alen(0)), "int 0") << "len(alias) without counts";
    ctx.aliases = aliases;
    ctx.alias_counts = counts;
    EXPECT_EQ(run(af(0, 1)), "float 2.5") << "a.f of a bound alias";
    EXPECT_EQ(run(af(1, 0)), "absent") << "unbound alias";
    EXPECT_EQ(run(alen(0)), "int 3") << "len(a)";
    EXPECT_EQ(run(alen(1)), "int 0") << "len of an unbound alias";
}

TEST_F(EvalTest, LocalsReadTheFrame) {
    Value locals[2] = {I(4), Value()};
    EXPECT_EQ(run(local(0)), "absent") << "no frame";
    ctx.locals = locals;
    EXPECT_EQ(run(local(0)), "int 4") << "bound local";
    EXPECT_EQ(run(local(1)), "absent") << "unbound local";
}

TEST_F(EvalTest, StringLiteralIsNotAllocatedPerEvaluation) {
    auto lit = lit_str("constant text");
    Value first = ev(lit);
    size_t used = heap.bytes_used();
    Value second = ev(lit);
    EXPECT_EQ(first.s, second.s) << "the same string object each time";
    EXPECT_EQ(heap.bytes_used(), used) << "no heap allocation on re-evaluation";
    EXPECT_EQ(describe(second), "string \"constant text\"") << "literal text";
}

TEST_F(EvalTest, ConstantsOfEveryKind) {
    EXPECT_EQ(run(lit_null()), "null null") << "null";
    EXPECT_EQ(run(lit_bool(true)), "bool true") << "bool";
    EXPECT_EQ(run(lit_int(-3)), "int -3") << "int";
    EXPECT_EQ(run(lit_float(0.25)), "float 0.25") << "float";
    EXPECT_EQ(run(lit_dur(5'000'000'000)), "duration 5s") << "duration";
    EXPECT_EQ(run(lit_ts(0)), "timestamp @1970-01-01T00:00:00Z") << "timestamp";
    EXPECT_EQ(run(node(ExprOp::Lambda)), "absent") << "a lambda is not a value";
}

// ---------------------------------------------------------------- builtins

TEST_F(EvalTest, MathBuiltins) {
    EXPECT_EQ(builtin(Builtin::Abs, {I(-3)}), "int 3") << "abs int";
    EXPECT_EQ(builtin(Builtin::Abs, {F(-2.5)}), "float 2.5") << "abs float";
    EXPECT_EQ(builtin(Builtin::Abs, {str("x")}), "absent") << "abs string";
    EXPECT_EQ(builtin(Builtin::Abs, {I(1), I(2)}), "absent") << "abs arity";
    EXPECT_EQ(builtin(Builtin::Sqrt, {I(9)}), "float 3") << "sqrt int is float";
    EXPECT_EQ(builtin(Builtin::Sqrt, {str("9")}), "absent") << "sqrt string";
    EXPECT_EQ(builtin(Builtin::Log, {F(1.0)}), "float 0") << "log 1";
    EXPECT_EQ(builtin(Builtin::Log, {}), "absent") << "log arity";
    EXPECT_EQ(builtin(Builtin::Log10, {I(1000)}), "float 3") << "log10";
    EXPECT_EQ(builtin(Builtin::Log10, {B(true)}), "absent") << "log10 bool";
    EXPECT_EQ(builtin(Builtin::Exp, {I(0)}), "float 1") << "exp";
    EXPECT_EQ(builtin(Builtin::Exp, {Value::null()}), "absent") << "exp null";
    EXPECT_EQ(builtin(Builtin::Sin, {I(0)}), "float 0") << "sin";
    EXPECT_EQ(builtin(Builtin::Sin, {str("0")}), "absent") << "sin string";
    EXPECT_EQ(builtin(Builtin::Cos, {I(0)}), "float 1") << "cos";
    EXPECT_EQ(builtin(Builtin::Cos, {I(0), I(1)}), "absent") << "cos arity";
    EXPECT_EQ(builtin(Builtin::Tan, {F(0.0)}), "float 0") << "tan";
    EXPECT_EQ(builtin(Builtin::Tan, {arr({})}), "absent") << "tan array";
}

TEST_F(EvalTest, RoundingBuiltinsReturnInts) {
    EXPECT_EQ(builtin(Builtin::Round, {F(2.5)}), "int 3") << "round(2.5) half away from zero";
    EXPECT_EQ(builtin(Builtin::Round, {F(-2.5)}), "int -3") << "round(-2.5)";
    EXPECT_EQ(builtin(Builtin::Round, {F(2.4)}), "int 2") << "round(2.4)";
    EXPECT_EQ(builtin(Builtin::Round, {I(7)}), "int 7") << "round(int)";
    EXPECT_EQ(builtin(Builtin::Round, {str("2.5")}), "absent") << "round(string)";
    EXPECT_EQ(builtin(Builtin::Floor, {F(-2.5)}), "int -3") << "floor(-2.5)";
    EXPECT_EQ(builtin(Builtin::Floor, {F(1e300)}), "int " + std::to_string(kMax)) << "floor saturates";
    EXPECT_EQ(builtin(Builtin::Floor, {B(true)}), "absent") << "floor(bool)";
    EXPECT_EQ(builtin(Builtin::Ceil, {F(-2.5)}), "int -2") << "ceil(-2.5)";
    EXPECT_EQ(builtin(Builtin::Ceil, {F(2.1)}), "int 3") << "ceil(2.1)";
    EXPECT_EQ(builtin(Builtin::Ceil, {}), "absent") << "ceil arity";
}

TEST_F(EvalTest, PowMinMaxClamp) {
    EXPECT_EQ(builtin(Builtin::Pow, {I(2), I(10)}), "int 1024") << "pow int,int is int";
    EXPECT_EQ(builtin(Builtin::Pow, {F(2.0), I(2)}), "float 4") << "pow float,int is float";
    EXPECT_EQ(builtin(Builtin::Pow, {I(2)}), "absent") << "pow arity";
    EXPECT_EQ(builtin(Builtin::Pow, {str("2"), I(2)}), "absent") << "pow string";
    EXPECT_EQ(builtin(Builtin::Min, {I(3), I(5)}), "int 3") << "min int,int is int";
    EXPECT_EQ(builtin(Builtin::Min, {I(3), F(5.0)}), "float 3") << "min int,float is float";
    EXPECT_EQ(builtin(Builtin::Min, {I(3), str("a")}), "absent") << "min with a string";
    EXPECT_EQ(builtin(Builtin::Min, {I(3), I(4), I(5)}), "absent") << "min takes two arguments";
    EXPECT_EQ(builtin(Builtin::Max, {I(3), I(5)}), "int 5") << "max int,int";
    EXPECT_EQ(builtin(Builtin::Max, {F(-1.5), I(-2)}), "float -1.5") << "max float,int";
    EXPECT_EQ(builtin(Builtin::Max, {I(1)}), "absent") << "max arity";
    EXPECT_EQ(builtin(Builtin::Clamp, {I(15), I(0), I(10)}), "int 10") << "clamp above";
    EXPECT_EQ(builtin(Builtin::Clamp, {I(-5), I(0), I(10)}), "int 0") << "clamp below";
    EXPECT_EQ(builtin(Builtin::Clamp, {F(5.5), I(0), I(10)}), "float 5.5") << "clamp with a float is float";
    EXPECT_EQ(builtin(Builtin::Clamp, {I(5), I(0)}), "absent") << "clamp arity";
    EXPECT_EQ(builtin(Builtin::Clamp, {I(5), I(0), str("10")}), "absent") << "clamp string bound";
}

TEST_F(EvalTest, CollectionBuiltins) {
    Value a = arr({I(3), I(1), I(2)});
    Value m = map({{"a", I(1)}, {"b", str("x")}});
    EXPECT_EQ(builtin(Builtin::Len, {str("h\xC3\xA9")}), "int 3") << "len of a string counts bytes";
    EXPECT_EQ(builtin(Builtin::Len, {a}), "int 3") << "len array";
    EXPECT_EQ(builtin(Builtin::Len, {m}), "int 2") << "len map";
    EXPECT_EQ(builtin(Builtin::Len, {I(5)}), "absent") << "len int";
    EXPECT_EQ(builtin(Builtin::First, {a}), "int 3") << "first";
    EXPECT_EQ(builtin(Builtin::First, {arr({})}), "absent") << "first of empty";
    EXPECT_EQ(builtin(Builtin::Last, {a}), "int 2") << "last";
    EXPECT_EQ(builtin(Builtin::Last, {str("abc")}), "absent") << "last of a string";
    EXPECT_EQ(builtin(Builtin::Push, {a, I(9)}), "array [3, 1, 2, 9]") << "push";
    EXPECT_EQ(describe(a), "array [3, 1, 2]") << "push leaves its argument unchanged";
    EXPECT_EQ(builtin(Builtin::Push, {I(1), I(9)}), "absent") << "push onto an int";
    EXPECT_EQ(builtin(Builtin::Pop, {a}), "array [3, 1]") << "pop";
    EXPECT_EQ(builtin(Builtin::Pop, {arr({})}), "absent") << "pop of empty";
    EXPECT_EQ(builtin(Builtin::Reverse, {a}), "array [2, 1, 3]") << "reverse array";
    EXPECT_EQ(builtin(Builtin::Reverse, {str("ab\xC3\xA9")}), "string \"\xC3\xA9" "ba\"") << "reverse string by char";
    EXPECT_EQ(builtin(Builtin::Reverse, {I(12)}), "absent") << "reverse int";
    EXPECT_EQ(builtin(Builtin::Sort, {arr({I(3), F(1.5), I(2)})}), "array [1.5, 2, 3]") << "sort numbers";
    EXPECT_EQ(builtin(Builtin::Sort, {arr({str("b"), str("a")})}), "array [\"a\", \"b\"]") << "sort strings";
    EXPECT_EQ(builtin(Builtin::Sort, {m}), "absent") << "sort map";
    EXPECT_EQ(builtin(Builtin::Contains, {a, F(1.0)}), "bool true") << "contains(arr, v) numeric equality";
    EXPECT_EQ(builtin(Builtin::Contains, {str("hello"), str("ell")}), "bool true") << "contains(str, sub)";
    EXPECT_EQ(builtin(Builtin::Contains, {m, str("b")}), "bool true") << "contains(map, key)";
    EXPECT_EQ(builtin(Builtin::Contains, {m, str("z")}), "bool false") << "contains(map, missing key)";
    EXPECT_EQ(builtin(Builtin::Contains, {I(1), I(1)}), "absent") << "contains(int, int)";
    EXPECT_EQ(builtin(Builtin::Keys, {m}), "array [\"a\", \"b\"]") << "keys in insertion order";
    EXPECT_EQ(builtin(Builtin::Keys, {a}), "absent") << "keys of an array";
    EXPECT_EQ(builtin(Builtin::Values, {m}), "array [1, \"x\"]") << "values";
    EXPECT_EQ(builtin(Builtin::Values, {}), "absent") << "values arity";
    EXPECT_EQ(builtin(Builtin::Get, {a, I(-1)}), "int 2") << "get(arr, -1)";
    EXPECT_EQ(builtin(Builtin::Get, {a, I(7)}), "absent") << "get out of range";
    EXPECT_EQ(builtin(Builtin::Get, {m, str("b")}), "string \"x\"") << "get(map, k)";
    EXPECT_EQ(builtin(Builtin::Get, {m, I(0)}), "absent") << "get(map, int)";
    EXPECT_EQ(builtin(Builtin::Set, {a, I(0), I(7)}), "array [7, 1, 2]") << "set(arr, i, v)";
    EXPECT_EQ(builtin(Builtin::Set, {a, I(3), I(7)}), "absent") << "set out of range";
    EXPECT_EQ(builtin(Builtin::Set, {m, str("a"), I(5)}), "map {a: 5, b: \"x\"}") << "set existing key";
    EXPECT_EQ(builtin(Builtin::Set, {m, str("c"), B(true)}), "map {a: 1, b: \"x\", c: true}") << "set new key";
    EXPECT_EQ(describe(m), "map {a: 1, b: \"x\"}") << "set leaves its argument unchanged";
    EXPECT_EQ(builtin(Builtin::Set, {m, str("a")}), "absent") << "set arity";
    EXPECT_EQ(builtin(Builtin::Range, {I(3)}), "array [0, 1, 2]") << "range(n)";
    EXPECT_EQ(builtin(Builtin::Range, {I(2), I(5)}), "array [2, 3, 4]") << "range(a, b)";
    EXPECT_EQ(builtin(Builtin::Range, {F(3.0)}), "absent") << "range(float)";
    EXPECT_EQ(builtin(Builtin::Range, {I(1), I(2), I(3)}), "absent") << "range arity";
}

TEST_F(EvalTest, SumAndAvgOfArraysAreFloats) {
    EXPECT_EQ(builtin(Builtin::Sum, {arr({I(1), I(2), I(3)})}), "float 6") << "sum of ints is a float";
    EXPECT_EQ(builtin(Builtin::Sum, {arr({I(1), str("x"), F(0.5)})}), "float 1.5") << "non-numbers skipped";
    EXPECT_EQ(builtin(Builtin::Sum, {arr({})}), "float 0") << "sum of empty";
    EXPECT_EQ(builtin(Builtin::Sum, {I(3)}), "absent") << "sum of an int";
    EXPECT_EQ(builtin(Builtin::Avg, {arr({I(1), I(2)})}), "float 1.5") << "avg";
    EXPECT_EQ(builtin(Builtin::Avg, {arr({})}), "float 0") << "avg of empty is 0.0";
    EXPECT_EQ(builtin(Builtin::Avg, {str("12")}), "absent") << "avg of a string";
}

TEST_F(EvalTest, ConversionBuiltins) {
    EXPECT_EQ(builtin(Builtin::ToString, {str("x")}), "string \"x\"") << "to_string of a string is itself";
    EXPECT_EQ(builtin(Builtin::ToString, {I(7)}), "string \"7\"") << "to_string(7)";
    EXPECT_EQ(builtin(Builtin::ToString, {F(2.0)}), "string \"2\"") << "to_string(2.0) display form";
    EXPECT_EQ(builtin(Builtin::ToString, {arr({str("a"), I(1)})}), "string \"[\"a\", 1]\"")
        << "nested strings stay quoted";
    EXPECT_EQ(builtin(Builtin::ToString, {}), "absent") << "to_string arity";
    EXPECT_EQ(builtin(Builtin::ToInt, {F(3.9)}), "int 3") << "to_int truncates";
    EXPECT_EQ(builtin(Builtin::ToInt, {F(-3.9)}), "int -3") << "to_int truncates toward zero";
    EXPECT_EQ(builtin(Builtin::ToInt, {str("42")}), "int 42") << "to_int numeric string";
    EXPECT_EQ(builtin(Builtin::ToInt, {str("-4.5")}), "int -4") << "to_int float string";
    EXPECT_EQ(builtin(Builtin::ToInt, {B(true)}), "int 1") << "to_int(true)";
    EXPECT_EQ(builtin(Builtin::ToInt, {I(5)}), "int 5") << "to_int(int)";
    EXPECT_EQ(builtin(Builtin::ToInt, {str("4x")}), "absent") << "to_int non-numeric string";
    EXPECT_EQ(builtin(Builtin::ToInt, {arr({})}), "absent") << "to_int array";
    EXPECT_EQ(builtin(Builtin::ToFloat, {I(2)}), "float 2") << "to_float(int)";
    EXPECT_EQ(builtin(Builtin::ToFloat, {str("2.5")}), "float 2.5") << "to_float numeric string";
    EXPECT_EQ(builtin(Builtin::ToFloat, {str("+1e3")}), "float 1000") << "to_float with sign and exponent";
    EXPECT_EQ(builtin(Builtin::ToFloat, {str("abc")}), "absent") << "to_float non-numeric string";
    EXPECT_EQ(builtin(Builtin::ToFloat, {str("")}), "absent") << "to_float empty string";
    EXPECT_EQ(builtin(Builtin::ToFloat, {B(true)}), "absent") << "to_float(bool) is not in the signature";
}

TEST_F(EvalTest, StringBuiltins) {
    EXPECT_EQ(builtin(Builtin::Trim, {str("  a b \t\n")}), "string \"a b\"") << "trim";
    EXPECT_EQ(builtin(Builtin::Trim, {I(1)}), "absent") << "trim int";
    EXPECT_EQ(builtin(Builtin::Lower, {str("HeLLo")}), "string \"hello\"") << "lower";
    EXPECT_EQ(builtin(Builtin::Lower, {I(1)}), "absent") << "lower int";
    EXPECT_EQ(builtin(Builtin::Upper, {str("HeLLo")}), "string \"HELLO\"") << "upper";
    EXPECT_EQ(builtin(Builtin::Upper, {str("a"), str("b")}), "absent") << "upper arity";
    EXPECT_EQ(builtin(Builtin::Concat, {str("id-"), I(7), B(true)}), "string \"id-7true\"") << "concat to_string forms";
    EXPECT_EQ(builtin(Builtin::Concat, {}), "string \"\"") << "concat of nothing";
    EXPECT_EQ(builtin(Builtin::Concat, {F(1.5), Value::null()}), "string \"1.5null\"") << "concat float and null";
    EXPECT_EQ(builtin(Builtin::Split, {str("a,b,,c"), str(",")}), "array [\"a\", \"b\", \"\", \"c\"]") << "split";
    EXPECT_EQ(builtin(Builtin::Split, {str("abc"), str("")}), "array [\"\", \"a\", \"b\", \"c\", \"\"]")
        << "split on empty separator (Rust semantics)";
    EXPECT_EQ(builtin(Builtin::Split, {str("a"), I(1)}), "absent") << "split int separator";
    EXPECT_EQ(builtin(Builtin::Join, {arr({str("a"), I(1), F(2.5)}), str("-")}), "string \"a-1-2.5\"")
        << "join writes to_string forms (strings unquoted)";
    EXPECT_EQ(builtin(Builtin::Join, {arr({}), str("-")}), "string \"\"") << "join of empty";
    EXPECT_EQ(builtin(Builtin::Join, {str("ab"), str("-")}), "absent") << "join of a string";
    EXPECT_EQ(builtin(Builtin::Replace, {str("a-b-c"), str("-"), str("+")}), "string \"a+b+c\"") << "replace all";
    EXPECT_EQ(builtin(Builtin::Replace, {str("ab"), str(""), str("-")}), "string \"-a-b-\"") << "replace empty";
    EXPECT_EQ(builtin(Builtin::Replace, {str("ab"), str("a")}), "absent") << "replace arity";
    EXPECT_EQ(builtin(Builtin::StartsWith, {str("Hello"), str("He")}), "bool true") << "starts_with";
    EXPECT_EQ(builtin(Builtin::StartsWith, {str("Hello"), str("lo")}), "bool false") << "starts_with false";
    EXPECT_EQ(builtin(Builtin::StartsWith, {I(1), str("1")}), "absent") << "starts_with int";
    EXPECT_EQ(builtin(Builtin::EndsWith, {str("Hello"), str("lo")}), "bool true") << "ends_with";
    EXPECT_EQ(builtin(Builtin::EndsWith, {str("Hello")}), "absent") << "ends_with arity";
    EXPECT_EQ(builtin(Builtin::Substring, {str("Hello"), I(1), I(3)}), "string \"el\"") << "substring(s, 1, 3)";
    EXPECT_EQ(builtin(Builtin::Substring, {str("h\xC3\xA9llo"), I(1), I(2)}), "string \"\xC3\xA9\"")
        << "substring counts characters";
    EXPECT_EQ(builtin(Builtin::Substring, {str("Hello"), I(3)}), "string \"lo\"") << "substring to the end";
    EXPECT_EQ(builtin(Builtin::Substring, {str("Hello"), I(4), I(99)}), "string \"o\"") << "end clamped";
    EXPECT_EQ(builtin(Builtin::Substring, {str("Hello"), I(3), I(1)}), "string \"\"") << "end before start";
    EXPECT_EQ(builtin(Builtin::Substring, {str("Hello"), F(1.0)}), "absent") << "float start";
    EXPECT_EQ(builtin(Builtin::Substring, {str("Hello")}), "absent") << "substring arity";
}

TEST_F(EvalTest, TypeBuiltins) {
    EXPECT_EQ(builtin(Builtin::TypeOf, {I(1)}), "string \"int\"") << "type_of int";
    EXPECT_EQ(builtin(Builtin::TypeOf, {F(1)}), "string \"float\"") << "type_of float";
    EXPECT_EQ(builtin(Builtin::TypeOf, {str("")}), "string \"string\"") << "type_of string";
    EXPECT_EQ(builtin(Builtin::TypeOf, {B(false)}), "string \"bool\"") << "type_of bool";
    EXPECT_EQ(builtin(Builtin::TypeOf, {arr({})}), "string \"array\"") << "type_of array";
    EXPECT_EQ(builtin(Builtin::TypeOf, {map({})}), "string \"map\"") << "type_of map";
    EXPECT_EQ(builtin(Builtin::TypeOf, {Value::null()}), "string \"null\"") << "type_of null";
    EXPECT_EQ(builtin(Builtin::TypeOf, {Value::duration(1)}), "string \"duration\"") << "type_of duration";
    EXPECT_EQ(builtin(Builtin::TypeOf, {Value::timestamp(1)}), "string \"timestamp\"") << "type_of timestamp";
    EXPECT_EQ(builtin(Builtin::TypeOf, {Value()}), "absent") << "type_of absent (dropped: arity)";
    EXPECT_EQ(builtin(Builtin::IsNull, {Value::null()}), "bool true") << "is_null(null)";
    EXPECT_EQ(builtin(Builtin::IsNull, {I(0)}), "bool false") << "is_null(0)";
    EXPECT_EQ(builtin(Builtin::IsNull, {Value()}), "absent") << "is_null(absent)";
    EXPECT_EQ(builtin(Builtin::IsInt, {I(0)}), "bool true") << "is_int";
    EXPECT_EQ(builtin(Builtin::IsInt, {F(0)}), "bool false") << "is_int(float)";
    EXPECT_EQ(builtin(Builtin::IsFloat, {F(0)}), "bool true") << "is_float";
    EXPECT_EQ(builtin(Builtin::IsFloat, {I(0), I(1)}), "absent") << "is_float arity";
    EXPECT_EQ(builtin(Builtin::IsString, {str("")}), "bool true") << "is_string";
    EXPECT_EQ(builtin(Builtin::IsString, {}), "absent") << "is_string arity";
    EXPECT_EQ(builtin(Builtin::IsBool, {B(true)}), "bool true") << "is_bool";
    EXPECT_EQ(builtin(Builtin::IsBool, {I(1)}), "bool false") << "is_bool(1)";
    EXPECT_EQ(builtin(Builtin::IsArray, {arr({})}), "bool true") << "is_array";
    EXPECT_EQ(builtin(Builtin::IsArray, {map({})}), "bool false") << "is_array(map)";
    EXPECT_EQ(builtin(Builtin::IsMap, {map({})}), "bool true") << "is_map";
    EXPECT_EQ(builtin(Builtin::IsMap, {}), "absent") << "is_map arity";
}

TEST_F(EvalTest, CoalesceSkipsAbsentButKeepsNull) {
    EXPECT_EQ(builtin(Builtin::Coalesce, {Value(), I(5)}), "int 5") << "absent skipped";
    EXPECT_EQ(builtin(Builtin::Coalesce, {Value::null(), I(5)}), "null null") << "null counts as present";
    EXPECT_EQ(builtin(Builtin::Coalesce, {Value(), Value()}), "absent") << "nothing present";
    EXPECT_EQ(run(call(Builtin::Coalesce, {missing(), field({0}), lit_int(3)})), "int 3") << "through a Call node";
}

TEST_F(EvalTest, NowAndUuid) {
    EXPECT_EQ(builtin(Builtin::Now, {}), "absent") << "now() outside event processing";
    ctx.has_now = true;
    ctx.now_ms = 1'700'000'000'123;
    EXPECT_EQ(builtin(Builtin::Now, {}), "int 1700000000123") << "now() is the event time in ms";
    EXPECT_EQ(builtin(Builtin::Now, {I(1)}), "absent") << "now arity";
    Value u1 = call_builtin(Builtin::Uuid, nullptr, 0, ctx);
    Value u2 = call_builtin(Builtin::Uuid, nullptr, 0, ctx);
    ASSERT_EQ(u1.kind, ValueKind::Str) << "uuid() is a string";
    std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    EXPECT_TRUE(std::regex_match(std::string(u1.str()), shape)) << "v4 lower-case form: " << u1.str();
    EXPECT_FALSE(values_equal(u1, u2)) << "a new uuid on every call";
    EXPECT_EQ(builtin(Builtin::Uuid, {I(1)}), "absent") << "uuid arity";
}

TEST_F(EvalTest, CallsDropAbsentArgumentsBeforeTheArityCheck) {
    EXPECT_EQ(run(call(Builtin::Len, {missing()})), "absent") << "len(missing)";
    EXPECT_EQ(run(call(Builtin::Min, {lit_int(1), missing(), lit_int(2)})), "int 1")
        << "min(1, missing, 2) is min(1, 2)";
    EXPECT_EQ(run(call(Builtin::Concat, {lit_str("a"), missing(), lit_int(1)})), "string \"a1\"")
        << "concat skips absent";
    EXPECT_EQ(run(call(Builtin::Abs, {un(UnaryOp::Neg, lit_float(1.5))})), "float 1.5") << "nested call";
}

// ---------------------------------------------------------------- methods and lambdas

TEST_F(EvalTest, MethodsCallBuiltinsWithTheReceiverFirst) {
    auto a = [] { return array({lit_int(1), lit_int(2), lit_int(3)}); };
    EXPECT_EQ(run(method("len", {a()})), "int 3") << "arr.len()";
    EXPECT_EQ(run(method("upper", {lit_str("ab")})), "string \"AB\"") << "s.upper()";
    EXPECT_EQ(run(method("to_lower", {lit_str("AB")})), "string \"ab\"") << "alias names work as methods";
    EXPECT_EQ(run(method("contains", {lit_str("abc"), lit_str("b")})), "bool true") << "s.contains(sub)";
    EXPECT_EQ(run(method("count", {a()})), "int 3") << "arr.count()";
    EXPECT_EQ(run(method("sum", {a()})), "float 6") << "arr.sum() is the sum builtin";
    EXPECT_EQ(run(method("nosuch", {a()})), "absent") << "unknown method";
    EXPECT_EQ(run(method("len", {missing()})), "absent") << "method on absent";
}

TEST_F(EvalTest, ArrayMethodsTakeLambdas) {
    auto a = [] { return array({lit_int(1), lit_int(2), lit_int(3), lit_int(4)}); };
    // x => x > 2, with x in local 0 (no enclosing function: a temporary frame).
    auto gt2 = [] { return lambda(0, 1, bin(BinaryOp::Gt, local(0), lit_int(2))); };
    EXPECT_EQ(run(method("filter", {a(), gt2()})), "array [3, 4]") << "filter";
    EXPECT_EQ(run(method("map", {a(), lambda(0, 1, bin(BinaryOp::Mul, local(0), lit_int(10)))})),
              "array [10, 20, 30, 40]")
        << "map";
    EXPECT_EQ(run(method("sum", {a(), lambda(0, 1, local(0))})), "float 10") << "sum with a lambda is a float";
    EXPECT_EQ(run(method("any", {a(), gt2()})), "bool true") << "any";
    EXPECT_EQ(run(method("all", {a(), gt2()})), "bool false") << "all";
    EXPECT_EQ(run(method("all", {array({}), gt2()})), "bool true") << "all of empty";
    EXPECT_EQ(run(method("count", {a(), gt2()})), "int 2") << "count with a predicate";
    EXPECT_EQ(run(method("filter", {lit_int(1), gt2()})), "absent") << "filter on a non-array";
    // (x) => { let y = x * 2; y + 1 }: block statements, then the value.
    auto block = lambda(0, 1, bin(BinaryOp::Add, local(1), lit_int(1)),
                        {let(1, bin(BinaryOp::Mul, local(0), lit_int(2)))});
    EXPECT_EQ(run(method("map", {a(), block})), "array [3, 5, 7, 9]") << "lambda with a block body";
    // Inside a function the caller's frame is used; lambda params sit after the locals.
    Value frame[3] = {I(100), Value(), Value()};
    ctx.locals = frame;
    EXPECT_EQ(run(method("map", {a(), lambda(2, 1, bin(BinaryOp::Add, local(2), local(0)))})),
              "array [101, 102, 103, 104]")
        << "a lambda reads the enclosing function's locals";
}

TEST_F(EvalTest, CallLambdaBindsParameters) {
    auto l = lambda(0, 2, bin(BinaryOp::Sub, local(0), local(1)));
    Value args[2] = {I(10), I(3)};
    EXPECT_EQ(describe(call_lambda(*l, args, 2, ctx)), "int 7") << "(a, b) => a - b";
    EXPECT_EQ(describe(call_lambda(*l, args, 1, ctx)), "absent") << "missing parameter is absent";
    EXPECT_EQ(describe(call_lambda(*lit_int(1), args, 1, ctx)), "absent") << "not a lambda";
}

// ---------------------------------------------------------------- user functions

TEST_F(EvalTest, UserFunctionWithLoopsBreakContinueReturnAndEmit) {
    // fn f(n):                      locals: 0 n, 1 acc, 2 i, 3 x
    //     let acc = 0
    //     let i = 0
    //     while true:
    //         if i >= n: break
    //         i := i + 1
    //         if i % 2 == 0: continue
    //         acc := acc + i
    //     for x in [10, 20, 30]:
    //         if x == 30: break
    //         emit Item(v: x, w: nothing, s: "t")
    //     return acc
    //     acc := -1                 (never reached)
    int32_t fn = add_function(
        "f", 1, 4,
        {let(1, lit_int(0)), let(2, lit_int(0)),
         while_stmt(lit_bool(true),
                    {if_stmt({bin(BinaryOp::Ge, local(2), local(0))}, {{brk()}}),
                     assign(2, bin(BinaryOp::Add, local(2), lit_int(1))),
                     if_stmt({bin(BinaryOp::Eq, bin(BinaryOp::Mod, local(2), lit_int(2)), lit_int(0))}, {{cont()}}),
                     assign(1, bin(BinaryOp::Add, local(1), local(2)))}),
         for_stmt(3, array({lit_int(10), lit_int(20), lit_int(30)}),
                  {if_stmt({bin(BinaryOp::Eq, local(3), lit_int(30))}, {{brk()}}),
                   emit("Item", {"v", "w", "s"}, {local(3), missing(), lit_str("t")})}),
         ret(local(1)), assign(1, lit_int(-1))});
    std::vector<EmittedEvent> out;
    ctx.emitted = &out;
    EXPECT_EQ(describe(call_fn(fn, {I(5)})), "int 9") << "1 + 3 + 5";
    ASSERT_EQ(out.size(), 2u) << "two emit statements ran before the break";
    EXPECT_EQ(out[0].type->view(), "Item") << "event type";
    EXPECT_EQ(out[0].type, interner.find("Item")) << "type name is interned";
    ASSERT_EQ(out[0].fields.size(), 2u) << "the absent field is omitted";
    EXPECT_EQ(out[0].fields[0].name->view(), "v") << "fields in statement order";
    EXPECT_EQ(describe(out[0].fields[0].value), "int 10") << "first event value";
    EXPECT_EQ(out[0].fields[1].name->view(), "s") << "second field";
    EXPECT_EQ(describe(out[1].fields[0].value), "int 20") << "second event value";
    EXPECT_EQ(run(call_user(fn, {lit_int(0)})), "int 0") << "CallUser node: f(0)";
    ctx.emitted = nullptr;
    EXPECT_EQ(describe(call_fn(fn, {I(3)})), "int 4") << "emit outside .process is ignored";
}

TEST_F(EvalTest, LastExpressionStatementIsTheResult) {
    // fn sign(x): if x > 0: "pos" else: "neg"
    int32_t sign = add_function("sign", 1, 1,
                                {if_stmt({bin(BinaryOp::Gt, local(0), lit_int(0))},
                                         {{expr_stmt(lit_str("pos"))}, {expr_stmt(lit_str("neg"))}})});
    EXPECT_EQ(describe(call_fn(sign, {I(3)})), "string \"pos\"") << "then branch value";
    EXPECT_EQ(describe(call_fn(sign, {I(-3)})), "string \"neg\"") << "else branch value";
    EXPECT_EQ(describe(call_fn(sign, {})), "string \"neg\"") << "missing argument is unbound (absent)";
    EXPECT_EQ(describe(call_fn(sign, {I(1), I(2)})), "string \"pos\"") << "extra arguments ignored";
    // fn g(): 1; let a = 2   -> the last statement is not an expression: no value
    int32_t g = add_function("g", 0, 1, {expr_stmt(lit_int(1)), let(0, lit_int(2))});
    EXPECT_EQ(describe(call_fn(g, {})), "absent") << "ends with a let";
    // fn h(): return
    int32_t h = add_function("h", 0, 0, {expr_stmt(lit_int(1)), ret(nullptr)});
    EXPECT_EQ(describe(call_fn(h, {})), "absent") << "bare return";
    // elif chain: fn k(x): if x == 1: "one" elif x == 2: "two"  (no else)
    int32_t k = add_function("k", 1, 1,
                             {if_stmt({bin(BinaryOp::Eq, local(0), lit_int(1)), bin(BinaryOp::Eq, local(0), lit_int(2))},
                                      {{expr_stmt(lit_str("one"))}, {expr_stmt(lit_str("two"))}})});
    EXPECT_EQ(describe(call_fn(k, {I(2)})), "string \"two\"") << "elif branch";
    EXPECT_EQ(describe(call_fn(k, {I(3)})), "absent") << "no branch taken";
    EXPECT_EQ(describe(call_fn(99, {})), "absent") << "unknown function index";
}

TEST_F(EvalTest, ForIteratesRangesArraysAndMapItems) {
    // fn total(xs): let t = 0; for x in xs: t := t + x; t
    int32_t total = add_function("total", 1, 3,
                                 {let(1, lit_int(0)), for_stmt(2, local(0), {assign(1, bin(BinaryOp::Add, local(1), local(2)))}),
                                  expr_stmt(local(1))});
    EXPECT_EQ(describe(call_fn(total, {arr({I(1), I(2), I(3)})})), "int 6") << "over an array";
    EXPECT_EQ(describe(call_fn(total, {I(5)})), "int 0") << "over a non-iterable: no iterations";
    // fn r(): let t = 0; for i in 0..=4: t := t + i; t
    int32_t r = add_function("r", 0, 2,
                             {let(0, lit_int(0)),
                              for_stmt(1, range(lit_int(0), lit_int(4), true), {assign(0, bin(BinaryOp::Add, local(0), local(1)))}),
                              expr_stmt(local(0))});
    EXPECT_EQ(describe(call_fn(r, {})), "int 10") << "over a range";
    // fn keys(m): let s = ""; for kv in m: s := s + kv[0] + to_string(kv[1]); s
    int32_t ks = add_function(
        "ks", 1, 3,
        {let(1, lit_str("")),
         for_stmt(2, local(0),
                  {assign(1, bin(BinaryOp::Add, bin(BinaryOp::Add, local(1), index(local(2), lit_int(0))),
                                 call(Builtin::ToString, {index(local(2), lit_int(1))})))}),
         expr_stmt(local(1))});
    EXPECT_EQ(describe(call_fn(ks, {map({{"a", I(1)}, {"b", I(2)}})})), "string \"a1b2\"")
        << "map items are [key, value] in insertion order";
}

TEST_F(EvalTest, WhileWithNonBoolConditionStops) {
    // fn w(): let n = 0; while 1: n := n + 1; n
    int32_t w = add_function("w", 0, 1,
                             {let(0, lit_int(0)), while_stmt(lit_int(1), {assign(0, bin(BinaryOp::Add, local(0), lit_int(1)))}),
                              expr_stmt(local(0))});
    EXPECT_EQ(describe(call_fn(w, {})), "int 0") << "the body never runs";
}

TEST_F(EvalTest, InfiniteWhileIsCutOffWithNoValue) {
    // fn spin(): let i = 0; while true: i := i + 1; return i
    int32_t spin = add_function("spin", 0, 1,
                                {let(0, lit_int(0)), while_stmt(lit_bool(true), {assign(0, bin(BinaryOp::Add, local(0), lit_int(1)))}),
                                 ret(local(0))});
    EXPECT_EQ(describe(call_fn(spin, {})), "absent") << "past 10 million iterations the call has no value";
}

TEST_F(EvalTest, RecursionWorksAndRunawayRecursionHasNoValue) {
    // fn fact(n): if n <= 1: return 1; return n * fact(n - 1)
    int32_t fact = static_cast<int32_t>(plan.functions.size());
    add_function("fact", 1, 1,
                 {if_stmt({bin(BinaryOp::Le, local(0), lit_int(1))}, {{ret(lit_int(1))}}),
                  ret(bin(BinaryOp::Mul, local(0), call_user(fact, {bin(BinaryOp::Sub, local(0), lit_int(1))})))});
    EXPECT_EQ(describe(call_fn(fact, {I(10)})), "int 3628800") << "fact(10)";
    // fn forever(n): forever(n + 1)
    int32_t forever = static_cast<int32_t>(plan.functions.size());
    add_function("forever", 1, 1, {expr_stmt(call_user(forever, {bin(BinaryOp::Add, local(0), lit_int(1))}))});
    EXPECT_EQ(describe(call_fn(forever, {I(0)})), "absent") << "depth limit instead of a stack overflow";
    EXPECT_EQ(run(method("fact", {lit_int(4)})), "int 24") << "a user function called as a method";
}

TEST_F(EvalTest, AssignGlobalUpdatesRuntimeGlobals) {
    plan.globals = {{"counter", true}};
    rt.globals = {I(1)};
    // fn bump(): counter := counter + 1
    int32_t bump = add_function("bump", 0, 0, {assign_global(0, bin(BinaryOp::Add, global(0), lit_int(1)))});
    call_fn(bump, {});
    call_fn(bump, {});
    EXPECT_EQ(describe(rt.globals[0]), "int 3") << "two increments";
}

TEST_F(EvalTest, GlobalInitsRunInOrder) {
    plan.globals = {{"a", false}, {"b", false}, {"t", false}};
    plan.inits = {{0, lit_int(100)},
                  {1, bin(BinaryOp::Mul, global(0), lit_int(2))},
                  {-1, lit_int(7)},
                  {2, call(Builtin::Now, {})}};
    run_global_inits(rt);
    ASSERT_EQ(rt.globals.size(), 3u) << "sized to plan.globals";
    EXPECT_EQ(describe(rt.globals[0]), "int 100") << "a";
    EXPECT_EQ(describe(rt.globals[1]), "int 200") << "b reads a";
    EXPECT_EQ(describe(rt.globals[2]), "absent") << "now() has no value at load time";
}

// ---------------------------------------------------------------- value helpers

TEST_F(EvalTest, HashIsConsistentWithNumericEquality) {
    EXPECT_EQ(hash_value(I(1)), hash_value(F(1.0))) << "1 and 1.0";
    EXPECT_EQ(hash_value(F(-0.0)), hash_value(I(0))) << "-0.0 and 0";
    EXPECT_EQ(hash_value(F(kNaN)), hash_value(F(-kNaN))) << "every NaN";
    EXPECT_EQ(hash_value(arr({I(1), F(2.0)})), hash_value(arr({F(1.0), I(2)}))) << "arrays";
    EXPECT_EQ(hash_value(map({{"a", I(1)}, {"b", I(2)}})), hash_value(map({{"b", I(2)}, {"a", F(1.0)}})))
        << "maps, whatever the key order";
    EXPECT_EQ(hash_value(str("ab")), hash_value(Value::string(interner.intern("ab")))) << "strings by bytes";
    EXPECT_NE(hash_value(I(1)), hash_value(I(2))) << "different ints";
    EXPECT_NE(hash_value(I(1)), hash_value(str("1"))) << "int vs string";
    EXPECT_NE(hash_value(F(1.5)), hash_value(F(2.5))) << "different floats";
    EXPECT_TRUE(values_equal(map({{"a", I(1)}, {"b", I(2)}}), map({{"b", I(2)}, {"a", F(1.0)}})))
        << "maps equal whatever the key order";
    EXPECT_FALSE(values_equal(Value(), Value())) << "absent equals nothing";
}

TEST_F(EvalTest, PartitionKeysShareNumbersAndTheirText) {
    auto key = [](const Value& v) {
        std::string s;
        append_partition_key(s, v);
        return s;
    };
    EXPECT_EQ(key(I(1)), "1") << "int";
    EXPECT_EQ(key(F(1.0)), "1") << "integral float written like an int";
    EXPECT_EQ(key(str("1")), "1") << "string as-is";
    EXPECT_EQ(key(F(-0.0)), "0") << "-0.0";
    EXPECT_EQ(key(F(1.5)), "1.5") << "float display form";
    EXPECT_EQ(key(B(true)), "true") << "bool";
    EXPECT_EQ(key(Value::null()), "null") << "null";
    EXPECT_EQ(key(Value()), "") << "absent appends nothing";
    EXPECT_EQ(key(arr({str("a")})), "[\"a\"]") << "array display form";
}

TEST_F(EvalTest, CompareNumbersIsExact) {
    EXPECT_EQ(compare_numbers(I(1), F(1.0)), 0) << "1 vs 1.0";
    EXPECT_EQ(compare_numbers(I(1), F(1.5)), -1) << "1 vs 1.5";
    EXPECT_EQ(compare_numbers(F(-1.5), I(-2)), 1) << "-1.5 vs -2";
    EXPECT_EQ(compare_numbers(I(kMin), F(-9223372036854775808.0)), 0) << "INT64_MIN vs -2^63";
    EXPECT_EQ(compare_numbers(I(kMax), F(1e300)), -1) << "INT64_MAX vs 1e300";
    EXPECT_EQ(compare_numbers(F(kNaN), I(1)), kUnordered) << "NaN";
    EXPECT_EQ(compare_numbers(str("1"), I(1)), kUnordered) << "a string is not a number";
    EXPECT_LT(sort_compare(Value::null(), I(0)), 0) << "null sorts first";
    EXPECT_GT(sort_compare(F(kNaN), F(1e300)), 0) << "NaN sorts after numbers";
    EXPECT_LT(sort_compare(I(5), str("a")), 0) << "numbers before strings";
}

}  // namespace

// ---------------------------------------------------------------- from VPL source

namespace {

class EvalSourceTest : public ::testing::Test {
protected:
    /// Compiles `src`, runs its global initialisers and returns false on compile errors.
    bool load(const std::string& src) {
        comp = ir::compile_source("test.vpl", src, ir::CompileStage::Lower);
        if (!comp || !comp->ok() || !comp->plan) {
            if (comp) errors = varpulis::frontend::render_all(comp->file, comp->diags);
            return false;
        }
        rt.plan = &*comp->plan;
        rt.heap = &heap;
        rt.interner = &interner;
        run_global_inits(rt);
        ctx.rt = &rt;
        return true;
    }
    std::string call(const std::string& name, std::vector<Value> args) {
        const auto& fns = rt.plan->functions;
        for (size_t i = 0; i < fns.size(); ++i)
            if (fns[i].name == name)
                return describe(call_function(static_cast<int32_t>(i), args.data(), args.size(), ctx));
        return "no such function";
    }

    std::unique_ptr<ir::Compilation> comp;
    std::string errors;
    Arena heap;
    Interner interner;
    Runtime rt;
    EvalContext ctx;
};

TEST_F(EvalSourceTest, ProcessFunctionEmitsEvents) {
    ASSERT_TRUE(load("fn evens(limit: int):\n"
                     "    var i = 0\n"
                     "    while true:\n"
                     "        if i >= limit:\n"
                     "            break\n"
                     "        if i % 2 == 0:\n"
                     "            emit Even(v: i)\n"
                     "        i := i + 1\n"
                     "\n"
                     "stream Evens = Go\n"
                     "    .process(evens(limit))\n"))
        << "compiles: " << errors;
    std::vector<EmittedEvent> out;
    ctx.emitted = &out;
    EXPECT_EQ(call("evens", {Value::integer(7)}), "absent") << "ends with a loop: no value";
    ASSERT_EQ(out.size(), 4u) << "0, 2, 4, 6";
    EXPECT_EQ(describe(out[3].fields[0].value), "int 6") << "last emitted value";
}

TEST_F(EvalSourceTest, FunctionsSeeGlobalsAndUseLambdas) {
    ASSERT_TRUE(load("let limit = 2\n"
                     "var calls = 0\n"
                     "fn big(xs: [int]) -> int:\n"
                     "    calls := calls + 1\n"
                     "    return xs.filter(x => x > limit).len()\n"
                     "fn fib(n: int) -> int:\n"
                     "    if n < 2:\n"
                     "        return n\n"
                     "    return fib(n - 1) + fib(n - 2)\n"
                     "fn label(x: float) -> str:\n"
                     "    if x > 0:\n"
                     "        \"pos\"\n"
                     "    else:\n"
                     "        \"neg\"\n"
                     "stream S = E\n"
                     "    .where(big([1]) > 0)\n"))
        << "compiles: " << errors;
    Arena& h = heap;
    ArrayObj* xs = h.make_array(4);
    for (uint32_t i = 0; i < 4; ++i) xs->items[i] = Value::integer(i + 1);
    EXPECT_EQ(call("big", {Value::array(xs)}), "int 2") << "3 and 4 exceed the global limit";
    EXPECT_EQ(call("fib", {Value::integer(15)}), "int 610") << "recursion";
    EXPECT_EQ(call("label", {Value::floating(-1.0)}), "string \"neg\"") << "last expression value";
    int32_t calls = -1;
    for (size_t i = 0; i < rt.plan->globals.size(); ++i)
        if (rt.plan->globals[i].name == "calls") calls = static_cast<int32_t>(i);
    ASSERT_GE(calls, 0) << "global `calls` exists";
    EXPECT_EQ(describe(rt.globals[calls]), "int 1") << "`:=` on a global from a function";
}

}  // namespace
