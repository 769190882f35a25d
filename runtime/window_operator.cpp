#include "runtime/window_operator.hpp"

#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

using ir::WindowKind;

WindowOperator::WindowOperator(const ir::Window& window, size_t slot_count) : window_(window), width_(slot_count) {}

WindowOperator::State& WindowOperator::state_for(const Row& row) {
    if (window_.partition_slot < 0) return single_;
    key_.clear();
    const Value& v = row.slots[window_.partition_slot];
    if (v.present()) append_partition_key(key_, v);
    else key_ = "default";  // SEMANTICS §6.5: a missing field is the key "default"
    auto [it, fresh] = index_.emplace(key_, partitions_.size());
    if (fresh) partitions_.emplace_back();
    return partitions_[it->second];
}

void WindowOperator::copy_out(const std::deque<StoredRow>& rows, size_t from, Arena& scratch,
                              std::vector<Row>& out) const {
    for (size_t i = from; i < rows.size(); ++i) {
        const StoredRow& s = rows[i];
        Value* slots = scratch.allocate_array<Value>(width_);
        std::copy(s.slots.begin(), s.slots.end(), slots);
        out.push_back(Row{slots, s.schema, s.ts, s.type, s.raw, s.raw_count});
    }
}

void WindowOperator::push(const Row& row, Arena& scratch, std::vector<Row>& out) {
    State& st = state_for(row);
    const int64_t t = row.ts;
    switch (window_.kind) {
        case WindowKind::Tumbling:
            if (st.rows.empty() && !st.emitted) {
                st.start = t;
                st.emitted = true;  // here: "has started"
            } else if (t >= st.start + window_.size) {
                copy_out(st.rows, 0, scratch, out);
                st.rows.clear();
                st.start = t;
            }
            st.rows.emplace_back(row, width_);
            break;
        case WindowKind::Sliding:
            st.rows.emplace_back(row, width_);
            while (!st.rows.empty() && st.rows.front().ts < t - window_.size) st.rows.pop_front();
            if (!st.emitted || t >= st.last_emit + window_.slide) {
                copy_out(st.rows, 0, scratch, out);
                st.emitted = true;
                st.last_emit = t;
            }
            break;
        case WindowKind::Count:
            st.rows.emplace_back(row, width_);
            if (static_cast<int64_t>(st.rows.size()) >= window_.size) {
                copy_out(st.rows, 0, scratch, out);
                st.rows.clear();
            }
            break;
        case WindowKind::SlidingCount:
            st.rows.emplace_back(row, width_);
            ++st.since_emit;
            if (static_cast<int64_t>(st.rows.size()) > window_.size) st.rows.pop_front();
            if (static_cast<int64_t>(st.rows.size()) >= window_.size && st.since_emit >= window_.slide) {
                copy_out(st.rows, 0, scratch, out);
                st.since_emit = 0;
            }
            break;
        case WindowKind::Session:
            if (!st.rows.empty() && t - st.last_ts > window_.size) {
                copy_out(st.rows, 0, scratch, out);
                st.rows.clear();
            }
            st.rows.emplace_back(row, width_);
            st.last_ts = t;
            break;
    }
}

void WindowOperator::finish(Arena& scratch, std::vector<std::vector<Row>>& batches) {
    if (window_.kind != WindowKind::Session) return;
    auto flush = [&](State& st) {
        if (st.rows.empty()) return;
        batches.emplace_back();
        copy_out(st.rows, 0, scratch, batches.back());
        st.rows.clear();
    };
    if (window_.partition_slot < 0) flush(single_);
    for (auto& st : partitions_) flush(st);
}

}  // namespace varpulis::runtime
