#include "server/event_limits.hpp"

#include <vector>

#include "runtime/event_reader.hpp"

namespace varpulis::server {

bool check_event_limits(std::string_view s, int envelope_depth, std::string& error) {
    using runtime::ReadLimits;
    const int max_depth = ReadLimits::kMaxNesting + envelope_depth;
    // Per open container: members (objects) or elements (arrays) seen so far.
    std::vector<std::pair<char, size_t>> stack;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '"') {
            size_t j = i + 1;
            while (j < s.size() && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
            if (j - i - 1 > ReadLimits::kMaxStringBytes) {
                error = "string longer than " + std::to_string(ReadLimits::kMaxStringBytes) + " bytes";
                return false;
            }
            i = j;
        } else if (c == '{' || c == '[') {
            stack.emplace_back(c, 0);
            if (static_cast<int>(stack.size()) > max_depth) {
                error = "values nested deeper than " + std::to_string(ReadLimits::kMaxNesting) + " levels";
                return false;
            }
        } else if (c == '}' || c == ']') {
            if (stack.empty()) return true;
            stack.pop_back();
        } else if (c == ',') {
            if (!stack.empty()) {
                auto& top = stack.back();
                if (++top.second + 1 > (top.first == '{' ? ReadLimits::kMaxFields : ReadLimits::kMaxArrayElements) &&
                    static_cast<int>(stack.size()) >= envelope_depth) {
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
