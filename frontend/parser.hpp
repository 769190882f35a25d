#pragma once
// The VPL parser (Boost.Spirit X3; the grammar lives in grammar.cpp only).

#include <optional>

#include "frontend/ast.hpp"
#include "frontend/diagnostic.hpp"
#include "frontend/source.hpp"

namespace varpulis::frontend {

/// Parses the pre-processed text of `file` (see preprocess()). On success returns the
/// program; on a syntax error returns nullopt with at least one error in diags, anchored as
/// FORMATS.md §3.6 says (unexpected token; opening quote of an unterminated string; first
/// character of a literal that does not fit). Never throws on any input.
std::optional<Program> parse_program(const SourceFile& file, DiagnosticBag& diags);

}  // namespace varpulis::frontend
