#include "runtime/value_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/value_io.hpp"

namespace varpulis::runtime {

using frontend::BinaryOp;
using frontend::UnaryOp;

namespace {

constexpr double kTwo63 = 9223372036854775808.0;  // 2^63, exactly representable

/// The int a float denotes exactly, if any.
bool float_as_int(double f, int64_t& out) {
    if (!(f >= -kTwo63 && f < kTwo63)) return false;  // also rejects NaN
    if (f != std::trunc(f)) return false;
    out = static_cast<int64_t>(f);
    return true;
}

template <class T>
int three_way(T a, T b) {
    return a < b ? -1 : (a > b ? 1 : 0);
}

uint64_t mix64(uint64_t x) {
    // splitmix64 finaliser: a good avalanche for integers used as hash inputs.
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

uint64_t hash_tagged(uint64_t tag, uint64_t x) { return mix64(x + 0x9E3779B97F4A7C15ull * (tag + 1)); }

int kind_rank(ValueKind k) {
    switch (k) {
        case ValueKind::Absent: return -1;
        case ValueKind::Null: return 0;
        case ValueKind::Bool: return 1;
        case ValueKind::Int:
        case ValueKind::Float: return 2;
        case ValueKind::Str: return 3;
        case ValueKind::Timestamp: return 4;
        case ValueKind::Duration: return 5;
        case ValueKind::Array: return 6;
        case ValueKind::Map: return 7;
    }
    return 8;
}

bool is_nan(const Value& v) { return v.kind == ValueKind::Float && std::isnan(v.f); }

/// Wrapping int arithmetic (two's complement), without signed-overflow UB.
int64_t wrap_add(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b)); }
int64_t wrap_sub(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b)); }
int64_t wrap_mul(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b)); }

double as_double(const Value& v) { return v.kind == ValueKind::Int ? static_cast<double>(v.i) : v.f; }

Value arithmetic(BinaryOp op, const Value& a, const Value& b, Arena& heap) {
    if (a.kind == ValueKind::Int && b.kind == ValueKind::Int) {
        int64_t x = a.i, y = b.i;
        switch (op) {
            case BinaryOp::Add: return Value::integer(wrap_add(x, y));
            case BinaryOp::Sub: return Value::integer(wrap_sub(x, y));
            case BinaryOp::Mul: return Value::integer(wrap_mul(x, y));
            case BinaryOp::Div:
                if (y == 0) return Value::absent();
                if (y == -1) return Value::integer(wrap_sub(0, x));  // INT64_MIN / -1 wraps
                return Value::integer(x / y);
            case BinaryOp::Mod:
                if (y == 0) return Value::absent();
                if (y == -1) return Value::integer(0);
                return Value::integer(x % y);
            case BinaryOp::Pow:
                return Value::integer(saturating_f64_to_i64(std::pow(static_cast<double>(x), static_cast<double>(y))));
            default: return Value::absent();
        }
    }
    if (a.is_number() && b.is_number()) {
        double x = as_double(a), y = as_double(b);
        switch (op) {
            case BinaryOp::Add: return Value::floating(x + y);
            case BinaryOp::Sub: return Value::floating(x - y);
            case BinaryOp::Mul: return Value::floating(x * y);
            case BinaryOp::Div: return y == 0.0 ? Value::absent() : Value::floating(x / y);
            case BinaryOp::Mod: return y == 0.0 ? Value::absent() : Value::floating(std::fmod(x, y));
            case BinaryOp::Pow: return Value::floating(std::pow(x, y));
            default: return Value::absent();
        }
    }
    if (op == BinaryOp::Add && a.kind == ValueKind::Str && b.kind == ValueKind::Str) {
        StrObj* s = heap.begin_string(size_t{a.s->size} + b.s->size);
        if (a.s->size) std::memcpy(s->data, a.s->data, a.s->size);
        if (b.s->size) std::memcpy(s->data + a.s->size, b.s->data, b.s->size);
        return Value::string(Arena::finish_string(s, size_t{a.s->size} + b.s->size));
    }
    // Timestamps and durations (an extension: §4.2 leaves them out). Durations are unsigned,
    // so a negative result has no value.
    if (op == BinaryOp::Add || op == BinaryOp::Sub) {
        const bool add = op == BinaryOp::Add;
        if (a.kind == ValueKind::Timestamp && b.kind == ValueKind::Duration)
            return Value::timestamp(add ? wrap_add(a.i, b.i) : wrap_sub(a.i, b.i));
        if (add && a.kind == ValueKind::Duration && b.kind == ValueKind::Timestamp)
            return Value::timestamp(wrap_add(a.i, b.i));
        if (a.kind == ValueKind::Duration && b.kind == ValueKind::Duration) {
            auto x = static_cast<uint64_t>(a.i), y = static_cast<uint64_t>(b.i);
            if (add) return x + y < x ? Value::absent() : Value::duration(x + y);
            return y > x ? Value::absent() : Value::duration(x - y);
        }
        if (!add && a.kind == ValueKind::Timestamp && b.kind == ValueKind::Timestamp)
            return b.i > a.i ? Value::absent() : Value::duration(static_cast<uint64_t>(a.i) - static_cast<uint64_t>(b.i));
    }
    return Value::absent();
}

}  // namespace

