#pragma once
// join(A, B, ...) with latest-partner retention (SEMANTICS §10, our rule §17 #33).
//
// Keys go through one PartitionIndex shared by all sources (key text of SEMANTICS §6.5, as
// append_partition_key writes it), so an event costs one key lookup whatever the number of
// sources; each source keeps its latest row per key in flat arrays indexed by the key's number,
// overwritten in place: nothing is allocated per event once a key has been seen.

#include <cstdint>
#include <vector>

#include "ir/plan.hpp"
#include "runtime/arena.hpp"
#include "runtime/row.hpp"
#include "runtime/window_state.hpp"

namespace varpulis::runtime {

class CheckpointReader;
class CheckpointWriter;

class JoinOperator {
public:
    JoinOperator(const ir::Plan& plan, const ir::Operator& op);

    /// An event routed to the join stream: stores it as its source's latest for its key, then
    /// appends one joined row (schema op.out) when every other source has a usable partner.
    void push(const Row& row, Arena& scratch, const StrObj* joined_type, std::vector<Row>& out);

    /// Checkpoints: per source, its latest row per key (keys sorted, so equal states give equal
    /// bytes). load() expects a freshly built operator; false (reader failed) on bad data.
    void save(CheckpointWriter& w) const;
    bool load(CheckpointReader& r);

private:
    /// One source's latest row per key number (`present` 0: none, or dropped as too old).
    struct Latest {
        size_t width = 0;
        std::vector<Value> slots;   // width per key
        struct Meta {
            int64_t ts = 0;
            const StrObj* type = nullptr;
            const Field* raw = nullptr;
            uint32_t raw_count = 0;
            int32_t schema = -1;
            uint8_t present = 0;
        };
        std::vector<Meta> meta;
        Row view(uint32_t key) const {
            const Meta& m = meta[key];
            return Row{const_cast<Value*>(slots.data() + key * width), m.schema, m.ts, m.type, m.raw, m.raw_count};
        }
    };

    void store(Latest& l, uint32_t key, const Row& row);
    void grow(size_t keys);

    const ir::Plan& plan_;
    const ir::Operator& op_;
    const ir::Join& join_;
    PartitionIndex keys_;
    std::vector<Latest> latest_;   // per source
    std::vector<Row> parts_;       // push(): the partner of each source
};

}  // namespace varpulis::runtime
