// The interpreter end to end: VPL text and .evt text in, output events out. The worked
// examples of SEMANTICS.md are checked here one by one.

#include "runtime/engine.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/event_reader.hpp"
#include "runtime/value_io.hpp"

namespace varpulis::runtime {
namespace {

struct Out {
    std::string stream;
    std::string type;
    int64_t ts;
    std::string fields;  // `{a: 1, b: "x"}` in display form, absent values left out
};

/// Compiles `program`, runs `events` (.evt text) through the interpreter, returns the outputs.
std::vector<Out> run(const std::string& program, const std::string& events, std::string* prints = nullptr) {
    auto c = ir::compile_source("t.vpl", program, ir::CompileStage::Lower);
    EXPECT_TRUE(c->ok()) << frontend::render_all(c->file, c->diags);
    if (!c->ok()) return {};
    Interner interner;
    Arena arena;
    EventReader reader(interner, arena);
    std::vector<InputEvent> input;
    ReadError err;
    EXPECT_TRUE(reader.read_text(events, EventFormat::Evt, input, err)) << err.line << ": " << err.message;
    std::vector<Out> out;
    char* buf = nullptr;
    size_t len = 0;
    std::FILE* diag = open_memstream(&buf, &len);
    {
        Engine engine(*c->plan, interner, [&](const OutputEvent& e) {
            std::string f = "{";
            bool first = true;
            for (uint32_t i = 0; i < e.field_count; ++i) {
                if (!e.values[i].present()) continue;
                if (!first) f += ", ";
                first = false;
                f += std::string(e.names[i]->view()) + ": ";
                append_display(f, e.values[i]);
            }
            out.push_back({std::string(e.stream), std::string(e.event_type), e.timestamp_ms, f + "}"});
        }, diag);
        for (const auto& ev : input) engine.process(ev);
        engine.finish();
    }
    std::fclose(diag);
    if (prints) *prints = std::string(buf, len);
    std::free(buf);
    return out;
}

std::vector<std::string> fields_of(const std::vector<Out>& outs) {
    std::vector<std::string> v;
    for (const auto& o : outs) v.push_back(o.fields);
    return v;
}

using Strings = std::vector<std::string>;

TEST(EngineTest, EmitExampleOfSemantics53) {
    auto out = run("stream Alert = Reading.where(t > 30.0).emit(sensor: sensor, level: \"high\", over: t - 30.0)\n",
                   "@1000 Reading { sensor: \"s1\", t: 31.5 }\n@2000 Reading { sensor: \"s2\", t: 20.0 }\n");
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].fields, "{sensor: \"s1\", level: \"high\", over: 1.5}");
    EXPECT_EQ(out[0].ts, 1000);
    EXPECT_EQ(out[0].stream, "Alert");
}

TEST(EngineTest, FormatsExampleIntAndFloatKinds) {
    auto out = run("stream Big = Trade.where(qty >= 100).emit(sym: sym, notional: px * qty)\n"
                   "stream Raw = Trade.where(qty < 0)\n",
                   "@1000 Trade { sym: \"ACME\", px: 2.5, qty: 100 }\n@2000 Trade { sym: \"ACME\", px: 3.0, qty: 10 }\n");
    ASSERT_EQ(out.size(), 1u) << "streams without .emit print nothing";
    EXPECT_EQ(out[0].fields, "{sym: \"ACME\", notional: 250}") << "display form of 250.0";
}

TEST(EngineTest, TumblingWindowExampleOfSemantics61) {
    auto out = run("stream W = E.window(10s).aggregate(n: count(), s: sum(v)).emit(n: n, s: s)\n",
                   "@0 E { v: 1 }\n@4000 E { v: 2 }\n@12000 E { v: 4 }\n@21000 E { v: 8 }\n@22000 E { v: 1 }\n");
    EXPECT_EQ(fields_of(out), (Strings{"{n: 2, s: 3}", "{n: 2, s: 12}"}));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].ts, 4000) << "aggregate result takes the last event's time";
    EXPECT_EQ(out[1].ts, 21000);
}

