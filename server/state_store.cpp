#include "server/state_store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace varpulis::server {

namespace json = boost::json;

namespace {

constexpr char kCheckpointMagic[8] = {'V', 'P', 'C', 'K', 'P', 'T', '0', '1'};

void put_u64(std::string& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint64_t get_u64(const char* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

std::string str_member(const json::object& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_string()) return {};
    return std::string(it->value().as_string());
}
uint64_t u64_member(const json::object& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end()) return 0;
    if (it->value().is_uint64()) return it->value().as_uint64();
    if (it->value().is_int64()) return static_cast<uint64_t>(std::max<int64_t>(0, it->value().as_int64()));
    return 0;
}

bool status_ok(const rocksdb::Status& s, std::string& error) {
    if (s.ok()) return true;
    error = s.ToString();
    return false;
}

}  // namespace

struct StateStore::Impl {
    std::unique_ptr<rocksdb::DB> db;
};

StateStore::StateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateStore::~StateStore() = default;

std::unique_ptr<StateStore> StateStore::open(const std::string& dir, std::string& error) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        error = "cannot create state directory " + dir + ": " + ec.message();
        return nullptr;
    }
    rocksdb::Options options;
    options.create_if_missing = true;
    options.IncreaseParallelism(2);
    options.keep_log_file_num = 3;
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(options, dir, &db);
    if (!s.ok()) {
        error = "cannot open state directory " + dir + ": " + s.ToString();
        return nullptr;
    }
    auto impl = std::make_unique<Impl>();
    impl->db.reset(db);
    return std::unique_ptr<StateStore>(new StateStore(std::move(impl)));
}

bool StateStore::put_tenant(const TenantRecord& t, std::string& error) {
    json::object o;
    o["id"] = t.id;
    o["name"] = t.name;
    o["api_key"] = t.api_key;
    o["tier"] = t.tier;
    o["seq"] = t.seq;
    o["created_ms"] = t.created_ms;
    o["events_processed"] = t.events_processed;
    o["output_events_emitted"] = t.output_events_emitted;
    return status_ok(impl_->db->Put(rocksdb::WriteOptions(), "tenant/" + t.id, json::serialize(o)), error);
}

bool StateStore::delete_tenant(const std::string& id, std::string& error) {
    return status_ok(impl_->db->Delete(rocksdb::WriteOptions(), "tenant/" + id), error);
}

bool StateStore::put_pipeline(const PipelineRecord& p, std::string& error) {
    json::object o;
    o["id"] = p.id;
    o["tenant_id"] = p.tenant_id;
    o["name"] = p.name;
    o["source"] = p.source;
    o["status"] = p.status;
    o["seq"] = p.seq;
    o["created_ms"] = p.created_ms;
    return status_ok(impl_->db->Put(rocksdb::WriteOptions(), "pipeline/" + p.id, json::serialize(o)), error);
}

bool StateStore::delete_pipeline(const std::string& id, std::string& error) {
    rocksdb::WriteBatch b;
    b.Delete("pipeline/" + id);
    b.Delete("checkpoint/" + id);
    return status_ok(impl_->db->Write(rocksdb::WriteOptions(), &b), error);
}

bool StateStore::put_checkpoint(const std::string& pipeline_id, const CheckpointRecord& c, std::string& error) {
    std::string v(kCheckpointMagic, sizeof kCheckpointMagic);
    put_u64(v, c.events);
    put_u64(v, c.outputs);
    put_u64(v, static_cast<uint64_t>(c.saved_ms));
    put_u64(v, c.blob.size());
    v += c.blob;
    return status_ok(impl_->db->Put(rocksdb::WriteOptions(), "checkpoint/" + pipeline_id, v), error);
}

bool StateStore::get_checkpoint(const std::string& pipeline_id, CheckpointRecord& c, std::string& error) {
    std::string v;
    auto s = impl_->db->Get(rocksdb::ReadOptions(), "checkpoint/" + pipeline_id, &v);
    if (s.IsNotFound()) return false;
    if (!s.ok()) {
        error = s.ToString();
        return false;
    }
    constexpr size_t kHeader = sizeof kCheckpointMagic + 32;
    if (v.size() < kHeader || std::memcmp(v.data(), kCheckpointMagic, sizeof kCheckpointMagic) != 0) {
        error = "unknown checkpoint record format";
        return false;
    }
    const char* p = v.data() + sizeof kCheckpointMagic;
    c.events = get_u64(p);
    c.outputs = get_u64(p + 8);
    c.saved_ms = static_cast<int64_t>(get_u64(p + 16));
    uint64_t n = get_u64(p + 24);
    if (n != v.size() - kHeader) {
        error = "truncated checkpoint record";
        return false;
    }
    c.blob.assign(v.data() + kHeader, n);
    return true;
}

void StateStore::load(std::vector<TenantRecord>& tenants, std::vector<PipelineRecord>& pipelines,
                      std::vector<std::string>& warnings) {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        std::string key = it->key().ToString();
        bool is_tenant = key.rfind("tenant/", 0) == 0;
        bool is_pipeline = key.rfind("pipeline/", 0) == 0;
        if (!is_tenant && !is_pipeline) continue;
        boost::system::error_code ec;
        json::value v = json::parse(std::string_view(it->value().data(), it->value().size()), ec);
        if (ec || !v.is_object()) {
            warnings.push_back("skipping undecodable record " + key);
            continue;
        }
        const auto& o = v.as_object();
        if (is_tenant) {
            TenantRecord t;
            t.id = str_member(o, "id");
            t.name = str_member(o, "name");
            t.api_key = str_member(o, "api_key");
            t.tier = str_member(o, "tier");
            t.seq = u64_member(o, "seq");
            t.created_ms = static_cast<int64_t>(u64_member(o, "created_ms"));
            t.events_processed = u64_member(o, "events_processed");
            t.output_events_emitted = u64_member(o, "output_events_emitted");
            if (t.id.empty() || t.api_key.empty()) {
                warnings.push_back("skipping incomplete record " + key);
                continue;
            }
            tenants.push_back(std::move(t));
        } else {
            PipelineRecord p;
            p.id = str_member(o, "id");
            p.tenant_id = str_member(o, "tenant_id");
            p.name = str_member(o, "name");
            p.source = str_member(o, "source");
            p.status = str_member(o, "status");
            p.seq = u64_member(o, "seq");
            p.created_ms = static_cast<int64_t>(u64_member(o, "created_ms"));
            if (p.id.empty() || p.tenant_id.empty()) {
                warnings.push_back("skipping incomplete record " + key);
                continue;
            }
            pipelines.push_back(std::move(p));
        }
    }
    if (!it->status().ok()) warnings.push_back("state iteration stopped: " + it->status().ToString());
}

}  // namespace varpulis::server
