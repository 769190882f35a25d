#pragma once
// Text forms of runtime values: JSON (FORMATS §2.3), the display form used by `.print`
// (SEMANTICS §5.4) and `to_string` (VPL §9c), and the `simulate --json` output line
// (FORMATS §4). Every function appends to a caller-owned std::string, so a writer that
// reuses one buffer allocates nothing per value once the buffer is warm.

#include "runtime/input_event.hpp"
#include "runtime/value.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace varpulis::runtime {

/// Decimal integer.
void append_int(std::string& out, int64_t v);
void append_uint(std::string& out, uint64_t v);

/// JSON number for a float: shortest round-trip digits, always with a '.' or an exponent
/// (`6.0`, `0.1`, `1e+20`); non-finite values become `null`.
void append_json_float(std::string& out, double v);

/// JSON string literal: quotes, `\" \\ \n \r \t \b \f`, other control characters as
/// `\u00XX`; valid UTF-8 is copied, each invalid byte becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s);

/// JSON of a value (FORMATS §2.3): null, true/false, integers, floats as above,
/// timestamps and durations as integer nanoseconds, arrays, maps as objects in insertion
/// order. An Absent value (never stored in an event) is written as null.
void append_json(std::string& out, const Value& v);

/// Display form (`.print`, SEMANTICS §5.4): strings in double quotes (not escaped), floats in
/// shortest fixed notation (`1.5`, `2` for 2.0, `NaN`, `inf`), `null`, `true`, arrays
/// `[a, b]`, maps `{k: v}`, timestamps `@2024-01-01T00:00:00Z`, durations `5s`/`2m`/`3h`/
/// `1d`/`250ms`/`7us` (truncated to the largest whole unit).
void append_display(std::string& out, const Value& v);

/// `to_string(x)` (VPL §9c): a string is its own text; anything else its display form
/// (strings nested in arrays and maps stay quoted).
void append_to_string(std::string& out, const Value& v);

std::string to_json(const Value& v);
std::string to_display(const Value& v);
std::string to_string(const Value& v);

/// One `simulate --json` output line, newline included:
/// `{"stream": "S", "event_type": "T", "timestamp": N, "fields": {"a": 1, ...}}`.
/// Absent field values are left out.
void append_output_line(std::string& out, std::string_view stream, std::string_view event_type, int64_t timestamp_ms,
                        const Field* fields, uint32_t field_count);
/// Same with names and values in parallel arrays.
void append_output_line(std::string& out, std::string_view stream, std::string_view event_type, int64_t timestamp_ms,
                        const StrObj* const* names, const Value* values, uint32_t field_count);

}  // namespace varpulis::runtime
