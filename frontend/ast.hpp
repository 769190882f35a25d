#pragma once
// The VPL abstract syntax tree. Produced by the parser, read by the checker, the AST JSON
// dump and the IR lowering. Every node carries the span of its first token (and usually its
// whole extent) in SourceFile::text().
//
// Nodes are shared_ptr-held so the X3 grammar can build them in semantic actions without
// fighting attribute propagation; the tree is built once per program and is never on a hot path.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "frontend/source.hpp"

namespace varpulis::frontend {

struct Expr;
struct Stmt;
using ExprPtr = std::shared_ptr<Expr>;
using StmtPtr = std::shared_ptr<Stmt>;

// ---------------------------------------------------------------- types (documentation only)

/// `int`, `float`, `Name`, `[T]`, `{K: V}`, `(A, B)`, `Stream<T>`, `T?`.
struct TypeExpr {
    enum class Kind { Named, Array, Map, Tuple, Stream, Optional };
    Kind kind = Kind::Named;
    std::string name;             // Named: `int`, `float`, `bool`, `str`, `timestamp`, `duration` or a user name
    std::vector<TypeExpr> args;   // element / key,value / tuple members / stream item / optional inner
    SourceSpan span;
};

// ---------------------------------------------------------------- expressions

enum class ExprKind {
    Null,
    Bool,       // bool_value
    Int,        // int_value
    Float,      // float_value
    String,     // text (escapes \" \\ \n \t decoded)
    Duration,   // int_value = nanoseconds (u64 stored in i64 bits; see duration_ns())
    Timestamp,  // int_value = nanoseconds since the Unix epoch
    Ident,      // text = name
    Member,     // args[0].text ; `a.b` (text = "b")
    OptMember,  // args[0]?.text
    Index,      // args[0][args[1]]
    Slice,      // args[0][args[1]:args[2]] ; missing bounds are nullptr
    Call,       // callee = args[0] (usually Ident; Member for method-call syntax `x.len()`), arguments = args[1..]
    Unary,      // unary_op args[0]
    Binary,     // args[0] binary_op args[1]
    Range,      // args[0] .. args[1] ; inclusive
    If,         // if args[0] then args[1] else args[2]
    Array,      // [args...]
    Map,        // {names[i]: args[i]}
    Lambda,     // names = params; args[0] = body expression; body = statements before it (block form)
};

enum class UnaryOp { Neg, BitNot, Not };

enum class BinaryOp {
    Or, And, Xor,
    Eq, Ne, Lt, Le, Gt, Ge, In, NotIn, Is,
    BitOr, BitXor, BitAnd, Shl, Shr,
    Add, Sub, Mul, Div, Mod, Pow,
};

/// How an operator is written in VPL (`+`, `not in`, `**` ...).
const char* binary_op_text(BinaryOp op);

struct Expr {
    ExprKind kind = ExprKind::Null;
    SourceSpan span;                 // whole expression
    UnaryOp unary_op = UnaryOp::Neg;
    BinaryOp binary_op = BinaryOp::Add;
    bool bool_value = false;
    bool inclusive = false;          // Range: `..=`
    int64_t int_value = 0;
    double float_value = 0.0;
    std::string text;
    std::vector<ExprPtr> args;
    std::vector<std::string> names;  // Map keys, Call argument names ("" when positional), Lambda params
    std::vector<StmtPtr> body;       // Lambda block statements

