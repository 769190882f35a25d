#include "runtime/pattern_matcher_impl.hpp"

namespace varpulis::runtime {

PatternMatcher::Impl::Impl(Runtime& rt, const ir::StreamPlan& stream, const ir::Operator& op)
    : rt_(rt),
      plan_(*rt.plan),
      nfa_owner_(op.nfa ? op.nfa : std::make_shared<ir::Nfa>(op.trend ? op.trend->nfa : ir::Nfa{})),
      nfa_(*nfa_owner_),
      form_(nfa_.form),
      strategy_(nfa_.strategy),
      out_schema_(op.out) {
    if (out_schema_ >= 0) origins_ = plan_.schemas[out_schema_].origins;
    for (const ir::FieldOrigin& o : origins_) {
        OutField f;
        bool has = !o.candidates.empty();
        int32_t a = has ? o.candidates[0].first : -1;
        bool alias_ok = has && a >= 0 && static_cast<size_t>(a) < nfa_.aliases.size();
        switch (o.from) {
            case ir::FieldOrigin::From::StreamName: f.kind = OutField::kStreamName; break;
            case ir::FieldOrigin::From::MatchDuration: f.kind = OutField::kDuration; break;
            case ir::FieldOrigin::From::Alias:
                if (alias_ok && o.candidates[0].second >= 0) {
                    f.kind = OutField::kAliasSlot;
                    f.alias = a;
                    f.slot = static_cast<uint32_t>(o.candidates[0].second);
                }
                break;
            case ir::FieldOrigin::From::AliasCount:
                if (alias_ok) {
                    f.kind = OutField::kAliasCount;
                    f.alias = a;
                }
                break;
            default: break;
        }
        out_fields_.push_back(f);
    }
    // make_row's plan: alias fields grouped by alias (one lookup of the event per alias).
    for (size_t a = 0; a < nfa_.aliases.size(); ++a) {
        AliasCopy g{static_cast<int32_t>(a), static_cast<uint32_t>(mr_slots_.size()), 0};
        for (size_t i = 0; i < out_fields_.size(); ++i)
            if (out_fields_[i].kind == OutField::kAliasSlot && out_fields_[i].alias == static_cast<int32_t>(a))
                mr_slots_.push_back({static_cast<uint32_t>(i), out_fields_[i].slot});
        g.end = static_cast<uint32_t>(mr_slots_.size());
        mr_group_.push_back(g.end > g.begin ? static_cast<int32_t>(mr_copies_.size()) : -1);
        if (g.end > g.begin) mr_copies_.push_back(g);
    }
    for (size_t i = 0; i < out_fields_.size(); ++i)
        if (out_fields_[i].kind != OutField::kAliasSlot) mr_other_.push_back(static_cast<uint32_t>(i));
    for (const auto& sc : plan_.schemas) schema_width_.push_back(static_cast<uint32_t>(sc.fields.size()));
    stream_name_ = rt.interner->intern(stream.name);
    match_type_ = rt.interner->intern("SequenceMatch");
    n_aliases_ = nfa_.aliases.size();
    for (const auto& sc : plan_.schemas) ev_stride_ = std::max(ev_stride_, sc.fields.size());
    evs_.rec = sizeof(Ev) + ev_stride_ * sizeof(Value);
    n_steps_ = static_cast<int32_t>(nfa_.steps.size());
    trailing_neg_ = nfa_.trailing_negation && form_ == ir::Nfa::Form::Sequence;
    has_within_ = nfa_.within_ms.has_value();
    within_ = has_within_ ? *nfa_.within_ms : 0;

    last_required_ = ir::nfa_last_required(nfa_);
    steps_.resize(n_steps_);
    const std::vector<ir::NfaStepShape> shapes = ir::nfa_step_shapes(nfa_);
    for (int32_t s = 0; s < n_steps_; ++s) {
        const ir::NfaStep& st = nfa_.steps[s];
        const ir::NfaStepShape& sh = shapes[static_cast<size_t>(s)];
        StepInfo& si = steps_[s];
        si.type_id = st.type_id;
        si.full = st.predicate.get();
        si.first = si.full;
        si.alias = st.alias;
        si.q = form_ == ir::Nfa::Form::Sequence ? st.quantifier : Quantifier::One;
        si.own = sh.own;
        if (si.own) {
            si.first_owner = conjuncts_without(st.predicate, st.alias);
            si.first = si.first_owner.get();
        }
        si.kleene = sh.kleene;
        si.optional = sh.optional;
        si.capped = sh.capped;
        if (sh.startable) n_start_ = s + 1;
        si.deferred = sh.deferred;
        bool later_star = false;
        for (int32_t t = s + 1; t < n_steps_; ++t) later_star |= nfa_.steps[t].quantifier == Quantifier::Star;
        si.alive_after = si.kleene || later_star;
    }
    for (StepInfo& si : steps_) {
        auto list = [&](const Expr* e, std::vector<int32_t>& out) {
            if (!e) return;
            std::vector<char> m(n_aliases_, 0);
            bool len = false;
            alias_reads(*e, m, len);
            si.reads_len |= len;
            for (size_t a = 0; a < n_aliases_; ++a)
                if (m[a]) out.push_back(static_cast<int32_t>(a));
        };
        list(si.full, si.reads_full);
        list(si.first, si.reads_first);
        auto flat = [&](const Expr* e, PatternPred& out) {
            if (!PatternPred::compile(e, rt_, out)) return false;
            for (int32_t a : out.aliases())
                if (a < 0 || static_cast<size_t>(a) >= n_aliases_) return false;
            return true;
        };
        si.has_flat_full = flat(si.full, si.flat_full);
        si.has_flat_first = flat(si.first, si.flat_first);
        if (si.has_flat_full && !si.flat_full.aliases().empty()) si.flat_full_alias = &si.flat_full;
        if (si.has_flat_first && !si.flat_first.aliases().empty()) si.flat_first_alias = &si.flat_first;
    }
    ends_run_.assign(static_cast<size_t>(n_steps_), 0);
    for (int32_t s = 0; s < n_steps_ && g_finish_in_place.load(std::memory_order_relaxed); ++s) {
        const StepInfo& st = steps_[s];
        ends_run_[static_cast<size_t>(s)] = form_ == ir::Nfa::Form::Sequence && s >= last_required_ && !trailing_neg_ &&
                                            !st.alive_after && !st.deferred;
    }
    if (form_ != ir::Nfa::Form::Sequence) n_start_ = n_steps_;
    full_mask_ = n_steps_ >= 32 ? ~0u : ((1u << n_steps_) - 1);

    for (const auto& n : nfa_.negations) {
        Negation ng;
        ng.type_id = n.type_id;
        ng.pred = n.predicate.get();
        ng.after_step = form_ == ir::Nfa::Form::Sequence ? n.after_step : -1;
        if (ng.after_step >= n_steps_) ng.after_step = n_steps_ - 1;
        if (ng.after_step >= 0) {
            int32_t lo = ng.after_step;
            while (lo > 0 && steps_[lo].optional) --lo;
            ng.lo = lo;
        }
        negs_.push_back(ng);
    }

    size_t ns = plan_.schemas.size();
    partitioned_ = !nfa_.partition_field.empty();
    part_slot_ = ir::nfa_partition_slots(plan_, nfa_);
    step_type_ = ir::nfa_step_types(plan_, nfa_);
    start_type_.assign(ns, 0);
    for (int32_t s = 0; s < n_start_; ++s)
        if (steps_[s].type_id >= 0 && static_cast<size_t>(steps_[s].type_id) < ns) start_type_[steps_[s].type_id] = 1;

    indexed_ = form_ == ir::Nfa::Form::Sequence && strategy_ == Strategy::SkipTillNextMatch;
    if (indexed_) setup_index(ns);
    for (const StepInfo& si : steps_) slot_vecs_ |= si.deferred;
    setup_dag();

    alias_rows_.resize(n_aliases_);
    alias_ptrs_.assign(n_aliases_, nullptr);
    alias_counts_.assign(n_aliases_, 0);
    empty_binds_.assign(n_aliases_, Binding{});
    if (!partitioned_) parts_.emplace_back();
}

// ------------------------------------------------------------ per event
inline void PatternMatcher::Impl::set_trans_kernel(SeqTransKernel k, const ir::Expr* const* nodes, const Value* consts,
                      const std::vector<SeqTransKernel>* tests) {
    // Every path: the default and strict strategies ask for the transition taken, Or for
    // the operand; skip_till_any_match tests steps one by one (kSeqTest) or, on plain
    // sequence runs, takes every transition of a run in one call (kSeqMask).
    // skip_till_any_match Sequence / And test steps through the per-step kernels only (the
    // transition kernel has no kSeqTest mode): without all of them, no kernel at all.
    if (k && strategy_ == Strategy::SkipTillAnyMatch && form_ != ir::Nfa::Form::Or)
        for (int32_t s = 0; s < n_steps_; ++s)
            if (!tests || static_cast<size_t>(s) >= tests->size() || !(*tests)[static_cast<size_t>(s)]) k = nullptr;
    trans_ = k;
    trans_mask_ = k && form_ == ir::Nfa::Form::Sequence && strategy_ == Strategy::SkipTillAnyMatch &&
                  n_steps_ <= kSeqMaxMaskSteps;
    trans_tests_.assign(static_cast<size_t>(n_steps_), nullptr);
    if (k && tests)
        for (size_t s = 0; s < tests->size() && s < trans_tests_.size(); ++s) trans_tests_[s] = (*tests)[s];
    trans_eval_.rt = &rt_;
    trans_ctx_ = KernelContext{&trans_eval_, nodes, consts};
    targs_.ctx = &trans_ctx_;
    targs_.rec = evs_.rec;  // fixed once the matcher is built
}

/// on_event in the indexed mode (a Sequence under skip_till_next_match): its decisions, with
/// those fixed by the mode taken out, and per event type only the calls it needs.
inline void PatternMatcher::Impl::on_event_indexed(const Row& row, std::vector<Row>& out, Arena& scratch) {
    begin_event(row);
    // 1. expiry: most events expire nothing (one comparison, without the call).
    if (next_due_ < now_) {
        expire_indexed(scratch);
        if (!confirmed_.empty()) emit_confirmed(out);
    }
    // 2. negations.
    if (!negs_.empty()) negate_indexed();
    // 3./4. advance and start in the event's partition: advance_indexed finds nothing
    // without a bucket of the event's type or a run in the scan list.
    const uint8_t what = row.schema >= 0 && static_cast<size_t>(row.schema) < ix_type_.size() ? ix_type_[static_cast<size_t>(row.schema)] : 0;
    if (what & kIxStep) {
        const uint32_t pid = partitioned_ ? partition_id(find_partition(row, true)) : 0;
        const Partition& P = parts_[pid];
        if (P.live != 0) {
            if (const int32_t k = ix_walk_step_[static_cast<size_t>(row.schema)]; k >= 0 && P.scan_head == kNone)
                walk_bucket(pid, k, out, scratch);
            else if ((what & kIxBuckets) || P.scan_head != kNone)
                advance_indexed(pid, out, scratch);
        }
        if (what & kIxFresh)
            start_fresh(pid, ix_start_at_[static_cast<size_t>(row.schema)]);
        else if (what & kIxStart)
            start_indexed(pid, out, scratch);
    }
    end_event();
}

inline void PatternMatcher::Impl::on_event(const Row& row, std::vector<Row>& out, Arena& scratch) {
    begin_event(row);
    if (form_ == ir::Nfa::Form::Or) {
        on_or(out, scratch);
    } else {
        // 1. expiry (all partitions); trailing-NOT confirmations first, oldest run first.
        if (has_within_) {
            expire_due(scratch);
            for (const auto& c : confirmed_) {
                if (strategy_ == Strategy::SkipTillAnyMatch && reported_ >= kMaxMatchesPerEvent) {
                    ++dropped_;
                    continue;
                }
                out.push_back(c.row);
                ++reported_;
            }
            confirmed_.clear();
        }
        // 2. negations (all partitions).
        if (!negs_.empty()) negate();
        // 3./4. advance and start in the event's partition.
        bool is_step = row.schema >= 0 && static_cast<size_t>(row.schema) < step_type_.size() &&
                       step_type_[row.schema];
        bool strict = strategy_ == Strategy::StrictContiguity;
        if (stk_ || kr_) {
            // Stack mode: the step verdicts need no partition; without one, nothing changes.
            if (uint64_t verdicts = !is_step ? 0 : stk_ ? stk_verdicts() : 1)
                step_compact(row, verdicts, out, scratch);
        } else if (Partition* P = (is_step || strict) ? find_partition(row, is_step) : nullptr) {
            if (dag_ && P->materialized && P->runs.empty()) P->materialized = false;
            if (dag_ && !P->materialized) {
                step_dag(*P, out, scratch);
            } else if (strategy_ == Strategy::SkipTillAnyMatch) {
                step_any(*P, scratch);
                flush_completions(out);
            } else if (form_ == ir::Nfa::Form::And) {
                if (!P->runs.empty()) advance_and(*P, out, scratch);
                if (is_step) start_and(*P, out, scratch);
            } else {
                if (!P->runs.empty()) advance_next(*P, out, scratch);
                if (is_step) start_next(*P, out, scratch);
            }
        }
    }
    end_event();
}

/// on_event for an event the engine prefiltered (stack mode, `verdicts` not 0): no Or form,
/// no negation, no trailing confirmations, the verdicts known — the rest of on_event's
/// decisions are fixed, so the per-event path is this much shorter.
inline void PatternMatcher::Impl::on_event_stk(const Row& row, std::vector<Row>& out, Arena& scratch, uint64_t verdicts) {
    begin_event(row);
    if (has_within_) expire_due(scratch);
    step_compact(row, verdicts, out, scratch);
    end_event();
}

// =====================================================================================

PatternMatcher::PatternMatcher(Runtime& rt, const ir::StreamPlan& stream, const ir::Operator& op)
    : impl_(std::make_unique<Impl>(rt, stream, op)) {}

PatternMatcher::~PatternMatcher() = default;

void PatternMatcher::on_event(const Row& row, std::vector<Row>& out, Arena& scratch) {
    if (impl_->indexed_)
        impl_->on_event_indexed(row, out, scratch);
    else
        impl_->on_event(row, out, scratch);
}

void PatternMatcher::on_event(const Row& row, std::vector<Row>& out, Arena& scratch, uint64_t verdicts) {
    impl_->on_event_stk(row, out, scratch, verdicts);
}

bool PatternMatcher::prefilters() const { return impl_->stk_; }

uint64_t PatternMatcher::step_verdicts(const Row& row) {
    Impl& m = *impl_;
    uint64_t v = 0;
    if (row.schema < 0 || static_cast<size_t>(row.schema) >= m.stk_types_.size()) {
        // no step of its type
    } else if (m.scan_) {
        // The scan kernel on this one row: the step predicates inline, as for batches (the
        // steps' own kernels are compiled off the per-event path beside it).
        SeqTaken t{};
        SeqScanArgs a{&row.schema, &row.ts, row.slots, m.schema_width_.data(), m.scan_all_.data(), m.scan_all_.size(), 0,
                      Impl::kNoSkipped, &t, 1, 0, &m.trans_ctx_};
        m.scan_(&a, 0, 1);
        v = a.n_taken != 0 ? t.verdicts : 0;
    } else if (m.stk_step_kernels_) {
        EvalContext ctx = pattern_context(m.rt_, row, m.alias_ptrs_.data(), m.alias_counts_.data());
        KernelContext kc{&ctx, m.kernel_nodes_, m.kernel_consts_, m.alias_ptrs_.data(), m.alias_counts_.data()};
        v = m.stk_kernel_verdicts(row.slots, row.schema, kc);
    } else {
        // What on_event sets before stk_verdicts, undone after: nothing else changes.
        m.cur_row_ = &row;
        m.targs_.slots = row.slots;
        m.targs_.schema = row.schema;
        v = m.stk_verdicts();
        m.cur_row_ = nullptr;
    }
    if (v == 0 && row.ts > impl_->skipped_now_) impl_->skipped_now_ = row.ts;   // its expiry, for later
    return v;
}

size_t PatternMatcher::scan(const Rows& rows, size_t i, size_t end, size_t& offset, ScanBuffer& buf) {
    Impl& m = *impl_;
    buf.n = 0;
    if (m.scan_) {
        SeqScanArgs a{rows.schemas, rows.ts,   rows.values, rows.widths, rows.routed, rows.n_schemas,
                      offset,       m.skipped_now_, buf.taken, buf.cap,   0,           &m.trans_ctx_};
        i = m.scan_(&a, i, end);
        offset = a.offset;
        buf.n = a.n_taken;
        buf.tail_skipped = a.skipped;
        return i;
    }
    int64_t skipped = m.skipped_now_;
    Row row;
    m.cur_row_ = &row;   // what step tests read, as step_verdicts sets it
    auto loop = [&](auto&& verdicts_of) {
        for (; i < end && buf.n < buf.cap; ++i) {
            const int32_t sch = rows.schemas[i];
            if (sch < 0 || static_cast<size_t>(sch) >= rows.n_schemas || !rows.routed[sch]) break;
            row.slots = rows.values + offset;
            row.schema = sch;
            row.ts = rows.ts[i];
            row.type = rows.types[sch];
            if (rows.raw) {   // whole-event reads (only when the plan has them)
                row.raw = rows.raw[i];
                row.raw_count = rows.raw_count[i];
            }
            if (const uint64_t v = verdicts_of(sch); v != 0) {
                buf.taken[buf.n++] = SeqTaken{i, offset, v, skipped};
                skipped = Impl::kNoSkipped;
            } else if (row.ts > skipped) {
                skipped = row.ts;   // its expiry, for later
            }
            offset += rows.widths[sch];
        }
    };
    if (m.stk_step_kernels_) {
        // Every step predicate compiled as a filter (it reads the row alone in stack mode):
        // called directly, the cheapest form of the test kernels' verdict.
        EvalContext ctx = pattern_context(m.rt_, row, m.alias_ptrs_.data(), m.alias_counts_.data());
        KernelContext kc{&ctx, m.kernel_nodes_, m.kernel_consts_, m.alias_ptrs_.data(), m.alias_counts_.data()};
        loop([&](int32_t sch) {
            ctx.now_ms = row.ts;
            return m.stk_kernel_verdicts(row.slots, sch, kc);
        });
    } else {
        loop([&](int32_t sch) {
            m.targs_.slots = row.slots;
            m.targs_.schema = sch;
            return m.stk_verdicts();
        });
    }
    m.cur_row_ = nullptr;
    buf.tail_skipped = skipped;
    return i;
}

void PatternMatcher::on_taken(const Row& row, std::vector<Row>& out, Arena& scratch, const SeqTaken& t) {
    impl_->skipped_now_ = t.skipped;
    impl_->on_event_stk(row, out, scratch, t.verdicts);
}

void PatternMatcher::skipped_until(int64_t t) { impl_->skipped_now_ = t; }

void PatternMatcher::set_match_sink(const MatchSink* sink) { impl_->match_sink_ = sink; }

uint64_t PatternMatcher::dropped() const { return impl_->dropped_; }

void PatternMatcher::set_compact_any_match(bool on) { g_compact_any_match.store(on, std::memory_order_relaxed); }

void PatternMatcher::set_stack_any_match(bool on) { g_stack_any_match.store(on, std::memory_order_relaxed); }

void PatternMatcher::set_indexed_list_walk(bool on) { g_list_walk.store(on, std::memory_order_relaxed); }

void PatternMatcher::set_finish_in_place(bool on) { g_finish_in_place.store(on, std::memory_order_relaxed); }

void PatternMatcher::set_indexed_shortcuts(bool on) { g_indexed_shortcuts.store(on, std::memory_order_relaxed); }

void PatternMatcher::set_step_kernels(const std::vector<FilterKernel>* steps, const ir::Expr* const* nodes,
                                      const Value* consts) {
    impl_->step_kernels_ = steps ? *steps : std::vector<FilterKernel>{};
    impl_->kernel_nodes_ = nodes;
    impl_->kernel_consts_ = consts;
    impl_->stk_step_kernels_ = impl_->stk_ && impl_->step_kernels_.size() == static_cast<size_t>(impl_->n_steps_);
    for (int32_t s = 0; s < impl_->n_steps_ && impl_->stk_step_kernels_; ++s)
        if (impl_->steps_[static_cast<size_t>(s)].full && !impl_->step_kernels_[static_cast<size_t>(s)])
            impl_->stk_step_kernels_ = false;
}

void PatternMatcher::set_trans_kernel(SeqTransKernel trans, const ir::Expr* const* nodes, const Value* consts,
                                      const std::vector<SeqTransKernel>* tests) {
    impl_->set_trans_kernel(trans, nodes, consts, tests);
}

void PatternMatcher::set_scan_kernel(SeqScanKernel scan) {
    impl_->scan_ = impl_->stk_ ? scan : nullptr;
    impl_->scan_all_.assign(impl_->stk_types_.size(), 1);
}

bool PatternMatcher::has_trans_kernel() const { return impl_->trans_ != nullptr; }

uint64_t PatternMatcher::trans_calls() const { return impl_->trans_calls_; }

size_t PatternMatcher::live_runs() const { return impl_->live_runs(); }

const char* PatternMatcher::any_match_form() const {
    return impl_->stk_ ? "stacks" : impl_->kr_ ? "roots" : impl_->dag_ ? "dag" : "runs";
}

void PatternMatcher::save(CheckpointWriter& w) const { impl_->save(w); }

bool PatternMatcher::load(CheckpointReader& r) { return impl_->load(r); }

}  // namespace varpulis::runtime
