#pragma once
// What the SASE+ matcher (runtime/pattern_matcher.cpp) and the compiled transition function
// (codegen, SeqTransKernel) must agree on about an NFA's steps: which predicate variant a step
// tests, which Kleene step defers its subsets (§9.4 d), and which conjunct the default
// strategy's run index keys on. Computed here once so that both sides decide alike.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ir/plan.hpp"

namespace varpulis::ir {

struct NfaStepShape {
    bool kleene = false;    // + or * (Sequence form only)
    bool optional = false;  // * or ?
    bool own = false;       // Kleene step whose predicate reads its own alias: first event tests `first`
    bool capped = false;    // middle/first Kleene step (before the last required one): 20-event cap
    bool deferred = false;  // skip_till_next_match, the first capped own-alias step not at the start (§9.4 d)
    bool startable = false; // reachable from the start through optional steps only
};

/// Per step of `nfa`; And/Or operands are plain steps (quantifier One).
std::vector<NfaStepShape> nfa_step_shapes(const Nfa& nfa);

/// The last step a match needs (One or +), -1 when none (Sequence form; -1 otherwise).
int32_t nfa_last_required(const Nfa& nfa);

/// The top-level conjuncts of `e` (operands of nested binary `and`), in order.
void nfa_conjuncts(const ExprPtr& e, std::vector<ExprPtr>& out);

/// Whether `e` reads pattern alias `alias` (AliasField / AliasLen); alias < 0: any alias.
bool expr_reads_alias(const Expr& e, int32_t alias);

/// Whether a skip_till_any_match sequence keeps its runs in the compact form
/// (runtime/pattern_dag.cpp): steps `One` or a middle `+` (first and last `One`), at least two,
/// no middle `+` followed by a middle step of its type, no negation, each alias bound by one
/// step and read (never through `len`) only by that step or later ones, no predicate with
/// effects (user functions, uuid()). The matcher then decides
/// through the per-step test kernels; its transition kernel serves only the partitions that go
/// back to plain runs near a cap, so codegen compiles it as off the per-event path.
bool nfa_compact_any_match(const Nfa& nfa);

/// nfa_compact_any_match with no step predicate reading an alias: the matcher's stack mode,
/// whose verdicts do not depend on the run (the same for every event and partition), so the
/// matcher tests each event with the steps' own predicate kernels (PatternMatcher::scan) and
/// its test kernels serve only the partitions that go back to plain runs.
bool nfa_stack_any_match(const Nfa& nfa);

/// Under skip_till_next_match (Sequence form): the conjunct `field == alias.f` of step k's
/// predicate (alias bound only at an earlier step) by which runs waiting for step k are
/// indexed; null when step k is not indexed. `n_schemas`: the plan's schema count.
const Expr* nfa_index_conjunct(const Nfa& nfa, int32_t k, size_t n_schemas);

/// Per schema of `plan`: the slot of the NFA's partition field (-1: none, or unpartitioned).
std::vector<int32_t> nfa_partition_slots(const Plan& plan, const Nfa& nfa);

/// Per schema of `plan`: 1 if some step of the NFA has that type.
std::vector<char> nfa_step_types(const Plan& plan, const Nfa& nfa);

}  // namespace varpulis::ir
