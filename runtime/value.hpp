#pragma once
// Runtime values: a 16-byte tagged slot. Strings, arrays and maps point into an arena
// (runtime/arena.hpp) that outlives every row referring to them, so copying a Value never
// allocates and never touches a reference count.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace varpulis::runtime {

/// Kind tag. `Absent` is "no value" (SEMANTICS §4.1): a missing field or a failed
/// operation. It is never stored in an output event.
enum class ValueKind : uint8_t {
    Absent = 0,
    Null,
    Bool,
    Int,
    Float,
    Str,
    Timestamp,  // i64 ns since the Unix epoch
    Duration,   // u64 ns, stored in i
    Array,
    Map,
};

struct Value;

/// Immutable string bytes in an arena. `hash` is FNV-1a of the bytes, computed once.
struct StrObj {
    uint32_t size;
    uint32_t hash;
    char data[1];  // size bytes follow, not NUL-terminated
    std::string_view view() const { return {data, size}; }
};

/// Immutable array in an arena.
struct ArrayObj {
    uint32_t size;
    Value* items;
};

/// Immutable map in an arena; keys keep insertion order.
struct MapObj {
    uint32_t size;
    const StrObj** keys;
    Value* values;
};

struct Value {
    ValueKind kind = ValueKind::Absent;
    union {
        bool b;
        int64_t i;
        double f;
        const StrObj* s;
        const ArrayObj* a;
        const MapObj* m;
    };

    Value() : i(0) {}
    static Value absent() { return Value(); }
    static Value null() { Value v; v.kind = ValueKind::Null; return v; }
    static Value boolean(bool x) { Value v; v.kind = ValueKind::Bool; v.b = x; return v; }
    static Value integer(int64_t x) { Value v; v.kind = ValueKind::Int; v.i = x; return v; }
    static Value floating(double x) { Value v; v.kind = ValueKind::Float; v.f = x; return v; }
    static Value string(const StrObj* x) { Value v; v.kind = ValueKind::Str; v.s = x; return v; }
    static Value timestamp(int64_t ns) { Value v; v.kind = ValueKind::Timestamp; v.i = ns; return v; }
    static Value duration(uint64_t ns) { Value v; v.kind = ValueKind::Duration; v.i = static_cast<int64_t>(ns); return v; }
    static Value array(const ArrayObj* x) { Value v; v.kind = ValueKind::Array; v.a = x; return v; }
    static Value map(const MapObj* x) { Value v; v.kind = ValueKind::Map; v.m = x; return v; }

    bool present() const { return kind != ValueKind::Absent; }
    bool is_number() const { return kind == ValueKind::Int || kind == ValueKind::Float; }
    std::string_view str() const { return s->view(); }
};

static_assert(sizeof(Value) == 16, "Value is a 16-byte slot shared with generated code");

}  // namespace varpulis::runtime
