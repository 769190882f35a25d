// Engine checkpoints (docs/architecture.md, "Checkpoints"): a run cut anywhere, saved and
// resumed in a new engine, prints exactly what the uninterrupted run prints; hostile blobs are
// refused cleanly; a reloaded program keeps the state of the streams it did not change.

#include "runtime/engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "runtime/checkpoint_io.hpp"
#include "runtime/event_reader.hpp"
#include "runtime/value_io.hpp"
#include "tests/support/engine_harness.hpp"

namespace varpulis::runtime {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

using Harness = EngineHarness;

std::string drops_text(const Engine& e) {
    std::string s;
    for (const auto& d : e.drops())
        s += d.stream + ":" + std::to_string(d.pattern_caps) + "/" + std::to_string(d.trend_overflows) + " ";
    return s;
}

/// Runs [0, k) on one engine, checkpoints, resumes [k, n) + finish on a fresh engine, and
/// compares everything seen with the uninterrupted run.
void check_split(const std::string& program, const std::string& events, size_t k, const std::vector<std::string>& want,
                 const std::string& want_prints, uint64_t want_outputs, const std::string& want_drops) {
    SCOPED_TRACE("split at event " + std::to_string(k));
    Harness a(program, events);
    ASSERT_TRUE(a.ok()) << a.error();
    a.run(0, k);
    std::string blob = a.engine().save_checkpoint();

    Harness b(program, events);
    ASSERT_TRUE(b.ok()) << b.error();
    RestoreReport report;
    std::string error;
    ASSERT_TRUE(b.engine().restore_checkpoint(blob, report, error)) << error;
    EXPECT_EQ(report.events_restored, k) << "events_restored is the saved engine's event count";
    EXPECT_EQ(report.streams_restored, b.plan().streams.size()) << "same program: every stream restored";
    EXPECT_EQ(report.streams_reset, 0u);
    EXPECT_EQ(b.engine().stats().events, a.engine().stats().events) << "stats continue from the checkpoint";
    EXPECT_EQ(b.engine().stats().outputs, a.engine().stats().outputs);
    EXPECT_EQ(b.engine().stats().unrouted, a.engine().stats().unrouted);
    EXPECT_TRUE(b.engine().save_checkpoint() == blob) << "checkpoint -> restore -> checkpoint gives the same bytes";

    b.run(k, b.size());
    b.finish();
    std::vector<std::string> got = a.outputs();
    got.insert(got.end(), b.outputs().begin(), b.outputs().end());
    EXPECT_EQ(got, want) << "outputs before the split from A, after it from B";
    EXPECT_EQ(a.prints() + b.prints(), want_prints) << ".print / console lines";
    EXPECT_EQ(b.engine().stats().events, b.size());
    EXPECT_EQ(b.engine().stats().outputs, want_outputs);
    EXPECT_EQ(drops_text(b.engine()), want_drops) << "cap counters continue";
}

/// Every split point when there are few events, a spread of them otherwise.
std::vector<size_t> split_points(size_t n) {
    std::vector<size_t> ks;
    if (n <= 60) {
        for (size_t k = 0; k <= n; ++k) ks.push_back(k);
    } else {
        for (size_t k : {size_t(1), n / 3, n / 2, n - 1, n}) ks.push_back(k);
        for (size_t k = 7; k < n; k += n / 9 + 1) ks.push_back(k);
    }
    std::sort(ks.begin(), ks.end());
    ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
    return ks;
}

void check_all_splits(const std::string& program, const std::string& events) {
    Harness full(program, events);
    ASSERT_TRUE(full.ok()) << full.error();
    full.run(0, full.size());
    full.finish();
    const std::vector<std::string> want = full.outputs();
    const std::string want_prints = full.prints();
    for (size_t k : split_points(full.size()))
        check_split(program, events, k, want, want_prints, full.engine().stats().outputs, drops_text(full.engine()));
}

// ------------------------------------------------------------------ conformance corpus

fs::path cases_dir() { return fs::path(VARPULIS_SHARED_DIR) / "conformance" / "cases"; }

/// Cases that expect the run to fail (a nonzero `exit_code` in expect.json) have no state to
/// checkpoint; the conformance checker covers them.
bool expects_error(const fs::path& dir) {
    std::string expect = read_file(dir / "expect.json");
    auto at = expect.find("\"exit_code\"");
    if (at == std::string::npos) return false;
    at = expect.find(':', at);
    return at != std::string::npos && std::atoi(expect.c_str() + at + 1) != 0;
}

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(cases_dir(), ec))
        if (e.is_directory() && fs::exists(e.path() / "query.vpl") && !expects_error(e.path()))
            names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

class CheckpointConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(CheckpointConformance, ResumesAtEverySplitWithIdenticalOutputs) {
    const fs::path dir = cases_dir() / GetParam();
    const std::string program = read_file(dir / "query.vpl");
    const std::string events = read_file(dir / "events.evt");
    Harness probe(program, events);
    ASSERT_TRUE(probe.ok()) << probe.error();
    check_all_splits(program, events);
}

INSTANTIATE_TEST_SUITE_P(Cases, CheckpointConformance, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             std::string n = info.param;
                             for (char& ch : n)
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });

TEST(CheckpointCorpus, HasTheConformanceCases) {
    EXPECT_GE(case_names().size(), 85u) << "conformance cases under " << cases_dir();
}

// ------------------------------------------------------------------ a program with every kind of state

const char* kRichProgram = R"(var seen = 0
const big = 8

fn bump(x: int):
    seen := seen + x
    emit Tot(t: seen)

stream Counts = Tick
    .partition_by(k)
    .window(5s)
    .aggregate(n: count(), s: sum(v), sd: stddev(v), e: ema(v, 3), d: count_distinct(v), f: first(v), l: last(v), lo: min(v), av: avg(v))
    .emit(k: _partition, n: n, s: s, sd: sd, e: e, d: d, f: f, l: l, lo: lo, av: av)
stream Slide = Tick
    .window(4s, sliding: 1s)
    .aggregate(n: count())
    .where(n > 2)
    .emit(n: n)
stream Sess = Tick
    .partition_by(k)
    .window(session: 2s)
    .aggregate(n: count())
    .emit(k: _partition, n: n)
stream Cnt = Tick
    .window(3, sliding: 2)
    .aggregate(m: max(v))
    .emit(m: m)
stream Paid = Order as o
    -> Pay where oid == o.id as p
    .within(10s)
    .emit(o: o.id, amt: p.amt)
stream Burst = Tick as a
    -> all Tick where v > a.v as b
    -> Stop as e
    .partition_by(k)
    .within(8s)
    .emit(k: a.k, n: len(b))
stream Tr = Tick as t
    -> all Tick as u
    .partition_by(k)
    .within(6s)
    .trend_aggregate(n: count_trends(), tot: sum_trends(u.v))
    .emit(k: k, n: n, tot: tot)
stream Rise = Tick as x
    -> all Tick where v > x.v as y
    .within(3s)
    .trend_aggregate(n: count_trends())
    .emit(n: n)
stream J = join(Order, Pay)
    .on(Order.id == Pay.oid)
    .window(1m)
    .emit(amt: Pay.amt, note: Order.note)
stream D = Tick
    .distinct(k)
    .emit(k: k)
stream L = Tick
    .limit(5)
    .emit(v: v)
stream Pr = Tick
    .where(v > big)
    .process(bump(v))
stream WP = Order
    .window(2)
    .print()
pattern AnyP = SEQ(Order as o, Pay+ as p, Stop as s) within 20s strategy skip_till_any_match
stream Any = AnyP
    .emit(o: o.id, n: len(p))
pattern NoPay = SEQ(Order as o, NOT Pay where oid == o.id) within 3s
stream Unpaid = NoPay
    .emit(o: o.id)
stream Up = Order as o
    -> all Tick where v > b.v as b
    -> Stop as s
    .within(15s)
    .emit(o: o.id, n: len(b), last: b.v)
stream G = Tick as a
    -> Tick where v < a.v as b
    .partition_by(g)
    .within(5s)
    .emit(g: a.g, hi: a.v, lo: b.v)
pattern Strict = SEQ(Tick as a, Tick as b, Stop as c) within 4s strategy strict_contiguity
stream St = Strict
    .emit(a: a.v, b: b.v)
