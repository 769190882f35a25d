// The reader's learnt-layout path (a line that repeats an earlier line's literal text is parsed
// by comparing literals) must give exactly what the general parser gives, and shared short
// strings and per-batch field arenas must not change any value.

#include "runtime/event_reader.hpp"

#include "runtime/value_io.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

using namespace varpulis::runtime;

namespace {

/// Type, time, and every field with its kind and JSON value: enough to tell any difference.
std::string describe(const InputEvent& e) {
    std::string s(e.type->view());
    s += '@';
    append_int(s, e.timestamp_ms);
    for (uint32_t k = 0; k < e.field_count; ++k) {
        s += ' ';
        s += e.fields[k].name->view();
        s += '=';
        s += std::to_string(static_cast<int>(e.fields[k].value.kind));
        s += ':';
        append_json(s, e.fields[k].value);
    }
    return s;
}

/// Every line read alone, by a fresh reader (general parser only), described; "error: ..."
/// for a line that does not parse.
std::string read_alone(const std::string& line) {
    Interner interner;
    Arena arena;
    EventReader reader(interner, arena);
    std::vector<InputEvent> out;
    ReadError err;
    if (!reader.read_text(line, EventFormat::Evt, out, err)) return "error: " + err.message;
    std::string s;
    for (const auto& e : out) s += describe(e) + "\n";
    return s;
}

const char* const kValues[] = {
    "1", "-7", "0", "+5", "007", "123456789012345678", "1234567890123456789", "99999999999999999999",
    "1.5", "-0.25", ".5", "-.5", "5.", "1e3", "1E-2", "-2.5e+3", "1e", "1.2.3", "--1", "-", "+",
    "inf", "-Infinity", "nan", "true", "false", "null", "nil", "word", "two words",
    "\"s\"", "\"\"", "\"a, b\"", "\"x}\"", "\"{y\"", "\"q: r\"", "\"esc\\\"aped\"", "\"tab\\tx\"",
    "'single'", "[1, 2]", "[]", "\"unterminated", "1 ,", "\"s\" x",
};

std::string random_value(std::mt19937& rng) {
    return kValues[std::uniform_int_distribution<size_t>(0, std::size(kValues) - 1)(rng)];
}

/// A line of `type` with the given names: the template line and a same-layout line differ
/// only in their values.
std::string line(const std::string& prefix, const std::string& type, const std::vector<std::string>& names,
                 const std::vector<std::string>& values, const std::string& close) {
    std::string s = prefix + type + " { ";
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) s += ", ";
        s += names[i] + ": " + values[i];
    }
    return s + close;
}

/// A reader with its interner and arena, reading whole texts.
struct TextReader {
    Interner interner;
    Arena arena;
    EventReader reader{interner, arena};
    std::vector<InputEvent> out;
    ReadError err;

    bool read(const std::string& text) {
        out.clear();
        return reader.read_text(text, EventFormat::Evt, out, err);
    }
};

}  // namespace

TEST(EventReaderLayoutTest, SameResultsAsTheGeneralParserOnRandomLines) {
    std::mt19937 rng(12345);
    const std::vector<std::string> types = {"A", "B", "Tick"};
    const std::vector<std::string> prefixes = {"@10 ", "@0 ", "", "@7s ", "@123456789 "};
    const std::vector<std::string> closes = {" }", "}", " };", " ", ""};
    for (int iter = 0; iter < 3000; ++iter) {
        const std::string& type = types[rng() % types.size()];
        std::vector<std::string> names = {"k", "v", "ts"};
        if (rng() % 4 == 0) names.push_back(rng() % 2 ? "k" : "extra");  // repeated or extra name
        names.resize(1 + rng() % names.size());
        std::vector<std::string> tv, v;
        for (size_t i = 0; i < names.size(); ++i) {
            tv.push_back(rng() % 2 ? std::to_string(rng() % 100) : "\"t" + std::to_string(i) + "\"");
            v.push_back(random_value(rng));
        }
        const std::string close = closes[rng() % closes.size()];
        // The template line teaches the layout; the test line may also change its literals.
        const std::string first = line(prefixes[rng() % prefixes.size()], type, names, tv, close);
        std::vector<std::string> names2 = names;
        if (rng() % 8 == 0) names2.back() += "x";
        const std::string second = line(prefixes[rng() % prefixes.size()], type, names2, v, rng() % 8 ? close : " }");
        const std::string expected = read_alone(first) + read_alone(second);
        if (expected.find("error:") != std::string::npos) continue;
        TextReader r;
        ASSERT_TRUE(r.read(first + "\n" + second + "\n" + second)) << r.err.message;
        const auto& out = r.out;
        ASSERT_EQ(out.size(), 3u);
        EXPECT_EQ(describe(out[0]) + "\n" + describe(out[1]) + "\n", expected) << first << "\n" << second;
        EXPECT_EQ(describe(out[2]), describe(out[1])) << second;
    }
}