TEST(EngineTest, SlidingWindowExampleOfSemantics62) {
    auto out = run("stream W = E.window(10s, sliding: 5s).aggregate(n: count()).emit(n: n)\n",
                   "@0 E {}\n@3000 E {}\n@6000 E {}\n@9000 E {}\n@12000 E {}\n");
    EXPECT_EQ(fields_of(out), (Strings{"{n: 1}", "{n: 3}", "{n: 4}"}));
}

TEST(EngineTest, CountWindowsOfSemantics63And64) {
    std::string ev;
    for (int i = 1; i <= 8; ++i) ev += "E { v: " + std::to_string(i) + " }\n";
    EXPECT_EQ(fields_of(run("stream W = E.window(3).aggregate(s: sum(v)).emit(s: s)\n", ev)),
              (Strings{"{s: 6}", "{s: 15}"}));
    EXPECT_EQ(fields_of(run("stream W = E.window(3, sliding: 1).aggregate(a: first(v), b: last(v)).emit(a: a, b: b)\n",
                            "E{v:1}\nE{v:2}\nE{v:3}\nE{v:4}\nE{v:5}\n")),
              (Strings{"{a: 1, b: 3}", "{a: 2, b: 4}", "{a: 3, b: 5}"}));
    EXPECT_EQ(fields_of(run("stream W = E.window(4, sliding: 2).aggregate(a: first(v), b: last(v)).emit(a: a, b: b)\n", ev)),
              (Strings{"{a: 1, b: 4}", "{a: 3, b: 6}", "{a: 5, b: 8}"}));
}

TEST(EngineTest, SessionWindowFlushesAtEndInPartitionOrder) {
    auto out = run("stream S = C.partition_by(u).window(session: 5s).aggregate(n: count()).emit(u: _partition, n: n)\n",
                   "@0 C{u: \"b\"}\n@1000 C{u: \"a\"}\n@2000 C{u: \"b\"}\n@9000 C{u: \"b\"}\n");
    EXPECT_EQ(fields_of(out), (Strings{"{u: \"b\", n: 2}", "{u: \"b\", n: 1}", "{u: \"a\", n: 1}"}))
        << "gap 7000 > 5000 closes b's first session; at the end b and a flush in first-appearance order";
}

TEST(EngineTest, PartitionedAggregateExampleOfSemantics72) {
    auto out = run("stream S = Trade.partition_by(sym).window(3).aggregate(sym: last(sym), hi: max(px), n: count())"
                   ".emit(sym: sym, hi: hi, n: n)\n",
                   "@0 Trade{sym:\"A\",px:1}\n@1 Trade{sym:\"B\",px:5}\n@2 Trade{sym:\"A\",px:3}\n@3 Trade{sym:\"A\",px:2}\n");
    EXPECT_EQ(fields_of(out), (Strings{"{sym: \"A\", hi: 3, n: 3}"}));
}

TEST(EngineTest, AggregateFunctionsAndCombinations) {
    auto out = run("stream S = E.window(4).aggregate(c: count(), s: sum(v), a: avg(v), lo: min(v), hi: max(v),"
                   " sd: stddev(v), f: first(v), l: last(v), d: count_distinct(v), d2: count(distinct(v)),"
                   " e: ema(v, 3), r: sum(v) / count(), q: count() / 3).emit(c: c, s: s, a: a, lo: lo, hi: hi, sd: sd,"
                   " f: f, l: l, d: d, d2: d2, e: e, r: r, q: q)\n",
                   "E{v: 2}\nE{v: 4.0}\nE{v: 4}\nE{v: 6}\n");
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].fields,
              "{c: 4, s: 16, a: 4, lo: 2, hi: 6, sd: 1.632993161855452, f: 2, l: 6, d: 3, d2: 3, e: 4.75, r: 4}")
        << "4 and 4.0 are one distinct value; `count() / 3` is not an aggregate combination and is dropped";
}

TEST(EngineTest, AggregateOverEmptyInputsGivesNulls) {
    auto out = run("stream S = E.window(2).aggregate(s: sum(v), a: avg(v), sd: stddev(v), n: count()).emit(s: s, a: a, sd: sd, n: n)\n",
                   "E{w: 1}\nE{w: 2}\n");
    EXPECT_EQ(fields_of(out), (Strings{"{s: 0, a: null, sd: null, n: 2}"}));
}

