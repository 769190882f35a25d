#include "runtime/event_reader.hpp"

#include "runtime/value_io.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

using namespace varpulis::runtime;

namespace {

/// Reads `text` and keeps everything alive for the checks.
struct Read {
    Interner interner;
    Arena arena;
    std::vector<InputEvent> events;
    ReadError err;
    bool ok = false;
    uint64_t skipped = 0;
    std::vector<ReadError> skipped_errors;

    Read(std::string_view text, EventFormat format = EventFormat::Evt, ReadOptions opts = {}) {
        EventReader reader(interner, arena, opts);
        ok = reader.read_text(text, format, events, err);
        skipped = reader.skipped_count();
        skipped_errors = reader.skipped_errors();
    }

    /// `Type@ts{"name": json, ...}` of event i.
    std::string show(size_t i) const {
        const InputEvent& e = events.at(i);
        std::string s(e.type->view());
        s += '@';
        append_int(s, e.timestamp_ms);
        s += '{';
        for (uint32_t k = 0; k < e.field_count; ++k) {
            if (k > 0) s += ", ";
            append_json_string(s, e.fields[k].name->view());
            s += ": ";
            append_json(s, e.fields[k].value);
        }
        s += '}';
        return s;
    }

    const Value& field(size_t i, std::string_view name) const {
        static const Value absent;
        const Value* v = events.at(i).find(name);
        return v != nullptr ? *v : absent;
    }
};

/// The single field `v` of a one-line event `E { v: <text> }`.
struct One {
    Read r;
    explicit One(const std::string& value_text) : r("E { v: " + value_text + " }") {}
    const Value& v() const { return r.field(0, "v"); }
    bool ok() const { return r.ok && r.events.size() == 1; }
};

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

// ---------------------------------------------------------------- progress

TEST(EventReaderTest, InputFractionFollowsTheBatchesThroughAFile) {
    const auto path = std::filesystem::temp_directory_path() / "varpulis_reader_fraction.evt";
    {
        std::ofstream out(path);
        for (int i = 0; i < 1000; ++i) out << "@" << i << " T { v: " << i << " }\n";
    }
    Interner interner;
    Arena arena;
    EventReader reader(interner, arena);
    ReadError err;
    ASSERT_TRUE(reader.open(path.string(), err)) << err.message;
    EXPECT_EQ(reader.input_fraction(), 0.0);
    std::vector<InputEvent> batch;
    double last = 0;
    size_t events = 0;
    for (;;) {
        ASSERT_TRUE(reader.next_batch(batch, err, 100)) << err.message;
        if (batch.empty()) break;
        events += batch.size();
        const double f = reader.input_fraction();
        EXPECT_GT(f, last) << "after " << events << " events";
        EXPECT_NEAR(f, static_cast<double>(events) / 1000.0, 0.02) << "lines of nearly equal length";
        last = f;
    }
    EXPECT_EQ(events, 1000u);
    EXPECT_DOUBLE_EQ(reader.input_fraction(), 1.0);
    reader.open_text("T { v: 1 }\n", EventFormat::Evt);
    EXPECT_LT(reader.input_fraction(), 0.0) << "text has no file size";
    std::filesystem::remove(path);
}

// ---------------------------------------------------------------- line forms

TEST(EventReaderTest, SkipsCommentsAndBlankLines) {
    Read r("# comment\n// another\n\n   \n  # indented comment\nA { x: 1 }\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    ASSERT_EQ(r.events.size(), 1u) << "only the event line yields an event";
    EXPECT_EQ(r.events[0].line, 6u) << "line numbers count comments and blanks";
}

TEST(EventReaderTest, ReadsNamedEvent) {
    Read r("StockTick { symbol: \"AAPL\", price: 150.5, volume: 1000 }");
    ASSERT_TRUE(r.ok) << r.err.message;
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.show(0), R"(StockTick@0{"symbol": "AAPL", "price": 150.5, "volume": 1000})") << "named fields in order";
}

TEST(EventReaderTest, ReadsPositionalEventAsFieldN) {
    Read r("Tick(\"ACME\", 10.45, , 7)");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0), R"(Tick@0{"field_0": "ACME", "field_1": 10.45, "field_2": 7})")
        << "positional values become field_0.. and empty slots are skipped";
}

