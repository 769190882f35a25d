#pragma once
// A FIFO of trivially copyable items in a power-of-two ring: the queue of run deadlines that
// arrive in order (now + within), pushed once per started run and popped once per expiry.
// Unlike a vector with a moving head, it never shifts its live items down to reuse space,
// and a push is a store and an increment until the ring is full (then it doubles, in order).

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace varpulis::runtime {

template <class T>
class DeadlineRing {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    bool empty() const { return head_ == tail_; }
    size_t size() const { return static_cast<size_t>(tail_ - head_); }
    const T& front() const { return buf_[head_ & mask_]; }
    const T& back() const { return buf_[(tail_ - 1) & mask_]; }
    /// The i-th item from the front.
    const T& operator[](size_t i) const { return buf_[(head_ + i) & mask_]; }

    void push_back(const T& x) {
        if (tail_ - head_ == buf_.size()) [[unlikely]]
            grow();
        buf_[tail_++ & mask_] = x;
    }
    void pop_front() { ++head_; }
    void clear() { head_ = tail_ = 0; }

private:
    [[gnu::noinline]] void grow() {
        std::vector<T> next(buf_.empty() ? 1024 : buf_.size() * 2);
        size_t n = size();
        for (size_t i = 0; i < n; ++i) next[i] = (*this)[i];
        buf_.swap(next);
        mask_ = buf_.size() - 1;
        head_ = 0;
        tail_ = n;
    }

    std::vector<T> buf_;
    uint64_t mask_ = 0;
    uint64_t head_ = 0, tail_ = 0;
};

}  // namespace varpulis::runtime
