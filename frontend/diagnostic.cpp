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
    for (size_t i = 0; i < line.size();) {
        unsigned char c = static_cast<unsigned char>(line[i]);
        // Echo valid UTF-8 as is; control bytes and invalid sequences become '?', so a
        // diagnostic is always printable text.
        size_t n = c < 0x80 ? 1 : (c >= 0xC2 && c < 0xE0) ? 2 : (c >= 0xE0 && c < 0xF0) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        bool ok = n != 0 && i + n <= line.size();
        for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(line[i + k]) & 0xC0) == 0x80;
        if (!ok) n = 1;
        if (c == '\t') out += ' ';
        else if (!ok || (c < 0x20) || c == 0x7f) out += '?';
        else out.append(line.substr(i, n));
        i += n;
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

std::string render_all(const SourceFile& file, const DiagnosticBag& bag, size_t max_items) {
    std::string out;
    size_t shown = 0, errors_left = 0, warnings_left = 0;
    for (const auto& d : bag.items()) {
        if (shown < max_items) {
            out += render(file, d);
            ++shown;
        } else {
            ++(d.severity == Severity::Error ? errors_left : warnings_left);
        }
    }
    if (errors_left + warnings_left > 0)
        out += file.name() + ": ... and " + std::to_string(errors_left) + " more errors, " +
               std::to_string(warnings_left) + " more warnings\n";
    return out;
}

}  // namespace varpulis::frontend
