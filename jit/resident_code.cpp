#include "jit/resident_code.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace varpulis::jit {

namespace {

struct Mapping {
    uintptr_t lo = 0, hi = 0;
    bool exec_only = false;   // r-xp
    std::string path;
    size_t rss = 0;           // bytes resident
};

std::vector<Mapping> read_smaps() {
    std::vector<Mapping> out;
    std::FILE* f = std::fopen("/proc/self/smaps", "re");
    if (f == nullptr) return out;
    char line[4096];
    while (std::fgets(line, sizeof line, f) != nullptr) {
        unsigned long a = 0, b = 0, kb = 0;
        char perms[8] = {};
        int path_at = 0;
        if (std::sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &a, &b, perms, &path_at) >= 3 && path_at > 0) {
            Mapping m;
            m.lo = a;
            m.hi = b;
            m.exec_only = std::strcmp(perms, "r-xp") == 0;
            m.path = line + path_at;
            while (!m.path.empty() && (m.path.back() == '\n' || m.path.back() == ' ')) m.path.pop_back();
            out.push_back(std::move(m));
        } else if (!out.empty() && std::sscanf(line, "Rss: %lu kB", &kb) == 1) {
            out.back().rss = kb * 1024;
        }
    }
    std::fclose(f);
    return out;
}

}  // namespace

size_t release_library_code_pages(const void* address_in_lib) {
    const auto addr = reinterpret_cast<uintptr_t>(address_in_lib);
    std::vector<Mapping> maps = read_smaps();
    std::string lib;
    for (const Mapping& m : maps)
        if (addr >= m.lo && addr < m.hi && m.exec_only) lib = m.path;
    if (lib.empty() || lib[0] != '/') return 0;
    size_t released = 0;
    for (const Mapping& m : maps)
        if (m.exec_only && m.path == lib && m.rss > 0 &&
            madvise(reinterpret_cast<void*>(m.lo), m.hi - m.lo, MADV_DONTNEED) == 0)
            released += m.rss;
    return released;
}

}  // namespace varpulis::jit