    uint64_t duration_ns() const { return static_cast<uint64_t>(int_value); }
};

/// `name: expr`, or a bare `expr` (name empty). Used by operator argument lists, connector
/// parameters, `.emit`, `.select`, `.aggregate` items and the like.
struct Arg {
    std::string name;
    SourceSpan name_span;
    ExprPtr value;    // null for `.select(name)` shorthand: the item copies field `name`
    bool desc = false;  // `.order_by(e desc)`
};

// ---------------------------------------------------------------- stream sources

/// One `-> [all] Type [where filter] [as alias]` step, or the first element of a chain.
struct FollowedByStep {
    bool all = false;
    std::string type;
    SourceSpan type_span;
    ExprPtr where;       // may be null
    std::string alias;   // may be empty
    SourceSpan alias_span;
    SourceSpan span;     // from `->` (or the type for the chain head)
};

/// merge(...) / join(...) entry: `Name` or `stream Label = Name .where(e)` / `.on(e)`.
struct InlineStream {
    std::string label;   // empty for the bare form
    std::string name;
    SourceSpan name_span;
    ExprPtr filter;      // merge: where; join: on ; may be null
    SourceSpan span;
};

/// sequence(alias: Type where e .within(d), ...)
struct SequenceStep {
    std::string alias;
    std::string type;
    SourceSpan type_span;
    ExprPtr where;
    ExprPtr within;      // parsed and ignored
    SourceSpan span;
};

struct StreamSource {
    enum class Kind { Name, From, Merge, Join, Sequence, Timer };
    Kind kind = Kind::Name;
    std::string name;              // Name / From: the subscribed name
    SourceSpan name_span;
    std::string alias;             // `Name as a`
    bool all = false;              // `all Name as a`
    std::vector<Arg> params;       // From: (Conn, k: v...) with params[0].value = Ident(Conn); Timer: args
    std::vector<InlineStream> inlines;   // Merge / Join
    std::vector<SequenceStep> steps;     // Sequence
    SourceSpan span;
};

// ---------------------------------------------------------------- stream operators

enum class OpKind {
    Where, Select, Emit, Window, Aggregate, Having, PartitionBy, Within, Not, FollowedBy,
    TrendAggregate, Print, Log, To, Distinct, Limit, First, Filter, Process, Pattern, On,
    Context, Watermark, AllowedLateness, Forecast, Enrich, Score, OrderBy, Map, Tap, Collect,
    OnError, Fork, Any, All, Concurrent, Strategy,
};

/// `.pattern(name: ...)` body in its non-lambda form: `A -> B and not C` over event types.
struct PatternOpExpr {
    enum class Kind { Or, And, Xor, Not, Chain };
    Kind kind = Kind::Chain;
    std::vector<PatternOpExpr> children;
    std::vector<std::string> chain;    // Chain: IDENT (-> IDENT)*
    SourceSpan span;
};

struct StreamOp {
    OpKind kind = OpKind::Where;
    SourceSpan span;        // the `.` of the operator (the `->` of a followed-by step)
    std::string name;       // operator name as written (for messages)
    /// Arguments in written order. Where/Filter/Having/On/Process/Map/OnError/Within/
    /// AllowedLateness/Distinct/Limit: args[0].value. PartitionBy/Context/Strategy: an Ident.
    /// Emit/Select/Aggregate/TrendAggregate/Log/Tap/Concurrent/Forecast/Score/Watermark: named items.
    /// Window: positional size then named `sliding`/`session`/`policy`. To/Enrich: Ident(Conn), named params.
    std::vector<Arg> args;
    std::string emit_as;            // `.emit as Type (...)`
    SourceSpan emit_as_span;
    FollowedByStep step;            // FollowedBy
    std::string not_type;           // Not: `.not(Type where e)`
    SourceSpan not_type_span;
    ExprPtr not_where;
    std::string pattern_name;       // Pattern: `.pattern(name: ...)`
    std::optional<PatternOpExpr> pattern_expr;   // else args[0].value is the lambda
    std::vector<std::pair<std::string, std::vector<StreamOp>>> fork_paths;  // Fork
};

// ---------------------------------------------------------------- SASE+ patterns

struct SaseExpr {
    enum class Kind { Seq, And, Or, Not, Ref };
    Kind kind = Kind::Ref;
    std::vector<SaseExpr> children;   // Seq items (each a Ref, possibly negated), And/Or operands, Not operand
    // Ref:
    std::string type;
    SourceSpan type_span;
    char kleene = 0;        // 0, '+', '*', '?'
    bool negated = false;   // `NOT X` as a SEQ item
    ExprPtr where;
    std::string alias;
    SourceSpan alias_span;
    SourceSpan span;
};

// ---------------------------------------------------------------- statements

struct EventField {
    std::string name;
    SourceSpan name_span;
    TypeExpr type;
    bool optional = false;
};

struct EventDecl {
    std::string name;
    SourceSpan name_span;
    std::string extends;
    std::vector<EventField> fields;
};

struct TypeDecl {
    std::string name;
    SourceSpan name_span;
    TypeExpr type;
};

struct StreamDecl {
    std::string name;
    SourceSpan name_span;
    std::optional<TypeExpr> type;
    StreamSource source;
    std::vector<StreamOp> ops;
};

struct PatternDecl {
    std::string name;
    SourceSpan name_span;
    SaseExpr expr;
    ExprPtr within;           // Duration literal or null
    std::string partition_by;
    SourceSpan partition_span;
    std::string strategy;     // empty = default
    SourceSpan strategy_span;
};

struct ConnectorDecl {
    std::string name;
    SourceSpan name_span;
    std::string type;         // mqtt, kafka, console, ...
    std::vector<Arg> params;  // named config values
};

/// `let` / `var` / `const`.
struct VarDecl {
    enum class Kind { Let, Var, Const };
    Kind kind = Kind::Let;
    std::string name;
    SourceSpan name_span;
    std::optional<TypeExpr> type;
    ExprPtr value;
};

struct Param {
    std::string name;
    SourceSpan name_span;
    TypeExpr type;
};

struct FnDecl {
    std::string name;
    SourceSpan name_span;
    std::vector<Param> params;
    std::optional<TypeExpr> ret;
    std::vector<StmtPtr> body;
};

struct ContextDecl {
    std::string name;
    SourceSpan name_span;
    std::vector<int64_t> cores;
};

struct ConfigBlock {
    std::string name;         // "default" for `config:` blocks
    SourceSpan name_span;
    std::vector<Arg> items;
};

struct ImportStmt {
    std::string path;
    std::string alias;
};

struct IfStmt {
    /// cond[i] guards blocks[i]; an `else` block is the last entry of blocks with no cond.
    std::vector<ExprPtr> conds;
    std::vector<std::vector<StmtPtr>> blocks;
};

struct ForStmt {
    std::string var;
    SourceSpan var_span;
    ExprPtr iterable;
    std::vector<StmtPtr> body;
};

struct WhileStmt {
    ExprPtr cond;
    std::vector<StmtPtr> body;
};

struct ReturnStmt {
    ExprPtr value;   // may be null
};

struct BreakStmt {};
struct ContinueStmt {};

/// `emit Type(name: e, ...)` inside functions.
struct EmitStmt {
    std::string type;
    SourceSpan type_span;
    std::vector<Arg> fields;
};

struct AssignStmt {
    std::string name;
    SourceSpan name_span;
    ExprPtr value;
};

struct ExprStmt {
    ExprPtr expr;
};

struct Stmt {
    SourceSpan span;   // first token of the statement
    std::variant<EventDecl, TypeDecl, StreamDecl, PatternDecl, ConnectorDecl, VarDecl, FnDecl,
                 ContextDecl, ConfigBlock, ImportStmt, IfStmt, ForStmt, WhileStmt, ReturnStmt,
                 BreakStmt, ContinueStmt, EmitStmt, AssignStmt, ExprStmt>
        node;
};

struct Program {
    std::vector<StmtPtr> statements;
};

}  // namespace varpulis::frontend
