#include "runtime/pattern_matcher_impl.hpp"

namespace varpulis::runtime {

// ------------------------------------------------------------ indexed mode (default strategy)
void PatternMatcher::Impl::setup_index(size_t ns) {
    const bool shortcuts = g_indexed_shortcuts.load(std::memory_order_relaxed);
    idx_.assign(n_steps_, IndexInfo{});
    idx_by_type_.assign(ns, {});
    for (int32_t k = 0; k < n_steps_; ++k) {
        const Expr* c = ir::nfa_index_conjunct(nfa_, k, ns);
        if (!c) continue;
        const ir::NfaStep& st = nfa_.steps[k];
        const Expr* x = c->args[0].get();
        const Expr* y = c->args[1].get();
        if (x->op == ExprOp::AliasField) std::swap(x, y);
        IndexInfo& ix = idx_[k];
        ix.ok = true;
        ix.field = x;
        ix.alias_field = y;
        ix.rest_owner = conjuncts_except(st.predicate, c);
        ix.rest = ix.rest_owner.get();
        ix.decides = !ix.rest && shortcuts;
        idx_by_type_[st.type_id].push_back(k);
    }
    ix_type_.assign(ns, 0);
    ix_start_at_.assign(ns, -1);
    ix_key_slot_.assign(ns, -1);
    ix_walk_step_.assign(ns, -1);
    for (size_t t = 0; t < ns; ++t) {
        if (t < step_type_.size() && step_type_[t]) ix_type_[t] |= kIxStep;
        if (!idx_by_type_[t].empty()) ix_type_[t] |= kIxBuckets;
        if (idx_by_type_[t].size() == 1 && list_walk_) ix_walk_step_[t] = idx_by_type_[t][0];
        if (t >= start_type_.size() || !start_type_[t]) continue;
        ix_type_[t] |= kIxStart;
        // start_step's loop, decided here when the first step of this type has no predicate
        // (it qualifies, whatever decides: the kernel gives the same step).
        for (int32_t s = 0; s < n_start_; ++s) {
            const StepInfo& st = steps_[static_cast<size_t>(s)];
            if (st.type_id == static_cast<int32_t>(t)) {
                if (!st.full && shortcuts) {
                    ix_type_[t] |= kIxStartAt;
                    ix_start_at_[t] = s;
                    // What start_indexed would then do: take (no deferred candidates), stay
                    // live (s before the last required step) and wait (link).
                    if (!st.kleene && !st.deferred && s < last_required_) {
                        ix_type_[t] |= kIxFresh;
                        ix_key_slot_[t] = fresh_key_slot(static_cast<int32_t>(t), s);
                    }
                }
                break;
            }
            if (!st.optional) break;
        }
    }
}

/// For a run that step `s` just started with an event of schema `t` (its one binding): the
/// slot of that event its next step's bucket key is (what link's alias_value reads), or -1
/// when link must find out (no indexed next step, another alias, a missing field).
int32_t PatternMatcher::Impl::fresh_key_slot(int32_t t, int32_t s) const {
    const int32_t k = s + 1;
    if (k >= n_steps_ || !idx_[static_cast<size_t>(k)].ok) return -1;
    const Expr& e = *idx_[static_cast<size_t>(k)].alias_field;
    if (e.index < 0 || e.index != steps_[static_cast<size_t>(s)].alias || e.slots.empty() ||
        static_cast<size_t>(e.index) >= n_aliases_)
        return -1;
    int32_t slot = static_cast<int32_t>(e.slots[0]);
    if (e.slot_schema >= 0 && t != e.slot_schema && !e.names.empty()) slot = plan_.schemas[static_cast<size_t>(t)].slot_of(e.names[0]);
    return slot >= 0 && static_cast<uint32_t>(slot) < schema_width_[static_cast<size_t>(t)] ? slot : -1;
}

/// ExprOp::Field on the current row (as eval does).
inline Value PatternMatcher::Impl::field_value(const Expr& e) const {
    for (uint32_t s : e.slots) {
        const Value& v = cur_row_->slots[s];
        if (v.present()) return v;
    }
    if (e.index >= 0 && static_cast<size_t>(e.index) < rt_.globals.size()) return rt_.globals[e.index];
    return Value::absent();
}

/// ExprOp::AliasField over bindings `b` (as eval does).
inline Value PatternMatcher::Impl::alias_value(const Expr& e, const Binding* b) const {
    if (e.index < 0 || e.slots.empty() || static_cast<size_t>(e.index) >= n_aliases_) return Value::absent();
    uint32_t id = b[e.index].ev;
    if (id == kNone) return Value::absent();
    // The current event, bound just now: read where it lies (its stored copy is the same).
    if (id == cur_ev_) return alias_value_in(e, cur_row_->schema, schema_width_[static_cast<size_t>(cur_row_->schema)], cur_row_->slots);
    const Ev& ev = evs_[id];
    return alias_value_in(e, ev.schema, ev.n, ev_slots(id));
}

/// alias_value for an alias bound to the event of schema `schema` with slots [0, n).
inline Value PatternMatcher::Impl::alias_value_in(const Expr& e, int32_t schema, uint32_t n, const Value* slots) const {
    if (e.slot_schema >= 0 && schema != e.slot_schema && !e.names.empty()) {
        int s = plan_.schemas[static_cast<size_t>(schema)].slot_of(e.names[0]);
        return s >= 0 ? slots[s] : Value::absent();
    }
    return e.slots[0] < n ? slots[e.slots[0]] : Value::absent();
}

/// Hash of a bucket key: equal keys (values_equal, so 1 and 1.0) hash alike. Ints, and
/// floats equal to one (float_as_int's test), skip the out-of-line hash_value.
inline uint64_t PatternMatcher::Impl::key_hash(const Value& key) {
    int64_t i;
    if (key.kind == ValueKind::Int) {
        i = key.i;
    } else if (key.kind == ValueKind::Float && key.f >= -0x1p63 && key.f < 0x1p63 && key.f == std::trunc(key.f)) {
        i = static_cast<int64_t>(key.f);
    } else {
        return hash_value(key);
    }
    return static_cast<uint64_t>(i) * 0xD6E8FEB86659FD93ULL;
}

inline uint64_t PatternMatcher::Impl::bucket_hash(uint32_t part, int32_t step, const Value& key) {
    return mix64(key_hash(key) + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(part) + 1) +
                 0xC2B2AE3D27D4EB4FULL * (static_cast<uint64_t>(step) + 1));
}

