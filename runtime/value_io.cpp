#include "runtime/value_io.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace varpulis::runtime {

namespace {

/// Bytes that end an ASCII run in a JSON string: controls, '"', '\\', and non-ASCII.
struct JsonEscapeTable {
    bool stop[256] = {};
    constexpr JsonEscapeTable() {
        for (int c = 0; c < 0x20; ++c) stop[c] = true;
        stop[static_cast<unsigned char>('"')] = true;
        stop[static_cast<unsigned char>('\\')] = true;
        for (int c = 0x80; c < 256; ++c) stop[c] = true;
    }
};
constexpr JsonEscapeTable kJsonEscape;

/// Length of the valid UTF-8 sequence at p (2..4), or 0 if the bytes are not one.
size_t utf8_sequence(const unsigned char* p, const unsigned char* e) {
    unsigned char c = *p;
    auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
        return p + i < e && p[i] >= lo && p[i] <= hi;
    };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
    if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}


/// Rust `Display` for f64: shortest round-trip digits in fixed notation.
void append_display_float(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v < 0 ? "-inf" : "inf";
        return;
    }
    char buf[400];  // fixed notation of DBL_MAX / DBL_TRUE_MIN fits
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    out.append(buf, r.ptr);
}

void append_two(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

/// `@YYYY-MM-DDTHH:MM:SSZ` for ns since the epoch (proleptic Gregorian, UTC).
void append_display_timestamp(std::string& out, int64_t ns) {
    int64_t secs = ns / 1000000000;
    if (ns % 1000000000 < 0) --secs;  // floor
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    // Howard Hinnant's civil_from_days.
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    auto doe = static_cast<unsigned>(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = static_cast<int64_t>(yoe) + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
    out.push_back('@');
    if (y >= 0 && y < 10000) {
        char buf[4] = {static_cast<char>('0' + y / 1000), static_cast<char>('0' + y / 100 % 10),
                       static_cast<char>('0' + y / 10 % 10), static_cast<char>('0' + y % 10)};
        out.append(buf, 4);
    } else {
        append_int(out, y);
    }
    out.push_back('-');
    append_two(out, m);
    out.push_back('-');
    append_two(out, d);
    out.push_back('T');
    append_two(out, static_cast<unsigned>(rem / 3600));
    out.push_back(':');
    append_two(out, static_cast<unsigned>(rem / 60 % 60));
    out.push_back(':');
    append_two(out, static_cast<unsigned>(rem % 60));
    out.push_back('Z');
}

void append_display_duration(std::string& out, uint64_t ns) {
    uint64_t s = ns / 1000000000;
    if (s >= 86400) {
        append_uint(out, s / 86400);
        out += 'd';
    } else if (s >= 3600) {
        append_uint(out, s / 3600);
        out += 'h';
    } else if (s >= 60) {
        append_uint(out, s / 60);
        out += 'm';
    } else if (s > 0) {
        append_uint(out, s);
        out += 's';
    } else if (ns >= 1000000) {
        append_uint(out, ns / 1000000);
        out += "ms";
    } else {
        append_uint(out, ns / 1000);
        out += "us";
    }
}

void append_fields_line(std::string& out, std::string_view stream, std::string_view event_type, int64_t timestamp_ms) {
    out += "{\"stream\": ";
    append_json_string(out, stream);
    out += ", \"event_type\": ";
    append_json_string(out, event_type);
    out += ", \"timestamp\": ";
    append_int(out, timestamp_ms);
    out += ", \"fields\": {";
}

}  // namespace

namespace {

// "00" "01" ... "99": two digits per division (output writers print millions of integers).
constexpr auto kDigitPairs = [] {
    std::array<char, 200> t{};
    for (int i = 0; i < 100; ++i) {
        t[static_cast<size_t>(2 * i)] = static_cast<char>('0' + i / 10);
        t[static_cast<size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
    }
    return t;
}();

/// The decimal digits of `u`, written backwards so that they end at `end`; returns the first.
inline char* decimal_digits(uint64_t u, char* end) {
    char* p = end;
    while (u >= 100) {
        const uint64_t q = u / 100;
        p -= 2;
        std::memcpy(p, kDigitPairs.data() + 2 * (u - q * 100), 2);
        u = q;
    }
    if (u >= 10) {
        p -= 2;
        std::memcpy(p, kDigitPairs.data() + 2 * u, 2);
    } else {
        *--p = static_cast<char>('0' + u);
    }
    return p;
}

}  // namespace

void append_uint(std::string& out, uint64_t v) {
    char buf[24];
    char* const end = buf + sizeof buf;
    const char* p = decimal_digits(v, end);
    out.append(p, static_cast<size_t>(end - p));
}

void append_int(std::string& out, int64_t v) {
    char buf[24];
    char* const end = buf + sizeof buf;
    char* p = decimal_digits(v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v), end);
    if (v < 0) *--p = '-';
    out.append(p, static_cast<size_t>(end - p));
}

namespace {

/// std::to_chars(v) (the shortest form that reads back as v, fixed notation on a tie with
/// scientific; ".0" after an integral form, as JSON output writes it) for the common case of a value with a few decimals, e.g. 52.54, without the
/// general algorithm (several hundred instructions per value): the fewest decimals k for which
/// the integer m nearest to v * 10^k gives v back as m / 10^k (both exact doubles, the division
/// correctly rounded, so "m / 10^k" reads back as v), when no neighbour of m does too (then
/// the shortest form could be another string of that length) and fixed notation is no longer
/// than scientific. Returns the end of the text, or null for the general path.
char* short_decimal(double v, char* buf) {
    static constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    const double a = std::fabs(v);
    if (!(a >= 1e-3 && a < 1e15)) return nullptr;   // zero, tiny, huge: the general path
    for (int k = 0; k < 7; ++k) {
        const double scaled = a * kPow10[k];
        if (scaled >= 4503599627370496.0) return nullptr;   // 2^52: m exact, the rounding error of the product below 1/4
        // (Truncating scaled + 1/2: a value that reads back is within a few ulps of an integer,
        // so this finds it; anything else fails the test below, as it should.)
        const auto m = static_cast<uint64_t>(scaled + 0.5);
        if (static_cast<double>(m) / kPow10[k] != a) continue;
        if (static_cast<double>(m + 1) / kPow10[k] == a || (m > 0 && static_cast<double>(m - 1) / kPow10[k] == a))
            return nullptr;
        // Lengths: fixed = digits of m (at least k + 1) plus the point; scientific = the
        // significant digits (m without trailing zeros), a point after the first of several,
        // and e+XX.
        char digits[24];
        char* const dend = digits + sizeof digits;
        const char* d = decimal_digits(m, dend);
        const auto nd = static_cast<int>(dend - d);
        int nsig = nd;
        while (nsig > 1 && d[nsig - 1] == '0') --nsig;
        const int exp10 = nd - 1 - k;
        const int sci = nsig + (nsig > 1 ? 1 : 0) + 2 + (exp10 >= 100 || exp10 <= -100 ? 3 : 2);
        const int fixed = k == 0 ? nd : std::max(nd, k + 1) + 1;
        if (fixed > sci) return nullptr;
        char* p = buf;
        if (v < 0) *p++ = '-';
        if (k == 0) {   // an integral form: JSON gets ".0" (append_json_float)
            std::memcpy(p, d, static_cast<size_t>(nd));
            std::memcpy(p + nd, ".0", 2);
            return p + nd + 2;
        }
        if (nd <= k) {   // 0.00ddd
            *p++ = '0';
            *p++ = '.';
            for (int z = nd; z < k; ++z) *p++ = '0';
            std::memcpy(p, d, static_cast<size_t>(nd));
            return p + nd;
        }
        std::memcpy(p, d, static_cast<size_t>(nd - k));
        p += nd - k;
        *p++ = '.';
        std::memcpy(p, d + (nd - k), static_cast<size_t>(k));
        return p + k;
    }
    return nullptr;
}

}  // namespace

void append_json_float(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    char buf[40];
    if (char* end = short_decimal(v, buf)) {
        out.append(buf, end);
        return;
    }
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
    for (const char* p = buf; p < r.ptr; ++p)
        if (*p == '.' || *p == 'e') return;
    out += ".0";
}

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* e = p + s.size();
    const auto* run = p;
    while (p < e) {
        if (!kJsonEscape.stop[*p]) {
            ++p;
            continue;
        }
        out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t n = utf8_sequence(p, e);
            if (n > 0) {
                out.append(reinterpret_cast<const char*>(p), n);
                p += n;
            } else {
                out += "\xEF\xBF\xBD";
                ++p;
            }
        } else {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                default: {
                    char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
                    out.append(esc, 6);
                }
            }
            ++p;
        }
        run = p;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(e - run));
    out.push_back('"');
}

