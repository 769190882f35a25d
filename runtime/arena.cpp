#include "runtime/arena.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/mman.h>

namespace varpulis::runtime {

namespace {

constexpr size_t kHugePage = 2 * 1024 * 1024;
constexpr size_t kLargeObject = Arena::kMaxChunkSize / 4;

char* system_alloc(size_t size) {
    void* p;
    if (size >= kHugePage && size % kHugePage == 0) {
        p = std::aligned_alloc(kHugePage, size);
#ifdef MADV_HUGEPAGE
        if (p != nullptr) ::madvise(p, size, MADV_HUGEPAGE);
#endif
    } else {
        p = std::malloc(size);
    }
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<char*>(p);
}

}  // namespace

Arena::Arena(size_t initial_chunk_size)
    : next_chunk_size_(std::clamp<size_t>(initial_chunk_size, 4096, kMaxChunkSize)) {}

Arena::~Arena() {
    for (auto& c : chunks_) std::free(c.data);
    for (auto& c : large_) std::free(c.data);
    for (auto& c : free_) std::free(c.data);
}

void Arena::new_chunk(size_t min_size) {
    if (!chunks_.empty()) used_before_current_ += static_cast<size_t>(cur_ - chunks_.back().data);
    Chunk c{nullptr, 0};
    if (!free_.empty() && free_.back().size >= min_size) {
        c = free_.back();
        free_.pop_back();
    } else {
        c.size = std::max(next_chunk_size_, min_size);
        c.data = system_alloc(c.size);
        reserved_ += c.size;
        next_chunk_size_ = std::min(next_chunk_size_ * 2, kMaxChunkSize);
    }
    chunks_.push_back(c);
    cur_ = c.data;
    end_ = c.data + c.size;
}

void* Arena::allocate_slow(size_t size, size_t align) {
    if (size > kLargeObject) {
        // Oversized: its own chunk, leaving the current chunk's free space in use.
        Chunk c{system_alloc(size + align), size + align};
        reserved_ += c.size;
        large_.push_back(c);
        used_before_current_ += c.size;
        uintptr_t p = (reinterpret_cast<uintptr_t>(c.data) + (align - 1)) & ~uintptr_t(align - 1);
        return reinterpret_cast<void*>(p);
    }
    new_chunk(size + align);
    uintptr_t p = (reinterpret_cast<uintptr_t>(cur_) + (align - 1)) & ~uintptr_t(align - 1);
    cur_ = reinterpret_cast<char*>(p + size);
    return reinterpret_cast<void*>(p);
}

const StrObj* Arena::make_string(std::string_view s) {
    StrObj* o = begin_string(s.size());
    if (!s.empty()) std::memcpy(o->data, s.data(), s.size());
    return finish_string(o, s.size());
}

StrObj* Arena::begin_string(size_t capacity) {
    size_t bytes = offsetof(StrObj, data) + capacity;
    if (bytes < sizeof(StrObj)) bytes = sizeof(StrObj);
    auto* o = static_cast<StrObj*>(allocate(bytes, alignof(StrObj)));
    o->size = static_cast<uint32_t>(capacity);
    o->hash = 0;
    return o;
}

ArrayObj* Arena::make_array(uint32_t n) {
    auto* a = static_cast<ArrayObj*>(allocate(sizeof(ArrayObj), alignof(ArrayObj)));
    a->size = n;
    a->items = n == 0 ? nullptr : allocate_array<Value>(n);
    for (uint32_t i = 0; i < n; ++i) new (&a->items[i]) Value();
    return a;
}

MapObj* Arena::make_map(uint32_t n) {
    auto* m = static_cast<MapObj*>(allocate(sizeof(MapObj), alignof(MapObj)));
    m->size = n;
    m->keys = n == 0 ? nullptr : allocate_array<const StrObj*>(n);
    m->values = n == 0 ? nullptr : allocate_array<Value>(n);
    for (uint32_t i = 0; i < n; ++i) {
        m->keys[i] = nullptr;
        new (&m->values[i]) Value();
    }
    return m;
}

void Arena::reset() {
    for (auto& c : large_) {
        reserved_ -= c.size;
        std::free(c.data);
    }
    large_.clear();
    // Keep the chunks for reuse, biggest last (new_chunk takes from the back).
    free_.insert(free_.end(), chunks_.begin(), chunks_.end());
    std::sort(free_.begin(), free_.end(), [](const Chunk& a, const Chunk& b) { return a.size < b.size; });
    chunks_.clear();
    cur_ = end_ = nullptr;
    used_before_current_ = 0;
    ++generation_;
}

Interner::Interner() : arena_(64 * 1024), slots_(256, nullptr) {}

const StrObj* Interner::intern(std::string_view s, uint32_t hash) {
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const StrObj* o = slots_[i];
        if (o == nullptr) break;
        if (o->hash == hash && o->view() == s) return o;
    }
    if ((count_ + 1) * 4 > slots_.size() * 3) grow();
    StrObj* o = arena_.begin_string(s.size());
    if (!s.empty()) std::memcpy(o->data, s.data(), s.size());
    o->size = static_cast<uint32_t>(s.size());
    o->hash = hash;
    mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i] != nullptr) i = (i + 1) & mask;
    slots_[i] = o;
    ++count_;
    return o;
}

const StrObj* Interner::find(std::string_view s) const {
    uint32_t hash = fnv1a(s);
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const StrObj* o = slots_[i];
        if (o == nullptr) return nullptr;
        if (o->hash == hash && o->view() == s) return o;
    }
}

void Interner::grow() {
    std::vector<const StrObj*> old(slots_.size() * 2, nullptr);
    old.swap(slots_);
    size_t mask = slots_.size() - 1;
    for (const StrObj* o : old) {
        if (o == nullptr) continue;
        size_t i = o->hash & mask;
        while (slots_[i] != nullptr) i = (i + 1) & mask;
        slots_[i] = o;
    }
}

}  // namespace varpulis::runtime