/// Does slot `u` (waiting in a bucket) wait for (part, step, key)?
inline bool PatternMatcher::Impl::slot_waits_for(uint32_t u, uint64_t h, uint32_t part, int32_t step, const Value& key) const {
    const Slot& S = slots_[u];
    if (S.khash != h || S.part != part || S.wait != step) return false;
    // Int keys (the common case) compare inline; values_equal would say the same.
    if (S.key.kind == ValueKind::Int && key.kind == ValueKind::Int) return S.key.i == key.i;
    return values_equal(S.key, key);
}

/// Table index of the bucket of (part, step, key), or -1.
inline int64_t PatternMatcher::Impl::tfind(uint64_t h, uint32_t part, int32_t step, const Value& key) const {
    if (table_.empty()) return -1;
    size_t mask = table_.size() - 1;
    uint32_t h32 = static_cast<uint32_t>(h);
    for (size_t i = h32 & mask;; i = (i + 1) & mask) {
        const TEntry& t = table_[i];
        if (t.head == kNone) return -1;
        if (t.h == h32 && slot_waits_for(t.head, h, part, step, key)) return static_cast<int64_t>(i);
    }
}

inline size_t PatternMatcher::Impl::tplace(uint32_t h32) const {
    size_t mask = table_.size() - 1;
    size_t i = h32 & mask;
    while (table_[i].head != kNone) i = (i + 1) & mask;
    return i;
}

