#pragma once
// Input events laid out ahead of time as the engine's rows (docs/architecture.md, "Event rows"),
// so processing them is a loop over contiguous slots: Engine::prepare() fills a batch,
// Engine::process_batch() runs it.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/input_event.hpp"
#include "runtime/value.hpp"

namespace varpulis::runtime {

/// Events converted to the slot rows of their routing schema, in input order. Built by
/// Engine::prepare() for that engine's plan only (schema ids and row widths are the plan's).
/// Strings, arrays, maps and raw field lists still point into the arena the events were read
/// into, which must outlive the batch; the InputEvents themselves may be dropped.
struct EventBatch {
    /// Rows back to back: event i's row has plan.schemas[schemas[i]].fields.size() slots
    /// (none for an unrouted event).
    std::vector<Value> values;
    /// Per event: routing schema, -1 when no stream reads its type (counted as unrouted).
    std::vector<int32_t> schemas;
    /// Per event: event time, ms since the Unix epoch.
    std::vector<int64_t> ts;
    /// Per event: the input event's field list, for whole-event uses (`.print()`, `.to()` ...).
    /// Empty when the engine's plan never looks at whole events: then rows carry none.
    std::vector<const Field*> raw;
    std::vector<uint32_t> raw_count;

    size_t size() const { return schemas.size(); }
    bool empty() const { return schemas.empty(); }
    void clear() {
        values.clear();
        schemas.clear();
        ts.clear();
        raw.clear();
        raw_count.clear();
    }
};

}  // namespace varpulis::runtime
