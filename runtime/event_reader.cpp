#include "runtime/event_reader.hpp"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace varpulis::runtime {


namespace {

constexpr size_t kPadding = simdjson::SIMDJSON_PADDING;
constexpr size_t kReadChunk = 4 * 1024 * 1024;

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n'; }
inline bool is_digit(char c) { return static_cast<unsigned>(c - '0') < 10u; }

/// Byte equality for short strings without a libc call.
inline bool bytes_equal(const char* a, const char* b, size_t n) {
    while (n >= 8) {
        uint64_t x, y;
        std::memcpy(&x, a, 8);
        std::memcpy(&y, b, 8);
        if (x != y) return false;
        a += 8;
        b += 8;
        n -= 8;
    }
    while (n > 0) {
        if (*a++ != *b++) return false;
        --n;
    }
    return true;
}

/// Byte equality where both sides may be read up to 7 bytes past their end (the input buffer
/// and layout literals are padded): whole 8-byte words, the last one masked.
inline bool padded_equal(const char* a, const char* b, size_t n) {
    for (;;) {
        uint64_t x, y;
        std::memcpy(&x, a, 8);
        std::memcpy(&y, b, 8);
        if (n < 8) {
            const uint64_t mask = n == 0 ? 0 : ~uint64_t{0} >> (64 - 8 * n);
            return ((x ^ y) & mask) == 0;
        }
        if (x != y) return false;
        a += 8;
        b += 8;
        n -= 8;
    }
}

inline const char* skip_ws(const char* p, const char* e) {
    while (p < e && is_space(*p)) ++p;
    return p;
}
inline const char* trim_end(const char* b, const char* e) {
    while (e > b && is_space(e[-1])) --e;
    return e;
}

/// Characters the field splitter must look at.
struct SplitTable {
    bool special[256] = {};
    constexpr SplitTable() {
        for (unsigned char c : {'\\', '"', '\'', '[', ']', '{', '}', '(', ')', ',', ':'}) special[c] = true;
    }
};
constexpr SplitTable kSplit;

/// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
inline size_t utf8_cut(const char* s, size_t n, size_t max) {
    if (n <= max) return n;
    size_t k = max;
    while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    return k;
}

/// The offending text for an error message, in single quotes, shortened when long.
std::string quoted(std::string_view s) {
    constexpr size_t kMax = 200;
    std::string out = "'";
    size_t n = utf8_cut(s.data(), s.size(), kMax);
    out.append(s.data(), n);
    if (n < s.size()) out += "...";
    out += '\'';
    return out;
}

bool ieq(std::string_view a, std::string_view lower) {
    if (a.size() != lower.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        if (c != lower[i]) return false;
    }
    return true;
}

/// Parses an unsigned decimal with an optional leading '+' (Rust's u64 grammar) into a
/// non-negative i64. False if malformed or too large.
bool parse_offset_digits(const char* b, const char* e, int64_t& out) {
    if (b < e && *b == '+') ++b;
    if (b == e || !is_digit(*b)) return false;
    if (e - b <= 18) {
        int64_t x = 0;
        for (const char* p = b; p < e; ++p) {
            if (!is_digit(*p)) return false;
            x = x * 10 + (*p - '0');
        }
        out = x;
        return true;
    }
    uint64_t v = 0;
    auto r = std::from_chars(b, e, v);
    if (r.ec != std::errc() || r.ptr != e) return false;
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    out = static_cast<int64_t>(v);
    return true;
}

/// Double from text already checked against the FLOAT grammar (no leading '+').
double to_double(const char* b, const char* e) {
    double d = 0;
    auto r = std::from_chars(b, e, d);
    if (r.ec == std::errc() && r.ptr == e) return d;
    // Out of range: strtod gives ±inf / ±0 like Rust's parser.
    std::string tmp(b, e);
    return std::strtod(tmp.c_str(), nullptr);
}

/// The fields of the event being parsed: fixed capacity (the field limit), so pushing
/// never allocates or checks for growth.
class FieldBuf {
public:
    FieldBuf() : data_(new Field[ReadLimits::kMaxFields]) {}
    void clear() { size_ = 0; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    bool full() const { return size_ == ReadLimits::kMaxFields; }
    const Field* data() const { return data_.get(); }
    Field* begin() { return data_.get(); }
    Field* end() { return data_.get() + size_; }
    void push_back(const Field& f) { data_[size_++] = f; }
    /// The slot after the last field, to be filled in place and then `commit`ted.
    Field& next() { return data_[size_]; }
    void commit() { ++size_; }

private:
    std::unique_ptr<Field[]> data_;
    size_t size_ = 0;
};

/// Powers of ten exactly representable as doubles.
constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

}  // namespace

EventFormat format_for_path(std::string_view path) {
    auto ends_with = [&](std::string_view suf) {
        return path.size() >= suf.size() && ieq(path.substr(path.size() - suf.size()), suf);
    };
    if (ends_with(".jsonl") || ends_with(".json")) return EventFormat::JsonLines;
    return EventFormat::Evt;
}

struct EventReader::Impl {
    Interner& interner;
    Arena& arena;
    ReadOptions opts;

    // Input buffer: bytes [begin, end) not yet consumed; at least kPadding bytes follow `end`.
    std::unique_ptr<char[]> buf;
    size_t cap = 0;
    size_t begin = 0;
    size_t end = 0;
    // Progress through a regular file (input_fraction): its size, the bytes consumed before
    // buf[0], and the bytes consumed as of the last batch (read by another thread).
    uint64_t file_size = 0;
    uint64_t shifted = 0;
    std::atomic<uint64_t> consumed{0};
    int fd = -1;
    bool eof = true;
    bool discarding = false;  // skipping the rest of an over-long line
    EventFormat format = EventFormat::Evt;
    uint32_t line_no = 0;
    int64_t batch_ms = 0;

    uint64_t skipped = 0;
    std::vector<ReadError> skipped_errors;