TEST(EventReaderTest, StripsTrailingSemicolonAndAllowsTrailingComma) {
    Read r("A { x: 1, };\nB(1);\nC{y:2}");
    ASSERT_TRUE(r.ok) << r.err.message;
    ASSERT_EQ(r.events.size(), 3u);
    EXPECT_EQ(r.show(0), R"(A@0{"x": 1})") << "trailing ';' and ',' are ignored";
    EXPECT_EQ(r.show(1), R"(B@0{"field_0": 1})") << "positional with ';'";
    EXPECT_EQ(r.show(2), R"(C@0{"y": 2})") << "no spaces needed";
}

TEST(EventReaderTest, AcceptsEmptyEvents) {
    Read r("Empty { }\nEmpty2()\nEmpty3{}");
    ASSERT_TRUE(r.ok) << r.err.message;
    ASSERT_EQ(r.events.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(r.events[i].field_count, 0u) << "event " << i << " has no fields";
}

TEST(EventReaderTest, TrimsWhitespaceEverywhere) {
    Read r("  Event  {  x  :  1  ,  y  :  2  }  \r\n\tT2\t{\tz\t:\t'a b'\t}\t\r\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    ASSERT_EQ(r.events.size(), 2u);
    EXPECT_EQ(r.show(0), R"(Event@0{"x": 1, "y": 2})") << "spaces and CRLF trimmed";
    EXPECT_EQ(r.show(1), R"(T2@0{"z": "a b"})") << "tabs trimmed";
}

TEST(EventReaderTest, RepeatedFieldKeepsFirstPositionAndLastValue) {
    Read r("A { x: 1, y: 2, x: 3 }");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0), R"(A@0{"x": 3, "y": 2})") << "insertion-ordered map semantics";
}

TEST(EventReaderTest, InternsTypeAndFieldNames) {
    Read r("A { x: 1 }\nB { x: 2 }\nA { y: 3, x: 4 }");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.events[0].type, r.events[2].type) << "same type name, same pointer";
    EXPECT_NE(r.events[0].type, r.events[1].type) << "different type names";
    EXPECT_EQ(r.events[0].fields[0].name, r.events[1].fields[0].name) << "field x interned";
    EXPECT_EQ(r.events[0].fields[0].name, r.events[2].fields[1].name) << "field x interned at another position";
    EXPECT_EQ(r.interner.find("y"), r.events[2].fields[0].name) << "interner finds y";
}

// ---------------------------------------------------------------- timing

TEST(EventReaderTest, AtOffsetsWithUnits) {
    Read r("@0 A{}\n@250 A{}\n@250ms A{}\n@2s A{}\n@1m A{}\n@+5 A{}");
    ASSERT_TRUE(r.ok) << r.err.message;
    std::vector<int64_t> want = {0, 250, 250, 2000, 60000, 5};
    ASSERT_EQ(r.events.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(r.events[i].timestamp_ms, want[i]) << "event " << i;
}

TEST(EventReaderTest, BatchSetsTimeOfFollowingLinesAndAtDoesNotChangeIt) {
    Read r("A{}\nBATCH 100\nA{}\n@5 A{}\nA{}\nBATCH\nA{}\nBATCH 50\nA{}\n@7000 A{}\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    std::vector<int64_t> want = {0, 100, 5, 100, 100, 50, 7000};
    ASSERT_EQ(r.events.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(r.events[i].timestamp_ms, want[i]) << "event " << i;
}

TEST(EventReaderTest, OutOfOrderOffsetsKeepFileOrder) {
    Read r("@300 A { i: 0 }\n@100 A { i: 1 }");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.events[0].timestamp_ms, 300) << "file order kept";
    EXPECT_EQ(r.events[1].timestamp_ms, 100) << "file order kept";
}

TEST(EventReaderTest, TypeNamedLikeBatchPrefixIsAnEvent) {
    Read r("BATCHED { x: 1 }");
    ASSERT_TRUE(r.ok) << r.err.message;
    ASSERT_EQ(r.events.size(), 1u) << "BATCH must be a whole word";
    EXPECT_EQ(r.events[0].type->view(), "BATCHED") << "type name";
}

// ---------------------------------------------------------------- values

TEST(EventReaderTest, ReadsBooleansAndNulls) {
    Read r("E { a: true, b: false, c: null, d: nil, e: True }");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0), R"(E@0{"a": true, "b": false, "c": null, "d": null, "e": "True"})")
        << "keywords are case-sensitive; anything else is raw text";
}