TEST(EngineTest, JoinExampleOfSemantics10) {
    std::string events = "@0 Order{oid: 7}\n@2000 Fill{oid: 7, qty: 5}\n@3000 Fill{oid: 7, qty: 3}\n@60001 Fill{oid: 7, qty: 1}\n";
    auto timed = run("stream M = join(Order, Fill).on(Order.oid == Fill.oid).window(1m).emit(oid: Order.oid, qty: Fill.qty)\n",
                     events);
    EXPECT_EQ(fields_of(timed), (Strings{"{oid: 7, qty: 5}", "{oid: 7, qty: 3}"}));
    ASSERT_EQ(timed.size(), 2u);
    EXPECT_EQ(timed[0].ts, 2000);
    auto counted = run("stream M = join(Order, Fill).on(Order.oid == Fill.oid).window(5).emit(oid: Order.oid, qty: Fill.qty)\n",
                       events);
    EXPECT_EQ(counted.size(), 3u) << "a count window never expires partners";
}

TEST(EngineTest, MergeFiltersPerEntry) {
    auto out = run("stream M = merge(stream L = Left.where(ok), stream R = Right).emit(v: v)\n",
                   "Left{ok: true, v: 1}\nLeft{ok: false, v: 2}\nRight{v: 3}\nOther{v: 4}\n");
    EXPECT_EQ(fields_of(out), (Strings{"{v: 1}", "{v: 3}"}));
}

TEST(EngineTest, DerivedEventsAreProcessedBeforeTheNextInput) {
    auto out = run("stream Pair = Ping as p -> Echo as e .emit(p: p.n, e: e.n)\nstream Echo = Ping.emit(n: n)\n",
                   "Ping{n: 1}\nPing{n: 2}\n");
    std::vector<std::string> pairs;
    for (const auto& o : out)
        if (o.stream == "Pair") pairs.push_back(o.fields);
    EXPECT_EQ(pairs, (Strings{"{p: 1, e: 1}", "{p: 2, e: 2}"}))
        << "Echo(1) completes the run of Ping(1) before Ping(2) arrives";
}

TEST(EngineTest, ChainedStreamsRenameAndRoute) {
    auto out = run("stream Warm = Boiler.where(temp > 25.0)\nstream Alarm = Warm.where(temp > 40.0).emit(unit: unit, temp: temp)\n",
                   "Boiler{unit: \"u1\", temp: 30.0}\nBoiler{unit: \"u2\", temp: 45.5}\n");
    EXPECT_EQ(fields_of(out), (Strings{"{unit: \"u2\", temp: 45.5}"}));
}

TEST(EngineTest, EmitEventTypeFieldSetsOutputType) {
    auto out = run("stream F = T.emit(event_type: \"FilteredTick\", x: x)\n", "T{x: 1}\n");
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type, "FilteredTick");
    EXPECT_EQ(out[0].stream, "F");
    EXPECT_EQ(out[0].fields, "{event_type: \"FilteredTick\", x: 1}");
}

TEST(EngineTest, DistinctAndLimitAndFirst) {
    std::string ev = "L{user: \"a\", n: 1}\nL{user: \"b\", n: 2}\nL{user: \"a\", n: 3}\nL{user: \"c\", n: 4}\n";
    EXPECT_EQ(fields_of(run("stream D = L.distinct(user).emit(n: n)\n", ev)), (Strings{"{n: 1}", "{n: 2}", "{n: 4}"}));
    EXPECT_EQ(fields_of(run("stream D = L.limit(2).emit(n: n)\n", ev)), (Strings{"{n: 1}", "{n: 2}"}));
    EXPECT_EQ(fields_of(run("stream D = L.first().emit(n: n)\n", ev)), (Strings{"{n: 1}"}));
    EXPECT_EQ(fields_of(run("stream D = L.distinct().emit(n: n)\n", "L{a: 1}\nL{a: 1}\nL{a: 2}\n")).size(), 2u);
}

