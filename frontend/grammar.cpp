#include "frontend/parser.hpp"

namespace varpulis::frontend {
std::optional<Program> parse_program(const SourceFile&, DiagnosticBag& diags) {
    diags.error({}, "parse", "parser not implemented yet");
    return std::nullopt;
}
}  // namespace varpulis::frontend
