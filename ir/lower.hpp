#pragma once
// AST -> plan IR.

#include <optional>

#include "frontend/ast.hpp"
#include "frontend/checker.hpp"
#include "frontend/diagnostic.hpp"
#include "ir/plan.hpp"

namespace varpulis::ir {

/// Lowers a checked program. Load errors (constructs the engine cannot run) are added to
/// `diags` with their source position; returns nullopt when there are any.
std::optional<Plan> lower_program(const frontend::Program& program, const frontend::ProgramSymbols& symbols,
                                  frontend::DiagnosticBag& diags);

/// Checks IR invariants (slot and index ranges, schema references). Returns an empty string
/// when the plan is well formed, else a description of the first violation.
std::string validate_plan(const Plan& plan);

}  // namespace varpulis::ir