int compare_int_float(int64_t i, double f) {
    if (std::isnan(f)) return kUnordered;
    if (f >= kTwo63) return -1;
    if (f < -kTwo63) return 1;
    double t = std::trunc(f);
    auto ti = static_cast<int64_t>(t);
    if (i < ti) return -1;
    if (i > ti) return 1;
    // Same integral part: the fraction decides.
    if (f > t) return -1;
    if (f < t) return 1;
    return 0;
}

// ---------------------------------------------------------------- equality, order, hashing

bool values_equal(const Value& a, const Value& b) {
    if (a.kind == ValueKind::Int && b.kind == ValueKind::Float) {
        int64_t i;
        return float_as_int(b.f, i) && i == a.i;
    }
    if (a.kind == ValueKind::Float && b.kind == ValueKind::Int) return values_equal(b, a);
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case ValueKind::Absent: return false;
        case ValueKind::Null: return true;
        case ValueKind::Bool: return a.b == b.b;
        case ValueKind::Int:
        case ValueKind::Timestamp:
        case ValueKind::Duration: return a.i == b.i;
        case ValueKind::Float: return a.f == b.f || (std::isnan(a.f) && std::isnan(b.f));
        case ValueKind::Str: return a.s == b.s || a.str() == b.str();
        case ValueKind::Array:
            if (a.a->size != b.a->size) return false;
            for (uint32_t i = 0; i < a.a->size; ++i)
                if (!values_equal(a.a->items[i], b.a->items[i])) return false;
            return true;
        case ValueKind::Map: {
            if (a.m->size != b.m->size) return false;
            for (uint32_t i = 0; i < a.m->size; ++i) {
                const StrObj* k = a.m->keys[i];
                // Same position first: maps built the same way keep the same key order.
                uint32_t j = i;
                if (b.m->keys[j]->view() != k->view()) {
                    for (j = 0; j < b.m->size; ++j)
                        if (b.m->keys[j]->view() == k->view()) break;
                    if (j == b.m->size) return false;
                }
                if (!values_equal(a.m->values[i], b.m->values[j])) return false;
            }
            return true;
        }
    }
    return false;
}

int compare_numbers(const Value& a, const Value& b) {
    if (a.kind == ValueKind::Int && b.kind == ValueKind::Int) return three_way(a.i, b.i);
    if (a.kind == ValueKind::Int && b.kind == ValueKind::Float) return compare_int_float(a.i, b.f);
    if (a.kind == ValueKind::Float && b.kind == ValueKind::Int) {
        int r = compare_int_float(b.i, a.f);
        return r == kUnordered ? r : -r;
    }
    if (a.kind == ValueKind::Float && b.kind == ValueKind::Float) {
        if (std::isnan(a.f) || std::isnan(b.f)) return kUnordered;
        return three_way(a.f, b.f);
    }
    return kUnordered;
}

