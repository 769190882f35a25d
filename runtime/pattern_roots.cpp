#include "runtime/pattern_matcher_impl.hpp"

namespace varpulis::runtime {

// Roots mode of the compact skip_till_any_match form (see KCand): SEQ(T0 as f, T1+ where
// P(f) as r, T2 where Q(f, r)). A run is a root and a non-empty subsequence of the root's
// candidates (the T1 events after it that satisfy P with that root); it completes with an
// event satisfying Q with the root and the subsequence's last candidate. So per root and
// event, P is tested once and Q once per candidate, and the runs themselves — 2^n per root
// with n candidates — are never built: a completion walks the subsets that end at an
// accepted candidate. Roots, expiry, garbage collection and materialisation are the stack
// mode's (pattern_stacks.cpp).

/// Roots mode needs exactly three steps, the middle one Kleene, step 0 reading no alias,
/// step 1 at most step 0's, step 2 at most steps 0 and 1's, and none reading len();
/// setup_dag has checked the rest.
void PatternMatcher::Impl::setup_roots() {
    if (!g_stack_any_match.load(std::memory_order_relaxed)) return;
    if (n_steps_ != 3 || !steps_[1].kleene || steps_[1].q != Quantifier::Plus || steps_[1].own) return;
    auto reads_only = [&](const StepInfo& st, std::initializer_list<int32_t> ok) {
        if (st.reads_len) return false;
        for (const std::vector<int32_t>* l : {&st.reads_full, &st.reads_first})
            for (int32_t a : *l)
                if (a < 0 || std::find(ok.begin(), ok.end(), a) == ok.end()) return false;
        return true;
    };
    const int32_t a0 = steps_[0].alias, a1 = steps_[1].alias;
    if (!reads_only(steps_[0], {}) || !reads_only(steps_[1], {a0}) || !reads_only(steps_[2], {a0, a1})) return;
    kr_ = true;
    stk_b_.assign(n_aliases_, Binding{});
}

/// Root r's transitions on the current event — step 2 with each candidate, step 1 — into
/// kr_scan_ when it has any.
void PatternMatcher::Impl::roots_scan(Partition& P, size_t r, bool t1, bool t2, uint8_t xk, uint64_t& new_paths,
                                      uint64_t& comps) {
    const SRoot& R = P.sroots[r];
    if (R.dead) return;
    const int32_t a0 = steps_[0].alias, a1 = steps_[1].alias;
    Binding* b = stk_b_.data();
    if (a0 >= 0) b[a0] = Binding{R.ev, 1};
    KScan k{static_cast<uint32_t>(r), 0, false};
    k.mid = t1 && enters(1, b);
    // With the ordered-root proof (setup_prune), a root failing step 1 fails step 2 with
    // every candidate.
    const bool skip = !k.mid && t1 && R.pkind != kNoPrune && R.pkind == xk;
    if (t2 && R.n > 0 && !skip) {
        const KCand* c = root_cands(P, r);
        for (uint32_t j = 0; j < R.n; ++j) {
            if (a1 >= 0) b[a1] = Binding{c[j].ev, 1};
            if (enters(2, b)) {
                k.ok |= 1u << j;
                comps += 1ull << j;  // the subsets ending at candidate j
            }
        }
        if (a1 >= 0) b[a1] = Binding{};
    }
    if (k.mid) new_paths += 1ull << R.n;  // every run of the root may take it
    if (k.ok != 0 || k.mid) kr_scan_.push_back(k);
    if (a0 >= 0) b[a0] = Binding{};
}

/// skip_till_any_match advance and start (§9.10) on P in roots form.
void PatternMatcher::Impl::step_roots(Partition& P, std::vector<Row>& out, Arena& scratch) {
    const int32_t sch = cur_row_->schema;
    const bool t1 = sch == steps_[1].type_id, t2 = sch == steps_[2].type_id;
    const int32_t a0 = steps_[0].alias, a1 = steps_[1].alias;
    uint64_t new_paths = 0, comps = 0;
    kr_scan_.clear();
    if ((t1 || t2) && P.sroot_head < P.sroots.size()) {
        const uint8_t xk = dprune_ ? prune_kind_of(cur_row_->slots[dprune_field_]) : kNoPrune;
        if (dprune_ && t1 && xk != kNoPrune && (P.dsorted.empty() || xk == P.dsort_kind)) {
            // Only the sorted roots that pass step 1 and the unsortable ones can move
            // (setup_prune), visited in root order.
            kr_visit_.clear();
            auto [lo, hi] = prune_range(P, cur_row_->slots[dprune_field_]);
            for (size_t i = lo; i < hi; ++i) {
                const uint32_t abs = P.dsorted[i].root;
                if (abs < P.sroot_base + P.sroot_head || abs - P.sroot_base >= P.sroots.size()) continue;
                kr_visit_.push_back(abs - P.sroot_base);
            }
            if (P.dnoprune > 0)
                for (size_t r = P.sroot_head; r < P.sroots.size(); ++r)
                    if (P.sroots[r].pkind == kNoPrune) kr_visit_.push_back(static_cast<uint32_t>(r));
            std::sort(kr_visit_.begin(), kr_visit_.end());
            for (uint32_t r : kr_visit_) roots_scan(P, r, t1, t2, xk, new_paths, comps);
        } else {
            for (size_t r = P.sroot_head; r < P.sroots.size(); ++r) roots_scan(P, r, t1, t2, xk, new_paths, comps);
        }
    }
    const bool start = sch == steps_[0].type_id && enters(0, empty_binds_.data());
    if (P.dpaths + new_paths + (start ? 1 : 0) > kMaxAnyRuns) {
        // A run cap may be reached: plain runs know which runs it drops.
        stk_materialize(P);
        step_any(P, scratch);
        flush_completions(out);
        return;
    }
    if (comps > 0) {
        const uint64_t room = reported_ < kMaxMatchesPerEvent ? kMaxMatchesPerEvent - reported_ : 0;
        stk_left_ = std::min<uint64_t>(comps, room);
        const uint64_t quota = stk_left_;
        for (size_t i = 0; i < kr_scan_.size() && stk_left_ > 0; ++i) {
            const uint32_t ok = kr_scan_[i].ok;
            if (ok == 0) continue;
            const size_t r = kr_scan_[i].root;
            const SRoot& R = P.sroots[r];
            if (a0 >= 0) stk_b_[static_cast<size_t>(a0)] = Binding{R.ev, 1};
            const KCand* c = root_cands(P, r);
            for (uint32_t j = 0; j < R.n && stk_left_ > 0; ++j)
                if (ok >> j) roots_walk(c, j, R.n, ok, 1, R.ts, out, scratch);
        }
        if (a0 >= 0) stk_b_[static_cast<size_t>(a0)] = Binding{};
        if (a1 >= 0) stk_b_[static_cast<size_t>(a1)] = Binding{};
        const uint64_t emitted = quota - stk_left_;
        reported_ += emitted;
        dropped_ += comps - emitted;
    }
    if (new_paths > 0) {
        const uint32_t ev = cur_ev();
        for (const KScan& k : kr_scan_) {
            if (!k.mid) continue;
            SRoot& R = P.sroots[k.root];
            root_cands(P, k.root)[R.n] = KCand{event_no_, ev};
            ref(ev);
            ++R.n;
            roots_track_kind(P, k.root);
        }
        P.dpaths += new_paths;
        next_seq_ += new_paths;
    }
    if (start) stk_start(P);
}

/// Room in P's candidate ring for every live root (the last one just appended): they have
/// consecutive numbers, so distinct slots.
void PatternMatcher::Impl::roots_reserve(Partition& P) {
    const size_t need = P.sroots.size() - P.sroot_head;
    if (need <= P.kring) return;
    size_t ring = std::max<size_t>(16, P.kring * 2);
    while (ring < need) ring *= 2;
    std::vector<KCand> nk(ring * kRootCands);
    for (size_t r = P.sroot_head; r < P.sroots.size(); ++r)
        std::copy_n(root_cands(P, r), P.sroots[r].n, nk.data() + ((P.sroot_base + r) & (ring - 1)) * kRootCands);
    P.kcand.swap(nk);
    P.kring = ring;
}

/// A root stops being skippable once it has a candidate of another kind of x (setup_prune).
void PatternMatcher::Impl::roots_track_kind(Partition& P, size_t r) {
    if (!dprune_ || P.sroots[r].pkind == kNoPrune) return;
    if (prune_kind_of(cur_row_->slots[dprune_field_]) != P.sroots[r].pkind) roots_unprune(P, r);
}

void PatternMatcher::Impl::roots_unprune(Partition& P, size_t r) {
    P.sroots[r].pkind = kNoPrune;
    ++P.dnoprune;
    const uint32_t abs = P.sroot_base + static_cast<uint32_t>(r);
    for (size_t i = 0; i < P.dsorted.size(); ++i)
        if (P.dsorted[i].root == abs) {
            P.dsorted.erase(P.dsorted.begin() + static_cast<std::ptrdiff_t>(i));
            break;
        }
}

/// The subsets of candidates c[0..n) whose last one is accepted (`ok`), that extend the
/// subset of `count` candidates ending at i, then that subset itself: §9.10 order (a longer
/// tuple's next position comes before the completing event's).
void PatternMatcher::Impl::roots_walk(const KCand* c, uint32_t i, uint32_t n, uint32_t ok, uint32_t count, int64_t t0,
                                      std::vector<Row>& out, Arena& scratch) {
    for (uint32_t j = i + 1; j < n && stk_left_ > 0; ++j)
        if (ok >> j) roots_walk(c, j, n, ok, count + 1, t0, out, scratch);
    if ((ok >> i & 1) && stk_left_ > 0) {
        if (steps_[1].alias >= 0) stk_b_[static_cast<size_t>(steps_[1].alias)] = Binding{c[i].ev, count};
        out.push_back(make_row(stk_b_.data(), t0, now_, now_, scratch, steps_[2].alias));
        --stk_left_;
    }
}

/// Every live run of P (the root alone, and the root with each non-empty subset of its
/// candidates) as a chain of path nodes.
void PatternMatcher::Impl::roots_paths(const Partition& P, std::vector<PathNode>& nodes, std::vector<PathRef>& paths) const {
    for (size_t r = P.sroot_head; r < P.sroots.size(); ++r) {
        const SRoot& R = P.sroots[r];
        if (R.dead) continue;
        const KCand* c = root_cands(P, r);
        for (uint32_t mask = 0; mask < (1u << R.n); ++mask) {
            PathRef pr{static_cast<uint32_t>(nodes.size()), 0, R.deadline};
            nodes.push_back(PathNode{R.pos, R.ts, R.ev, 0});
            for (uint32_t j = 0; j < R.n; ++j)
                if (mask >> j & 1) nodes.push_back(PathNode{c[j].pos, evs_[c[j].ev].ts, c[j].ev, 1});
            pr.len = static_cast<uint32_t>(nodes.size()) - pr.off;
            paths.push_back(pr);
        }
    }
}

}  // namespace varpulis::runtime
