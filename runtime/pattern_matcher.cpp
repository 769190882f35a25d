#include "runtime/pattern_matcher.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <functional>
#include <iterator>
#include <limits>
#include <new>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>

#include "ir/nfa_shape.hpp"
#include "runtime/checkpoint_io.hpp"
#include "runtime/deadline_ring.hpp"
#include "runtime/id_stack.hpp"
#include "runtime/pattern_pred.hpp"
#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

using ir::Expr;
using ir::ExprOp;
using ir::ExprPtr;
using ir::Quantifier;
using ir::Strategy;

namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

std::atomic<bool> g_compact_any_match{true};
std::atomic<bool> g_list_walk{true};
std::atomic<bool> g_finish_in_place{true};
constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();

/// Marks in `mask` the aliases `e` reads through AliasField; `len` set when it reads AliasLen.
void alias_reads(const Expr& e, std::vector<char>& mask, bool& len) {
    if (e.op == ExprOp::AliasLen) len = true;
    if (e.op == ExprOp::AliasField && e.index >= 0 && static_cast<size_t>(e.index) < mask.size()) mask[e.index] = 1;
    for (const auto& a : e.args)
        if (a) alias_reads(*a, mask, len);
}

/// Could evaluating `e` change state (uuid() advances the generator; user functions may call
/// it)? The compact any-match mode evaluates a predicate once per node, not once per run.
bool has_effects(const Expr& e) {
    if (e.op == ExprOp::CallUser) return true;
    if (e.op == ExprOp::Call && e.fn == frontend::Builtin::Uuid) return true;
    for (const auto& a : e.args)
        if (a && has_effects(*a)) return true;
    return false;
}

/// `pred` rebuilt from the top-level conjuncts that `keep` accepts; null when none is left
/// (always true).
template <class Keep>
ExprPtr conjuncts_if(const ExprPtr& pred, Keep keep) {
    std::vector<ExprPtr> all;
    ir::nfa_conjuncts(pred, all);
    ExprPtr acc;
    for (const auto& c : all) {
        if (!keep(*c)) continue;
        if (!acc) {
            acc = c;
            continue;
        }
        auto a = std::make_shared<Expr>();
        a->op = ExprOp::And;
        a->type = ir::Kind::Bool;
        a->bop = frontend::BinaryOp::And;
        a->span = c->span;
        a->args = {acc, c};
        acc = std::move(a);
    }
    return acc;
}

/// The conjuncts of `pred` that do not read `alias`.
ExprPtr conjuncts_without(const ExprPtr& pred, int32_t alias) {
    return conjuncts_if(pred, [alias](const Expr& c) { return !ir::expr_reads_alias(c, alias); });
}

uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/// The conjuncts of `pred` other than `skip`.
ExprPtr conjuncts_except(const ExprPtr& pred, const Expr* skip) {
    return conjuncts_if(pred, [skip](const Expr& c) { return &c != skip; });
}

}  // namespace

// =====================================================================================
// Impl

struct PatternMatcher::Impl {
    // ------------------------------------------------------------ event store
    /// Copies of the events bound by runs, shared and reference counted.
    /// Event records live in chunks of kEvChunk records (stable addresses: views stay valid
    /// while the store grows); each record is the header followed by `ev_stride_` slot values.
    // Layout shared with generated code (runtime/abi.hpp SeqEvent: header, then the slots).
    using Ev = SeqEvent;
    static_assert(sizeof(Ev) == 32);
    static_assert(std::is_trivially_copyable_v<Value> && std::is_trivially_destructible_v<Value>);
    static constexpr uint32_t kEvChunkShift = kSeqEventChunkShift;
    static constexpr uint32_t kEvChunk = 1u << kEvChunkShift;
    struct EvStore {
        std::vector<std::unique_ptr<std::byte[]>> chunks;
        std::vector<unsigned char*> raw;  // chunks' addresses: SeqTransArgs::chunks
        size_t rec = sizeof(Ev) + sizeof(Value);
        uint32_t count = 0;
        Ev& operator[](uint32_t id) const {
            return *reinterpret_cast<Ev*>(chunks[id >> kEvChunkShift].get() + static_cast<size_t>(id & (kEvChunk - 1)) * rec);
        }
        // Out of line: keeps store(), inlined into take() per event, small.
        [[gnu::noinline]] void grow() {
            chunks.emplace_back(new std::byte[static_cast<size_t>(kEvChunk) * rec]);
            raw.push_back(reinterpret_cast<unsigned char*>(chunks.back().get()));
        }
        [[gnu::always_inline]] uint32_t add() {
            uint32_t id = count++;
            if ((id >> kEvChunkShift) >= chunks.size()) [[unlikely]]
                grow();
            new (&(*this)[id]) Ev();
            return id;
        }
    };
    EvStore evs_;
    IdStack free_evs_;
    size_t ev_stride_ = 1;

    Value* ev_slots(uint32_t id) const { return reinterpret_cast<Value*>(reinterpret_cast<std::byte*>(&evs_[id]) + sizeof(Ev)); }

    [[gnu::always_inline]] uint32_t store(const Row& r) {
        uint32_t id;
        if (!free_evs_.empty()) {
            id = free_evs_.back();
            free_evs_.pop_back();
        } else {
            id = evs_.add();
        }
        Ev& e = evs_[id];
        uint32_t n = schema_width_[static_cast<size_t>(r.schema)];
        Value* dst = ev_slots(id);
        for (uint32_t i = 0; i < n; ++i) dst[i] = r.slots[i];  // trivially copyable; usually 1-4 slots
        e.n = static_cast<uint32_t>(n);
        e.ts = r.ts;
        e.schema = r.schema;
        e.type = r.type;
        e.refs = 0;
        return id;
    }
    void ref(uint32_t id) { ++evs_[id].refs; }
    void unref(uint32_t id) {
        if (--evs_[id].refs == 0) free_evs_.push_back(id);
    }
    Row view(uint32_t id) const {
        const Ev& e = evs_[id];
        return Row{ev_slots(id), e.schema, e.ts, e.type, nullptr, 0};
    }

    // ------------------------------------------------------------ runs
    using Binding = SeqBinding;  // runtime/abi.hpp: generated code reads them too

    struct Run {
        uint64_t seq = 0;          // creation order over all partitions
        int64_t t0 = 0;            // first matched event
        int64_t last_ts = 0;       // last matched event
        int64_t deadline = kNoDeadline;
        int32_t pos = -1;          // Sequence: last step that took an event
        uint32_t step_count = 0;   // events taken by step `pos`
        uint32_t taken = 0;        // And: operands taken (bit mask)
        bool complete = false;     // every required step matched (alive trailing Kleene / pending NOT)
        bool dead = false;
        std::vector<uint32_t> deferred;   // default strategy: candidates of the deferred Kleene step
        std::vector<uint64_t> positions;  // skip_till_any_match: arrival positions of its events
    };

    // Compact skip_till_any_match mode (dag_). Under that strategy every run that takes an
    // event also stays, so plain runs multiply (2^n for a Kleene step). Here a node stands for
    // every run that took `ev` for `step` last, started at the same root and agrees on the
    // bindings that later predicates read (the step's state mask): those runs advance alike,
    // so the node is tested once and they differ only in their earlier events, kept as
    // predecessor edges. A completion enumerates the node's paths back to its root (one per
    // run) and sorts them as §9.10 orders matches. All nodes of a root die with it (expiry).
    struct DNode {
        uint64_t pos = 0;         // arrival position of its event
        int64_t ts = 0;           // timestamp of its event (root: t0)
        int64_t deadline = kNoDeadline;  // root only
        uint64_t npaths = 0;      // runs ending here (paths from the root)
        uint64_t root_paths = 0;  // root only: runs of all its nodes
        uint32_t ev = kNone;
        uint32_t root = kNone;    // its root node (itself for a root)
        uint32_t pred_head = kNone;  // predecessor edges (kNone: a root)
        uint32_t nnodes = 0;      // root only: its nodes, itself included
        uint32_t sib = kNone;     // dprune_ only: next node of the same root, in creation order (root: its first)
        uint32_t tail = kNone;    // root only: the last node of that list
        int32_t step = 0;
        bool dead = false;        // root only: expired
        uint8_t prune_kind = kNoPrune;  // root only, dprune_: kind of first.y if it may be skipped (setup_prune)
    };
    static constexpr uint8_t kNoPrune = 0xFF;
    struct DEdge {
        uint32_t pred = kNone;
        uint32_t next = kNone;
    };

    /// Runs of one partition key, oldest first; bindings in a parallel array (stride = aliases).
    struct Partition {
        std::vector<Run> runs;
        std::vector<Binding> binds;
        uint64_t swept_at = std::numeric_limits<uint64_t>::max();
        bool has_dead = false;
        // Indexed mode (see below): live runs, and the runs that wait in no index bucket.
        size_t live = 0;
        uint32_t scan_head = kNone, scan_tail = kNone;
        // Compact skip_till_any_match mode (see DNode): the nodes in creation order, their
        // state bindings (stride = aliases), predecessor edges, and the runs they stand for.
        // `materialized`: the partition went back to plain runs (a cap was near, or a
        // checkpoint restored plain runs) and stays so.
        bool materialized = false;
        std::vector<DNode> dnodes;
        std::vector<Binding> dbinds;
        std::vector<DEdge> dedges;
        std::vector<uint32_t> droots;  // its roots, oldest first
        size_t dexp_from = 0;          // droots before it are dead (dag_expire)
        bool droots_sorted = true;     // root deadlines nondecreasing along droots
        // dprune_ (setup_prune): the roots that may be skipped, by first.y (ties in creation
        // order), all of kind dsort_kind; dnoprune counts the others, visited every event.
        struct DSorted {
            Value key;
            uint32_t root;
        };
        std::vector<DSorted> dsorted;
        uint8_t dsort_kind = 0xFF;
        size_t dnoprune = 0;
        std::vector<uint32_t> dstep_n;  // nodes per step (dead ones until compacted away)
        size_t ddead = 0;    // nodes whose root expired, not yet compacted away
        uint64_t dpaths = 0; // live runs the live nodes stand for
    };