/// Table index of the bucket of (part, step, key), inserted (empty list) when missing: one
/// probe sequence for both. The caller puts a run in its list at once.
inline size_t PatternMatcher::Impl::tfind_or_insert(uint64_t h, uint32_t part, int32_t step, const Value& key) {
    // At most half full: most lookups miss (a B whose A is gone), and a miss probes to the
    // first empty entry.
    if ((table_count_ + 1) * 2 > table_.size()) {
        std::vector<TEntry> old;
        old.swap(table_);
        table_.assign(old.empty() ? 64 : old.size() * 2, TEntry{});
        for (const TEntry& t : old)
            if (t.head != kNone) table_[tplace(t.h)] = t;
    }
    size_t mask = table_.size() - 1;
    uint32_t h32 = static_cast<uint32_t>(h);
    for (size_t i = h32 & mask;; i = (i + 1) & mask) {
        TEntry& t = table_[i];
        if (t.head == kNone) {
            t = TEntry{h32, kNone};
            ++table_count_;
            return i;
        }
        if (t.h == h32 && slot_waits_for(t.head, h, part, step, key)) return i;
    }
}

/// Removes the (now empty) entry at table index `i`.
inline void PatternMatcher::Impl::terase(size_t i) {
    size_t mask = table_.size() - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (table_[j].head == kNone) break;
        size_t home = table_[j].h & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            table_[i] = table_[j];
            i = j;
        }
    }
    table_[i] = TEntry{};
    --table_count_;
}

/// Inserts slot `si` into a list kept in creation order (usually at the tail).
inline void PatternMatcher::Impl::list_insert(uint32_t& head, uint32_t& tail, uint32_t si) {
    uint64_t seq = slots_[si].r.seq;
    uint32_t after = tail;
    while (after != kNone && slots_[after].r.seq > seq) after = slots_[after].prev;
    Slot& s = slots_[si];
    s.prev = after;
    s.next = after == kNone ? head : slots_[after].next;
    if (s.next != kNone)
        slots_[s.next].prev = si;
    else
        tail = si;
    if (after != kNone)
        slots_[after].next = si;
    else
        head = si;
}

inline void PatternMatcher::Impl::list_remove(uint32_t& head, uint32_t& tail, uint32_t si) {
    Slot& s = slots_[si];
    if (s.prev != kNone)
        slots_[s.prev].next = s.next;
    else
        head = s.next;
    if (s.next != kNone)
        slots_[s.next].prev = s.prev;
    else
        tail = s.prev;
    s.prev = s.next = kNone;
}

/// list_insert / list_remove for a bucket's list, its tail kept by its head run.
inline void PatternMatcher::Impl::bucket_insert(TEntry& t, uint32_t si) {
    uint32_t head = t.head;
    uint32_t tail = head == kNone ? kNone : slots_[head].btail;
    list_insert(head, tail, si);
    t.head = head;
    slots_[head].btail = tail;
}

inline void PatternMatcher::Impl::bucket_remove(TEntry& t, uint32_t si) {
    uint32_t head = t.head;
    uint32_t tail = slots_[head].btail;
    list_remove(head, tail, si);
    t.head = head;
    if (head != kNone) slots_[head].btail = tail;
}

/// Puts a live run where the events that can advance it will find it.
void PatternMatcher::Impl::link(uint32_t si) {
    Slot& S = slots_[si];
    const Run& r = S.r;
    S.wait = kWaitNone;
    const StepInfo& cur = steps_[r.pos];
    if (trailing_neg_ && r.complete && !cur.kleene) return;  // waits for its deadline only
    int32_t k = r.pos + 1;
    if (!cur.kleene && k < n_steps_ && idx_[k].ok) {
        link_bucket(si, k, alias_value(*idx_[k].alias_field, sb(si)));
        return;
    }
    S.wait = kWaitScan;
    Partition& P = parts_[S.part];
    list_insert(P.scan_head, P.scan_tail, si);
}

