#pragma once

// PatternMatcher::Impl, shared by runtime/pattern_*.cpp only: the state, the nested types and
// the per-event helpers every driver inlines. The drivers live in files per concern.

#include "runtime/pattern_matcher.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstring>
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
#include "runtime/two_ended_array.hpp"
#include "runtime/id_stack.hpp"
#include "runtime/pattern_pred.hpp"
#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

using ir::Expr;
using ir::ExprOp;
using ir::ExprPtr;
using ir::Quantifier;
using ir::Strategy;

// Test switches (PatternMatcher::set_*): one instance shared by every pattern_*.cpp.
inline std::atomic<bool> g_compact_any_match{true};
inline std::atomic<bool> g_stack_any_match{true};
inline std::atomic<bool> g_list_walk{true};
inline std::atomic<bool> g_finish_in_place{true};
inline std::atomic<bool> g_indexed_shortcuts{true};

namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();

/// Marks in `mask` the aliases `e` reads through AliasField; `len` set when it reads AliasLen.
inline void alias_reads(const Expr& e, std::vector<char>& mask, bool& len) {
    if (e.op == ExprOp::AliasLen) len = true;
    if (e.op == ExprOp::AliasField && e.index >= 0 && static_cast<size_t>(e.index) < mask.size()) mask[e.index] = 1;
    for (const auto& a : e.args)
        if (a) alias_reads(*a, mask, len);
}

