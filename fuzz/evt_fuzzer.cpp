// libFuzzer target: any bytes through the `.evt` reader (and JSON lines inside it) must give
// events or a line-numbered error, never a crash.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "runtime/event_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace varpulis::runtime;
    Interner interner;
    Arena arena;
    EventReader reader(interner, arena);
    std::vector<InputEvent> out;
    ReadError err;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)reader.read_text(text, EventFormat::Evt, out, err);
    out.clear();
    (void)reader.read_text(text, EventFormat::JsonLines, out, err);
    return 0;
}
