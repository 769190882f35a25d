#pragma once
// The AST as one JSON document, printed by `varpulis parse FILE` (FORMATS.md §3.6: node
// layout implementation-defined). The layout below is ours and stable: same AST, same bytes.
//
// Document: {"statements": [STMT...]}. Every node is an object whose first key is "kind"
// (stream operators: "op"); nodes that carry a span (statements, expressions, stream
// sources, operators, followed-by steps, SASE nodes) continue with "line" and "column"
// (original 1-based position of span.begin, via SourceFile::locate). The node's members
// follow in a fixed order. Absent things are omitted rather than null: a null ExprPtr, an
// empty std::optional, and "may be empty" names (alias, extends, emit_as, ...). Types are
// rendered as text: "int", "[int]", "{str: float}", "(int, str)", "Stream<Tick>", "str?".
//
// Expressions ("kind"):
//   null | bool {value} | int {value: integer} | float {value: double, always written with
//   a '.' or exponent} | string {value} | duration {ns: unsigned} | timestamp {ns}
//   | ident {name} | member / opt_member {object, name} | index {object, index}
//   | slice {object, begin?, end?} | call {callee, args: [ARG]} | unary {op, operand}
//   | binary {op, left, right} | range {start, end, inclusive} | if {cond, then, else}
//   | array {items} | map {entries: [{key, value}]} | lambda {params, body: [STMT], result}
//   Operators are written as in VPL: "-", "~", "not", "or", "and", "xor", "==", "!=", "<",
//   "<=", ">", ">=", "in", "not in", "is", "|", "^", "&", "<<", ">>", "+", "-", "*", "/",
//   "%", "**".
// ARG (operator arguments, call arguments, params, emit fields): {name?, value?, desc?}.
// Statements ("kind"):
//   event {name, extends?, fields: [{name, type, optional}]} | type {name, type}
//   | stream {name, type?, source, ops} | pattern {name, expr: SASE, within?, partition_by?,
//   strategy?} | connector {name, type, params} | let / var / const {name, type?, value?}
//   | fn {name, params: [{name, type}], returns?, body} | context {name, cores}
//   | config {name, items} | import {path, alias?} | if {branches: [{cond?, body}]}
//   | for {var, iterable, body} | while {cond, body} | return {value?} | break | continue
//   | emit {type, fields} | assign {name, value} | expr {expr}
// Stream source: {kind: name|from|merge|join|sequence|timer, line, column, name, alias, all,
//   params: [ARG], inlines: [{label?, name, filter?}], steps: [{alias, type, where?, within?}]}.
// Stream operator: {op: "where"|"select"|...|"partition_by"|"followed_by"|..., line, column,
//   args: [ARG], emit_as?, step? (followed_by: {kind: "step", line, column, all, type, where?,
//   alias?}), not? (not: {type, where?}), pattern_name? and pattern? (pattern: nested
//   {kind: or|and|xor|not|chain, children | chain}), paths? (fork: [{name, ops}])}.
// SASE: {kind: seq|and|or|not|ref, line, column, children} ; ref: {type, kleene?, negated,
//   where?, alias?}.

#include <string>

#include <boost/json/fwd.hpp>

#include "frontend/ast.hpp"
#include "frontend/source.hpp"

namespace varpulis::frontend {

/// The program as a pretty-printed JSON document (2-space indentation, keys in the fixed
/// order above, no trailing newline). Deterministic; valid UTF-8 (invalid bytes in names or
/// strings become U+FFFD). Never throws except std::bad_alloc.
std::string ast_to_json(const Program& program, const SourceFile& file);

/// The same document as a Boost.JSON value (object keys in insertion order).
boost::json::value ast_to_json_value(const Program& program, const SourceFile& file);

/// Pretty-prints any JSON value the way ast_to_json does: 2-space indentation, object keys
/// in insertion order, doubles always recognisable as doubles ("1.0", "2.5e+20"),
/// non-finite doubles as null, strings escaped and repaired to valid UTF-8.
std::string to_pretty_json(const boost::json::value& value);

}  // namespace varpulis::frontend