    struct StepInfo {
        int32_t type_id = -1;
        const Expr* full = nullptr;    // the whole predicate
        const Expr* first = nullptr;   // own-alias predicates: the conjuncts without the own alias
        ExprPtr first_owner;
        Quantifier q = Quantifier::One;
        int32_t alias = -1;
        bool own = false;
        bool kleene = false;
        bool optional = false;
        bool capped = false;       // middle/first Kleene step: 20-event cap (default, strict)
        bool deferred = false;     // default strategy, middle Kleene with an own-alias predicate (§9.4 d)
        bool alive_after = false;  // a run that completed here can still take events
        std::vector<int32_t> reads_full, reads_first;  // aliases each predicate variant reads
        bool reads_len = false;    // some variant reads len(alias): load every count
        // The variants in flat form (pattern_pred.hpp) when they compile: tested on the
        // bindings directly, without loading alias rows or the evaluator.
        PatternPred flat_full, flat_first;
        bool has_flat_full = false, has_flat_first = false;
        // The same when the variant reads an alias (null otherwise): dag_qualifies' fast path.
        const PatternPred* flat_full_alias = nullptr;
        const PatternPred* flat_first_alias = nullptr;
    };

    struct Negation {
        int32_t type_id = -1;
        const Expr* pred = nullptr;
        int32_t after_step = -1;
        int32_t lo = 0;  // applies to runs with lo <= pos <= after_step
    };

    // ------------------------------------------------------------ indexed mode
    // Sequence form under skip_till_next_match keeps its runs in a slab of stable slots. A run
    // whose next step k is a plain step with a conjunct `field == alias.f` (alias bound at an
    // earlier step) waits in an index bucket keyed by (partition, k, value of alias.f); an
    // event of step k's type only visits the bucket of its own field value. Other runs that
    // can still advance wait in their partition's scan list; runs that cannot advance any more
    // (absent key, pending trailing NOT) wait in no list. Every list is kept in creation
    // order; candidates of one event are merged by creation order, so the order of §9.11 holds.
    struct IndexInfo {
        bool ok = false;
        const Expr* field = nullptr;        // the event side (ExprOp::Field)
        const Expr* alias_field = nullptr;  // the run side (ExprOp::AliasField)
        const Expr* rest = nullptr;         // the other conjuncts (null: none)
        ExprPtr rest_owner;
    };
    static constexpr int32_t kWaitNone = -2;
    static constexpr int32_t kWaitScan = -1;
    // The list and bucket fields first: expiry and unlinking read only those (and `inl`).
    struct Slot {
        uint32_t part = 0;
        uint32_t prev = kNone, next = kNone;  // links in the scan list or bucket
        int32_t wait = kWaitNone;             // step of its bucket, kWaitScan, kWaitNone
        bool live = false;
        uint32_t btail = kNone;               // the head run of a bucket: the bucket's last run
        uint64_t khash = 0;                   // when wait >= 0: its bucket's hash and key
        Value key;
        Binding inl[2];                       // its bindings when n_aliases_ <= 2
        Run r;
    };
    /// A bucket: the list of the runs waiting for (part, step, key). Its part, step (`wait`),
    /// hash, key and last run (`btail`) are kept by its head run, which every lookup reads
    /// anyway: 8-byte entries keep the table, read at random per event, half as large.
    struct TEntry {
        uint32_t h = 0;           // low 32 bits of the bucket hash (home and tag)
        uint32_t head = kNone;    // kNone: empty entry
    };
    static_assert(sizeof(TEntry) == 8);
    struct ExpItem {
        int64_t deadline;
        uint64_t seq;
        uint32_t slot;
    };
    struct Cand {
        uint64_t seq;
        uint32_t slot;
        int32_t via;  // bucket step (its equality conjunct holds), -1: scan list
    };

    bool indexed_ = false;
    std::vector<IndexInfo> idx_;                      // per step
    std::vector<std::vector<int32_t>> idx_by_type_;   // per schema: indexed steps of that type
    std::vector<Slot> slots_;
    std::vector<Binding> sbinds_;                     // per slot, stride n_aliases_
    std::vector<uint64_t> slot_seq_;                  // per slot: r.seq when live, kDeadSeq if not
    static constexpr uint64_t kDeadSeq = std::numeric_limits<uint64_t>::max();
    IdStack free_slots_;
    std::vector<TEntry> table_;                       // open addressing, linear probing
    size_t table_count_ = 0;
    size_t bucket_hint_ = 0;                          // table index of the bucket last found (unlink)
    DeadlineRing<ExpItem> fifo_;                      // deadlines in nondecreasing order
    std::vector<ExpItem> eheap_;                      // the others (min-heap)
    std::vector<Cand> cands_, merge_buf_;
    // advance_indexed walks a single source list in place (tests turn it off to compare).
    bool list_walk_ = g_list_walk.load(std::memory_order_relaxed);
    // Whether a slot's Run may hold deferred events or positions (a deferred step, or restored
    // from a checkpoint): if not, slots skip those vectors (another cache line per run).
    bool slot_vecs_ = false;

    Runtime& rt_;
    const ir::Plan& plan_;
    std::shared_ptr<ir::Nfa> nfa_owner_;
    const ir::Nfa& nfa_;
    ir::Nfa::Form form_;
    Strategy strategy_;
    int32_t out_schema_;
    std::vector<ir::FieldOrigin> origins_;
    /// origins_ flattened once (make_row runs per match): what fills each output field.
    struct OutField {
        enum Kind : uint8_t { kAbsent, kStreamName, kDuration, kAliasSlot, kAliasCount } kind = kAbsent;
        int32_t alias = -1;
        uint32_t slot = 0;
    };
    std::vector<OutField> out_fields_;
    std::vector<uint32_t> schema_width_;  // per schema: its field count (store())
    const StrObj* stream_name_ = nullptr;
    const StrObj* match_type_ = nullptr;

    std::vector<StepInfo> steps_;
    /// Per step: a run that enters it (not already complete) completes and ends at once
    /// (after_take returns Done): finish_in_place may make its match without taking the event.
    std::vector<char> ends_run_;
    std::vector<Negation> negs_;
    int32_t n_steps_ = 0;
    int32_t last_required_ = -1;
    int32_t n_start_ = 0;            // steps [0, n_start_) can start a run
    uint32_t full_mask_ = 0;
    size_t n_aliases_ = 0;
    bool trailing_neg_ = false;
    bool has_within_ = false;
    int64_t within_ = 0;
    bool partitioned_ = false;
    std::vector<int32_t> part_slot_;   // per schema: slot of the partition field, -1
    std::vector<char> step_type_;      // per schema: 1 if some step has that type
    std::vector<char> start_type_;     // per schema: 1 if a step that can start a run has that type

    std::vector<Partition> parts_;
    std::unordered_map<std::string, uint32_t> part_index_;
    std::unordered_map<int64_t, uint32_t> int_part_;
    // In front of int_part_: small non-negative int keys by value (kNone: not seen yet).
    static constexpr int64_t kSmallKeys = 4096;
    std::vector<uint32_t> small_part_;
    struct StrPart {
        uint32_t idx = kNone;
        std::string key;
    };
    static constexpr size_t kStrParts = 256;
    std::vector<StrPart> str_part_ = std::vector<StrPart>(kStrParts);
    std::string key_buf_;

    using HeapItem = std::pair<int64_t, uint32_t>;  // (deadline, partition)
    /// Pending deadlines, smallest (deadline, partition) first: the priority queue they were,
    /// but deadlines mostly arrive in order (now + within), so those go to a FIFO and only
    /// the others to a heap; top() is the smaller of the two fronts, so the order is the same.
    struct ExpiryQueue {
        std::vector<HeapItem> fifo;  // nondecreasing from `head`
        size_t head = 0;
        std::vector<HeapItem> heap;  // min-heap
        bool empty() const { return head == fifo.size() && heap.empty(); }
        size_t size() const { return fifo.size() - head + heap.size(); }
        void push(const HeapItem& it) {
            if (head == fifo.size() || !(it < fifo.back())) {
                fifo.push_back(it);
            } else {
                heap.push_back(it);
                std::push_heap(heap.begin(), heap.end(), std::greater<HeapItem>());
            }
        }
        bool from_fifo() const { return heap.empty() || (head < fifo.size() && fifo[head] < heap.front()); }
        const HeapItem& top() const { return from_fifo() ? fifo[head] : heap.front(); }
        void pop() {
            if (from_fifo()) {
                if (++head == fifo.size()) {
                    fifo.clear();
                    head = 0;
                } else if (head >= 4096 && head * 2 >= fifo.size()) {
                    fifo.erase(fifo.begin(), fifo.begin() + static_cast<std::ptrdiff_t>(head));
                    head = 0;
                }
            } else {
                std::pop_heap(heap.begin(), heap.end(), std::greater<HeapItem>());
                heap.pop_back();
            }
        }
        /// Every entry in pop order (checkpoints).
        std::vector<HeapItem> sorted() const {
            std::vector<HeapItem> all(fifo.begin() + static_cast<std::ptrdiff_t>(head), fifo.end());
            all.insert(all.end(), heap.begin(), heap.end());
            std::sort(all.begin(), all.end());
            return all;
        }
    };
    ExpiryQueue expiry_;

