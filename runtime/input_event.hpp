#pragma once
// An input event as read from an event file or a JSON request.

#include "runtime/value.hpp"

#include <cstdint>
#include <string_view>

namespace varpulis::runtime {

/// One named field. `name` is interned (compare by pointer); `value` points into the
/// arena the event was read into.
struct Field {
    const StrObj* name;
    Value value;
};

/// An event with fields in insertion order (a repeated name keeps its first position and
/// takes the last value). `type` and field names are interned; `fields` and every string,
/// array and map value live in the reader's arena and stay valid until that arena is reset.
struct InputEvent {
    const StrObj* type = nullptr;
    int64_t timestamp_ms = 0;  // event time, ms since the Unix epoch
    uint32_t line = 0;         // 1-based physical line in the source file (0 if none)
    uint32_t field_count = 0;
    Field* fields = nullptr;

    /// The field named `name` (an interned pointer), or nullptr.
    const Value* find(const StrObj* name) const {
        for (uint32_t i = 0; i < field_count; ++i)
            if (fields[i].name == name) return &fields[i].value;
        return nullptr;
    }
    /// The field with these bytes, or nullptr (slower than the pointer lookup).
    const Value* find(std::string_view name) const {
        for (uint32_t i = 0; i < field_count; ++i)
            if (fields[i].name->view() == name) return &fields[i].value;
        return nullptr;
    }
};

}  // namespace varpulis::runtime
