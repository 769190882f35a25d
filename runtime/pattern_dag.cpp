#include "runtime/pattern_matcher_impl.hpp"

namespace varpulis::runtime {

/// The compact mode covers plain linear sequences: every step `One` or a middle `+`, no
/// negation, aliases bound by one step each and read (never their `len`) only by later or
/// own steps; the shape is ir::nfa_compact_any_match, which codegen shares. Anything else keeps
/// plain runs.
void PatternMatcher::Impl::setup_dag() {
    if (!g_compact_any_match.load(std::memory_order_relaxed)) return;
    if (!ir::nfa_compact_any_match(nfa_)) return;
    std::vector<std::vector<char>> reads(n_steps_, std::vector<char>(n_aliases_, 0));
    for (int32_t s = 0; s < n_steps_; ++s) {
        bool len = false;
        if (steps_[s].full) alias_reads(*steps_[s].full, reads[s], len);
        if (steps_[s].first) alias_reads(*steps_[s].first, reads[s], len);
    }
    dmask_.assign(n_steps_, std::vector<char>(n_aliases_, 0));
    for (int32_t s = 0; s < n_steps_; ++s) {
        for (int32_t t = s; t < n_steps_; ++t)
            for (size_t a = 0; a < n_aliases_; ++a) dmask_[s][a] |= reads[t][a];
        if (steps_[s].alias >= 0) dmask_[s][steps_[s].alias] = 1;
    }
    dkeep_.assign(static_cast<size_t>(n_steps_), {});
    for (int32_t s = 0; s < n_steps_; ++s)
        for (size_t a = 0; a < n_aliases_; ++a)
            if (dmask_[s][a] && static_cast<int32_t>(a) != steps_[s].alias) dkeep_[s].push_back(static_cast<int32_t>(a));
    // Steps whose nodes an event of each schema may advance (its type is their next step's,
    // or their own Kleene step's).
    dwants_.assign(plan_.schemas.size(), 0);
    for (size_t sch = 0; sch < dwants_.size(); ++sch) {
        uint64_t w = 0;
        for (int32_t s = 0; s + 1 < n_steps_ && s < 64; ++s)
            if ((steps_[s].kleene && steps_[s].type_id == static_cast<int32_t>(sch)) ||
                steps_[s + 1].type_id == static_cast<int32_t>(sch))
                w |= 1ull << s;
        dwants_[sch] = n_steps_ > 64 ? ~0ull : w;
    }
    dag_ = true;
    dmemo0_.resize(static_cast<size_t>(n_steps_) * 2 + 2);
    // What the node scan tests per step (see DScan).
    dscan_.assign(static_cast<size_t>(n_steps_), DScan{});
    for (int32_t s = 0; s + 1 < n_steps_; ++s) {
        DScan& D = dscan_[static_cast<size_t>(s)];
        // Another iteration of a Kleene node: its own alias is bound, so the whole predicate.
        const StepInfo& k = steps_[s];
        if (!k.kleene) {
            D.again = DScan::kNever;
        } else if (!k.full) {
            D.again = DScan::kAlways;
        } else if (k.flat_full_alias) {
            D.again = DScan::kFlat;
            D.again_pred = k.flat_full_alias;
        }
        // Entering step s + 1: the first-event variant of an own-alias Kleene step.
        const StepInfo& x = steps_[s + 1];
        const Expr* pred = x.own ? x.first : x.full;
        if (!pred) {
            D.next = DScan::kAlways;
        } else if (const PatternPred* fp = x.own ? x.flat_first_alias : x.flat_full_alias) {
            D.next = DScan::kFlat;
            D.next_pred = fp;
        }
    }
    if (n_steps_ > 2 && dscan_[0].next == DScan::kFlat && dscan_[1].again == DScan::kFlat &&
        dscan_[0].next_pred == dscan_[1].again_pred && steps_[0].alias >= 0) {
        dshare_root_ = true;
        for (int32_t a : dscan_[1].again_pred->aliases()) dshare_root_ &= a == steps_[0].alias;
    }
    setup_prune();
    setup_stacks();
    if (!stk_) setup_roots();
}

/// Whether step_dag may skip a root's Kleene nodes when the root fails (dprune_): in
/// SEQ(T as first, T+ where x > first.y as rising, T where x > rising.x ... as last) every
/// node of a root bound `rising` by `rising.x > first.y` (entering or again), so an event
/// with not `x > first.y` has x <= first.y < rising.x and fails `x > rising.x` at every
/// node of that root, which also cannot iterate (the same predicate failed). This holds
/// when the compared values are all ints or all floats (a NaN x fails both; mixed kinds
/// go through binary_op, where it is not proved), so roots record the kind of first.y and
/// whether every `rising.x` since had the same (DNode::prune_kind). `>=` and the mirrored
/// `<`, `<=` work alike, as long as both comparisons point the same way.
inline void PatternMatcher::Impl::setup_prune() {
    using frontend::BinaryOp;
    if (!dshare_root_ || n_steps_ != 3 || !steps_[1].kleene || steps_[1].own || steps_[1].alias < 0) return;
    if (dscan_[1].next != DScan::kFlat || steps_[2].type_id != steps_[1].type_id) return;
    const PatternPred* p1 = dscan_[1].again_pred;
    PatternPred::FieldAliasCmp c1;
    if (p1->size() != 1 || !p1->field_alias_cmp(0, c1) || c1.alias != steps_[0].alias) return;
    if (c1.alias_schema >= 0 && c1.alias_schema != steps_[0].type_id) return;
    auto up = [](BinaryOp op) { return op == BinaryOp::Gt || op == BinaryOp::Ge; };
    auto down = [](BinaryOp op) { return op == BinaryOp::Lt || op == BinaryOp::Le; };
    if (!up(c1.op) && !down(c1.op)) return;
    const PatternPred* p2 = dscan_[1].next_pred;
    for (size_t i = 0; i < p2->size(); ++i) {
        PatternPred::FieldAliasCmp c2;
        if (!p2->field_alias_cmp(i, c2) || c2.alias != steps_[1].alias) continue;
        if (c2.alias_schema >= 0 && c2.alias_schema != steps_[1].type_id) continue;
        if (c2.field_slot != c1.field_slot || c2.alias_slot != c1.field_slot) continue;
        if (!(up(c1.op) && up(c2.op)) && !(down(c1.op) && down(c2.op))) continue;
        dprune_ = true;
        dprune_up_ = up(c1.op);
        dprune_eq_ = c1.op == BinaryOp::Ge || c1.op == BinaryOp::Le;
        dprune_field_ = c1.field_slot;
        dprune_first_ = c1.alias_slot;
        return;
    }
}

/// A root stops being prunable (a Kleene node of another kind of x).
inline void PatternMatcher::Impl::unprune(Partition& P, uint32_t root) {
    DNode& R = P.dnodes[root];
    if (R.prune_kind == kNoPrune) return;
    R.prune_kind = kNoPrune;
    ++P.dnoprune;
    for (size_t i = 0; i < P.dsorted.size(); ++i)
        if (P.dsorted[i].root == root) {
            P.dsorted.erase(P.dsorted.begin() + static_cast<std::ptrdiff_t>(i));
            break;
        }
}

[[gnu::always_inline]] inline bool PatternMatcher::Impl::scan_test(DScan::Kind k, const PatternPred* fp, int32_t s, const Binding* b, bool again, int32_t node_step) {
    switch (k) {
        case DScan::kFlat: return cur_row_->schema == steps_[s].type_id && flat_verdict(*fp, s, b, again);
        case DScan::kAlways: return cur_row_->schema == steps_[s].type_id;
        case DScan::kNever: return false;
        default: return dag_qualifies(s, b, again, node_step);
    }
}

inline bool PatternMatcher::Impl::dag_qualifies(int32_t s, const Binding* b, bool again, int32_t node_step) {
    const StepInfo& st = steps_[s];
    if (cur_row_->schema != st.type_id) return false;
    const bool full = !st.own || (again && b[st.alias].ev != kNone);
    // A flat predicate reading aliases is cheaper to test per node than to look up in the
    // verdict cache below (which rarely hits when every node binds other events).
    if (const PatternPred* fp = full ? st.flat_full_alias : st.flat_first_alias) return flat_verdict(*fp, s, b, again);
    const Expr* pred = full ? st.full : st.first;
    if (!pred) return true;
    if (full ? st.has_flat_full : st.has_flat_first) {  // reads no alias: one verdict per event
        DMemo& m = dmemo0_[static_cast<size_t>(s) * 2 + (full ? 1 : 0)];
        if (m.stamp != event_no_) {
            m.stamp = event_no_;
            m.result = flat_verdict(full ? st.flat_full : st.flat_first, s, b, again);
        }
        return m.result;
    }
    const std::vector<int32_t>& rl = full ? st.reads_full : st.reads_first;
    if (rl.size() > 2) return qualifies(s, b, again);
    // A predicate reading a Kleene node's own event has one verdict per node: no caching
    // (a plain step's event is shared by the nodes that follow it).
    int32_t own_alias = steps_[node_step].kleene ? steps_[node_step].alias : -1;
    for (int32_t a : rl)
        if (a == own_alias) return qualifies(s, b, again);
    uint32_t variant = static_cast<uint32_t>(s) * 2 + (pred == st.full ? 1 : 0);
    if (rl.empty()) {  // one verdict per event
        if (dmemo0_.size() <= variant) dmemo0_.resize(static_cast<size_t>(n_steps_) * 2 + 2);
        DMemo& m = dmemo0_[variant];
        if (m.stamp != event_no_) m = DMemo{event_no_, variant, kNone, kNone, qualifies(s, b, again)};
        return m.result;
    }
    uint32_t e0 = rl.size() > 0 ? b[rl[0]].ev : kNone;
    uint32_t e1 = rl.size() > 1 ? b[rl[1]].ev : kNone;
    if (dmemo_.empty()) dmemo_.resize(1024);
    uint64_t h = mix64((static_cast<uint64_t>(variant) << 40) ^ (static_cast<uint64_t>(e0) << 20) ^ e1);
    DMemo& m = dmemo_[h & (dmemo_.size() - 1)];
    if (m.stamp == event_no_ && m.variant == variant && m.e0 == e0 && m.e1 == e1) return m.result;
    bool r = qualifies(s, b, again);
    m = DMemo{event_no_, variant, e0, e1, r};
    return r;
}

/// Adds node `pred`'s runs to a node of `step` for the current event (found by state
/// among this event's new nodes, or created).
inline void PatternMatcher::Impl::dag_add(Partition& P, uint32_t pred, int32_t step) {
    const size_t na = n_aliases_;
    const std::vector<int32_t>& keep = dkeep_[static_cast<size_t>(step)];
    if (dbind_tmp_.size() != na) dbind_tmp_.resize(na);
    std::fill_n(dbind_tmp_.data(), na, Binding{});
    const Binding* pb = P.dbinds.data() + static_cast<size_t>(pred) * na;
    for (int32_t a : keep) dbind_tmp_[static_cast<size_t>(a)] = pb[a];
    const uint32_t ev = cur_ev();
    int32_t al = steps_[step].alias;
    if (al >= 0) dbind_tmp_[al] = Binding{ev, 1};
    uint32_t root = P.dnodes[pred].root;
    // The other aliases are unbound in every node of `step`: they add nothing to the hash.
    uint64_t h = mix64((static_cast<uint64_t>(root) << 8) ^ static_cast<uint64_t>(step));
    for (int32_t a : keep) h = mix64(h ^ dbind_tmp_[static_cast<size_t>(a)].ev);
    size_t tmask = dtable_.size() - 1;
    size_t i = h & tmask;
    uint32_t node = kNone;
    for (;; i = (i + 1) & tmask) {
        uint32_t c = dtable_[i];
        if (c == kNone) break;
        const DNode& C = P.dnodes[c];
        if (C.root != root || C.step != step) continue;
        const Binding* cb = P.dbinds.data() + static_cast<size_t>(c) * na;
        bool same = true;
        for (size_t a = 0; a < na && same; ++a) same = cb[a].ev == dbind_tmp_[a].ev;
        if (same) {
            node = c;
            break;
        }
    }
    uint64_t k = P.dnodes[pred].npaths;
    if (node == kNone) {
        node = static_cast<uint32_t>(P.dnodes.size());
        DNode d;
        d.pos = event_no_;
        d.ts = now_;
        d.ev = ev;
        ref(d.ev);
        d.root = root;
        d.step = step;
        P.dnodes.push_back(d);
        for (size_t a = 0; a < na; ++a) P.dbinds.push_back(dbind_tmp_[a]);
        DNode& R = P.dnodes[root];
        ++R.nnodes;
        if (dprune_) {  // (only the pruned scan walks the nodes root by root)
            P.dnodes[R.tail].sib = node;
            R.tail = node;
            if (step == 1 && prune_kind_of(cur_row_->slots[dprune_field_]) != R.prune_kind) unprune(P, root);
        }
        ++P.dstep_n[static_cast<size_t>(step)];
        dtable_[i] = node;
    }
    DNode& N = P.dnodes[node];
    P.dedges.push_back(DEdge{pred, N.pred_head});
    N.pred_head = static_cast<uint32_t>(P.dedges.size() - 1);
    N.npaths += k;
    P.dnodes[root].root_paths += k;
    P.dpaths += k;
    next_seq_ += k;
}

/// §9.10 order of two completions (paths of the same event): positions, then steps.
inline bool PatternMatcher::Impl::dag_path_less(const Partition& P, const DComp& x, const DComp& y) const {
    uint32_t n = std::min(x.len, y.len);
    for (uint32_t i = 0; i < n; ++i) {
        const DNode& a = P.dnodes[dpath_buf_[x.off + i]];
        const DNode& b = P.dnodes[dpath_buf_[y.off + i]];
        if (a.pos != b.pos) return a.pos < b.pos;
        if (a.step != b.step) return a.step < b.step;
    }
    return x.len > y.len;  // the completing event comes after every node: extensions first
}

/// Back to plain runs, in creation order, before an event that could reach a run cap.
inline void PatternMatcher::Impl::dag_materialize(Partition& P) {
    dag_runs(P, [&](Run&& r, const Binding* b) {
        r.seq = next_seq_++;
        push_run(P, std::move(r), b);
    });
    dag_clear(P);
    P.materialized = true;
}

void PatternMatcher::Impl::dag_compact(Partition& P) {
    const size_t na = n_aliases_;
    dremap_.assign(P.dnodes.size(), kNone);
    std::vector<DNode>& nodes = dc_nodes_;
    std::vector<Binding>& binds = dc_binds_;
    std::vector<DEdge>& edges = dc_edges_;
    nodes.clear();
    binds.clear();
    edges.clear();
    std::fill(P.dstep_n.begin(), P.dstep_n.end(), 0u);
    for (uint32_t n = 0; n < P.dnodes.size(); ++n) {
        const DNode& N = P.dnodes[n];
        if (P.dnodes[N.root].dead) {
            unref(N.ev);
            continue;
        }
        ++P.dstep_n[static_cast<size_t>(N.step)];
        dremap_[n] = static_cast<uint32_t>(nodes.size());
        nodes.push_back(N);
        uint32_t m = static_cast<uint32_t>(nodes.size() - 1);
        DNode& M = nodes.back();
        M.root = dremap_[N.root];
        M.pred_head = kNone;
        M.sib = kNone;
        if (M.root == m) {
            M.tail = m;
        } else if (dprune_) {
            DNode& R = nodes[M.root];
            nodes[R.tail].sib = m;
            R.tail = m;
        }
        for (size_t a = 0; a < na; ++a) binds.push_back(P.dbinds[n * na + a]);
        // Edge order does not matter (completions are sorted), so prepend.
        for (uint32_t e = N.pred_head; e != kNone; e = P.dedges[e].next) {
            edges.push_back(DEdge{dremap_[P.dedges[e].pred], M.pred_head});
            M.pred_head = static_cast<uint32_t>(edges.size() - 1);
        }
    }
    size_t w = 0;
    for (uint32_t r : P.droots)
        if (dremap_[r] != kNone) P.droots[w++] = dremap_[r];
    P.droots.resize(w);
    P.dexp_from = 0;
    if (dprune_) {
        w = 0;
        for (const Partition::DSorted& e : P.dsorted)
            if (dremap_[e.root] != kNone) P.dsorted[w++] = Partition::DSorted{e.key, dremap_[e.root]};
        P.dsorted.resize(w);
        P.dnoprune = 0;
        for (uint32_t r : P.droots) P.dnoprune += nodes[r].prune_kind == kNoPrune;
    }
    P.dnodes.swap(nodes);
    P.dbinds.swap(binds);
    P.dedges.swap(edges);
    P.ddead = 0;
}

/// step_dag's scan of node n: its transitions on the current event go to dtrans_.
[[gnu::always_inline]] inline void PatternMatcher::Impl::dag_visit(const Partition& P, uint32_t n, DScanState& sc) {
    const DNode& N = P.dnodes[n];
    if (N.step < 64 && !(sc.wants >> N.step & 1)) return;
    if (P.dnodes[N.root].dead) return;
    const Binding* b = P.dbinds.data() + static_cast<size_t>(n) * n_aliases_;
    int32_t s = N.step;
    const DScan& D = dscan_[static_cast<size_t>(s)];
    if (D.again != DScan::kNever) {
        bool ok;
        // The root, earlier in the scan, already tested the same predicate on the same binding.
        if (uint64_t v = dshare_root_ && s == 1 ? dverdict_[N.root] : 0; (v >> 1) == event_no_)
            ok = (v & 1) != 0;
        else
            ok = scan_test(D.again, D.again_pred, s, b, true, s);
        if (ok) {
            dtrans_.push_back({n, s});
            sc.new_paths += N.npaths;
        }
    }
    bool next = scan_test(D.next, D.next_pred, s + 1, b, false, s);
    if (dshare_root_ && s == 0) dverdict_[n] = event_no_ << 1 | (next ? 1 : 0);
    if (next) {
        dtrans_.push_back({n, s + 1});
        (s + 1 == n_steps_ - 1 ? sc.comps : sc.new_paths) += P.dnodes[n].npaths;
    }
}

/// skip_till_any_match advance and start (§9.10) on P in compact form.
void PatternMatcher::Impl::step_dag(Partition& P, std::vector<Row>& out, Arena& scratch) {
    const size_t na = n_aliases_;
    const int32_t last = n_steps_ - 1;
    dtrans_.clear();
    const uint32_t nn = static_cast<uint32_t>(P.dnodes.size());
    // Steps whose nodes the event can advance (its type is their next or Kleene step's).
    const int32_t sch = cur_row_->schema;
    uint64_t wants = sch >= 0 && static_cast<size_t>(sch) < dwants_.size() ? dwants_[static_cast<size_t>(sch)] : 0;
    if (n_steps_ > 64) wants = ~0ull;
    // The scan skips the nodes of step s when the partition has none, or when step s + 1's
    // predicate reads no alias (one verdict for the event) and fails: such nodes cannot
    // advance (unless by their own Kleene step). Same verdicts as per node; the order of
    // the transitions is unchanged.
    for (int32_t s = 0; s < last && s < 64 && wants; ++s) {
        if (!(wants >> s & 1)) continue;
        if (P.dstep_n.empty() || P.dstep_n[static_cast<size_t>(s)] == 0) {  // no node to advance
            wants &= ~(1ull << s);
            continue;
        }
        if (steps_[s].kleene && steps_[s].type_id == sch) continue;
        const StepInfo& nx = steps_[s + 1];
        if (nx.own || !nx.reads_full.empty() || nx.reads_len) continue;
        if (!dag_qualifies(s + 1, empty_binds_.data(), false, s)) wants &= ~(1ull << s);
    }
    if (dshare_root_ && dverdict_.size() < nn) dverdict_.resize(nn, 0);
    DScanState sc;
    sc.wants = wants;
    // The kind of x a root must have recorded for its Kleene nodes to be skipped when it
    // fails (setup_prune); kNoPrune: none can be.
    uint8_t prune = kNoPrune;
    if (dprune_ && (wants & 1) && sch == steps_[1].type_id) prune = prune_kind_of(cur_row_->slots[dprune_field_]);
    if (prune != kNoPrune && (P.dsorted.empty() || prune == P.dsort_kind)) {
        // Root by root, each followed by its nodes: the sorted roots that pass, then the
        // unsorted ones. (The order of the transitions only decides the numbering of new
        // nodes: completions are sorted, and merges go by state.)
        auto visit_root = [&](uint32_t r) {
            if (P.dnodes[r].dead) return;
            dag_visit(P, r, sc);
            for (uint32_t n = P.dnodes[r].sib; n != kNone; n = P.dnodes[n].sib) dag_visit(P, n, sc);
        };
        auto [lo, hi] = prune_range(P, cur_row_->slots[dprune_field_]);
        for (size_t i = lo; i < hi; ++i) visit_root(P.dsorted[i].root);
        if (P.dnoprune > 0)
            for (size_t i = P.dexp_from; i < P.droots.size(); ++i)
                if (P.dnodes[P.droots[i]].prune_kind == kNoPrune) visit_root(P.droots[i]);
    } else {
        for (uint32_t n = 0; n < nn && sc.wants; ++n) dag_visit(P, n, sc);
    }
    bool start = qualifies(0, empty_binds_.data(), false);
    if (P.dpaths + sc.new_paths + (start ? 1 : 0) > kMaxAnyRuns) {
        // A run cap may be reached: plain runs know which runs it drops.
        dag_materialize(P);
        step_any(P, scratch);
        flush_completions(out);
        return;
    }
    if (sc.comps > 0) {
        dpath_buf_.clear();
        dcomps_.clear();
        std::vector<Binding>& b = dbind_tmp_;
        b.resize(na);
        for (const DTrans& t : dtrans_) {
            if (t.step != last) continue;
            dag_paths_to(P, t.node, [&](uint32_t off, uint32_t len) {
                const uint32_t* path = dpath_buf_.data() + off;
                dag_path_binds(P, path, len, b.data());
                if (steps_[last].alias >= 0) b[steps_[last].alias] = Binding{cur_ev(), 1};
                dcomps_.push_back({off, len, make_row(b.data(), P.dnodes[path[0]].ts, now_, now_, scratch)});
            });
        }
        dorder_.resize(dcomps_.size());
        for (uint32_t i = 0; i < dorder_.size(); ++i) dorder_[i] = i;
        // Distinct runs have distinct paths, so the order is total (no stable sort needed).
        if (dorder_.size() > 1)
            std::sort(dorder_.begin(), dorder_.end(),
                      [&](uint32_t x, uint32_t y) { return dag_path_less(P, dcomps_[x], dcomps_[y]); });
        for (uint32_t i : dorder_) {
            if (reported_ >= kMaxMatchesPerEvent) {
                ++dropped_;
                continue;
            }
            out.push_back(dcomps_[i].row);
            ++reported_;
        }
    }
    bool grows = start;
    for (const DTrans& t : dtrans_) grows |= t.step != last;
    if (!grows) return;
    size_t want = 16;
    while (want < dtrans_.size() * 2 + 2) want *= 2;
    if (dtable_.size() == want)
        std::fill(dtable_.begin(), dtable_.end(), kNone);
    else
        dtable_.assign(want, kNone);
    for (const DTrans& t : dtrans_)
        if (t.step != last) dag_add(P, t.node, t.step);
    if (start) {
        uint32_t n = static_cast<uint32_t>(P.dnodes.size());
        DNode d;
        d.pos = event_no_;
        d.ts = now_;
        d.deadline = deadline_now();
        d.npaths = 1;
        d.root_paths = 1;
        d.ev = cur_ev();
        ref(d.ev);
        d.root = n;
        d.nnodes = 1;
        d.tail = n;
        d.step = 0;
        if (dprune_) d.prune_kind = sort_root(P, n);
        if (!P.droots.empty() && d.deadline < P.dnodes[P.droots.back()].deadline) P.droots_sorted = false;
        P.dnodes.push_back(d);
        P.droots.push_back(n);
        if (P.dstep_n.empty()) P.dstep_n.assign(static_cast<size_t>(n_steps_), 0);
        ++P.dstep_n[0];
        P.dbinds.resize(P.dbinds.size() + na, Binding{});
        if (steps_[0].alias >= 0) P.dbinds[static_cast<size_t>(n) * na + steps_[0].alias] = Binding{d.ev, 1};
        ++P.dpaths;
        ++next_seq_;
        if (has_within_) expiry_.push({d.deadline, partition_id(&P)});
    }
}

}  // namespace varpulis::runtime
