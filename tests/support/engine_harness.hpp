#pragma once
// One engine over its own compilation, interner and events, recording every output as text
// (`stream|type|ts|...`) and `.print`/console lines: what checkpoint and window tests compare.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "runtime/engine.hpp"
#include "runtime/event_reader.hpp"
#include "runtime/value_io.hpp"

namespace varpulis::runtime {

class EngineHarness {
public:
    /// How outputs are written down. `Display`: `stream|type|ts|{name: value, ...}`.
    /// `Bits`: `stream|type|ts|name=value ...` with every float followed by `#<bit pattern>`,
    /// for "identical" meaning bit for bit.
    enum class Record { Display, Bits };

    EngineHarness(const std::string& program, const std::string& events, Record mode = Record::Display)
        : mode_(mode) {
        c_ = ir::compile_source("q.vpl", program, ir::CompileStage::Lower);
        if (!c_->ok()) {
            error_ = frontend::render_all(c_->file, c_->diags);
            return;
        }
        EventReader reader(interner_, arena_);
        ReadError err;
        if (!reader.read_text(events, EventFormat::Evt, events_, err)) {
            error_ = "events:" + std::to_string(err.line) + ": " + err.message;
            return;
        }
        diag_ = open_memstream(&buf_, &len_);
        engine_ = std::make_unique<Engine>(*c_->plan, interner_, [this](const OutputEvent& e) { record(e); }, diag_);
    }
    ~EngineHarness() {
        engine_.reset();
        if (diag_) std::fclose(diag_);
        std::free(buf_);
    }
    EngineHarness(const EngineHarness&) = delete;
    EngineHarness& operator=(const EngineHarness&) = delete;

    bool ok() const { return engine_ != nullptr; }
    const std::string& error() const { return error_; }
    Engine& engine() { return *engine_; }
    const ir::Plan& plan() const { return *c_->plan; }
    size_t size() const { return events_.size(); }

    void run(size_t from, size_t to) {
        for (size_t i = from; i < to && i < events_.size(); ++i) engine_->process(events_[i]);
    }
    void finish() { engine_->finish(); }
    const std::vector<std::string>& outputs() const { return out_; }
    std::string prints() {
        std::fflush(diag_);
        return std::string(buf_, len_);
    }

private:
    void record(const OutputEvent& e) {
        std::string f = std::string(e.stream) + "|" + std::string(e.event_type) + "|" + std::to_string(e.timestamp_ms) + "|";
        if (mode_ == Record::Display) f += "{";
        bool first = true;
        for (uint32_t i = 0; i < e.field_count; ++i) {
            if (!e.values[i].present()) continue;
            if (mode_ == Record::Display) {
                if (!first) f += ", ";
                first = false;
                f += std::string(e.names[i]->view()) + ": ";
                append_display(f, e.values[i]);
                continue;
            }
            f += std::string(e.names[i]->view()) + "=";
            append_display(f, e.values[i]);
            if (e.values[i].kind == ValueKind::Float) {
                uint64_t bits;
                std::memcpy(&bits, &e.values[i].f, 8);
                f += "#" + std::to_string(bits);
            }
            f += " ";
        }
        out_.push_back(mode_ == Record::Display ? f + "}" : f);
    }

    Record mode_;
    std::unique_ptr<ir::Compilation> c_;
    Interner interner_;
    Arena arena_;
    std::vector<InputEvent> events_;
    std::vector<std::string> out_;
    char* buf_ = nullptr;
    size_t len_ = 0;
    std::FILE* diag_ = nullptr;
    std::unique_ptr<Engine> engine_;
    std::string error_;
};

}  // namespace varpulis::runtime