TEST(EventReaderLayoutTest, InterleavedTypesKeepTheirOwnLayouts) {
    TextReader r;
    const auto& out = r.out;
    std::string text;
    for (int i = 0; i < 50; ++i) {
        text += "@" + std::to_string(i) + " A { k: " + std::to_string(i) + ", v: 1.5 }\n";
        text += "@" + std::to_string(i) + " B { k: \"s" + std::to_string(i % 3) + "\" }\n";
        text += "@" + std::to_string(i) + " AB { k: " + std::to_string(-i) + ", v: true }\n";
    }
    ASSERT_TRUE(r.read(text));
    ASSERT_EQ(out.size(), 150u);
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(describe(out[3 * i]), "A@" + std::to_string(i) + " k=3:" + std::to_string(i) + " v=4:1.5");
        EXPECT_EQ(describe(out[3 * i + 1]), "B@" + std::to_string(i) + " k=5:\"s" + std::to_string(i % 3) + "\"");
        EXPECT_EQ(describe(out[3 * i + 2]), "AB@" + std::to_string(i) + " k=3:" + std::to_string(-i) + " v=2:true");
    }
}

TEST(EventReaderLayoutTest, EqualShortStringsShareOneCopyUntilTheArenaIsReset) {
    TextReader r;
    const auto& out = r.out;
    ASSERT_TRUE(r.read("A { s: \"SYM01\" }\nA { s: \"SYM01\" }\nA { s: SYM01 }\n"));
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].fields[0].value.s, out[1].fields[0].value.s);
    EXPECT_EQ(out[0].fields[0].value.s, out[2].fields[0].value.s);
    r.arena.reset();
    // After a reset the old copy is gone: a new one is made (ASan would catch a stale one).
    ASSERT_TRUE(r.read("A { s: \"SYM01\" }\n"));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].fields[0].value.s->view(), "SYM01");
    EXPECT_EQ(out[0].fields[0].value.s->hash, fnv1a("SYM01"));
}

TEST(EventReaderLayoutTest, FieldArraysGoToTheBatchArenaAndStringsStayInTheReaderArena) {
    Interner interner;
    Arena arena;
    Arena batch_arena;
    EventReader reader(interner, arena);
    reader.open_text("A { s: \"x\", n: 1 }\nA { s: \"y\", n: 2 }\n", EventFormat::Evt);
    std::vector<InputEvent> out;
    ReadError err;
    const size_t before = arena.bytes_used();
    ASSERT_TRUE(reader.next_batch(out, err, 4096, &batch_arena));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_GE(batch_arena.bytes_used(), 2 * 2 * sizeof(Field));
    EXPECT_LT(arena.bytes_used() - before, 2 * sizeof(Field));  // only the two strings
    const StrObj* y = out[1].fields[0].value.s;
    batch_arena.reset();  // the caller is done with the batch's field arrays
    EXPECT_EQ(y->view(), "y");
    ASSERT_TRUE(reader.next_batch(out, err));
    EXPECT_TRUE(out.empty());
}