TEST(EventReaderTest, ReadsIntegers) {
    One a("42"), b("-15"), c("+7"), d("0"), e("9223372036854775807"), f("-9223372036854775808"), g("007");
    for (auto* o : {&a, &b, &c, &d, &e, &f, &g}) {
        ASSERT_TRUE(o->ok()) << o->r.err.message;
        EXPECT_EQ(o->v().kind, ValueKind::Int) << "integer kind";
    }
    EXPECT_EQ(a.v().i, 42) << "42";
    EXPECT_EQ(b.v().i, -15) << "negative";
    EXPECT_EQ(c.v().i, 7) << "explicit plus";
    EXPECT_EQ(e.v().i, INT64_MAX) << "i64 max";
    EXPECT_EQ(f.v().i, INT64_MIN) << "i64 min";
    EXPECT_EQ(g.v().i, 7) << "leading zeros";
}

TEST(EventReaderTest, IntegerOutsideI64BecomesFloat) {
    One a("99999999999999999999"), b("9223372036854775808"), c("-9223372036854775809");
    for (auto* o : {&a, &b, &c}) {
        ASSERT_TRUE(o->ok()) << o->r.err.message;
        EXPECT_EQ(o->v().kind, ValueKind::Float) << "too big for i64 → float";
    }
    EXPECT_EQ(a.v().f, 1e20) << "nearest double";
    EXPECT_EQ(b.v().f, 9223372036854775808.0) << "nearest double";
}

TEST(EventReaderTest, ReadsEveryFloatForm) {
    struct Case {
        const char* text;
        double want;
    } cases[] = {{"1.5", 1.5},     {"-2e3", -2000},    {"1e10", 1e10},   {".5", 0.5},        {"5.", 5.0},
                 {"-0.5", -0.5},   {"+1.25", 1.25},    {"1E-2", 0.01},   {"2.5e+2", 250},    {"-.5", -0.5},
                 {"1e400", HUGE_VAL}, {"1e-400", 0.0}, {"inf", HUGE_VAL}, {"-Infinity", -HUGE_VAL},
                 {"INF", HUGE_VAL}, {"+infinity", HUGE_VAL}};
    for (const Case& c : cases) {
        One o(c.text);
        ASSERT_TRUE(o.ok()) << c.text << ": " << o.r.err.message;
        ASSERT_EQ(o.v().kind, ValueKind::Float) << c.text << " is a float";
        EXPECT_EQ(o.v().f, c.want) << c.text;
    }
    One nan("NaN"), nan2("nan");
    EXPECT_TRUE(nan.v().kind == ValueKind::Float && std::isnan(nan.v().f)) << "NaN";
    EXPECT_TRUE(nan2.v().kind == ValueKind::Float && std::isnan(nan2.v().f)) << "nan";
}

TEST(EventReaderTest, UnknownValueKindsBecomeRawStrings) {
    const char* raw[] = {"AAPL", "12abc", "0x1F", "1_000", "{a: 1}", "2024-01-01", "1.2.3", "-", ".", "e5",
                         "1e", "infinite", "nanx", "hello world", "\"unterminated", "'x", "(1, 2)", "[1, 2"};
    for (const char* t : raw) {
        One o(t);
        ASSERT_TRUE(o.ok()) << t << ": " << o.r.err.message;
        ASSERT_EQ(o.v().kind, ValueKind::Str) << t << " is raw text";
        EXPECT_EQ(o.v().str(), t) << "raw text kept verbatim";
    }
}

TEST(EventReaderTest, DecodesStringEscapes) {
    Read r(R"(E { a: "tab\there", b: 'it\'s', c: "q\"uote", d: "back\\slash", e: "nl\n", f: "keep\x\u", g: 'say "hi"', h: "it's" })");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.field(0, "a").str(), "tab\there") << "\\t";
    EXPECT_EQ(r.field(0, "b").str(), "it's") << "\\' in single quotes";
    EXPECT_EQ(r.field(0, "c").str(), "q\"uote") << "\\\"";
    EXPECT_EQ(r.field(0, "d").str(), "back\\slash") << "\\\\";
    EXPECT_EQ(r.field(0, "e").str(), "nl\n") << "\\n";
    EXPECT_EQ(r.field(0, "f").str(), "keep\\x\\u") << "other escapes kept as is";
    EXPECT_EQ(r.field(0, "g").str(), "say \"hi\"") << "double quotes inside single quotes";
    EXPECT_EQ(r.field(0, "h").str(), "it's") << "single quote inside double quotes";
}