bool order_values(const Value& a, const Value& b, int& out) {
    if (a.is_number() && b.is_number()) {
        out = compare_numbers(a, b);
        return true;
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case ValueKind::Str: {
            int c = a.str().compare(b.str());
            out = c < 0 ? -1 : (c > 0 ? 1 : 0);
            return true;
        }
        case ValueKind::Timestamp: out = three_way(a.i, b.i); return true;
        case ValueKind::Duration: out = three_way(static_cast<uint64_t>(a.i), static_cast<uint64_t>(b.i)); return true;
        default: return false;
    }
}

int sort_compare(const Value& a, const Value& b) {
    int ra = kind_rank(a.kind), rb = kind_rank(b.kind);
    if (ra != rb) return ra < rb ? -1 : 1;
    switch (a.kind) {
        case ValueKind::Bool: return three_way(a.b, b.b);
        case ValueKind::Int:
        case ValueKind::Float: {
            bool na = is_nan(a), nb = is_nan(b);
            if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
            return compare_numbers(a, b);
        }
        case ValueKind::Str:
        case ValueKind::Timestamp:
        case ValueKind::Duration: {
            int c = 0;
            order_values(a, b, c);
            return c;
        }
        case ValueKind::Array: {
            uint32_t n = std::min(a.a->size, b.a->size);
            for (uint32_t i = 0; i < n; ++i) {
                int c = sort_compare(a.a->items[i], b.a->items[i]);
                if (c != 0) return c;
            }
            return three_way(a.a->size, b.a->size);
        }
        case ValueKind::Map: return three_way(a.m->size, b.m->size);
        default: return 0;
    }
}

uint64_t hash_value(const Value& v) {
    switch (v.kind) {
        case ValueKind::Absent: return hash_tagged(0, 0);
        case ValueKind::Null: return hash_tagged(1, 0);
        case ValueKind::Bool: return hash_tagged(2, v.b ? 1 : 0);
        case ValueKind::Int: return hash_tagged(3, static_cast<uint64_t>(v.i));
        case ValueKind::Float: {
            int64_t i;
            if (float_as_int(v.f, i)) return hash_tagged(3, static_cast<uint64_t>(i));  // like the equal int
            if (std::isnan(v.f)) return hash_tagged(4, 0);
            uint64_t bits;
            std::memcpy(&bits, &v.f, sizeof bits);
            return hash_tagged(4, bits);
        }
        case ValueKind::Str: {
            // FNV-1a 64 over the bytes (StrObj::hash is only 32 bits).
            uint64_t h = 14695981039346656037ull;
            for (unsigned char c : v.str()) {
                h ^= c;
                h *= 1099511628211ull;
            }
            return hash_tagged(5, h);
        }
        case ValueKind::Timestamp: return hash_tagged(6, static_cast<uint64_t>(v.i));
        case ValueKind::Duration: return hash_tagged(7, static_cast<uint64_t>(v.i));
        case ValueKind::Array: {
            uint64_t h = hash_tagged(8, v.a->size);
            for (uint32_t i = 0; i < v.a->size; ++i) h = mix64(h ^ hash_value(v.a->items[i])) + i;
            return h;
        }
        case ValueKind::Map: {
            // Order-independent (a sum over entries), as equality ignores key order.
            uint64_t sum = 0;
            for (uint32_t i = 0; i < v.m->size; ++i)
                sum += mix64(hash_value(Value::string(v.m->keys[i])) * 31 + hash_value(v.m->values[i]));
            return hash_tagged(9, sum + v.m->size);
        }
    }
    return 0;
}

void append_partition_key(std::string& out, const Value& v) {
    switch (v.kind) {
        case ValueKind::Absent: return;
        case ValueKind::Str: out += v.str(); return;
        case ValueKind::Int: append_int(out, v.i); return;
        case ValueKind::Float: {
            int64_t i;
            if (float_as_int(v.f, i)) {
                append_int(out, i);
                return;
            }
            append_display(out, v);
            return;
        }
        default: append_display(out, v); return;
    }
}