TEST(EngineTest, PrintGoesToDiagnosticsNotOutputs) {
    std::string prints;
    auto out = run("stream P = R.print(v, \"x\").where(v > 1).emit(v: v)\nstream Q = R.print()\n", "R{v: 1}\nR{v: 2}\n",
                   &prints);
    EXPECT_EQ(out.size(), 1u);
    EXPECT_NE(prints.find("[PRINT] 1 \"x\"\n"), std::string::npos) << prints;
    EXPECT_NE(prints.find("[PRINT] [Q] R: {v: 2}"), std::string::npos) << prints;
}

TEST(EngineTest, WindowedForwardedEventsKeepTheirWholeFieldList) {
    // A forwarded event's whole-field list outlives its event when a window keeps the row:
    // it must not live in memory that is recycled between events.
    std::string events;
    for (int i = 0; i < 1000; ++i) events += "@" + std::to_string(i) + " T { a: " + std::to_string(i) + " }\n";
    std::string prints;
    run("stream S = T.emit(a: a)\nstream W = S.window(500).print()\n", events, &prints);
    ASSERT_NE(prints.find("[PRINT] [W] S: {a: 0}\n"), std::string::npos) << prints.substr(0, 300);
    EXPECT_NE(prints.find("[PRINT] [W] S: {a: 342}\n[PRINT] [W] S: {a: 343}\n"), std::string::npos);
    EXPECT_EQ(prints.find("[PRINT] [W] S: {a: 342}\n[PRINT] [W] S: {a: 342}\n"), std::string::npos);
}

TEST(EngineTest, ProcessOutputsEmittedEventsWithoutEmitOperator) {
    auto out = run("fn evens(limit: int):\n    var i = 0\n    while i < limit:\n        if i % 2 == 0:\n"
                   "            emit Even(v: i)\n        i := i + 1\nstream E = Go.process(evens(limit))\n",
                   "@5 Go{limit: 5}\n");
    EXPECT_EQ(fields_of(out), (Strings{"{v: 0}", "{v: 2}", "{v: 4}"}));
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].type, "Even");
    EXPECT_EQ(out[0].ts, 5) << "the triggering event's time (SEMANTICS §5.8 proposed rule)";
}

TEST(EngineTest, GlobalsAreVisibleAndFieldsShadowThem) {
    auto out = run("const rate = 0.5\nvar base = 10\nbase := base + 5\nlet threshold = 50\n"
                   "stream S = R.where(v > threshold).emit(fee: v * rate + base)\n",
                   "R{v: 60}\nR{v: 40, threshold: 10}\nR{v: 40}\n");
    EXPECT_EQ(fields_of(out), (Strings{"{fee: 45}", "{fee: 35}"}));
}

TEST(EngineTest, UnknownEventTypesAreCountedNotErrors) {
    auto c = ir::compile_source("t.vpl", "stream S = A.emit(x: x)\n", ir::CompileStage::Lower);
    ASSERT_TRUE(c->ok());
    Interner interner;
    Arena arena;
    EventReader reader(interner, arena);
    std::vector<InputEvent> input;
    ReadError err;
    ASSERT_TRUE(reader.read_text("A{x: 1}\nB{x: 2}\nC{}\n", EventFormat::Evt, input, err));
    int outputs = 0;
    Engine engine(*c->plan, interner, [&](const OutputEvent&) { ++outputs; }, stderr);
    for (const auto& ev : input) engine.process(ev);
    EXPECT_EQ(outputs, 1);
    EXPECT_EQ(engine.stats().events, 3u);
    EXPECT_EQ(engine.stats().unrouted, 2u);
    EXPECT_EQ(engine.stats().outputs, 1u);
}

TEST(EngineTest, CycleGuardStopsSelfFeedingStreams) {
    auto out = run("stream Loop = merge(Seed, Loop).emit(x: x)\n", "Seed{x: 1}\n");
    EXPECT_EQ(out.size(), 10u) << "the stream feeds itself until the depth-10 guard (SEMANTICS §1.2)";
}

