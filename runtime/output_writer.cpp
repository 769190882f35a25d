#include "runtime/output_writer.hpp"

#include <cstring>
#include <string_view>

#include "runtime/value_io.hpp"

namespace varpulis::runtime {

namespace {

// JSON records, in blocks handed to the writer thread:
//   'S' stream, event type, u32 n, n field names         (each string: u32 size, bytes)
//   'E' i64 timestamp, then per present field: u32 index, u8 tag, payload; u32 kEnd
// Tags: 'i' i64 (Int, Timestamp), 'u' u64 (Duration), 'f' f64, 't' true, 'F' false, 'n' null,
// 's' string bytes (escaped by the writer), 'p' JSON text (arrays and maps, rendered at once
// because their items live no longer than the event).
constexpr uint32_t kEnd = UINT32_MAX;
constexpr size_t kBlockBytes = 1 << 16;
constexpr size_t kMaxReady = 8;   // blocks in flight: bounds memory when output outruns stdout

template <class T>
void put(std::string& b, T v) {
    b.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_str(std::string& b, std::string_view s) {
    put(b, static_cast<uint32_t>(s.size()));
    b.append(s.data(), s.size());
}

template <class T>
T get(const std::string& b, size_t& p) {
    T v;
    std::memcpy(&v, b.data() + p, sizeof v);
    p += sizeof v;
    return v;
}

std::string_view get_str(const std::string& b, size_t& p) {
    const auto n = get<uint32_t>(b, p);
    std::string_view s(b.data() + p, n);
    p += n;
    return s;
}

}  // namespace

OutputWriter::OutputWriter(bool json, bool quiet, std::FILE* out) : json_(json), quiet_(quiet), out_(out) {
    buf_.reserve(kBlockBytes + 4096);
}

OutputWriter::~OutputWriter() {
    flush();
    if (thread_.joinable()) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
}

void OutputWriter::write(const OutputEvent& e) {
    if (quiet_) return;
    if (json_) {
        encode_json(e);
        if (buf_.size() > kBlockBytes) hand_over();
        return;
    }
    write_display(e);
    if (buf_.size() > kBlockBytes) {
        std::fwrite(buf_.data(), 1, buf_.size(), out_);
        buf_.clear();
        std::fflush(out_);
    }
}

void OutputWriter::write_display(const OutputEvent& e) {
    buf_ += e.stream;
    buf_ += " @";
    append_int(buf_, e.timestamp_ms);
    buf_ += " {";
    bool first = true;
    for (uint32_t i = 0; i < e.field_count; ++i) {
        if (!e.values[i].present()) continue;
        if (!first) buf_ += ", ";
        first = false;
        buf_ += e.names[i]->view();
        buf_ += ": ";
        append_display(buf_, e.values[i]);
    }
    buf_ += "}\n";
}

void OutputWriter::encode_json(const OutputEvent& e) {
    // A shape record only when the stream, type or field names change: consecutive outputs
    // of one stream share it, so the writer renders their prefix and keys once.
    bool same = have_shape_ && e.stream == last_stream_ && e.event_type == last_type_ &&
                e.field_count == last_names_.size();
    for (uint32_t i = 0; same && i < e.field_count; ++i) same = e.names[i] == last_names_[i];
    if (!same) {
        have_shape_ = true;
        last_stream_.assign(e.stream);
        last_type_.assign(e.event_type);
        last_names_.assign(e.names, e.names + e.field_count);
        buf_.push_back('S');
        put_str(buf_, e.stream);
        put_str(buf_, e.event_type);
        put(buf_, e.field_count);
        for (uint32_t i = 0; i < e.field_count; ++i) put_str(buf_, e.names[i]->view());
    }
    encode_record(e);
}

/// encode_json's 'E' record, built in a local buffer appended once per output (outputs are
/// many: one append each instead of three per field); the buffer goes out early only before a
/// string or rendered value too long for what is left of it.
void OutputWriter::encode_record(const OutputEvent& e) {
    char rec[512];
    char* p = rec;
    char* const limit = rec + sizeof rec;
    auto raw = [&p](const auto& v) {
        std::memcpy(p, &v, sizeof v);
        p += sizeof v;
    };
    auto flush = [&] {
        buf_.append(rec, static_cast<size_t>(p - rec));
        p = rec;
    };
    // A tag and its bytes: in the buffer when they fit, else after it.
    auto bytes = [&](char tag, std::string_view s) {
        if (static_cast<size_t>(limit - p) < 5 + s.size()) {
            flush();
            buf_.push_back(tag);
            put_str(buf_, s);
            return;
        }
        *p++ = tag;
        raw(static_cast<uint32_t>(s.size()));
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    };
    *p++ = 'E';
    raw(e.timestamp_ms);
    for (uint32_t i = 0; i < e.field_count; ++i) {
        const Value& v = e.values[i];
        if (!v.present()) continue;
        if (limit - p < 13) flush();   // index, tag and an 8-byte payload
        raw(i);
        switch (v.kind) {
            case ValueKind::Int:
            case ValueKind::Timestamp:
                *p++ = 'i';
                raw(v.i);
                break;
            case ValueKind::Duration:
                *p++ = 'u';
                raw(static_cast<uint64_t>(v.i));
                break;
            case ValueKind::Float:
                *p++ = 'f';
                raw(v.f);
                break;
            case ValueKind::Bool: *p++ = v.b ? 't' : 'F'; break;
            case ValueKind::Str: bytes('s', v.str()); break;
            case ValueKind::Absent:
            case ValueKind::Null: *p++ = 'n'; break;
            default:   // arrays and maps: rendered now (their items live no longer than the event)
                scratch_.clear();
                append_json(scratch_, v);
                bytes('p', scratch_);
                break;
        }
    }
    if (limit - p < 4) flush();
    raw(kEnd);
    flush();
}

void OutputWriter::render_block(const std::string& block, std::string& text) {
    size_t p = 0;
    while (p < block.size()) {
        const char tag = block[p++];
        if (tag == 'S') {
            const std::string_view stream = get_str(block, p);
            const std::string_view type = get_str(block, p);
            prefix_ = "{\"stream\": ";
            append_json_string(prefix_, stream);
            prefix_ += ", \"event_type\": ";
            append_json_string(prefix_, type);
            prefix_ += ", \"timestamp\": ";
            keys_.resize(get<uint32_t>(block, p));
            for (std::string& k : keys_) {
                k.clear();
                append_json_string(k, get_str(block, p));
                k += ": ";
            }
            continue;
        }
        text += prefix_;
        append_int(text, get<int64_t>(block, p));
        text += ", \"fields\": {";
        bool first = true;
        for (;;) {
            const auto i = get<uint32_t>(block, p);
            if (i == kEnd) break;
            if (!first) text += ", ";
            first = false;
            text += keys_[i];
            switch (block[p++]) {
                case 'i': append_int(text, get<int64_t>(block, p)); break;
                case 'u': append_uint(text, get<uint64_t>(block, p)); break;
                case 'f': append_json_float(text, get<double>(block, p)); break;
                case 't': text += "true"; break;
                case 'F': text += "false"; break;
                case 's': append_json_string(text, get_str(block, p)); break;
                case 'p': text += get_str(block, p); break;
                default: text += "null"; break;
            }
        }
        text += "}}\n";
    }
}

void OutputWriter::writer_loop() {
    std::string text;
    text.reserve(4 * kBlockBytes);
    for (;;) {
        std::string block;
        {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait(lk, [&] { return stop_ || !ready_.empty(); });
            if (ready_.empty()) return;
            block = std::move(ready_.front());
            ready_.pop_front();
        }
        cv_.notify_all();   // room for another block
        render_block(block, text);
        std::fwrite(text.data(), 1, text.size(), out_);
        text.clear();
        block.clear();
        {
            std::lock_guard<std::mutex> lk(mu_);
            ++written_;
            if (free_.size() < kMaxReady) free_.push_back(std::move(block));
        }
        cv_.notify_all();
    }
}

void OutputWriter::hand_over() {
    if (!json_ || quiet_ || buf_.empty()) return;
    if (!thread_.joinable()) thread_ = std::thread([this] { writer_loop(); });
    {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return ready_.size() < kMaxReady; });
        ready_.push_back(std::move(buf_));
        ++handed_;
        if (!free_.empty()) {
            buf_ = std::move(free_.back());
            free_.pop_back();
        } else {
            buf_ = std::string();
        }
    }
    cv_.notify_all();
    if (buf_.capacity() < kBlockBytes) buf_.reserve(kBlockBytes + 4096);
}

void OutputWriter::flush() {
    if (quiet_) return;
    if (json_) {
        hand_over();
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return written_ == handed_; });
    } else if (!buf_.empty()) {
        std::fwrite(buf_.data(), 1, buf_.size(), out_);
        buf_.clear();
    }
    std::fflush(out_);
}

}  // namespace varpulis::runtime