    // Scratch reused across events (no per-event heap allocation once warm).
    FieldBuf fields;
    std::vector<Value> values;           // array element stack
    std::vector<const StrObj*> shape;    // field names of the previous event, by position
    std::vector<const StrObj*> positional;  // field_0, field_1, ...
    const StrObj* last_type = nullptr;
    std::string error;                  // message of the line being parsed

    /// The byte layout of a recent named `.evt` event: the literal text around its values
    /// (type name, brace, field names, separators, closing brace) and its interned field names.
    /// Generated and logged files repeat one layout per event type, so a line that matches a
    /// layout literal for literal is parsed by comparing the literals and parsing only the
    /// values, with the results evt_event would give (any mismatch goes to evt_event).
    struct EvtLayout {
        std::string lits;                // the literals back to back
        std::vector<uint32_t> ends;      // literal k ends at ends[k] (starts at ends[k-1] or 0)
        std::vector<const StrObj*> names;
        const StrObj* type = nullptr;
    };
    static constexpr size_t kMaxLayouts = 16;
    std::vector<EvtLayout> layouts;
    size_t next_layout_slot = 0;
    /// Value texts of the event evt_event is parsing (learning its layout); `spans_ok` turns
    /// false when a field needs the general splitter.
    std::vector<std::pair<const char*, const char*>> spans;
    bool spans_ok = false;

    /// Where field arrays go: `arena` unless the caller of next_batch gives one per batch.
    Arena* field_arena = nullptr;
    /// Recent short strings by hash (direct-mapped): repeated values such as symbols, user ids,
    /// addresses and locations share one copy instead of one per event. An entry is valid only
    /// for the arena generation it was made in (no clearing when the arena is reset).
    struct SharedStr {
        const StrObj* s = nullptr;
        uint64_t generation = 0;
    };
    static constexpr size_t kStrCache = 16384;
    static constexpr size_t kStrCacheMaxBytes = 32;
    std::unique_ptr<SharedStr[]> str_cache{new SharedStr[kStrCache]};
    simdjson::dom::parser json;
    std::vector<char> json_scratch;     // padded copy for parse_json_event

    Impl(Interner& i, Arena& a, ReadOptions o) : interner(i), arena(a), opts(o), field_arena(&a) {
        values.reserve(256);
    }
    ~Impl() { close_fd(); }

    void close_fd() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }

    void reset_input(EventFormat f) {
        close_fd();
        begin = end = 0;
        file_size = shifted = 0;
        consumed.store(0, std::memory_order_relaxed);
        eof = true;
        discarding = false;
        format = f;
        line_no = 0;
        batch_ms = 0;
        skipped = 0;
        skipped_errors.clear();
    }

    void ensure_capacity(size_t need) {
        need += kPadding;
        if (need <= cap) return;
        size_t ncap = std::max(need, cap + cap / 2);
        std::unique_ptr<char[]> nb(new char[ncap]);
        if (end > begin) std::memcpy(nb.get(), buf.get() + begin, end - begin);
        end -= begin;
        shifted += begin;
        begin = 0;
        buf = std::move(nb);
        cap = ncap;
        std::memset(buf.get() + end, 0, kPadding);
    }