pattern Both = Order as o AND Stop as s
stream Bo = Both
    .within(5s)
    .emit(o: o.id)
pattern Either = Order as o OR Stop as s
stream Ei = Either
    .emit(o: o.id)
)";

/// `n` deterministic events over the types kRichProgram reads (LCG, fixed seed).
std::string rich_events(size_t n, uint64_t seed = 12345) {
    uint64_t s = seed;
    auto next = [&](uint64_t m) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return (s >> 33) % m;
    };
    std::string out;
    int64_t ts = 0;
    int order_id = 0;
    const char* keys[] = {"a", "b", "c", "d"};
    for (size_t i = 0; i < n; ++i) {
        ts += static_cast<int64_t>(next(1500));
        out += "@" + std::to_string(ts) + " ";
        switch (next(10)) {
            case 0:
            case 1:
                ++order_id;
                out += "Order { id: " + std::to_string(order_id) + ", note: \"n" + std::to_string(next(5)) +
                       "\", tags: [1, \"two\", {z: " + std::to_string(next(9)) + "}] }\n";
                break;
            case 2:
            case 3:
                out += "Pay { oid: " + std::to_string(order_id - static_cast<int>(next(3))) +
                       ", amt: " + std::to_string(next(100)) + ".5 }\n";
                break;
            case 4:
                out += std::string("Stop { k: \"") + keys[next(4)] + "\" }\n";
                break;
            default: {
                uint64_t v = next(13);
                out += std::string("Tick { k: \"") + keys[next(4)] + "\", v: " + std::to_string(v) +
                       ", g: " + std::to_string(v % 3) + " }\n";
                break;
            }
        }
    }
    return out;
}

TEST(CheckpointRich, EveryStreamHasOutputsSoEveryStateIsExercised) {
    Harness h(kRichProgram, rich_events(400, 777));
    ASSERT_TRUE(h.ok()) << h.error();
    h.run(0, h.size());
    h.finish();
    for (const auto& sp : h.plan().streams) {
        if (sp.name == "WP") continue;  // prints only
        size_t n = std::count_if(h.outputs().begin(), h.outputs().end(),
                                 [&](const std::string& o) { return o.rfind(sp.name + "|", 0) == 0; });
        EXPECT_GT(n, 0u) << "stream " << sp.name;
    }
    EXPECT_NE(h.prints().find("[PRINT] [WP] Order: {id: "), std::string::npos);
}

TEST(CheckpointRich, CapCountersContinue) {
    // 25 Beats: the middle Kleene step stops at 20 events (§9.2); the rest are counted drops.
    std::string events = "@0 Start { id: 1 }\n";
    for (int i = 1; i <= 25; ++i) events += "@" + std::to_string(i) + " Beat { v: " + std::to_string(i) + " }\n";
    events += "@30 Stop { id: 2 }\n";
    const char* program = "stream K = Start as s\n    -> all Beat as b\n    -> Stop as e\n    .emit(n: len(b))\n";
    Harness full(program, events);
    ASSERT_TRUE(full.ok()) << full.error();
    full.run(0, full.size());
    ASSERT_EQ(drops_text(full.engine()), "K:5/0 ");
    check_all_splits(program, events);
}

TEST(CheckpointRich, ResumesEveryKindOfStateAtEverySplit) {
    check_all_splits(kRichProgram, rich_events(60));
}

TEST(CheckpointRich, ResumesLongRunsAtSpreadSplits) {
    check_all_splits(kRichProgram, rich_events(400, 777));
}

// ------------------------------------------------------------------ hostile blobs

/// A restore that failed must leave an engine that behaves like a fresh one.
void expect_fresh(Harness& h, const std::string& events) {
    Harness fresh(kRichProgram, events);
    fresh.run(0, 25);
    fresh.finish();
    size_t before = h.outputs().size();
    h.run(0, 25);
    h.finish();
    std::vector<std::string> got(h.outputs().begin() + static_cast<std::ptrdiff_t>(before), h.outputs().end());
    EXPECT_EQ(got, fresh.outputs()) << "after a failed restore the engine starts from scratch";
    EXPECT_EQ(h.engine().stats().events, 25u);
}

