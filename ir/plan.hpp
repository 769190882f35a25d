#pragma once
// The plan IR: what a VPL program does, with every name resolved. Both the reference
// interpreter (runtime/) and the LLVM code generator (codegen/) consume it.
//
// Layout in one paragraph: every routing name (raw event type or stream name) has a Schema,
// the ordered list of fields that some consumer reads; an event routed under that name is a
// row with one 16-byte value slot per schema field. Each operator reads rows of an input
// Shape and writes rows of an output Shape (a filter keeps its shape, `.emit` makes a new one,
// a sequence makes match rows). Expressions refer to slots of their operator's input shape,
// never to field names.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontend/ast.hpp"
#include "frontend/builtins.hpp"

namespace varpulis::ir {

using frontend::SourceSpan;

/// Static kind of an expression. `Any` means "decided at run time" (slots carry a kind tag).
enum class Kind : uint8_t { Any, Null, Bool, Int, Float, Str, Timestamp, Duration, Array, Map };
const char* kind_name(Kind k);

struct Literal {
    Kind kind = Kind::Null;
    bool b = false;
    int64_t i = 0;
    double f = 0.0;
    std::string s;
};

/// Row layout of events at one point of a pipeline: field names in slot order. Every row
/// layout of a program is a Schema in Plan::schemas, referred to by index, because layouts
/// grow while the program is lowered: a field that any consumer reads is appended to the
/// schema of the events it reads (slots never move).
enum class SchemaKind : uint8_t {
    Event,    // a routing name (raw event type or stream output): open, consumers add fields
    Closed,   // a fixed field list (`.emit`, `.select`, `.aggregate`, trend results)
    Match,    // sequence match rows: `stream`, `match_duration_ms`, then alias_field slots
    Joined,   // join rows: `Src.f`, `Type.f`, bare `f` slots
    Dynamic,  // `.process` outputs: any fields, looked up by name when forwarded
    Merged,   // merge(...) rows: each field taken from the slot of the input the event came from
};

/// Where a generated (Match/Joined) slot gets its value.
struct FieldOrigin {
    enum class From : uint8_t { StreamName, MatchDuration, Alias, AliasCount, JoinSource, MergeInput };
    From from = From::Alias;
    /// Alias: (alias index, slot in the alias's schema); AliasCount: (alias index, -1);
    /// JoinSource: candidates in order (source index, slot in that source's schema), first
    /// present wins; MergeInput: (input index, slot in that input's schema) per input.
    std::vector<std::pair<int32_t, int32_t>> candidates;
};

struct Schema {
    std::string name;
    SchemaKind kind = SchemaKind::Event;
    std::vector<std::string> fields;
    std::vector<FieldOrigin> origins;   // Match/Joined: one per field
    int32_t owner_operator = -1;        // Match/Joined: (stream id << 16 | op index) that fills it
    int slot_of(const std::string& f) const;
};

// ---------------------------------------------------------------- expressions

enum class ExprOp : uint8_t {
    Const,      // lit
    Field,      // first present of slots[] of the current row; else global `index` when >= 0; else absent
    AliasField, // field slots[0] of the event captured by pattern alias `index` (AliasLen: count)
    AliasLen,   // number of events bound to alias `index` in this match
    Global,     // top-level variable `index`
    Local,      // function / lambda local `index`
    Unary,      // uop args[0]
    Binary,     // args[0] bop args[1] (arithmetic, comparison, membership)
    And,        // three-valued
    Or,         // three-valued
    If,         // if args[0] then args[1] else args[2]
    Call,       // builtin `fn` over args
    CallUser,   // user function `index` over args
    Method,     // name(args[0] = receiver, args[1..]) resolved at run time (lambda-style methods)
    Array,      // [args...]
    Map,        // {names[i]: args[i]}
    Index,      // args[0][args[1]]
    Slice,      // args[0][args[1]:args[2]] (null bounds allowed)
    Member,     // args[0].name on a map value
    Range,      // args[0] .. args[1] (inclusive flag)
    Lambda,     // params = locals [index, index + n); args[0] body; body statements in fn_body
};

struct Expr;
using ExprPtr = std::shared_ptr<Expr>;
struct Stmt;
using StmtPtr = std::shared_ptr<Stmt>;

struct Expr {
    ExprOp op = ExprOp::Const;
    Kind type = Kind::Any;
    Literal lit;
    frontend::UnaryOp uop = frontend::UnaryOp::Neg;
    frontend::BinaryOp bop = frontend::BinaryOp::Add;
    frontend::Builtin fn = frontend::Builtin::Abs;
    bool inclusive = false;
    int32_t index = -1;
    std::vector<uint32_t> slots;
    /// AliasField: the schema `slots` index (the alias's type). Trend predicates read the
    /// preceding event of a trend, which may be of another step's type: a row of another
    /// schema is then read by field name (names[0]).
    int32_t slot_schema = -1;
    std::string name;                // field, variable, function or method name (for printing)
    std::vector<std::string> names;  // Map keys
    std::vector<ExprPtr> args;
    std::vector<StmtPtr> body;       // Lambda block statements
    uint32_t param_count = 0;        // Lambda
    SourceSpan span;
};

// ---------------------------------------------------------------- function bodies

enum class StmtOp : uint8_t { Let, Assign, AssignGlobal, If, For, While, Return, Break, Continue, Emit, Expr };

struct Stmt {
    StmtOp op = StmtOp::Expr;
    int32_t index = -1;                   // Let/Assign/For: local; AssignGlobal: global
    std::vector<ExprPtr> exprs;           // If: conditions; others: the value / iterable / condition
    std::vector<std::vector<StmtPtr>> blocks;  // If: one per branch (+ else); For/While: body
    std::string type;                     // Emit: event type
    std::vector<std::string> names;       // Emit: field names, in order
};

struct Function {
    std::string name;
    uint32_t param_count = 0;
    uint32_t local_count = 0;   // params are locals [0, param_count)
    std::vector<StmtPtr> body;
};

struct Global {
    std::string name;
    bool is_mutable = false;
};

/// Top-level initialisation, run once at load in source order.
struct GlobalInit {
    int32_t global = -1;   // -1: a statement evaluated for effect only (ignored by the engine)
    ExprPtr value;
};

// ---------------------------------------------------------------- patterns (NFA)

enum class Quantifier : uint8_t { One, Plus, Star, Optional };
enum class Strategy : uint8_t { SkipTillNextMatch, SkipTillAnyMatch, StrictContiguity };
const char* strategy_name(Strategy s);

/// One NFA state: accepts an event of routing name `type` satisfying `predicate`.
struct NfaStep {
    std::string type;
    int32_t type_id = -1;          // index into Plan::schemas
    ExprPtr predicate;             // null = always; evaluated on the candidate row (type_id's schema)
    Quantifier quantifier = Quantifier::One;
    int32_t alias = -1;            // index into Nfa::aliases, -1 = not captured
    bool own_alias_in_predicate = false;  // the predicate reads this step's own alias (§9.4 (d), §9.11)
};

/// Kills runs when a matching event arrives. `after_step` = -1 for `.not(...)` (any open run),
/// otherwise a NOT item inside SEQ that applies to runs whose last matched step is `after_step`
/// (or earlier, through optional steps only).
struct NfaNegation {
    std::string type;
    int32_t type_id = -1;
    ExprPtr predicate;
    int32_t after_step = -1;
};

struct NfaAlias {
    std::string name;
    int32_t type_id = -1;               // schema of the captured events
    std::vector<std::string> fields;    // fields read through this alias downstream (alias_f)
};

struct Nfa {
    enum class Form : uint8_t { Sequence, And, Or };
    Form form = Form::Sequence;
    std::vector<NfaStep> steps;         // Sequence: in order; And/Or: operands
    std::vector<NfaNegation> negations;
    std::vector<NfaAlias> aliases;
    std::optional<int64_t> within_ms;
    bool trailing_negation = false;     // SEQ(A, NOT B) within D: completes at t0 + D
    std::string partition_field;        // empty = unpartitioned
    Strategy strategy = Strategy::SkipTillNextMatch;
};

// ---------------------------------------------------------------- operators

enum class OpKind : uint8_t {
    Filter,        // exprs[0]
    Select,        // exprs / names -> out shape
    Emit,          // exprs / names -> out shape; event_type_item >= 0 when a field sets the type
    Window,        // window
    Aggregate,     // aggregates; partitioned when partition_field non-empty
    Print,         // exprs (empty = whole event)
    Log,
    To,            // connector
    Distinct,      // exprs[0] or whole event
    Limit,         // limit
    Process,       // exprs[0] (a user function call that runs `emit` statements)
    Sequence,      // nfa; consumes routed events, produces match rows
    Join,          // join
    TrendAggregate,// trend
    PatternLambda, // exprs[0]: lambda over the batch
    Forecast,      // accepted, interpreted as pass-through (advanced; not implemented yet)
    Enrich,        // accepted, pass-through in simulate (async only, SEMANTICS §5.10)
};

enum class WindowKind : uint8_t { Tumbling, Sliding, Count, SlidingCount, Session };
const char* window_kind_name(WindowKind k);

struct Window {
    WindowKind kind = WindowKind::Tumbling;
    int64_t size = 0;     // ms for time windows, events for count windows, gap ms for sessions
    int64_t slide = 0;    // ms or events
    std::string partition_field;
    int32_t partition_slot = -1;
};

struct AggregateItem {
    std::string name;
    /// Tree over aggregate calls: op Const/Binary only, leaves are `calls` referenced by index
    /// through ExprOp::Local (index = call number). Kept as an expression so `sum(a) / count()`
    /// needs no special case.
    ExprPtr combine;
};

struct AggregateCall {
    frontend::AggregateFn fn = frontend::AggregateFn::Count;
    ExprPtr arg;        // evaluated per event; null for count()
    ExprPtr period;     // ema
};

struct JoinSource {
    std::string name;           // source name as written
    std::string routed_as;      // routing name it is consumed under
    int32_t type_id = -1;
    std::string key_field;      // join key field in this source's events
    int32_t key_slot = -1;
};

struct Join {
    std::vector<JoinSource> sources;
    int64_t retention_ms = 60000;  // -1: never expires (count window)
};

struct TrendItem {
    std::string name;
    frontend::TrendFn fn = frontend::TrendFn::CountTrends;
    int32_t alias = -1;            // step alias for count_events / *_trends
    std::string field;
};

struct Trend {
    Nfa nfa;
    std::vector<TrendItem> items;
};

struct Operator {
    OpKind kind = OpKind::Filter;
    SourceSpan span;
    int32_t in = -1;    // schema of the rows this operator reads
    int32_t out = -1;   // schema of the rows it writes
    std::vector<ExprPtr> exprs;
    std::vector<std::string> names;
    int32_t event_type_item = -1;
    Window window;
    std::vector<AggregateCall> calls;
    std::vector<AggregateItem> aggregates;
    std::string partition_field;
    int32_t partition_slot = -1;
    int64_t limit = 0;
    std::string connector;
    std::shared_ptr<Nfa> nfa;
    std::shared_ptr<Join> join;
    std::shared_ptr<Trend> trend;
};

/// One stream declaration.
struct StreamPlan {
    std::string name;
    int32_t id = -1;
    int32_t type_id = -1;                 // schema of the events this stream forwards (its name)
    /// forward_slots[i] = slot of the last operator's output row that fills field i of
    /// schemas[type_id] (-1: absent). Empty when the output schema is Dynamic (lookup by name).
    std::vector<int32_t> forward_slots;
    std::vector<std::string> inputs;      // routing names it subscribes to, deduplicated
    /// Merge: per input name, the filters of its entries (an event passes if some entry with its
    /// name has no filter or a true one). Empty for other sources.
    std::vector<std::pair<std::string, ExprPtr>> merge_filters;
    std::vector<Operator> ops;
    bool emits = false;                   // has an `.emit` (outputs are emitted events)
    bool has_process = false;
    SourceSpan span;
};

struct Plan {
    std::vector<Schema> schemas;
    std::vector<StreamPlan> streams;
    std::vector<Function> functions;
    std::vector<Global> globals;
    std::vector<GlobalInit> inits;
    std::vector<std::string> connectors;   // declared connector names (index = id)
    std::vector<std::string> connector_kinds;
    /// routes[type_id] = stream ids subscribed to that routing name, in declaration order.
    std::vector<std::vector<int32_t>> routes;

    /// Schema index of a routing name, or -1.
    int32_t routing_schema(const std::string& name) const;
};

}  // namespace varpulis::ir
