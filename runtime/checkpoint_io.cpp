#include "runtime/checkpoint_io.hpp"

#include <cstring>
#include <unordered_map>

namespace varpulis::runtime {

namespace {

constexpr uint32_t kNullName = 0xFFFFFFFFu;
/// Nested arrays and maps deeper than this are refused (the reader recurses on them).
constexpr int kMaxValueDepth = 64;
constexpr size_t kHeaderBytes = sizeof(kCheckpointMagic) + 4;
constexpr size_t kChecksumBytes = 8;

uint64_t load_le(const char* p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

}  // namespace

uint64_t fnv1a64(std::string_view bytes, uint64_t h) {
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

// ------------------------------------------------------------------ writer

void CheckpointWriter::u32(uint32_t v) {
    char b[4];
    for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_.append(b, 4);
}

void CheckpointWriter::u64(uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_.append(b, 8);
}

void CheckpointWriter::f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    u64(bits);
}

void CheckpointWriter::str(std::string_view s) {
    count(s.size());
    out_.append(s.data(), s.size());
}

void CheckpointWriter::name(const StrObj* s) {
    if (!s) {
        u32(kNullName);
        return;
    }
    str(s->view());
}

void CheckpointWriter::value(const Value& v) {
    u8(static_cast<uint8_t>(v.kind));
    switch (v.kind) {
        case ValueKind::Absent:
        case ValueKind::Null:
            break;
        case ValueKind::Bool:
            boolean(v.b);
            break;
        case ValueKind::Int:
        case ValueKind::Timestamp:
        case ValueKind::Duration:
            i64(v.i);
            break;
        case ValueKind::Float:
            f64(v.f);
            break;
        case ValueKind::Str:
            str(v.str());
            break;
        case ValueKind::Array:
            count(v.a->size);
            for (uint32_t i = 0; i < v.a->size; ++i) value(v.a->items[i]);
            break;
        case ValueKind::Map:
            count(v.m->size);
            for (uint32_t i = 0; i < v.m->size; ++i) {
                name(v.m->keys[i]);
                value(v.m->values[i]);
            }
            break;
    }
}

void CheckpointWriter::schema_ref(int32_t schema) {
    if (schema < 0 || static_cast<size_t>(schema) >= plan_->schemas.size()) {
        str("");
        u32(kNullName);
        return;
    }
    if (rank_.empty()) {
        std::unordered_map<std::string_view, uint32_t> seen;
        for (const auto& sc : plan_->schemas) rank_.push_back(seen[sc.name]++);
    }
    str(plan_->schemas[static_cast<size_t>(schema)].name);
    u32(rank_[static_cast<size_t>(schema)]);
}

void CheckpointWriter::row(const Value* slots, size_t width, int32_t schema, int64_t ts, const StrObj* type,
                           const Field* raw, uint32_t raw_count) {
    schema_ref(schema);
    i64(ts);
    name(type);
    count(width);
    for (size_t i = 0; i < width; ++i) value(slots[i]);
    // Raw fields are written even without `raw` set (count 0) so the reader can tell.
    count(raw ? raw_count : 0);
    if (raw)
        for (uint32_t i = 0; i < raw_count; ++i) {
            name(raw[i].name);
            value(raw[i].value);
        }
}

size_t CheckpointWriter::begin_section(CheckpointSection kind) {
    u8(static_cast<uint8_t>(kind));
    size_t mark = out_.size();
    u64(0);
    return mark;
}

void CheckpointWriter::end_section(size_t mark) {
    uint64_t len = out_.size() - mark - 8;
    for (int i = 0; i < 8; ++i) out_[mark + static_cast<size_t>(i)] = static_cast<char>(len >> (8 * i));
}

void CheckpointWriter::header() {
    out_.append(kCheckpointMagic, sizeof(kCheckpointMagic));
    u32(kCheckpointVersion);
}

std::string CheckpointWriter::finish() {
    u64(fnv1a64(out_));
    return std::move(out_);
}

// ------------------------------------------------------------------ reader

bool CheckpointReader::fail(std::string_view what) {
    if (ok_) {
        ok_ = false;
        error_ = "checkpoint corrupt: ";
        error_ += what;
        error_ += " (at payload byte " + std::to_string(offset()) + ")";
    }
    return false;
}

bool CheckpointReader::need(size_t n) {
    if (!ok_) return false;
    if (data_.size() - pos_ < n) return fail("truncated data");
    return true;
}

uint8_t CheckpointReader::u8() {
    if (!need(1)) return 0;
    return static_cast<uint8_t>(data_[pos_++]);
}

uint32_t CheckpointReader::u32() {
    if (!need(4)) return 0;
    uint32_t v = static_cast<uint32_t>(load_le(data_.data() + pos_, 4));
    pos_ += 4;
    return v;
}

uint64_t CheckpointReader::u64() {
    if (!need(8)) return 0;
    uint64_t v = load_le(data_.data() + pos_, 8);
    pos_ += 8;
    return v;
}

double CheckpointReader::f64() {
    uint64_t bits = u64();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

bool CheckpointReader::boolean() {
    uint8_t b = u8();
    if (b > 1) fail("bad boolean");
    return b == 1;
}

uint32_t CheckpointReader::count(size_t min_item_bytes) {
    uint32_t n = u32();
    if (!ok_) return 0;
    if (min_item_bytes > 0 && n > remaining() / min_item_bytes) {
        fail("count larger than the data left");
        return 0;
    }
    return n;
}

std::string_view CheckpointReader::str() {
    uint32_t n = count(1);
    if (!need(n)) return {};
    std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
}

const StrObj* CheckpointReader::name() {
    if (!need(4)) return nullptr;
    if (load_le(data_.data() + pos_, 4) == kNullName) {
        pos_ += 4;
        return nullptr;
    }
    std::string_view s = str();
    return ok_ ? interner_->intern(s) : nullptr;
}

bool CheckpointReader::value(Value& out, int depth) {
    out = Value::absent();
    uint8_t kind = u8();
    if (!ok_) return false;
    switch (static_cast<ValueKind>(kind)) {
        case ValueKind::Absent:
            return true;
        case ValueKind::Null:
            out = Value::null();
            return true;
        case ValueKind::Bool:
            out = Value::boolean(boolean());
            return ok_;
        case ValueKind::Int:
            out = Value::integer(i64());
            return ok_;
        case ValueKind::Timestamp:
            out = Value::timestamp(i64());
            return ok_;
        case ValueKind::Duration:
            out = Value::duration(u64());
            return ok_;
        case ValueKind::Float:
            out = Value::floating(f64());
            return ok_;
        case ValueKind::Str: {
            std::string_view s = str();
            if (!ok_) return false;
            out = Value::string(heap_->make_string(s));
            return true;
        }
        case ValueKind::Array: {
            if (depth >= kMaxValueDepth) return fail("values nested too deeply");
            uint32_t n = count(1);
            if (!ok_) return false;
            ArrayObj* a = heap_->make_array(n);
            for (uint32_t i = 0; i < n; ++i)
                if (!value(a->items[i], depth + 1)) return false;
            out = Value::array(a);
            return true;
        }
        case ValueKind::Map: {
            if (depth >= kMaxValueDepth) return fail("values nested too deeply");
            uint32_t n = count(5);
            if (!ok_) return false;
            MapObj* m = heap_->make_map(n);
            for (uint32_t i = 0; i < n; ++i) {
                const StrObj* k = name();
                if (!ok_) return false;
                if (!k) return fail("map key missing");
                m->keys[i] = k;
                if (!value(m->values[i], depth + 1)) return false;
            }
            out = Value::map(m);
            return true;
        }
    }
    return fail("unknown value kind " + std::to_string(kind));
}

int32_t CheckpointReader::schema_ref() {
    std::string_view name = str();
    uint32_t rank = u32();
    if (!ok_) return -1;
    if (by_name_.empty())
        for (size_t i = 0; i < plan_->schemas.size(); ++i)
            by_name_[plan_->schemas[i].name].push_back(static_cast<int32_t>(i));
    auto it = by_name_.find(name);
    if (it == by_name_.end() || rank >= it->second.size()) {
        fail("row of an unknown schema");
        return -1;
    }
    return it->second[rank];
}

bool CheckpointReader::row_into(std::vector<Value>& values, size_t width, int32_t& schema, int64_t& ts,
                                const StrObj*& type, const Field*& raw, uint32_t& raw_count) {
    schema = schema_ref();
    ts = i64();
    type = name();
    uint32_t n = count(1);
    if (!ok_) return false;
    // Later readers index a row's slots by its schema, so the two must agree.
    const size_t schema_width = plan_->schemas[static_cast<size_t>(schema)].fields.size();
    if (n != schema_width || (width != kSchemaWidth && n != width)) return fail("row width does not match its schema");
    for (uint32_t i = 0; i < n; ++i) {
        Value v;
        if (!value(v)) return false;
        values.push_back(v);
    }
    raw_count = count(5);
    raw = nullptr;
    if (!ok_) return false;
    if (raw_count > 0) {
        Field* fields = heap_->allocate_array<Field>(raw_count);
        for (uint32_t i = 0; i < raw_count; ++i) {
            fields[i].name = name();
            fields[i].value = Value::absent();
            if (!ok_) return false;
            if (!fields[i].name) return fail("raw field without a name");
            if (!value(fields[i].value)) return false;
        }
        raw = fields;
    }
    return true;
}

bool CheckpointReader::row(StoredRow& out, size_t width) {
    out.slots.clear();
    return row_into(out.slots, width, out.schema, out.ts, out.type, out.raw, out.raw_count);
}

CheckpointReader CheckpointReader::sub(uint64_t n) {
    CheckpointReader r(std::string_view(), *heap_, *interner_, *plan_);
    if (!need(n)) {
        r.ok_ = false;
        return r;
    }
    r.data_ = data_.substr(pos_, static_cast<size_t>(n));
    r.base_ = base_ + pos_;
    pos_ += static_cast<size_t>(n);
    return r;
}

bool CheckpointReader::absorb(const CheckpointReader& sub) {
    if (!sub.ok_ && ok_) {
        ok_ = false;
        error_ = sub.error_.empty() ? "checkpoint corrupt: bad section" : sub.error_;
    }
    return ok_;
}

bool open_checkpoint(std::string_view blob, std::string_view& payload, std::string& error) {
    if (blob.size() < sizeof(kCheckpointMagic) || std::memcmp(blob.data(), kCheckpointMagic, sizeof(kCheckpointMagic)) != 0) {
        error = "checkpoint corrupt: not a Varpulis checkpoint (bad magic)";
        return false;
    }
    if (blob.size() < kHeaderBytes) {
        error = "checkpoint corrupt: truncated header";
        return false;
    }
    uint32_t version = static_cast<uint32_t>(load_le(blob.data() + sizeof(kCheckpointMagic), 4));
    if (version != kCheckpointVersion) {
        error = "checkpoint format version " + std::to_string(version) + " not supported (this build reads " +
                std::to_string(kCheckpointVersion) + ")";
        return false;
    }
    if (blob.size() < kHeaderBytes + kChecksumBytes) {
        error = "checkpoint corrupt: truncated (no checksum)";
        return false;
    }
    size_t body = blob.size() - kChecksumBytes;
    uint64_t stored = load_le(blob.data() + body, kChecksumBytes);
    if (fnv1a64(blob.substr(0, body)) != stored) {
        error = "checkpoint corrupt: checksum mismatch (truncated or altered)";
        return false;
    }
    payload = blob.substr(kHeaderBytes, body - kHeaderBytes);
    return true;
}

}  // namespace varpulis::runtime