class CheckpointCorruption : public ::testing::Test {
protected:
    void SetUp() override {
        events_ = rich_events(40);
        Harness a(kRichProgram, events_);
        ASSERT_TRUE(a.ok()) << a.error();
        a.run(0, 30);
        blob_ = a.engine().save_checkpoint();
        ASSERT_GT(blob_.size(), 200u);
    }

    /// Restores `bad` into `h`; returns whether it was accepted, checking the message if not.
    bool try_restore(Harness& h, const std::string& bad, const std::string& what) {
        RestoreReport report;
        std::string error;
        bool ok = h.engine().restore_checkpoint(bad, report, error);
        if (!ok) {
            EXPECT_FALSE(error.empty()) << what;
            EXPECT_TRUE(error.rfind("checkpoint", 0) == 0) << what << ": " << error;
            EXPECT_EQ(report.streams_restored, 0u) << what;
            EXPECT_EQ(h.engine().stats().events, 0u) << what << ": counters reset";
        }
        return ok;
    }

    static void set_checksum(std::string& b) {
        uint64_t h = fnv1a64(std::string_view(b).substr(0, b.size() - 8));
        for (int i = 0; i < 8; ++i) b[b.size() - 8 + static_cast<size_t>(i)] = static_cast<char>(h >> (8 * i));
    }

    std::string events_;
    std::string blob_;
};

TEST_F(CheckpointCorruption, RefusesEveryTruncation) {
    Harness h(kRichProgram, events_);
    for (size_t len = 0; len < blob_.size(); ++len)
        EXPECT_FALSE(try_restore(h, blob_.substr(0, len), "truncated to " + std::to_string(len)));
    expect_fresh(h, events_);
}

TEST_F(CheckpointCorruption, RefusesSingleByteFlips) {
    Harness h(kRichProgram, events_);
    for (size_t pos = 0; pos < blob_.size(); pos += 1 + pos / 97) {
        for (unsigned char mask : {0x01, 0x80, 0xFF}) {
            std::string bad = blob_;
            bad[pos] = static_cast<char>(bad[pos] ^ mask);
            EXPECT_FALSE(try_restore(h, bad, "flip at " + std::to_string(pos))) << "the checksum catches a flip";
        }
    }
    expect_fresh(h, events_);
}

TEST_F(CheckpointCorruption, ForgedChecksumNeverCrashes) {
    // With the checksum fixed up, the parser's own bounds and consistency checks are what stand
    // between a forged blob and the engine: it may accept a plausible value, never crash.
    Harness h(kRichProgram, events_);
    size_t refused = 0, tried = 0;
    for (size_t pos = 12; pos + 8 < blob_.size(); pos += 1 + pos / 211) {
        for (unsigned char mask : {0x01, 0x10, 0x80, 0xFF}) {
            std::string bad = blob_;
            bad[pos] = static_cast<char>(bad[pos] ^ mask);
            set_checksum(bad);
            ++tried;
            if (!try_restore(h, bad, "forged flip at " + std::to_string(pos))) {
                ++refused;
                continue;
            }
            h.run(30, 40);  // whatever was accepted must run
        }
    }
    EXPECT_GT(refused, tried / 10) << "structural checks refuse most forged flips";
    RestoreReport report;
    std::string error;
    EXPECT_FALSE(h.engine().restore_checkpoint("", report, error));
    expect_fresh(h, events_);
}

TEST_F(CheckpointCorruption, ForgedTruncationsNeverCrash) {
    // A cut with a valid checksum: refused mid-section; at a section boundary it is a smaller,
    // well-formed checkpoint (fewer streams restored).
    Harness h(kRichProgram, events_);
    const size_t streams = h.plan().streams.size();
    for (size_t len = 12; len + 8 <= blob_.size(); len += 1 + len / 500) {
        std::string bad = blob_.substr(0, len) + std::string(8, '\0');
        set_checksum(bad);
        RestoreReport report;
        std::string error;
        if (h.engine().restore_checkpoint(bad, report, error)) {
            EXPECT_LT(report.streams_restored, streams) << "cut at " << len;
            EXPECT_EQ(report.streams_restored + report.streams_reset, streams);
            h.run(30, 40);
        } else {
            EXPECT_EQ(error.rfind("checkpoint corrupt: ", 0), 0u) << "cut at " << len << ": " << error;
        }
    }
    RestoreReport report;
    std::string error;
    EXPECT_FALSE(h.engine().restore_checkpoint("VPCK", report, error));
    expect_fresh(h, events_);
}