TEST(EngineTest, TrendAdjacentPredicateReadsPrecedingEventOfAnyStep) {
    std::string q = "stream T = A as a -> all B where v > b.v as b .within(1m)"
                    ".trend_aggregate(n: count_trends()).emit(n: n)\n";
    EXPECT_EQ(fields_of(run(q, "@0 A{v: 1}\n@1 B{v: 2}\n@2 B{v: 3}\n")), (Strings{"{n: 3}"}))
        << "(A,B2), (A,B3), (A,B2,B3): the first B compares with A's v";
    EXPECT_EQ(fields_of(run(q, "@0 A{v: 5}\n@1 B{v: 2}\n@2 B{v: 3}\n")), (Strings{}))
        << "no B exceeds A, so no trend and no result";
}

TEST(EngineTest, PatternLambdaDropsBatchesWhereItIsFalse) {
    auto out = run("stream W = E.window(2).pattern(rising: events => events[1].v > events[0].v)"
                   ".aggregate(n: count(), hi: max(v)).emit(hi: hi)\n",
                   "E{v: 1}\nE{v: 2}\nE{v: 5}\nE{v: 3}\nE{v: 3}\nE{v: 4}\n");
    EXPECT_EQ(fields_of(out), (Strings{"{hi: 2}", "{hi: 4}"})) << "the [5, 3] batch is dropped";
}

}  // namespace
}  // namespace varpulis::runtime