/// link for a run whose next step `k` is indexed, `key` the value of its alias field.
inline void PatternMatcher::Impl::link_bucket(uint32_t si, int32_t k, const Value& key) {
    if (!key.present()) return;  // `field == absent` never holds: the run cannot advance
    const uint32_t part = slots_[si].part;
    uint64_t h = bucket_hash(part, k, key);
    size_t bi = tfind_or_insert(h, part, k, key);
    Slot& S = slots_[si];
    S.wait = k;
    S.khash = h;
    S.key = key;
    bucket_insert(table_[bi], si);
}

inline void PatternMatcher::Impl::unlink(uint32_t si) {
    Slot& S = slots_[si];
    if (S.wait == kWaitScan) {
        Partition& P = parts_[S.part];
        list_remove(P.scan_head, P.scan_tail, si);
    } else if (S.wait >= 0) {
        size_t i = bucket_hint_;
        // A run that heads an entry heads only its own bucket's: the lookup that found it
        // (bucket_head) need not be repeated.
        if (i >= table_.size() || table_[i].head != si) {
            size_t mask = table_.size() - 1;
            uint32_t h32 = static_cast<uint32_t>(S.khash);
            for (i = h32 & mask;; i = (i + 1) & mask) {
                const TEntry& t = table_[i];
                if (t.h == h32 && t.head != kNone && (t.head == si || slot_waits_for(t.head, S.khash, S.part, S.wait, S.key)))
                    break;
            }
        }
        TEntry& e = table_[i];
        bucket_remove(e, si);
        if (e.head == kNone) terase(i);
    }
    S.wait = kWaitNone;
    S.key = Value();
}

uint32_t PatternMatcher::Impl::alloc_slot(uint32_t part) { return alloc_slot_inline(part); }

/// alloc_slot where runs start (start_fresh, start_indexed): inline, so the stores that start a
/// run right after meet the ones here.
[[gnu::always_inline]] inline uint32_t PatternMatcher::Impl::alloc_slot_inline(uint32_t part) {
    uint32_t si;
    if (!free_slots_.empty()) {
        si = free_slots_.back();
        free_slots_.pop_back();
    } else {
        si = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
        slot_seq_.push_back(kDeadSeq);
        if (n_aliases_ > 2) sbinds_.resize(sbinds_.size() + n_aliases_);
    }
    slot_seq_[si] = 0;
    Slot& S = slots_[si];
    S.part = part;
    S.prev = S.next = kNone;
    S.wait = kWaitNone;
    S.live = true;
    Run& r = S.r;
    r.seq = 0;
    r.t0 = r.last_ts = 0;
    r.deadline = kNoDeadline;
    r.pos = -1;
    r.step_count = 0;
    r.taken = 0;
    r.complete = false;
    r.dead = false;
    if (slot_vecs_) {
        r.deferred.clear();
        r.positions.clear();
    }
    if (n_aliases_ <= 2) {
        S.inl[0] = S.inl[1] = Binding{};
    } else {
        std::fill_n(sb(si), n_aliases_, Binding{});
    }
    ++parts_[part].live;
    return si;
}

void PatternMatcher::Impl::kill_slot(uint32_t si) {
    unlink(si);
    Slot& S = slots_[si];
    Binding* b = sb(si);
    for (size_t a = 0; a < n_aliases_; ++a)
        if (b[a].ev != kNone) {
            unref(b[a].ev);
            b[a].ev = kNone;
        }
    if (slot_vecs_) {
        for (uint32_t e : S.r.deferred) unref(e);
        S.r.deferred.clear();
    }
    S.live = false;
    slot_seq_[si] = kDeadSeq;
    --parts_[S.part].live;
    free_slots_.push_back(si);
}

inline void PatternMatcher::Impl::exp_push(const ExpItem& it) {
    if (it.deadline < next_due_) next_due_ = it.deadline;
    if (fifo_.empty() || it.deadline >= fifo_.back().deadline) {
        fifo_.push_back(it);
        return;
    }
    eheap_.push_back(it);
    std::push_heap(eheap_.begin(), eheap_.end(), exp_later);
}