TEST(EventReaderTest, EscapedBackslashBeforeTIsNotATab) {
    Read r(R"(Rec { name: "tab\\there" })");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.field(0, "name").str(), "tab\\there") << "\\\\ then t";
}

TEST(EventReaderTest, QuotesProtectSeparators) {
    Read r(R"(E { s: "a, \"b\"", q: 'x, y', b: "}{)(][", n: 1 })");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0), R"(E@0{"s": "a, \"b\"", "q": "x, y", "b": "}{)(][", "n": 1})")
        << "commas and brackets inside quotes do not split";
}

TEST(EventReaderTest, ApostropheInsideRawWordDoesNotOpenAString) {
    Read r("E { name: O'Brien, n: 1 }");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0), R"(E@0{"name": "O'Brien", "n": 1})") << "quote opens only where a value starts";
}

TEST(EventReaderTest, ReadsArraysIncludingNested) {
    Read r(R"(E { a: [1, 2.5, "x", true, null, [3, [4]], []], m: [[1, 2], [3, 4]], e: [ ], s: ["a,b", 'c]'] })");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0),
              R"(E@0{"a": [1, 2.5, "x", true, null, [3, [4]], []], "m": [[1, 2], [3, 4]], "e": [], "s": ["a,b", "c]"]})")
        << "arrays of every kind";
}

TEST(EventReaderTest, BracesAsValueBecomeString) {
    Read r("E { m: {a: 1, b: [2, 3]}, n: 2 }");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0), R"(E@0{"m": "{a: 1, b: [2, 3]}", "n": 2})") << "no nested map syntax";
}

TEST(EventReaderTest, FieldNameIsTextBeforeFirstColon) {
    Read r("E { url: http://x:80/p, t: 12:30 }");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0), R"(E@0{"url": "http://x:80/p", "t": "12:30"})") << "later colons belong to the value";
}

TEST(EventReaderTest, TypeIsTextBeforeFirstBraceOrParen) {
    Read r("Tick(\"a{b\")\nMy Type { x: 1 }");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0), R"(Tick@0{"field_0": "a{b"})") << "the earlier of { and ( opens the fields";
    EXPECT_EQ(r.events[1].type->view(), "My Type") << "type text is trimmed, inner spaces kept";
}

// ---------------------------------------------------------------- JSON lines inside .evt

TEST(EventReaderTest, ReadsJsonLineInEvt) {
    Read r(R"({"event_type": "Trade", "data": {"sym": "ACME", "px": 10.3, "qty": 50, "tags": ["a"], "m": {"k": null}, "big": 99999999999999999999}}
BATCH 1500
{"event_type": "Trade", "fields": {"px": 1.0}}
{"event_type": "Trade", "fields": {"px": 2}, "timestamp": 42}
@7 {"event_type": "Trade", "timestamp": 9}
@7 {"event_type": "T", "timestamp": 1.5, "other": [1, {"x": 2}]}
{"event_type": "Empty"})");
    ASSERT_TRUE(r.ok) << r.err.message;
    ASSERT_EQ(r.events.size(), 6u);
    EXPECT_EQ(r.show(0), R"(Trade@0{"sym": "ACME", "px": 10.3, "qty": 50, "tags": ["a"], "m": {"k": null}, "big": 1e+20})")
        << "data object; ints, floats, arrays, maps, big int as float";
    EXPECT_EQ(r.show(1), R"(Trade@1500{"px": 1.0})") << "fields member, BATCH time";
    EXPECT_EQ(r.show(2), R"(Trade@42{"px": 2})") << "integer timestamp wins over BATCH";
    EXPECT_EQ(r.show(3), R"(Trade@9{})") << "timestamp wins over @";
    EXPECT_EQ(r.show(4), R"(T@7{})") << "non-integer timestamp ignored; other members ignored";
    EXPECT_EQ(r.show(5), R"(Empty@1500{})") << "no data: no fields";
}

TEST(EventReaderTest, JsonStringsAreUnescaped) {
    Read r(R"({"event_type": "T\u0041", "data": {"s": "a\"b\\c\n\u00e9"}})");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.events[0].type->view(), "TA") << "escaped type";
    EXPECT_EQ(r.field(0, "s").str(), "a\"b\\c\n\xC3\xA9") << "JSON escapes decoded";
}

// ---------------------------------------------------------------- errors

struct ErrorCase {
    const char* text;
    uint32_t line;
    const char* message;
};

