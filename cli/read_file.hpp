#pragma once
// Whole-file reads for the CLI verbs.

#include <fstream>
#include <sstream>
#include <string>

namespace varpulis::cli {

/// Reads `path` into `text`; false when it cannot be opened or read.
inline bool read_text_file(const std::string& path, std::string& text) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
    return !in.bad();
}

}  // namespace varpulis::cli
