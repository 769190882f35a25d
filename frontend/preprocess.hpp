#pragma once
// Source pre-processing of VPL.md §1: compile-time `for` loop expansion, the bracket
// nesting limit, and block markers (INDENT/DEDENT) for indentation-sensitive blocks.

#include "frontend/diagnostic.hpp"
#include "frontend/source.hpp"

namespace varpulis::frontend {

/// Rewrites file.text() in place. Block markers (SourceFile::kIndent / kDedent) are appended
/// at the end of lines (before the newline), so every token keeps its line and column:
/// the INDENT after a block-opening line (`fn`, `if`, `elif`, `else:`, `for`, `while`,
/// `config:`, `event` ending with `:`) when the next significant line is indented deeper, and
/// one DEDENT per closed block at the end of the block's last significant line.
/// Returns false (with errors in diags) on loop-expansion errors, nesting beyond 24 levels or
/// control characters in the source.
bool preprocess(SourceFile& file, DiagnosticBag& diags);

}  // namespace varpulis::frontend