    uint64_t dropped_ = 0;
    uint64_t next_seq_ = 0;

    // Compiled step predicates (Engine::install_kernels), by step; empty: interpreted.
    std::vector<FilterKernel> step_kernels_;
    const ir::Expr* const* kernel_nodes_ = nullptr;
    const Value* kernel_consts_ = nullptr;
    uint64_t event_no_ = 0;   // arrival position of the current event

    // Compiled transitions (OpKernels::trans): decide in place of qualifies() loops and
    // negation predicates in every path (qualifies itself asks it under skip_till_any_match);
    // null: the tables above decide.
    SeqTransKernel trans_ = nullptr;
    bool trans_mask_ = false;  // step_any asks kSeqMask per run
    std::vector<SeqTransKernel> trans_tests_;  // per step: kSeqTest alone (null: through trans_)
    EvalContext trans_eval_;
    KernelContext trans_ctx_{};
    uint64_t trans_calls_ = 0;
    SeqTransArgs targs_{};

    // per-event state
    const Row* cur_row_ = nullptr;
    uint32_t cur_ev_ = kNone;
    int64_t now_ = 0;
    size_t reported_ = 0;     // matches reported for the current event (any-match cap)

    // evaluation buffers
    std::vector<Row> alias_rows_;
    std::vector<const Row*> alias_ptrs_;
    std::vector<uint32_t> alias_counts_;
    std::vector<Binding> empty_binds_;
    std::vector<Binding> tmp_binds_;

    struct Confirmed {
        uint64_t seq;
        Row row;
    };
    std::vector<Confirmed> confirmed_;
    struct Completion {
        std::vector<uint64_t> positions;
        Row row;
    };
    std::vector<Completion> completions_;

    Impl(Runtime& rt, const ir::StreamPlan& stream, const ir::Operator& op)
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
        part_slot_.assign(ns, -1);
        step_type_.assign(ns, 0);
        partitioned_ = !nfa_.partition_field.empty();
        if (partitioned_)
            for (size_t i = 0; i < ns; ++i) part_slot_[i] = plan_.schemas[i].slot_of(nfa_.partition_field);
        for (const auto& st : steps_)
            if (st.type_id >= 0 && static_cast<size_t>(st.type_id) < ns) step_type_[st.type_id] = 1;
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

    ~Impl() = default;

    // ------------------------------------------------------------ helpers

    [[gnu::always_inline]] uint32_t cur_ev() {
        if (cur_ev_ == kNone) {
            cur_ev_ = store(*cur_row_);
            ref(cur_ev_);  // pinned until the end of on_event
        }
        return cur_ev_;
    }

    void load_aliases(const Binding* b) {
        for (size_t i = 0; i < n_aliases_; ++i) load_alias(b, i);
    }

    void load_alias(const Binding* b, size_t i) {
        if (b[i].ev != kNone) {
            alias_rows_[i] = view(b[i].ev);
            alias_ptrs_[i] = &alias_rows_[i];
        } else {
            alias_ptrs_[i] = nullptr;
        }
        alias_counts_[i] = b[i].count;
    }

    bool test(const Expr* e, const Row& row) {
        return pattern_condition(rt_, e, row, alias_ptrs_.data(), alias_counts_.data());
    }

    /// Step `s`'s whole predicate on `row` with the loaded aliases: its compiled kernel when
    /// there is one, else the interpreter.
    bool test_step(int32_t s, const Row& row) {
        if (static_cast<size_t>(s) < step_kernels_.size() && step_kernels_[static_cast<size_t>(s)]) {
            EvalContext ctx = pattern_context(rt_, row, alias_ptrs_.data(), alias_counts_.data());
            KernelContext kc{&ctx, kernel_nodes_, kernel_consts_, alias_ptrs_.data(), alias_counts_.data()};
            return step_kernels_[static_cast<size_t>(s)](row.slots, &kc) != 0;
        }
        return test(steps_[static_cast<size_t>(s)].full, row);
    }

    /// Does the current event qualify for step `s` of a run with bindings `b`? `again`: another
    /// iteration of the run's current Kleene step.
    bool qualifies(int32_t s, const Binding* b, bool again) {
        const StepInfo& st = steps_[s];
        if (cur_row_->schema != st.type_id) return false;
        if (trans_ && trans_tests_[static_cast<size_t>(s)]) return kernel_test(s, b, again);
        const Expr* pred = st.full;
        if (st.own) {
            bool bound = again && b[st.alias].ev != kNone;
            pred = bound && !st.deferred ? st.full : st.first;
        }
        if (!pred) return true;
        if (pred == st.full ? st.has_flat_full : st.has_flat_first) return test_flat(pred == st.full ? st.flat_full : st.flat_first, b);
        if (st.reads_len)
            load_aliases(b);
        else
            load_aliases_of(b, pred == st.full ? st.reads_full : st.reads_first);
        return pred == st.full ? test_step(s, *cur_row_) : test(pred, *cur_row_);
    }

    /// The transition kernel's decision for a run at `pos` with bindings `b` (runtime/abi.hpp
    /// SeqTransKernel): the step to enter, kSeqAgain or kSeqNone. pos -1: a new run.
    int32_t trans(int32_t pos, const Binding* b, uint32_t flags, int32_t via) {
        ++trans_calls_;
        // The event's fields are set once per event (on_event); the store's chunk table may
        // move when the event is stored, so it is read per call.
        targs_.binds = b;
        targs_.chunks = evs_.raw.data();
        targs_.pos = pos;
        targs_.via = via;
        targs_.flags = flags;
        return trans_(&targs_);
    }
    /// qualifies(s, b, again) past its type test, decided by step s's test kernel (kSeqTest).
    [[gnu::always_inline]] bool kernel_test(int32_t s, const Binding* b, bool again) {
        const uint32_t flags = again ? kSeqTest | kSeqTestAgain : kSeqTest;
        ++trans_calls_;
        targs_.binds = b;
        targs_.chunks = evs_.raw.data();
        targs_.flags = flags;
        return trans_tests_[static_cast<size_t>(s)](&targs_) == 1;
    }
    /// A flat predicate's verdict for step `s` (variant as qualifies chooses it), by the
    /// kernel when installed: both are eval_condition's verdict.
    [[gnu::always_inline]] bool flat_verdict(const PatternPred& p, int32_t s, const Binding* b, bool again) {
        return trans_ && trans_tests_[static_cast<size_t>(s)] ? kernel_test(s, b, again) : test_flat(p, b);
    }
    uint32_t run_flags(const Run& r) const {
        return (r.complete ? kSeqComplete : 0u) | (trailing_neg_ && r.complete ? kSeqPending : 0u);
    }
    /// Negation `i`'s predicate on a run with bindings `b` (the kernel, or the interpreter).
    bool negation_holds(size_t i, const Binding* b) {
        const Negation& n = negs_[i];
        if (!n.pred) return true;
        if (trans_) return trans(-1, b, kSeqNegation, static_cast<int32_t>(i)) == 1;  // kSeqNone (-1) when it does not hold
        load_aliases(b);
        return test(n.pred, *cur_row_);
    }

    /// A flat predicate on the current event with bindings `b` (eval_condition's verdict).
    [[gnu::always_inline]] bool test_flat(const PatternPred& p, const Binding* b) const {
        return p.test(rt_, cur_row_->slots, BoundAlias{this, b});
    }

    /// The event a binding refers to, for PatternPred::test.
    struct BoundAlias {
        const Impl* m;
        const Binding* b;
        [[gnu::always_inline]] PatternAliasRef operator()(int32_t a) const {
            uint32_t id = b[a].ev;
            if (id == kNone) return PatternAliasRef{};
            const Ev& e = m->evs_[id];
            return PatternAliasRef{reinterpret_cast<const Value*>(reinterpret_cast<const std::byte*>(&e) + sizeof(Ev)), e.schema};
        }
    };

    /// load_aliases for a predicate that reads only the aliases `which` (and no len()): the
    /// other entries keep stale values it never looks at.
    void load_aliases_of(const Binding* b, const std::vector<int32_t>& which) {
        for (int32_t i : which) load_alias(b, static_cast<size_t>(i));
    }

    void bind(Binding* b, int32_t alias, uint32_t ev, uint32_t count) {
        if (alias < 0) return;
        Binding& x = b[alias];
        ref(ev);
        if (x.ev != kNone) unref(x.ev);
        x.ev = ev;
        x.count = count;
    }

    void release(Partition& P, size_t i) {
        Binding* b = (P.binds.data() + (i * n_aliases_));
        for (size_t a = 0; a < n_aliases_; ++a)
            if (b[a].ev != kNone) {
                unref(b[a].ev);
                b[a].ev = kNone;
            }
        for (uint32_t e : P.runs[i].deferred) unref(e);
        P.runs[i].deferred.clear();
    }

    void compact(Partition& P) {
        if (!P.has_dead) return;
        P.has_dead = false;
        size_t w = 0, n = P.runs.size();
        for (size_t i = 0; i < n; ++i) {
            if (P.runs[i].dead) {
                release(P, i);
                continue;
            }
            if (w != i) {
                P.runs[w] = std::move(P.runs[i]);
                std::copy_n((P.binds.data() + (i * n_aliases_)), n_aliases_, (P.binds.data() + (w * n_aliases_)));
            }
            ++w;
        }
        P.runs.resize(w);
        P.binds.resize(w * n_aliases_);
    }

    void kill(Partition& P, Run& r) {
        r.dead = true;
        P.has_dead = true;
    }

