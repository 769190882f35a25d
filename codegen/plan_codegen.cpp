#include "codegen/plan_codegen.hpp"
#include "codegen/plan_shapes.hpp"

#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "codegen/generator.hpp"

namespace varpulis::codegen {

using namespace detail;

namespace {

/// A kernel of stream `s`: `vp_s<s>_<part>` (part names its operator, step or merge entry).
KernelSymbol stream_symbol(size_t s, int32_t op, int32_t step, KernelKind kind, const std::string& part) {
    KernelSymbol sym;
    sym.stream = static_cast<int32_t>(s);
    sym.op = op;
    sym.step = step;
    sym.kind = kind;
    sym.name = "vp_s" + std::to_string(s) + "_" + part;
    return sym;
}

/// The name part of operator k's own kernel: `o<k>_<what>`.
std::string op_part(size_t k, const char* what) { return "o" + std::to_string(k) + "_" + what; }

}  // namespace

std::unique_ptr<llvm::Module> build_module(const ir::Plan& plan, llvm::LLVMContext& context,
                                           std::vector<KernelSymbol>& kernels) {
    auto m = std::make_unique<llvm::Module>("varpulis_plan", context);
    Generator gen(plan, *m);
    kernels.clear();
    std::unordered_map<const Expr*, uint64_t> string_ids;  // transition kernels: constant number by node
    for (size_t s = 0; s < plan.streams.size(); ++s) {
        const auto& sp = plan.streams[s];
        // Operators a chain covers (the whole stream when it fuses, else its tail) are generated
        // only inside the chain, at their place in the order, so fallback numbering stays that
        // of fallback_nodes().
        const int tail = tail_chain(plan, sp);
        const size_t chained = fuses(plan, sp) ? 0 : tail > 0 ? static_cast<size_t>(tail) : sp.ops.size();
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            const ir::Operator& op = sp.ops[k];
            if (k == chained) {
                KernelSymbol sym = k == 0 ? stream_symbol(s, 0, -1, KernelKind::Chain, "chain")
                                          : stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Chain, op_part(k, "tail"));
                gen.chain(sym.name, s, sp, k);
                kernels.push_back(std::move(sym));
                break;
            }
            if (!compiles(op)) {
                if (!compiles_effect(plan, op)) continue;
                gen.mark_operator(s, k);
                KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Effect, op_part(k, "effect"));
                gen.effect(sym.name, op);
                kernels.push_back(std::move(sym));
                continue;
            }
            gen.mark_operator(s, k);
            const bool filter = op.kind == ir::OpKind::Filter;
            KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), -1, filter ? KernelKind::Filter : KernelKind::Project,
                                             op_part(k, filter ? "filter" : "project"));
            if (sym.kind == KernelKind::Filter) gen.filter(sym.name, op.exprs[0].get());
            else if (op.kind == ir::OpKind::Aggregate) gen.aggregate_args(sym.name, op);
            else gen.project(sym.name, op);
            kernels.push_back(std::move(sym));
        }
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            const ir::Operator& op = sp.ops[k];
            if (!compiles_steps(op)) continue;
            const ir::Nfa& nfa = *step_nfa(op);
            for (size_t i = 0; i < nfa.steps.size(); ++i) {
                const ir::Expr* pred = nfa.steps[i].predicate.get();
                if (!pred) continue;
                KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), static_cast<int32_t>(i), KernelKind::Step,
                                                 op_part(k, "step") + std::to_string(i));
                gen.filter(sym.name, pred);
                kernels.push_back(std::move(sym));
            }
        }
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            if (!compiles_trend(plan, sp.ops[k])) continue;
            KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Trend, op_part(k, "trend"));
            gen.trend(sym.name, sp.ops[k]);
            kernels.push_back(std::move(sym));
        }
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            if (!compiles_fold(plan, sp, k)) continue;
            KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Fold, op_part(k, "fold"));
            gen.fold(sym.name, sp.ops[k + 1], gen.numbering(s, k + 1));
            kernels.push_back(std::move(sym));
        }
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            const ir::Operator& op = sp.ops[k];
            if (!compiles_join(plan, op)) continue;
            for (size_t src = 0; src < op.join->sources.size(); ++src) {
                KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), static_cast<int32_t>(src), KernelKind::Join,
                                                 op_part(k, "join") + std::to_string(src));
                gen.join(sym.name, op, src);
                kernels.push_back(std::move(sym));
            }
        }
        for (size_t k = 0; k < sp.ops.size(); ++k) {
            const ir::Operator& op = sp.ops[k];
            if (!compiles_seq_trans(plan, op)) continue;
            if (string_ids.empty())
                for (const Expr* c : string_constants(plan)) string_ids.emplace(c, string_ids.size());
            KernelSymbol sym = stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Trans, op_part(k, "trans"));
            gen.seq_trans(sym.name, *op.nfa, plan.schemas.size(), string_ids);
            kernels.push_back(std::move(sym));
            if (op.nfa->strategy != ir::Strategy::SkipTillAnyMatch || op.nfa->form == ir::Nfa::Form::Or) continue;
            for (size_t st = 0; st < op.nfa->steps.size(); ++st) {
                KernelSymbol t = stream_symbol(s, static_cast<int32_t>(k), static_cast<int32_t>(st), KernelKind::TransTest,
                                               op_part(k, "test") + std::to_string(st));
                gen.seq_test(t.name, *op.nfa, static_cast<int32_t>(st), string_ids);
                kernels.push_back(std::move(t));
            }
            if (compiles_seq_scan(*op.nfa)) {
                KernelSymbol t = stream_symbol(s, static_cast<int32_t>(k), -1, KernelKind::Scan, op_part(k, "scan"));
                std::vector<std::string> step_kernels(op.nfa->steps.size());
                for (size_t st = 0; st < step_kernels.size(); ++st)
                    if (op.nfa->steps[st].predicate) step_kernels[st] = stream_symbol(s, static_cast<int32_t>(k), static_cast<int32_t>(st), KernelKind::Step, op_part(k, "step") + std::to_string(st)).name;
                gen.seq_scan(t.name, *op.nfa, string_ids, step_kernels);
                kernels.push_back(std::move(t));
            }
        }
        for (size_t e = 0; e < sp.merge_filters.size(); ++e) {
            const ir::Expr* f = sp.merge_filters[e].second.get();
            if (!f) continue;
            gen.mark_merge(s, e);
            KernelSymbol sym = stream_symbol(s, -1, static_cast<int32_t>(e), KernelKind::Merge,
                                             "m" + std::to_string(e) + "_merge");
            gen.filter(sym.name, f);
            kernels.push_back(std::move(sym));
        }
    }
    for (size_t t = 0; t < plan.schemas.size(); ++t) {
        if (!type_fuses(plan, t)) continue;
        KernelSymbol sym;
        sym.schema = static_cast<int32_t>(t);
        sym.kind = KernelKind::Type;
        sym.name = "vp_t" + std::to_string(t) + "_type";
        gen.type_loop(sym.name, t, plan.schemas[t].fields.size(), plan.routes[t]);
        kernels.push_back(std::move(sym));
    }
    for (const KernelSymbol& k : kernels)
        switch (kernel_use(plan, k)) {
            case KernelUse::PerEvent: break;
            case KernelUse::OffBatchPath: m->getFunction(k.name)->addFnAttr(kFirstStageAttribute); [[fallthrough]];
            case KernelUse::Occasional: m->getFunction(k.name)->addFnAttr(kFastCodegenAttribute); break;
        }
    for (const KernelSymbol& k : kernels)
        if (k.kind == KernelKind::Type) m->getFunction(k.name)->addFnAttr(kTypeLoopAttribute);
    return m;
}

