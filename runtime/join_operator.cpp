#include "runtime/join_operator.hpp"

#include <algorithm>
#include <new>
#include <string_view>

#include "runtime/checkpoint_io.hpp"

namespace varpulis::runtime {

JoinOperator::JoinOperator(const ir::Plan& plan, const ir::Operator& op)
    : plan_(plan), op_(op), join_(*op.join), latest_(op.join->sources.size()), parts_(op.join->sources.size()) {
    for (size_t src = 0; src < latest_.size(); ++src) {
        const int32_t schema = join_.sources[src].type_id;
        if (schema >= 0 && static_cast<size_t>(schema) < plan_.schemas.size())
            latest_[src].width = plan_.schemas[static_cast<size_t>(schema)].fields.size();
    }
    sides_.resize(latest_.size(), JoinSide{nullptr, nullptr});
    run_.sides = sides_.data();
    run_.key = &JoinOperator::key_of;
    run_.self = this;
    if (op_.out >= 0 && static_cast<size_t>(op_.out) < plan_.schemas.size())
        joined_.resize(std::max<size_t>(plan_.schemas[static_cast<size_t>(op_.out)].fields.size(), 1));
}

void JoinOperator::grow(size_t keys) {
    for (Latest& l : latest_) {
        if (l.meta.size() >= keys) continue;
        l.meta.resize(keys);
        l.slots.resize(keys * l.width, Value::absent());
    }
    for (size_t src = 0; src < latest_.size(); ++src) sides_[src] = {latest_[src].slots.data(), latest_[src].meta.data()};
}

uint32_t JoinOperator::key_of(JoinRun* run, const Value* key) noexcept {
    try {
        return static_cast<KeyRun*>(run)->self->key_number(*key);
    } catch (...) {
        return UINT32_MAX;  // allocation failure: the kernel returns -1 and push() throws
    }
}

uint32_t JoinOperator::key_number(const Value& k) {
    bool fresh = false;
    const uint32_t key = keys_.find_or_add(k, fresh);
    if (fresh) grow(keys_.size());
    return key;
}

void JoinOperator::store(Latest& l, uint32_t key, const Row& row) {
    std::copy(row.slots, row.slots + l.width, l.slots.begin() + static_cast<std::ptrdiff_t>(key * l.width));
    l.meta[key] = {row.ts, row.type, row.raw, row.raw_count, row.schema, 1};
}

void JoinOperator::push(const Row& row, Arena& scratch, const StrObj* joined_type, std::vector<Row>& out) {
    const size_t n = join_.sources.size();
    for (size_t src = 0; src < n; ++src) {
        const ir::JoinSource& js = join_.sources[src];
        if (js.type_id != row.schema || js.key_slot < 0) continue;
        if (kernels_ && src < kernels_->size() && (*kernels_)[src]) {
            int64_t ts = 0;
            const int32_t r = (*kernels_)[src](&row, joined_.data(), &ts, &run_);
            if (r == 2) continue;  // no key: the next source of this schema may take it
            if (r < 0) throw std::bad_alloc();
            if (r == 1) {
                const size_t w = plan_.schemas[static_cast<size_t>(op_.out)].fields.size();
                Value* slots = scratch.allocate_array<Value>(w);
                std::copy(joined_.begin(), joined_.begin() + static_cast<std::ptrdiff_t>(w), slots);
                out.push_back(Row{slots, op_.out, ts, joined_type, nullptr, 0});
            }
            return;
        }
        const Value& k = row.slots[js.key_slot];
        if (!k.present()) continue;  // an event without its key field is ignored by the join
        const uint32_t key = key_number(k);
        store(latest_[src], key, row);

        int64_t ts = row.ts;
        for (size_t other = 0; other < n; ++other) {
            if (other == src) {
                parts_[other] = row;
                continue;
            }
            Latest& l = latest_[other];
            Latest::Meta& m = l.meta[key];
            if (!m.present) return;
            if (join_.retention_ms >= 0 && m.ts < row.ts - join_.retention_ms) {
                m.present = 0;  // too old to join with anything arriving later in time
                return;
            }
            parts_[other] = l.view(key);
            ts = std::max(ts, m.ts);
        }
        const ir::Schema& out_schema = plan_.schemas[static_cast<size_t>(op_.out)];
        Value* slots = scratch.allocate_array<Value>(out_schema.fields.size());
        for (size_t f = 0; f < out_schema.fields.size(); ++f) {
            slots[f] = Value::absent();
            for (auto [s, slot] : out_schema.origins[f].candidates) {
                if (slot < 0) continue;
                const Value& v = parts_[static_cast<size_t>(s)].slots[slot];
                if (v.present()) {
                    slots[f] = v;
                    break;
                }
            }
        }
        out.push_back(Row{slots, op_.out, ts, joined_type, nullptr, 0});
        return;  // one source per arrival
    }
}

void JoinOperator::save(CheckpointWriter& w) const {
    w.count(latest_.size());
    std::vector<std::pair<std::string_view, uint32_t>> sorted;
    for (const Latest& l : latest_) {
        sorted.clear();
        for (uint32_t key = 0; key < l.meta.size(); ++key)
            if (l.meta[key].present) sorted.emplace_back(keys_.key(key), key);
        std::sort(sorted.begin(), sorted.end());
        w.count(sorted.size());
        for (const auto& [text, key] : sorted) {
            const Latest::Meta& m = l.meta[key];
            w.str(text);
            w.row(l.slots.data() + key * l.width, l.width, m.schema, m.ts, m.type, m.raw, m.raw_count);
        }
    }
}

bool JoinOperator::load(CheckpointReader& r) {
    uint32_t sources = r.count(4);
    if (!r.ok()) return false;
    if (sources != latest_.size()) return r.fail("join source count does not match");
    for (size_t src = 0; src < latest_.size(); ++src) {
        const int32_t schema = join_.sources[src].type_id;
        if (schema < 0 || static_cast<size_t>(schema) >= plan_.schemas.size()) return r.fail("join source without schema");
        uint32_t n = r.count(25);
        for (uint32_t i = 0; i < n && r.ok(); ++i) {
            std::string_view text = r.str();
            StoredRow row;
            if (!r.row(row, latest_[src].width)) return false;
            if (row.schema != schema) return r.fail("join row of another schema");
            bool fresh = false;
            const uint32_t key = keys_.find_or_add_key(text, fresh);
            if (fresh) grow(keys_.size());
            if (latest_[src].meta[key].present) return r.fail("duplicate join key");
            store(latest_[src], key, row.view());
        }
    }
    return r.ok();
}

}  // namespace varpulis::runtime
