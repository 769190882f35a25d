#include "runtime/window_state.hpp"

#include <bit>

#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

uint32_t PartitionIndex::find_or_add_formatted(const Value& v, bool& fresh) {
    buf_.clear();
    if (v.present()) append_partition_key(buf_, v);
    else buf_ = absent_key_;
    return find_or_add_key(buf_, fnv1a(buf_), fresh);
}

uint32_t PartitionIndex::add_key(std::string_view key, uint32_t hash, bool& fresh) {
    if ((keys_.size() + 1) * 2 > table_.size()) grow();
    const auto idx = static_cast<uint32_t>(keys_.size());
    keys_.emplace_back(key);
    hashes_.push_back(hash);
    const size_t mask = table_.size() - 1;
    size_t i = slot_of(hash);
    while (table_[i] != 0) i = (i + 1) & mask;
    table_[i] = (static_cast<uint64_t>(hash) << 32) | (idx + 1);
    fresh = true;
    return idx;
}

void PartitionIndex::grow() {
    const size_t size = table_.empty() ? 16 : table_.size() * 2;
    table_.assign(size, 0);
    shift_ = 32 - static_cast<uint32_t>(std::countr_zero(size));
    const size_t mask = size - 1;
    for (uint32_t idx = 0; idx < keys_.size(); ++idx) {
        size_t i = slot_of(hashes_[idx]);
        while (table_[i] != 0) i = (i + 1) & mask;
        table_[i] = (static_cast<uint64_t>(hashes_[idx]) << 32) | (idx + 1);
    }
}

}  // namespace varpulis::runtime
