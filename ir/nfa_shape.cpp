#include "ir/nfa_shape.hpp"

#include <utility>

namespace varpulis::ir {

namespace {
bool is_kleene(Quantifier q) { return q == Quantifier::Plus || q == Quantifier::Star; }
bool is_optional(Quantifier q) { return q == Quantifier::Star || q == Quantifier::Optional; }
}  // namespace

int32_t nfa_last_required(const Nfa& nfa) {
    int32_t last = -1;
    if (nfa.form != Nfa::Form::Sequence) return last;
    for (size_t s = 0; s < nfa.steps.size(); ++s)
        if (nfa.steps[s].quantifier == Quantifier::One || nfa.steps[s].quantifier == Quantifier::Plus)
            last = static_cast<int32_t>(s);
    return last;
}

std::vector<NfaStepShape> nfa_step_shapes(const Nfa& nfa) {
    const bool seq = nfa.form == Nfa::Form::Sequence;
    const int32_t last_required = nfa_last_required(nfa);
    std::vector<NfaStepShape> out(nfa.steps.size());
    bool deferred_taken = false;
    bool startable = true;
    for (size_t s = 0; s < nfa.steps.size(); ++s) {
        const NfaStep& st = nfa.steps[s];
        NfaStepShape& sh = out[s];
        const Quantifier q = seq ? st.quantifier : Quantifier::One;
        sh.kleene = is_kleene(q);
        sh.optional = is_optional(q);
        // §9.11: only a Kleene step relaxes its own-alias conjuncts for its first event; a
        // plain step reading its own alias sees it unbound (absent).
        sh.own = st.own_alias_in_predicate && st.alias >= 0 && st.predicate && sh.kleene;
        sh.capped = sh.kleene && static_cast<int32_t>(s) < last_required;
        sh.startable = seq && startable;
        if (nfa.strategy == Strategy::SkipTillNextMatch && sh.own && sh.capped && !startable && !deferred_taken) {
            sh.deferred = true;
            deferred_taken = true;
        }
        startable &= sh.optional;
    }
    return out;
}

void nfa_conjuncts(const ExprPtr& e, std::vector<ExprPtr>& out) {
    if (e->op == ExprOp::And && e->args.size() == 2 && e->args[0] && e->args[1]) {
        nfa_conjuncts(e->args[0], out);
        nfa_conjuncts(e->args[1], out);
    } else {
        out.push_back(e);
    }
}

bool expr_reads_alias(const Expr& e, int32_t alias) {
    if ((e.op == ExprOp::AliasField || e.op == ExprOp::AliasLen) && (alias < 0 || e.index == alias)) return true;
    for (const auto& a : e.args)
        if (a && expr_reads_alias(*a, alias)) return true;
    return false;
}

namespace {

/// What nfa_compact_any_match() requires of step `s`'s predicate: no `len`, aliases bound by
/// step `s` or earlier, and nothing that could change state when evaluated (uuid() advances the
/// generator; user functions may call it), since the compact mode evaluates a predicate once
/// per node, not once per run.
bool compact_reads(const Expr& e, const std::vector<int32_t>& bound_at, int32_t s) {
    if (e.op == ExprOp::AliasLen || e.op == ExprOp::CallUser) return false;
    if (e.op == ExprOp::Call && e.fn == frontend::Builtin::Uuid) return false;
    if (e.op == ExprOp::AliasField && e.index >= 0 && static_cast<size_t>(e.index) < bound_at.size()) {
        const int32_t at = bound_at[static_cast<size_t>(e.index)];
        if (at < 0 || at > s) return false;
    }
    for (const auto& a : e.args)
        if (a && !compact_reads(*a, bound_at, s)) return false;
    return true;
}

}  // namespace

bool nfa_compact_any_match(const Nfa& nfa) {
    if (nfa.form != Nfa::Form::Sequence || nfa.strategy != Strategy::SkipTillAnyMatch) return false;
    const size_t n = nfa.steps.size();
    if (!nfa.negations.empty() || nfa.trailing_negation || n < 2) return false;
    if (nfa.steps[0].quantifier != Quantifier::One || nfa.steps[n - 1].quantifier != Quantifier::One) return false;
    std::vector<int32_t> bound_at(nfa.aliases.size(), -1);
    for (size_t s = 0; s < n; ++s) {
        const NfaStep& st = nfa.steps[s];
        if (st.quantifier != Quantifier::One && st.quantifier != Quantifier::Plus) return false;
        if (st.alias < 0) continue;
        if (static_cast<size_t>(st.alias) >= bound_at.size() || bound_at[static_cast<size_t>(st.alias)] >= 0) return false;
        bound_at[static_cast<size_t>(st.alias)] = static_cast<int32_t>(s);
    }
    // One event taken by a middle Kleene step in one run and by the next middle step in
    // another gives two runs with equal positions so far whose matches §9.10 orders by the
    // positions that follow, not by the step taken: the node order (positions, then steps)
    // would differ. Such patterns keep plain runs.
    for (size_t s = 1; s + 2 < n; ++s)
        if (nfa.steps[s].quantifier == Quantifier::Plus && nfa.steps[s + 1].type_id == nfa.steps[s].type_id) return false;
    for (size_t s = 0; s < n; ++s)
        if (nfa.steps[s].predicate && !compact_reads(*nfa.steps[s].predicate, bound_at, static_cast<int32_t>(s)))
            return false;
    return true;
}

bool nfa_stack_any_match(const Nfa& nfa) {
    if (!nfa_compact_any_match(nfa)) return false;
    for (const NfaStep& st : nfa.steps)
        if (st.predicate && expr_reads_alias(*st.predicate, -1)) return false;
    return true;
}

const Expr* nfa_index_conjunct(const Nfa& nfa, int32_t k, size_t n_schemas) {
    if (nfa.form != Nfa::Form::Sequence || nfa.strategy != Strategy::SkipTillNextMatch) return nullptr;
    if (k < 0 || static_cast<size_t>(k) >= nfa.steps.size()) return nullptr;
    const NfaStep& st = nfa.steps[static_cast<size_t>(k)];
    if (st.quantifier != Quantifier::One || !st.predicate) return nullptr;
    if (st.type_id < 0 || static_cast<size_t>(st.type_id) >= n_schemas) return nullptr;
    std::vector<ExprPtr> cs;
    nfa_conjuncts(st.predicate, cs);
    for (const auto& c : cs) {
        if (!c || c->op != ExprOp::Binary || c->bop != frontend::BinaryOp::Eq || c->args.size() != 2) continue;
        const Expr* x = c->args[0].get();
        const Expr* y = c->args[1].get();
        if (!x || !y) continue;
        if (x->op == ExprOp::AliasField) std::swap(x, y);
        if (x->op != ExprOp::Field || y->op != ExprOp::AliasField) continue;
        int32_t a = y->index;
        if (a < 0 || static_cast<size_t>(a) >= nfa.aliases.size() || y->slots.empty()) continue;
        bool earlier = false, later = false;
        for (size_t j = 0; j < nfa.steps.size(); ++j)
            if (nfa.steps[j].alias == a) (static_cast<int32_t>(j) < k ? earlier : later) = true;
        if (!earlier || later) continue;
        return c.get();
    }
    return nullptr;
}

std::vector<int32_t> nfa_partition_slots(const Plan& plan, const Nfa& nfa) {
    std::vector<int32_t> slots(plan.schemas.size(), -1);
    if (!nfa.partition_field.empty())
        for (size_t i = 0; i < slots.size(); ++i) slots[i] = plan.schemas[i].slot_of(nfa.partition_field);
    return slots;
}

std::vector<char> nfa_step_types(const Plan& plan, const Nfa& nfa) {
    std::vector<char> types(plan.schemas.size(), 0);
    for (const NfaStep& st : nfa.steps)
        if (st.type_id >= 0 && static_cast<size_t>(st.type_id) < types.size()) types[static_cast<size_t>(st.type_id)] = 1;
    return types;
}

}  // namespace varpulis::ir
