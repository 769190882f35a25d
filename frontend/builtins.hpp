#pragma once
// The catalogue of scalar builtins (VPL.md §9c), aggregates (§9) and trend aggregates (§9b).
// One table serves the checker (names, arities) and the IR (ids), so they cannot drift apart.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace varpulis::frontend {

enum class Builtin : uint16_t {
    Abs, Sqrt, Log, Log10, Exp, Sin, Cos, Tan, Floor, Ceil, Round, Pow, Min, Max, Clamp,
    Len, First, Last, Push, Pop, Reverse, Sort, Contains, Keys, Values, Get, Set, Range,
    Sum, Avg, ToString, ToInt, ToFloat, Trim, Lower, Upper, Concat, Split, Join, Replace,
    StartsWith, EndsWith, Substring, TypeOf, IsNull, IsInt, IsFloat, IsString, IsBool,
    IsArray, IsMap, Coalesce, Now, Uuid,
};

struct BuiltinInfo {
    std::string_view name;
    Builtin id;
    uint8_t min_args;
    uint8_t max_args;  // 255 = any number
};

/// Looks up a scalar builtin by name (aliases such as `lowercase` map to the same id).
std::optional<BuiltinInfo> find_builtin(std::string_view name);
/// Every scalar builtin name, for "did you mean" hints.
const std::vector<BuiltinInfo>& all_builtins();
std::string_view builtin_name(Builtin id);

enum class AggregateFn : uint8_t { Count, Sum, Avg, Min, Max, Stddev, First, Last, CountDistinct, Ema };

std::optional<AggregateFn> find_aggregate(std::string_view name);
std::string_view aggregate_name(AggregateFn fn);
/// Names accepted inside `.aggregate`, for hints.
const std::vector<std::string_view>& aggregate_names();

enum class TrendFn : uint8_t { CountTrends, CountEvents, SumTrends, AvgTrends, MinTrends, MaxTrends };

/// Unknown names mean count_trends (VPL.md §9b), so this never fails; `known` tells which.
TrendFn find_trend_fn(std::string_view name, bool* known = nullptr);
std::string_view trend_fn_name(TrendFn fn);

/// Levenshtein-based suggestion: the closest candidate within a small edit distance, or empty.
std::string_view closest_name(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace varpulis::frontend
