#pragma once
// Seeded random differential testing of whole queries: a generator of VPL programs (filters,
// projections, windows, aggregates, sequences, Kleene closures, negation, AND/OR patterns,
// distinct, limit, merge, stream-to-stream chains) and `.evt` event streams, a runner that
// feeds each case through the interpreter and through JIT kernels (from the first event, with a
// swap after k events, and swapped back), and a greedy minimiser for mismatches.
//
// Determinism: every random choice comes from std::mt19937_64, whose output sequence the C++
// standard fixes, reduced by our own arithmetic (no std::*_distribution), so a seed names the
// same case on every standard library and platform.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace varpulis::jit {
class JitCompiler;
}

namespace varpulis::test_support::random_query {

/// A VPL expression as a tree of text pieces; rendered fully parenthesised, so precedence and
/// VPL's "one comparison / one `not` per level" rules never matter.
struct Expr {
    enum class Kind { Leaf, Unary, Binary, Call, If, Array };
    Kind kind = Kind::Leaf;
    std::string text;  // the literal or name (Leaf), the operator (Unary, Binary), the function (Call)
    std::vector<Expr> kids;
};

/// `name: expr` (select/emit/aggregate items) or a bare expression (where/having: empty name).
struct Item {
    std::string name;
    Expr expr;
};

/// One `.op(...)` of a stream. `args` is rendered verbatim for window/limit/partition_by/within;
/// `not_type` + `items[0]` form `.not(T where e)`.
struct Op {
    std::string name;
    std::vector<Item> items;
    std::string args;
    std::string not_type;
};

/// One step of a followed-by chain or a `SEQ(...)` item.
struct Step {
    std::string type;
    std::string quant;     // "", "all" (chain), "+", "*", "?" (SEQ)
    bool negated = false;  // `NOT T` inside SEQ
    bool has_where = false;
    Expr where;
    std::string alias;
};

struct MergePart {
    std::string label;  // empty: plain name
    std::string type;
    bool has_where = false;
    Expr where;
};

struct Stream {
    enum class Source { Name, Chain, Merge, Join };
    std::string name;
    Source source = Source::Name;
    std::string from;               // Name: event type, earlier stream or named pattern
    std::vector<Step> steps;        // Chain
    std::vector<MergePart> merge;   // Merge
    std::vector<std::string> join;  // Join: the sources
    std::vector<Op> ops;
};

struct Pattern {
    std::string name;
    std::string form;  // "SEQ", "AND", "OR"
    std::vector<Step> steps;
    std::string within;     // duration literal or empty
    std::string partition;  // field or empty
    std::string strategy;   // SEQ only: a strategy clause, or empty (the default)
};

struct Global {
    std::string decl;  // "let" / "var"
    std::string name;
    std::string value;
};

struct Program {
    bool declare_events = true;
    std::vector<std::string> event_types;
    std::vector<Global> globals;
    std::vector<std::string> functions;  // whole `fn` declarations (two number parameters)
    std::vector<Pattern> patterns;
    std::vector<Stream> streams;
};

struct EventField {
    std::string name;
    std::string value;  // `.evt` value text
};

struct Event {
    std::string type;
    int64_t ts = 0;
    std::vector<EventField> fields;
};

struct Case {
    uint64_t seed = 0;
    Program program;
    std::vector<Event> events;
    long swap_at = 1;  // kernels installed after this many events
};

/// Generator features that can be switched off, e.g. while a known interpreter/JIT mismatch
/// is open (the skip list in default_options()).
struct GenOptions {
    bool windows = true;
    bool aggregates = true;
    bool sequences = true;
    bool trends = true;          // `.trend_aggregate` after chains and SEQ patterns
    bool patterns = true;
    bool merges = true;
    bool joins = true;
    bool chains = true;  // stream-to-stream
    bool distinct_limit = true;
    bool globals = true;
    bool functions = true;       // user `fn`s called from expressions
    bool wrong_kinds = true;  // wrong-kind and special values in events
    size_t min_events = 20;
    size_t max_events = 200;
};

/// The options the CI test and the long-running driver use: everything, minus the skip list.
GenOptions default_options();

Case generate_case(uint64_t seed, const GenOptions& options);

std::string render_program(const Program& program);
std::string render_events(const std::vector<Event>& events);
std::string render_expr(const Expr& e);

enum class Verdict {
    Agree,
    Mismatch,   // some mode's output differs from the interpreter's
    Rejected,   // the program does not compile (a generator bug when fresh from generate_case)
    BadEvents,  // the `.evt` text does not read (a generator bug)
    JitFailed,  // the JIT returned an error
};

struct Outcome {
    Verdict verdict = Verdict::Agree;
    std::string detail;       // diagnostics, or which mode differs and the two outputs
    size_t outputs = 0;       // output lines of the interpreter run
    size_t compiled_ops = 0;  // operators the JIT compiled (the rest run interpreted)
    size_t folds = 0;         // windows whose kept rows a fold kernel aggregates
    size_t trends = 0;        // trend aggregates whose GRETA update is a trend kernel
};

/// Runs cases through runtime::Engine in four modes and compares the rendered outputs (JSON
/// lines, `.print` text and cap counters) byte for byte: interpreter; kernels from the first
/// event; kernels installed after `swap_at` events; kernels from the start and swapped back to
/// the interpreter after `swap_at` events; and on rows prepared beforehand (Engine::prepare,
/// Engine::process_batch, so type kernels run): interpreted, compiled from the first event, and
/// with kernels installed after `swap_at` events. Not thread-safe; one per thread.
class Runner {
public:
    /// `opt_level` of the JIT (0 compiles several times faster than 2).
    Runner(int opt_level, std::string& error);
    ~Runner();
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    bool ok() const { return jit_ != nullptr; }
    Outcome run(const Case& c);
    /// Greedy minimisation of a mismatching case: drops streams, patterns, globals, operators,
    /// steps, items and events, and simplifies expressions, keeping each change that still
    /// mismatches. At most `budget` candidate runs.
    Case minimise(const Case& c, size_t budget = 4000);

    /// Adds a fifth mode like `simulate --engine auto`: a second thread fetches the compiled
    /// plan and installs it while the engine thread runs, so the swap lands at whatever event
    /// boundary the race gives (not reproducible from the seed alone; meant for TSan runs).
    void set_background_swap(bool on) { background_ = on; }

    /// Test hook: applied to the output of every run that uses kernels, to check that a
    /// difference is caught, minimised and reported.
    void inject_fault_for_testing(std::function<void(std::string&)> fault) { fault_ = std::move(fault); }

private:
    std::unique_ptr<jit::JitCompiler> jit_;
    std::function<void(std::string&)> fault_;
    bool background_ = false;
};

/// What to print for a failing case: the seed, how to reproduce, the (minimised) program and
/// events, and the differing outputs.
std::string report(const Case& original, const Case& minimised, const Outcome& outcome);

}  // namespace varpulis::test_support::random_query