TEST_F(CheckpointCorruption, RefusesWrongMagicAndVersion) {
    Harness h(kRichProgram, events_);
    std::string bad = blob_;
    bad[0] = 'X';
    RestoreReport report;
    std::string error;
    EXPECT_FALSE(h.engine().restore_checkpoint(bad, report, error));
    EXPECT_NE(error.find("bad magic"), std::string::npos) << error;

    bad = blob_;
    bad[8] = static_cast<char>(999 & 0xFF);
    bad[9] = static_cast<char>(999 >> 8);
    set_checksum(bad);
    EXPECT_FALSE(h.engine().restore_checkpoint(bad, report, error));
    EXPECT_EQ(error, "checkpoint format version 999 not supported (this build reads 1)");
    expect_fresh(h, events_);
}

TEST_F(CheckpointCorruption, RefusesTrailingGarbage) {
    Harness h(kRichProgram, events_);
    std::string bad = blob_.substr(0, blob_.size() - 8) + std::string("\x02\x01\x00\x00\x00\x00\x00\x00\x00", 9) + "        ";
    set_checksum(bad);
    RestoreReport report;
    std::string error;
    EXPECT_FALSE(h.engine().restore_checkpoint(bad, report, error)) << "a section running past the end";
    EXPECT_NE(error.find("checkpoint corrupt"), std::string::npos) << error;
    expect_fresh(h, events_);
}

TEST_F(CheckpointCorruption, RestoresAfterAFailedAttempt) {
    Harness h(kRichProgram, events_);
    RestoreReport report;
    std::string error;
    EXPECT_FALSE(h.engine().restore_checkpoint(blob_.substr(0, 100), report, error));
    ASSERT_TRUE(h.engine().restore_checkpoint(blob_, report, error)) << error;
    EXPECT_EQ(report.events_restored, 30u);
    EXPECT_TRUE(h.engine().save_checkpoint() == blob_);
}

// ------------------------------------------------------------------ hot reload

const char* kReloadV1 = R"(stream S1 = Tick
    .window(10s)
    .aggregate(n: count(), s: sum(v))
    .emit(n: n, s: s)
stream S2 = Login as l
    -> Buy where amount > 10 as b
    .emit(user: l.user, amount: b.amount)
)";

// Same program but S2's filter.
const char* kReloadV2 = R"(stream S1 = Tick
    .window(10s)
    .aggregate(n: count(), s: sum(v))
    .emit(n: n, s: s)
stream S2 = Login as l
    -> Buy where amount > 20 as b
    .emit(user: l.user, amount: b.amount)
)";

TEST(CheckpointReload, KeepsUnchangedStreamsAndResetsChangedOnes) {
    const std::string first = "@0 Tick { v: 1 }\n@1000 Tick { v: 2 }\n@2000 Login { user: \"u\" }\n@3000 Tick { v: 4 }\n";
    const std::string second = "@4000 Buy { amount: 50 }\n@5000 Tick { v: 8 }\n@12000 Tick { v: 100 }\n";
    Harness v1(kReloadV1, first);
    ASSERT_TRUE(v1.ok()) << v1.error();
    v1.run(0, v1.size());
    std::string blob = v1.engine().save_checkpoint();

    Harness v2(kReloadV2, second);
    ASSERT_TRUE(v2.ok()) << v2.error();
    RestoreReport report;
    std::string error;
    ASSERT_TRUE(v2.engine().restore_checkpoint(blob, report, error)) << error;
    EXPECT_EQ(report.streams_restored, 1u) << "S1 unchanged";
    EXPECT_EQ(report.streams_reset, 1u) << "S2's definition changed";
    EXPECT_EQ(report.events_restored, 4u);
    v2.run(0, v2.size());
    v2.finish();
    // S1's window [0, 10s) kept 1 + 2 + 4 from v1 and closes at 12000 with 8 added.
    // S2 lost its open run (Login u), so Buy 50 completes nothing.
    EXPECT_EQ(v2.outputs(), (std::vector<std::string>{"S1|S1|5000|{n: 4, s: 15}"}));

    // Same inputs without the reload: S2 would have matched (Buy 50 > 10 after Login u).
    Harness v1b(kReloadV1, first + second);
    v1b.run(0, v1b.size());
    v1b.finish();
    EXPECT_EQ(v1b.outputs(),
              (std::vector<std::string>{"S2|S2|4000|{user: \"u\", amount: 50}", "S1|S1|5000|{n: 4, s: 15}"}));
}

