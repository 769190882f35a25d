#pragma once
// Limits on REST event bodies (FORMATS §1.3 via runtime::ReadLimits), checked on the raw text
// before parsing. The reader truncates or nulls what is too big (Varpulis' behaviour for
// files); the REST API rejects it with 400 instead, so a client learns that data was cut.

#include <string>
#include <string_view>

namespace varpulis::server {

/// False with `error` when some object has more members than ReadLimits::kMaxFields, a
/// string is longer than kMaxStringBytes, or values nest deeper than kMaxNesting (+2 for the
/// envelope and the fields object; +2 more for a batch). Malformed JSON passes (the parser
/// reports it).
bool check_event_limits(std::string_view json, int envelope_depth, std::string& error);

}  // namespace varpulis::server
