#include "runtime/pattern_matcher_impl.hpp"

namespace varpulis::runtime {

// ------------------------------------------------------------ checkpoints
// Saved: counters, partition keys, the events bound by live runs (each once, numbered in
// order of first reference), the live runs in creation order with their bindings, and the
// pending expiries. Not saved: free lists, the equality index, scan lists and caches,
// which load() rebuilds by linking the runs again, and per-event scratch.

inline std::vector<const std::string*> PatternMatcher::Impl::partition_keys() const {
    std::vector<const std::string*> keys(parts_.size(), nullptr);
    for (const auto& [key, idx] : part_index_)
        if (idx < keys.size()) keys[idx] = &key;
    return keys;
}

inline void PatternMatcher::Impl::save_run(CheckpointWriter& w, const Run& r, const Binding* b, const std::vector<uint32_t>& table) const {
    w.u64(r.seq);
    w.i64(r.t0);
    w.i64(r.last_ts);
    w.i64(r.deadline);
    w.i32(r.pos);
    w.u32(r.step_count);
    w.u32(r.taken);
    w.boolean(r.complete);
    w.count(r.deferred.size());
    for (uint32_t e : r.deferred) w.u32(table[e]);
    w.count(r.positions.size());
    for (uint64_t p : r.positions) w.u64(p);
    for (size_t a = 0; a < n_aliases_; ++a) {
        w.u32(b[a].ev == kNone ? kNone : table[b[a].ev]);
        w.u32(b[a].count);
    }
}

void PatternMatcher::Impl::save(CheckpointWriter& w) const {
    w.u64(dropped_);
    w.u64(next_seq_);
    w.u64(event_no_);
    w.boolean(indexed_);
    auto keys = partition_keys();
    w.count(parts_.size());
    if (partitioned_)
        for (const std::string* k : keys) w.str(k ? std::string_view(*k) : std::string_view());

    // Live runs in the order they are written: (partition, run, bindings).
    struct Live {
        uint32_t part;
        const Run* run;
        const Binding* binds;
    };
    std::vector<Live> live;
    std::vector<Run> dag_run_store;
    std::vector<Binding> dag_bind_store;
    if (indexed_) {
        std::vector<uint32_t> order;
        for (uint32_t si = 0; si < slots_.size(); ++si)
            if (slots_[si].live) order.push_back(si);
        std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) { return slots_[x].r.seq < slots_[y].r.seq; });
        for (uint32_t si : order) live.push_back({slots_[si].part, &slots_[si].r, sb_const(si)});
    } else {
        // Compact partitions are written as the plain runs they stand for (the format does
        // not depend on the representation; load() keeps them plain).
        std::vector<size_t> first(parts_.size() + 1, 0);
        for (uint32_t p = 0; p < parts_.size(); ++p) {
            first[p] = dag_run_store.size();
            auto keep = [&](Run&& r, const Binding* b) {
                r.seq = 0;
                dag_run_store.push_back(std::move(r));
                dag_bind_store.insert(dag_bind_store.end(), b, b + n_aliases_);
            };
            if (!parts_[p].dnodes.empty()) dag_runs(parts_[p], keep);
            if (!parts_[p].sroots.empty())
                stk_runs(parts_[p], [&](Run&& r, const Binding* b) {
                    // Lazy expiry: runs of roots eager expiry would have dropped stay out.
                    if (!stk_lazy_ || r.deadline >= stk_hwm_) keep(std::move(r), b);
                });
        }
        first[parts_.size()] = dag_run_store.size();
        // Runs that events skipped since the last on_event have expired (see skipped_now_)
        // are left out, as that on_event would drop them first.
        auto expired = [&](const Run& r) { return skipped_now_ != kNoSkipped && r.deadline < skipped_now_; };
        for (uint32_t p = 0; p < parts_.size(); ++p) {
            const Partition& P = parts_[p];
            for (size_t i = 0; i < P.runs.size(); ++i)
                if (!P.runs[i].dead && !expired(P.runs[i])) live.push_back({p, &P.runs[i], P.binds.data() + i * n_aliases_});
            for (size_t i = first[p]; i < first[p + 1]; ++i)
                if (!expired(dag_run_store[i])) live.push_back({p, &dag_run_store[i], dag_bind_store.data() + i * n_aliases_});
        }
    }
    std::vector<uint32_t> table(evs_.count, kNone);
    std::vector<uint32_t> events;
    auto note = [&](uint32_t ev) {
        if (ev == kNone || table[ev] != kNone) return;
        table[ev] = static_cast<uint32_t>(events.size());
        events.push_back(ev);
    };
    for (const Live& l : live) {
        for (size_t a = 0; a < n_aliases_; ++a) note(l.binds[a].ev);
        for (uint32_t e : l.run->deferred) note(e);
    }
    w.count(events.size());
    for (uint32_t id : events) {
        const Ev& e = evs_[id];
        w.row(ev_slots(id), e.n, e.schema, e.ts, e.type, nullptr, 0);
    }
    if (indexed_) {
        w.count(live.size());
        for (const Live& l : live) {
            w.u32(l.part);
            save_run(w, *l.run, l.binds, table);
        }
        // Pending deadlines of live runs (stale entries are skipped by expiry anyway).
        std::vector<std::pair<int64_t, uint64_t>> items;
        for (size_t i = 0; i < fifo_.size(); ++i)
            if (slot_seq_[fifo_[i].slot] == fifo_[i].seq) items.emplace_back(fifo_[i].deadline, fifo_[i].seq);
        for (const ExpItem& it : eheap_)
            if (slot_seq_[it.slot] == it.seq) items.emplace_back(it.deadline, it.seq);
        std::sort(items.begin(), items.end());
        w.count(items.size());
        for (auto [d, seq] : items) {
            w.i64(d);
            w.u64(seq);
        }
    } else {
        size_t k = 0;
        for (uint32_t p = 0; p < parts_.size(); ++p) {
            size_t n = 0;
            while (k + n < live.size() && live[k + n].part == p) ++n;
            w.count(n);
            for (size_t i = 0; i < n; ++i) save_run(w, *live[k + i].run, live[k + i].binds, table);
            k += n;
        }
        std::vector<HeapItem> pending = expiry_.sorted();
        if (stk_lazy_) {
            // The deadlines lazy expiry keeps no entry for: the queue eager expiry would hold.
            for (uint32_t p = 0; p < parts_.size(); ++p) {
                const Partition& P = parts_[p];
                if (P.materialized) continue;
                for (size_t r = P.sroot_head; r < P.sroots.size(); ++r)
                    if (!P.sroots[r].dead && P.sroots[r].deadline >= stk_hwm_) pending.emplace_back(P.sroots[r].deadline, p);
            }
            std::sort(pending.begin(), pending.end());
        }
        w.count(pending.size());
        for (const HeapItem& it : pending) {
            w.i64(it.first);
            w.u32(it.second);
        }
    }
}