inline bool PatternMatcher::Impl::exp_later(const ExpItem& x, const ExpItem& y) { return x.deadline > y.deadline; }

/// §9.5 over every partition: the runs whose deadline passed (trailing-NOT ones confirmed).
void PatternMatcher::Impl::expire_indexed(Arena& scratch) {
    confirmed_.clear();
    // Most events expire nothing: one look at the earliest deadline, and the prefetches
    // below (aimed at the next expiries) were already issued when the fronts last moved.
    if (!(next_due_ < now_)) return;
    for (;;) {
        bool f = !fifo_.empty() && fifo_.front().deadline < now_;
        bool h = !f && !eheap_.empty() && eheap_.front().deadline < now_;
        if (!f && !h) break;
        ExpItem it;
        if (f) {
            it = fifo_.front();
            fifo_.pop_front();
        } else {
            std::pop_heap(eheap_.begin(), eheap_.end(), exp_later);
            it = eheap_.back();
            eheap_.pop_back();
        }
        if (slot_seq_[it.slot] != it.seq) continue;  // completed or killed before
        Slot& S = slots_[it.slot];
        if (trailing_neg_ && S.r.complete) {
            const Run& r = S.r;
            int64_t ts = r.t0 + within_;
            complete_rows(r, sb(it.slot), scratch, [&](Row row) {
                row.ts = ts;
                confirmed_.push_back({r.seq, row});
            });
        }
        kill_slot(it.slot);
    }
    set_next_due();
    // Runs that expire soon: fetch their state ahead of time (no effect on results).
    if (8 < fifo_.size()) {
        uint32_t u = fifo_[8].slot;
        __builtin_prefetch(&slot_seq_[u]);
        __builtin_prefetch(&slots_[u]);
        __builtin_prefetch(reinterpret_cast<const char*>(&slots_[u]) + 64);
    }
    if (2 < fifo_.size()) {
        const ExpItem& f = fifo_[2];
        if (slot_seq_[f.slot] == f.seq) {
            const Slot& S = slots_[f.slot];
            if (S.wait >= 0 && !table_.empty())
                __builtin_prefetch(&table_[static_cast<uint32_t>(S.khash) & (table_.size() - 1)]);
            const Binding* b = sb(f.slot);  // the events it releases
            for (size_t a = 0; a < n_aliases_; ++a)
                if (b[a].ev != kNone) __builtin_prefetch(&evs_[b[a].ev]);
        }
    }
    if (confirmed_.size() > 1)
        std::stable_sort(confirmed_.begin(), confirmed_.end(),
                         [](const Confirmed& x, const Confirmed& y) { return x.seq < y.seq; });
}

/// Advance (§9.2 step 3) in partition `pid`: the runs of the buckets of the event's field
/// values and of the scan list, oldest first.
void PatternMatcher::Impl::advance_indexed(uint32_t pid, std::vector<Row>& out, Arena& scratch) {
    Partition& P = parts_[pid];
    if (P.live == 0) return;
    int32_t sch = cur_row_->schema;
    bool by_index = sch >= 0 && static_cast<size_t>(sch) < idx_by_type_.size() && !idx_by_type_[sch].empty();
    if (!by_index && P.scan_head == kNone) return;  // no run this event can reach
    // One source (one bucket, or the scan list alone) is already in creation order: walk
    // it directly instead of copying it to cands_. Advancing a run only ever takes that
    // run out of the list (it is killed, or relinked under a later step: another bucket
    // or the scan list), and no run joins a list before start, so reading the next link
    // before advancing visits exactly the runs the list held when the event arrived.
    if (list_walk_ && by_index && P.scan_head == kNone && idx_by_type_[sch].size() == 1) {
        walk_bucket(pid, idx_by_type_[sch][0], out, scratch);
        return;
    }
    if (list_walk_ && !by_index && slots_[P.scan_head].next == kNone) {
        advance_run(P.scan_head, -1, out, scratch);
        return;
    }
    cands_.clear();
    size_t sources = 0;
    auto add_source = [&](size_t begin) {
        if (cands_.size() == begin || ++sources == 1) return;
        // Merge [0, begin) with [begin, end) by creation order.
        merge_buf_.clear();
        std::merge(cands_.begin(), cands_.begin() + static_cast<std::ptrdiff_t>(begin),
                   cands_.begin() + static_cast<std::ptrdiff_t>(begin), cands_.end(), std::back_inserter(merge_buf_),
                   [](const Cand& x, const Cand& y) { return x.seq < y.seq; });
        cands_.swap(merge_buf_);
    };
    if (by_index) {
        for (int32_t k : idx_by_type_[sch]) {
            size_t begin = cands_.size();
            for (uint32_t u = bucket_head(pid, k); u != kNone; u = slots_[u].next) cands_.push_back({slots_[u].r.seq, u, k});
            add_source(begin);
        }
    }
    if (P.scan_head != kNone) {
        size_t begin = cands_.size();
        for (uint32_t u = P.scan_head; u != kNone; u = slots_[u].next) cands_.push_back({slots_[u].r.seq, u, -1});
        add_source(begin);
    }
    for (const Cand& c : cands_) advance_run(c.slot, c.via, out, scratch);
}

