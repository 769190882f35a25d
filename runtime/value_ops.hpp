#pragma once
// Value operations shared by the expression evaluator (runtime/eval.cpp), the stateful
// operators (partition keys, count_distinct, distinct) and generated code: equality and
// ordering with int/float treated as numbers (SEMANTICS §4.2), hashing consistent with that
// equality, partition keys (§6.5, §9.11), and the operator and builtin kernels of §4.2 and
// VPL.md §9c. None of them throws; "no value" is Value::absent().

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "frontend/ast.hpp"
#include "frontend/builtins.hpp"
#include "runtime/arena.hpp"
#include "runtime/value.hpp"

namespace varpulis::ir {
struct Expr;
}

namespace varpulis::runtime {

struct EvalContext;

// ---------------------------------------------------------------- equality, order, hashing

/// Numeric equality (SEMANTICS §4.2): an int and a float are equal when they denote the same
/// number (exactly: 2^53 + 1 is not equal to 2^53 as a float), NaN equals NaN, -0.0 equals
/// 0.0, null equals null, arrays element-wise, maps by key set and values whatever the key
/// order; other kinds never equal each other. Absent is equal to nothing (not even Absent).
bool values_equal(const Value& a, const Value& b);

/// Result of compare_numbers when the operands have no order (a NaN, or a non-number).
inline constexpr int kUnordered = 2;

/// Exact three-way comparison of two numbers (int and float mixed allowed, no rounding of
/// large ints): -1, 0 or 1; kUnordered if either is NaN or not a number.
int compare_numbers(const Value& a, const Value& b);

/// compare_numbers for an int and a float: -1, 0 or 1 as `i` is below, equal to (exactly) or
/// above `f`; kUnordered when `f` is NaN.
int compare_int_float(int64_t i, double f);

/// Ordering for `< <= > >=`: numbers as compare_numbers, strings by bytes, timestamps with
/// timestamps, durations with durations. Returns false (no value) for any other pair; `out`
/// is -1, 0, 1 or kUnordered (NaN: every comparison is false).
bool order_values(const Value& a, const Value& b, int& out);

/// A total order over all values for sort(): null < bool < numbers < strings < timestamps <
/// durations < arrays < maps; numbers by value with NaN last; arrays lexicographically.
int sort_compare(const Value& a, const Value& b);

/// Hash consistent with values_equal: values_equal(a, b) implies hash_value(a) ==
/// hash_value(b) (so 1 and 1.0 hash alike, and maps hash independently of key order).
uint64_t hash_value(const Value& v);

/// Appends the partition key of `v` (SEMANTICS §6.5, §9.11): strings as-is, ints decimal,
/// bools `true`/`false`, floats in display form with integral floats written like ints
/// (`1.0` -> `1`, `-0.0` -> `0`, so `1`, `1.0` and `"1"` share a partition), anything else in
/// display form. Appends nothing for Absent: callers choose the missing-field key (`""` in the
/// matcher, `"default"` for windows).
void append_partition_key(std::string& out, const Value& v);

/// `type_of` names (VPL.md §9c): "int" "float" "string" "bool" "array" "map" "null"
/// "duration" "timestamp"; "absent" for Absent.
const char* type_name(ValueKind k);

/// Rust's saturating `f64 as i64`: truncates toward zero, NaN -> 0, out of range -> the
/// nearest bound. Used wherever a float becomes an int (floor, round, `**`, to_int).
int64_t saturating_f64_to_i64(double d);

// ---------------------------------------------------------------- strings

/// A string value with a copy of `s` in `heap`.
Value make_string_value(Arena& heap, std::string_view s);

/// Number of UTF-8 characters (bytes that do not continue a sequence).
size_t utf8_char_count(std::string_view s);

/// Byte offset of character `index` (clamped to s.size()).
size_t utf8_byte_offset(std::string_view s, size_t index);

// ---------------------------------------------------------------- operator kernels

/// `a op b` for every binary operator except `and`/`or` (see logical_and/logical_or):
/// arithmetic (int wraps, int/int truncates, /0 and %0 -> absent, `**` int**int through a
/// float power, truncated), `str + str`, timestamp ± duration, comparisons, `in`/`not in`.
/// Strings made here (concatenation) are allocated in `heap`.
Value binary_op(frontend::BinaryOp op, const Value& a, const Value& b, Arena& heap);

/// `-x` (int wraps, float), `not x` (bool only, else absent = unknown), `~x` (absent).
Value unary_op(frontend::UnaryOp op, const Value& a);

/// Three-valued `and` / `or` (SEMANTICS §4.2): absent and non-bool operands are unknown;
/// `false and X` is false, `true or X` is true, other mixes with unknown are absent.
Value logical_and(const Value& a, const Value& b);
Value logical_or(const Value& a, const Value& b);

/// `needle in haystack`: array element (values_equal), map key, substring. Absent when
/// either side is absent or the haystack is not a container (or a string needle is missing).
Value membership(const Value& needle, const Value& haystack);

/// `x[i]`: array by int (negative counts from the end), map by string key, string by
/// character index (a one-character string). Out of range or wrong kinds -> absent.
Value index_value(const Value& base, const Value& index, Arena& heap);

/// `x[lo:hi]` over arrays and strings (characters), Python-style: negative bounds count from
/// the end, bounds are clamped, lo >= hi gives an empty result. A Null bound means "open";
/// an Absent or non-int bound makes the result absent.
Value slice_value(const Value& base, const Value& lo, const Value& hi, Arena& heap);

/// Largest array a range (`a..b`, range()) may build; beyond it the range has no value, so a
/// typo like `0..10000000000` cannot exhaust memory.
inline constexpr int64_t kMaxRangeLength = int64_t{1} << 24;

/// `a..b` (exclusive) or `a..=b` (inclusive): array of ints; empty when b is below a.
Value make_range(const Value& a, const Value& b, bool inclusive, Arena& heap);

// ---------------------------------------------------------------- evaluator entry points

/// Calls scalar builtin `fn` (VPL.md §9c). Absent arguments are dropped first; a wrong
/// number of remaining arguments or a wrong kind gives absent. Results that need memory are
/// allocated in ctx.rt->heap; now() reads ctx.now_ms, uuid() advances ctx.rt->uuid_state.
Value call_builtin(frontend::Builtin fn, const Value* args, size_t argc, EvalContext& ctx);

/// Calls a Lambda expression (ir::ExprOp::Lambda) with `argc` arguments bound to its
/// parameters (missing ones absent). Uses ctx.locals when set (function bodies size it to
/// cover their lambdas), otherwise a temporary frame. Used by the array methods and by the
/// `.pattern(name: events => ...)` operator.
Value call_lambda(const ir::Expr& lambda, const Value* args, size_t argc, EvalContext& ctx);

}  // namespace varpulis::runtime