TEST(EventReaderTest, ReportsErrorsWithLineAndQuotedText) {
    const ErrorCase cases[] = {
        {"# events\n@0 Reading { v: 1 }\n@1 Reading v = 2\n", 3, "invalid event format: 'Reading v = 2'"},
        {"@0 Reading { v: 1 }\n@1 Reading { v 2 }\n", 2, "invalid field format: 'v 2'"},
        {"A{}\n\n@1x A{}", 3, "invalid timing value: '@1x'"},
        {"@-5 A{}", 1, "invalid timing value: '@-5'"},
        {"@ 5 A{}", 1, "invalid timing value: '@'"},
        {"@5", 1, "missing event after timing prefix: '@5'"},
        {"@5s5 A{}", 1, "invalid timing value: '@5s5'"},
        {"@99999999999999999999 A{}", 1, "invalid timing value"},
        {"@9223372036854775807s A{}", 1, "invalid timing value"},
        {"A{}\nBATCH x\n", 2, "invalid BATCH time: 'BATCH x'"},
        {"BATCH -5", 1, "invalid BATCH time: 'BATCH -5'"},
        {"BATCH 1s", 1, "invalid BATCH time"},
        {"{\"event_type\": \"Reading\", \"data\": {\"v\": 1}}\n{\"event_type\": \"Reading\", \"data\": {\"v\": 2}\n", 2,
         "invalid JSON"},
        {"{\"data\": {\"v\": 1}}", 1, "missing event_type field"},
        {"{\"event_type\": 5}", 1, "missing event_type field"},
        {"{\"event_type\": \"A\", \"data\": {}, \"fields\": {}}", 1, "both \"data\" and \"fields\""},
        {"{\"event_type\": \"A\", \"data\": [1]}", 1, "must be an object"},
        {"{\"event_type\": \"A\", \"other\": [1,,2]}", 1, "invalid JSON"},
        {"{\"event_type\": \"A\"} trailing", 1, "invalid JSON"},
        {"Reading", 1, "invalid event format: 'Reading'"},
        {"{ x: 1 }", 1, "invalid JSON"},
        {"(1, 2)", 1, "invalid event format"},
    };
    for (const ErrorCase& c : cases) {
        Read r(c.text);
        EXPECT_FALSE(r.ok) << "should fail: " << c.text;
        EXPECT_EQ(r.err.line, c.line) << "line of: " << c.text;
        EXPECT_NE(r.err.message.find(c.message), std::string::npos)
            << "message for " << c.text << " was: " << r.err.message;
    }
}

TEST(EventReaderTest, LongOffendingTextIsShortenedInMessages) {
    std::string line = "Reading " + std::string(5000, 'x');
    Read r(line);
    ASSERT_FALSE(r.ok) << "no braces";
    EXPECT_LT(r.err.message.size(), 300u) << "message is bounded";
    EXPECT_NE(r.err.message.find("...'"), std::string::npos) << "ellipsis marks the cut";
}

TEST(EventReaderTest, SkipBadEventsCountsAndContinues) {
    ReadOptions opts;
    opts.skip_bad_events = true;
    Read r("A { x: 1 }\nbad line\n@1x A{}\nB { y 2 }\nBATCH z\nC { z: 3 }\n{\"nope\": 1}\n", EventFormat::Evt, opts);
    ASSERT_TRUE(r.ok) << r.err.message;
    ASSERT_EQ(r.events.size(), 2u) << "good events kept";
    EXPECT_EQ(r.events[1].type->view(), "C") << "reading continued after bad lines";
    EXPECT_EQ(r.events[1].line, 6u) << "line numbers still physical";
    EXPECT_EQ(r.skipped, 5u) << "every bad line counted";
    ASSERT_EQ(r.skipped_errors.size(), 5u) << "errors recorded";
    EXPECT_EQ(r.skipped_errors[0].line, 2u) << "first bad line";
    EXPECT_EQ(r.skipped_errors[4].line, 7u) << "last bad line";
}

// ---------------------------------------------------------------- limits

TEST(EventReaderTest, NestingUpToThirtyTwoIsAccepted) {
    std::string v32 = std::string(32, '[') + "1" + std::string(32, ']');
    One ok(v32);
    EXPECT_TRUE(ok.ok()) << "32 levels: " << ok.r.err.message;
    One bad("[" + v32 + "]");
    EXPECT_FALSE(bad.r.ok) << "33 levels rejected";
    EXPECT_NE(bad.r.err.message.find("nesting too deep"), std::string::npos) << bad.r.err.message;
}