    size_t live_count(const Partition& P) const {
        size_t n = 0;
        for (const auto& r : P.runs) n += !r.dead;
        return n;
    }

    /// Appends a run (bindings copied from `b`, references taken). Returns its index.
    size_t push_run(Partition& P, Run&& r, const Binding* b) {
        P.runs.push_back(std::move(r));
        for (size_t a = 0; a < n_aliases_; ++a) {
            P.binds.push_back(b[a]);
            if (b[a].ev != kNone) ref(b[a].ev);
        }
        for (uint32_t e : P.runs.back().deferred) ref(e);
        return P.runs.size() - 1;
    }

    // ------------------------------------------------------------ match rows

    /// `cur_alias` (if >= 0): that alias is the current event, read from cur_row_ rather
    /// than from the store (finish_in_place).
    Row make_row(const Binding* b, int64_t t0, int64_t last_ts, int64_t ts, Arena& scratch, int32_t cur_alias = -1) {
        size_t n = out_fields_.size();
        Value* slots = scratch.allocate_array<Value>(n == 0 ? 1 : n);
        for (size_t i = 0; i < n; ++i) {
            const OutField& o = out_fields_[i];
            Value v;
            switch (o.kind) {
                case OutField::kStreamName:
                    v = Value::string(stream_name_);
                    break;
                case OutField::kDuration:
                    v = Value::integer(last_ts - t0);
                    break;
                case OutField::kAliasSlot:
                    if (o.alias == cur_alias) {
                        if (o.slot < schema_width_[static_cast<size_t>(cur_row_->schema)]) v = cur_row_->slots[o.slot];
                    } else if (uint32_t id = b[o.alias].ev; id != kNone && o.slot < evs_[id].n) {
                        v = ev_slots(id)[o.slot];
                    }
                    break;
                case OutField::kAliasCount:
                    v = Value::integer(o.alias == cur_alias ? 1 : b[o.alias].count);
                    break;
                default:
                    break;
            }
            new (&slots[i]) Value(v);
        }
        return Row{slots, out_schema_, ts, match_type_, nullptr, 0};
    }

    /// A completed run: one match, or the subsets of its deferred Kleene step (§9.4 d).
    /// `sink` receives each row in order.
    template <class Sink>
    void complete_rows(const Run& r, const Binding* b, Arena& scratch, Sink&& sink) {
        if (r.deferred.empty()) {
            sink(make_row(b, r.t0, r.last_ts, now_, scratch));
            return;
        }
        int32_t ds = -1;
        for (int32_t s = 0; s < n_steps_; ++s)
            if (steps_[s].deferred) ds = s;
        const StepInfo& st = steps_[ds];
        int32_t a = st.alias;
        const std::vector<uint32_t>& c = r.deferred;
        size_t m = c.size();
        // ok[i * m + j]: c[j] may follow c[i] (whole predicate, own alias = c[i]).
        std::vector<char> ok(m * m, 0);
        std::vector<Binding> pb(b, b + n_aliases_);
        for (size_t i = 0; i < m; ++i) {
            pb[a].ev = c[i];
            pb[a].count = static_cast<uint32_t>(i + 1);
            for (size_t j = i + 1; j < m; ++j) {
                load_aliases(pb.data());
                ok[i * m + j] = test_step(ds, view(c[j]));
            }
        }
        // Number of valid subsequences starting at i (saturating).
        std::vector<uint64_t> chains(m, 0);
        uint64_t total = 0;
        auto sat_add = [](uint64_t x, uint64_t y) { return x + y < x ? std::numeric_limits<uint64_t>::max() : x + y; };
        for (size_t i = m; i-- > 0;) {
            uint64_t v = 1;
            for (size_t j = i + 1; j < m; ++j)
                if (ok[i * m + j]) v = sat_add(v, chains[j]);
            chains[i] = v;
            total = sat_add(total, v);
        }
        size_t emitted = 0;
        std::vector<uint32_t> path;
        std::vector<Binding> mb(b, b + n_aliases_);
        // Depth first, "take" before "skip": every extension of a path precedes the path.
        std::function<void()> rec = [&]() {
            size_t last = path.back();
            for (size_t j = last + 1; j < m && emitted < kMaxMatchesPerEvent; ++j) {
                if (!ok[last * m + j]) continue;
                path.push_back(static_cast<uint32_t>(j));
                rec();
                path.pop_back();
            }
            if (emitted >= kMaxMatchesPerEvent) return;
            mb[a].ev = c[path.back()];
            mb[a].count = static_cast<uint32_t>(path.size());
            sink(make_row(mb.data(), r.t0, r.last_ts, now_, scratch));
            ++emitted;
        };
        for (size_t i = 0; i < m && emitted < kMaxMatchesPerEvent; ++i) {
            path.assign(1, static_cast<uint32_t>(i));
            rec();
        }
        if (total > emitted) dropped_ += total - emitted;
    }

    // ------------------------------------------------------------ partitions

    Partition* find_partition(const Row& row, bool create) {
        if (!partitioned_) return &parts_[0];
        int32_t slot = row.schema >= 0 && static_cast<size_t>(row.schema) < part_slot_.size() ? part_slot_[row.schema] : -1;
        const Value* v = slot >= 0 && row.slots[slot].present() ? &row.slots[slot] : nullptr;
        // Int keys: a cache in front of the string-form index (an int has one string form).
        bool int_key = v && v->kind == ValueKind::Int;
        bool small = int_key && v->i >= 0 && v->i < kSmallKeys;
        if (small && static_cast<size_t>(v->i) < small_part_.size() && small_part_[static_cast<size_t>(v->i)] != kNone)
            return &parts_[small_part_[static_cast<size_t>(v->i)]];
        if (int_key) {
            auto ci = int_part_.find(v->i);
            if (ci != int_part_.end()) {
                if (small) remember_small(v->i, ci->second);
                return &parts_[ci->second];
            }
        }
        // String keys: a cache by content hash in front of the index (no key string to build
        // and hash per event); a hit compares the bytes, so equal strings meet whatever their copy.
        StrPart* sc = nullptr;
        if (v && v->kind == ValueKind::Str) {
            const StrObj* str = v->s;
            sc = &str_part_[str->hash & (kStrParts - 1)];
            if (sc->idx != kNone && sc->key == str->view()) return &parts_[sc->idx];
        }
        key_buf_.clear();
        if (v) append_partition_key(key_buf_, *v);
        uint32_t idx;
        auto it = part_index_.find(key_buf_);
        if (it != part_index_.end()) {
            idx = it->second;
        } else {
            if (!create) return nullptr;
            idx = static_cast<uint32_t>(parts_.size());
            parts_.emplace_back();
            part_index_.emplace(key_buf_, idx);
        }
        if (int_key) int_part_.emplace(v->i, idx);
        if (small) remember_small(v->i, idx);
        if (sc) {
            sc->idx = idx;
            sc->key = key_buf_;  // a string's partition key is the string itself
        }
        return &parts_[idx];
    }

    void remember_small(int64_t k, uint32_t idx) {
        if (small_part_.size() <= static_cast<size_t>(k)) small_part_.resize(static_cast<size_t>(k) + 1, kNone);
        small_part_[static_cast<size_t>(k)] = idx;
    }

    uint32_t partition_id(const Partition* P) const { return static_cast<uint32_t>(P - parts_.data()); }

    // ------------------------------------------------------------ 1. expiry

    void expire(Arena& scratch) {
        confirmed_.clear();
        while (!expiry_.empty() && expiry_.top().first < now_) {
            uint32_t p = expiry_.top().second;
            expiry_.pop();
            Partition& P = parts_[p];
            if (P.swept_at == event_no_) continue;
            P.swept_at = event_no_;
            if (!P.dnodes.empty()) dag_expire(P);
            for (size_t i = 0; i < P.runs.size(); ++i) {
                Run& r = P.runs[i];
                if (r.dead || r.deadline >= now_) continue;
                if (trailing_neg_ && r.complete) {
                    const Binding* b = (P.binds.data() + (i * n_aliases_));
                    int64_t ts = r.t0 + within_;
                    complete_rows(r, b, scratch, [&](Row row) {
                        row.ts = ts;
                        confirmed_.push_back({r.seq, row});
                    });
                }
                kill(P, r);
            }
            compact(P);
        }
        if (confirmed_.empty()) return;
        std::stable_sort(confirmed_.begin(), confirmed_.end(),
                         [](const Confirmed& x, const Confirmed& y) { return x.seq < y.seq; });
    }

    // ------------------------------------------------------------ 2. negation

    bool negation_applies(const Negation& n, const Run& r) const {
        if (n.after_step < 0) return true;
        return r.pos >= n.lo && r.pos <= n.after_step;
    }

    void negate() {
        for (size_t ni = 0; ni < negs_.size(); ++ni) {
            const Negation& n = negs_[ni];
            if (n.type_id != cur_row_->schema) continue;
            for (Partition& P : parts_) {
                for (size_t i = 0; i < P.runs.size(); ++i) {
                    Run& r = P.runs[i];
                    if (r.dead || !negation_applies(n, r)) continue;
                    if (!negation_holds(ni, P.binds.data() + (i * n_aliases_))) continue;
                    kill(P, r);
                }
            }
        }
        for (Partition& P : parts_) compact(P);
    }

    // ------------------------------------------------------------ run transitions

