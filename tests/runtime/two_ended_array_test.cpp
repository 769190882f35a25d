// TwoEndedArray (runtime/two_ended_array.hpp) against std::vector on random inserts and
// erases, including long runs of front-only and back-only inserts (the cases it exists for).

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "runtime/two_ended_array.hpp"

namespace {

using varpulis::runtime::TwoEndedArray;

void expect_same(const TwoEndedArray<int>& a, const std::vector<int>& v) {
    ASSERT_EQ(a.size(), v.size());
    ASSERT_TRUE(std::equal(a.begin(), a.end(), v.begin()));
}

TEST(TwoEndedArray, AgreesWithVectorOnRandomEdits) {
    for (uint32_t seed = 1; seed <= 20; ++seed) {
        std::mt19937 rng(seed);
        TwoEndedArray<int> a;
        std::vector<int> v;
        for (int step = 0; step < 3000; ++step) {
            uint32_t op = rng() % 10;
            if (op < 6 || v.empty()) {
                // Positions biased to the ends on some seeds (falling or rising keys).
                size_t i = seed % 3 == 0 ? 0 : seed % 3 == 1 ? v.size() : rng() % (v.size() + 1);
                int x = static_cast<int>(rng());
                a.insert(a.begin() + i, x);
                v.insert(v.begin() + static_cast<std::ptrdiff_t>(i), x);
            } else if (op < 9) {
                size_t i = rng() % v.size();
                a.erase(a.begin() + i);
                v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
            } else if (rng() % 50 == 0) {
                a.clear();
                v.clear();
            } else {
                size_t n = rng() % (v.size() + 1);
                a.resize(n);
                v.resize(n);
            }
            expect_same(a, v);
        }
    }
}

TEST(TwoEndedArray, KeepsSortedOrderUnderUpperBoundInserts) {
    TwoEndedArray<int> a;
    for (int k = 1000; k > 0; --k) a.insert(std::upper_bound(a.begin(), a.end(), k), k);  // falling keys
    for (int k = 2000; k > 1000; --k) a.insert(std::upper_bound(a.begin(), a.end(), k), k);
    ASSERT_EQ(a.size(), 2000u);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], static_cast<int>(i) + 1);
}

}  // namespace