TEST(EventReaderTest, ArrayElementLimit) {
    std::string big = "[";
    for (int i = 0; i < 10000; ++i) big += (i ? ",1" : "1");
    One ok(big + "]");
    ASSERT_TRUE(ok.ok()) << "10000 elements: " << ok.r.err.message;
    EXPECT_EQ(ok.v().a->size, 10000u) << "all kept";
    One bad(big + ",1]");
    EXPECT_FALSE(bad.r.ok) << "10001 elements rejected";
    EXPECT_NE(bad.r.err.message.find("too many array elements"), std::string::npos) << bad.r.err.message;
}

TEST(EventReaderTest, FieldLimit) {
    auto make = [](int n) {
        std::string s = "E {";
        for (int i = 0; i < n; ++i) s += " f" + std::to_string(i) + ": " + std::to_string(i) + ",";
        return s + "}";
    };
    Read ok(make(1024));
    ASSERT_TRUE(ok.ok) << ok.err.message;
    EXPECT_EQ(ok.events[0].field_count, 1024u) << "1024 fields allowed";
    Read bad(make(1025));
    EXPECT_FALSE(bad.ok) << "1025 fields rejected";
    EXPECT_NE(bad.err.message.find("too many fields"), std::string::npos) << bad.err.message;
}

TEST(EventReaderTest, LongStringsAreTruncated) {
    std::string s(300 * 1024, 'a');
    One o("\"" + s + "\"");
    ASSERT_TRUE(o.ok()) << o.r.err.message;
    EXPECT_EQ(o.v().str().size(), ReadLimits::kMaxStringBytes) << "truncated to 256 KiB";
    Read j("{\"event_type\": \"E\", \"data\": {\"v\": \"" + s + "\"}}");
    ASSERT_TRUE(j.ok) << j.err.message;
    EXPECT_EQ(j.field(0, "v").str().size(), ReadLimits::kMaxStringBytes) << "JSON string truncated";
}

TEST(EventReaderTest, LineOverOneMiBIsAnError) {
    std::string text = "A { x: 1 }\nB { s: \"" + std::string(ReadLimits::kMaxLineBytes, 'a') + "\" }\nC{}\n";
    Read r(text);
    EXPECT_FALSE(r.ok) << "line too long";
    EXPECT_EQ(r.err.line, 2u) << "line of the long line";
    ReadOptions opts;
    opts.skip_bad_events = true;
    Read s(text, EventFormat::Evt, opts);
    ASSERT_TRUE(s.ok) << s.err.message;
    EXPECT_EQ(s.events.size(), 2u) << "long line skipped";
    EXPECT_EQ(s.skipped, 1u) << "counted";
}

TEST(EventReaderTest, JsonLimitsTruncateLikeVarpulis) {
    std::string deep = std::string(40, '[') + "1" + std::string(40, ']');
    Read r("{\"event_type\": \"E\", \"data\": {\"d\": " + deep + "}}");
    ASSERT_TRUE(r.ok) << r.err.message;
    const Value* v = &r.field(0, "d");
    int levels = 0;
    while (v->kind == ValueKind::Array) {
        ++levels;
        ASSERT_EQ(v->a->size, 1u);
        v = &v->a->items[0];
    }
    EXPECT_EQ(levels, 32) << "arrays kept to depth 32";
    EXPECT_EQ(v->kind, ValueKind::Null) << "deeper becomes null";
}

// ---------------------------------------------------------------- JSON lines files

TEST(EventReaderTest, ReadsJsonLinesFile) {
    Read r("{\"event_type\": \"StockTick\", \"timestamp\": 12, \"data\": {\"symbol\": \"SYM01\", \"price\": 51.13}}\n\n"
           "  {\"event_type\": \"B\", \"fields\": {\"x\": [1, 2]}}  \r\n",
           EventFormat::JsonLines);
    ASSERT_TRUE(r.ok) << r.err.message;
    ASSERT_EQ(r.events.size(), 2u);
    EXPECT_EQ(r.show(0), R"(StockTick@12{"symbol": "SYM01", "price": 51.13})") << "timestamp and data";
    EXPECT_EQ(r.show(1), R"(B@0{"x": [1, 2]})") << "fields member, default time 0";
    EXPECT_EQ(r.events[1].line, 3u) << "blank lines counted";
}

