#include "runtime/pattern_matcher_impl.hpp"

namespace varpulis::runtime {

// Stack mode of the compact skip_till_any_match form (see SRoot). A run is a chain: a root
// (step 0), then events of the middle steps in arrival order (one for a plain step, one or
// more for a Kleene step), then the completing event. Because no predicate reads an alias,
// whether a run takes an event depends only on the event and the run's step, so every chain
// whose events qualified for their steps, arrived in order and starts at a live root is a
// run — the stacks hold exactly those events, and nothing per run is stored. Where the plain
// runs (and the node DAG) branch on every qualifying event, this mode appends the event once
// and adds its run counts per root; a completion walks the chains depth first.

/// Stack mode needs step predicates that read no alias (and no len): setup_dag has already
/// checked the rest (plain sequence, One / middle Plus steps, no negation, no effects).
void PatternMatcher::Impl::setup_stacks() {
    if (!g_stack_any_match.load(std::memory_order_relaxed)) return;
    if (n_steps_ > 64) return;
    for (const StepInfo& st : steps_)
        if (!st.reads_full.empty() || !st.reads_first.empty() || st.reads_len || st.own) return;
    stk_ = true;
    stk_mid_ = static_cast<size_t>(n_steps_ - 2);
    stk_nocnt_ = !kr_ && stk_mid_ == 1 && !steps_[1].kleene;
    stk_lazy_ = has_within_;
    stk_types_.assign(plan_.schemas.size(), 0);
    for (int32_t s = 0; s < n_steps_; ++s)
        if (steps_[s].type_id >= 0 && static_cast<size_t>(steps_[s].type_id) < stk_types_.size())
            stk_types_[static_cast<size_t>(steps_[s].type_id)] |= 1ull << s;
    stk_b_.assign(n_aliases_, Binding{});
    stk_tmpl_.assign(std::max<size_t>(out_fields_.size(), 1), Value());
    for (uint32_t i : mr_other_) {
        if (out_fields_[i].kind == OutField::kStreamName) stk_tmpl_[i] = Value::string(stream_name_);   // never changes
        if (out_fields_[i].kind == OutField::kAliasCount) mr_counts_.emplace_back(i, out_fields_[i].alias);
        if (out_fields_[i].kind == OutField::kDuration) mr_durations_.push_back(i);
    }
}

void PatternMatcher::Impl::stk_init(Partition& P) {
    P.sstk.assign(stk_mid_, {});
    P.sstk_head.assign(stk_mid_, 0);
    P.stot.assign(static_cast<size_t>(n_steps_ - 1), 0);
}

/// skip_till_any_match advance and start (§9.10) on P in stack form; `verdicts` from
/// stk_verdicts.
void PatternMatcher::Impl::step_stk(Partition& P, uint64_t verdicts, std::vector<Row>& out, Arena& scratch) {
    const int32_t last = n_steps_ - 1;
    if (P.stot.empty()) stk_init(P);
    if (stk_nocnt_) {
        // SEQ(A, B, C) (steps 0, 1, 2): what the loop below works out, without it.
        const uint64_t* tot = P.stot.data();
        const bool start = verdicts & 1;
        const bool mid = (verdicts & 2) && tot[0] > 0;
        const bool comp = (verdicts & 4) && tot[1] > 0;
        if (P.dpaths + (mid ? tot[0] : 0) + (start ? 1 : 0) <= kMaxAnyRuns) {
            if (comp) stk_complete(P, out, scratch);
            if (mid) stk_push(P, 1);
            if (start) stk_start(P);
            return;
        }
    }
    const uint64_t* tot = P.stot.data();
    // A middle step only takes the event when some run can: runs end at the step before, or
    // at the same Kleene step.
    uint64_t take = 0, new_paths = 0;
    for (uint64_t m = verdicts & ~1ull & ~(1ull << last); m != 0; m &= m - 1) {
        const int32_t s = std::countr_zero(m);
        uint64_t from = tot[s - 1] + (steps_[s].kleene ? tot[s] : 0);
        if (from > 0) {
            take |= 1ull << s;
            new_paths += from;
        }
    }
    const bool comp = (verdicts >> last & 1) && tot[last - 1] > 0;
    const bool start = verdicts & 1;
    if (P.dpaths + new_paths + (start ? 1 : 0) > kMaxAnyRuns) {
        // A run cap may be reached: plain runs know which runs it drops.
        stk_materialize(P);
        step_any(P, scratch);
        flush_completions(out);
        return;
    }
    if (comp) stk_complete(P, out, scratch);
    // From the last middle step down, so each step adds the runs that ended before this event.
    while (take != 0) {
        const int32_t s = 63 - std::countl_zero(take);
        take &= ~(1ull << s);
        stk_push(P, s);
    }
    if (start) stk_start(P);
}

/// The current event extends every run ending at step s - 1 (or at Kleene step s) into s.
void PatternMatcher::Impl::stk_push(Partition& P, int32_t s) {
    const size_t mid = stk_mid_;
    const size_t k = static_cast<size_t>(s - 1);
    const bool kleene = steps_[s].kleene;
    uint64_t added = 0;
    if (stk_nocnt_) {
        added = P.stot[0];  // one more run per live root
    } else {
        for (size_t r = P.sroot_head; r < P.sroots.size(); ++r) {
            if (P.sroots[r].dead) continue;
            uint64_t* c = P.scnt.data() + r * mid;
            uint64_t add = (s == 1 ? 1 : c[k - 1]) + (kleene ? c[k] : 0);
            c[k] += add;
            added += add;
        }
    }
    P.stot[static_cast<size_t>(s)] += added;
    P.dpaths += added;
    next_seq_ += added;
    uint32_t ev = cur_ev();
    ref(ev);
    P.sstk[k].push_back(SEntry{event_no_, now_, ev});
}

void PatternMatcher::Impl::stk_start(Partition& P) {
    SRoot R;
    R.pos = event_no_;
    R.ts = now_;
    R.deadline = deadline_now();
    R.ev = cur_ev();
    ref(R.ev);
    if (stk_lazy_ && R.deadline < stk_hwm_) stk_go_eager();   // this root then expires eagerly too
    if (P.sroot_head < P.sroots.size() && R.deadline < P.sroots.back().deadline) P.sroots_sorted = false;
    // Roots mode: sorted by first.y where they may be skipped (setup_prune).
    if (kr_ && dprune_) R.pkind = sort_root(P, P.sroot_base + static_cast<uint32_t>(P.sroots.size()));
    P.sroots.push_back(R);
    if (kr_) {
        roots_reserve(P);
    } else {
        if (!stk_nocnt_)
            for (size_t k = 0; k < stk_mid_; ++k) P.scnt.push_back(0);  // (resize: a fill_insert call)
        ++P.stot[0];
    }
    ++P.dpaths;
    ++next_seq_;
    if (!stk_lazy_) {
        if (has_within_) expiry_.push({R.deadline, partition_id(&P)});
    } else if (!P.stk_listed) {
        P.stk_listed = true;
        stk_parts_.push_back(partition_id(&P));
    }
}

/// Lazy expiry (stk_lazy_): every partition that holds roots drops its dead ones; the ones
/// left without roots leave the list. Next sweep four `within` later (an idle partition keeps
/// dead roots for at most about five).
void PatternMatcher::Impl::stk_sweep() {
    size_t w = 0;
    for (uint32_t p : stk_parts_) {
        Partition& P = parts_[p];
        stk_expire_lazy(P);
        if (P.sroot_head < P.sroots.size()) {
            stk_parts_[w++] = p;
        } else {
            P.stk_listed = false;
        }
    }
    stk_parts_.resize(w);
    stk_sweep_at_ = stk_hwm_ + 4 * std::max<int64_t>(within_, 1);
}

/// Time went back by more than `within`: a root started with its deadline below stk_hwm_,
/// which lazy expiry would take for dead. From here on expiry is eager as for other forms:
/// the dead roots dropped now, every live root's deadline queued.
void PatternMatcher::Impl::stk_go_eager() {
    for (uint32_t p : stk_parts_) {
        Partition& P = parts_[p];
        P.stk_listed = false;
        stk_expire_lazy(P);
        if (P.materialized) continue;
        for (size_t r = P.sroot_head; r < P.sroots.size(); ++r)
            if (!P.sroots[r].dead) expiry_.push({P.sroots[r].deadline, p});
    }
    stk_parts_.clear();
    stk_lazy_ = false;
}

/// live_runs() under lazy expiry: P's runs that eager expiry would have dropped by now.
uint64_t PatternMatcher::Impl::stk_dead_runs(const Partition& P) const {
    if (P.materialized || P.sroot_head == P.sroots.size()) return 0;
    uint64_t gone = 0;
    for (size_t r = P.sroot_head; r < P.sroots.size(); ++r) {
        const SRoot& R = P.sroots[r];
        if (R.dead || R.deadline >= stk_hwm_) continue;
        ++gone;
        if (stk_nocnt_) {
            gone += stk_runs_after(P, R.pos);
        } else {
            for (size_t k = 0; k < stk_mid_; ++k) gone += P.scnt[r * stk_mid_ + k];
        }
    }
    return gone;
}

/// Every run ending at the last middle step completes with the current event: reported in
/// §9.10 order (the walk visits chains by arrival positions, extensions first), the ones past
/// the per-event cap counted as dropped.
void PatternMatcher::Impl::stk_complete(Partition& P, std::vector<Row>& out, Arena& scratch) {
    const int32_t last = n_steps_ - 1;
    const uint64_t total = P.stot[static_cast<size_t>(last - 1)];
    const uint64_t room = reported_ < kMaxMatchesPerEvent ? kMaxMatchesPerEvent - reported_ : 0;
    stk_left_ = std::min<uint64_t>(total, room);
    const uint64_t quota = stk_left_;
    const int32_t a0 = steps_[0].alias;
    const int32_t cur = steps_[last].alias;
    // The middle steps' aliases: unbound until the walk binds them; the current event's
    // fields, the same for every match of this completion.
    for (int32_t s = 1; s < last; ++s)
        if (const int32_t a = steps_[s].alias; a >= 0) stk_show(a, nullptr, 0);
    if (cur >= 0) stk_show(cur, cur_row_->slots, schema_width_[static_cast<size_t>(cur_row_->schema)]);
    if (!match_sink_) out.reserve(out.size() + quota);
    if (stk_nocnt_) {
        stk_complete_plain(P, out, scratch);
    } else {
        for (size_t r = P.sroot_head; r < P.sroots.size() && stk_left_ > 0; ++r) {
            const SRoot& R = P.sroots[r];
            if (R.dead) continue;
            if (stk_mid_ > 0 && P.scnt[r * stk_mid_ + stk_mid_ - 1] == 0) continue;  // no run reaches the end
            if (a0 >= 0) stk_bind(a0, Binding{R.ev, 1});
            for (uint32_t i : mr_durations_) stk_tmpl_[i] = Value::integer(now_ - R.ts);
            stk_walk(P, 0, r, R.pos, out, scratch);
        }
    }
    if (a0 >= 0) stk_b_[static_cast<size_t>(a0)] = Binding{};
    const uint64_t emitted = quota - stk_left_;
    reported_ += emitted;
    dropped_ += total - emitted;
}

/// stk_complete when stk_nocnt_: the matches of each live root are the middle step's events
/// after it, in order (what stk_walk does from a root, with one pointer over the step's events
/// for all roots, as both go by position).
void PatternMatcher::Impl::stk_complete_plain(const Partition& P, std::vector<Row>& out, Arena& scratch) {
    const int32_t a0 = steps_[0].alias;
    const int32_t a1 = steps_[1].alias;
    const std::vector<SEntry>& v = P.sstk[0];
    const SEntry* e = v.data() + P.sstk_head[0];
    const SEntry* const end = v.data() + v.size();
    // The template slots of the middle alias, rewritten per match (stk_show, loaded once).
    const std::pair<uint32_t, uint32_t>* k1 = nullptr;
    const std::pair<uint32_t, uint32_t>* k1_end = nullptr;
    if (a1 >= 0) {
        stk_b_[static_cast<size_t>(a1)] = Binding{kNone, 1};  // (its count: one event)
        if (const int32_t g = mr_group_[static_cast<size_t>(a1)]; g >= 0) {
            k1 = mr_slots_.data() + mr_copies_[static_cast<size_t>(g)].begin;
            k1_end = mr_slots_.data() + mr_copies_[static_cast<size_t>(g)].end;
        }
    }
    Value* const tmpl = stk_tmpl_.data();
    const bool durations = !mr_durations_.empty();
    for (size_t r = P.sroot_head; r < P.sroots.size() && stk_left_ > 0; ++r) {
        const SRoot& R = P.sroots[r];
        if (R.dead) continue;
        while (e != end && e->pos < R.pos) ++e;
        if (e == end) break;  // no later event for this root nor the ones after it
        if (a0 >= 0) stk_bind(a0, Binding{R.ev, 1});
        if (durations)
            for (uint32_t i : mr_durations_) tmpl[i] = Value::integer(now_ - R.ts);
        for (const SEntry* f = e; f != end && stk_left_ > 0; ++f) {
            const Ev& ev = evs_[f->ev];
            const Value* base = ev_slots(f->ev);
            for (const auto* k = k1; k != k1_end; ++k) tmpl[k->first] = k->second < ev.n ? base[k->second] : Value();
            stk_emit(out, scratch);
        }
    }
    if (a1 >= 0) stk_b_[static_cast<size_t>(a1)] = Binding{};
}

/// stk_tmpl_ shows `alias` bound to an event with slots [0, avail) at `base` (none: avail 0,
/// its fields absent).
inline void PatternMatcher::Impl::stk_show(int32_t alias, const Value* base, uint32_t avail) {
    const int32_t g = mr_group_[static_cast<size_t>(alias)];
    if (g < 0) return;
    const AliasCopy& c = mr_copies_[static_cast<size_t>(g)];
    Value* __restrict tmpl = stk_tmpl_.data();
    for (const auto* k = mr_slots_.data() + c.begin, *e = mr_slots_.data() + c.end; k != e; ++k)
        tmpl[k->first] = k->second < avail ? base[k->second] : Value();
}

/// The walk binds `alias` to b (a stored event, or none), in stk_b_ and in stk_tmpl_.
inline void PatternMatcher::Impl::stk_bind(int32_t alias, Binding b) {
    stk_b_[static_cast<size_t>(alias)] = b;
    if (b.ev != kNone)
        stk_show(alias, ev_slots(b.ev), evs_[b.ev].n);
    else
        stk_show(alias, nullptr, 0);
}

/// One match: the bindings in stk_b_ (the current event for the last step's alias), what
/// make_row builds: stk_tmpl_ (the walk keeps it showing stk_b_) with the alias counts.
inline void PatternMatcher::Impl::stk_emit(std::vector<Row>& out, Arena& scratch) {
    Value* __restrict tmpl = stk_tmpl_.data();
    for (const auto& [i, a] : mr_counts_)
        tmpl[i] = Value::integer(a == steps_[n_steps_ - 1].alias ? 1 : stk_b_[static_cast<size_t>(a)].count);
    --stk_left_;
    if (match_sink_) {
        match_sink_->fn(match_sink_->ctx, Row{tmpl, out_schema_, now_, match_type_, nullptr, 0});
        return;
    }
    const size_t n = stk_tmpl_.size();
    Value* slots = scratch.allocate_array<Value>(n);
    std::memcpy(static_cast<void*>(slots), tmpl, n * sizeof(Value));
    out.push_back(Row{slots, out_schema_, now_, match_type_, nullptr, 0});
}

/// stk_walk at element `idx` of the last middle step when it is a Kleene step (`v`, `n`: its
/// events; `a`: its alias, bound `count` times): every later event of the step extends the
/// chain, depth first, then the chain ends here with the current event.
void PatternMatcher::Impl::stk_walk_kleene(const SEntry* v, size_t n, size_t idx, int32_t a, uint32_t count,
                                           std::vector<Row>& out, Arena& scratch) {
    bool rebind = false;
    for (size_t j = idx + 1; j < n && stk_left_ > 0; ++j) {
        if (a >= 0) {
            stk_bind(a, Binding{v[j].ev, count + 1});
            rebind = true;
        }
        stk_walk_kleene(v, n, j, a, count + 1, out, scratch);
    }
    if (rebind) stk_bind(a, Binding{v[idx].ev, count});
    if (stk_left_ > 0) stk_emit(out, scratch);
}

/// Depth first from element `idx` of step s (a root when s == 0) at arrival position `pos`:
/// its extensions by position (another event of its Kleene step before the next step's on a
/// tie, as paths compare), then, at the last middle step, the match with the current event.
void PatternMatcher::Impl::stk_walk(const Partition& P, int32_t s, size_t idx, uint64_t pos, std::vector<Row>& out,
                                    Arena& scratch) {
    const int32_t last = n_steps_ - 1;
    if (s + 1 < last) {  // a chain from here needs a later event of the last middle step
        const std::vector<SEntry>& lv = P.sstk[stk_mid_ - 1];
        if (lv.size() == P.sstk_head[stk_mid_ - 1] || lv.back().pos <= pos) return;
    }
    if (s + 1 == last && steps_[s].kleene) {
        const std::vector<SEntry>& v = P.sstk[static_cast<size_t>(s - 1)];
        const int32_t a = steps_[s].alias;
        stk_walk_kleene(v.data(), v.size(), idx, a, a >= 0 ? stk_b_[static_cast<size_t>(a)].count : 0, out, scratch);
        return;
    }
    if (s + 2 == last && !steps_[s].kleene && !steps_[s + 1].kleene) {
        // Each later event of the last middle step completes one match: no deeper walk.
        const std::vector<SEntry>& v = P.sstk[static_cast<size_t>(s)];
        const SEntry* end = v.data() + v.size();
        const SEntry* e = std::upper_bound(v.data() + P.sstk_head[static_cast<size_t>(s)], end, pos,
                                           [](uint64_t p, const SEntry& x) { return p < x.pos; });
        const int32_t a = steps_[s + 1].alias;
        for (; e != end && stk_left_ > 0; ++e) {
            if (a >= 0) stk_bind(a, Binding{e->ev, 1});
            stk_emit(out, scratch);
        }
        if (a >= 0) stk_bind(a, Binding{});
        return;
    }
    const SEntry* again = nullptr;
    const SEntry* again_end = nullptr;
    if (steps_[s].kleene) {
        const std::vector<SEntry>& v = P.sstk[static_cast<size_t>(s - 1)];
        again = v.data() + idx + 1;
        again_end = v.data() + v.size();
    }
    const SEntry* next = nullptr;
    const SEntry* next_end = nullptr;
    if (s + 1 < last) {
        const std::vector<SEntry>& v = P.sstk[static_cast<size_t>(s)];
        const SEntry* lo = v.data() + P.sstk_head[static_cast<size_t>(s)];
        next_end = v.data() + v.size();
        next = std::upper_bound(lo, next_end, pos, [](uint64_t p, const SEntry& e) { return p < e.pos; });
    }
    auto descend = [&](int32_t t, const SEntry& e, size_t at, bool is_again) {
        const int32_t a = steps_[t].alias;
        Binding saved{};
        if (a >= 0) {
            saved = stk_b_[static_cast<size_t>(a)];
            stk_bind(a, Binding{e.ev, is_again ? saved.count + 1 : 1});
        }
        stk_walk(P, t, at, e.pos, out, scratch);
        if (a >= 0) stk_bind(a, saved);
    };
    while (stk_left_ > 0 && (again != again_end || next != next_end)) {
        bool take_again = again != again_end && (next == next_end || again->pos <= next->pos);
        if (take_again) {
            size_t at = static_cast<size_t>(again - P.sstk[static_cast<size_t>(s - 1)].data());
            descend(s, *again++, at, true);
        } else {
            size_t at = static_cast<size_t>(next - P.sstk[static_cast<size_t>(s)].data());
            descend(s + 1, *next++, at, false);
        }
    }
    if (s + 1 == last && stk_left_ > 0) stk_emit(out, scratch);
}

/// Drops the dead roots at the front and the events no live root precedes (no run can
/// reach them any more: every chain starts at a root before its events).
inline void PatternMatcher::Impl::stk_gc(Partition& P) {
    const SRoot* const roots = P.sroots.data();
    const size_t n = P.sroots.size();
    size_t h = P.sroot_head;
    for (; h < n && roots[h].dead; ++h) {
        if (kr_) roots_unref(P, h);
        unref(roots[h].ev);
    }
    P.sroot_head = h;
    if (h == n) {
        stk_clear(P);
        return;
    }
    stk_trim(P, h);
}

/// The middle steps' events before root h (the first live one) dropped, and the roots before
/// it once they are half the vector.
inline void PatternMatcher::Impl::stk_trim(Partition& P, size_t h) {
    const size_t n = P.sroots.size();
    const uint64_t first = P.sroots[h].pos;
    for (size_t k = 0; k < stk_mid_; ++k) {
        std::vector<SEntry>& v = P.sstk[k];
        const SEntry* const e = v.data();
        const size_t size = v.size();
        size_t sh = P.sstk_head[k];
        for (; sh < size && e[sh].pos < first; ++sh) unref(e[sh].ev);
        if (sh == size) {
            v.clear();
            sh = 0;
        } else if (sh >= 32 && sh * 2 >= size) {
            v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(sh));
            sh = 0;
        }
        P.sstk_head[k] = sh;
    }
    if (h >= 32 && h * 2 >= n) {
        P.sroots.erase(P.sroots.begin(), P.sroots.begin() + static_cast<std::ptrdiff_t>(h));
        if (!stk_nocnt_) P.scnt.erase(P.scnt.begin(), P.scnt.begin() + static_cast<std::ptrdiff_t>(h * stk_mid_));
        P.sroot_base += static_cast<uint32_t>(h);
        P.sroot_head = 0;
    }
    if (kr_ && P.dsorted.size() > 16 + 2 * (P.sroots.size() - P.sroot_head)) {
        // Sorted entries of roots gone since: dropped, the order kept.
        size_t w = 0;
        for (const Partition::DSorted& e : P.dsorted) {
            if (e.root < P.sroot_base + P.sroot_head || P.sroots[e.root - P.sroot_base].dead) continue;
            P.dsorted[w++] = e;
        }
        P.dsorted.resize(w);
    }
}

