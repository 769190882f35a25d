#include "frontend/builtins.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace varpulis::frontend {

namespace {

constexpr uint8_t kAny = 255;

const std::vector<BuiltinInfo>& table() {
    static const std::vector<BuiltinInfo> t = {
        {"abs", Builtin::Abs, 1, 1},           {"sqrt", Builtin::Sqrt, 1, 1},
        {"log", Builtin::Log, 1, 1},           {"log10", Builtin::Log10, 1, 1},
        {"exp", Builtin::Exp, 1, 1},           {"sin", Builtin::Sin, 1, 1},
        {"cos", Builtin::Cos, 1, 1},           {"tan", Builtin::Tan, 1, 1},
        {"floor", Builtin::Floor, 1, 1},       {"ceil", Builtin::Ceil, 1, 1},
        {"round", Builtin::Round, 1, 1},       {"pow", Builtin::Pow, 2, 2},
        {"min", Builtin::Min, 2, 2},           {"max", Builtin::Max, 2, 2},
        {"clamp", Builtin::Clamp, 3, 3},       {"len", Builtin::Len, 1, 1},
        {"first", Builtin::First, 1, 1},       {"last", Builtin::Last, 1, 1},
        {"push", Builtin::Push, 2, 2},         {"pop", Builtin::Pop, 1, 1},
        {"reverse", Builtin::Reverse, 1, 1},   {"sort", Builtin::Sort, 1, 1},
        {"contains", Builtin::Contains, 2, 2}, {"keys", Builtin::Keys, 1, 1},
        {"values", Builtin::Values, 1, 1},     {"get", Builtin::Get, 2, 2},
        {"set", Builtin::Set, 3, 3},           {"range", Builtin::Range, 1, 2},
        {"sum", Builtin::Sum, 1, 1},           {"avg", Builtin::Avg, 1, 1},
        {"to_string", Builtin::ToString, 1, 1}, {"to_int", Builtin::ToInt, 1, 1},
        {"to_float", Builtin::ToFloat, 1, 1},  {"trim", Builtin::Trim, 1, 1},
        {"lower", Builtin::Lower, 1, 1},       {"lowercase", Builtin::Lower, 1, 1},
        {"to_lower", Builtin::Lower, 1, 1},    {"upper", Builtin::Upper, 1, 1},
        {"uppercase", Builtin::Upper, 1, 1},   {"to_upper", Builtin::Upper, 1, 1},
        {"concat", Builtin::Concat, 0, kAny},  {"split", Builtin::Split, 2, 2},
        {"join", Builtin::Join, 2, 2},         {"replace", Builtin::Replace, 3, 3},
        {"starts_with", Builtin::StartsWith, 2, 2}, {"ends_with", Builtin::EndsWith, 2, 2},
        {"substring", Builtin::Substring, 2, 3}, {"type_of", Builtin::TypeOf, 1, 1},
        {"is_null", Builtin::IsNull, 1, 1},    {"is_int", Builtin::IsInt, 1, 1},
        {"is_float", Builtin::IsFloat, 1, 1},  {"is_string", Builtin::IsString, 1, 1},
        {"is_bool", Builtin::IsBool, 1, 1},    {"is_array", Builtin::IsArray, 1, 1},
        {"is_map", Builtin::IsMap, 1, 1},      {"coalesce", Builtin::Coalesce, 1, kAny},
        {"now", Builtin::Now, 0, 0},           {"uuid", Builtin::Uuid, 0, 0},
    };
    return t;
}

struct AggName {
    std::string_view name;
    AggregateFn fn;
};
constexpr std::array<AggName, 10> kAggregates = {{
    {"count", AggregateFn::Count}, {"sum", AggregateFn::Sum}, {"avg", AggregateFn::Avg},
    {"min", AggregateFn::Min}, {"max", AggregateFn::Max}, {"stddev", AggregateFn::Stddev},
    {"first", AggregateFn::First}, {"last", AggregateFn::Last},
    {"count_distinct", AggregateFn::CountDistinct}, {"ema", AggregateFn::Ema},
}};

struct TrendName {
    std::string_view name;
    TrendFn fn;
};
constexpr std::array<TrendName, 6> kTrends = {{
    {"count_trends", TrendFn::CountTrends}, {"count_events", TrendFn::CountEvents},
    {"sum_trends", TrendFn::SumTrends}, {"avg_trends", TrendFn::AvgTrends},
    {"min_trends", TrendFn::MinTrends}, {"max_trends", TrendFn::MaxTrends},
}};

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace

std::optional<BuiltinInfo> find_builtin(std::string_view name) {
    for (const auto& b : table())
        if (b.name == name) return b;
    return std::nullopt;
}

const std::vector<BuiltinInfo>& all_builtins() { return table(); }

std::string_view builtin_name(Builtin id) {
    for (const auto& b : table())
        if (b.id == id) return b.name;
    return "?";
}

std::optional<AggregateFn> find_aggregate(std::string_view name) {
    for (const auto& a : kAggregates)
        if (a.name == name) return a.fn;
    return std::nullopt;
}

std::string_view aggregate_name(AggregateFn fn) {
    for (const auto& a : kAggregates)
        if (a.fn == fn) return a.name;
    return "?";
}

const std::vector<std::string_view>& aggregate_names() {
    static const std::vector<std::string_view> names = [] {
        std::vector<std::string_view> v;
        for (const auto& a : kAggregates) v.push_back(a.name);
        return v;
    }();
    return names;
}

TrendFn find_trend_fn(std::string_view name, bool* known) {
    for (const auto& t : kTrends)
        if (t.name == name) {
            if (known) *known = true;
            return t.fn;
        }
    if (known) *known = false;
    return TrendFn::CountTrends;
}

std::string_view trend_fn_name(TrendFn fn) {
    for (const auto& t : kTrends)
        if (t.fn == fn) return t.name;
    return "?";
}

std::string_view closest_name(std::string_view word, const std::vector<std::string_view>& candidates) {
    std::string_view best;
    size_t best_d = std::max<size_t>(1, word.size() / 3) + 1;
    for (auto c : candidates) {
        size_t d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    return best;
}

}  // namespace varpulis::frontend