/// advance_indexed when the event's runs are those of one bucket, of indexed step `k`.
void PatternMatcher::Impl::walk_bucket(uint32_t pid, int32_t k, std::vector<Row>& out, Arena& scratch) {
    for (uint32_t u = bucket_head(pid, k); u != kNone;) {
        uint32_t next = slots_[u].next;
        advance_run(u, k, out, scratch);
        u = next;
    }
}

/// First run of the bucket the current event's value selects for indexed step `k` in
/// partition `pid` (kNone: no such bucket, or the event lacks the field).
inline uint32_t PatternMatcher::Impl::bucket_head(uint32_t pid, int32_t k) {
    Value key = field_value(*idx_[k].field);
    if (!key.present()) return kNone;  // `absent == x` never holds
    int64_t bi = tfind(bucket_hash(pid, k, key), pid, k, key);
    if (bi < 0) return kNone;
    bucket_hint_ = static_cast<size_t>(bi);
    return table_[static_cast<size_t>(bi)].head;
}

/// The run in slot `si` enters step `s` with the current event, which it would take and
/// then complete and end with (take, after_take: a last step that keeps no run alive, no
/// pending trailing NOT, no deferred Kleene events): its match row is made here, reading
/// that step's alias from the event where it lies, and the run ends. The event then needs
/// no copy in the store for this run (usually the only one that would have bound it).
/// False when the step does not end the run: the caller takes it as usual.
[[gnu::flatten]] inline bool PatternMatcher::Impl::finish_in_place(uint32_t si, int32_t s, std::vector<Row>& out, Arena& scratch) {
    Run& r = slots_[si].r;
    if (!ends_run_[static_cast<size_t>(s)] || r.complete || !r.deferred.empty()) return false;
    out.push_back(make_row(sb(si), r.t0, now_, now_, scratch, steps_[s].alias));
    kill_slot(si);
    return true;
}