TEST(EventReaderTest, JsonLinesFileRejectsEvtSyntax) {
    Read r("{\"event_type\": \"A\"}\nA { x: 1 }\n[1]\n", EventFormat::JsonLines);
    EXPECT_FALSE(r.ok) << "evt syntax is not JSON";
    EXPECT_EQ(r.err.line, 2u) << "line of the bad line";
    Read a("[1]", EventFormat::JsonLines);
    EXPECT_NE(a.err.message.find("expected an object"), std::string::npos) << a.err.message;
}

TEST(EventReaderTest, FormatFollowsExtension) {
    EXPECT_EQ(format_for_path("a/b.jsonl"), EventFormat::JsonLines) << ".jsonl";
    EXPECT_EQ(format_for_path("x.JSON"), EventFormat::JsonLines) << ".json any case";
    EXPECT_EQ(format_for_path("x.evt"), EventFormat::Evt) << ".evt";
    EXPECT_EQ(format_for_path("events"), EventFormat::Evt) << "no extension";
}

TEST(EventReaderTest, ParsesSingleJsonEvent) {
    Interner in;
    Arena arena;
    EventReader reader(in, arena);
    InputEvent ev;
    ReadError err;
    ASSERT_TRUE(reader.parse_json_event(R"({"event_type": "A", "fields": {"x": 1}})", 777, ev, err)) << err.message;
    EXPECT_EQ(ev.timestamp_ms, 777) << "default time";
    EXPECT_EQ(ev.type->view(), "A") << "type";
    ASSERT_EQ(ev.field_count, 1u) << "one field";
    EXPECT_FALSE(reader.parse_json_event(R"({"fields": {}})", 0, ev, err)) << "missing type";
    EXPECT_EQ(err.message, "missing event_type field") << "message";
}

// ---------------------------------------------------------------- files and streaming

TEST(EventReaderTest, ReadsFileWholeAndStreamingIdentically) {
    auto path = std::filesystem::temp_directory_path() / ("varpulis_reader_test_" + std::to_string(::getpid()) + ".evt");
    {
        std::ofstream out(path, std::ios::binary);
        out << "# header\n";
        for (int i = 0; i < 20000; ++i)
            out << "@" << i << " T { i: " << i << ", s: \"v" << (i % 7) << "\", f: " << i << ".5 }\n";
        out << "BATCH 5\nLast()";  // no final newline
    }
    Interner in;
    Arena a1, a2;
    EventReader whole(in, a1);
    std::vector<InputEvent> all;
    ReadError err;
    ASSERT_TRUE(whole.read_file(path.string(), all, err)) << err.message;
    ASSERT_EQ(all.size(), 20001u) << "every event";
    EXPECT_EQ(all.back().timestamp_ms, 5) << "last line without newline";
    EXPECT_EQ(all.back().line, 20003u) << "line of the last event";

    EventReader stream(in, a2);
    size_t n = 0;
    bool same = true;
    ASSERT_TRUE(stream.for_each_event(
        path.string(),
        [&](const InputEvent& e) {
            const InputEvent& w = all[n++];
            same = same && e.type == w.type && e.timestamp_ms == w.timestamp_ms && e.line == w.line &&
                   e.field_count == w.field_count;
        },
        err, 777))
        << err.message;
    EXPECT_EQ(n, all.size()) << "streaming sees every event";
    EXPECT_TRUE(same) << "streaming equals whole-file reading";
    std::filesystem::remove(path);
}

TEST(EventReaderTest, MissingFileIsAnError) {
    Interner in;
    Arena a;
    EventReader r(in, a);
    std::vector<InputEvent> out;
    ReadError err;
    EXPECT_FALSE(r.read_file("/nonexistent/x.evt", out, err)) << "cannot open";
    EXPECT_EQ(err.line, 0u) << "not a line error";
    EXPECT_NE(err.message.find("cannot open"), std::string::npos) << err.message;
}

// ---------------------------------------------------------------- spec examples