const char* type_name(ValueKind k) {
    switch (k) {
        case ValueKind::Absent: return "absent";
        case ValueKind::Null: return "null";
        case ValueKind::Bool: return "bool";
        case ValueKind::Int: return "int";
        case ValueKind::Float: return "float";
        case ValueKind::Str: return "string";
        case ValueKind::Timestamp: return "timestamp";
        case ValueKind::Duration: return "duration";
        case ValueKind::Array: return "array";
        case ValueKind::Map: return "map";
    }
    return "absent";
}

int64_t saturating_f64_to_i64(double d) {
    if (std::isnan(d)) return 0;
    if (d >= kTwo63) return std::numeric_limits<int64_t>::max();
    if (d < -kTwo63) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(d);
}

// ---------------------------------------------------------------- strings

Value make_string_value(Arena& heap, std::string_view s) { return Value::string(heap.make_string(s)); }

size_t utf8_char_count(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

size_t utf8_byte_offset(std::string_view s, size_t index) {
    size_t chars = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
            if (chars == index) return i;
            ++chars;
        }
    }
    return s.size();
}

// ---------------------------------------------------------------- operator kernels

Value binary_op(BinaryOp op, const Value& a, const Value& b, Arena& heap) {
    if (!a.present() || !b.present()) return Value::absent();
    switch (op) {
        case BinaryOp::Add:
        case BinaryOp::Sub:
        case BinaryOp::Mul:
        case BinaryOp::Div:
        case BinaryOp::Mod:
        case BinaryOp::Pow: return arithmetic(op, a, b, heap);
        case BinaryOp::Eq: return Value::boolean(values_equal(a, b));
        case BinaryOp::Ne: return Value::boolean(!values_equal(a, b));
        case BinaryOp::Lt:
        case BinaryOp::Le:
        case BinaryOp::Gt:
        case BinaryOp::Ge: {
            int c;
            if (!order_values(a, b, c)) return Value::absent();
            if (c == kUnordered) return Value::boolean(false);
            switch (op) {
                case BinaryOp::Lt: return Value::boolean(c < 0);
                case BinaryOp::Le: return Value::boolean(c <= 0);
                case BinaryOp::Gt: return Value::boolean(c > 0);
                default: return Value::boolean(c >= 0);
            }
        }
        case BinaryOp::In: return membership(a, b);
        case BinaryOp::NotIn: {
            Value r = membership(a, b);
            return r.present() ? Value::boolean(!r.b) : r;
        }
        case BinaryOp::And: return logical_and(a, b);
        case BinaryOp::Or: return logical_or(a, b);
        case BinaryOp::Xor:
            if (a.kind == ValueKind::Bool && b.kind == ValueKind::Bool) return Value::boolean(a.b != b.b);
            return Value::absent();
        // `is` and the bitwise operators parse but have no value (VPL.md §6.3).
        default: return Value::absent();
    }
}

Value unary_op(UnaryOp op, const Value& a) {
    switch (op) {
        case UnaryOp::Neg:
            if (a.kind == ValueKind::Int) return Value::integer(wrap_sub(0, a.i));
            if (a.kind == ValueKind::Float) return Value::floating(-a.f);
            return Value::absent();
        case UnaryOp::Not:
            if (a.kind == ValueKind::Bool) return Value::boolean(!a.b);
            return Value::absent();
        case UnaryOp::BitNot: return Value::absent();
    }
    return Value::absent();
}

Value logical_and(const Value& a, const Value& b) {
    bool ka = a.kind == ValueKind::Bool, kb = b.kind == ValueKind::Bool;
    if ((ka && !a.b) || (kb && !b.b)) return Value::boolean(false);
    if (ka && kb) return Value::boolean(true);
    return Value::absent();
}

Value logical_or(const Value& a, const Value& b) {
    bool ka = a.kind == ValueKind::Bool, kb = b.kind == ValueKind::Bool;
    if ((ka && a.b) || (kb && b.b)) return Value::boolean(true);
    if (ka && kb) return Value::boolean(false);
    return Value::absent();
}