namespace {

/// Whether stream `sp` reads some input event type (not only other streams' rows).
bool reads_events(const ir::Plan& plan, const ir::StreamPlan& sp) {
    for (const auto& name : sp.inputs) {
        bool stream = false;
        for (const auto& other : plan.streams) stream = stream || other.name == name;
        if (!stream) return true;
    }
    return false;
}

}  // namespace

KernelUse kernel_use(const ir::Plan& plan, const KernelSymbol& k) {
    if (k.kind == KernelKind::Type) return KernelUse::PerEvent;
    const ir::StreamPlan& sp = plan.streams[static_cast<size_t>(k.stream)];
    // A join or a sequence over other streams' rows runs once per row they derive (a closed
    // window ...), not per event.
    const KernelUse by_input = reads_events(plan, sp) ? KernelUse::PerEvent : KernelUse::Occasional;
    switch (k.kind) {
        case KernelKind::Type: return KernelUse::PerEvent;
        case KernelKind::Step: {
            // Beside a transition kernel a sequence's step kernel only checks deferred Kleene
            // steps at completion; in the any-match stack mode the scan kernel tests events
            // (one row at a time too: step_verdicts) and calls a step kernel only for a row
            // whose fields are not of their declared kinds.
            const ir::Operator& op = sp.ops[static_cast<size_t>(k.op)];
            if (compiles_seq_trans(plan, op)) return KernelUse::OffBatchPath;
            return by_input;
        }
        case KernelKind::Trans:
            // A compact any-match NFA decides through its step tests; the transition kernel
            // serves only partitions that went back to plain runs near a cap.
            if (ir::nfa_compact_any_match(*sp.ops[static_cast<size_t>(k.op)].nfa)) return KernelUse::OffBatchPath;
            return by_input;
        case KernelKind::TransTest:
            if (ir::nfa_stack_any_match(*sp.ops[static_cast<size_t>(k.op)].nfa)) return KernelUse::OffBatchPath;
            return by_input;
        case KernelKind::Join:
        case KernelKind::Trend:
        case KernelKind::Scan: return by_input;
        // A fold loops over every row a closed window keeps: its body is per kept row.
        case KernelKind::Fold: return KernelUse::PerEvent;
        case KernelKind::Chain:
            if (k.op > 0) {
                // A tail runs per row the operator before it produces: a join or a sequence
                // over input events produces about one per event (temporal: 648 -> 660
                // instructions per event with a fast-codegen tail), a window one per closed
                // window, and an operator over other streams' rows one per theirs.
                const ir::OpKind before = sp.ops[static_cast<size_t>(k.op) - 1].kind;
                return before == ir::OpKind::Join || before == ir::OpKind::Sequence ? by_input : KernelUse::Occasional;
            }
            break;
        case KernelKind::Filter:
        case KernelKind::Project:
        case KernelKind::Effect:
        case KernelKind::Merge: break;
    }
    // Per-row path: hot unless every input of the stream is an input event type with a type
    // loop (rows another stream forwards always take the per-row path); then the type loop
    // runs the stream's code inline and the kernel serves only rows that are not prepared
    // (streaming simulate, single-event requests), per event there: the first stage's code
    // made filter's Engine::process 5.7 % slower.
    if (sp.inputs.empty() || by_input == KernelUse::Occasional) return KernelUse::PerEvent;
    for (const auto& name : sp.inputs)
        for (const auto& other : plan.streams)
            if (other.name == name) return KernelUse::PerEvent;
    const auto s = static_cast<size_t>(k.stream);
    for (size_t t = 0; t < plan.routes.size(); ++t)
        for (int32_t sid : plan.routes[t])
            if (static_cast<size_t>(sid) == s && !type_fuses(plan, t)) return KernelUse::PerEvent;
    return KernelUse::Occasional;
}

bool per_event_kernel(const ir::Plan& plan, const KernelSymbol& k) { return kernel_use(plan, k) == KernelUse::PerEvent; }

}  // namespace varpulis::codegen