/// `pred` rebuilt from the top-level conjuncts that `keep` accepts; null when none is left
/// (always true).
template <class Keep>
inline ExprPtr conjuncts_if(const ExprPtr& pred, Keep keep) {
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
inline ExprPtr conjuncts_without(const ExprPtr& pred, int32_t alias) {
    return conjuncts_if(pred, [alias](const Expr& c) { return !ir::expr_reads_alias(c, alias); });
}

inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/// The conjuncts of `pred` other than `skip`.
inline ExprPtr conjuncts_except(const ExprPtr& pred, const Expr* skip) {
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
        Value* dst = reinterpret_cast<Value*>(reinterpret_cast<std::byte*>(&e) + sizeof(Ev));
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

    // Stack mode of the compact form (setup_stacks): when no step predicate reads an alias,
    // an event's verdict for a step is the same for every run, so a run is any chain of
    // qualifying events in arrival order, one or more per Kleene step, starting at a live
    // root. The matcher keeps only the roots and, per middle step, the events that
    // qualified while some run could take them (the active instance stacks of SASE+);
    // a completion walks the chains depth first in §9.10 order, and the runs the stacks
    // stand for are counted per root for the caps.
    struct SRoot {
        uint64_t pos = 0;
        int64_t ts = 0;
        int64_t deadline = kNoDeadline;
        uint32_t ev = kNone;
        uint32_t dead = 0;
        uint32_t n = 0;  // roots mode: its Kleene candidates
        uint8_t pkind = 0xFF;  // roots mode, dprune_: as DNode::prune_kind
    };
    /// Roots mode (setup_roots): SEQ(T0 as f, T1+ where P(f) as r, T2 where Q(f, r)). Step 1
    /// reads at most the root, so whether an event is a Kleene candidate of a run depends only
    /// on the run's root: each root keeps its candidates (at most kRootCands: the run cap
    /// turns the partition into plain runs before a root stands for 2^17 runs), and a
    /// completion tests step 2 once per (root, candidate) for every subset ending there.
    static constexpr uint32_t kRootCands = 16;
    struct KCand {
        uint64_t pos = 0;
        uint32_t ev = kNone;
    };
    struct SEntry {
        uint64_t pos = 0;
        int64_t ts = 0;
        uint32_t ev = kNone;
    };
    /// One event of a run as materialisation and checkpoints see it (both compact forms).
    struct PathNode {
        uint64_t pos = 0;
        int64_t ts = 0;
        uint32_t ev = kNone;
        int32_t step = 0;
    };
    struct PathRef {
        uint32_t off = 0, len = 0;
        int64_t deadline = kNoDeadline;
    };
    struct DEdge {
        uint32_t pred = kNone;
        uint32_t next = kNone;
    };

    /// Runs of one partition key, oldest first; bindings in a parallel array (stride = aliases).
    struct Partition {
        // Stack mode (SRoot), first: the fields every event of such a partition reads. The
        // roots in arrival order, per root the runs ending at each middle step (stride
        // stk_mid_), per step 0..last-1 the live runs ending there, per middle step its
        // events. `*_head`: entries before it are gone.
        bool materialized = false;  // (compact forms, see below)
        bool sroots_sorted = true;  // root deadlines nondecreasing along sroots
        bool stk_listed = false;    // in stk_parts_ (lazy expiry)
        size_t sroot_head = 0;
        uint64_t dpaths = 0;  // live runs the compact form stands for
        std::vector<uint64_t> stot;
        std::vector<SRoot> sroots;
        std::vector<uint64_t> scnt;
        std::vector<std::vector<SEntry>> sstk;  // index s - 1 for middle step s
        std::vector<size_t> sstk_head;
        // Roots mode: kRootCands candidate slots per root, in a ring by root number (sroot_base
        // + index), so dropping roots moves nothing; kring: its size in roots (power of two).
        std::vector<KCand> kcand;
        size_t kring = 0;
        uint32_t sroot_base = 0;   // roots mode: number of roots erased before sroots[0]
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
        // checkpoint restored plain runs) and stays so until they are gone.
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
        TwoEndedArray<DSorted> dsorted;
        uint8_t dsort_kind = 0xFF;
        size_t dnoprune = 0;
        std::vector<uint32_t> dstep_n;  // nodes per step (dead ones until compacted away)
        size_t ddead = 0;    // nodes whose root expired, not yet compacted away
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
        // No other conjunct: a run found in this step's bucket enters it (advance_run).
        bool decides = false;
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
    /// Per schema, what on_event does with an event of that type in indexed mode (0: only
    /// expiry and negations): some step has the type (kIxStep), look up buckets (kIxBuckets),
    /// try a start (kIxStart); kIxStartAt: the step a start enters is fixed (ix_start_at_),
    /// no predicate decides it; kIxFresh: and that step is a plain one that neither completes
    /// nor ends the run (start_fresh).
    static constexpr uint8_t kIxBuckets = 1, kIxStart = 2, kIxStartAt = 4, kIxStep = 8, kIxFresh = 16;
    std::vector<uint8_t> ix_type_;
    std::vector<int32_t> ix_start_at_;
    std::vector<int32_t> ix_key_slot_;  // kIxFresh: fresh_key_slot (-1: link decides)
    // Per schema: its one indexed step when advance_indexed may walk that bucket in place
    // (list_walk_), -1 otherwise.
    std::vector<int32_t> ix_walk_step_;
    int32_t fresh_key_slot(int32_t t, int32_t s) const;
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
    int64_t next_due_ = kNoDeadline;                  // the earlier of their fronts (kNoDeadline: none)
    void set_next_due() {
        next_due_ = fifo_.empty() ? kNoDeadline : fifo_.front().deadline;
        if (!eheap_.empty() && eheap_.front().deadline < next_due_) next_due_ = eheap_.front().deadline;
    }
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
    /// The same, as make_row runs it: per alias, its (output field, slot) pairs
    /// mr_slots_[begin, end); mr_other_: the fields that are not an alias's slot.
    struct AliasCopy {
        int32_t alias;
        uint32_t begin, end;
    };
    std::vector<AliasCopy> mr_copies_;
    std::vector<int32_t> mr_group_;   // per alias: its mr_copies_ entry (-1: none)
    std::vector<std::pair<uint32_t, uint32_t>> mr_slots_;
    std::vector<uint32_t> mr_other_;
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
        void pop_fifo() {
            if (++head == fifo.size()) {
                fifo.clear();
                head = 0;
            } else if (head >= 4096 && head * 2 >= fifo.size()) {
                fifo.erase(fifo.begin(), fifo.begin() + static_cast<std::ptrdiff_t>(head));
                head = 0;
            }
        }
        void pop() {
            if (from_fifo()) {
                pop_fifo();
            } else {
                std::pop_heap(heap.begin(), heap.end(), std::greater<HeapItem>());
                heap.pop_back();
            }
        }
        /// Pops the first entry due before `now` into `p`; false when there is none.
        bool pop_due(int64_t now, uint32_t& p) {
            if (heap.empty()) {  // times in order: the fifo alone, one test
                if (head == fifo.size() || fifo[head].first >= now) return false;
                p = fifo[head].second;
                pop_fifo();
                return true;
            }
            if (empty() || top().first >= now) return false;
            p = top().second;
            pop();
            return true;
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
    /// Stack mode with every step predicate in step_kernels_ (scan calls them directly).
    bool stk_step_kernels_ = false;
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
    SeqScanKernel scan_ = nullptr;   // set_scan_kernel (stack mode only)
    std::vector<uint8_t> scan_all_;  // step_verdicts' `routed` for scan_: every schema (set_scan_kernel)

    // per-event state
    const Row* cur_row_ = nullptr;
    uint32_t cur_ev_ = kNone;
    int64_t now_ = 0;
    /// The latest time of the events skipped since the last on_event (PatternMatcher::
    /// step_verdicts gave 0): on_event expires runs up to it first.
    static constexpr int64_t kNoSkipped = std::numeric_limits<int64_t>::min();
    int64_t skipped_now_ = kNoSkipped;
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

    Impl(Runtime& rt, const ir::StreamPlan& stream, const ir::Operator& op);

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

    /// The deadline of a run starting now (§9.5).
    int64_t deadline_now() const { return has_within_ ? now_ + within_ : kNoDeadline; }

    /// A run starting with the current event (next creation number), before it takes it.
    Run start_run() {
        Run r;
        r.seq = next_seq_++;
        r.t0 = now_;
        r.last_ts = now_;
        r.deadline = deadline_now();
        return r;
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
        for (uint32_t i : mr_other_) {
            const OutField& o = out_fields_[i];
            Value v;
            switch (o.kind) {
                case OutField::kStreamName:
                    v = Value::string(stream_name_);
                    break;
                case OutField::kDuration:
                    v = Value::integer(last_ts - t0);
                    break;
                case OutField::kAliasCount:
                    v = Value::integer(o.alias == cur_alias ? 1 : b[o.alias].count);
                    break;
                default:
                    break;
            }
            new (&slots[i]) Value(v);
        }
        for (const AliasCopy& g : mr_copies_) {
            // The alias's event: the current row, one in the store, or none (all absent).
            const Value* base = nullptr;
            uint32_t avail = 0;
            if (g.alias == cur_alias) {
                base = cur_row_->slots;
                avail = schema_width_[static_cast<size_t>(cur_row_->schema)];
            } else if (uint32_t id = b[g.alias].ev; id != kNone) {
                base = ev_slots(id);
                avail = evs_[id].n;
            }
            for (uint32_t k = g.begin; k < g.end; ++k) {
                const auto [out, slot] = mr_slots_[k];
                new (&slots[out]) Value(slot < avail ? base[slot] : Value());
            }
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

    /// The partition of `row`'s key (created if `create`), or null. Small non-negative int
    /// keys seen before take the inline path; the rest goes out of line.
    [[gnu::always_inline]] Partition* find_partition(const Row& row, bool create) {
        if (!partitioned_) return &parts_[0];
        int32_t slot = row.schema >= 0 && static_cast<size_t>(row.schema) < part_slot_.size() ? part_slot_[row.schema] : -1;
        if (slot >= 0) {
            const Value& v = row.slots[slot];
            if (v.kind == ValueKind::Int && static_cast<uint64_t>(v.i) < small_part_.size() &&
                small_part_[static_cast<size_t>(v.i)] != kNone)
                return &parts_[small_part_[static_cast<size_t>(v.i)]];
        }
        return find_partition_slow(row, create, slot);
    }

    [[gnu::noinline]] Partition* find_partition_slow(const Row& row, bool create, int32_t slot) {
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
        for (uint32_t p; expiry_.pop_due(now_, p);) {
            Partition& P = parts_[p];
            if (P.swept_at == event_no_) continue;
            P.swept_at = event_no_;
            if (!P.dnodes.empty()) dag_expire(P);
            if (!P.sroots.empty()) stk_expire(P);
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
    void advance_next(Partition& P, std::vector<Row>& out, Arena& scratch);

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

    void start_next(Partition& P, std::vector<Row>& out, Arena& scratch);

    // ------------------------------------------------------------ And (default / strict)
    void advance_and(Partition& P, std::vector<Row>& out, Arena& scratch);

    /// And/Or: the first operand not in `taken` that the current event qualifies for, or -1.
    int32_t and_operand(uint32_t taken, const Binding* b) {
        if (trans_) return trans(static_cast<int32_t>(taken), b, 0, -1);
        for (int32_t k = 0; k < n_steps_; ++k) {
            if (taken & (1u << k)) continue;
            if (qualifies(k, b, false)) return k;
        }
        return -1;
    }

    void start_and(Partition& P, std::vector<Row>& out, Arena& scratch);

    // ------------------------------------------------------------ skip_till_any_match
    void branch(Partition& P, size_t i, int32_t s, bool again, std::vector<Run>& new_runs,
                std::vector<Binding>& new_binds, Arena& scratch);

    std::vector<Run> new_runs_;
    std::vector<Binding> new_binds_;

    void append_new_runs(Partition& P);
    void step_any(Partition& P, Arena& scratch);
    void branch_and(Partition& P, size_t i, int32_t k, Arena& scratch);
    void start_and_any(Partition& P, Arena& scratch);
    void flush_completions(std::vector<Row>& out);

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

    void setup_dag();
    void setup_prune();

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

    static bool prune_key_less(const Value& a, const Value& b) { return a.kind == ValueKind::Int ? a.i < b.i : a.f < b.f; }

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

    void unprune(Partition& P, uint32_t root);

    /// A new root (the current event; `id`: its node or root number) into P's sorted roots
    /// when its first.y can be (setup_prune), else counted among those visited every event.
    /// Returns the kind it records (kNoPrune: not sorted).
    uint8_t sort_root(Partition& P, uint32_t id) {
        const Value& y = cur_row_->slots[dprune_first_];
        uint8_t k = prune_kind_of(y);
        if (k != kNoPrune && y.kind == ValueKind::Float && std::isnan(y.f)) k = kNoPrune;
        if (k != kNoPrune && P.dsorted.empty()) P.dsort_kind = k;
        if (k != P.dsort_kind) k = kNoPrune;
        if (k == kNoPrune) {
            ++P.dnoprune;
        } else {
            auto at = std::upper_bound(P.dsorted.begin(), P.dsorted.end(), y,
                                       [](const Value& key, const Partition::DSorted& e) { return prune_key_less(key, e.key); });
            P.dsorted.insert(at, Partition::DSorted{y, id});
        }
        return k;
    }

    /// The kind a root records for pruning (see setup_prune): ints and floats only.
    static uint8_t prune_kind_of(const Value& v) {
        return v.kind == ValueKind::Int || v.kind == ValueKind::Float ? static_cast<uint8_t>(v.kind) : kNoPrune;
    }
    [[gnu::always_inline]] bool scan_test(DScan::Kind k, const PatternPred* fp, int32_t s, const Binding* b, bool again, int32_t node_step);

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

    bool dag_qualifies(int32_t s, const Binding* b, bool again, int32_t node_step);
    void dag_add(Partition& P, uint32_t pred, int32_t step);

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

    bool dag_path_less(const Partition& P, const DComp& x, const DComp& y) const;

    /// Creation order of the plain runs two paths stand for (§9.2 run lists): by the event of
    /// their last node; at one event branches by their parents' order, then "again" before
    /// "next", and a start after every branch.
    static bool path_created_before(const PathNode* x, uint32_t lx, const PathNode* y, uint32_t ly) {
        uint32_t i = lx, j = ly;
        while (i > 0 && j > 0) {
            --i;
            --j;
            if (x[i].pos != y[j].pos) return x[i].pos < y[j].pos;
            if (i == 0 || j == 0) {
                if (i == 0 && j == 0) break;
                return j == 0;  // x is a branch, y a start of the same event
            }
        }
        for (uint32_t k = 0; k < lx && k < ly; ++k)
            if (x[k].step != y[k].step) return x[k].step < y[k].step;
        return false;
    }

    /// The plain runs `paths` (into `nodes`) stand for, in creation order; `fn(run, binds)`.
    template <class Fn>
    void runs_of_paths(const std::vector<PathNode>& nodes, std::vector<PathRef>& paths, Fn&& fn) const {
        std::stable_sort(paths.begin(), paths.end(), [&](const PathRef& x, const PathRef& y) {
            return path_created_before(nodes.data() + x.off, x.len, nodes.data() + y.off, y.len);
        });
        std::vector<Binding> b(n_aliases_);
        for (const PathRef& pr : paths) {
            const PathNode* path = nodes.data() + pr.off;
            const PathNode& last = path[pr.len - 1];
            Run r;
            r.t0 = path[0].ts;
            r.last_ts = last.ts;
            r.deadline = pr.deadline;
            r.pos = last.step;
            r.step_count = 0;
            for (uint32_t i = pr.len; i-- > 0 && path[i].step == last.step;) ++r.step_count;
            std::fill(b.begin(), b.end(), Binding{});
            for (uint32_t i = 0; i < pr.len; ++i) {
                r.positions.push_back(path[i].pos);
                int32_t a = steps_[path[i].step].alias;
                if (a < 0) continue;
                bool again = i > 0 && path[i - 1].step == path[i].step;
                b[a] = Binding{path[i].ev, again ? b[a].count + 1 : 1};
            }
            fn(std::move(r), b.data());
        }
    }

    /// The plain runs the live nodes of P stand for, in creation order; `fn(run, binds)`.
    template <class Fn>
    void dag_runs(const Partition& P, Fn&& fn) const {
        dpath_buf_.clear();
        std::vector<PathNode> nodes;
        std::vector<PathRef> paths;
        for (uint32_t n = 0; n < P.dnodes.size(); ++n) {
            if (P.dnodes[P.dnodes[n].root].dead) continue;
            dag_paths_to(P, n, [&](uint32_t off, uint32_t len) {
                PathRef pr{static_cast<uint32_t>(nodes.size()), len, P.dnodes[dpath_buf_[off]].deadline};
                for (uint32_t i = 0; i < len; ++i) {
                    const DNode& N = P.dnodes[dpath_buf_[off + i]];
                    nodes.push_back(PathNode{N.pos, N.ts, N.ev, N.step});
                }
                paths.push_back(pr);
            });
            dpath_buf_.clear();
        }
        runs_of_paths(nodes, paths, fn);
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

    void dag_materialize(Partition& P);

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

    void dag_compact(Partition& P);

    /// What step_dag's node scan accumulates: the steps it visits, and the runs the
    /// transitions found so far add (new_paths) or complete (comps).
    struct DScanState {
        uint64_t wants = 0;
        uint64_t new_paths = 0, comps = 0;
    };

    [[gnu::always_inline]] void dag_visit(const Partition& P, uint32_t n, DScanState& sc);
    void step_dag(Partition& P, std::vector<Row>& out, Arena& scratch);

    // ------------------------------------------------------------ stack mode (SRoot)

    bool stk_ = false;
    size_t stk_mid_ = 0;            // middle steps: 1 .. n_steps_ - 2
    // One plain middle step (SEQ(A, B, C)): a root's runs are the step's events after it, so
    // no per-root counts (scnt) are kept; stk_runs_after counts them when the root expires.
    bool stk_nocnt_ = false;
    // Lazy expiry of stack-mode roots (with `within`): a root is dead once some event after it
    // came later than its deadline, i.e. once its deadline is below the latest expiry time
    // so far (stk_hwm_) — exact for roots whose deadline was not already below it when they
    // started (time gone back by more than `within`: then the matcher turns eager for good,
    // stk_go_eager). So roots get no expiry-queue entries: a partition drops its dead roots
    // when an event reaches it (step_compact), and every four `within` all partitions that hold
    // roots are swept (stk_sweep), so idle ones do not keep them. live_runs() and
    // checkpoints leave the dead ones out as eager expiry would have.
    bool stk_lazy_ = false;
    int64_t stk_hwm_ = std::numeric_limits<int64_t>::min();
    int64_t stk_sweep_at_ = std::numeric_limits<int64_t>::min();
    std::vector<uint32_t> stk_parts_;   // partitions that may hold roots (Partition::stk_listed)
    std::vector<uint64_t> stk_types_;  // per schema: the steps of that type (bit s)
    std::vector<Binding> stk_b_;    // completion walk: the bindings of the chain so far
    uint64_t stk_left_ = 0;         // completion walk: matches it may still report
    const MatchSink* match_sink_ = nullptr;   // set_match_sink
    std::vector<PathNode> stk_path_;  // stk_paths: the chain so far
    // Completion walk: the match row every leaf copies (stk_emit). The stream name is written
    // once (setup_stacks), the current event's fields once per completion, a root's duration
    // once per root, and an alias's fields whenever the walk binds or unbinds it (stk_bind),
    // so it always shows stk_b_.
    std::vector<Value> stk_tmpl_;
    std::vector<std::pair<uint32_t, int32_t>> mr_counts_;  // kAliasCount fields: (field, alias)
    std::vector<uint32_t> mr_durations_;                   // kDuration fields

    void setup_stacks();
    // Roots mode (KCand): shares the roots, expiry and materialisation of the stack mode.
    bool kr_ = false;
    struct KScan {
        uint32_t root = 0;  // index in sroots
        uint32_t ok = 0;    // candidates step 2 accepts with the current event
        bool mid = false;   // the current event is a new candidate
    };
    std::vector<KScan> kr_scan_;   // step_roots: the roots with a transition, in order
    std::vector<uint32_t> kr_visit_;  // step_roots: the roots to test (pruned scan)
    /// `xk`: prune_kind_of the event's x (kNoPrune without dprune_).
    void roots_scan(Partition& P, size_t r, bool t1, bool t2, uint8_t xk, uint64_t& new_paths, uint64_t& comps);
    void roots_track_kind(Partition& P, size_t r);
    void roots_unprune(Partition& P, size_t r);
    void setup_roots();
    void step_roots(Partition& P, std::vector<Row>& out, Arena& scratch);
    void roots_walk(const KCand* c, uint32_t i, uint32_t n, uint32_t ok, uint32_t count, int64_t t0,
                    std::vector<Row>& out, Arena& scratch);
    void roots_paths(const Partition& P, std::vector<PathNode>& nodes, std::vector<PathRef>& paths) const;
    static KCand* root_cands(Partition& P, size_t r) {
        return P.kcand.data() + ((P.sroot_base + r) & (P.kring - 1)) * kRootCands;
    }
    static const KCand* root_cands(const Partition& P, size_t r) {
        return P.kcand.data() + ((P.sroot_base + r) & (P.kring - 1)) * kRootCands;
    }
    void roots_reserve(Partition& P);
    void roots_unref(Partition& P, size_t r) {
        const KCand* c = root_cands(P, r);
        for (uint32_t j = 0; j < P.sroots[r].n; ++j) unref(c[j].ev);
    }
    /// qualifies(s, b, false) for a current event already known to be of step s's type: the
    /// step's test kernel without the call around it when there is one.
    [[gnu::always_inline]] bool enters(int32_t s, const Binding* b) {
        if (trans_ && trans_tests_[static_cast<size_t>(s)]) return kernel_test(s, b, false);
        return qualifies(s, b, false);
    }
    void stk_init(Partition& P);
    /// The steps the current event qualifies for (bit s), the same for every run and
    /// partition: no predicate reads an alias. An event that qualifies for none changes
    /// nothing (on_event skips its partition; the engine may skip on_event: prefilters()).
    /// Inline: it runs for every event.
    uint64_t stk_verdicts() {
        const int32_t sch = cur_row_->schema;
        uint64_t steps = sch >= 0 && static_cast<size_t>(sch) < stk_types_.size() ? stk_types_[static_cast<size_t>(sch)] : 0;
        uint64_t v = 0;
        for (; steps != 0; steps &= steps - 1) {
            const int32_t s = std::countr_zero(steps);
            if (enters(s, empty_binds_.data())) v |= 1ull << s;
        }
        return v;
    }
    /// stk_verdicts through the steps' predicate kernels (stk_step_kernels_), `kc` set up for
    /// the row whose slots these are: they read the row alone in stack mode.
    uint64_t stk_kernel_verdicts(const Value* slots, int32_t sch, KernelContext& kc) const {
        uint64_t v = 0;
        for (uint64_t steps = stk_types_[static_cast<size_t>(sch)]; steps != 0; steps &= steps - 1) {
            const auto s = static_cast<size_t>(std::countr_zero(steps));
            const FilterKernel k = step_kernels_[s];
            if (!k || k(slots, &kc) != 0) v |= uint64_t{1} << s;
        }
        return v;
    }
    void step_stk(Partition& P, uint64_t verdicts, std::vector<Row>& out, Arena& scratch);
    void stk_push(Partition& P, int32_t s);
    void stk_start(Partition& P);
    void stk_complete(Partition& P, std::vector<Row>& out, Arena& scratch);
    void stk_walk(const Partition& P, int32_t s, size_t idx, uint64_t pos, std::vector<Row>& out, Arena& scratch);
    void stk_walk_kleene(const SEntry* v, size_t n, size_t idx, int32_t a, uint32_t count, std::vector<Row>& out,
                         Arena& scratch);
    void stk_show(int32_t alias, const Value* base, uint32_t avail);
    void stk_bind(int32_t alias, Binding b);
    void stk_emit(std::vector<Row>& out, Arena& scratch);
    void stk_expire(Partition& P);
    void stk_expire_lazy(Partition& P) {
        if (P.sroot_head == P.sroots.size() || P.materialized) return;
        // Sorted deadlines: nothing is due while the first live root is not.
        if (P.sroots_sorted && P.sroots[P.sroot_head].deadline >= stk_hwm_) return;
        const int64_t now = now_;
        now_ = stk_hwm_;
        stk_expire(P);
        now_ = now;
    }
    void stk_sweep();
    void stk_go_eager();
    uint64_t stk_dead_runs(const Partition& P) const;
    void stk_gc(Partition& P);
    void stk_trim(Partition& P, size_t h);
    uint64_t stk_runs_after(const Partition& P, uint64_t pos) const;
    void stk_complete_plain(const Partition& P, std::vector<Row>& out, Arena& scratch);
    void stk_clear(Partition& P);
    void stk_materialize(Partition& P);
    void stk_paths(const Partition& P, std::vector<PathNode>& nodes, std::vector<PathRef>& paths) const;
    void stk_paths_from(const Partition& P, int32_t s, size_t idx, int64_t deadline, std::vector<PathNode>& chain,
                        std::vector<PathNode>& nodes, std::vector<PathRef>& paths) const;

    /// The plain runs P's stacks stand for, in creation order; `fn(run, binds)`.
    template <class Fn>
    void stk_runs(const Partition& P, Fn&& fn) const {
        std::vector<PathNode> nodes;
        std::vector<PathRef> paths;
        stk_paths(P, nodes, paths);
        runs_of_paths(nodes, paths, fn);
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
    void setup_index(size_t ns);

    Binding* sb(uint32_t si) {
        return n_aliases_ <= 2 ? slots_[si].inl : sbinds_.data() + static_cast<size_t>(si) * n_aliases_;
    }

    Value field_value(const Expr& e) const;
    Value alias_value(const Expr& e, const Binding* b) const;
    Value alias_value_in(const Expr& e, int32_t schema, uint32_t n, const Value* slots) const;
    static uint64_t key_hash(const Value& key);
    static uint64_t bucket_hash(uint32_t part, int32_t step, const Value& key);
    bool slot_waits_for(uint32_t u, uint64_t h, uint32_t part, int32_t step, const Value& key) const;
    int64_t tfind(uint64_t h, uint32_t part, int32_t step, const Value& key) const;
    size_t tplace(uint32_t h32) const;
    size_t tfind_or_insert(uint64_t h, uint32_t part, int32_t step, const Value& key);
    void terase(size_t i);
    void list_insert(uint32_t& head, uint32_t& tail, uint32_t si);
    void list_remove(uint32_t& head, uint32_t& tail, uint32_t si);
    void bucket_insert(TEntry& t, uint32_t si);
    void bucket_remove(TEntry& t, uint32_t si);
    void link(uint32_t si);
    void link_bucket(uint32_t si, int32_t k, const Value& key);
    void unlink(uint32_t si);
    uint32_t alloc_slot(uint32_t part);
    uint32_t alloc_slot_inline(uint32_t part);
    void kill_slot(uint32_t si);
    void exp_push(const ExpItem& it);
    static bool exp_later(const ExpItem& x, const ExpItem& y);
    void expire_indexed(Arena& scratch);

    // Out of line: on_event_indexed, inlined into the per-event call, stays small.
    [[gnu::noinline]] void negate_indexed() {
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

    void advance_indexed(uint32_t pid, std::vector<Row>& out, Arena& scratch);
    void walk_bucket(uint32_t pid, int32_t k, std::vector<Row>& out, Arena& scratch);
    uint32_t bucket_head(uint32_t pid, int32_t k);
    [[gnu::flatten]] bool finish_in_place(uint32_t si, int32_t s, std::vector<Row>& out, Arena& scratch);
    void advance_run(uint32_t si, int32_t via, std::vector<Row>& out, Arena& scratch);
    [[gnu::flatten]] void start_indexed(uint32_t pid, std::vector<Row>& out, Arena& scratch);
    void start_fresh(uint32_t pid, int32_t s);

    // ------------------------------------------------------------ per event
    void set_trans_kernel(SeqTransKernel k, const ir::Expr* const* nodes, const Value* consts,
                          const std::vector<SeqTransKernel>* tests);
    void on_event_stk(const Row& row, std::vector<Row>& out, Arena& scratch, uint64_t verdicts);
    /// The start and end of every event (on_event, on_event_stk).
    void begin_event(const Row& row) {
        cur_row_ = &row;
        targs_.slots = row.slots;
        targs_.schema = row.schema;
        cur_ev_ = kNone;
        now_ = row.ts;
        ++event_no_;
        reported_ = 0;
    }
    void end_event() {
        if (cur_ev_ != kNone) unref(cur_ev_);
        cur_ev_ = kNone;
        cur_row_ = nullptr;
    }
    /// Expiry outside the indexed mode. Events the engine skipped (step_verdicts 0) would
    /// have expired runs up to the latest of their times: the same runs expire here, before
    /// the current event.
    void expire_due(Arena& scratch) {
        const int64_t t = std::max(now_, skipped_now_);
        skipped_now_ = kNoSkipped;
        if (stk_lazy_) {
            if (t > stk_hwm_) stk_hwm_ = t;
            if (stk_hwm_ >= stk_sweep_at_) stk_sweep();
        }
        if (!expiry_.empty() && expiry_.top().first < t) {
            now_ = t;
            expire(scratch);
            now_ = cur_row_->ts;
        }
    }
    /// Stack and roots modes: an event some step takes (`verdicts`; roots mode: 1), in its
    /// partition, which turns plain at a run cap (and back once its runs are gone).
    void step_compact(const Row& row, uint64_t verdicts, std::vector<Row>& out, Arena& scratch) {
        Partition& P = *find_partition(row, true);
        if (P.materialized && P.runs.empty()) P.materialized = false;
        if (stk_lazy_) stk_expire_lazy(P);
        if (P.materialized) {
            step_any(P, scratch);
            flush_completions(out);
        } else if (stk_) {
            step_stk(P, verdicts, out, scratch);
        } else {
            step_roots(P, out, scratch);
        }
    }
    void on_event(const Row& row, std::vector<Row>& out, Arena& scratch);
    [[gnu::always_inline]] void on_event_indexed(const Row& row, std::vector<Row>& out, Arena& scratch);
    /// Trailing-NOT matches expiry confirmed (indexed mode), out of line: rare.
    [[gnu::noinline]] void emit_confirmed(std::vector<Row>& out) {
        for (const auto& c : confirmed_) out.push_back(c.row);
        confirmed_.clear();
    }

    // ------------------------------------------------------------ checkpoints
    std::vector<const std::string*> partition_keys() const;
    void save_run(CheckpointWriter& w, const Run& r, const Binding* b, const std::vector<uint32_t>& table) const;
    void save(CheckpointWriter& w) const;
    const Binding* sb_const(uint32_t si) const;
    bool alias_schema_ok(int32_t alias, int32_t schema) const;
    bool load_run(CheckpointReader& r, Run& run, Binding* b, const std::vector<uint32_t>& ids);
    bool load(CheckpointReader& r);

    size_t live_runs() const {
        size_t n = 0;
        for (const auto& P : parts_) n += indexed_ ? P.live : live_count(P) + P.dpaths - (stk_lazy_ ? stk_dead_runs(P) : 0);
        return n;
    }};

}  // namespace varpulis::runtime
