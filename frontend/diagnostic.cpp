#include "frontend/diagnostic.hpp"

#include <algorithm>

namespace varpulis::frontend {

void DiagnosticBag::error(SourceSpan span, std::string code, std::string message, std::string hint) {
    items_.push_back({span, Severity::Error, std::move(code), std::move(message), std::move(hint)});
    ++errors_;
}

void DiagnosticBag::warning(SourceSpan span, std::string code, std::string message, std::string hint) {
    items_.push_back({span, Severity::Warning, std::move(code), std::move(message), std::move(hint)});
}

void DiagnosticBag::sort_by_position() {
    std::stable_sort(items_.begin(), items_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.span.begin < b.span.begin; });
}

std::string render(const SourceFile& file, const Diagnostic& d) {
    LineCol lc = file.locate(d.span.begin);
    std::string out = file.name() + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column) + ": " +
                      (d.severity == Severity::Error ? "error: " : "warning: ");
    if (!d.code.empty() && d.code != "parse") out += "[" + d.code + "] ";
    out += d.message;
    out += '\n';
    std::string_view line = file.original_line(lc.line);
    out += "    ";
    std::string caret = "    ";
    uint32_t col = 1;
    for (size_t i = 0; i < line.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(line[i]);
        out += (c == '\t') ? ' ' : static_cast<char>(c);
        if ((c & 0xC0) == 0x80) continue;
        if (col < lc.column) caret += ' ';
        ++col;
    }
    while (col < lc.column) {  // caret just past the end of the line
        caret += ' ';
        ++col;
    }
    out += '\n';
    out += caret + "^\n";
    if (!d.hint.empty()) out += "    hint: " + d.hint + "\n";
    return out;
}

std::string render_all(const SourceFile& file, const DiagnosticBag& bag) {
    std::string out;
    for (const auto& d : bag.items()) out += render(file, d);
    return out;
}

}  // namespace varpulis::frontend
