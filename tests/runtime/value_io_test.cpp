#include "runtime/value_io.hpp"

#include "runtime/arena.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <random>
#include <limits>
#include <string>
#include <vector>

using namespace varpulis::runtime;

namespace {

struct Fixture {
    Arena arena;
    Value str(std::string_view s) { return Value::string(arena.make_string(s)); }
    Value arr(std::initializer_list<Value> items) {
        ArrayObj* a = arena.make_array(static_cast<uint32_t>(items.size()));
        uint32_t i = 0;
        for (const Value& v : items) a->items[i++] = v;
        return Value::array(a);
    }
    Value map(std::initializer_list<std::pair<std::string_view, Value>> items) {
        MapObj* m = arena.make_map(static_cast<uint32_t>(items.size()));
        uint32_t i = 0;
        for (const auto& [k, v] : items) {
            m->keys[i] = arena.make_string(k);
            m->values[i++] = v;
        }
        return Value::map(m);
    }
};

std::string json_float(double d) {
    std::string s;
    append_json_float(s, d);
    return s;
}

std::string json_str(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

}  // namespace

TEST(ValueIoTest, JsonScalars) {
    EXPECT_EQ(to_json(Value::null()), "null") << "null";
    EXPECT_EQ(to_json(Value::absent()), "null") << "absent written as null";
    EXPECT_EQ(to_json(Value::boolean(true)), "true") << "true";
    EXPECT_EQ(to_json(Value::boolean(false)), "false") << "false";
    EXPECT_EQ(to_json(Value::integer(-42)), "-42") << "int";
    EXPECT_EQ(to_json(Value::integer(INT64_MIN)), "-9223372036854775808") << "i64 min";
    EXPECT_EQ(to_json(Value::timestamp(1500000000)), "1500000000") << "timestamp as ns";
    EXPECT_EQ(to_json(Value::duration(18446744073709551615ull)), "18446744073709551615") << "duration as u64 ns";
}

TEST(ValueIoTest, JsonFloatsAlwaysLookLikeFloats) {
    EXPECT_EQ(json_float(6.0), "6.0") << "integral float gets .0";
    EXPECT_EQ(json_float(0.1), "0.1") << "shortest round trip";
    EXPECT_EQ(json_float(1e20), "1e+20") << "exponent form";
    EXPECT_EQ(json_float(250.0), "250.0") << "notional example";
    EXPECT_EQ(json_float(-2.5), "-2.5") << "negative";
    EXPECT_EQ(json_float(1.0 / 3.0), "0.3333333333333333") << "17 digits max";
    EXPECT_EQ(json_float(5e-324), "5e-324") << "denormal";
    EXPECT_EQ(json_float(-0.0), "-0.0") << "negative zero";
    EXPECT_EQ(json_float(123456789012.0), "123456789012.0") << "large integral";
    EXPECT_EQ(json_float(std::numeric_limits<double>::infinity()), "null") << "inf";
    EXPECT_EQ(json_float(-std::numeric_limits<double>::infinity()), "null") << "-inf";
    EXPECT_EQ(json_float(std::nan("")), "null") << "nan";
    for (double d : {0.1, 1e-7, 123.456, 1e300, 2.2250738585072014e-308, 9007199254740993.0}) {
        std::string s = json_float(d);
        EXPECT_EQ(std::stod(s), d) << s << " round-trips";
    }
}

TEST(ValueIoTest, JsonStringEscaping) {
    EXPECT_EQ(json_str("plain"), "\"plain\"") << "plain";
    EXPECT_EQ(json_str("a\"b\\c"), R"("a\"b\\c")") << "quote and backslash";
    EXPECT_EQ(json_str("\n\r\t\b\f"), R"("\n\r\t\b\f")") << "short escapes";
    EXPECT_EQ(json_str(std::string("\x01\x1f\x00", 3)), R"("\u0001\u001f\u0000")") << "other controls";
    EXPECT_EQ(json_str("\x7f/"), "\"\x7f/\"") << "DEL and slash unescaped";
    EXPECT_EQ(json_str("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"")
        << "valid UTF-8 kept";
    EXPECT_EQ(json_str("a\xFFz"), "\"a\xEF\xBF\xBDz\"") << "invalid byte replaced";
    EXPECT_EQ(json_str("\xC3"), "\"\xEF\xBF\xBD\"") << "truncated sequence replaced";
    EXPECT_EQ(json_str("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"") << "overlong form replaced";
    EXPECT_EQ(json_str("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"") << "surrogate replaced";
}

TEST(ValueIoTest, JsonContainers) {
    Fixture f;
    Value v = f.map({{"b", Value::integer(1)},
                     {"a", f.arr({Value::floating(2.0), f.str("x"), Value::null()})},
                     {"m", f.map({})}});
    EXPECT_EQ(to_json(v), R"({"b": 1, "a": [2.0, "x", null], "m": {}})") << "insertion order, nested";
    EXPECT_EQ(to_json(f.arr({})), "[]") << "empty array";
}

TEST(ValueIoTest, DisplayForm) {
    Fixture f;
    EXPECT_EQ(to_display(Value::floating(2.0)), "2") << "2.0 displays as 2";
    EXPECT_EQ(to_display(Value::floating(1.5)), "1.5") << "1.5";
    EXPECT_EQ(to_display(Value::floating(1e20)), "100000000000000000000") << "no exponent";
    EXPECT_EQ(to_display(Value::floating(1e-7)), "0.0000001") << "no exponent for small";
    EXPECT_EQ(to_display(Value::floating(0.1 + 0.2)), "0.30000000000000004") << "shortest round trip";
    EXPECT_EQ(to_display(Value::floating(std::nan(""))), "NaN") << "nan";
    EXPECT_EQ(to_display(Value::floating(-std::numeric_limits<double>::infinity())), "-inf") << "-inf";
    EXPECT_EQ(to_display(Value::integer(7)), "7") << "int";
    EXPECT_EQ(to_display(Value::null()), "null") << "null";
    EXPECT_EQ(to_display(Value::boolean(true)), "true") << "bool";
    EXPECT_EQ(to_display(f.str("x")), "\"x\"") << "print form quotes strings";
    EXPECT_EQ(to_display(f.arr({f.str("a"), Value::integer(1)})), "[\"a\", 1]") << "array";
    EXPECT_EQ(to_display(f.map({{"k", f.str("v")}, {"n", Value::floating(2.5)}})), "{k: \"v\", n: 2.5}") << "map";
    EXPECT_EQ(to_display(Value::timestamp(0)), "@1970-01-01T00:00:00Z") << "epoch";
    EXPECT_EQ(to_display(Value::timestamp(1704067199000000000)), "@2023-12-31T23:59:59Z") << "timestamp";
    EXPECT_EQ(to_display(Value::timestamp(-1)), "@1969-12-31T23:59:59Z") << "before epoch floors";
    EXPECT_EQ(to_display(Value::duration(5000000000)), "5s") << "seconds";
    EXPECT_EQ(to_display(Value::duration(150000000000)), "2m") << "minutes truncated";
    EXPECT_EQ(to_display(Value::duration(7200000000000)), "2h") << "hours";
    EXPECT_EQ(to_display(Value::duration(172800000000000)), "2d") << "days";
    EXPECT_EQ(to_display(Value::duration(250000000)), "250ms") << "milliseconds";
    EXPECT_EQ(to_display(Value::duration(7000)), "7us") << "microseconds";
}

TEST(ValueIoTest, ToStringLeavesStringsUnquoted) {
    Fixture f;
    EXPECT_EQ(to_string(f.str("ok")), "ok") << "to_string(\"ok\") is ok";
    EXPECT_EQ(to_string(Value::integer(7)), "7") << "to_string(7)";
    EXPECT_EQ(to_string(Value::floating(2.0)), "2") << "to_string(2.0)";
    EXPECT_EQ(to_string(Value::boolean(false)), "false") << "bool";
    EXPECT_EQ(to_string(f.arr({f.str("a")})), "[\"a\"]") << "nested strings keep display quotes";
}

TEST(ValueIoTest, OutputLine) {
    Fixture f;
    Interner in;
    Field fields[] = {{in.intern("sym"), f.str("ACME")},
                      {in.intern("gone"), Value::absent()},
                      {in.intern("notional"), Value::floating(250.0)}};
    std::string out;
    append_output_line(out, "Big", "Big", 1000, fields, 3);
    EXPECT_EQ(out,
              "{\"stream\": \"Big\", \"event_type\": \"Big\", \"timestamp\": 1000, \"fields\": {\"sym\": \"ACME\", "
              "\"notional\": 250.0}}\n")
        << "FORMATS §4 example; absent fields omitted";
    const StrObj* names[] = {in.intern("a\"b")};
    Value values[] = {Value::integer(1)};
    out.clear();
    append_output_line(out, "S", "T\n", -5, names, values, 1);
    EXPECT_EQ(out, "{\"stream\": \"S\", \"event_type\": \"T\\n\", \"timestamp\": -5, \"fields\": {\"a\\\"b\": 1}}\n")
        << "names and types escaped";
    out.clear();
    append_output_line(out, "E", "E", 0, fields, 0);
    EXPECT_EQ(out, "{\"stream\": \"E\", \"event_type\": \"E\", \"timestamp\": 0, \"fields\": {}}\n") << "no fields";
}

TEST(ValueIoTest, ArenaStringsCarryFnvHash) {
    Arena a;
    const StrObj* s = a.make_string("hello");
    EXPECT_EQ(s->view(), "hello") << "bytes";
    EXPECT_EQ(s->hash, 0x4f9f2cabu) << "FNV-1a 32 of hello";
    const StrObj* e = a.make_string("");
    EXPECT_EQ(e->size, 0u) << "empty string";
    EXPECT_EQ(e->hash, 2166136261u) << "FNV offset basis";
}

TEST(ValueIoTest, ArenaLargeObjectsAndReset) {
    Arena a(4096);
    void* small = a.allocate(16);
    void* big = a.allocate(100000, 8);
    ASSERT_NE(small, nullptr) << "small allocation";
    ASSERT_NE(big, nullptr) << "large allocation";
    std::memset(big, 1, 100000);
    for (int i = 0; i < 1000; ++i) a.allocate(100, 8);
    EXPECT_GE(a.bytes_used(), 200000u) << "usage counted";
    a.reset();
    EXPECT_EQ(a.bytes_used(), 0u) << "reset forgets everything";
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.allocate(8, 16)) % 16, 0u) << "alignment";
}

TEST(ValueIoTest, InternerGivesCanonicalPointers) {
    Interner in;
    std::vector<const StrObj*> first;
    for (int i = 0; i < 5000; ++i) first.push_back(in.intern("name" + std::to_string(i)));
    EXPECT_EQ(in.size(), 5000u) << "all distinct";
    for (int i = 0; i < 5000; ++i)
        ASSERT_EQ(in.intern("name" + std::to_string(i)), first[i]) << "same pointer after growth for " << i;
    EXPECT_EQ(in.find("name42"), first[42]) << "find";
    EXPECT_EQ(in.find("absent"), nullptr) << "find of unknown";
    EXPECT_EQ(in.intern(""), in.intern("")) << "empty string interned";
}

TEST(ValueIoTest, IntegersPrintAsToStringDoes) {
    // Every digit count, both signs, the extremes and a spread of values.
    std::vector<int64_t> vs = {0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65536, 1999999, 123456789012345LL,
                               std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
                               std::numeric_limits<int64_t>::min() + 1};
    for (uint64_t x = 7; x < (1ULL << 62); x = x * 13 + 5) vs.push_back(static_cast<int64_t>(x));
    for (int64_t v : vs) {
        for (int64_t s : {v, v == std::numeric_limits<int64_t>::min() ? v : -v}) {
            std::string out = "x";
            append_int(out, s);
            EXPECT_EQ(out, "x" + std::to_string(s));
            if (s >= 0) {
                std::string u;
                append_uint(u, static_cast<uint64_t>(s) * 2);
                EXPECT_EQ(u, std::to_string(static_cast<uint64_t>(s) * 2));
            }
        }
    }
}

TEST(ValueIoTest, FloatsPrintAsToCharsDoes) {
    // append_json_float's short path against std::to_chars (plus ".0" for an integral form):
    // values with a few decimals (the short path), their neighbours, integers with trailing
    // zeros (scientific wins), tiny and huge values, both signs.
    auto expected = [](double v) {
        char buf[64];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        std::string s(buf, r.ptr);
        if (s.find_first_of(".e") == std::string::npos) s += ".0";
        return s;
    };
    std::mt19937_64 rng(7);
    std::vector<double> vs = {0.0, -0.0, 0.001, 0.0001, 0.05, 0.1, 0.3, 0.1 + 0.2, 1.0, 60.0, 123.0, 1200.0, 1e6,
                              1234567.0, 1e15, 1e15 - 1, 4503599627370495.5, 52.54, 129.16, 999999.999999, 1e-3,
                              123456.123456, 2.5e-7, 1e300};
    for (int i = 0; i < 200000; ++i) {
        const int k = static_cast<int>(rng() % 8);
        const double m = static_cast<double>(rng() % 100000000);
        double v = m / std::pow(10.0, k);
        if (i % 3 == 0) v = std::nextafter(v, 1e300);
        if (i % 7 == 0) v = static_cast<double>(rng() % 1000000) * std::pow(10.0, static_cast<int>(rng() % 12));
        if (i % 11 == 0) v = std::ldexp(static_cast<double>(rng() >> 11), -static_cast<int>(rng() % 80));
        vs.push_back(i % 2 ? -v : v);
    }
    for (double v : vs) {
        std::string got;
        append_json_float(got, v);
        ASSERT_EQ(got, expected(v)) << "value " << v;
    }
}