TEST(CheckpointReload, IgnoresStreamsTheNewProgramDropped) {
    Harness v1(kReloadV1, "@0 Tick { v: 1 }\n@1 Login { user: \"u\" }\n");
    v1.run(0, v1.size());
    std::string blob = v1.engine().save_checkpoint();
    Harness only_s1("stream S1 = Tick\n    .window(10s)\n    .aggregate(n: count(), s: sum(v))\n    .emit(n: n, s: s)\n",
                    "@20000 Tick { v: 5 }\n");
    RestoreReport report;
    std::string error;
    ASSERT_TRUE(only_s1.engine().restore_checkpoint(blob, report, error)) << error;
    EXPECT_EQ(report.streams_restored, 1u);
    EXPECT_EQ(report.streams_reset, 0u);
    only_s1.run(0, only_s1.size());
    EXPECT_EQ(only_s1.outputs(), (std::vector<std::string>{"S1|S1|0|{n: 1, s: 1}"}));
}

TEST(CheckpointReload, FindsStreamsAndSchemasThatMovedInTheNewProgram) {
    // v2 declares a new stream first and swaps S1 and S2: every schema index moves.
    const char* v2 = R"(stream S0 = Other
    .window(2)
    .aggregate(n: count())
    .emit(n: n)
stream S2 = Login as l
    -> Buy where amount > 10 as b
    .emit(user: l.user, amount: b.amount)
stream S1 = Tick
    .window(10s)
    .aggregate(n: count(), s: sum(v))
    .emit(n: n, s: s)
)";
    Harness a(kReloadV1, "@0 Tick { v: 1 }\n@1000 Login { user: \"u\" }\n@2000 Tick { v: 2 }\n");
    ASSERT_TRUE(a.ok()) << a.error();
    a.run(0, a.size());
    Harness b(v2, "@3000 Buy { amount: 50 }\n@4000 Other {}\n@5000 Other {}\n@11000 Tick { v: 4 }\n");
    ASSERT_TRUE(b.ok()) << b.error();
    RestoreReport report;
    std::string error;
    ASSERT_TRUE(b.engine().restore_checkpoint(a.engine().save_checkpoint(), report, error)) << error;
    EXPECT_EQ(report.streams_restored, 2u);
    EXPECT_EQ(report.streams_reset, 1u) << "S0 is new";
    b.run(0, b.size());
    EXPECT_EQ(b.outputs(), (std::vector<std::string>{"S2|S2|3000|{user: \"u\", amount: 50}", "S0|S0|5000|{n: 2}",
                                                     "S1|S1|2000|{n: 2, s: 3}"}));
}

TEST(CheckpointReload, KeepsVarValuesAcrossVersions) {
    const char* v1 = "var total = 0\nfn add(x: int):\n    total := total + x\n    emit T(t: total)\nstream P = E\n    .process(add(v))\n";
    const char* v2 = "var total = 0\nconst extra = 1\nfn add(x: int):\n    total := total + x\n    emit T(t: total)\nstream P = E\n    .process(add(v))\n";
    Harness a(v1, "@0 E { v: 5 }\n@1 E { v: 7 }\n");
    a.run(0, a.size());
    Harness b(v2, "@2 E { v: 1 }\n");
    RestoreReport report;
    std::string error;
    ASSERT_TRUE(b.engine().restore_checkpoint(a.engine().save_checkpoint(), report, error)) << error;
    b.run(0, b.size());
    EXPECT_EQ(b.outputs(), (std::vector<std::string>{"P|T|2|{t: 13}"})) << "the var kept its running value";
}

}  // namespace
}  // namespace varpulis::runtime