/// `[a, b]` or `{k: v, ...}`: the shape JSON and display share; `item` writes an element or
/// value, `key` a map key, each in its own format.
namespace {
template <class Item, class Key>
void append_container(std::string& out, const Value& v, Item&& item, Key&& key) {
    const bool map = v.kind == ValueKind::Map;
    const uint32_t n = map ? v.m->size : v.a->size;
    out.push_back(map ? '{' : '[');
    for (uint32_t i = 0; i < n; ++i) {
        if (i > 0) out += ", ";
        if (map) {
            key(out, v.m->keys[i]);
            out += ": ";
        }
        item(out, map ? v.m->values[i] : v.a->items[i]);
    }
    out.push_back(map ? '}' : ']');
}
}  // namespace

void append_json(std::string& out, const Value& v) {
    switch (v.kind) {
        case ValueKind::Absent:
        case ValueKind::Null: out += "null"; return;
        case ValueKind::Bool: out += v.b ? "true" : "false"; return;
        case ValueKind::Int:
        case ValueKind::Timestamp: append_int(out, v.i); return;
        case ValueKind::Duration: append_uint(out, static_cast<uint64_t>(v.i)); return;
        case ValueKind::Float: append_json_float(out, v.f); return;
        case ValueKind::Str: append_json_string(out, v.str()); return;
        case ValueKind::Array:
        case ValueKind::Map:
            append_container(out, v, [](std::string& o, const Value& x) { append_json(o, x); },
                             [](std::string& o, const auto* k) { append_json_string(o, k->view()); });
            return;
    }
}

