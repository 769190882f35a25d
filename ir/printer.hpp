#pragma once
// Text forms of a plan: the IR dump (`explain --dump-ir`, golden-tested, stable) and the
// human-readable plan (`explain`).

#include <string>

#include "ir/plan.hpp"

namespace varpulis::ir {

/// Every schema, global, function and stream with its operators; slots shown as `$slot:name`.
std::string dump_ir(const Plan& plan);

/// Per stream: what it reads, what each operator does (predicates, windows, partitioning,
/// pattern states) and what it outputs.
std::string explain_plan(const Plan& plan);

/// One expression in source-like syntax; `schema` names the slots of Field nodes.
std::string expr_to_string(const Plan& plan, const Expr* e, bool with_slots);

}  // namespace varpulis::ir
