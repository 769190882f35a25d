// Scalar builtins (VPL.md §9c). Every function checks the number and kinds of its (present)
// arguments and returns absent on a mismatch; results that need memory live in rt.heap.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "runtime/eval.hpp"
#include "runtime/value_io.hpp"
#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

using frontend::Builtin;

namespace {

constexpr size_t kBuiltinCount = static_cast<size_t>(Builtin::Uuid) + 1;

struct Arity {
    uint8_t min = 0;
    uint8_t max = 0;
};

/// Arity by id, from the catalogue the checker uses (so the two cannot drift apart).
const std::array<Arity, kBuiltinCount>& arities() {
    static const std::array<Arity, kBuiltinCount> table = [] {
        std::array<Arity, kBuiltinCount> t{};
        for (const auto& b : frontend::all_builtins()) t[static_cast<size_t>(b.id)] = {b.min_args, b.max_args};
        return t;
    }();
    return table;
}

bool is_int(const Value& v) { return v.kind == ValueKind::Int; }
bool is_str(const Value& v) { return v.kind == ValueKind::Str; }
bool is_arr(const Value& v) { return v.kind == ValueKind::Array; }
bool is_map(const Value& v) { return v.kind == ValueKind::Map; }
double num(const Value& v) { return v.kind == ValueKind::Int ? static_cast<double>(v.i) : v.f; }

/// Text assembled by a builtin before it is copied into the heap. Builtins do not re-enter
/// the evaluator while they write it, so one buffer per thread is enough.
std::string& scratch() {
    thread_local std::string s;
    s.clear();
    return s;
}

Value float_fn(double (*f)(double), const Value& x) {
    if (!x.is_number()) return Value::absent();
    return Value::floating(f(num(x)));
}

Value to_int_fn(double (*f)(double), const Value& x) {
    if (x.kind == ValueKind::Int) return x;
    if (x.kind == ValueKind::Float) return Value::integer(saturating_f64_to_i64(f(x.f)));
    return Value::absent();
}

/// Parses a whole string as a number: an int if it is one, else a float (Rust's `parse`
/// accepts a leading '+', which std::from_chars does not).
bool parse_number(std::string_view s, Value& out) {
    std::string_view body = s;
    if (!body.empty() && body[0] == '+') body.remove_prefix(1);
    if (body.empty() || body[0] == '+') return false;
    const char* end = body.data() + body.size();
    int64_t i;
    auto ri = std::from_chars(body.data(), end, i);
    if (ri.ec == std::errc() && ri.ptr == end) {
        out = Value::integer(i);
        return true;
    }
    double d;
    auto rd = std::from_chars(body.data(), end, d);
    if (rd.ec == std::errc() && rd.ptr == end) {
        out = Value::floating(d);
        return true;
    }
    // Integers too large for i64 still parse as floats; from_chars reports range errors.
    if (rd.ec == std::errc::result_out_of_range && rd.ptr == end) {
        out = Value::floating(std::strtod(std::string(body).c_str(), nullptr));
        return true;
    }
    return false;
}

Value array_of(Arena& heap, const Value* items, size_t n) {
    ArrayObj* a = heap.make_array(static_cast<uint32_t>(n));
    for (size_t i = 0; i < n; ++i) a->items[i] = items[i];
    return Value::array(a);
}

/// Normalises an index into [0, n) (negative counts from the end); false if out of range.
bool element_index(const Value& idx, uint32_t n, uint32_t& out) {
    if (!is_int(idx)) return false;
    int64_t i = idx.i;
    if (i < 0) i += n;
    if (i < 0 || i >= static_cast<int64_t>(n)) return false;
    out = static_cast<uint32_t>(i);
    return true;
}

Value string_case(Arena& heap, const Value& s, bool upper) {
    if (!is_str(s)) return Value::absent();
    // ASCII letters only: other bytes (UTF-8 sequences included) are copied unchanged.
    StrObj* o = heap.begin_string(s.s->size);
    for (uint32_t i = 0; i < s.s->size; ++i) {
        char c = s.s->data[i];
        if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        o->data[i] = c;
    }
    return Value::string(Arena::finish_string(o, s.s->size));
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

Value split_fn(Arena& heap, std::string_view s, std::string_view sep) {
    std::vector<Value> parts;
    if (sep.empty()) {
        // Rust's `split("")`: an empty piece, every character, an empty piece.
        parts.push_back(make_string_value(heap, ""));
        for (size_t i = 0; i < s.size();) {
            size_t j = i + 1;
            while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
            parts.push_back(make_string_value(heap, s.substr(i, j - i)));
            i = j;
        }
        parts.push_back(make_string_value(heap, ""));
    } else {
        size_t from = 0;
        for (;;) {
            size_t at = s.find(sep, from);
            if (at == std::string_view::npos) {
                parts.push_back(make_string_value(heap, s.substr(from)));
                break;
            }
            parts.push_back(make_string_value(heap, s.substr(from, at - from)));
            from = at + sep.size();
        }
    }
    return array_of(heap, parts.data(), parts.size());
}

Value replace_fn(Arena& heap, std::string_view s, std::string_view from, std::string_view to) {
    std::string& out = scratch();
    if (from.empty()) {
        // Rust's `replace("", x)`: x before every character and at the end.
        for (size_t i = 0; i < s.size();) {
            out += to;
            size_t j = i + 1;
            while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
            out += s.substr(i, j - i);
            i = j;
        }
        out += to;
    } else {
        size_t pos = 0;
        for (;;) {
            size_t at = s.find(from, pos);
            if (at == std::string_view::npos) {
                out += s.substr(pos);
                break;
            }
            out += s.substr(pos, at - pos);
            out += to;
            pos = at + from.size();
        }
    }
    return make_string_value(heap, out);
}

Value reverse_fn(Arena& heap, const Value& x) {
    if (is_arr(x)) {
        ArrayObj* a = heap.make_array(x.a->size);
        for (uint32_t i = 0; i < x.a->size; ++i) a->items[i] = x.a->items[x.a->size - 1 - i];
        return Value::array(a);
    }
    if (is_str(x)) {
        // By character, so multi-byte UTF-8 sequences stay intact.
        std::string_view s = x.str();
        StrObj* o = heap.begin_string(s.size());
        size_t w = s.size();
        for (size_t i = 0; i < s.size();) {
            size_t j = i + 1;
            while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
            w -= j - i;
            std::memcpy(o->data + w, s.data() + i, j - i);
            i = j;
        }
        return Value::string(Arena::finish_string(o, s.size()));
    }
    return Value::absent();
}

Value uuid_v4(Runtime& rt, Arena& heap) {
    auto next = [&rt] {
        // splitmix64 over the runtime's state.
        uint64_t z = (rt.uuid_state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    uint8_t b[16];
    uint64_t hi = next(), lo = next();
    std::memcpy(b, &hi, 8);
    std::memcpy(b + 8, &lo, 8);
    b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
    b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
    static constexpr char kHex[] = "0123456789abcdef";
    StrObj* o = heap.begin_string(36);
    size_t w = 0;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) o->data[w++] = '-';
        o->data[w++] = kHex[b[i] >> 4];
        o->data[w++] = kHex[b[i] & 15];
    }
    return Value::string(Arena::finish_string(o, 36));
}

Value dispatch(Builtin fn, const Value* a, size_t n, EvalContext& ctx) {
    Arena& heap = *ctx.rt->heap;
    switch (fn) {
        case Builtin::Abs:
            if (a[0].kind == ValueKind::Int)
                return Value::integer(a[0].i < 0 ? static_cast<int64_t>(0 - static_cast<uint64_t>(a[0].i)) : a[0].i);
            if (a[0].kind == ValueKind::Float) return Value::floating(std::fabs(a[0].f));
            return Value::absent();
        case Builtin::Sqrt: return float_fn([](double x) { return std::sqrt(x); }, a[0]);
        case Builtin::Log: return float_fn([](double x) { return std::log(x); }, a[0]);
        case Builtin::Log10: return float_fn([](double x) { return std::log10(x); }, a[0]);
        case Builtin::Exp: return float_fn([](double x) { return std::exp(x); }, a[0]);
        case Builtin::Sin: return float_fn([](double x) { return std::sin(x); }, a[0]);
        case Builtin::Cos: return float_fn([](double x) { return std::cos(x); }, a[0]);
        case Builtin::Tan: return float_fn([](double x) { return std::tan(x); }, a[0]);
        case Builtin::Floor: return to_int_fn([](double x) { return std::floor(x); }, a[0]);
        case Builtin::Ceil: return to_int_fn([](double x) { return std::ceil(x); }, a[0]);
        case Builtin::Round: return to_int_fn([](double x) { return std::round(x); }, a[0]);  // half away from zero
        case Builtin::Pow:
            if (!a[0].is_number() || !a[1].is_number()) return Value::absent();
            return binary_op(frontend::BinaryOp::Pow, a[0], a[1], heap);
        case Builtin::Min:
        case Builtin::Max: {
            if (!a[0].is_number() || !a[1].is_number()) return Value::absent();
            const bool mn = fn == Builtin::Min;
            if (is_int(a[0]) && is_int(a[1]))
                return Value::integer(mn ? std::min(a[0].i, a[1].i) : std::max(a[0].i, a[1].i));
            return Value::floating(mn ? std::fmin(num(a[0]), num(a[1])) : std::fmax(num(a[0]), num(a[1])));
        }
        case Builtin::Clamp: {
            if (!a[0].is_number() || !a[1].is_number() || !a[2].is_number()) return Value::absent();
            if (is_int(a[0]) && is_int(a[1]) && is_int(a[2]))
                return Value::integer(std::min(std::max(a[0].i, a[1].i), a[2].i));
            return Value::floating(std::fmin(std::fmax(num(a[0]), num(a[1])), num(a[2])));
        }
        case Builtin::Len:
            if (is_str(a[0])) return Value::integer(a[0].s->size);
            if (is_arr(a[0])) return Value::integer(a[0].a->size);
            if (is_map(a[0])) return Value::integer(a[0].m->size);
            return Value::absent();
        case Builtin::First:
        case Builtin::Last:
            if (!is_arr(a[0]) || a[0].a->size == 0) return Value::absent();
            return a[0].a->items[fn == Builtin::First ? 0 : a[0].a->size - 1];
        case Builtin::Push: {
            if (!is_arr(a[0])) return Value::absent();
            ArrayObj* r = heap.make_array(a[0].a->size + 1);
            std::copy(a[0].a->items, a[0].a->items + a[0].a->size, r->items);
            r->items[a[0].a->size] = a[1];
            return Value::array(r);
        }
        case Builtin::Pop:
            if (!is_arr(a[0]) || a[0].a->size == 0) return Value::absent();
            return array_of(heap, a[0].a->items, a[0].a->size - 1);
        case Builtin::Reverse: return reverse_fn(heap, a[0]);
        case Builtin::Sort: {
            if (!is_arr(a[0])) return Value::absent();
            ArrayObj* r = heap.make_array(a[0].a->size);
            std::copy(a[0].a->items, a[0].a->items + a[0].a->size, r->items);
            std::stable_sort(r->items, r->items + r->size,
                             [](const Value& x, const Value& y) { return sort_compare(x, y) < 0; });
            return Value::array(r);
        }
        case Builtin::Contains:
            if (is_arr(a[0]) || is_map(a[0]) || is_str(a[0])) return membership(a[1], a[0]);
            return Value::absent();
        case Builtin::Keys:
        case Builtin::Values: {
            if (!is_map(a[0])) return Value::absent();
            ArrayObj* r = heap.make_array(a[0].m->size);
            for (uint32_t i = 0; i < a[0].m->size; ++i)
                r->items[i] = fn == Builtin::Keys ? Value::string(a[0].m->keys[i]) : a[0].m->values[i];
            return Value::array(r);
        }
        case Builtin::Get:
            if (is_arr(a[0]) && is_int(a[1])) return index_value(a[0], a[1], heap);
            if (is_map(a[0]) && is_str(a[1])) return index_value(a[0], a[1], heap);
            return Value::absent();
        case Builtin::Set: {
            if (is_arr(a[0])) {
                uint32_t i;
                if (!element_index(a[1], a[0].a->size, i)) return Value::absent();
                ArrayObj* r = heap.make_array(a[0].a->size);
                std::copy(a[0].a->items, a[0].a->items + a[0].a->size, r->items);
                r->items[i] = a[2];
                return Value::array(r);
            }
            if (is_map(a[0]) && is_str(a[1])) {
                const MapObj* m = a[0].m;
                uint32_t at = m->size;
                for (uint32_t i = 0; i < m->size; ++i)
                    if (m->keys[i]->view() == a[1].str()) at = i;
                MapObj* r = heap.make_map(at == m->size ? m->size + 1 : m->size);
                std::copy(m->keys, m->keys + m->size, r->keys);
                std::copy(m->values, m->values + m->size, r->values);
                r->keys[at] = a[1].s;
                r->values[at] = a[2];
                return Value::map(r);
            }
            return Value::absent();
        }
        case Builtin::Range:
            if (n == 1) return make_range(Value::integer(0), a[0], false, heap);
            return make_range(a[0], a[1], false, heap);
        case Builtin::Sum:
        case Builtin::Avg: {
            if (!is_arr(a[0])) return Value::absent();
            // Non-numeric elements are skipped, as aggregates skip them (SEMANTICS §4.1).
            double sum = 0.0;
            uint32_t count = 0;
            for (uint32_t i = 0; i < a[0].a->size; ++i) {
                const Value& v = a[0].a->items[i];
                if (!v.is_number()) continue;
                sum += num(v);
                ++count;
            }
            if (fn == Builtin::Sum) return Value::floating(sum);
            return Value::floating(count == 0 ? 0.0 : sum / count);
        }
        case Builtin::ToString: {
            if (is_str(a[0])) return a[0];
            std::string& s = scratch();
            append_to_string(s, a[0]);
            return make_string_value(heap, s);
        }
        case Builtin::ToInt: {
            const Value& x = a[0];
            if (is_int(x)) return x;
            if (x.kind == ValueKind::Float) return Value::integer(saturating_f64_to_i64(x.f));
            if (x.kind == ValueKind::Bool) return Value::integer(x.b ? 1 : 0);
            Value parsed;
            if (is_str(x) && parse_number(x.str(), parsed))
                return parsed.kind == ValueKind::Int ? parsed : Value::integer(saturating_f64_to_i64(parsed.f));
            return Value::absent();
        }
        case Builtin::ToFloat: {
            const Value& x = a[0];
            if (x.is_number()) return Value::floating(num(x));
            Value parsed;
            if (is_str(x) && parse_number(x.str(), parsed)) return Value::floating(num(parsed));
            return Value::absent();
        }
        case Builtin::Trim: {
            if (!is_str(a[0])) return Value::absent();
            std::string_view s = a[0].str();
            while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
            while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
            return s.size() == a[0].s->size ? a[0] : make_string_value(heap, s);
        }
        case Builtin::Lower: return string_case(heap, a[0], false);
        case Builtin::Upper: return string_case(heap, a[0], true);
        case Builtin::Concat: {
            std::string& s = scratch();
            for (size_t i = 0; i < n; ++i) append_to_string(s, a[i]);
            return make_string_value(heap, s);
        }
        case Builtin::Split:
            if (!is_str(a[0]) || !is_str(a[1])) return Value::absent();
            return split_fn(heap, a[0].str(), a[1].str());
        case Builtin::Join: {
            if (!is_arr(a[0]) || !is_str(a[1])) return Value::absent();
            std::string& s = scratch();
            for (uint32_t i = 0; i < a[0].a->size; ++i) {
                if (i > 0) s += a[1].str();
                append_to_string(s, a[0].a->items[i]);
            }
            return make_string_value(heap, s);
        }
        case Builtin::Replace:
            if (!is_str(a[0]) || !is_str(a[1]) || !is_str(a[2])) return Value::absent();
            return replace_fn(heap, a[0].str(), a[1].str(), a[2].str());
        case Builtin::StartsWith:
            if (!is_str(a[0]) || !is_str(a[1])) return Value::absent();
            return Value::boolean(a[0].str().starts_with(a[1].str()));
        case Builtin::EndsWith:
            if (!is_str(a[0]) || !is_str(a[1])) return Value::absent();
            return Value::boolean(a[0].str().ends_with(a[1].str()));
        case Builtin::Substring: {
            if (!is_str(a[0]) || !is_int(a[1]) || (n == 3 && !is_int(a[2]))) return Value::absent();
            // Character indices, clamped to the string (a negative start counts as 0).
            std::string_view s = a[0].str();
            auto chars = static_cast<int64_t>(utf8_char_count(s));
            int64_t from = std::clamp<int64_t>(a[1].i, 0, chars);
            int64_t to = n == 3 ? std::clamp<int64_t>(a[2].i, from, chars) : chars;
            size_t bf = utf8_byte_offset(s, static_cast<size_t>(from));
            size_t bt = utf8_byte_offset(s, static_cast<size_t>(to));
            return make_string_value(heap, s.substr(bf, bt - bf));
        }
        case Builtin::TypeOf: {
            // type names are literals: intern them rather than allocate per call.
            const char* name = type_name(a[0].kind);
            return Value::string(ctx.rt->interner ? ctx.rt->interner->intern(name) : heap.make_string(name));
        }
        case Builtin::IsNull: return Value::boolean(a[0].kind == ValueKind::Null);
        case Builtin::IsInt: return Value::boolean(a[0].kind == ValueKind::Int);
        case Builtin::IsFloat: return Value::boolean(a[0].kind == ValueKind::Float);
        case Builtin::IsString: return Value::boolean(a[0].kind == ValueKind::Str);
        case Builtin::IsBool: return Value::boolean(a[0].kind == ValueKind::Bool);
        case Builtin::IsArray: return Value::boolean(a[0].kind == ValueKind::Array);
        case Builtin::IsMap: return Value::boolean(a[0].kind == ValueKind::Map);
        case Builtin::Coalesce: return a[0];  // absent arguments were dropped: the first is present
        case Builtin::Now: return ctx.has_now ? Value::integer(ctx.now_ms) : Value::absent();
        case Builtin::Uuid: return uuid_v4(*ctx.rt, heap);
    }
    return Value::absent();
}

}  // namespace

Value call_builtin(Builtin fn, const Value* args, size_t argc, EvalContext& ctx) {
    auto id = static_cast<size_t>(fn);
    if (id >= kBuiltinCount || ctx.rt == nullptr || ctx.rt->heap == nullptr) return Value::absent();
    // Absent arguments are dropped before the arity check (SEMANTICS §4.1).
    size_t present = 0;
    for (size_t i = 0; i < argc; ++i) present += args[i].present();
    Value small[8];
    std::vector<Value> large;
    const Value* a = args;
    if (present != argc) {
        Value* dst = small;
        if (present > std::size(small)) {
            large.resize(present);
            dst = large.data();
        }
        size_t w = 0;
        for (size_t i = 0; i < argc; ++i)
            if (args[i].present()) dst[w++] = args[i];
        a = dst;
    }
    const Arity& ar = arities()[id];
    if (present < ar.min || (ar.max != 255 && present > ar.max)) return Value::absent();
    return dispatch(fn, a, present, ctx);
}

}  // namespace varpulis::runtime
