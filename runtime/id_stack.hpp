#pragma once
// A LIFO of free ids (event records, run slots): the pattern matcher pushes and pops one per
// run started, completed or expired. Unlike std::vector::push_back, which the compiler keeps
// out of line in a large file, a push here is a compare, a store and an increment; growing
// stays out of line.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace varpulis::runtime {

class IdStack {
public:
    bool empty() const { return n_ == 0; }
    size_t size() const { return n_; }
    uint32_t back() const { return buf_[n_ - 1]; }
    void pop_back() { --n_; }
    [[gnu::always_inline]] void push_back(uint32_t id) {
        if (n_ == buf_.size()) [[unlikely]]
            grow();
        buf_[n_++] = id;
    }

private:
    [[gnu::noinline]] void grow() { buf_.resize(buf_.empty() ? 256 : buf_.size() * 2); }

    std::vector<uint32_t> buf_;
    size_t n_ = 0;
};

}  // namespace varpulis::runtime