    /// Opens `path` for chunked reading; `size_hint` receives the file size (0 if unknown).
    bool open_file(const std::string& path, ReadError& err, size_t* size_hint = nullptr) {
        reset_input(format_for_path(path));
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            err = {0, "cannot open event file: " + std::string(std::strerror(errno))};
            return false;
        }
        eof = false;
        struct stat st {};
        size_t size = ::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
        if (size_hint != nullptr) *size_hint = size;
        if (S_ISREG(st.st_mode)) file_size = size;
        // Small files in one read; large ones in chunks through a fixed buffer.
        ensure_capacity(std::min(size + 1, kReadChunk + ReadLimits::kMaxLineBytes + 2));
        return true;
    }

    void set_text(std::string_view text, EventFormat f) {
        reset_input(f);
        ensure_capacity(text.size());
        if (!text.empty()) std::memcpy(buf.get(), text.data(), text.size());
        end = text.size();
        std::memset(buf.get() + end, 0, kPadding);
    }

    /// Reads more bytes after `end`. Sets `eof` at end of file.
    bool fill(ReadError& err) {
        if (fd < 0) {
            eof = true;
            return true;
        }
        size_t room = cap - kPadding - end;
        ssize_t n;
        do {
            n = ::read(fd, buf.get() + end, room);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            err = {line_no, "cannot read event file: " + std::string(std::strerror(errno))};
            return false;
        }
        if (n == 0) {
            eof = true;
            close_fd();
        }
        end += static_cast<size_t>(n);
        std::memset(buf.get() + end, 0, kPadding);
        return true;
    }

    enum class LineResult { Line, End, Error };

    /// The next physical line [lb, le) (without '\n'), counting it in `line_no`.
    LineResult next_line(const char*& lb, const char*& le, ReadError& err) {
        for (;;) {
            char* s = buf.get() + begin;
            auto* nl = static_cast<char*>(std::memchr(s, '\n', end - begin));
            if (nl != nullptr) {
                begin = static_cast<size_t>(nl + 1 - buf.get());
                if (discarding) {
                    discarding = false;
                    continue;
                }
                lb = s;
                le = nl;
                ++line_no;
                if (line_no == 1) skip_bom(lb, le);
                return LineResult::Line;
            }
            if (eof) {
                if (begin == end || discarding) {
                    begin = end;
                    return LineResult::End;
                }
                lb = s;
                le = buf.get() + end;
                begin = end;
                ++line_no;
                if (line_no == 1) skip_bom(lb, le);
                return LineResult::Line;
            }
            if (end - begin > ReadLimits::kMaxLineBytes && !discarding) {
                // No newline within the limit: this line is too long.
                ++line_no;
                std::string msg = "line too long (more than " + std::to_string(ReadLimits::kMaxLineBytes) + " bytes)";
                if (!opts.skip_bad_events) {
                    err = {line_no, std::move(msg)};
                    return LineResult::Error;
                }
                record_skip(line_no, std::move(msg));
                discarding = true;
            }
            if (discarding) begin = end;
            // Move the partial line to the front and read more.
            if (begin > 0) {
                std::memmove(buf.get(), buf.get() + begin, end - begin);
                end -= begin;
                shifted += begin;
                begin = 0;
            }
            if (cap - kPadding - end < kReadChunk / 2) ensure_capacity(end + kReadChunk);
            if (!fill(err)) return LineResult::Error;
        }
    }

    static void skip_bom(const char*& lb, const char* le) {
        if (le - lb >= 3 && static_cast<unsigned char>(lb[0]) == 0xEF && static_cast<unsigned char>(lb[1]) == 0xBB &&
            static_cast<unsigned char>(lb[2]) == 0xBF)
            lb += 3;
    }

    void record_skip(uint32_t line, std::string msg) {
        ++skipped;
        if (skipped_errors.size() < opts.max_recorded_errors) skipped_errors.push_back({line, std::move(msg)});
    }

    /// Appends up to `max_events` events to `out`.
    bool read_events(std::vector<InputEvent>& out, ReadError& err, size_t max_events) {
        if (max_events == 0) max_events = 1;
        const size_t limit = max_events > SIZE_MAX - out.size() ? SIZE_MAX : out.size() + max_events;
        while (out.size() < limit) {
            const char* lb = nullptr;
            const char* le = nullptr;
            LineResult r = next_line(lb, le, err);
            if (r == LineResult::End) return true;
            if (r == LineResult::Error) return false;
            InputEvent ev;
            bool produced = false;
            bool ok;
            if (static_cast<size_t>(le - lb) > ReadLimits::kMaxLineBytes) {
                error = "line too long (" + std::to_string(le - lb) + " bytes, max " +
                        std::to_string(ReadLimits::kMaxLineBytes) + ")";
                ok = false;
            } else {
                ok = format == EventFormat::Evt ? evt_line(lb, le, ev, produced) : jsonl_line(lb, le, ev, produced);
            }
            if (!ok) {
                if (!opts.skip_bad_events) {
                    err = {line_no, std::move(error)};
                    return false;
                }
                record_skip(line_no, std::move(error));
                continue;
            }
            if (produced) {
                ev.line = line_no;
                out.push_back(ev);
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ .evt lines

    bool fail(std::string msg) {
        error = std::move(msg);
        return false;
    }

    bool evt_line(const char* b, const char* e, InputEvent& ev, bool& produced) {
        b = skip_ws(b, e);
        e = trim_end(b, e);
        if (b == e) return true;
        char c0 = *b;
        if (c0 == '#' || (c0 == '/' && e - b >= 2 && b[1] == '/')) return true;
        if (c0 == 'B' && e - b >= 5 && std::memcmp(b, "BATCH", 5) == 0 && (e - b == 5 || is_space(b[5])))
            return batch_line(b, e);
        int64_t ts = batch_ms;
        if (c0 == '@' && is_digit(b[1])) {
            // `@<ms> ` with up to 18 digits: the common case without suffix scanning.
            const char* t = b + 1;
            uint64_t v = 0;  // wraps harmlessly past 18 digits, which the general path takes
            while (is_digit(*t)) v = v * 10 + static_cast<unsigned>(*t++ - '0');
            if (t - b - 1 <= 18 && t < e && is_space(*t)) {
                ts = static_cast<int64_t>(v);
                b = skip_ws(t, e);
                c0 = 0;
            }
        }
        if (c0 == '@') {
            const char* t = b + 1;
            const char* sp = t;
            while (sp < e && !is_space(*sp)) ++sp;
            if (!parse_timing(t, sp, ts)) return fail("invalid timing value: " + quoted(std::string_view(b, sp - b)));
            if (sp == e) return fail("missing event after timing prefix: " + quoted(std::string_view(b, e - b)));
            b = skip_ws(sp, e);
        }
        produced = true;
        ev.timestamp_ms = ts;
        if (*b == '{') return json_event(b, static_cast<size_t>(e - b), ts, ev);
        if (!layouts.empty() && evt_event_by_layout(b, e, ev)) return true;
        return evt_event(b, e, ev);
    }

    bool batch_line(const char* b, const char* e) {
        const char* p = skip_ws(b + 5, e);
        if (p == e) return true;  // `BATCH` alone keeps the current offset
        const char* q = p;
        while (q < e && !is_space(*q)) ++q;
        int64_t v = 0;
        if (!parse_offset_digits(p, q, v)) return fail("invalid BATCH time: " + quoted(std::string_view(b, e - b)));
        batch_ms = v;
        return true;
    }

    static bool parse_timing(const char* b, const char* e, int64_t& out) {
        int64_t mult = 1;
        if (e - b >= 2 && e[-2] == 'm' && e[-1] == 's') {
            e -= 2;
        } else if (e > b && e[-1] == 's') {
            mult = 1000;
            --e;
        } else if (e > b && e[-1] == 'm') {
            mult = 60000;
            --e;
        }
        int64_t v = 0;
        if (!parse_offset_digits(b, e, v)) return false;
        if (v > std::numeric_limits<int64_t>::max() / mult) return false;
        out = v * mult;
        return true;
    }

    const StrObj* intern_type(const char* b, size_t n) {
        if (last_type != nullptr && last_type->size == n && bytes_equal(last_type->data, b, n)) return last_type;
        last_type = interner.intern(std::string_view(b, n));
        return last_type;
    }

    /// Field name for position `idx`: the previous event's name at that position when the
    /// bytes match (no hashing), else the interner's.
    const StrObj* intern_field(std::string_view name, size_t idx) {
        if (idx < shape.size()) {
            const StrObj* s = shape[idx];
            if (s->size == name.size() && bytes_equal(s->data, name.data(), name.size())) return s;
            s = interner.intern(name);
            shape[idx] = s;
            return s;
        }
        const StrObj* s = interner.intern(name);
        if (idx == shape.size()) shape.push_back(s);
        return s;
    }

    const StrObj* positional_name(size_t idx) {
        while (positional.size() <= idx) positional.push_back(interner.intern("field_" + std::to_string(positional.size())));
        return positional[idx];
    }

    /// Commits the value in `fields.next()` under `name`; a repeated name keeps its first
    /// position and takes the new value.
    bool commit_field(const StrObj* name) {
        Field& slot = fields.next();
        for (Field& f : fields) {
            if (f.name == name) {
                f.value = slot.value;
                return true;
            }
        }
        slot.name = name;
        fields.commit();
        return true;
    }

    /// Adds a field; a repeated name keeps its first position and takes the new value.
    bool add_field(const StrObj* name, Value v) {
        for (Field& f : fields) {
            if (f.name == name) {
                f.value = v;
                return true;
            }
        }
        if (fields.full())
            return fail("too many fields (max " + std::to_string(ReadLimits::kMaxFields) + ")");
        fields.push_back({name, v});
        return true;
    }

    void finish_event(InputEvent& ev, const StrObj* type) {
        ev.type = type;
        ev.field_count = static_cast<uint32_t>(fields.size());
        if (fields.empty()) {
            ev.fields = nullptr;
            return;
        }
        ev.fields = field_arena->allocate_array<Field>(fields.size());
        std::memcpy(static_cast<void*>(ev.fields), fields.data(), fields.size() * sizeof(Field));
    }

    struct FieldSpan {
        const char* end;    // the separating ',' or the end of the text
        const char* colon;  // the first ':' of the field, or nullptr
        bool escape;        // a backslash occurs
    };

    /// Splits off the field or element starting at `p`: it ends at the first ',' outside
    /// quotes and brackets. A single quote opens a string only where a value starts.
    static FieldSpan scan_field(const char* p, const char* e) {
        const char* start = p;
        const char* colon = nullptr;
        bool escape = false;
        int depth = 0;
        char quote = 0;
        while (p < e) {
            unsigned char c = static_cast<unsigned char>(*p);
            if (!kSplit.special[c]) {
                ++p;
                continue;
            }
            switch (c) {
                case '\\':
                    escape = true;
                    if (colon == nullptr && p + 1 < e && p[1] == ':') colon = p + 1;
                    p += 2;
                    continue;
                case ':':
                    if (colon == nullptr) colon = p;
                    break;
                case '"':
                    if (quote == 0) quote = '"';
                    else if (quote == '"') quote = 0;
                    break;
                case '\'':
                    if (quote == '\'') {
                        quote = 0;
                    } else if (quote == 0) {
                        const char* q = p;
                        while (q > start && (q[-1] == ' ' || q[-1] == '\t')) --q;
                        if (q == start || q[-1] == ':' || q[-1] == ',' || q[-1] == '[' || q[-1] == '(' || q[-1] == '{')
                            quote = '\'';
                    }
                    break;
                case '[':
                case '{':
                case '(':
                    if (quote == 0) ++depth;
                    break;
                case ']':
                case '}':
                case ')':
                    if (quote == 0) --depth;
                    break;
                case ',':
                    if (quote == 0 && depth == 0) return {p, colon, escape};
                    break;
                default:
                    break;
            }
            ++p;
        }
        return {e, colon, escape};
    }

    /// The common shapes `name: "text"` (no escapes) and `name: number`, parsed in one pass
    /// with the same result as the general path. Returns the position after the field (past
    /// its ',') or nullptr to let the general path handle the field.
    const char* fast_field(const char* p, const char* ce, size_t idx) {
        const char* n = p;
        while (n < ce && !kSplit.special[static_cast<unsigned char>(*n)]) ++n;
        if (n == ce || *n != ':') return nullptr;
        const char* ne = trim_end(p, n);
        const char* v = skip_ws(n + 1, ce);
        if (v == ce) return nullptr;
        const char* after;  // first byte after the value
        const char* value_end;
        Field& slot = fields.next();
        if (*v == '"') {
            const char* q = v + 1;
            while (q < ce && *q != '"' && *q != '\\') ++q;
            if (q == ce || *q != '"') return nullptr;
            value_end = q + 1;
            after = skip_ws(value_end, ce);
            if (after != ce && *after != ',') return nullptr;
            slot.value = Value::string(make_str(v + 1, static_cast<size_t>(q - v - 1)));
        } else if (is_digit(*v) || *v == '-' || *v == '+' || *v == '.') {
            const char* r = v + 1;
            while (r < ce && (is_digit(*r) || *r == '.' || *r == 'e' || *r == 'E' || *r == '-' || *r == '+')) ++r;
            value_end = r;
            after = skip_ws(r, ce);
            if (after != ce && *after != ',') return nullptr;
            if (!parse_number(v, r, slot.value)) return nullptr;
        } else {
            return nullptr;
        }
        spans.emplace_back(v, value_end);
        commit_field(intern_field(std::string_view(p, static_cast<size_t>(ne - p)), idx));
        return after == ce ? ce : after + 1;
    }

    bool evt_event(const char* b, const char* e, InputEvent& ev) {
        const char* line_b = b;
        const char* line_e = e;
        // A trailing ';' (or several) is stripped.
        while (e > b && (e[-1] == ';' || is_space(e[-1]))) --e;
        const char* open = b;
        while (open < e && *open != '{' && *open != '(') ++open;
        if (open == e) return fail("invalid event format: " + quoted(std::string_view(b, e - b)));
        const char* type_end = trim_end(b, open);
        if (type_end == b) return fail("invalid event format (no event type): " + quoted(std::string_view(b, e - b)));
        const bool named = *open == '{';
        const char* cb = open + 1;
        const char* ce = e;
        if (ce > cb && ce[-1] == (named ? '}' : ')')) --ce;
        const StrObj* type = intern_type(b, static_cast<size_t>(type_end - b));

        fields.clear();
        spans.clear();
        spans_ok = named;
        size_t idx = 0;
        const char* p = cb;
        while (p < ce) {
            p = skip_ws(p, ce);
            if (p == ce) break;
            if (named && !fields.full()) {
                const char* next = fast_field(p, ce, idx);
                if (next != nullptr) {
                    p = next;
                    ++idx;
                    continue;
                }
            }
            spans_ok = false;
            FieldSpan span = scan_field(p, ce);
            const char* fb = p;
            const char* ft = trim_end(fb, span.end);
            p = span.end < ce ? span.end + 1 : ce;
            if (ft == fb) continue;  // empty field
            const StrObj* name;
            const char* vb;
            if (named) {
                const char* colon = span.colon;
                if (colon == nullptr || colon >= ft)
                    return fail("invalid field format: " + quoted(std::string_view(fb, ft - fb)));
                const char* ne = trim_end(fb, colon);
                name = intern_field(std::string_view(fb, static_cast<size_t>(ne - fb)), idx);
                vb = skip_ws(colon + 1, ft);
            } else {
                name = positional_name(idx);
                vb = fb;
            }
            if (fields.full()) return fail("too many fields (max " + std::to_string(ReadLimits::kMaxFields) + ")");
            // Parse straight into the next slot (no Value copies on the hot path).
            Field& slot = fields.next();
            if (vb == ft) {
                slot.value = Value::string(make_str(vb, 0));  // `name:` alone: empty raw text
            } else if (!parse_value(vb, ft, 1, span.escape, slot.value)) {
                return false;
            }
            if (!commit_field(name)) return false;
            ++idx;
        }
        finish_event(ev, type);
        // A repeated name merges fields: such a line has no layout.
        if (spans_ok && !spans.empty() && spans.size() == fields.size()) learn_layout(line_b, line_e, type);
        return true;
    }

    void learn_layout(const char* b, const char* e, const StrObj* type) {
        EvtLayout* l = nullptr;
        for (EvtLayout& x : layouts)
            if (x.type == type) l = &x;
        if (l == nullptr) {
            if (layouts.size() < kMaxLayouts) {
                l = &layouts.emplace_back();
            } else {
                l = &layouts[next_layout_slot];
                next_layout_slot = (next_layout_slot + 1) % kMaxLayouts;
            }
        }
        l->type = type;
        l->lits.clear();
        l->ends.clear();
        l->names.clear();
        const char* p = b;
        for (size_t k = 0; k < spans.size(); ++k) {
            l->lits.append(p, spans[k].first);
            l->ends.push_back(static_cast<uint32_t>(l->lits.size()));
            l->names.push_back(fields.data()[k].name);
            p = spans[k].second;
        }
        l->lits.append(p, e);
        l->ends.push_back(static_cast<uint32_t>(l->lits.size()));
        l->lits.append(8, '\0');  // padded_equal may read 7 bytes past a literal
    }

    /// Parses the event [b, e) with the learnt layout whose first literal it starts with. False
    /// (and nothing produced) when no layout matches it completely.
    bool evt_event_by_layout(const char* b, const char* e, InputEvent& ev) {
        const auto n = static_cast<size_t>(e - b);
        for (const EvtLayout& l : layouts) {
            const uint32_t l0 = l.ends[0];
            if (n < l0 || !padded_equal(b, l.lits.data(), l0)) continue;
            // The first literal holds the type name and its brace: no other layout can match.
            fields.clear();
            const char* p = b + l0;
            for (size_t k = 0; k < l.names.size(); ++k) {
                Field& slot = fields.next();
                if (!layout_value(p, e, slot.value)) return false;
                const uint32_t lb = l.ends[k];
                const size_t ln = l.ends[k + 1] - lb;
                if (static_cast<size_t>(e - p) < ln || !padded_equal(p, l.lits.data() + lb, ln)) return false;
                p += ln;
                slot.name = l.names[k];
                fields.commit();
            }
            if (p != e) return false;
            finish_event(ev, l.type);
            return true;
        }
        return false;
    }

    /// A value as fast_field accepts it: a string without escapes, or a number.
    bool layout_value(const char*& p, const char* e, Value& out) {
        if (p == e) return false;
        if (*p == '"') {
            const auto* q = static_cast<const char*>(std::memchr(p + 1, '"', static_cast<size_t>(e - p - 1)));
            if (q == nullptr || std::memchr(p + 1, '\\', static_cast<size_t>(q - p - 1)) != nullptr) return false;
            out = Value::string(make_str(p + 1, static_cast<size_t>(q - p - 1)));
            p = q + 1;
            return true;
        }
        // A plain integer of up to 18 digits ends at a byte that cannot continue a number.
        {
            const char* d = p + (*p == '-');
            const char* r = d;
            uint64_t m = 0;
            while (r < e && is_digit(*r)) m = m * 10 + static_cast<unsigned>(*r++ - '0');
            if (r != d && r - d <= 18 && (r == e || !number_char(*r))) {
                const auto i = static_cast<int64_t>(m);
                out = Value::integer(*p == '-' ? -i : i);
                p = r;
                return true;
            }
        }
        if (is_digit(*p) || *p == '-' || *p == '+' || *p == '.') {
            const char* r = p + 1;
            while (r < e && number_char(*r)) ++r;
            if (!parse_number(p, r, out)) return false;
            p = r;
            return true;
        }
        return false;
    }

    static bool number_char(char c) { return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+'; }

    const StrObj* make_str(const char* b, size_t n) {
        return shared_str(std::string_view(b, utf8_cut(b, n, ReadLimits::kMaxStringBytes)));
    }

    /// A string in `arena`, shared with an earlier equal one when the cache still has it.
    const StrObj* shared_str(std::string_view s) {
        if (s.size() > kStrCacheMaxBytes) return arena.make_string(s);
        const uint32_t h = fnv1a(s);
        SharedStr& e = str_cache[h & (kStrCache - 1)];
        if (e.s != nullptr && e.generation == arena.generation() && e.s->hash == h && e.s->size == s.size() &&
            bytes_equal(e.s->data, s.data(), s.size()))
            return e.s;
        e.s = arena.make_string(s);
        e.generation = arena.generation();
        return e.s;
    }

    /// Decodes a quoted string body: \n \t \" \' \\ ; any other \x is kept as is.
    const StrObj* decode_string(const char* b, const char* e, bool escape) {
        size_t n = static_cast<size_t>(e - b);
        if (!escape) return make_str(b, n);
        StrObj* s = arena.begin_string(n);
        char* o = s->data;
        for (const char* p = b; p < e; ++p) {
            if (*p != '\\' || p + 1 == e) {
                *o++ = *p;
                continue;
            }
            char c = p[1];
            switch (c) {
                case 'n': *o++ = '\n'; ++p; break;
                case 't': *o++ = '\t'; ++p; break;
                case '"':
                case '\'':
                case '\\': *o++ = c; ++p; break;
                default: *o++ = '\\'; break;
            }
        }
        size_t len = static_cast<size_t>(o - s->data);
        return Arena::finish_string(s, utf8_cut(s->data, len, ReadLimits::kMaxStringBytes));
    }

    /// INT / FLOAT of FORMATS §1.1. False if [b, e) is not a number.
    static bool parse_number(const char* b, const char* e, Value& out) {
        const char* p = b;
        if (*p == '+' || *p == '-') ++p;
        if (p == e) return false;
        const char* digits = p;
        if (is_digit(*p)) {
            // Fast path: up to 18 integer digits, or a plain decimal of at most 15 digits
            // (mantissa and power of ten exact, so one division rounds correctly).
            const bool neg = *b == '-';
            uint64_t m = 0;
            while (p < e && is_digit(*p)) m = m * 10 + static_cast<unsigned>(*p++ - '0');
            auto nd = static_cast<size_t>(p - digits);
            if (p == e && nd <= 18) {
                auto i = static_cast<int64_t>(m);
                out = Value::integer(neg ? -i : i);
                return true;
            }
            if (p < e && *p == '.') {
                const char* f = ++p;
                while (p < e && is_digit(*p)) m = m * 10 + static_cast<unsigned>(*p++ - '0');
                auto nf = static_cast<size_t>(p - f);
                if (p == e && nd + nf <= 15) {
                    double d = static_cast<double>(m) / kPow10[nf];
                    out = Value::floating(neg ? -d : d);
                    return true;
                }
            }
            p = digits;
        }
        if (is_digit(*p) || *p == '.') {
            bool any_digit = false;
            bool is_float = false;
            while (p < e && is_digit(*p)) ++p, any_digit = true;
            if (p < e && *p == '.') {
                is_float = true;
                ++p;
                while (p < e && is_digit(*p)) ++p, any_digit = true;
            }
            if (!any_digit) return false;
            if (p < e && (*p == 'e' || *p == 'E')) {
                is_float = true;
                ++p;
                if (p < e && (*p == '+' || *p == '-')) ++p;
                if (p == e || !is_digit(*p)) return false;
                while (p < e && is_digit(*p)) ++p;
            }
            if (p != e) return false;
            const char* nb = *b == '+' ? b + 1 : b;
            if (!is_float) {
                int64_t i = 0;
                auto r = std::from_chars(nb, e, i);
                if (r.ec == std::errc() && r.ptr == e) {
                    out = Value::integer(i);
                    return true;
                }
            }
            out = Value::floating(to_double(nb, e));
            return true;
        }
        std::string_view word(digits, static_cast<size_t>(e - digits));
        double d;
        if (ieq(word, "inf") || ieq(word, "infinity")) d = std::numeric_limits<double>::infinity();
        else if (ieq(word, "nan")) d = std::numeric_limits<double>::quiet_NaN();
        else return false;
        out = Value::floating(*b == '-' ? -d : d);
        return true;
    }

    /// A trimmed, non-empty value text [b, e) at nesting `depth` (1 = field value).
    /// `escape`: the text may contain a backslash.
    bool parse_value(const char* b, const char* e, int depth, bool escape, Value& out) {
        size_t n = static_cast<size_t>(e - b);
        char c0 = *b;
        switch (c0) {
            case '"':
            case '\'':
                if (n >= 2 && e[-1] == c0) {
                    out = Value::string(decode_string(b + 1, e - 1, escape));
                    return true;
                }
                break;
            case 't':
                if (n == 4 && std::memcmp(b, "true", 4) == 0) {
                    out = Value::boolean(true);
                    return true;
                }
                break;
            case 'f':
                if (n == 5 && std::memcmp(b, "false", 5) == 0) {
                    out = Value::boolean(false);
                    return true;
                }
                break;
            case 'n':
                if ((n == 4 && std::memcmp(b, "null", 4) == 0) || (n == 3 && std::memcmp(b, "nil", 3) == 0)) {
                    out = Value::null();
                    return true;
                }
                break;
            case '[':
                if (e[-1] == ']') return parse_array(b + 1, e - 1, depth, out);
                break;
            default:
                break;
        }
        if (c0 != '"' && c0 != '\'' && c0 != '[' && parse_number(b, e, out)) return true;
        out = Value::string(make_str(b, n));
        return true;
    }

    bool parse_array(const char* b, const char* e, int depth, Value& out) {
        if (depth > ReadLimits::kMaxNesting)
            return fail("array nesting too deep (max " + std::to_string(ReadLimits::kMaxNesting) + ")");
        size_t base = values.size();
        const char* p = b;
        while (p < e) {
            p = skip_ws(p, e);
            if (p == e) break;
            FieldSpan span = scan_field(p, e);
            const char* ib = p;
            const char* it = trim_end(ib, span.end);
            p = span.end < e ? span.end + 1 : e;
            if (it == ib) continue;
            if (values.size() - base >= ReadLimits::kMaxArrayElements) {
                values.resize(base);
                return fail("too many array elements (max " + std::to_string(ReadLimits::kMaxArrayElements) + ")");
            }
            Value v;
            if (!parse_value(ib, it, depth + 1, span.escape, v)) {
                values.resize(base);
                return false;
            }
            values.push_back(v);
        }
        auto count = static_cast<uint32_t>(values.size() - base);
        ArrayObj* a = arena.make_array(count);
        if (count > 0) std::memcpy(static_cast<void*>(a->items), values.data() + base, count * sizeof(Value));
        values.resize(base);
        out = Value::array(a);
        return true;
    }

    // ------------------------------------------------------------------ JSON events

    bool jsonl_line(const char* b, const char* e, InputEvent& ev, bool& produced) {
        b = skip_ws(b, e);
        e = trim_end(b, e);
        if (b == e) return true;
        produced = true;
        return json_event(b, static_cast<size_t>(e - b), 0, ev);
    }

    bool json_fail(simdjson::error_code ec) { return fail(std::string("invalid JSON: ") + simdjson::error_message(ec)); }

    /// `b` points into `buf`, which has simdjson's padding after `end`.
    bool json_event(const char* b, size_t len, int64_t default_ts, InputEvent& ev) {
        return json_event_padded(b, len, default_ts, ev);
    }

    /// The DOM parser validates the whole line (skipped members included) and dispatches to
    /// the best SIMD kernel at run time. [b, b + len + padding) must be readable.
    bool json_event_padded(const char* b, size_t len, int64_t default_ts, InputEvent& ev) {
        simdjson::dom::element doc;
        if (auto ec = json.parse(b, len, /*realloc_if_needed=*/false).get(doc)) {
            // simdjson rejects integers beyond 64 bits; JSON allows them and we read them as
            // floats, so retry once with such integers written as floats.
            if (ec != simdjson::NUMBER_ERROR || !widen_big_integers(b, len))
                return json_fail(ec);
            if (json.parse(json_scratch.data(), json_scratch.size() - kPadding, false).get(doc) != simdjson::SUCCESS)
                return json_fail(ec);
        }
        return json_event_element(doc, default_ts, ev);
    }

    /// One event object already parsed by `json` (a single event, or an element of a batch).
    bool json_event_element(simdjson::dom::element doc, int64_t default_ts, InputEvent& ev) {
        simdjson::dom::object obj;
        if (doc.get_object().get(obj) != simdjson::SUCCESS) return fail("invalid JSON event: expected an object");
        fields.clear();
        std::string_view type_name;
        bool has_type = false;
        bool seen_data = false;
        bool seen_fields = false;
        int64_t ts = default_ts;
        for (simdjson::dom::key_value_pair kv : obj) {
            std::string_view key = kv.key;
            if (key == "event_type") {
                has_type = kv.value.get_string().get(type_name) == simdjson::SUCCESS;
            } else if (key == "data" || key == "fields") {
                bool is_data = key == "data";
                if ((is_data && seen_fields) || (!is_data && seen_data))
                    return fail("invalid JSON event: both \"data\" and \"fields\" are present");
                (is_data ? seen_data : seen_fields) = true;
                if (!json_fields(kv.value)) return false;
            } else if (key == "timestamp") {
                int64_t i;
                if (kv.value.type() == simdjson::dom::element_type::INT64 &&
                    kv.value.get_int64().get(i) == simdjson::SUCCESS)
                    ts = i;
            }
        }
        if (!has_type) return fail("missing event_type field");
        const StrObj* type = intern_type(type_name.data(), type_name.size());
        ev.timestamp_ms = ts;
        finish_event(ev, type);
        return true;
    }

    /// Copies [b, b + len) into `json_scratch` (padded) with every integer token that fits
    /// neither i64 nor u64 followed by ".0". False if there is none.
    bool widen_big_integers(const char* b, size_t len) {
        std::string out;
        bool changed = false;
        const char* e = b + len;
        const char* p = b;
        while (p < e) {
            char c = *p;
            if (c == '"') {
                const char* q = p + 1;
                while (q < e && *q != '"') q += *q == '\\' ? 2 : 1;
                q = q < e ? q + 1 : e;
                out.append(p, q);
                p = q;
                continue;
            }
            if (c == '-' || is_digit(c)) {
                const char* q = p + (c == '-' ? 1 : 0);
                while (q < e && is_digit(*q)) ++q;
                bool integer = q > p + (c == '-' ? 1 : 0) && (q == e || (*q != '.' && *q != 'e' && *q != 'E'));
                out.append(p, q);
                if (integer) {
                    bool fits;
                    if (c == '-') {
                        int64_t i;
                        auto r = std::from_chars(p, q, i);
                        fits = r.ec == std::errc();
                    } else {
                        uint64_t u;
                        auto r = std::from_chars(p, q, u);
                        fits = r.ec == std::errc();
                    }
                    if (!fits) {
                        out += ".0";
                        changed = true;
                    }
                }
                p = q;
                continue;
            }
            out.push_back(c);
            ++p;
        }
        if (!changed) return false;
        json_scratch.assign(out.begin(), out.end());
        json_scratch.resize(out.size() + kPadding, '\0');
        return true;
    }

    bool json_fields(simdjson::dom::element v) {
        if (v.is_null()) {
            fields.clear();
            return true;
        }
        simdjson::dom::object o;
        if (v.get_object().get(o) != simdjson::SUCCESS)
            return fail("invalid JSON event: \"data\"/\"fields\" must be an object");
        fields.clear();  // a repeated member replaces the earlier one
        size_t idx = 0;
        for (simdjson::dom::key_value_pair kv : o) {
            if (fields.full()) break;  // truncated, as Varpulis
            Value val = json_value(kv.value, 1);
            const StrObj* name = intern_field(kv.key, idx++);
            bool replaced = false;
            for (Field& fl : fields) {
                if (fl.name == name) {
                    fl.value = val;
                    replaced = true;
                    break;
                }
            }
            if (!replaced) fields.push_back({name, val});
        }
        return true;
    }

    const StrObj* json_string(std::string_view s) {
        return shared_str(s.substr(0, utf8_cut(s.data(), s.size(), ReadLimits::kMaxStringBytes)));
    }

    /// Converts a JSON value at nesting `depth` (1 = field value). Beyond the nesting limit
    /// a value becomes null; arrays keep their first 10 000 elements, maps their first 1024
    /// keys (Varpulis' limits).
    Value json_value(simdjson::dom::element v, int depth) {
        using simdjson::dom::element_type;
        if (depth > ReadLimits::kMaxNesting) return Value::null();
        switch (v.type()) {
            case element_type::NULL_VALUE: return Value::null();
            case element_type::BOOL: return Value::boolean(v.get_bool().value_unsafe());
            case element_type::INT64: return Value::integer(v.get_int64().value_unsafe());
            case element_type::UINT64: return Value::floating(static_cast<double>(v.get_uint64().value_unsafe()));
            case element_type::DOUBLE: return Value::floating(v.get_double().value_unsafe());
            case element_type::STRING: return Value::string(json_string(v.get_string().value_unsafe()));
            case element_type::ARRAY: {
                simdjson::dom::array a = v.get_array().value_unsafe();
                size_t n = std::min<size_t>(a.size(), ReadLimits::kMaxArrayElements);
                ArrayObj* arr = arena.make_array(static_cast<uint32_t>(n));
                size_t i = 0;
                for (simdjson::dom::element item : a) {
                    if (i == n) break;
                    arr->items[i++] = json_value(item, depth + 1);
                }
                return Value::array(arr);
            }
            case element_type::OBJECT: {
                simdjson::dom::object o = v.get_object().value_unsafe();
                size_t base = values.size();
                // Keys and values staged on the value stack: key as a Str value, then value.
                for (simdjson::dom::key_value_pair kv : o) {
                    bool replaced = false;
                    for (size_t i = base; i < values.size(); i += 2) {
                        if (values[i].s->view() == kv.key) {
                            Value x = json_value(kv.value, depth + 1);
                            values[i + 1] = x;
                            replaced = true;
                            break;
                        }
                    }
                    if (replaced || (values.size() - base) / 2 >= ReadLimits::kMaxFields) continue;
                    const StrObj* k = arena.make_string(kv.key);
                    Value x = json_value(kv.value, depth + 1);
                    values.push_back(Value::string(k));
                    values.push_back(x);
                }
                auto count = static_cast<uint32_t>((values.size() - base) / 2);
                MapObj* m = arena.make_map(count);
                for (uint32_t i = 0; i < count; ++i) {
                    m->keys[i] = values[base + 2 * i].s;
                    m->values[i] = values[base + 2 * i + 1];
                }
                values.resize(base);
                return Value::map(m);
            }
        }
        return Value::null();
    }
};

EventReader::EventReader(Interner& interner, Arena& arena, ReadOptions options)
    : impl_(std::make_unique<Impl>(interner, arena, options)) {}

EventReader::~EventReader() = default;

bool EventReader::read_file(const std::string& path, std::vector<InputEvent>& out, ReadError& err) {
    size_t size = 0;
    if (!impl_->open_file(path, err, &size)) return false;
    // Room for a generous estimate of the event count: untouched capacity costs nothing.
    out.reserve(out.size() + size / 32 + 16);
    return impl_->read_events(out, err, SIZE_MAX);
}

bool EventReader::read_text(std::string_view text, EventFormat format, std::vector<InputEvent>& out, ReadError& err) {
    impl_->set_text(text, format);
    return impl_->read_events(out, err, SIZE_MAX);
}

bool EventReader::open(const std::string& path, ReadError& err) { return impl_->open_file(path, err); }

void EventReader::open_text(std::string_view text, EventFormat format) { impl_->set_text(text, format); }

bool EventReader::next_batch(std::vector<InputEvent>& out, ReadError& err, size_t max_events, Arena* field_arena) {
    out.clear();
    impl_->field_arena = field_arena != nullptr ? field_arena : &impl_->arena;
    bool ok = impl_->read_events(out, err, max_events);
    impl_->field_arena = &impl_->arena;
    impl_->consumed.store(impl_->shifted + impl_->begin, std::memory_order_relaxed);
    return ok;
}

double EventReader::input_fraction() const {
    const uint64_t size = impl_->file_size;
    if (size == 0) return -1;
    return std::min(1.0, static_cast<double>(impl_->consumed.load(std::memory_order_relaxed)) / static_cast<double>(size));
}

bool EventReader::parse_json_event(std::string_view json, int64_t default_ts_ms, InputEvent& out, ReadError& err) {
    auto& scratch = impl_->json_scratch;
    scratch.resize(json.size() + kPadding);
    if (!json.empty()) std::memcpy(scratch.data(), json.data(), json.size());
    std::memset(scratch.data() + json.size(), 0, kPadding);
    out = InputEvent{};
    if (!impl_->json_event_padded(scratch.data(), json.size(), default_ts_ms, out)) {
        err = {0, std::move(impl_->error)};
        return false;
    }
    return true;
}

bool EventReader::parse_json_event_batch(std::string_view json, int64_t default_ts_ms, std::vector<InputEvent>& out,
                                         std::vector<ReadError>& bad, ReadError& err) {
    auto& im = *impl_;
    auto& scratch = im.json_scratch;
    scratch.resize(json.size() + kPadding);
    if (!json.empty()) std::memcpy(scratch.data(), json.data(), json.size());
    std::memset(scratch.data() + json.size(), 0, kPadding);
    simdjson::dom::element doc;
    if (auto ec = im.json.parse(scratch.data(), json.size(), false).get(doc)) {
        if (ec != simdjson::NUMBER_ERROR || !im.widen_big_integers(scratch.data(), json.size()) ||
            im.json.parse(scratch.data(), scratch.size() - kPadding, false).get(doc) != simdjson::SUCCESS) {
            err = {0, std::string("invalid JSON: ") + simdjson::error_message(ec)};
            return false;
        }
    }
    simdjson::dom::object obj;
    simdjson::dom::array events;
    if (doc.get_object().get(obj) != simdjson::SUCCESS || obj["events"].get_array().get(events) != simdjson::SUCCESS) {
        err = {0, "expected an object with an \"events\" array"};
        return false;
    }
    uint32_t index = 0;
    for (simdjson::dom::element item : events) {
        ++index;
        InputEvent ev{};
        if (im.json_event_element(item, default_ts_ms, ev)) {
            out.push_back(ev);
        } else {
            bad.push_back({index, std::move(im.error)});
            im.error.clear();
        }
    }
    return true;
}

uint64_t EventReader::skipped_count() const { return impl_->skipped; }
const std::vector<ReadError>& EventReader::skipped_errors() const { return impl_->skipped_errors; }
uint32_t EventReader::lines_read() const { return impl_->line_no; }

}  // namespace varpulis::runtime