    /// Run `r` takes the current event for step `s` (entering it, or another Kleene iteration).
    void take(Run& r, Binding* b, int32_t s, bool again) {
        const StepInfo& st = steps_[s];
        uint32_t ev = cur_ev();
        if (again) {
            ++r.step_count;
        } else {
            r.pos = s;
            r.step_count = 1;
            if (st.deferred) {
                for (uint32_t e : r.deferred) unref(e);
                r.deferred.clear();
            }
        }
        bind(b, st.alias, ev, again && st.alias >= 0 ? b[st.alias].count + 1 : 1);
        if (st.deferred) {
            ref(ev);
            r.deferred.push_back(ev);
        }
        r.last_ts = now_;
    }

    /// Another event for the run's current Kleene step (it qualified): taken, unless the
    /// step's cap is reached, which counts a drop and sets `capped`.
    void take_again(Run& r, Binding* b, bool& took, bool& capped, int32_t& s_taken) {
        if (steps_[r.pos].capped && r.step_count >= kMaxKleene) {
            ++dropped_;
            capped = true;
            return;
        }
        take(r, b, r.pos, true);
        took = true;
        s_taken = r.pos;
    }

    /// The transition kernel's decision `d` for run `r` (trans()) carried out: the Kleene
    /// step again, step `d`, or nothing (kSeqNone).
    void take_decided(Run& r, Binding* b, int32_t d, bool& took, bool& capped, int32_t& s_taken) {
        if (d == kSeqAgain) {
            take_again(r, b, took, capped, s_taken);
        } else if (d >= 0) {
            take(r, b, d, false);
            took = true;
            s_taken = d;
        }
    }

    enum class After { Live, Done };

    /// After `take`: completion handling. Emits through `sink`; returns whether the run stays.
    template <class Sink>
    After after_take(Run& r, const Binding* b, int32_t s, bool was_complete, Arena& scratch, Sink&& sink) {
        if (!was_complete) {
            if (s < last_required_) return After::Live;
            r.complete = true;
            if (trailing_neg_) return After::Live;  // waits for the deadline
            complete_rows(r, b, scratch, sink);
            return steps_[s].alive_after ? After::Live : After::Done;
        }
        if (trailing_neg_) return After::Live;  // pending run absorbing its Kleene step
        complete_rows(r, b, scratch, sink);
        return After::Live;
    }

    // ------------------------------------------------------------ default / strict (Sequence)

