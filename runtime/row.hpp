#pragma once
// Event rows: the unit every operator reads and writes (docs/architecture.md, "Event rows").

#include <cstdint>
#include <vector>

#include "runtime/input_event.hpp"
#include "runtime/value.hpp"

namespace varpulis::runtime {

/// A row in flight. `slots` has one Value per field of plan.schemas[schema] (Absent where
/// the event lacks the field). Rows in flight point into the engine's scratch arena, which is
/// reset after each input event; an operator that keeps a row copies it into a StoredRow.
/// `raw`, when set, lists every field of the event in insertion order (the input event's
/// fields, or a materialised copy) for whole-event uses such as `.print()` or `.distinct()`.
struct Row {
    const Value* slots = nullptr;
    int32_t schema = -1;
    int64_t ts = 0;                  // event time, ms since the Unix epoch
    const StrObj* type = nullptr;    // the event's type name (interned)
    const Field* raw = nullptr;
    uint32_t raw_count = 0;
};

/// A row kept by a stateful operator (window buffers, pattern runs, join partners). Owns its
/// slot copies; strings, arrays and maps it refers to live in long-lived arenas.
struct StoredRow {
    std::vector<Value> slots;
    int32_t schema = -1;
    int64_t ts = 0;
    const StrObj* type = nullptr;
    const Field* raw = nullptr;
    uint32_t raw_count = 0;

    StoredRow() = default;
    StoredRow(const Row& r, size_t slot_count)
        : slots(r.slots, r.slots + slot_count), schema(r.schema), ts(r.ts), type(r.type), raw(r.raw),
          raw_count(r.raw_count) {}

    Row view() const { return Row{slots.data(), schema, ts, type, raw, raw_count}; }
};

}  // namespace varpulis::runtime
