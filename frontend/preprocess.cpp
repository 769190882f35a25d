#include "frontend/preprocess.hpp"

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace varpulis::frontend {

namespace {

constexpr int kMaxNesting = 24;
constexpr int kMaxLoopPasses = 10;
constexpr int64_t kMaxLoopIterations = 10000;

struct Line {
    std::string text;
    uint32_t origin;  // original 1-based line
    uint32_t shift;   // leading columns removed by loop expansion
};

std::vector<Line> split_lines(std::string_view text) {
    std::vector<Line> lines;
    size_t start = 0;
    uint32_t n = 1;
    while (true) {
        size_t nl = text.find('\n', start);
        std::string_view l = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        lines.push_back({std::string(l), n++, 0});
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    return lines;
}

std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

size_t indent_of(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    return i;
}

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

bool parse_int(std::string_view s, int64_t& out) {
    s = trim(s);
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

/// `for NAME in A..B:` / `for NAME in A..=B:` at column 0 with integer literal bounds.
struct LoopHeader {
    std::string name;
    int64_t from = 0;
    int64_t to = 0;  // exclusive
};

bool parse_loop_header(std::string_view line, LoopHeader& h) {
    if (line.empty() || line[0] == ' ' || line[0] == '\t') return false;
    std::string_view t = trim(line);
    if (t.substr(0, 4) != "for " || t.back() != ':' || t.find("..") == std::string_view::npos) return false;
    std::string_view rest = trim(t.substr(4, t.size() - 5));
    size_t n = 0;
    if (rest.empty() || !is_ident_start(rest[0])) return false;
    while (n < rest.size() && is_ident_char(rest[n])) ++n;
    h.name = std::string(rest.substr(0, n));
    rest = trim(rest.substr(n));
    if (rest.substr(0, 3) != "in " && rest.substr(0, 3) != "in\t") return false;
    rest = trim(rest.substr(3));
    size_t dots = rest.find("..");
    if (dots == std::string_view::npos) return false;
    bool inclusive = dots + 2 < rest.size() && rest[dots + 2] == '=';
    int64_t a = 0, b = 0;
    if (!parse_int(rest.substr(0, dots), a) || !parse_int(rest.substr(dots + (inclusive ? 3 : 2)), b)) return false;
    h.from = a;
    h.to = inclusive ? b + 1 : b;
    return true;
}

std::string replace_all(std::string s, const std::string& what, const std::string& with) {
    size_t pos = 0;
    while ((pos = s.find(what, pos)) != std::string::npos) {
        s.replace(pos, what.size(), with);
        pos += with.size();
    }
    return s;
}

/// One expansion pass. Returns true when a loop was found (and expanded or reported).
bool expand_once(std::vector<Line>& lines, const SourceFile& file, DiagnosticBag& diags, bool& failed) {
    std::vector<Line> out;
    bool found = false;
    for (size_t i = 0; i < lines.size(); ++i) {
        LoopHeader h;
        if (!parse_loop_header(lines[i].text, h)) {
            out.push_back(std::move(lines[i]));
            continue;
        }
        found = true;
        size_t end = i + 1;
        while (end < lines.size()) {
            const std::string& l = lines[end].text;
            if (!trim(l).empty() && indent_of(l) == 0) break;
            ++end;
        }
        size_t strip = 0;
        for (size_t j = i + 1; j < end; ++j)
            if (!trim(lines[j].text).empty()) {
                strip = indent_of(lines[j].text);
                break;
            }
        if (h.to - h.from > kMaxLoopIterations) {
            (void)file;
            diags.error({}, "parse",
                        "compile-time loop `for " + h.name + "` at line " + std::to_string(lines[i].origin) +
                            " has more than 10000 iterations");
            failed = true;
            return true;
        }
        const std::string placeholder = "{" + h.name + "}";
        for (int64_t v = h.from; v < h.to; ++v) {
            for (size_t j = i + 1; j < end; ++j) {
                Line l = lines[j];
                size_t k = std::min(strip, indent_of(l.text));
                l.text = replace_all(l.text.substr(k), placeholder, std::to_string(v));
                l.shift += static_cast<uint32_t>(k);
                out.push_back(std::move(l));
            }
        }
        i = end - 1;
    }
    lines = std::move(out);
    return found;
}

/// Rejects control characters and invalid UTF-8; returns the offset of the first bad byte or npos.
size_t find_bad_byte(std::string_view s, std::string& why) {
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                why = "invalid control character (byte 0x" + std::string(1, "0123456789abcdef"[c >> 4]) +
                      std::string(1, "0123456789abcdef"[c & 15]) + ") in source";
                return i;
            }
            if (c == 0x7f) {
                why = "invalid control character (byte 0x7f) in source";
                return i;
            }
            ++i;
            continue;
        }
        size_t n = (c >= 0xF0 && c <= 0xF4) ? 4 : (c >= 0xE0) && c < 0xF0 ? 3 : (c >= 0xC2 && c < 0xE0) ? 2 : 0;
        bool ok = n != 0 && i + n <= s.size();
        for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (!ok) {
            why = "invalid UTF-8 in source";
            return i;
        }
        i += n;
    }
    return std::string_view::npos;
}

/// Bracket nesting outside strings and comments. Returns false after reporting.
bool check_nesting(const SourceFile& file, DiagnosticBag& diags) {
    const std::string& t = file.text();
    int depth = 0;
    for (size_t i = 0; i < t.size(); ++i) {
        char c = t[i];
        if (c == '"') {
            for (++i; i < t.size() && t[i] != '"' && t[i] != '\n'; ++i)
                if (t[i] == '\\') ++i;
            continue;
        }
        if (c == '#') {
            while (i < t.size() && t[i] != '\n') ++i;
            continue;
        }
        if (c == '/' && i + 1 < t.size() && t[i + 1] == '*') {
            size_t e = t.find("*/", i + 2);
            i = e == std::string::npos ? t.size() : e + 1;
            continue;
        }
        if (c == '(' || c == '[' || c == '{') {
            if (++depth > kMaxNesting) {
                uint32_t at = static_cast<uint32_t>(i);
                diags.error({at, at + 1}, "parse", "Nesting depth exceeds maximum of 24 levels",
                            "split the expression into smaller parts, e.g. with `let` variables");
                return false;
            }
        } else if (c == ')' || c == ']' || c == '}') {
            if (depth > 0) --depth;
        }
    }
    return true;
}

bool opens_block(std::string_view line) {
    std::string_view t = trim(line);
    if (t.empty() || t.back() != ':') return false;
    for (std::string_view kw : {"fn ", "if ", "elif ", "for ", "while ", "event "})
        if (t.substr(0, kw.size()) == kw) return true;
    return t == "else:" || t == "config:" || t.substr(0, 5) == "else:" || t.substr(0, 7) == "config:";
}

/// Appends INDENT/DEDENT markers at line ends (see preprocess.hpp).
void insert_block_markers(std::vector<Line>& lines) {
    std::vector<size_t> levels{0};
    bool pending = false;          // the last significant line opened a block
    size_t last_significant = 0;   // index of the last significant line
    bool have_significant = false;
    bool in_block_comment = false;
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string_view l = lines[i].text;
        std::string_view t = trim(l);
        if (in_block_comment) {
            if (l.find("*/") != std::string_view::npos) in_block_comment = false;
            continue;
        }
        if (t.empty() || t[0] == '#') continue;
        if (t.substr(0, 2) == "/*") {
            if (t.find("*/", 2) == std::string_view::npos) in_block_comment = true;
            continue;
        }
        size_t ind = indent_of(l);
        if (pending && ind > levels.back()) {
            lines[last_significant].text += SourceFile::kIndent;
            levels.push_back(ind);
        } else {
            while (levels.size() > 1 && ind < levels.back()) {
                levels.pop_back();
                lines[last_significant].text += SourceFile::kDedent;
            }
        }
        pending = opens_block(l);
        last_significant = i;
        have_significant = true;
        // A block comment opened at the end of a code line hides the following lines.
        size_t open = l.rfind("/*");
        if (open != std::string_view::npos && l.find("*/", open + 2) == std::string_view::npos &&
            l.substr(0, open).find('"') == std::string_view::npos)
            in_block_comment = true;
    }
    if (have_significant)
        while (levels.size() > 1) {
            levels.pop_back();
            lines[last_significant].text += SourceFile::kDedent;
        }
}

}  // namespace

bool preprocess(SourceFile& file, DiagnosticBag& diags) {
    std::string why;
    size_t bad = find_bad_byte(file.text(), why);
    if (bad != std::string_view::npos) {
        uint32_t at = static_cast<uint32_t>(bad);
        diags.error({at, at + 1}, "parse", why);
        return false;
    }
    std::vector<Line> lines = split_lines(file.text());
    bool failed = false;
    int pass = 0;
    while (expand_once(lines, file, diags, failed)) {
        if (failed) return false;
        if (++pass > kMaxLoopPasses) {
            diags.error({}, "parse", "compile-time loops nested more than 10 levels deep");
            return false;
        }
    }
    insert_block_markers(lines);
    std::string text;
    std::vector<uint32_t> origin, shift;
    for (size_t i = 0; i < lines.size(); ++i) {
        text += lines[i].text;
        if (i + 1 < lines.size()) text += '\n';
        origin.push_back(lines[i].origin);
        shift.push_back(lines[i].shift);
    }
    file.set_text(std::move(text), std::move(origin), std::move(shift));
    return check_nesting(file, diags);
}

}  // namespace varpulis::frontend
