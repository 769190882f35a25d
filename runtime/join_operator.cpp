#include "runtime/join_operator.hpp"

#include <algorithm>

#include "runtime/checkpoint_io.hpp"
#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

JoinOperator::JoinOperator(const ir::Plan& plan, const ir::Operator& op)
    : plan_(plan), op_(op), join_(*op.join), latest_(op.join->sources.size()) {}

void JoinOperator::push(const Row& row, Arena& scratch, const StrObj* joined_type, std::vector<Row>& out) {
    const size_t n = join_.sources.size();
    for (size_t src = 0; src < n; ++src) {
        const ir::JoinSource& js = join_.sources[src];
        if (js.type_id != row.schema || js.key_slot < 0) continue;
        const Value& k = row.slots[js.key_slot];
        if (!k.present()) continue;  // an event without its key field is ignored by the join
        key_.clear();
        append_partition_key(key_, k);
        const size_t width = plan_.schemas[static_cast<size_t>(row.schema)].fields.size();
        latest_[src].insert_or_assign(key_, StoredRow(row, width));

        std::vector<Row> parts(n);
        int64_t ts = row.ts;
        bool complete = true;
        for (size_t other = 0; other < n && complete; ++other) {
            if (other == src) {
                parts[other] = row;
                continue;
            }
            auto it = latest_[other].find(key_);
            if (it == latest_[other].end()) {
                complete = false;
                break;
            }
            if (join_.retention_ms >= 0 && it->second.ts < row.ts - join_.retention_ms) {
                latest_[other].erase(it);  // too old to join with anything arriving later in time
                complete = false;
                break;
            }
            parts[other] = it->second.view();
            ts = std::max(ts, it->second.ts);
        }
        if (!complete) break;
        const ir::Schema& out_schema = plan_.schemas[static_cast<size_t>(op_.out)];
        Value* slots = scratch.allocate_array<Value>(out_schema.fields.size());
        for (size_t f = 0; f < out_schema.fields.size(); ++f) {
            slots[f] = Value::absent();
            for (auto [s, slot] : out_schema.origins[f].candidates) {
                if (slot < 0) continue;
                const Value& v = parts[static_cast<size_t>(s)].slots[slot];
                if (v.present()) {
                    slots[f] = v;
                    break;
                }
            }
        }
        out.push_back(Row{slots, op_.out, ts, joined_type, nullptr, 0});
        break;  // one source per arrival
    }
}

void JoinOperator::save(CheckpointWriter& w) const {
    w.count(latest_.size());
    for (const auto& rows : latest_) {
        std::vector<const std::pair<const std::string, StoredRow>*> sorted;
        for (const auto& e : rows) sorted.push_back(&e);
        std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
        w.count(sorted.size());
        for (const auto* e : sorted) {
            w.str(e->first);
            w.row(e->second);
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
        const size_t width = plan_.schemas[static_cast<size_t>(schema)].fields.size();
        uint32_t n = r.count(25);
        for (uint32_t i = 0; i < n && r.ok(); ++i) {
            std::string key(r.str());
            StoredRow row;
            if (!r.row(row, width)) return false;
            if (row.schema != schema) return r.fail("join row of another schema");
            if (!latest_[src].emplace(std::move(key), std::move(row)).second) return r.fail("duplicate join key");
        }
    }
    return r.ok();
}

}  // namespace varpulis::runtime