inline const PatternMatcher::Impl::Binding* PatternMatcher::Impl::sb_const(uint32_t si) const {
    return n_aliases_ <= 2 ? slots_[si].inl : sbinds_.data() + static_cast<size_t>(si) * n_aliases_;
}

inline bool PatternMatcher::Impl::alias_schema_ok(int32_t alias, int32_t schema) const {
    for (const auto& st : steps_)
        if (st.alias == alias && st.type_id == schema) return true;
    return false;
}

inline bool PatternMatcher::Impl::load_run(CheckpointReader& r, Run& run, Binding* b, const std::vector<uint32_t>& ids) {
    run.seq = r.u64();
    run.t0 = r.i64();
    run.last_ts = r.i64();
    run.deadline = r.i64();
    run.pos = r.i32();
    run.step_count = r.u32();
    run.taken = r.u32();
    run.complete = r.boolean();
    uint32_t nd = r.count(4);
    for (uint32_t i = 0; i < nd && r.ok(); ++i) {
        uint32_t e = r.u32();
        if (e >= ids.size()) return r.fail("run refers to an unknown event");
        ref(ids[e]);
        run.deferred.push_back(ids[e]);
    }
    uint32_t np = r.count(8);
    for (uint32_t i = 0; i < np && r.ok(); ++i) run.positions.push_back(r.u64());
    for (size_t a = 0; a < n_aliases_ && r.ok(); ++a) {
        uint32_t e = r.u32();
        uint32_t c = r.u32();
        if (e != kNone) {
            if (e >= ids.size()) return r.fail("binding refers to an unknown event");
            ref(ids[e]);
            b[a].ev = ids[e];
        }
        b[a].count = c;
    }
    if (!r.ok()) return false;
    // Predicates read a bound event with the slots of its step's schema.
    for (size_t a = 0; a < n_aliases_; ++a)
        if (b[a].ev != kNone && !alias_schema_ok(static_cast<int32_t>(a), evs_[b[a].ev].schema))
            return r.fail("binding of an event of another type");
    for (uint32_t e : run.deferred) {
        bool fits = false;
        for (const auto& st : steps_) fits |= st.deferred && st.type_id == evs_[e].schema;
        if (!fits) return r.fail("deferred event of another type");
    }
    bool seq_form = form_ == ir::Nfa::Form::Sequence;
    if (run.pos < (seq_form ? 0 : -1) || run.pos >= n_steps_) return r.fail("run at an unknown pattern step");
    if (!run.deferred.empty()) {
        bool any = false;
        for (const auto& st : steps_) any |= st.deferred;
        if (!any) return r.fail("deferred events in a pattern without a deferred step");
    }
    return true;
}