namespace varpulis::runtime {
namespace {

/// Outputs of `program` over `events`, run per event (process) or prepared in batches of 3
/// whose field arrays share one arena that is reset before each batch is read.
/// `translations` (non-null): the reader interns names in an Interner of its own, as a
/// reader thread does, and prepare() maps them through Engine::ForeignNames, counting here.
std::vector<std::string> run_fields_recycled(const std::string& program, const std::string& events, bool recycle,
                                             bool* keeps = nullptr, size_t* translations = nullptr) {
    auto c = ir::compile_source("t.vpl", program, ir::CompileStage::Lower);
    EXPECT_TRUE(c->ok()) << frontend::render_all(c->file, c->diags);
    if (!c->ok()) return {};
    Interner interner;
    Arena arena;
    Arena fields(256);
    std::vector<std::string> out;
    Engine engine(*c->plan, interner, [&](const OutputEvent& e) {
        std::string f = std::string(e.stream) + "@" + std::to_string(e.timestamp_ms);
        for (uint32_t i = 0; i < e.field_count; ++i) {
            f += " " + std::string(e.names[i]->view()) + "=";
            append_display(f, e.values[i]);
        }
        out.push_back(f);
    }, stderr);
    if (keeps) *keeps = engine.keeps_field_lists();
    Interner reader_names;
    EventReader reader(translations ? reader_names : interner, arena);
    struct Translate {
        Interner& own;
        size_t& calls;
    };
    size_t unused = 0;
    Translate tr{interner, translations ? *translations : unused};
    const Engine::ForeignNames foreign{[](void* ctx, const StrObj* s) {
                                           auto* t = static_cast<Translate*>(ctx);
                                           ++t->calls;
                                           return t->own.intern(s->view());
                                       },
                                       &tr};
    reader.open_text(events, EventFormat::Evt);
    std::vector<InputEvent> batch;
    std::vector<EventBatch> prepared;
    ReadError err;
    for (;;) {
        if (recycle) fields.reset();
        EXPECT_TRUE(reader.next_batch(batch, err, 3, recycle ? &fields : nullptr)) << err.message;
        if (batch.empty()) break;
        if (!recycle) {
            for (const auto& ev : batch) engine.process(ev);
            continue;
        }
        prepared.emplace_back();
        if (translations)
            engine.prepare(batch.data(), batch.size(), prepared.back(), foreign);
        else
            engine.prepare(batch.data(), batch.size(), prepared.back());
        // Scribble over the recycled field arrays: nothing may read them any more.
        for (auto& ev : batch) std::memset(static_cast<void*>(ev.fields), 0xAB, ev.field_count * sizeof(Field));
    }
    for (const auto& b : prepared) engine.process_batch(b);
    engine.finish();
    return out;
}

}  // namespace

TEST(EngineTest, FieldArraysMayBeRecycledAfterPrepareWhenNoOperatorKeepsThem) {
    const std::string program =
        "event T:\n    s: str\n    v: int\n"
        "stream S = T.where(v > 2).emit(event_type: \"Out\", s: s, w: v * 10)\n"
        "stream C = T.select(s: s, n: v + 1).where(n > 0).emit(s: s, n: n)\n";
    std::string events;
    for (int i = 0; i < 20; ++i)
        events += "@" + std::to_string(i) + " T { s: \"k" + std::to_string(i % 4) + "\", v: " + std::to_string(i % 7) + " }\n";
    bool keeps = true;
    auto recycled = run_fields_recycled(program, events, true, &keeps);
    EXPECT_FALSE(keeps);
    auto plain = run_fields_recycled(program, events, false);
    EXPECT_EQ(recycled, plain);
    // Names from another interner, mapped as prepare meets them: the same outputs, and a
    // mapping per name (the type and two fields), not per event.
    size_t translations = 0;
    auto foreign = run_fields_recycled(program, events, true, nullptr, &translations);
    EXPECT_EQ(foreign, plain);
    EXPECT_GE(translations, 3u);
    EXPECT_LE(translations, 6u);
    EXPECT_EQ(plain.size(), 31u);  // 11 with v > 2, and all 20 through C
}

TEST(EngineTest, WholeEventUsesKeepFieldLists) {
    for (const char* program : {"event T:\n    v: int\nstream S = T.print()\n",
                                "event T:\n    v: int\nstream S = T.window(2).print()\n",
                                "event T:\n    v: int\nstream S = T.distinct()\n",
                                "event T:\n    v: int\nstream S = T as a -> T as b .within(1s) .print()\n"}) {
        bool keeps = false;
        run_fields_recycled(program, "@0 T { v: 1 }\n", false, &keeps);
        EXPECT_TRUE(keeps) << program;
    }
    bool keeps = true;
    run_fields_recycled("event T:\n    v: int\nstream S = T.window(2).print(v)\n", "@0 T { v: 1 }\n", false, &keeps);
    EXPECT_FALSE(keeps) << "printed values are slots";
}

// Windows, matchers and joins keep rows past the event but read only their slots: without a
// whole-event reader the batches carry no field lists, and scribbled-over field arrays change
// nothing.
TEST(EngineTest, StatefulOperatorsWithoutWholeEventReadersKeepNoFieldLists) {
    const std::string program =
        "event T:\n    s: str\n    v: int\n"
        "event U:\n    s: str\n    w: int\n"
        "stream W = T.partition_by(s).window(3).aggregate(s: last(s), n: count(), t: sum(v))\n"
        "    .emit(s: s, n: n, t: t)\n"
        "stream P = T as a -> T where v > a.v as b .within(10s) .emit(s: a.s, d: b.v - a.v)\n"
        "stream J = join(T, U).on(T.s == U.s).emit(s: T.s, x: T.v + U.w)\n";
    std::string events;
    for (int i = 0; i < 30; ++i) {
        events += "@" + std::to_string(i) + " T { s: \"k" + std::to_string(i % 3) + "\", v: " + std::to_string((i * 7) % 11) + " }\n";
        if (i % 4 == 0) events += "@" + std::to_string(i) + " U { s: \"k" + std::to_string(i % 3) + "\", w: " + std::to_string(i) + " }\n";
    }
    bool keeps = true;
    auto recycled = run_fields_recycled(program, events, true, &keeps);
    EXPECT_FALSE(keeps);
    auto plain = run_fields_recycled(program, events, false);
    EXPECT_EQ(recycled, plain);
    size_t w = 0, p = 0, j = 0;
    for (const auto& o : plain) {
        w += o.rfind("W@", 0) == 0;
        p += o.rfind("P@", 0) == 0;
        j += o.rfind("J@", 0) == 0;
    }
    EXPECT_EQ(w, 9u);  // three partitions of 10 events, each closing 3 count windows of 3
    EXPECT_GT(p, 0u);
    EXPECT_GT(j, 0u);
}

}  // namespace varpulis::runtime