Value membership(const Value& needle, const Value& haystack) {
    if (!needle.present()) return Value::absent();
    switch (haystack.kind) {
        case ValueKind::Array:
            for (uint32_t i = 0; i < haystack.a->size; ++i)
                if (values_equal(needle, haystack.a->items[i])) return Value::boolean(true);
            return Value::boolean(false);
        case ValueKind::Map:
            // Keys are strings: any other needle is simply not a key.
            if (needle.kind != ValueKind::Str) return Value::boolean(false);
            for (uint32_t i = 0; i < haystack.m->size; ++i)
                if (haystack.m->keys[i]->view() == needle.str()) return Value::boolean(true);
            return Value::boolean(false);
        case ValueKind::Str:
            if (needle.kind != ValueKind::Str) return Value::absent();
            return Value::boolean(haystack.str().find(needle.str()) != std::string_view::npos);
        default: return Value::absent();
    }
}

Value index_value(const Value& base, const Value& index, Arena& heap) {
    switch (base.kind) {
        case ValueKind::Array: {
            if (index.kind != ValueKind::Int) return Value::absent();
            int64_t n = base.a->size, i = index.i;
            if (i < 0) i += n;
            if (i < 0 || i >= n) return Value::absent();
            return base.a->items[i];
        }
        case ValueKind::Map:
            if (index.kind != ValueKind::Str) return Value::absent();
            for (uint32_t i = 0; i < base.m->size; ++i)
                if (base.m->keys[i]->view() == index.str()) return base.m->values[i];
            return Value::absent();
        case ValueKind::Str: {
            if (index.kind != ValueKind::Int) return Value::absent();
            std::string_view s = base.str();
            auto n = static_cast<int64_t>(utf8_char_count(s));
            int64_t i = index.i;
            if (i < 0) i += n;
            if (i < 0 || i >= n) return Value::absent();
            size_t from = utf8_byte_offset(s, static_cast<size_t>(i));
            size_t to = utf8_byte_offset(s, static_cast<size_t>(i) + 1);
            return make_string_value(heap, s.substr(from, to - from));
        }
        default: return Value::absent();
    }
}

Value slice_value(const Value& base, const Value& lo, const Value& hi, Arena& heap) {
    int64_t n;
    if (base.kind == ValueKind::Array) n = base.a->size;
    else if (base.kind == ValueKind::Str) n = static_cast<int64_t>(utf8_char_count(base.str()));
    else return Value::absent();
    auto bound = [n](const Value& v, int64_t open, int64_t& out) {
        if (v.kind == ValueKind::Null) {
            out = open;
            return true;
        }
        if (v.kind != ValueKind::Int) return false;
        int64_t x = v.i;
        if (x < 0) x = x < -n ? 0 : x + n;
        out = x > n ? n : x;
        return true;
    };
    int64_t from, to;
    if (!bound(lo, 0, from) || !bound(hi, n, to)) return Value::absent();
    if (to < from) to = from;
    if (base.kind == ValueKind::Array) {
        ArrayObj* out = heap.make_array(static_cast<uint32_t>(to - from));
        for (int64_t i = from; i < to; ++i) out->items[i - from] = base.a->items[i];
        return Value::array(out);
    }
    std::string_view s = base.str();
    size_t bf = utf8_byte_offset(s, static_cast<size_t>(from));
    size_t bt = utf8_byte_offset(s, static_cast<size_t>(to));
    return make_string_value(heap, s.substr(bf, bt - bf));
}

Value make_range(const Value& a, const Value& b, bool inclusive, Arena& heap) {
    if (a.kind != ValueKind::Int || b.kind != ValueKind::Int) return Value::absent();
    // The length in 128 bits would be exact; int64 differences can overflow, so compare first.
    if (b.i < a.i || (!inclusive && b.i == a.i)) return Value::array(heap.make_array(0));
    uint64_t len = static_cast<uint64_t>(b.i) - static_cast<uint64_t>(a.i) + (inclusive ? 1 : 0);
    if (len == 0 || len > static_cast<uint64_t>(kMaxRangeLength)) return Value::absent();
    ArrayObj* out = heap.make_array(static_cast<uint32_t>(len));
    for (uint64_t i = 0; i < len; ++i) out->items[i] = Value::integer(wrap_add(a.i, static_cast<int64_t>(i)));
    return Value::array(out);
}

}  // namespace varpulis::runtime