bool PatternMatcher::Impl::load(CheckpointReader& r) {
    dropped_ = r.u64();
    next_seq_ = r.u64();
    event_no_ = r.u64();
    bool indexed = r.boolean();
    uint32_t np = r.count(partitioned_ ? 4 : 0);
    if (!r.ok()) return false;
    if (indexed != indexed_) return r.fail("pattern matcher mode does not match");
    if (!partitioned_ && np != 1) return r.fail("unpartitioned pattern with several partitions");
    // Partitions are rebuilt: lazy expiry starts over (loaded runs are plain, expired eagerly).
    stk_parts_.clear();
    stk_hwm_ = stk_sweep_at_ = std::numeric_limits<int64_t>::min();
    stk_lazy_ = stk_ && has_within_;
    if (partitioned_) {
        parts_.clear();
        int_part_.clear();  // caches of partition indexes
        small_part_.clear();
        for (uint32_t p = 0; p < np; ++p) {
            std::string key(r.str());
            if (!r.ok()) return false;
            if (!part_index_.emplace(std::move(key), p).second) return r.fail("duplicate pattern partition");
            parts_.emplace_back();
        }
    }
    uint32_t ne = r.count(21);
    std::vector<uint32_t> ids;
    ids.reserve(ne);
    StoredRow row;
    for (uint32_t i = 0; i < ne; ++i) {
        if (!r.row(row, CheckpointReader::kSchemaWidth)) return false;
        ids.push_back(store(row.view()));
    }
    const size_t run_bytes = 49 + 8 * n_aliases_;
    if (indexed_) {
        uint32_t nr = r.count(run_bytes + 4);
        std::unordered_map<uint64_t, uint32_t> by_seq;
        std::vector<Binding> b(n_aliases_);
        bool first = true;
        uint64_t last_seq = 0;
        for (uint32_t i = 0; i < nr && r.ok(); ++i) {
            uint32_t part = r.u32();
            Run run;
            std::fill(b.begin(), b.end(), Binding{});
            if (!load_run(r, run, b.data(), ids)) return false;
            if (part >= parts_.size()) return r.fail("run in an unknown partition");
            if (!first && run.seq <= last_seq) return r.fail("runs out of creation order");
            first = false;
            last_seq = run.seq;
            slot_vecs_ |= !run.deferred.empty() || !run.positions.empty();
            uint32_t si = alloc_slot(part);
            slots_[si].r = std::move(run);
            std::copy(b.begin(), b.end(), sb(si));
            slot_seq_[si] = slots_[si].r.seq;
            by_seq.emplace(slots_[si].r.seq, si);
            link(si);
        }
        uint32_t nx = r.count(16);
        std::vector<ExpItem> items;
        for (uint32_t i = 0; i < nx && r.ok(); ++i) {
            int64_t d = r.i64();
            uint64_t seq = r.u64();
            auto it = by_seq.find(seq);
            if (!r.ok()) return false;
            if (it == by_seq.end()) return r.fail("deadline of an unknown run");
            items.push_back({d, seq, it->second});
        }
        std::sort(items.begin(), items.end(), [](const ExpItem& x, const ExpItem& y) {
            return x.deadline != y.deadline ? x.deadline < y.deadline : x.seq < y.seq;
        });
        fifo_.clear();
        for (const ExpItem& it : items) fifo_.push_back(it);
        set_next_due();
    } else {
        std::vector<Binding> b(n_aliases_);
        for (Partition& P : parts_) {
            uint32_t nr = r.count(run_bytes);
            for (uint32_t i = 0; i < nr && r.ok(); ++i) {
                Run run;
                std::fill(b.begin(), b.end(), Binding{});
                if (!load_run(r, run, b.data(), ids)) return false;
                P.runs.push_back(std::move(run));
                P.binds.insert(P.binds.end(), b.begin(), b.end());
            }
            P.materialized = !P.runs.empty();
        }
        uint32_t nx = r.count(12);
        for (uint32_t i = 0; i < nx && r.ok(); ++i) {
            int64_t d = r.i64();
            uint32_t p = r.u32();
            if (r.ok() && p >= parts_.size()) return r.fail("deadline in an unknown partition");
            expiry_.push({d, p});
        }
    }
    if (!r.ok()) return false;
    for (Partition& P : parts_) P.stk_listed = false;
    // Events no run binds (only in a forged blob) go back to the free list.
    for (uint32_t id : ids)
        if (evs_[id].refs == 0) free_evs_.push_back(id);
    return true;
}

}  // namespace varpulis::runtime
