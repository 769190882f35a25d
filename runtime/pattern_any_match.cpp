#include "runtime/pattern_matcher_impl.hpp"

namespace varpulis::runtime {

// ------------------------------------------------------------ skip_till_any_match
/// A copy of run i (new references), taking the current event for step s.
inline void PatternMatcher::Impl::branch(Partition& P, size_t i, int32_t s, bool again, std::vector<Run>& new_runs,
            std::vector<Binding>& new_binds, Arena& scratch) {
    Run nr = P.runs[i];  // copies positions
    nr.seq = next_seq_++;
    nr.deferred.clear();
    tmp_binds_.assign((P.binds.data() + (i * n_aliases_)), (P.binds.data() + (i * n_aliases_)) + n_aliases_);
    for (size_t a = 0; a < n_aliases_; ++a)
        if (tmp_binds_[a].ev != kNone) ref(tmp_binds_[a].ev);
    bool was_complete = nr.complete;
    take(nr, tmp_binds_.data(), s, again);
    nr.positions.push_back(event_no_);
    auto sink = [&](Row row) { completions_.push_back({nr.positions, row}); };
    After st = after_take(nr, tmp_binds_.data(), s, was_complete, scratch, sink);
    bool keep = st == After::Live;
    if (keep && P.runs.size() + new_runs.size() >= kMaxAnyRuns) {
        ++dropped_;
        keep = false;
    }
    if (!keep) {
        for (size_t a = 0; a < n_aliases_; ++a)
            if (tmp_binds_[a].ev != kNone) unref(tmp_binds_[a].ev);
        return;
    }
    new_runs.push_back(std::move(nr));
    new_binds.insert(new_binds.end(), tmp_binds_.begin(), tmp_binds_.end());
}

inline void PatternMatcher::Impl::append_new_runs(Partition& P) {
    for (size_t k = 0; k < new_runs_.size(); ++k) {
        P.runs.push_back(std::move(new_runs_[k]));
        P.binds.insert(P.binds.end(), new_binds_.begin() + k * n_aliases_,
                       new_binds_.begin() + (k + 1) * n_aliases_);
    }
    new_runs_.clear();
    new_binds_.clear();
}

void PatternMatcher::Impl::step_any(Partition& P, Arena& scratch) {
    completions_.clear();
    new_runs_.clear();
    new_binds_.clear();
    size_t n = P.runs.size();
    for (size_t i = 0; i < n; ++i) {
        if (P.runs[i].dead) continue;
        if (form_ == ir::Nfa::Form::And) {
            for (int32_t k = 0; k < n_steps_; ++k) {
                if (P.runs[i].taken & (1u << k)) continue;
                if (!qualifies(k, (P.binds.data() + (i * n_aliases_)), false)) continue;
                branch_and(P, i, k, scratch);
            }
            continue;
        }
        int32_t pos = P.runs[i].pos;
        if (trans_mask_) {
            // One call for every transition the run takes, in the order below.
            const Binding* b = P.binds.data() + (i * n_aliases_);
            auto m = static_cast<uint32_t>(trans(pos, b, kSeqMask | run_flags(P.runs[i]), -1));
            if (m & 1u) branch(P, i, pos, true, new_runs_, new_binds_, scratch);
            for (m &= ~1u; m != 0; m &= m - 1)
                branch(P, i, std::countr_zero(m) - 1, false, new_runs_, new_binds_, scratch);
            continue;
        }
        bool complete = P.runs[i].complete;
        bool pending = trailing_neg_ && complete;
        if (steps_[pos].kleene && qualifies(pos, (P.binds.data() + (i * n_aliases_)), true))
            branch(P, i, pos, true, new_runs_, new_binds_, scratch);
        if (pending) continue;
        for (int32_t s = pos + 1; s < n_steps_; ++s) {
            const StepInfo& st = steps_[s];
            bool never = complete && st.q == Quantifier::Optional;
            if (!never && qualifies(s, (P.binds.data() + (i * n_aliases_)), false))
                branch(P, i, s, false, new_runs_, new_binds_, scratch);
            if (!st.optional) break;
        }
    }
    append_new_runs(P);
    // Start: every step reachable from the start.
    if (form_ == ir::Nfa::Form::And) {
        start_and_any(P, scratch);
    } else {
        for (int32_t s = 0; s < n_start_; ++s) {
            if (qualifies(s, empty_binds_.data(), false)) {
                Run r = start_run();
                r.positions.push_back(event_no_);
                Run nr = r;
                tmp_binds_.assign(n_aliases_, Binding{});
                take(nr, tmp_binds_.data(), s, false);
                auto sink = [&](Row row) { completions_.push_back({nr.positions, row}); };
                After st = after_take(nr, tmp_binds_.data(), s, false, scratch, sink);
                bool keep = st == After::Live;
                if (keep && P.runs.size() >= kMaxAnyRuns) {
                    ++dropped_;
                    keep = false;
                }
                if (keep) {
                    if (has_within_) expiry_.push({nr.deadline, partition_id(&P)});
                    P.runs.push_back(std::move(nr));
                    P.binds.insert(P.binds.end(), tmp_binds_.begin(), tmp_binds_.end());
                } else {
                    for (auto& x : tmp_binds_)
                        if (x.ev != kNone) unref(x.ev);
                }
            }
            if (!steps_[s].optional) break;
        }
    }
    compact(P);
}

inline void PatternMatcher::Impl::branch_and(Partition& P, size_t i, int32_t k, Arena& scratch) {
    Run nr = P.runs[i];
    nr.seq = next_seq_++;
    tmp_binds_.assign((P.binds.data() + (i * n_aliases_)), (P.binds.data() + (i * n_aliases_)) + n_aliases_);
    for (auto& x : tmp_binds_)
        if (x.ev != kNone) ref(x.ev);
    nr.taken |= 1u << k;
    bind(tmp_binds_.data(), steps_[k].alias, cur_ev(), 1);
    nr.last_ts = now_;
    nr.positions.push_back(event_no_);
    bool keep = true;
    if (nr.taken == full_mask_) {
        completions_.push_back({nr.positions, make_row(tmp_binds_.data(), nr.t0, nr.last_ts, now_, scratch)});
        keep = false;
    } else if (P.runs.size() + new_runs_.size() >= kMaxAnyRuns) {
        ++dropped_;
        keep = false;
    }
    if (!keep) {
        for (auto& x : tmp_binds_)
            if (x.ev != kNone) unref(x.ev);
        return;
    }
    new_runs_.push_back(std::move(nr));
    new_binds_.insert(new_binds_.end(), tmp_binds_.begin(), tmp_binds_.end());
}

inline void PatternMatcher::Impl::start_and_any(Partition& P, Arena& scratch) {
    for (int32_t k = 0; k < n_steps_; ++k) {
        if (!qualifies(k, empty_binds_.data(), false)) continue;
        Run r = start_run();
        r.taken = 1u << k;
        r.positions.push_back(event_no_);
        tmp_binds_.assign(n_aliases_, Binding{});
        if (steps_[k].alias >= 0) tmp_binds_[steps_[k].alias] = {cur_ev(), 1};
        if (r.taken == full_mask_) {
            completions_.push_back({r.positions, make_row(tmp_binds_.data(), now_, now_, now_, scratch)});
            continue;
        }
        if (P.runs.size() >= kMaxAnyRuns) {
            ++dropped_;
            continue;
        }
        if (has_within_) expiry_.push({r.deadline, partition_id(&P)});
        push_run(P, std::move(r), tmp_binds_.data());
    }
}

void PatternMatcher::Impl::flush_completions(std::vector<Row>& out) {
    std::stable_sort(completions_.begin(), completions_.end(),
                     [](const Completion& x, const Completion& y) { return x.positions < y.positions; });
    for (const auto& c : completions_) {
        if (reported_ >= kMaxMatchesPerEvent) {
            ++dropped_;
            continue;
        }
        out.push_back(c.row);
        ++reported_;
    }
    completions_.clear();
}

}  // namespace varpulis::runtime
