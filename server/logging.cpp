#include "server/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>

#include "runtime/value_io.hpp"

namespace varpulis::server {

namespace {

std::atomic<bool> g_json{false};

std::shared_ptr<spdlog::logger>& logger() {
    static std::shared_ptr<spdlog::logger> l = [] {
        auto lg = spdlog::stderr_logger_mt("varpulis-server");
        lg->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
        lg->set_level(spdlog::level::info);
        return lg;
    }();
    return l;
}

std::string format(std::string_view message, std::initializer_list<LogField> fields) {
    std::string out;
    if (g_json) {
        out += "\"msg\": ";
        runtime::append_json_string(out, message);
        for (const auto& f : fields) {
            out += ", ";
            runtime::append_json_string(out, f.key);
            out += ": ";
            runtime::append_json_string(out, f.value);
        }
        return out;
    }
    out.assign(message);
    for (const auto& f : fields) {
        out += ' ';
        out += f.key;
        out += '=';
        bool quote = f.value.find(' ') != std::string::npos || f.value.empty();
        if (quote) out += '"';
        out += f.value;
        if (quote) out += '"';
    }
    return out;
}

void emit(spdlog::level::level_enum lvl, std::string_view message, std::initializer_list<LogField> fields) {
    auto& lg = logger();
    if (!lg->should_log(lvl)) return;
    lg->log(lvl, "{}", format(message, fields));
}

}  // namespace

bool init_logging(const std::string& level, const std::string& fmt, std::string& error) {
    auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off") {
        error = "unknown log level `" + level + "` (trace, debug, info, warn, error, off)";
        return false;
    }
    if (fmt != "text" && fmt != "json") {
        error = "unknown log format `" + fmt + "` (text, json)";
        return false;
    }
    g_json = fmt == "json";
    auto& lg = logger();
    lg->set_level(lvl);
    if (g_json)
        lg->set_pattern("{\"time\": \"%Y-%m-%dT%H:%M:%S.%eZ\", \"level\": \"%l\", %v}", spdlog::pattern_time_type::utc);
    else
        lg->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
    lg->flush_on(spdlog::level::info);
    return true;
}

void log_debug(std::string_view m, std::initializer_list<LogField> f) { emit(spdlog::level::debug, m, f); }
bool log_info_enabled() { return logger()->should_log(spdlog::level::info); }

void log_info(std::string_view m, std::initializer_list<LogField> f) { emit(spdlog::level::info, m, f); }
void log_warn(std::string_view m, std::initializer_list<LogField> f) { emit(spdlog::level::warn, m, f); }
void log_error(std::string_view m, std::initializer_list<LogField> f) { emit(spdlog::level::err, m, f); }

}  // namespace varpulis::server