TEST(EventReaderTest, FormatsSection11Example) {
    Read r(R"(# two trades, then a quote 1.5 s later
@0 Trade { sym: "ACME", px: 10.25, qty: 300, tags: ["x", "y"] }
@0 Trade { sym: 'ACME', px: 10.5, qty: 100, dark: true }
BATCH 1500
Quote { sym: ACME, bid: 10.4, ask: 10.6 }
Tick("ACME", 10.45)
{"event_type": "Trade", "data": {"sym": "ACME", "px": 10.3, "qty": 50}})");
    ASSERT_TRUE(r.ok) << r.err.message;
    ASSERT_EQ(r.events.size(), 5u);
    EXPECT_EQ(r.show(0), R"(Trade@0{"sym": "ACME", "px": 10.25, "qty": 300, "tags": ["x", "y"]})") << "first trade";
    EXPECT_EQ(r.show(1), R"(Trade@0{"sym": "ACME", "px": 10.5, "qty": 100, "dark": true})") << "second trade";
    EXPECT_EQ(r.show(2), R"(Quote@1500{"sym": "ACME", "bid": 10.4, "ask": 10.6})") << "quote";
    EXPECT_EQ(r.show(3), R"(Tick@1500{"field_0": "ACME", "field_1": 10.45})") << "tick";
    EXPECT_EQ(r.show(4), R"(Trade@1500{"sym": "ACME", "px": 10.3, "qty": 50})") << "JSON trade";
}

TEST(EventReaderTest, FormatsSection14Examples) {
    Read r("{\"event_type\": \"Trade\", \"data\": {\"sym\": \"ACME\", \"px\": 10.3}}\n"
           "{\"event_type\": \"Trade\", \"fields\": {\"sym\": \"ACME\", \"px\": 10.3}, \"timestamp\": 1500}\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0), R"(Trade@0{"sym": "ACME", "px": 10.3})") << "data form";
    EXPECT_EQ(r.show(1), R"(Trade@1500{"sym": "ACME", "px": 10.3})") << "fields form with timestamp";
}

TEST(EventReaderTest, FormatsSection4Example) {
    Read r("@1000 Trade { sym: \"ACME\", px: 2.5, qty: 100 }\n@2000 Trade { sym: \"ACME\", px: 3.0, qty: 10 }\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0), R"(Trade@1000{"sym": "ACME", "px": 2.5, "qty": 100})") << "first";
    EXPECT_EQ(r.show(1), R"(Trade@2000{"sym": "ACME", "px": 3.0, "qty": 10})") << "3.0 stays a float";
}

TEST(EventReaderTest, ConformanceValueTypesCase) {
    Read r(R"(@0 Rec { b: true, n: null, s: "a, \"b\"", q: 'single', neg: -12, f: -0.5, word: plain, nil2: nil })");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0),
              R"(Rec@0{"b": true, "n": null, "s": "a, \"b\"", "q": "single", "neg": -12, "f": -0.5, "word": "plain", "nil2": null})")
        << "evt-value-types";
}

// ---------------------------------------------------------------- conformance event files

TEST(EventReaderTest, ReadsEveryConformanceEventFile) {
    std::filesystem::path cases = std::filesystem::path(VARPULIS_SHARED_DIR) / "conformance" / "cases";
    if (!std::filesystem::exists(cases)) GTEST_SKIP() << "no conformance corpus at " << cases;
    const std::regex line_re(R"(events\.evt:(\d+):)");
    int checked = 0;
    for (const auto& dir : std::filesystem::directory_iterator(cases)) {
        auto evt = dir.path() / "events.evt";
        if (!std::filesystem::exists(evt)) continue;
        std::string expect = slurp(dir.path() / "expect.json");
        bool evt_error = expect.find("\"evt\"") != std::string::npos &&
                         std::regex_search(expect, std::regex(R"("exit_code"\s*:\s*1\b)"));
        Interner in;
        Arena arena;
        EventReader reader(in, arena);
        std::vector<InputEvent> out;
        ReadError err;
        bool ok = reader.read_file(evt.string(), out, err);
        std::smatch m;
        if (evt_error && std::regex_search(expect, m, line_re)) {
            EXPECT_FALSE(ok) << dir.path().filename() << " must fail";
            EXPECT_EQ(err.line, static_cast<uint32_t>(std::stoul(m[1]))) << dir.path().filename() << ": " << err.message;
        } else {
            EXPECT_TRUE(ok) << dir.path().filename() << ":" << err.line << ": " << err.message;
        }
        ++checked;
    }
    EXPECT_GT(checked, 50) << "corpus found";
}

TEST(EventReaderTest, TrickyValuesNextToSeparators) {
    Read r(R"(E { a:, b: 1 2, c: "x" "y", d: 1-2, e: "q" , f: -7 , g: "a\"b", h: 5e, i:"")");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.show(0),
              R"(E@0{"a": "", "b": "1 2", "c": "x\" \"y", "d": "1-2", "e": "q", "f": -7, "g": "a\"b", "h": "5e", "i": ""})")
        << "empty value, spaced tokens, adjacent strings, malformed numbers, missing closing brace";
}
