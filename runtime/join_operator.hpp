#pragma once
// join(A, B, ...) with latest-partner retention (SEMANTICS §10, our rule §17 #33).
//
// Keys go through one PartitionIndex shared by all sources (key text of SEMANTICS §6.5, as
// append_partition_key writes it), so an event costs one key lookup whatever the number of
// sources; each source keeps its latest row per key in flat arrays indexed by the key's number,
// overwritten in place: nothing is allocated per event once a key has been seen.
//
// That state has the layout of runtime/abi.hpp (JoinRun, JoinSide, JoinMeta), so a compiled
// kernel per source (set_kernels; codegen::compiles_join) does an event's work on the same
// arrays as push()'s own loop: the engine may swap between the two at any event.

#include <cstdint>
#include <vector>

#include "ir/plan.hpp"
#include "runtime/abi.hpp"
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

    /// The compiled kernel per source (KernelTable OpKernels::joins; nullptr or empty: push()
    /// runs its own loop). The vector must outlive its use (the engine's installed table).
    void set_kernels(const std::vector<JoinKernel>* kernels) { kernels_ = kernels && !kernels->empty() ? kernels : nullptr; }

    /// The number of key `k`, every source's arrays grown for it (sides_ rebased).
    uint32_t key_number(const Value& k);

    /// Checkpoints: per source, its latest row per key (keys sorted, so equal states give equal
    /// bytes). load() expects a freshly built operator; false (reader failed) on bad data.
    void save(CheckpointWriter& w) const;
    bool load(CheckpointReader& r);

private:
    /// One source's latest row per key number (`present` 0: none, or dropped as too old).
    struct Latest {
        size_t width = 0;
        std::vector<Value> slots;   // width per key
        using Meta = JoinMeta;
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
    std::vector<JoinSide> sides_;  // per source, where latest_ keeps its arrays (JoinRun)
    /// What kernels get: the arrays, and JoinRun::key (key_of) finding this operator again.
    struct KeyRun : JoinRun {
        JoinOperator* self = nullptr;
    };
    static uint32_t key_of(JoinRun* run, const Value* key) noexcept;
    KeyRun run_{};
    const std::vector<JoinKernel>* kernels_ = nullptr;
    std::vector<Value> joined_;    // a kernel's joined row, copied to scratch when it is one
};

}  // namespace varpulis::runtime