/// Advance (§9.2 step 3) of the live run in slot `si` on the current event. `via`: the
/// step whose bucket it was found in (its equality conjunct holds), -1: the scan list.
inline void PatternMatcher::Impl::advance_run(uint32_t si, int32_t via, std::vector<Row>& out, Arena& scratch) {
    auto sink = [&](Row row) { out.push_back(row); };
    Run& r = slots_[si].r;
    Binding* b = sb(si);
    bool took = false;
    bool was_complete = r.complete;
    bool pending = trailing_neg_ && r.complete;
    int32_t s_taken = -1;
    int32_t old_pos = r.pos;
    const StepInfo& cur = steps_[r.pos];
    if (via >= 0 && idx_[via].decides) {
        // Found in the bucket of its next step (a plain step, the run complete or not: `via`
        // is required), whose whole predicate is the equality the bucket stands for: the
        // step the kernel or the loop below would choose.
        if (finish_in_place(si, via, out, scratch)) return;
        take(r, b, via, false);
        took = true;
        s_taken = via;
    } else if (trans_) {
        bool capped = false;
        int32_t d = trans(r.pos, b, run_flags(r), via);
        if (d >= 0 && finish_in_place(si, d, out, scratch)) return;
        take_decided(r, b, d, took, capped, s_taken);
    } else if (cur.kleene && qualifies(r.pos, b, true)) {
        bool capped = false;
        take_again(r, b, took, capped, s_taken);
    } else if (!pending) {
        for (int32_t s = r.pos + 1; s < n_steps_; ++s) {
            const StepInfo& st = steps_[s];
            bool never = r.complete && st.q == Quantifier::Optional;  // trailing `?`
            bool q;
            if (never) {
                q = false;
            } else if (s == via) {
                // Found through the bucket of this value: the equality conjunct holds.
                q = true;
                if (idx_[s].rest) {
                    load_aliases(b);
                    q = test(idx_[s].rest, *cur_row_);
                }
            } else {
                q = qualifies(s, b, false);
            }
            if (q) {
                if (finish_in_place(si, s, out, scratch)) return;
                take(r, b, s, false);
                took = true;
                s_taken = s;
                break;
            }
            if (!st.optional) break;
        }
    }
    if (!took) return;
    if (after_take(r, b, s_taken, was_complete, scratch, sink) == After::Done) {
        kill_slot(si);
    } else if (r.pos != old_pos || r.complete != was_complete) {
        unlink(si);
        link(si);
    }
}

/// Start (§9.2 step 4) in partition `pid`.
[[gnu::flatten]] void PatternMatcher::Impl::start_indexed(uint32_t pid, std::vector<Row>& out, Arena& scratch) {
    auto sink = [&](Row row) { out.push_back(row); };
    const auto sch = static_cast<size_t>(cur_row_->schema);
    int32_t s = ix_type_[sch] & kIxStartAt ? ix_start_at_[sch] : start_step();
    if (s < 0) return;
    bool stays = s < last_required_ || trailing_neg_ || steps_[s].alive_after;
    if (stays && parts_[pid].live >= kMaxRuns) {
        ++dropped_;
        return;
    }
    uint32_t si = alloc_slot_inline(pid);
    Run& r = slots_[si].r;
    Binding* b = sb(si);
    r.seq = next_seq_++;
    slot_seq_[si] = r.seq;
    r.t0 = now_;
    r.deadline = deadline_now();
    take(r, b, s, false);
    if (has_within_) exp_push({r.deadline, r.seq, si});
    if (after_take(r, b, s, false, scratch, sink) == After::Done)
        kill_slot(si);
    else
        link(si);
}

/// start_indexed for a type marked kIxFresh: the run takes the event for step `s` and waits
/// for its next one, the decisions start_indexed makes known already.
void PatternMatcher::Impl::start_fresh(uint32_t pid, int32_t s) {
    if (parts_[pid].live >= kMaxRuns) {
        ++dropped_;
        return;
    }
    const uint32_t si = alloc_slot_inline(pid);
    Run& r = slots_[si].r;
    r.seq = next_seq_++;
    slot_seq_[si] = r.seq;
    r.t0 = r.last_ts = now_;
    r.deadline = deadline_now();
    r.pos = s;
    r.step_count = 1;
    if (const int32_t a = steps_[static_cast<size_t>(s)].alias; a >= 0) {
        const uint32_t ev = cur_ev();
        ref(ev);
        sb(si)[a] = Binding{ev, 1};
    }
    if (has_within_) exp_push({r.deadline, r.seq, si});
    if (const int32_t ks = ix_key_slot_[static_cast<size_t>(cur_row_->schema)]; ks >= 0)
        link_bucket(si, s + 1, cur_row_->slots[ks]);
    else
        link(si);
}

}  // namespace varpulis::runtime