    void advance_next(Partition& P, std::vector<Row>& out, Arena& scratch) {
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

    /// The step a new run would enter on the current event (§9.2 step 4), or -1.
    int32_t start_step() {
        if (trans_) {
            // The kernel tests the types too; this only saves the call for the other types.
            int32_t sch = cur_row_->schema;
            if (sch < 0 || static_cast<size_t>(sch) >= start_type_.size() || !start_type_[static_cast<size_t>(sch)]) return -1;
            return trans(-1, empty_binds_.data(), 0, -1);
        }
        for (int32_t s = 0; s < n_start_; ++s) {
            // (the type test first: qualifies' own, without the call)
            if (cur_row_->schema == steps_[s].type_id && qualifies(s, empty_binds_.data(), false)) return s;
            if (!steps_[s].optional) break;
        }
        return -1;
    }

    void start_next(Partition& P, std::vector<Row>& out, Arena& scratch) {
        auto sink = [&](Row row) { out.push_back(row); };
        int32_t s = start_step();
        if (s < 0) return;
        bool stays = s < last_required_ || trailing_neg_ || steps_[s].alive_after;
        if (stays && P.runs.size() >= kMaxRuns) {
            ++dropped_;
            return;
        }
        Run r;
        r.seq = next_seq_++;
        r.t0 = now_;
        r.deadline = has_within_ ? now_ + within_ : kNoDeadline;
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

    void advance_and(Partition& P, std::vector<Row>& out, Arena& scratch) {
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

    /// And/Or: the first operand not in `taken` that the current event qualifies for, or -1.
    int32_t and_operand(uint32_t taken, const Binding* b) {
        if (trans_) return trans(static_cast<int32_t>(taken), b, 0, -1);
        for (int32_t k = 0; k < n_steps_; ++k) {
            if (taken & (1u << k)) continue;
            if (qualifies(k, b, false)) return k;
        }
        return -1;
    }

    void start_and(Partition& P, std::vector<Row>& out, Arena& scratch) {
        // skip_till_any_match starts a run per qualifying operand: its own loop.
        const bool any = strategy_ == Strategy::SkipTillAnyMatch;
        for (int32_t k = any ? 0 : and_operand(0, empty_binds_.data()); k >= 0 && k < n_steps_; ++k) {
            if (any && !qualifies(k, empty_binds_.data(), false)) continue;
            Run r;
            r.seq = next_seq_++;
            r.t0 = now_;
            r.last_ts = now_;
            r.deadline = has_within_ ? now_ + within_ : kNoDeadline;
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

    // ------------------------------------------------------------ skip_till_any_match

    /// A copy of run i (new references), taking the current event for step s.
    void branch(Partition& P, size_t i, int32_t s, bool again, std::vector<Run>& new_runs,
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

    std::vector<Run> new_runs_;
    std::vector<Binding> new_binds_;

    void append_new_runs(Partition& P) {
        for (size_t k = 0; k < new_runs_.size(); ++k) {
            P.runs.push_back(std::move(new_runs_[k]));
            P.binds.insert(P.binds.end(), new_binds_.begin() + k * n_aliases_,
                           new_binds_.begin() + (k + 1) * n_aliases_);
        }
        new_runs_.clear();
        new_binds_.clear();
    }

    void step_any(Partition& P, Arena& scratch) {
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
                    Run r;
                    r.seq = next_seq_++;
                    r.t0 = now_;
                    r.deadline = has_within_ ? now_ + within_ : kNoDeadline;
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

    void branch_and(Partition& P, size_t i, int32_t k, Arena& scratch) {
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

    void start_and_any(Partition& P, Arena& scratch) {
        for (int32_t k = 0; k < n_steps_; ++k) {
            if (!qualifies(k, empty_binds_.data(), false)) continue;
            Run r;
            r.seq = next_seq_++;
            r.t0 = now_;
            r.last_ts = now_;
            r.deadline = has_within_ ? now_ + within_ : kNoDeadline;
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

    void flush_completions(std::vector<Row>& out) {
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

    // ------------------------------------------------------------ compact skip_till_any_match

    bool dag_ = false;
    std::vector<std::vector<char>> dmask_;  // per step: aliases a node of that step keeps
    std::vector<std::vector<int32_t>> dkeep_;  // the same as a list, without the step's own alias
    std::vector<uint64_t> dwants_;             // per schema: step_dag's `wants` before pruning
    struct DTrans {
        uint32_t node;
        int32_t step;
    };
    std::vector<DTrans> dtrans_;
    std::vector<uint32_t> dtable_;       // per event: new node by state (open addressing)
    mutable std::vector<uint32_t> dstack_;       // enumeration: nodes from the completing one back
    mutable std::vector<uint32_t> dedge_it_;     // enumeration: next edge to follow per stack level
    mutable std::vector<uint32_t> dpath_buf_;    // completions: forward node paths, concatenated
    struct DComp {
        uint32_t off, len;
        Row row;
    };
    std::vector<DComp> dcomps_;
    std::vector<uint32_t> dorder_;
    std::vector<Binding> dbind_tmp_;

    /// The compact mode covers plain linear sequences: every step `One` or a middle `+`, no
    /// negation, aliases bound by one step each and read (never their `len`) only by later or
    /// own steps. Anything else keeps plain runs.
    void setup_dag() {
        if (form_ != ir::Nfa::Form::Sequence || strategy_ != Strategy::SkipTillAnyMatch) return;
        if (!g_compact_any_match.load(std::memory_order_relaxed)) return;
        if (!negs_.empty() || trailing_neg_ || n_steps_ < 2) return;
        if (steps_[0].q != Quantifier::One || steps_[n_steps_ - 1].q != Quantifier::One) return;
        std::vector<int32_t> bound_at(n_aliases_, -1);
        for (int32_t s = 0; s < n_steps_; ++s) {
            const StepInfo& st = steps_[s];
            if (st.q != Quantifier::One && st.q != Quantifier::Plus) return;
            if (st.alias >= 0) {
                if (static_cast<size_t>(st.alias) >= n_aliases_ || bound_at[st.alias] >= 0) return;
                bound_at[st.alias] = s;
            }
        }
        std::vector<std::vector<char>> reads(n_steps_, std::vector<char>(n_aliases_, 0));
        for (int32_t s = 0; s < n_steps_; ++s) {
            bool len = false;
            if (steps_[s].full) alias_reads(*steps_[s].full, reads[s], len);
            if (steps_[s].first) alias_reads(*steps_[s].first, reads[s], len);
            if (len) return;
            if ((steps_[s].full && has_effects(*steps_[s].full)) || (steps_[s].first && has_effects(*steps_[s].first))) return;
            for (size_t a = 0; a < n_aliases_; ++a)
                if (reads[s][a] && (bound_at[a] < 0 || bound_at[a] > s)) return;
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
    void setup_prune() {
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

    /// Per step, how the node scan tests a node's transitions on the current event: the
    /// variants are known per step (a Kleene node's own alias is always bound), so flat
    /// predicates are tested directly; the rest goes through dag_qualifies.
    struct DScan {
        enum Kind : uint8_t { kGeneral, kFlat, kAlways, kNever };
        Kind again = kGeneral, next = kGeneral;
        const PatternPred* again_pred = nullptr;
        const PatternPred* next_pred = nullptr;
    };
    std::vector<DScan> dscan_;
    // A Kleene step 1 whose predicate reads only the first step's alias (`price > first.price`):
    // a root's test for entering step 1 and its step-1 nodes' tests for another iteration are
    // the same predicate on the same binding, so the nodes reuse the root's verdict
    // (dverdict_, by node index: event_no_ << 1 | verdict).
    bool dshare_root_ = false;
    std::vector<uint64_t> dverdict_;
    // See setup_prune.
    bool dprune_ = false;
    uint32_t dprune_field_ = 0;  // slot of x in the event (steps 1 and 2 share its type)
    uint32_t dprune_first_ = 0;  // slot of y in first's event
    bool dprune_up_ = false;     // x > first.y or x >= first.y (else < or <=)
    bool dprune_eq_ = false;     // >= or <=

    static bool prune_key_less(const Value& a, const Value& b) {
        return a.kind == ValueKind::Int ? a.i < b.i : a.f < b.f;
    }

    /// The range of P.dsorted whose roots pass `x OP first.y` for an x of kind dsort_kind
    /// (the others fail it, see setup_prune).
    std::pair<size_t, size_t> prune_range(const Partition& P, const Value& x) const {
        const auto& v = P.dsorted;
        if (x.kind == ValueKind::Float && std::isnan(x.f)) return {0, 0};  // fails every comparison
        auto lt = [](const Partition::DSorted& e, const Value& k) { return prune_key_less(e.key, k); };
        auto gt = [](const Value& k, const Partition::DSorted& e) { return prune_key_less(k, e.key); };
        size_t lb = static_cast<size_t>(std::lower_bound(v.begin(), v.end(), x, lt) - v.begin());
        size_t ub = static_cast<size_t>(std::upper_bound(v.begin(), v.end(), x, gt) - v.begin());
        if (dprune_up_) return {0, dprune_eq_ ? ub : lb};  // y < x (or y <= x)
        return {dprune_eq_ ? lb : ub, v.size()};           // y > x (or y >= x)
    }

    /// A root stops being prunable (a Kleene node of another kind of x).
    void unprune(Partition& P, uint32_t root) {
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

    /// The kind a root records for pruning (see setup_prune): ints and floats only.
    static uint8_t prune_kind_of(const Value& v) {
        return v.kind == ValueKind::Int || v.kind == ValueKind::Float ? static_cast<uint8_t>(v.kind) : kNoPrune;
    }

    [[gnu::always_inline]] bool scan_test(DScan::Kind k, const PatternPred* fp, int32_t s, const Binding* b, bool again, int32_t node_step) {
        switch (k) {
            case DScan::kFlat: return cur_row_->schema == steps_[s].type_id && flat_verdict(*fp, s, b, again);
            case DScan::kAlways: return cur_row_->schema == steps_[s].type_id;
            case DScan::kNever: return false;
            default: return dag_qualifies(s, b, again, node_step);
        }
    }

    // Per event, a predicate's verdict depends only on the bindings it reads: nodes of one
    // root share them (e.g. `price > first.price`), so verdicts are cached by those bindings.
    struct DMemo {
        uint64_t stamp = 0;  // event_no_ of the entry (0: empty)
        uint32_t variant = 0;
        uint32_t e0 = kNone, e1 = kNone;
        bool result = false;
    };
    std::vector<DMemo> dmemo_;
    std::vector<DMemo> dmemo0_;  // by variant, for predicates that read no alias

    bool dag_qualifies(int32_t s, const Binding* b, bool again, int32_t node_step) {
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
    void dag_add(Partition& P, uint32_t pred, int32_t step) {
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

    /// Writes every path from a root to node `n` (forward) to dpath_buf_, calling
    /// `fn(offset, length)` for each.
    template <class Fn>
    void dag_paths_to(const Partition& P, uint32_t n, Fn&& fn) const {
        dstack_.clear();
        dstack_.push_back(n);
        dedge_it_.clear();
        dedge_it_.push_back(P.dnodes[n].pred_head);
        while (!dstack_.empty()) {
            uint32_t top = dstack_.back();
            if (P.dnodes[top].pred_head == kNone) {  // a root: one whole path
                size_t off = dpath_buf_.size();
                dpath_buf_.insert(dpath_buf_.end(), dstack_.rbegin(), dstack_.rend());
                fn(static_cast<uint32_t>(off), static_cast<uint32_t>(dstack_.size()));
                dstack_.pop_back();
                dedge_it_.pop_back();
                continue;
            }
            uint32_t& e = dedge_it_.back();
            if (e == kNone) {
                dstack_.pop_back();
                dedge_it_.pop_back();
                continue;
            }
            const DEdge& E = P.dedges[e];
            e = E.next;
            dstack_.push_back(E.pred);
            dedge_it_.push_back(P.dnodes[E.pred].pred_head);
        }
    }

    /// The bindings of the run that followed `path` (forward, `len` nodes).
    void dag_path_binds(const Partition& P, const uint32_t* path, uint32_t len, Binding* b) const {
        std::fill_n(b, n_aliases_, Binding{});
        for (uint32_t i = 0; i < len; ++i) {
            const DNode& N = P.dnodes[path[i]];
            int32_t a = steps_[N.step].alias;
            if (a < 0) continue;
            bool again = i > 0 && P.dnodes[path[i - 1]].step == N.step;
            b[a] = Binding{N.ev, again ? b[a].count + 1 : 1};
        }
    }

    /// §9.10 order of two completions (paths of the same event): positions, then steps.
    bool dag_path_less(const Partition& P, const DComp& x, const DComp& y) const {
        uint32_t n = std::min(x.len, y.len);
        for (uint32_t i = 0; i < n; ++i) {
            const DNode& a = P.dnodes[dpath_buf_[x.off + i]];
            const DNode& b = P.dnodes[dpath_buf_[y.off + i]];
            if (a.pos != b.pos) return a.pos < b.pos;
            if (a.step != b.step) return a.step < b.step;
        }
        return x.len > y.len;  // the completing event comes after every node: extensions first
    }

    /// Creation order of the plain runs two paths stand for (§9.2 run lists): by the event of
    /// their last node; at one event branches by their parents' order, then "again" before
    /// "next", and a start after every branch.
    bool dag_created_before(const Partition& P, const uint32_t* x, uint32_t lx, const uint32_t* y, uint32_t ly) const {
        uint32_t i = lx, j = ly;
        while (i > 0 && j > 0) {
            --i;
            --j;
            const DNode& a = P.dnodes[x[i]];
            const DNode& b = P.dnodes[y[j]];
            if (a.pos != b.pos) return a.pos < b.pos;
            if (i == 0 || j == 0) {
                if (i == 0 && j == 0) break;
                return j == 0;  // x is a branch, y a start of the same event
            }
        }
        for (uint32_t k = 0; k < lx && k < ly; ++k) {
            int32_t sa = P.dnodes[x[k]].step, sb2 = P.dnodes[y[k]].step;
            if (sa != sb2) return sa < sb2;
        }
        return false;
    }

    /// The plain runs the live nodes of P stand for, in creation order; `fn(run, binds)`.
    template <class Fn>
    void dag_runs(const Partition& P, Fn&& fn) const {
        dpath_buf_.clear();
        std::vector<std::pair<uint32_t, uint32_t>> paths;
        for (uint32_t n = 0; n < P.dnodes.size(); ++n) {
            if (P.dnodes[P.dnodes[n].root].dead) continue;
            dag_paths_to(P, n, [&](uint32_t off, uint32_t len) { paths.emplace_back(off, len); });
        }
        std::stable_sort(paths.begin(), paths.end(), [&](const auto& x, const auto& y) {
            return dag_created_before(P, dpath_buf_.data() + x.first, x.second, dpath_buf_.data() + y.first, y.second);
        });
        std::vector<Binding> b(n_aliases_);
        for (const auto& [off, len] : paths) {
            const uint32_t* path = dpath_buf_.data() + off;
            const DNode& root = P.dnodes[path[0]];
            const DNode& last = P.dnodes[path[len - 1]];
            Run r;
            r.t0 = root.ts;
            r.last_ts = last.ts;
            r.deadline = root.deadline;
            r.pos = last.step;
            r.step_count = 0;
            for (uint32_t i = len; i-- > 0 && P.dnodes[path[i]].step == last.step;) ++r.step_count;
            for (uint32_t i = 0; i < len; ++i) r.positions.push_back(P.dnodes[path[i]].pos);
            dag_path_binds(P, path, len, b.data());
            fn(std::move(r), b.data());
        }
        dpath_buf_.clear();
    }

    /// Drops every node (their event references); the partition keeps no compact state.
    void dag_clear(Partition& P) {
        for (const DNode& N : P.dnodes) unref(N.ev);
        P.dnodes.clear();
        P.droots.clear();
        P.dexp_from = 0;
        P.droots_sorted = true;
        P.dsorted.clear();
        P.dnoprune = 0;
        P.dbinds.clear();
        P.dedges.clear();
        std::fill(P.dstep_n.begin(), P.dstep_n.end(), 0u);
        P.ddead = 0;
        P.dpaths = 0;
    }

    /// Back to plain runs, in creation order, before an event that could reach a run cap.
    void dag_materialize(Partition& P) {
        dag_runs(P, [&](Run&& r, const Binding* b) {
            r.seq = next_seq_++;
            push_run(P, std::move(r), b);
        });
        dag_clear(P);
        P.materialized = true;
    }

    /// Expiry (§9.5) of P's roots; their nodes go at the next compaction.
    void dag_expire(Partition& P) {
        // Deadlines usually arrive in order: then only the roots from the first live one up to
        // the first that stays need a look.
        size_t i = P.droots_sorted ? P.dexp_from : 0;
        for (; i < P.droots.size(); ++i) {
            DNode& N = P.dnodes[P.droots[i]];
            if (!N.dead && N.deadline < now_) {
                N.dead = true;
                P.dpaths -= N.root_paths;
                P.ddead += N.nnodes;
            } else if (!N.dead && P.droots_sorted) {
                break;
            }
        }
        if (P.droots_sorted) P.dexp_from = i;
        if (P.ddead == P.dnodes.size()) {
            dag_clear(P);
        } else if (P.ddead >= 8 && P.ddead * 2 >= P.dnodes.size()) {
            dag_compact(P);
        }
    }

    std::vector<uint32_t> dremap_;
    // dag_compact's output, swapped with the partition's arrays: both keep their capacity, so
    // the nodes added after a compaction do not regrow them (malloc, copy, free) every time.
    std::vector<DNode> dc_nodes_;
    std::vector<Binding> dc_binds_;
    std::vector<DEdge> dc_edges_;

    void dag_compact(Partition& P) {
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

    /// What step_dag's node scan accumulates: the steps it visits, and the runs the
    /// transitions found so far add (new_paths) or complete (comps).
    struct DScanState {
        uint64_t wants = 0;
        uint64_t new_paths = 0, comps = 0;
    };

    /// step_dag's scan of node n: its transitions on the current event go to dtrans_.
    [[gnu::always_inline]] void dag_visit(const Partition& P, uint32_t n, DScanState& sc) {
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
    void step_dag(Partition& P, std::vector<Row>& out, Arena& scratch) {
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
            d.deadline = has_within_ ? now_ + within_ : kNoDeadline;
            d.npaths = 1;
            d.root_paths = 1;
            d.ev = cur_ev();
            ref(d.ev);
            d.root = n;
            d.nnodes = 1;
            d.tail = n;
            d.step = 0;
            if (dprune_) {
                const Value& y = cur_row_->slots[dprune_first_];
                uint8_t k = prune_kind_of(y);
                if (k != kNoPrune && y.kind == ValueKind::Float && std::isnan(y.f)) k = kNoPrune;
                if (k != kNoPrune && P.dsorted.empty()) P.dsort_kind = k;
                if (k != P.dsort_kind) k = kNoPrune;
                d.prune_kind = k;
                if (k == kNoPrune) {
                    ++P.dnoprune;
                } else {
                    auto at = std::upper_bound(P.dsorted.begin(), P.dsorted.end(), y,
                                               [](const Value& key, const Partition::DSorted& e) { return prune_key_less(key, e.key); });
                    P.dsorted.insert(at, Partition::DSorted{y, n});
                }
            }
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

    // ------------------------------------------------------------ Or

    void on_or(std::vector<Row>& out, Arena& scratch) {
        int32_t k = and_operand(0, empty_binds_.data());
        if (k < 0) return;
        tmp_binds_.assign(n_aliases_, Binding{});
        if (steps_[k].alias >= 0) tmp_binds_[steps_[k].alias] = {cur_ev(), 1};
        out.push_back(make_row(tmp_binds_.data(), now_, now_, now_, scratch));
    }

    // ------------------------------------------------------------ indexed mode (default strategy)

    void setup_index(size_t ns) {
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
            idx_by_type_[st.type_id].push_back(k);
        }
    }

    Binding* sb(uint32_t si) {
        return n_aliases_ <= 2 ? slots_[si].inl : sbinds_.data() + static_cast<size_t>(si) * n_aliases_;
    }

    /// ExprOp::Field on the current row (as eval does).
    Value field_value(const Expr& e) const {
        for (uint32_t s : e.slots) {
            const Value& v = cur_row_->slots[s];
            if (v.present()) return v;
        }
        if (e.index >= 0 && static_cast<size_t>(e.index) < rt_.globals.size()) return rt_.globals[e.index];
        return Value::absent();
    }

    /// ExprOp::AliasField over bindings `b` (as eval does).
    Value alias_value(const Expr& e, const Binding* b) const {
        if (e.index < 0 || e.slots.empty() || static_cast<size_t>(e.index) >= n_aliases_) return Value::absent();
        uint32_t id = b[e.index].ev;
        if (id == kNone) return Value::absent();
        const Ev& ev = evs_[id];
        if (e.slot_schema >= 0 && ev.schema != e.slot_schema && !e.names.empty()) {
            int s = plan_.schemas[static_cast<size_t>(ev.schema)].slot_of(e.names[0]);
            return s >= 0 ? ev_slots(id)[s] : Value::absent();
        }
        return e.slots[0] < ev.n ? ev_slots(id)[e.slots[0]] : Value::absent();
    }

    /// Hash of a bucket key: equal keys (values_equal, so 1 and 1.0) hash alike. Ints, and
    /// floats equal to one (float_as_int's test), skip the out-of-line hash_value.
    static uint64_t key_hash(const Value& key) {
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

    static uint64_t bucket_hash(uint32_t part, int32_t step, const Value& key) {
        return mix64(key_hash(key) + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(part) + 1) +
                     0xC2B2AE3D27D4EB4FULL * (static_cast<uint64_t>(step) + 1));
    }

    /// Does slot `u` (waiting in a bucket) wait for (part, step, key)?
    bool slot_waits_for(uint32_t u, uint64_t h, uint32_t part, int32_t step, const Value& key) const {
        const Slot& S = slots_[u];
        if (S.khash != h || S.part != part || S.wait != step) return false;
        // Int keys (the common case) compare inline; values_equal would say the same.
        if (S.key.kind == ValueKind::Int && key.kind == ValueKind::Int) return S.key.i == key.i;
        return values_equal(S.key, key);
    }

    /// Table index of the bucket of (part, step, key), or -1.
    int64_t tfind(uint64_t h, uint32_t part, int32_t step, const Value& key) const {
        if (table_.empty()) return -1;
        size_t mask = table_.size() - 1;
        uint32_t h32 = static_cast<uint32_t>(h);
        for (size_t i = h32 & mask;; i = (i + 1) & mask) {
            const TEntry& t = table_[i];
            if (t.head == kNone) return -1;
            if (t.h == h32 && slot_waits_for(t.head, h, part, step, key)) return static_cast<int64_t>(i);
        }
    }

    size_t tplace(uint32_t h32) const {
        size_t mask = table_.size() - 1;
        size_t i = h32 & mask;
        while (table_[i].head != kNone) i = (i + 1) & mask;
        return i;
    }

    /// Table index of the bucket of (part, step, key), inserted (empty list) when missing: one
    /// probe sequence for both. The caller puts a run in its list at once.
    size_t tfind_or_insert(uint64_t h, uint32_t part, int32_t step, const Value& key) {
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
    void terase(size_t i) {
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
    void list_insert(uint32_t& head, uint32_t& tail, uint32_t si) {
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

    void list_remove(uint32_t& head, uint32_t& tail, uint32_t si) {
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
    void bucket_insert(TEntry& t, uint32_t si) {
        uint32_t head = t.head;
        uint32_t tail = head == kNone ? kNone : slots_[head].btail;
        list_insert(head, tail, si);
        t.head = head;
        slots_[head].btail = tail;
    }

    void bucket_remove(TEntry& t, uint32_t si) {
        uint32_t head = t.head;
        uint32_t tail = slots_[head].btail;
        list_remove(head, tail, si);
        t.head = head;
        if (head != kNone) slots_[head].btail = tail;
    }

    /// Puts a live run where the events that can advance it will find it.
    void link(uint32_t si) {
        Slot& S = slots_[si];
        const Run& r = S.r;
        S.wait = kWaitNone;
        const StepInfo& cur = steps_[r.pos];
        if (trailing_neg_ && r.complete && !cur.kleene) return;  // waits for its deadline only
        int32_t k = r.pos + 1;
        if (!cur.kleene && k < n_steps_ && idx_[k].ok) {
            Value key = alias_value(*idx_[k].alias_field, sb(si));
            if (!key.present()) return;  // `field == absent` never holds: the run cannot advance
            uint64_t h = bucket_hash(S.part, k, key);
            size_t bi = tfind_or_insert(h, S.part, k, key);
            Slot& S2 = slots_[si];
            S2.wait = k;
            S2.khash = h;
            S2.key = key;
            bucket_insert(table_[bi], si);
            return;
        }
        S.wait = kWaitScan;
        Partition& P = parts_[S.part];
        list_insert(P.scan_head, P.scan_tail, si);
    }

    void unlink(uint32_t si) {
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

    uint32_t alloc_slot(uint32_t part) {
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
        std::fill_n(sb(si), n_aliases_, Binding{});
        ++parts_[part].live;
        return si;
    }

    void kill_slot(uint32_t si) {
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

    void exp_push(const ExpItem& it) {
        if (fifo_.empty() || it.deadline >= fifo_.back().deadline) {
            fifo_.push_back(it);
            return;
        }
        eheap_.push_back(it);
        std::push_heap(eheap_.begin(), eheap_.end(), exp_later);
    }

    static bool exp_later(const ExpItem& x, const ExpItem& y) { return x.deadline > y.deadline; }

    /// §9.5 over every partition: the runs whose deadline passed (trailing-NOT ones confirmed).
    void expire_indexed(Arena& scratch) {
        confirmed_.clear();
        // Most events expire nothing: one look at the two fronts, and the prefetches below
        // (aimed at the next expiries) were already issued when the fronts last moved.
        if (!(!fifo_.empty() && fifo_.front().deadline < now_) &&
            !(!eheap_.empty() && eheap_.front().deadline < now_))
            return;
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

    void negate_indexed() {
        for (size_t ni = 0; ni < negs_.size(); ++ni) {
            const Negation& n = negs_[ni];
            if (n.type_id != cur_row_->schema) continue;
            for (uint32_t si = 0; si < slots_.size(); ++si) {
                const Slot& S = slots_[si];
                if (!S.live || !negation_applies(n, S.r)) continue;
                if (!negation_holds(ni, sb(si))) continue;
                kill_slot(si);
            }
        }
    }

    /// Advance (§9.2 step 3) in partition `pid`: the runs of the buckets of the event's field
    /// values and of the scan list, oldest first.
    void advance_indexed(uint32_t pid, std::vector<Row>& out, Arena& scratch) {
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
            int32_t k = idx_by_type_[sch][0];
            uint32_t head = bucket_head(pid, k);
            for (uint32_t u = head; u != kNone;) {
                uint32_t next = slots_[u].next;
                advance_run(u, k, out, scratch);
                u = next;
            }
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

    /// First run of the bucket the current event's value selects for indexed step `k` in
    /// partition `pid` (kNone: no such bucket, or the event lacks the field).
    uint32_t bucket_head(uint32_t pid, int32_t k) {
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
    [[gnu::flatten]] bool finish_in_place(uint32_t si, int32_t s, std::vector<Row>& out, Arena& scratch) {
        Run& r = slots_[si].r;
        if (!ends_run_[static_cast<size_t>(s)] || r.complete || !r.deferred.empty()) return false;
        out.push_back(make_row(sb(si), r.t0, now_, now_, scratch, steps_[s].alias));
        kill_slot(si);
        return true;
    }

    /// Advance (§9.2 step 3) of the live run in slot `si` on the current event. `via`: the
    /// step whose bucket it was found in (its equality conjunct holds), -1: the scan list.
    void advance_run(uint32_t si, int32_t via, std::vector<Row>& out, Arena& scratch) {
        auto sink = [&](Row row) { out.push_back(row); };
        Run& r = slots_[si].r;
        Binding* b = sb(si);
        bool took = false;
        bool was_complete = r.complete;
        bool pending = trailing_neg_ && r.complete;
        int32_t s_taken = -1;
        int32_t old_pos = r.pos;
        const StepInfo& cur = steps_[r.pos];
        if (trans_) {
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
    [[gnu::flatten]] void start_indexed(uint32_t pid, std::vector<Row>& out, Arena& scratch) {
        auto sink = [&](Row row) { out.push_back(row); };
        int32_t s = start_step();
        if (s < 0) return;
        bool stays = s < last_required_ || trailing_neg_ || steps_[s].alive_after;
        if (stays && parts_[pid].live >= kMaxRuns) {
            ++dropped_;
            return;
        }
        uint32_t si = alloc_slot(pid);
        Run& r = slots_[si].r;
        Binding* b = sb(si);
        r.seq = next_seq_++;
        slot_seq_[si] = r.seq;
        r.t0 = now_;
        r.deadline = has_within_ ? now_ + within_ : kNoDeadline;
        take(r, b, s, false);
        if (has_within_) exp_push({r.deadline, r.seq, si});
        if (after_take(r, b, s, false, scratch, sink) == After::Done)
            kill_slot(si);
        else
            link(si);
    }

    // ------------------------------------------------------------ per event

    void set_trans_kernel(SeqTransKernel k, const ir::Expr* const* nodes, const Value* consts,
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

    void on_event(const Row& row, std::vector<Row>& out, Arena& scratch) {
        cur_row_ = &row;
        targs_.slots = row.slots;
        targs_.schema = row.schema;
        cur_ev_ = kNone;
        now_ = row.ts;
        ++event_no_;
        reported_ = 0;

        if (form_ == ir::Nfa::Form::Or) {
            on_or(out, scratch);
        } else {
            // 1. expiry (all partitions); trailing-NOT confirmations first, oldest run first.
            if (has_within_) {
                if (indexed_) {
                    // Most events expire nothing: one look at the two fronts, without the call.
                    if ((!fifo_.empty() && fifo_.front().deadline < now_) || (!eheap_.empty() && eheap_.front().deadline < now_))
                        expire_indexed(scratch);
                } else {
                    expire(scratch);
                }
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
            if (!negs_.empty()) {
                if (indexed_)
                    negate_indexed();
                else
                    negate();
            }
            // 3./4. advance and start in the event's partition.
            bool is_step = row.schema >= 0 && static_cast<size_t>(row.schema) < step_type_.size() &&
                           step_type_[row.schema];
            bool strict = strategy_ == Strategy::StrictContiguity;
            if (indexed_) {
                if (is_step) {
                    uint32_t pid = partitioned_ ? partition_id(find_partition(row, true)) : 0;
                    advance_indexed(pid, out, scratch);
                    start_indexed(pid, out, scratch);
                }
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
        if (cur_ev_ != kNone) unref(cur_ev_);
        cur_ev_ = kNone;
        cur_row_ = nullptr;
    }

    // ------------------------------------------------------------ checkpoints
    // Saved: counters, partition keys, the events bound by live runs (each once, numbered in
    // order of first reference), the live runs in creation order with their bindings, and the
    // pending expiries. Not saved: free lists, the equality index, scan lists and caches,
    // which load() rebuilds by linking the runs again, and per-event scratch.

    std::vector<const std::string*> partition_keys() const {
        std::vector<const std::string*> keys(parts_.size(), nullptr);
        for (const auto& [key, idx] : part_index_)
            if (idx < keys.size()) keys[idx] = &key;
        return keys;
    }

    void save_run(CheckpointWriter& w, const Run& r, const Binding* b, const std::vector<uint32_t>& table) const {
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

    void save(CheckpointWriter& w) const {
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
                if (parts_[p].dnodes.empty()) continue;
                dag_runs(parts_[p], [&](Run&& r, const Binding* b) {
                    r.seq = 0;
                    dag_run_store.push_back(std::move(r));
                    dag_bind_store.insert(dag_bind_store.end(), b, b + n_aliases_);
                });
            }
            first[parts_.size()] = dag_run_store.size();
            for (uint32_t p = 0; p < parts_.size(); ++p) {
                const Partition& P = parts_[p];
                for (size_t i = 0; i < P.runs.size(); ++i)
                    if (!P.runs[i].dead) live.push_back({p, &P.runs[i], P.binds.data() + i * n_aliases_});
                for (size_t i = first[p]; i < first[p + 1]; ++i)
                    live.push_back({p, &dag_run_store[i], dag_bind_store.data() + i * n_aliases_});
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
            w.count(pending.size());
            for (const HeapItem& it : pending) {
                w.i64(it.first);
                w.u32(it.second);
            }
        }
    }

    const Binding* sb_const(uint32_t si) const {
        return n_aliases_ <= 2 ? slots_[si].inl : sbinds_.data() + static_cast<size_t>(si) * n_aliases_;
    }

    bool alias_schema_ok(int32_t alias, int32_t schema) const {
        for (const auto& st : steps_)
            if (st.alias == alias && st.type_id == schema) return true;
        return false;
    }

    bool load_run(CheckpointReader& r, Run& run, Binding* b, const std::vector<uint32_t>& ids) {
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

    bool load(CheckpointReader& r) {
        dropped_ = r.u64();
        next_seq_ = r.u64();
        event_no_ = r.u64();
        bool indexed = r.boolean();
        uint32_t np = r.count(partitioned_ ? 4 : 0);
        if (!r.ok()) return false;
        if (indexed != indexed_) return r.fail("pattern matcher mode does not match");
        if (!partitioned_ && np != 1) return r.fail("unpartitioned pattern with several partitions");
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
        // Events no run binds (only in a forged blob) go back to the free list.
        for (uint32_t id : ids)
            if (evs_[id].refs == 0) free_evs_.push_back(id);
        return true;
    }

    size_t live_runs() const {
        size_t n = 0;
        for (const auto& P : parts_) n += indexed_ ? P.live : live_count(P) + P.dpaths;
        return n;
    }
};

// =====================================================================================

PatternMatcher::PatternMatcher(Runtime& rt, const ir::StreamPlan& stream, const ir::Operator& op)
    : impl_(std::make_unique<Impl>(rt, stream, op)) {}

PatternMatcher::~PatternMatcher() = default;

void PatternMatcher::on_event(const Row& row, std::vector<Row>& out, Arena& scratch) {
    impl_->on_event(row, out, scratch);
}

uint64_t PatternMatcher::dropped() const { return impl_->dropped_; }

void PatternMatcher::set_compact_any_match(bool on) { g_compact_any_match.store(on, std::memory_order_relaxed); }

void PatternMatcher::set_indexed_list_walk(bool on) { g_list_walk.store(on, std::memory_order_relaxed); }

void PatternMatcher::set_finish_in_place(bool on) { g_finish_in_place.store(on, std::memory_order_relaxed); }

void PatternMatcher::set_step_kernels(const std::vector<FilterKernel>* steps, const ir::Expr* const* nodes,
                                      const Value* consts) {
    impl_->step_kernels_ = steps ? *steps : std::vector<FilterKernel>{};
    impl_->kernel_nodes_ = nodes;
    impl_->kernel_consts_ = consts;
}

void PatternMatcher::set_trans_kernel(SeqTransKernel trans, const ir::Expr* const* nodes, const Value* consts,
                                      const std::vector<SeqTransKernel>* tests) {
    impl_->set_trans_kernel(trans, nodes, consts, tests);
}

bool PatternMatcher::has_trans_kernel() const { return impl_->trans_ != nullptr; }

uint64_t PatternMatcher::trans_calls() const { return impl_->trans_calls_; }

size_t PatternMatcher::live_runs() const { return impl_->live_runs(); }

void PatternMatcher::save(CheckpointWriter& w) const { impl_->save(w); }

bool PatternMatcher::load(CheckpointReader& r) { return impl_->load(r); }

}  // namespace varpulis::runtime
