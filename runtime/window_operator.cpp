#include "runtime/window_operator.hpp"

#include <algorithm>

#include "runtime/checkpoint_io.hpp"

namespace varpulis::runtime {

using ir::WindowKind;

void WindowOperator::Buffer::push(const Row& r, size_t width) {
    values.insert(values.end(), r.slots, r.slots + width);
    metas.push_back({r.ts, r.type, r.raw, r.raw_count, r.schema});
}

void WindowOperator::Buffer::pop_front(size_t width) {
    ++head;
    // Compact once the dead prefix outweighs the live rows, so memory stays proportional.
    if (head > 64 && head * 2 > metas.size()) {
        values.erase(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(head * width));
        metas.erase(metas.begin(), metas.begin() + static_cast<std::ptrdiff_t>(head));
        head = 0;
    }
}

WindowOperator::WindowOperator(const ir::Window& window, size_t slot_count) : window_(window), width_(slot_count) {}

WindowOperator::State& WindowOperator::state_for(const Row& row) {
    if (window_.partition_slot < 0) return single_;
    // SEMANTICS §6.5: a missing field is the key "default" (PartitionIndex's default).
    bool fresh;
    const uint32_t i = index_.find_or_add(row.slots[window_.partition_slot], fresh);
    if (fresh) partitions_.emplace_back();
    return partitions_[i];
}

void WindowOperator::copy_out(const Buffer& rows, Arena& scratch, std::vector<Row>& out) const {
    const size_t n = rows.size();
    Value* slots = scratch.allocate_array<Value>(n * width_ + 1);
    std::copy(rows.values.begin() + static_cast<std::ptrdiff_t>(rows.head * width_), rows.values.end(), slots);
    for (size_t i = 0; i < n; ++i) {
        const auto& m = rows.metas[rows.head + i];
        out.push_back(Row{slots + i * width_, m.schema, m.ts, m.type, m.raw, m.raw_count});
    }
}

template <class Close>
void WindowOperator::push_with(const Row& row, Close&& close) {
    State& st = state_for(row);
    const int64_t t = row.ts;
    Buffer& b = st.rows;
    switch (window_.kind) {
        case WindowKind::Tumbling:
            if (!st.started) {
                st.start = t;
                st.started = true;
            } else if (t >= st.start + window_.size) {
                close(b);
                b.clear();
                st.start = t;
            }
            b.push(row, width_);
            break;
        case WindowKind::Sliding:
            b.push(row, width_);
            while (!b.empty() && b.front_ts() < t - window_.size) b.pop_front(width_);
            if (!st.emitted || t >= st.last_emit + window_.slide) {
                close(b);
                st.emitted = true;
                st.last_emit = t;
            }
            break;
        case WindowKind::Count:
            b.push(row, width_);
            if (static_cast<int64_t>(b.size()) >= window_.size) {
                close(b);
                b.clear();
            }
            break;
        case WindowKind::SlidingCount:
            b.push(row, width_);
            ++st.since_emit;
            if (static_cast<int64_t>(b.size()) > window_.size) b.pop_front(width_);
            if (static_cast<int64_t>(b.size()) >= window_.size && st.since_emit >= window_.slide) {
                close(b);
                st.since_emit = 0;
            }
            break;
        case WindowKind::Session:
            if (!b.empty() && t - st.last_ts > window_.size) {
                close(b);
                b.clear();
            }
            b.push(row, width_);
            st.last_ts = t;
            break;
    }
}

void WindowOperator::push(const Row& row, Arena& scratch, std::vector<Row>& out) {
    push_with(row, [&](const Buffer& b) { copy_out(b, scratch, out); });
}

void WindowOperator::push_view(const Row& row, CloseSink sink, void* self, Arena& scratch, std::vector<Row>& out) {
    push_with(row, [&](const Buffer& b) {
        const View v{b.values.data() + b.head * width_, b.size(), width_, b.metas.back().ts};
        if (!sink(self, v)) copy_out(b, scratch, out);
    });
}

void WindowOperator::finish(Arena& scratch, std::vector<std::vector<Row>>& batches) {
    if (window_.kind != WindowKind::Session) return;
    auto flush = [&](State& st) {
        if (st.rows.empty()) return;
        batches.emplace_back();
        copy_out(st.rows, scratch, batches.back());
        st.rows.clear();
    };
    if (window_.partition_slot < 0) flush(single_);
    for (auto& st : partitions_) flush(st);
}

// ------------------------------------------------------------------ checkpoints

void WindowOperator::save_state(CheckpointWriter& w, const State& st) const {
    const Buffer& b = st.rows;
    w.count(b.size());
    for (size_t i = b.head; i < b.metas.size(); ++i) {
        const auto& m = b.metas[i];
        w.row(b.values.data() + i * width_, width_, m.schema, m.ts, m.type, m.raw, m.raw_count);
    }
    w.i64(st.start);
    w.boolean(st.started);
    w.i64(st.last_emit);
    w.boolean(st.emitted);
    w.i64(st.last_ts);
    w.i64(st.since_emit);
}

bool WindowOperator::load_state(CheckpointReader& r, State& st) {
    // A row takes at least 21 bytes (schema, ts, type tag, two counts).
    uint32_t n = r.count(21);
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
        Buffer::Meta m{};
        r.row_into(st.rows.values, width_, m.schema, m.ts, m.type, m.raw, m.raw_count);
        st.rows.metas.push_back(m);
    }
    st.start = r.i64();
    st.started = r.boolean();
    st.last_emit = r.i64();
    st.emitted = r.boolean();
    st.last_ts = r.i64();
    st.since_emit = r.i64();
    return r.ok();
}

void WindowOperator::save(CheckpointWriter& w) const {
    save_state(w, single_);
    w.count(partitions_.size());
    for (size_t i = 0; i < partitions_.size(); ++i) {
        w.str(index_.key(static_cast<uint32_t>(i)));
        save_state(w, partitions_[i]);
    }
}

bool WindowOperator::load(CheckpointReader& r) {
    if (!load_state(r, single_)) return false;
    uint32_t n = r.count(4);
    if (!r.ok()) return false;
    if (n > 0 && window_.partition_slot < 0) return r.fail("partitions in an unpartitioned window");
    for (uint32_t i = 0; i < n; ++i) {
        std::string_view key = r.str();
        if (!r.ok()) return false;
        bool fresh;
        index_.find_or_add_key(key, fresh);
        if (!fresh) return r.fail("duplicate window partition");
        partitions_.emplace_back();
        if (!load_state(r, partitions_.back())) return false;
    }
    return true;
}

}  // namespace varpulis::runtime
