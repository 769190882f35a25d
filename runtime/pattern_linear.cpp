#include "runtime/pattern_matcher_impl.hpp"

namespace varpulis::runtime {

// ------------------------------------------------------------ default / strict (Sequence)
void PatternMatcher::Impl::advance_next(Partition& P, std::vector<Row>& out, Arena& scratch) {
    bool strict = strategy_ == Strategy::StrictContiguity;
    auto sink = [&](Row row) { out.push_back(row); };
    size_t n = P.runs.size();
    for (size_t i = 0; i < n; ++i) {
        Run& r = P.runs[i];
        if (r.dead) continue;
        Binding* b = (P.binds.data() + (i * n_aliases_));
        bool took = false, capped = false;
        bool was_complete = r.complete;
        bool pending = trailing_neg_ && r.complete;
        int32_t s_taken = -1;
        const StepInfo& cur = steps_[r.pos];
        if (trans_) {
            take_decided(r, b, trans(r.pos, b, run_flags(r), -1), took, capped, s_taken);
        } else if (cur.kleene && qualifies(r.pos, b, true)) {
            take_again(r, b, took, capped, s_taken);
        } else if (!pending) {
            for (int32_t s = r.pos + 1; s < n_steps_; ++s) {
                const StepInfo& st = steps_[s];
                bool never = r.complete && st.q == Quantifier::Optional;  // trailing `?`
                if (!never && qualifies(s, b, false)) {
                    take(r, b, s, false);
                    took = true;
                    s_taken = s;
                    break;
                }
                if (!st.optional) break;
            }
        }
        if (took) {
            if (after_take(r, b, s_taken, was_complete, scratch, sink) == After::Done) kill(P, r);
        } else if (strict && !capped && !pending) {
            kill(P, r);
        }
    }
    compact(P);
}

void PatternMatcher::Impl::start_next(Partition& P, std::vector<Row>& out, Arena& scratch) {
    auto sink = [&](Row row) { out.push_back(row); };
    int32_t s = start_step();
    if (s < 0) return;
    bool stays = s < last_required_ || trailing_neg_ || steps_[s].alive_after;
    if (stays && P.runs.size() >= kMaxRuns) {
        ++dropped_;
        return;
    }
    Run r = start_run();
    size_t i = push_run(P, std::move(r), empty_binds_.data());
    Run& nr = P.runs[i];
    Binding* b = (P.binds.data() + (i * n_aliases_));
    take(nr, b, s, false);
    if (has_within_) expiry_.push({nr.deadline, partition_id(&P)});
    if (after_take(nr, b, s, false, scratch, sink) == After::Done) {
        kill(P, nr);
        compact(P);
    }
}

// ------------------------------------------------------------ And (default / strict)
void PatternMatcher::Impl::advance_and(Partition& P, std::vector<Row>& out, Arena& scratch) {
    bool strict = strategy_ == Strategy::StrictContiguity;
    size_t n = P.runs.size();
    for (size_t i = 0; i < n; ++i) {
        Run& r = P.runs[i];
        if (r.dead) continue;
        Binding* b = (P.binds.data() + (i * n_aliases_));
        bool took = false;
        if (int32_t k = and_operand(r.taken, b); k >= 0) {
            r.taken |= 1u << k;
            bind(b, steps_[k].alias, cur_ev(), 1);
            r.last_ts = now_;
            took = true;
            if (r.taken == full_mask_) {
                out.push_back(make_row(b, r.t0, r.last_ts, now_, scratch));
                kill(P, r);
            }
        }
        if (!took && strict) kill(P, r);
    }
    compact(P);
}

void PatternMatcher::Impl::start_and(Partition& P, std::vector<Row>& out, Arena& scratch) {
    // skip_till_any_match starts a run per qualifying operand: its own loop.
    const bool any = strategy_ == Strategy::SkipTillAnyMatch;
    for (int32_t k = any ? 0 : and_operand(0, empty_binds_.data()); k >= 0 && k < n_steps_; ++k) {
        if (any && !qualifies(k, empty_binds_.data(), false)) continue;
        Run r = start_run();
        r.taken = 1u << k;
        if (r.taken == full_mask_) {
            tmp_binds_.assign(n_aliases_, Binding{});
            if (steps_[k].alias >= 0) tmp_binds_[steps_[k].alias] = {cur_ev(), 1};
            out.push_back(make_row(tmp_binds_.data(), now_, now_, now_, scratch));
            return;
        }
        if (P.runs.size() >= (strategy_ == Strategy::SkipTillAnyMatch ? kMaxAnyRuns : kMaxRuns)) {
            ++dropped_;
            return;
        }
        size_t i = push_run(P, std::move(r), empty_binds_.data());
        bind((P.binds.data() + (i * n_aliases_)), steps_[k].alias, cur_ev(), 1);
        if (has_within_) expiry_.push({P.runs[i].deadline, partition_id(&P)});
        if (strategy_ != Strategy::SkipTillAnyMatch) return;
    }
}

}  // namespace varpulis::runtime
