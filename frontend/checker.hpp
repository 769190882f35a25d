#pragma once
// Semantic analysis of a parsed program: name resolution, operator placement, function and
// aggregate arity, static kind checks (VPL.md §13).

#include <map>
#include <string>
#include <vector>

#include "frontend/ast.hpp"
#include "frontend/diagnostic.hpp"

namespace varpulis::frontend {

/// Static kind of an expression where the checker can tell it; Unknown otherwise.
enum class StaticKind { Unknown, Null, Bool, Int, Float, Number, Str, Timestamp, Duration, Array, Map };

const char* static_kind_name(StaticKind k);

/// What the checker learned about the program's top-level names. Pointers refer into the
/// Program passed to check_program and live as long as it.
struct ProgramSymbols {
    std::map<std::string, const EventDecl*> events;
    std::map<std::string, const StreamDecl*> streams;
    std::map<std::string, const PatternDecl*> patterns;
    std::map<std::string, const FnDecl*> functions;
    std::map<std::string, const ConnectorDecl*> connectors;
    std::map<std::string, const ContextDecl*> contexts;
    /// Global variables: name -> mutable?
    std::map<std::string, bool> globals;
    /// Declared field kinds per event type (from `event` declarations, following `extends`).
    std::map<std::string, std::map<std::string, StaticKind>> declared_fields;
};

/// Checks `program`. Errors and warnings go to `diags`; returns false when there are errors.
bool check_program(const Program& program, DiagnosticBag& diags, ProgramSymbols& symbols);

/// Number of top-level statements (after loop expansion), as `check` reports it.
inline size_t statement_count(const Program& p) { return p.statements.size(); }

}  // namespace varpulis::frontend
