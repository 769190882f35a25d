#pragma once
// Compiled kernels for a plan, as the engine consumes them: plain C function pointers per
// stream per operator (nullptr = interpret that operator). Built by jit/, installed with
// Engine::install_kernels; runtime/ never sees LLVM.

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/abi.hpp"

namespace varpulis::ir {
struct Stmt;
}

namespace varpulis::runtime {

struct OpKernels {
    FilterKernel filter = nullptr;    // Filter operators
    ProjectKernel project = nullptr;  // Select and Emit operators; Aggregate: call arguments
    /// On operator 0: the whole stream fused into one function (see runtime/abi.hpp); on a
    /// later operator k: operators [k, end) fused (codegen::tail_chain), same signature, the
    /// row entering operator k as `in`.
    ChainKernel chain = nullptr;
    /// Sequence operators: the predicate of NFA step i (nullptr: interpreted or none).
    std::vector<FilterKernel> steps;
    /// Sequence operators: the NFA transitions and negations (runtime/abi.hpp SeqTransKernel),
    /// or nullptr (the matcher decides with its own tables).
    SeqTransKernel trans = nullptr;
    /// skip_till_any_match sequence and And operators: the kSeqTest mode of `trans` for step
    /// i alone (same signature; `via` and `pos` unread), a small function the matcher calls per
    /// run and step.
    std::vector<SeqTransKernel> tests;
    /// Stack-mode skip_till_any_match sequences: PatternMatcher::scan's loop (runtime/abi.hpp
    /// SeqScanKernel), or nullptr.
    SeqScanKernel scan = nullptr;
    /// Print, To, Distinct and Process operators (see runtime/abi.hpp OpRun).
    EffectKernel effect = nullptr;
    /// Join operators: the kernel of source i (runtime/abi.hpp JoinKernel), every source or none.
    std::vector<JoinKernel> joins;
    /// Window operators that keep their rows and feed an Aggregate: the calls folded over a
    /// closed window's rows (runtime/abi.hpp FoldKernel).
    FoldKernel fold = nullptr;
    /// Trend aggregates without step predicates: GRETA's per-event update (runtime/abi.hpp
    /// TrendKernel).
    TrendKernel trend = nullptr;
};

/// Immutable once built; shared between the engine and whoever compiled it.
struct KernelTable {
    /// ops[stream id][operator index], shaped like Plan::streams[..].ops (shorter = interpreted).
    std::vector<std::vector<OpKernels>> ops;
    /// types[routing schema id]: every stream routed to that schema in one loop over a run of
    /// rows (see runtime/abi.hpp; nullptr or shorter: the engine runs the streams one by one).
    std::vector<TypeKernel> types;
    /// merges[stream id][entry]: the filter of a merge stream's entry (Plan merge_filters),
    /// tested on the input row (nullptr or shorter: interpreted, or no filter).
    std::vector<std::vector<FilterKernel>> merges;
    /// Fallback IR nodes of the plan the table was built for, by fallback number (the `nodes`
    /// of KernelContext). They point into that plan, which must outlive the table.
    std::vector<const ir::Expr*> nodes;
    /// String constants of that plan by constant number (Const nodes of kind Str); the engine
    /// interns them once and passes them as KernelContext::consts.
    std::vector<const ir::Expr*> constants;
    /// `emit` statements of the function bodies `.process` kernels run, by the number the
    /// code passes to vp_op_emit (pointing into that plan, like `nodes`).
    std::vector<const ir::Stmt*> emits;
    /// Keeps the machine code alive: the kernels are valid as long as this is. The engine drops
    /// a replaced table only between events, so no thread can still be running its code.
    std::shared_ptr<const void> code_owner;

    /// Operator `op`'s own kernel(s), or nullptr. The operators a chain covers (the whole
    /// stream's, or a tail's) have none: their code is inside the chain.
    const OpKernels* find(size_t stream, size_t op) const {
        if (stream >= ops.size() || op >= ops[stream].size()) return nullptr;
        const OpKernels& k = ops[stream][op];
        return k.filter || k.project || k.effect || k.fold || k.trend || k.trans || !k.tests.empty() || !k.joins.empty() ? &k : nullptr;
    }
    /// The fused kernel of stream `stream`, or nullptr.
    ChainKernel chain(size_t stream) const {
        return stream < ops.size() && !ops[stream].empty() ? ops[stream][0].chain : nullptr;
    }
    /// The fused operators [op, end) of stream `stream` when op > 0 (codegen::tail_chain), or nullptr.
    ChainKernel tail(size_t stream, size_t op) const {
        return op > 0 && stream < ops.size() && op < ops[stream].size() ? ops[stream][op].chain : nullptr;
    }
    /// The compiled filter of merge entry `entry` of stream `stream`, or nullptr.
    FilterKernel merge(size_t stream, size_t entry) const {
        return stream < merges.size() && entry < merges[stream].size() ? merges[stream][entry] : nullptr;
    }
    /// The type kernel of routing schema `schema`, or nullptr.
    TypeKernel type_kernel(size_t schema) const { return schema < types.size() ? types[schema] : nullptr; }
};

}  // namespace varpulis::runtime
