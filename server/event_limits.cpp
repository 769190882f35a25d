#include "server/event_limits.hpp"

#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "runtime/event_reader.hpp"

namespace varpulis::server {

namespace {

// Bytes the scan stops at; everything else (numbers, literals, white space, ':') is skipped.
constexpr std::array<bool, 256> make_interesting() {
    std::array<bool, 256> t{};
    for (unsigned char c : {'"', '{', '[', '}', ']', ','}) t[c] = true;
    return t;
}
constexpr std::array<bool, 256> kInteresting = make_interesting();

/// Index of the quote closing the string whose opening quote is at `open`, or npos when it is
/// not closed. A backslash escapes the byte after it.
size_t closing_quote(std::string_view s, size_t open) {
    size_t from = open + 1;
    for (;;) {
        const void* hit = from < s.size() ? std::memchr(s.data() + from, '"', s.size() - from) : nullptr;
        if (!hit) return std::string_view::npos;
        size_t q = static_cast<size_t>(static_cast<const char*>(hit) - s.data());
        // Escaped when preceded by an odd run of backslashes (inside the string).
        size_t k = q;
        while (k > open + 1 && s[k - 1] == '\\') --k;
        if (((q - k) & 1) == 0) return q;
        from = q + 1;
    }
}

}  // namespace

bool check_event_limits(std::string_view s, int envelope_depth, std::string& error) {
    using runtime::ReadLimits;
    const int max_depth = ReadLimits::kMaxNesting + envelope_depth;
    // Per open container: members (objects) or elements (arrays) seen so far. The scan stops
    // one level past max_depth, so the stack never grows beyond that (reused per thread).
    thread_local std::vector<std::pair<char, size_t>> stack;
    if (stack.size() < static_cast<size_t>(max_depth) + 2) stack.resize(static_cast<size_t>(max_depth) + 2);
    size_t depth = 0;
    const size_t n = s.size();
    for (size_t i = 0; i < n; ++i) {
        char c = s[i];
        if (!kInteresting[static_cast<unsigned char>(c)]) continue;
        if (c == '"') {
            size_t j = closing_quote(s, i);
            if (j == std::string_view::npos) {
                // Unterminated: measure exactly as a byte-wise scan would (it may step past
                // the end after a trailing backslash).
                j = i + 1;
                while (j < n && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
            }
            if (j - i - 1 > ReadLimits::kMaxStringBytes) {
                error = "string longer than " + std::to_string(ReadLimits::kMaxStringBytes) + " bytes";
                return false;
            }
            i = j;
        } else if (c == '{' || c == '[') {
            stack[depth++] = {c, 0};
            if (static_cast<int>(depth) > max_depth) {
                error = "values nested deeper than " + std::to_string(ReadLimits::kMaxNesting) + " levels";
                return false;
            }
        } else if (c == '}' || c == ']') {
            if (depth == 0) return true;
            --depth;
        } else {  // ','
            if (depth > 0) {
                auto& top = stack[depth - 1];
                if (++top.second + 1 > (top.first == '{' ? ReadLimits::kMaxFields : ReadLimits::kMaxArrayElements) &&
                    static_cast<int>(depth) >= envelope_depth) {
                    error = top.first == '{' ? "more than " + std::to_string(ReadLimits::kMaxFields) + " fields"
                                             : "array longer than " + std::to_string(ReadLimits::kMaxArrayElements) +
                                                   " elements";
                    return false;
                }
            }
        }
    }
    return true;
}

}  // namespace varpulis::server
