#include "frontend/source.hpp"

#include <algorithm>

namespace varpulis::frontend {

namespace {

std::vector<uint32_t> line_starts_of(const std::string& s) {
    std::vector<uint32_t> starts{0};
    for (uint32_t i = 0; i < s.size(); ++i)
        if (s[i] == '\n') starts.push_back(i + 1);
    return starts;
}

}  // namespace

SourceFile::SourceFile(std::string name, std::string original)
    : name_(std::move(name)), original_(std::move(original)) {
    original_starts_ = line_starts_of(original_);
    std::vector<uint32_t> origin(original_starts_.size());
    for (uint32_t i = 0; i < origin.size(); ++i) origin[i] = i + 1;
    set_text(original_, std::move(origin), std::vector<uint32_t>(original_starts_.size(), 0));
}

void SourceFile::set_text(std::string text, std::vector<uint32_t> line_origin,
                          std::vector<uint32_t> column_shift) {
    text_ = std::move(text);
    line_starts_ = line_starts_of(text_);
    line_origin_ = std::move(line_origin);
    column_shift_ = std::move(column_shift);
}

LineCol SourceFile::locate(uint32_t offset) const {
    if (line_starts_.empty()) return {};
    offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text_.size()));
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    size_t idx = static_cast<size_t>(it - line_starts_.begin()) - 1;
    uint32_t col = 1;
    for (uint32_t i = line_starts_[idx]; i < offset; ++i) {
        char c = text_[i];
        if (c == SourceFile::kIndent || c == SourceFile::kDedent) continue;
        // Count UTF-8 code points, not bytes, so carets line up with what editors show.
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++col;
    }
    LineCol lc;
    lc.line = idx < line_origin_.size() ? line_origin_[idx] : static_cast<uint32_t>(idx + 1);
    lc.column = col + (idx < column_shift_.size() ? column_shift_[idx] : 0);
    return lc;
}

std::string_view SourceFile::original_line(uint32_t line) const {
    if (line == 0 || line > original_starts_.size()) return {};
    uint32_t b = original_starts_[line - 1];
    uint32_t e = line < original_starts_.size() ? original_starts_[line] : static_cast<uint32_t>(original_.size());
    std::string_view v(original_);
    v = v.substr(b, e - b);
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
    return v;
}

}  // namespace varpulis::frontend
