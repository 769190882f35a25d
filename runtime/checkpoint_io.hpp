#pragma once
// Byte-level reading and writing of engine checkpoints (docs/architecture.md, "Checkpoints").
//
// All integers are little-endian and fixed-width; strings and lists carry a u32 count. The
// reader never trusts the blob: every read checks the bytes left, every count is checked
// against them before anything is allocated, and the first failure sticks (later reads return
// zeros), so loaders can read straight through and test ok() before using what they read as
// an index or a size.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ir/plan.hpp"
#include "runtime/arena.hpp"
#include "runtime/input_event.hpp"
#include "runtime/row.hpp"
#include "runtime/value.hpp"

namespace varpulis::runtime {

/// Eight bytes that open every checkpoint (CR LF, as in PNG, catches text-mode mangling);
/// the format version follows as a u32.
inline constexpr char kCheckpointMagic[8] = {'V', 'P', 'C', 'K', 'P', 'T', '\r', '\n'};
inline constexpr uint32_t kCheckpointVersion = 1;

enum class CheckpointSection : uint8_t {
    Engine = 1,   // counters, globals
    Stream = 2,   // one stream: name, definition signature, operator states
};

/// FNV-1a 64 of `bytes` (the checkpoint checksum).
uint64_t fnv1a64(std::string_view bytes, uint64_t h = 14695981039346656037ull);

/// Appends checkpoint data to a string. Rows name their schema by name (and rank among the
/// schemas of that name), not by index: indices move when a program changes.
class CheckpointWriter {
public:
    explicit CheckpointWriter(const ir::Plan& plan) : plan_(&plan) {}

    void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u32(uint32_t v);
    void u64(uint64_t v);
    void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
    void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
    void f64(double v);
    void boolean(bool v) { u8(v ? 1 : 0); }
    void count(size_t n) { u32(static_cast<uint32_t>(n)); }
    void str(std::string_view s);
    /// An interned name or nullptr.
    void name(const StrObj* s);
    /// A value by content (strings, arrays and maps copied, never pointers).
    void value(const Value& v);
    /// A row's slots, type, time, schema and raw fields.
    void row(const Value* slots, size_t width, int32_t schema, int64_t ts, const StrObj* type, const Field* raw,
             uint32_t raw_count);
    void row(const StoredRow& r) { row(r.slots.data(), r.slots.size(), r.schema, r.ts, r.type, r.raw, r.raw_count); }

    /// Starts a length-prefixed section; end_section() fills in its length.
    size_t begin_section(CheckpointSection kind);
    void end_section(size_t mark);

    /// Magic and version.
    void header();
    /// Appends the checksum and hands over the blob.
    std::string finish();

    std::string& bytes() { return out_; }

private:
    void schema_ref(int32_t schema);

    const ir::Plan* plan_;
    std::vector<uint32_t> rank_;  // per schema: how many schemas before it have its name
    std::string out_;
};

/// Reads checkpoint data. Values are re-created in `heap` (strings, arrays, maps, raw field
/// arrays) and names in `interner`, so nothing read points into the blob.
class CheckpointReader {
public:
    /// `width` argument of row(): the width of the schema the row names.
    static constexpr size_t kSchemaWidth = static_cast<size_t>(-1);

    CheckpointReader(std::string_view data, Arena& heap, Interner& interner, const ir::Plan& plan)
        : data_(data), heap_(&heap), interner_(&interner), plan_(&plan) {}

    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == data_.size(); }
    size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
    size_t offset() const { return base_ + pos_; }
    const std::string& error() const { return error_; }

    /// Marks the blob corrupt (first call wins) and returns false.
    bool fail(std::string_view what);

    uint8_t u8();
    uint32_t u32();
    uint64_t u64();
    int32_t i32() { return static_cast<int32_t>(u32()); }
    int64_t i64() { return static_cast<int64_t>(u64()); }
    double f64();
    bool boolean();
    /// A count of items that take at least `min_item_bytes` each: fails if the bytes left
    /// cannot hold that many, so a forged count never drives an allocation.
    uint32_t count(size_t min_item_bytes);
    std::string_view str();
    const StrObj* name();
    bool value(Value& out) { return value(out, 0); }
    /// A row of exactly `width` slots (kSchemaWidth: its schema's width) whose schema is a
    /// valid schema index.
    bool row(StoredRow& out, size_t width);
    /// Like row() but into caller storage (window buffers).
    bool row_into(std::vector<Value>& values, size_t width, int32_t& schema, int64_t& ts, const StrObj*& type,
                  const Field*& raw, uint32_t& raw_count);

    /// A sub-reader over the next `n` bytes (a section), which this reader skips.
    CheckpointReader sub(uint64_t n);
    /// Carries a sub-reader's failure into this one.
    bool absorb(const CheckpointReader& sub);

    Arena& heap() { return *heap_; }
    Interner& interner() { return *interner_; }
    const ir::Plan& plan() const { return *plan_; }

private:
    bool need(size_t n);
    bool value(Value& out, int depth);
    /// The schema index a writer's schema_ref() names, or -1 (failed).
    int32_t schema_ref();

    std::string_view data_;
    size_t pos_ = 0;
    size_t base_ = 0;
    Arena* heap_;
    Interner* interner_;
    const ir::Plan* plan_;
    std::unordered_map<std::string_view, std::vector<int32_t>> by_name_;  // schema name -> indices
    bool ok_ = true;
    std::string error_;
};

/// Checks magic, version and checksum of a whole blob. On success `payload` is the part
/// between the header and the checksum; on failure `error` says why.
bool open_checkpoint(std::string_view blob, std::string_view& payload, std::string& error);

}  // namespace varpulis::runtime
