#pragma once
// Arena: chunked bump allocator for runtime values (strings, arrays, maps, event field
// arrays). Interner: canonical, pointer-comparable strings for type and field names.

#include "runtime/value.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace varpulis::runtime {

/// FNV-1a (32-bit) of `s`: the hash stored in every StrObj.
inline uint32_t fnv1a(std::string_view s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

/// Chunked bump allocator. Memory is released only by `reset()` or destruction, all at
/// once; nothing allocated here has a destructor run. Chunks start at `initial_chunk_size`
/// and double up to 4 MiB (large chunks ask the kernel for transparent huge pages, which
/// keeps page faults rare when a whole file is read into one arena); objects over 1 MiB get
/// a chunk of their own. Not thread-safe: one arena per thread (or per reader).
class Arena {
public:
    static constexpr size_t kDefaultChunkSize = 64 * 1024;
    static constexpr size_t kMaxChunkSize = 4 * 1024 * 1024;

    explicit Arena(size_t initial_chunk_size = kDefaultChunkSize);
    ~Arena();
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;

    /// Uninitialised memory, aligned to `align` (a power of two, at most 16).
    void* allocate(size_t size, size_t align = alignof(std::max_align_t)) {
        uintptr_t p = (reinterpret_cast<uintptr_t>(cur_) + (align - 1)) & ~uintptr_t(align - 1);
        if (p + size <= reinterpret_cast<uintptr_t>(end_)) [[likely]] {
            cur_ = reinterpret_cast<char*>(p + size);
            return reinterpret_cast<void*>(p);
        }
        return allocate_slow(size, align);
    }

    template <class T>
    T* allocate_array(size_t n) {
        return static_cast<T*>(allocate(n * sizeof(T), alignof(T)));
    }

    /// A copy of `s` with its FNV-1a hash.
    const StrObj* make_string(std::string_view s);

    /// A string of `capacity` bytes for the caller to fill; `finish_string` then sets the
    /// final size (≤ capacity) and the hash. Lets decoders write in place.
    StrObj* begin_string(size_t capacity);
    static const StrObj* finish_string(StrObj* s, size_t size) {
        s->size = static_cast<uint32_t>(size);
        s->hash = fnv1a(s->view());
        return s;
    }

    /// An array of `n` items, every item Absent.
    ArrayObj* make_array(uint32_t n);
    /// A map of `n` entries, keys nullptr and values Absent, for the caller to fill.
    MapObj* make_map(uint32_t n);

    /// Forgets every allocation. Regular chunks are kept for reuse, oversized ones freed.
    void reset();

    /// Bytes handed out since construction or the last reset (including alignment). Inline:
    /// the engine checks it once per input event.
    size_t bytes_used() const {
        return used_before_current_ + (chunks_.empty() ? 0 : static_cast<size_t>(cur_ - chunks_.back().data));
    }
    /// Bytes held from the system.
    size_t bytes_reserved() const { return reserved_; }
    /// Counts reset() calls: lets a cache of pointers into the arena notice they died.
    uint64_t generation() const { return generation_; }

private:
    struct Chunk {
        char* data;
        size_t size;
    };
    void* allocate_slow(size_t size, size_t align);
    void new_chunk(size_t min_size);

    size_t next_chunk_size_;
    char* cur_ = nullptr;
    char* end_ = nullptr;
    std::vector<Chunk> chunks_;      // in use; the last one is current for small objects
    std::vector<Chunk> large_;       // oversized objects
    std::vector<Chunk> free_;        // regular chunks kept by reset()
    size_t used_before_current_ = 0; // bytes used in full chunks
    size_t reserved_ = 0;
    uint64_t generation_ = 0;
};

/// Maps byte strings to one canonical StrObj each, so interned names compare by pointer.
/// Owns its storage (an internal arena), so interned strings live as long as the Interner,
/// independent of any value arena. Not thread-safe.
class Interner {
public:
    Interner();
    Interner(const Interner&) = delete;
    Interner& operator=(const Interner&) = delete;

    /// The canonical string for `s`, created on first use.
    const StrObj* intern(std::string_view s) { return intern(s, fnv1a(s)); }
    /// Same, with `hash == fnv1a(s)` already known.
    const StrObj* intern(std::string_view s, uint32_t hash);
    /// The canonical string for `s`, or nullptr if it was never interned.
    const StrObj* find(std::string_view s) const;

    size_t size() const { return count_; }

private:
    void grow();

    Arena arena_;
    std::vector<const StrObj*> slots_;  // power-of-two size, nullptr = empty
    size_t count_ = 0;
};

}  // namespace varpulis::runtime