/// Expiry (§9.5) of P's roots: their runs leave the counts; their events go in stk_gc.
/// Locals throughout: the counts and unrefs would otherwise make every vector reload.
void PatternMatcher::Impl::stk_expire(Partition& P) {
    const size_t mid = stk_mid_;
    SRoot* const roots = P.sroots.data();
    const size_t n = P.sroots.size();
    const uint64_t* const cnt = P.scnt.data();
    uint64_t* const tot = P.stot.data();
    const int64_t now = now_;
    const bool sorted = P.sroots_sorted;
    uint64_t gone = 0;
    if (sorted && !kr_) {
        // Deadlines in order: the expired roots are the ones from the head on, and none is
        // marked dead (stk_gc drops dead roots at the head), so they go at once.
        size_t h = P.sroot_head;
        // stk_nocnt_: the step's events after each root, by one pointer (roots by position).
        const SEntry* e = nullptr;
        const SEntry* e_end = nullptr;
        if (stk_nocnt_) {
            e = P.sstk[0].data() + P.sstk_head[0];
            e_end = P.sstk[0].data() + P.sstk[0].size();
        }
        for (; h < n && roots[h].deadline < now; ++h) {
            --tot[0];
            ++gone;
            if (stk_nocnt_) {
                while (e != e_end && e->pos < roots[h].pos) ++e;
                const auto runs = static_cast<uint64_t>(e_end - e);
                tot[1] -= runs;
                gone += runs;
            } else if (mid == 1) {  // (the loop below, vectorised, costs more than the work)
                const uint64_t* c = cnt + h * mid;
                tot[1] -= c[0];
                gone += c[0];
            } else {
                const uint64_t* c = cnt + h * mid;
                for (size_t k = 0; k < mid; ++k) {
                    tot[k + 1] -= c[k];
                    gone += c[k];
                }
            }
            unref(roots[h].ev);
        }
        if (h == P.sroot_head) return;
        P.dpaths -= gone;
        P.sroot_head = h;
        if (h == n)
            stk_clear(P);
        else
            stk_trim(P, h);
        return;
    }
    for (size_t r = P.sroot_head; r < n; ++r) {
        SRoot& R = roots[r];
        if (R.dead) continue;
        if (R.deadline >= now) {
            if (sorted) break;
            continue;
        }
        R.dead = 1;
        if (kr_) {  // the root alone and every subset of its candidates
            gone += 1ull << R.n;
            if (dprune_ && R.pkind == kNoPrune) --P.dnoprune;
            continue;
        }
        --tot[0];
        ++gone;
        if (stk_nocnt_) {
            const uint64_t runs = stk_runs_after(P, R.pos);
            tot[1] -= runs;
            gone += runs;
            continue;
        }
        const uint64_t* c = cnt + r * mid;
        for (size_t k = 0; k < mid; ++k) {
            tot[k + 1] -= c[k];
            gone += c[k];
        }
    }
    P.dpaths -= gone;
    stk_gc(P);
}

