#pragma once
// User-facing errors and warnings about a VPL program. Collected, never thrown.

#include <string>
#include <vector>

#include "frontend/source.hpp"

namespace varpulis::frontend {

enum class Severity { Error, Warning };

/// One finding: where, how bad, a code from the catalogue of VPL.md §13 (or "parse"),
/// a message that names the offending identifier or token, and an optional hint.
struct Diagnostic {
    SourceSpan span;
    Severity severity = Severity::Error;
    std::string code;
    std::string message;
    std::string hint;
};

/// Ordered collection of diagnostics for one source file.
class DiagnosticBag {
public:
    void error(SourceSpan span, std::string code, std::string message, std::string hint = {});
    void warning(SourceSpan span, std::string code, std::string message, std::string hint = {});

    bool has_errors() const { return errors_ > 0; }
    size_t error_count() const { return errors_; }
    size_t warning_count() const { return items_.size() - errors_; }
    const std::vector<Diagnostic>& items() const { return items_; }
    /// Sorts by position (stable), so several errors read top to bottom.
    void sort_by_position();

private:
    std::vector<Diagnostic> items_;
    size_t errors_ = 0;
};

/// `FILE:L:C: error: message`, the source line, a caret line, and `hint: ...` when present.
std::string render(const SourceFile& file, const Diagnostic& d);
/// The diagnostics of a bag, rendered in order; past `max_items`, one line says how many
/// errors and warnings were left out.
std::string render_all(const SourceFile& file, const DiagnosticBag& bag, size_t max_items = 100);

}  // namespace varpulis::frontend
