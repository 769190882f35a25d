#pragma once
// A contiguous array with free room at both ends: an insert or erase moves the items on the
// shorter side of its position. The matcher keeps its skippable pattern roots sorted by a
// key in one (one insert per root): keys that keep falling then insert at the front as
// cheaply as rising keys insert at the back, where a vector would move every item.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <vector>

namespace varpulis::runtime {

template <class T>
class TwoEndedArray {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    bool empty() const { return lo_ == hi_; }
    size_t size() const { return hi_ - lo_; }
    T* begin() { return buf_.data() + lo_; }
    T* end() { return buf_.data() + hi_; }
    const T* begin() const { return buf_.data() + lo_; }
    const T* end() const { return buf_.data() + hi_; }
    T& operator[](size_t i) { return buf_[lo_ + i]; }
    const T& operator[](size_t i) const { return buf_[lo_ + i]; }

    void clear() { lo_ = hi_ = buf_.size() / 2; }
    /// Keeps the first n items (n <= size()).
    void resize(size_t n) { hi_ = lo_ + n; }

    /// Inserts x before `pos` (a pointer into [begin(), end()]).
    void insert(const T* pos, const T& x) {
        size_t i = static_cast<size_t>(pos - begin());
        const size_t n = size();
        const bool front = i < n / 2;
        if (front ? lo_ == 0 : hi_ == buf_.size()) recenter(n + 1);
        if (front) {
            T* b = begin();
            std::memmove(b - 1, b, i * sizeof(T));
            --lo_;
        } else {
            T* p = begin() + i;
            std::memmove(p + 1, p, (n - i) * sizeof(T));
            ++hi_;
        }
        buf_[lo_ + i] = x;
    }

    /// Removes the item at `pos`.
    void erase(const T* pos) {
        size_t i = static_cast<size_t>(pos - begin());
        const size_t n = size();
        if (i < n / 2) {
            T* b = begin();
            std::memmove(b + 1, b, i * sizeof(T));
            ++lo_;
        } else {
            T* p = begin() + i;
            std::memmove(p, p + 1, (n - i - 1) * sizeof(T));
            --hi_;
        }
    }

private:
    /// The items moved to the middle of the buffer, a larger one unless it has room for twice
    /// `need`: either way as much room at each end as the items take (moves stay amortised).
    void recenter(size_t need) {
        const size_t n = size();
        if (buf_.size() < std::max<size_t>(16, need * 2)) {
            std::vector<T> nb(std::max<size_t>(16, need * 2));
            const size_t nlo = (nb.size() - n) / 2;
            if (n > 0) std::memcpy(nb.data() + nlo, begin(), n * sizeof(T));
            buf_.swap(nb);
            lo_ = nlo;
        } else {
            const size_t nlo = (buf_.size() - n) / 2;
            if (n > 0) std::memmove(buf_.data() + nlo, begin(), n * sizeof(T));
            lo_ = nlo;
        }
        hi_ = lo_ + n;
    }

    std::vector<T> buf_;
    size_t lo_ = 0, hi_ = 0;
};

}  // namespace varpulis::runtime