void append_display(std::string& out, const Value& v) {
    switch (v.kind) {
        case ValueKind::Absent:
        case ValueKind::Null: out += "null"; return;
        case ValueKind::Bool: out += v.b ? "true" : "false"; return;
        case ValueKind::Int: append_int(out, v.i); return;
        case ValueKind::Float: append_display_float(out, v.f); return;
        case ValueKind::Str:
            out.push_back('"');
            out += v.str();
            out.push_back('"');
            return;
        case ValueKind::Timestamp: append_display_timestamp(out, v.i); return;
        case ValueKind::Duration: append_display_duration(out, static_cast<uint64_t>(v.i)); return;
        case ValueKind::Array:
        case ValueKind::Map:
            append_container(out, v, [](std::string& o, const Value& x) { append_display(o, x); },
                             [](std::string& o, const auto* k) { o += k->view(); });
            return;
    }
}

void append_to_string(std::string& out, const Value& v) {
    if (v.kind == ValueKind::Str) {
        out += v.str();
        return;
    }
    append_display(out, v);
}

std::string to_json(const Value& v) {
    std::string s;
    append_json(s, v);
    return s;
}

std::string to_display(const Value& v) {
    std::string s;
    append_display(s, v);
    return s;
}

std::string to_string(const Value& v) {
    std::string s;
    append_to_string(s, v);
    return s;
}

void append_output_line(std::string& out, std::string_view stream, std::string_view event_type, int64_t timestamp_ms,
                        const Field* fields, uint32_t field_count) {
    append_fields_line(out, stream, event_type, timestamp_ms);
    bool first = true;
    for (uint32_t i = 0; i < field_count; ++i) {
        if (!fields[i].value.present()) continue;
        if (!first) out += ", ";
        first = false;
        append_json_string(out, fields[i].name->view());
        out += ": ";
        append_json(out, fields[i].value);
    }
    out += "}}\n";
}

void append_output_line(std::string& out, std::string_view stream, std::string_view event_type, int64_t timestamp_ms,
                        const StrObj* const* names, const Value* values, uint32_t field_count) {
    append_fields_line(out, stream, event_type, timestamp_ms);
    bool first = true;
    for (uint32_t i = 0; i < field_count; ++i) {
        if (!values[i].present()) continue;
        if (!first) out += ", ";
        first = false;
        append_json_string(out, names[i]->view());
        out += ": ";
        append_json(out, values[i]);
    }
    out += "}}\n";
}

}  // namespace varpulis::runtime
