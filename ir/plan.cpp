#include "ir/plan.hpp"

namespace varpulis::ir {

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::Any: return "any";
        case Kind::Null: return "null";
        case Kind::Bool: return "bool";
        case Kind::Int: return "int";
        case Kind::Float: return "float";
        case Kind::Str: return "str";
        case Kind::Timestamp: return "timestamp";
        case Kind::Duration: return "duration";
        case Kind::Array: return "array";
        case Kind::Map: return "map";
    }
    return "any";
}

const char* strategy_name(Strategy s) {
    switch (s) {
        case Strategy::SkipTillNextMatch: return "skip_till_next_match";
        case Strategy::SkipTillAnyMatch: return "skip_till_any_match";
        case Strategy::StrictContiguity: return "strict_contiguity";
    }
    return "?";
}

const char* window_kind_name(WindowKind k) {
    switch (k) {
        case WindowKind::Tumbling: return "tumbling";
        case WindowKind::Sliding: return "sliding";
        case WindowKind::Count: return "count";
        case WindowKind::SlidingCount: return "sliding_count";
        case WindowKind::Session: return "session";
    }
    return "?";
}

int Schema::slot_of(const std::string& f) const {
    for (size_t i = 0; i < fields.size(); ++i)
        if (fields[i] == f) return static_cast<int>(i);
    return -1;
}

int32_t Plan::routing_schema(const std::string& name) const {
    for (size_t i = 0; i < schemas.size(); ++i)
        if (schemas[i].kind == SchemaKind::Event && schemas[i].name == name) return static_cast<int32_t>(i);
    return -1;
}

}  // namespace varpulis::ir
