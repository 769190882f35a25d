#pragma once
// join(A, B, ...) with latest-partner retention (SEMANTICS §10, our rule §17 #33).

#include <string>
#include <unordered_map>
#include <vector>

#include "ir/plan.hpp"
#include "runtime/arena.hpp"
#include "runtime/row.hpp"

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
    const ir::Plan& plan_;
    const ir::Operator& op_;
    const ir::Join& join_;
    std::vector<std::unordered_map<std::string, StoredRow>> latest_;  // per source: key -> latest event
    std::string key_;
};

}  // namespace varpulis::runtime
