// OutputWriter (runtime/output_writer.*): the threaded JSON path writes exactly the bytes of
// append_output_line, in order, across shape changes, block boundaries and flushes; the
// display path writes append_display's form.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "runtime/arena.hpp"
#include "runtime/output_writer.hpp"
#include "runtime/value_io.hpp"

using namespace varpulis::runtime;

namespace {

/// Everything written to a temporary file, read back.
std::string read_all(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[1 << 14];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    return s;
}

/// Random events over a few shapes, with every value kind (strings needing escapes included)
/// and absent fields; values are regenerated for each event, as an engine's scratch would be.
struct EventSource {
    Arena arena;
    std::mt19937_64 rng{42};
    std::vector<std::vector<const StrObj*>> shapes;
    std::vector<Value> values;

    EventSource() {
        const char* names[][4] = {{"a", "b", "c", "d"}, {"price", "sym\"bol", "n", "when"}, {"x", "y", "z", "w"}};
        for (auto& shape : names) {
            shapes.emplace_back();
            for (const char* n : shape) shapes.back().push_back(arena.make_string(n));
        }
    }

    Value random_value() {
        // The last one does not fit the writer's record buffer (OutputWriter::encode_record).
        static const std::string long_string(700, 'L');
        static const char* strings[] = {"plain", "quote\"and\\slash", "tab\tnl\n", "caf\xc3\xa9", "bad\xff", "",
                                        long_string.c_str()};
        switch (rng() % 11) {
            case 0: return Value::absent();
            case 1: return Value::null();
            case 2: return Value::boolean(rng() % 2);
            case 3: return Value::integer(static_cast<int64_t>(rng()) >> (rng() % 60));
            case 4: return Value::floating(static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000) / 100.0);
            case 5: return Value::floating(rng() % 2 ? std::nan("") : 6.0);
            case 6: return Value::string(arena.make_string(strings[rng() % 7]));
            case 7: return Value::timestamp(static_cast<int64_t>(rng() % 4000000000000000000ULL));
            case 8: return Value::duration(rng() % 1000000000000ULL);
            case 9: {
                ArrayObj* a = arena.make_array(2);
                a->items[0] = Value::integer(1);
                a->items[1] = Value::string(arena.make_string("two"));
                return Value::array(a);
            }
            default: {
                MapObj* m = arena.make_map(1);
                m->keys[0] = arena.make_string("k\"ey");
                m->values[0] = Value::floating(0.5);
                return Value::map(m);
            }
        }
    }

    /// The next event; `stream`/`type` strings stay valid until the next call.
    OutputEvent next(std::string& stream, std::string& type) {
        // Runs of one shape, as streams emit them, with switches in between.
        const size_t s = rng() % 8 == 0 ? rng() % shapes.size() : last_shape;
        last_shape = s;
        stream = "Stream" + std::to_string(s);
        type = s == 2 ? "Type\"" + std::to_string(rng() % 2) : "T";
        values.assign(shapes[s].size(), Value());
        for (Value& v : values) v = random_value();
        OutputEvent e;
        e.stream = stream;
        e.event_type = type;
        e.timestamp_ms = static_cast<int64_t>(rng() % 100000) - 50;
        e.names = shapes[s].data();
        e.values = values.data();
        e.field_count = static_cast<uint32_t>(values.size());
        return e;
    }
    size_t last_shape = 0;
};

TEST(OutputWriterTest, JsonMatchesAppendOutputLineAcrossBlocksAndFlushes) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    std::string expected;
    {
        OutputWriter w(/*json=*/true, /*quiet=*/false, f);
        EventSource src;
        std::string stream, type;
        // Enough lines for many 64 KiB blocks (and the in-flight bound); flushes in between.
        for (int i = 0; i < 60000; ++i) {
            OutputEvent e = src.next(stream, type);
            append_output_line(expected, e.stream, e.event_type, e.timestamp_ms, e.names, e.values, e.field_count);
            w.write(e);
            if (i == 17 || i == 31000) {
                w.flush();
                EXPECT_EQ(read_all(f), expected) << "after flush at " << i;
                std::fseek(f, 0, SEEK_END);
            }
            if (i % 5000 == 0) w.hand_over();
        }
    }  // the destructor writes the rest
    const std::string got = read_all(f);
    std::fclose(f);
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_TRUE(got == expected);
}

TEST(OutputWriterTest, DisplayFormAndQuiet) {
    Arena arena;
    const StrObj* names[] = {arena.make_string("a"), arena.make_string("b"), arena.make_string("c")};
    Value values[] = {Value::integer(3), Value::absent(), Value::floating(2.5)};
    OutputEvent e;
    e.stream = "S";
    e.event_type = "T";
    e.timestamp_ms = 12;
    e.names = names;
    e.values = values;
    e.field_count = 3;

    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    {
        OutputWriter w(false, false, f);
        w.write(e);
    }
    std::string want = "S @12 {a: ";
    append_display(want, values[0]);
    want += ", c: ";
    append_display(want, values[2]);
    want += "}\n";
    EXPECT_EQ(read_all(f), want);
    std::fclose(f);

    std::FILE* q = std::tmpfile();
    ASSERT_NE(q, nullptr);
    {
        OutputWriter w(true, true, q);
        w.write(e);
        w.flush();
    }
    EXPECT_EQ(read_all(q), "");
    std::fclose(q);
}

}  // namespace
