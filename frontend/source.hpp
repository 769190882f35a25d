#pragma once
// Source text as the parser sees it and the map back to what the user wrote.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace varpulis::frontend {

/// Half-open byte range [begin, end) into SourceFile::text (the pre-processed text).
struct SourceSpan {
    uint32_t begin = 0;
    uint32_t end = 0;
};

/// 1-based line and column in the file the user wrote.
struct LineCol {
    uint32_t line = 1;
    uint32_t column = 1;
};

/// A VPL program after pre-processing (loop expansion, block markers), with enough
/// information to report positions in the original file. Owns its text; spans index it.
class SourceFile {
public:
    /// Block markers the pre-processor places at the end of a line; the grammar reads them
    /// as tokens. They never occur in valid source text (control characters are rejected).
    static constexpr char kIndent = '\x01';
    static constexpr char kDedent = '\x02';

    SourceFile() = default;
    SourceFile(std::string name, std::string original);

    const std::string& name() const { return name_; }
    const std::string& original() const { return original_; }
    /// The text the parser reads.
    const std::string& text() const { return text_; }

    /// Original line and column of a byte offset into text().
    LineCol locate(uint32_t offset) const;
    /// The original source line (without newline), 1-based; empty when out of range.
    std::string_view original_line(uint32_t line) const;
    std::string_view slice(SourceSpan span) const {
        return std::string_view(text_).substr(span.begin, span.end - span.begin);
    }

    /// Used by the pre-processor: replaces the parsed text. line_origin[i] is the original
    /// 1-based line of text line i+1, column_shift[i] the number of leading characters the
    /// expansion removed from it.
    void set_text(std::string text, std::vector<uint32_t> line_origin, std::vector<uint32_t> column_shift);

private:
    std::string name_;
    std::string original_;
    std::string text_;
    std::vector<uint32_t> line_starts_;      // offsets of line starts in text_
    std::vector<uint32_t> line_origin_;      // text line -> original line
    std::vector<uint32_t> column_shift_;     // text line -> columns removed by expansion
    std::vector<uint32_t> original_starts_;  // offsets of line starts in original_
};

}  // namespace varpulis::frontend