/// stk_nocnt_: the runs of a live root at `pos`, one per event of the middle step after it
/// (each came while the root was live; stk_trim drops only events before every live root).
uint64_t PatternMatcher::Impl::stk_runs_after(const Partition& P, uint64_t pos) const {
    const std::vector<SEntry>& v = P.sstk[0];
    const SEntry* end = v.data() + v.size();
    const SEntry* e = std::upper_bound(v.data() + P.sstk_head[0], end, pos,
                                       [](uint64_t p, const SEntry& x) { return p < x.pos; });
    return static_cast<uint64_t>(end - e);
}

/// Drops every root and event (their references); the partition keeps no stack state.
void PatternMatcher::Impl::stk_clear(Partition& P) {
    for (size_t r = P.sroot_head; r < P.sroots.size(); ++r) {
        if (kr_) roots_unref(P, r);
        unref(P.sroots[r].ev);
    }
    P.sroots.clear();
    P.sroot_base = 0;
    if (kr_) {
        P.dsorted.clear();
        P.dnoprune = 0;
    }
    P.scnt.clear();
    P.sroot_head = 0;
    P.sroots_sorted = true;
    for (size_t k = 0; k < P.sstk.size(); ++k) {
        for (size_t i = P.sstk_head[k]; i < P.sstk[k].size(); ++i) unref(P.sstk[k][i].ev);
        P.sstk[k].clear();
        P.sstk_head[k] = 0;
    }
    std::fill(P.stot.begin(), P.stot.end(), 0);
    P.dpaths = 0;
}

