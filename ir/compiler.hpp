#pragma once
// The whole front half in one call: pre-process, parse, check, lower.

#include <optional>
#include <string>

#include "frontend/ast.hpp"
#include "frontend/checker.hpp"
#include "frontend/diagnostic.hpp"
#include "frontend/source.hpp"
#include "ir/plan.hpp"

namespace varpulis::ir {

enum class CompileStage { Parse, Check, Lower };

/// Everything the stages produced. `symbols` points into `program`; keep them together.
struct Compilation {
    frontend::SourceFile file;
    frontend::DiagnosticBag diags;
    std::optional<frontend::Program> program;
    frontend::ProgramSymbols symbols;
    std::optional<Plan> plan;
    bool ok() const { return !diags.has_errors(); }
};

/// Runs the stages up to `upto`, stopping at the first stage with errors. Never throws for
/// bad input.
std::unique_ptr<Compilation> compile_source(std::string file_name, std::string text, CompileStage upto);

}  // namespace varpulis::ir
