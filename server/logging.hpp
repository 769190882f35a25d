#pragma once
// Server logs through spdlog (kept in logging.cpp): text `message key=value ...` or one JSON
// object per line (`--log-format json`).

#include <string>
#include <string_view>
#include <initializer_list>

namespace varpulis::server {

struct LogField {
    std::string_view key;
    std::string value;
};

/// Configures the process-wide logger (stderr). False with `error` for an unknown level or
/// format. Levels: trace, debug, info, warn, error, off.
bool init_logging(const std::string& level, const std::string& format, std::string& error);

/// Whether info messages are written (lets a hot path skip building its fields).
bool log_info_enabled();

void log_debug(std::string_view message, std::initializer_list<LogField> fields = {});
void log_info(std::string_view message, std::initializer_list<LogField> fields = {});
void log_warn(std::string_view message, std::initializer_list<LogField> fields = {});
void log_error(std::string_view message, std::initializer_list<LogField> fields = {});

}  // namespace varpulis::server