/// Back to plain runs, in creation order, before an event that could reach a run cap.
void PatternMatcher::Impl::stk_materialize(Partition& P) {
    stk_runs(P, [&](Run&& r, const Binding* b) {
        r.seq = next_seq_++;
        push_run(P, std::move(r), b);
    });
    stk_clear(P);
    P.materialized = true;
}

/// Every live run of P as a chain of path nodes (checkpoints, materialisation).
void PatternMatcher::Impl::stk_paths(const Partition& P, std::vector<PathNode>& nodes, std::vector<PathRef>& paths) const {
    if (kr_) {
        roots_paths(P, nodes, paths);
        return;
    }
    std::vector<PathNode> chain;
    for (size_t r = P.sroot_head; r < P.sroots.size(); ++r) {
        const SRoot& R = P.sroots[r];
        if (R.dead) continue;
        chain.assign(1, PathNode{R.pos, R.ts, R.ev, 0});
        stk_paths_from(P, 0, r, R.deadline, chain, nodes, paths);
    }
}

void PatternMatcher::Impl::stk_paths_from(const Partition& P, int32_t s, size_t idx, int64_t deadline,
                                          std::vector<PathNode>& chain, std::vector<PathNode>& nodes,
                                          std::vector<PathRef>& paths) const {
    paths.push_back(PathRef{static_cast<uint32_t>(nodes.size()), static_cast<uint32_t>(chain.size()), deadline});
    nodes.insert(nodes.end(), chain.begin(), chain.end());
    const int32_t last = n_steps_ - 1;
    const uint64_t pos = chain.back().pos;
    if (steps_[s].kleene) {
        const std::vector<SEntry>& v = P.sstk[static_cast<size_t>(s - 1)];
        for (size_t i = idx + 1; i < v.size(); ++i) {
            chain.push_back(PathNode{v[i].pos, v[i].ts, v[i].ev, s});
            stk_paths_from(P, s, i, deadline, chain, nodes, paths);
            chain.pop_back();
        }
    }
    if (s + 1 < last) {
        const std::vector<SEntry>& v = P.sstk[static_cast<size_t>(s)];
        for (size_t i = P.sstk_head[static_cast<size_t>(s)]; i < v.size(); ++i) {
            if (v[i].pos <= pos) continue;
            chain.push_back(PathNode{v[i].pos, v[i].ts, v[i].ev, s + 1});
            stk_paths_from(P, s + 1, i, deadline, chain, nodes, paths);
            chain.pop_back();
        }
    }
}

}  // namespace varpulis::runtime
