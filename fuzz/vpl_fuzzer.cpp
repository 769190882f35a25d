// libFuzzer target: any bytes through pre-processing, parsing, checking and lowering must end
// in a plan or in diagnostics, never in a crash, hang or sanitizer report.

#include <cstddef>
#include <cstdint>
#include <string>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto c = varpulis::ir::compile_source("fuzz.vpl", std::move(text), varpulis::ir::CompileStage::Lower);
    (void)varpulis::frontend::render_all(c->file, c->diags);
    return 0;
}
