#include "codegen/plan_shapes.hpp"

#include <algorithm>
#include <functional>

#include "ir/nfa_shape.hpp"
#include "ir/printer.hpp"
#include "ir/window_fusion.hpp"
#include "runtime/window_state.hpp"

namespace varpulis::codegen {

namespace detail {

/// Whether codegen generates `e` itself (its children are generated recursively); otherwise
/// the node is a vp_eval_fallback call. Arity checks keep malformed nodes on the interpreter.
bool inlined(const Expr& e) {
    switch (e.op) {
        case ExprOp::Const:
            switch (e.lit.kind) {
                case Kind::Null:
                case Kind::Bool:
                case Kind::Int:
                case Kind::Float:
                case Kind::Timestamp:
                case Kind::Duration:
                case Kind::Str: return true;  // strings: KernelContext::consts, interned per engine
                default: return false;
            }
        case ExprOp::Field:
        case ExprOp::Global: return true;
        // Only compiled function bodies have locals (their frame, KernelContext::locals);
        // elsewhere a Local reads as absent, as in the interpreter without a frame.
        case ExprOp::Local: return true;
        // A trend's alias may bind a predecessor of another step type, whose field is found by
        // name: generated as a switch on the bound row's schema (alias_field).
        case ExprOp::AliasField: return e.index >= 0 && !e.slots.empty();
        case ExprOp::AliasLen: return e.index >= 0;
        case ExprOp::Unary: return !e.args.empty();
        case ExprOp::Binary:
            // `x in [..]` has its own interpreter path (no array is built): keep it there.
            return e.args.size() >= 2 && e.bop != BinaryOp::In && e.bop != BinaryOp::NotIn;
        case ExprOp::And:
        case ExprOp::Or: return e.args.size() >= 2;
        case ExprOp::If: return true;
        default: return false;
    }
}

/// The NFA whose step predicates get kernels: a sequence's, or a trend aggregate's (GRETA);
/// null for other operators.
const ir::Nfa* step_nfa(const ir::Operator& op) {
    if (op.kind == ir::OpKind::Sequence) return op.nfa.get();
    if (op.kind == ir::OpKind::TrendAggregate && op.trend) return &op.trend->nfa;
    return nullptr;
}

/// Sequence and trend-aggregate operators get one kernel per step predicate (the matching and
/// the GRETA counting are runtime code).
bool compiles_steps(const ir::Operator& op) {
    const ir::Nfa* nfa = step_nfa(op);
    if (!nfa) return false;
    for (const auto& step : nfa->steps)
        if (step.predicate) return true;
    return false;
}

/// The user functions evaluating `e` may call (runtime::call_function), by index.
void callees(const ir::Plan& plan, const Expr& e, std::vector<int32_t>& out);
void callees(const ir::Plan& plan, const std::vector<ir::StmtPtr>& body, std::vector<int32_t>& out) {
    for (const auto& s : body) {
        if (!s) continue;
        for (const auto& x : s->exprs)
            if (x) callees(plan, *x, out);
        for (const auto& b : s->blocks) callees(plan, b, out);
    }
}
void callees(const ir::Plan& plan, const Expr& e, std::vector<int32_t>& out) {
    if (e.op == ExprOp::CallUser) out.push_back(e.index);
    if (e.op == ExprOp::Method) {
        // eval_method: lambda methods, count(), then builtins, then the first user function
        // of that name.
        static const char* const kLambdaMethods[] = {"filter", "map", "any", "all", "count", "sum"};
        const bool lambda = e.args.size() == 2 && e.args[1] && e.args[1]->op == ExprOp::Lambda;
        bool resolved = frontend::find_builtin(e.name).has_value() || (e.name == "count" && e.args.size() == 1);
        for (const char* m : kLambdaMethods) resolved = resolved || (lambda && e.name == m);
        for (size_t i = 0; i < plan.functions.size() && !resolved; ++i)
            if (plan.functions[i].name == e.name) {
                out.push_back(static_cast<int32_t>(i));
                resolved = true;
            }
    }
    for (const auto& a : e.args)
        if (a) callees(plan, *a, out);
    callees(plan, e.body, out);
}

/// How many call levels a call of function `index` may reach (itself included); -1 when it
/// may recurse or reach an invalid function. `on_path` holds the functions being explored,
/// `known` the answers so far (-2: not yet; a function that reaches one on the path is on a
/// cycle itself, so -1 is final too).
int call_depth(const ir::Plan& plan, int32_t index, std::vector<char>& on_path, std::vector<int>& known) {
    if (index < 0 || static_cast<size_t>(index) >= plan.functions.size()) return -1;
    if (on_path[static_cast<size_t>(index)]) return -1;
    if (known[static_cast<size_t>(index)] != -2) return known[static_cast<size_t>(index)];
    on_path[static_cast<size_t>(index)] = 1;
    std::vector<int32_t> calls;
    callees(plan, plan.functions[static_cast<size_t>(index)].body, calls);
    int deepest = 0;
    for (int32_t c : calls) {
        const int d = call_depth(plan, c, on_path, known);
        if (d < 0) {
            deepest = -1;
            break;
        }
        deepest = std::max(deepest, d);
    }
    on_path[static_cast<size_t>(index)] = 0;
    known[static_cast<size_t>(index)] = deepest < 0 ? -1 : deepest + 1;
    return known[static_cast<size_t>(index)];
}

/// The user function a `.process` operator calls when its body compiles; else null.
const ir::Function* process_function(const ir::Plan& plan, const ir::Operator& op) {
    if (op.kind != ir::OpKind::Process || op.exprs.empty() || !op.exprs[0] || op.out < 0) return nullptr;
    const Expr& call = *op.exprs[0];
    if (call.op != ExprOp::CallUser || call.index < 0 || static_cast<size_t>(call.index) >= plan.functions.size())
        return nullptr;
    std::vector<char> on_path(plan.functions.size(), 0);
    std::vector<int> known(plan.functions.size(), -2);
    const int depth = call_depth(plan, call.index, on_path, known);
    if (depth < 0 || depth > kMaxCompiledCallDepth) return nullptr;
    return &plan.functions[static_cast<size_t>(call.index)];
}

/// The emit statements of a body in generation order.
void collect_emits(const std::vector<ir::StmtPtr>& body, std::vector<const ir::Stmt*>& out) {
    for (const auto& s : body) {
        if (!s) continue;
        if (s->op == ir::StmtOp::Emit) out.push_back(s.get());
        if (s->op == ir::StmtOp::If) {
            for (size_t i = 0; i < s->exprs.size() && i < s->blocks.size(); ++i) collect_emits(s->blocks[i], out);
            if (s->blocks.size() > s->exprs.size()) collect_emits(s->blocks[s->exprs.size()], out);
        } else if ((s->op == ir::StmtOp::For || s->op == ir::StmtOp::While) && !s->blocks.empty()) {
            collect_emits(s->blocks[0], out);
        }
    }
}

bool is_string_constant(const Expr& e) { return e.op == ExprOp::Const && e.lit.kind == Kind::Str; }

void collect(const Expr* e, Collected& out) {
    if (!e) return;
    if (!inlined(*e)) {
        out.fallbacks.push_back(e);
        ++out.stats.fallbacks;
        return;
    }
    ++out.stats.inlined;
    if (is_string_constant(*e)) out.strings.push_back(e);
    for_children(*e, [&](const Expr* c) { collect(c, out); });
}

Collected collect_plan(const ir::Plan& plan) {
    Collected c;
    for_compiled_exprs(plan, [&](const Expr* e) { collect(e, c); });
    return c;
}

/// The last operator of a fused stream that is not a Filter: the projection whose row comes
/// out (filters may follow it). ops.size() when the stream only filters.
size_t last_projection(const ir::StreamPlan& sp) {
    size_t last = sp.ops.size();
    for (size_t k = 0; k < sp.ops.size(); ++k)
        if (sp.ops[k].kind != ir::OpKind::Filter) last = k;
    return last;
}

/// The merge entries of `sp` whose source is routing schema `schema`, in written order (the
/// first whose filter holds takes the event, as Engine::Impl::run_stream does).
std::vector<size_t> merge_entries(const ir::Plan& plan, const ir::StreamPlan& sp, size_t schema) {
    std::vector<size_t> out;
    for (size_t e = 0; e < sp.merge_filters.size(); ++e)
        if (plan.routing_schema(sp.merge_filters[e].first) == static_cast<int32_t>(schema)) out.push_back(e);
    return out;
}

/// Whether other streams read `sp`'s rows (through the engine's queue).
bool forwards(const ir::Plan& plan, const ir::StreamPlan& sp) {
    return sp.type_id >= 0 && static_cast<size_t>(sp.type_id) < plan.routes.size() &&
           !plan.routes[static_cast<size_t>(sp.type_id)].empty();
}

/// Whether an operator's compiled code calls the interpreter anywhere.
bool calls_interpreter(const ir::Plan& plan, const ir::Operator& op) {
    Collected c;
    if (op.kind == ir::OpKind::Filter) {
        collect(op.exprs[0].get(), c);
    } else if (op.kind == ir::OpKind::Aggregate) {
        for (const auto& call : op.calls) collect(call.arg.get(), c);
    } else {
        size_t w = plan.schemas[static_cast<size_t>(op.out)].fields.size();
        for (size_t i = 0; i < w && i < op.exprs.size(); ++i) collect(op.exprs[i].get(), c);
    }
    return !c.fallbacks.empty();
}

void serialise(const Expr* e, std::string& out) {
    if (!e) {
        out += '_';
        return;
    }
    if (!inlined(*e)) {
        out += 'F';
        return;
    }
    out += '(';
    out += std::to_string(static_cast<int>(e->op));
    switch (e->op) {
        case ExprOp::Const:
            out += ' ' + std::to_string(static_cast<int>(e->lit.kind)) + ' ' + std::to_string(e->lit.i) + ' ' +
                   std::to_string(std::bit_cast<uint64_t>(e->lit.f)) + ' ' + (e->lit.b ? "t" : "f");
            break;
        case ExprOp::Field:
            for (uint32_t s : e->slots) out += ' ' + std::to_string(s);
            out += " @" + std::to_string(e->index);
            break;
        case ExprOp::Global: out += " @" + std::to_string(e->index); break;
        case ExprOp::Local: out += " %" + std::to_string(e->index); break;
        case ExprOp::AliasField:
            out += " a" + std::to_string(e->index) + " " + std::to_string(e->slots[0]) + " " +
                   std::to_string(e->slot_schema);
            if (!e->names.empty()) out += " " + std::to_string(e->names[0].size()) + ':' + e->names[0];
            break;
        case ExprOp::AliasLen: out += " a" + std::to_string(e->index); break;
        case ExprOp::Unary: out += ' ' + std::to_string(static_cast<int>(e->uop)); break;
        case ExprOp::Binary: out += ' ' + std::to_string(static_cast<int>(e->bop)); break;
        case ExprOp::If: out += ' ' + std::to_string(e->args.size()); break;
        default: break;
    }
    for_children(*e, [&](const Expr* c) {
        out += ' ';
        serialise(c, out);
    });
    out += ')';
}

/// A compiled function body's statement structure (its expressions are keyed separately).
void serialise_body(const std::vector<ir::StmtPtr>& body, std::string& out) {
    out += '{';
    for (const auto& s : body) {
        if (!s) {
            out += "_;";
            continue;
        }
        out += std::to_string(static_cast<int>(s->op)) + ' ' + std::to_string(s->index) + ' ' +
               std::to_string(s->exprs.size());
        if (s->op == ir::StmtOp::Emit) {
            out += ' ' + std::to_string(s->type.size()) + ':' + s->type;
            for (const auto& n : s->names) out += ' ' + std::to_string(n.size()) + ':' + n;
        }
        for (const auto& b : s->blocks) serialise_body(b, out);
        out += ';';
    }
    out += '}';
}

}  // namespace detail

using namespace detail;


bool compiles(const ir::Operator& op) {
    switch (op.kind) {
        case ir::OpKind::Filter: return !op.exprs.empty() && op.exprs[0] != nullptr;
        case ir::OpKind::Select:
        case ir::OpKind::Emit: return op.out >= 0;
        case ir::OpKind::Aggregate: return !op.calls.empty();
        default: return false;
    }
}

bool compiles_effect(const ir::Plan& plan, const ir::Operator& op) {
    switch (op.kind) {
        case ir::OpKind::Print:
        case ir::OpKind::To:
        case ir::OpKind::Distinct: return true;
        case ir::OpKind::Process: return process_function(plan, op) != nullptr;
        default: return false;
    }
}

bool compiles_fold(const ir::Plan& plan, const ir::StreamPlan& sp, size_t k) {
    if (k + 1 >= sp.ops.size()) return false;
    const ir::Operator& window = sp.ops[k];
    const ir::Operator& aggregate = sp.ops[k + 1];
    if (window.kind != ir::OpKind::Window || aggregate.kind != ir::OpKind::Aggregate || !compiles(aggregate)) return false;
    // Engines fuse these pairs into per-event accumulators instead (type_loop_accumulates).
    if (ir::window_fuses(plan, window, aggregate)) return false;
    if (aggregate.in != window.in && aggregate.in != window.out) return false;
    if (window.in < 0 || aggregate.in < 0 ||
        plan.schemas[static_cast<size_t>(aggregate.in)].fields.size() != plan.schemas[static_cast<size_t>(window.in)].fields.size())
        return false;
    // The fold has no row context: an interpreted argument could read the row's time or raw
    // fields, and an ema period is evaluated by the runtime without a row.
    if (calls_interpreter(plan, aggregate)) return false;
    for (const auto& c : aggregate.calls)
        if (c.period && c.period->op != ExprOp::Const) return false;
    return true;
}

bool compiles_trend(const ir::Plan& plan, const ir::Operator& op) {
    if (op.kind != ir::OpKind::TrendAggregate || !op.trend || op.trend->nfa.steps.empty()) return false;
    for (const auto& st : op.trend->nfa.steps) {
        if (st.predicate) return false;
        if (st.type_id >= 0 && static_cast<size_t>(st.type_id) >= plan.schemas.size()) return false;
    }
    return true;
}

std::string fold_note() {
    return "rows kept by the runtime; the aggregate's calls folded over them by generated code at each close";
}

bool compiles_join(const ir::Plan& plan, const ir::Operator& op) {
    if (op.kind != ir::OpKind::Join || !op.join || op.join->sources.empty()) return false;
    if (op.out < 0 || static_cast<size_t>(op.out) >= plan.schemas.size()) return false;
    const ir::Join& j = *op.join;
    std::vector<size_t> width;
    for (const auto& src : j.sources) {
        if (src.type_id < 0 || static_cast<size_t>(src.type_id) >= plan.schemas.size()) return false;
        width.push_back(plan.schemas[static_cast<size_t>(src.type_id)].fields.size());
        if (src.key_slot >= 0 && static_cast<size_t>(src.key_slot) >= width.back()) return false;
    }
    const ir::Schema& out = plan.schemas[static_cast<size_t>(op.out)];
    if (out.origins.size() != out.fields.size()) return false;
    for (const auto& o : out.origins)
        for (auto [s, slot] : o.candidates)
            if (slot >= 0 && (s < 0 || static_cast<size_t>(s) >= width.size() || static_cast<size_t>(slot) >= width[static_cast<size_t>(s)]))
                return false;
    return true;
}

bool compiles_seq_trans(const ir::Plan& plan, const ir::Operator& op) {
    (void)plan;
    // Every form and strategy: skip_till_any_match's branching paths (plain runs, And, the
    // compact DAG) ask the kernel's kSeqTest / kSeqMask modes (runtime/abi.hpp).
    if (op.kind != ir::OpKind::Sequence || !op.nfa) return false;
    const ir::Nfa& nfa = *op.nfa;
    // Generated code reads bindings by alias number and never calls the interpreter (the
    // matcher gives it no alias rows to evaluate against).
    bool ok = true;
    std::function<void(const Expr&)> check = [&](const Expr& e) {
        if (!inlined(e)) {
            ok = false;
            return;
        }
        if ((e.op == ExprOp::AliasField || e.op == ExprOp::AliasLen) && static_cast<size_t>(e.index) >= nfa.aliases.size())
            ok = false;
        for_children(e, [&](const Expr* c) {
            if (c) check(*c);
        });
    };
    for (const auto& st : nfa.steps) {
        if (st.alias >= static_cast<int32_t>(nfa.aliases.size())) return false;
        if (st.predicate) check(*st.predicate);
    }
    for (const auto& n : nfa.negations)
        if (n.predicate) check(*n.predicate);
    return ok;
}

bool compiles_seq_scan(const ir::Nfa& nfa) { return nfa.steps.size() <= 64 && ir::nfa_stack_any_match(nfa); }

std::string seq_note(const ir::Plan& plan, const ir::Operator& op) {
    if (!compiles_seq_trans(plan, op)) return {};
    if (compiles_seq_scan(*op.nfa))
        return "transitions and predicates generated, events scanned for their steps in one generated loop; stacks "
               "and match rows in the runtime";
    return "transitions and predicates generated; runs, index and match rows in the runtime";
}

std::string join_note(const ir::Plan& plan, const ir::Operator& op) {
    if (!compiles_join(plan, op)) return {};
    return "key test, partner checks and joined row compiled per source; key lookup in the runtime key index";
}

std::string trend_note(const ir::Operator& op) {
    if (op.kind != ir::OpKind::TrendAggregate) return {};
    size_t preds = 0;
    bool adjacent = false;
    if (op.trend)
        for (const auto& step : op.trend->nfa.steps)
            if (step.predicate) {
                ++preds;
                adjacent = adjacent || ir::expr_reads_alias(*step.predicate, -1);
            }
    const std::string greta = "GRETA counts and aggregates in the runtime";
    if (preds == 0)
        return "GRETA per-event update compiled (step dispatch on the event type, counts and sums); partition "
               "lookup, window open and close, and counts past 64 bits in the runtime";
    return std::to_string(preds) + (preds == 1 ? " step predicate" : " step predicates") + " compiled" +
           (adjacent ? " (predecessor fields as generated loads)" : "") + "; " + greta;
}

std::string effect_note(const ir::Plan& plan, const ir::Operator& op) {
    switch (op.kind) {
        case ir::OpKind::Print:
            return op.exprs.empty() ? "whole event formatted and printed by runtime helper"
                                    : "arguments compiled, printed by runtime helper";
        case ir::OpKind::To: return "no expressions; sent by runtime helper";
        case ir::OpKind::Distinct:
            return op.exprs.empty() ? "key hashed by runtime helper" : "key compiled, seen-set in runtime helper";
        case ir::OpKind::Process: {
            if (process_function(plan, op)) return "function body compiled, emits through runtime helper";
            if (op.exprs.empty() || !op.exprs[0] || op.exprs[0]->op != ExprOp::CallUser || op.exprs[0]->index < 0)
                return "the call is not a user function";
            const auto& fn = plan.functions[static_cast<size_t>(op.exprs[0]->index)];
            return "fn " + fn.name + " may recurse (the interpreter counts the call-depth limit)";
        }
        default: return {};
    }
}

std::vector<const ir::Stmt*> emit_statements(const ir::Plan& plan) {
    std::vector<const ir::Stmt*> out;
    for (const auto& sp : plan.streams)
        for (const auto& op : sp.ops)
            if (!compiles(op) && compiles_effect(plan, op))
                if (const ir::Function* fn = process_function(plan, op)) collect_emits(fn->body, out);
    return out;
}

std::vector<const ir::Expr*> fallback_nodes(const ir::Plan& plan) { return collect_plan(plan).fallbacks; }

std::vector<const ir::Expr*> string_constants(const ir::Plan& plan) { return collect_plan(plan).strings; }

CodegenStats codegen_stats(const ir::Plan& plan) { return collect_plan(plan).stats; }

namespace {

/// Whether operators [from, end) of `sp` are compiled filters and projections that one chain
/// kernel can run (see fuses()). `projected`: the row they start from is not the context's row
/// (a merge stream's merged row), so no operator may call the interpreter.
bool fuses_from(const ir::Plan& plan, const ir::StreamPlan& sp, size_t from, bool projected = false) {
    if (from >= sp.ops.size() || sp.has_process) return false;
    for (size_t k = from; k < sp.ops.size(); ++k) {
        const ir::Operator& op = sp.ops[k];
        if (!compiles(op)) return false;
        if (op.kind != ir::OpKind::Filter && op.kind != ir::OpKind::Select && op.kind != ir::OpKind::Emit) return false;
        if (op.kind == ir::OpKind::Emit && k + 1 != sp.ops.size()) return false;
        // A fallback evaluates against the context's row, which is the stream's input row: the
        // interpreter would give operators after a projection the projected row instead.
        if (projected && calls_interpreter(plan, op)) return false;
        if (op.kind != ir::OpKind::Filter) projected = true;
    }
    return true;
}

}  // namespace

bool fuses(const ir::Plan& plan, const ir::StreamPlan& sp) { return sp.merge_filters.empty() && fuses_from(plan, sp, 0); }

int merged_schema(const ir::Plan& plan, const ir::StreamPlan& sp) {
    if (sp.merge_filters.empty()) return -1;
    for (size_t i = 0; i < plan.schemas.size(); ++i)
        if (plan.schemas[i].kind == ir::SchemaKind::Merged && plan.schemas[i].name == sp.name + "#merge")
            return static_cast<int>(i);
    return -1;
}

namespace {

/// Whether a type loop runs every operator of `sp` inline: fuses(), or a merge stream whose
/// operators would fuse from its merged row.
bool inline_all(const ir::Plan& plan, const ir::StreamPlan& sp) {
    if (sp.merge_filters.empty()) return fuses(plan, sp);
    return merged_schema(plan, sp) >= 0 && fuses_from(plan, sp, 0, true);
}

}  // namespace

int tail_chain(const ir::Plan& plan, const ir::StreamPlan& sp) {
    if (sp.ops.empty() || fuses(plan, sp)) return -1;
    size_t from = sp.ops.size();
    while (from > 1 && fuses_from(plan, sp, from - 1)) --from;
    return from < sp.ops.size() && fuses_from(plan, sp, from) ? static_cast<int>(from) : -1;
}

int type_loop_handoff(const ir::Plan& plan, const ir::StreamPlan& sp) {
    if (sp.has_process || inline_all(plan, sp)) return -1;
    if (!sp.merge_filters.empty() && merged_schema(plan, sp) < 0) return -1;
    // A merge stream's operators see the merged row, not the context's: as after a projection.
    bool projected = !sp.merge_filters.empty();
    for (size_t k = 0; k < sp.ops.size(); ++k) {
        const ir::Operator& op = sp.ops[k];
        // As fuses(): fallbacks see the input row, so none may follow a projection.
        if (projected && compiles(op) && calls_interpreter(plan, op)) return -1;
        if ((op.kind == ir::OpKind::Filter || op.kind == ir::OpKind::Select) && compiles(op)) {
            projected = projected || op.kind == ir::OpKind::Select;
            continue;
        }
        if (op.kind == ir::OpKind::Window && k + 1 < sp.ops.size() &&
            ir::window_fuses_per_event(plan, op, sp.ops[k + 1])) {
            const ir::Operator& agg = sp.ops[k + 1];
            if (!compiles(agg) || (projected && calls_interpreter(plan, agg))) return -1;
        }
        return static_cast<int>(k);
    }
    // Only compiled filters and selects (no Emit): the engine forwards what passes.
    return static_cast<int>(sp.ops.size());
}

bool type_loop_accumulates(const ir::Plan& plan, const ir::StreamPlan& sp) {
    const int w = type_loop_handoff(plan, sp);
    return w >= 0 && static_cast<size_t>(w) + 1 < sp.ops.size() && sp.ops[static_cast<size_t>(w)].kind == ir::OpKind::Window &&
           ir::window_fuses_per_event(plan, sp.ops[static_cast<size_t>(w)], sp.ops[static_cast<size_t>(w) + 1]);
}

bool type_fuses(const ir::Plan& plan, size_t schema) {
    if (schema >= plan.schemas.size() || schema >= plan.routes.size()) return false;
    if (plan.schemas[schema].kind != ir::SchemaKind::Event || plan.routes[schema].empty()) return false;
    // A loop in which every stream hands its row, untouched, to its first operator would be
    // generated code doing nothing but indirect calls: the engine's per-row path does the same
    // with fewer of them (and, with types alternating in short runs, without a mispredicted
    // kernel call per run), so such a type gets no kernel.
    bool generates = false;
    for (int32_t sid : plan.routes[schema]) {
        if (sid < 0 || static_cast<size_t>(sid) >= plan.streams.size()) return false;
        const ir::StreamPlan& sp = plan.streams[static_cast<size_t>(sid)];
        if (inline_all(plan, sp)) {
            generates = true;
            continue;
        }
        const int handoff = type_loop_handoff(plan, sp);
        if (handoff < 0) return false;
        generates = generates || handoff > 0 || !sp.merge_filters.empty() || type_loop_accumulates(plan, sp);
    }
    return generates;
}

std::string plan_key(const ir::Plan& plan) {
    std::string key = ir::dump_ir(plan);
    key += "\n#codegen\n";
    for (const auto& sp : plan.streams) {
        for (const auto& op : sp.ops) {
            if (!compiles(op) && compiles_effect(plan, op)) {
                // The whole generated body: its expressions bit-exact, its statements by shape.
                key += "effect " + std::to_string(static_cast<int>(op.kind)) + ':';
                for_effect_exprs(plan, op, [&](const Expr* e) {
                    key += ' ';
                    serialise(e, key);
                });
                if (const ir::Function* fn = process_function(plan, op)) {
                    key += " frame " + std::to_string(std::max(fn->local_count, fn->param_count));
                    serialise_body(fn->body, key);
                }
                key += '\n';
                continue;
            }
            if (!compiles(op)) {
                key += "-\n";
                continue;
            }
            key += std::to_string(static_cast<int>(op.kind)) + " w";
            key += std::to_string(op.out >= 0 ? plan.schemas[static_cast<size_t>(op.out)].fields.size() : 0);
            key += ':';
            if (op.kind == ir::OpKind::Filter) {
                serialise(op.exprs[0].get(), key);
            } else if (op.kind == ir::OpKind::Aggregate) {
                for (const auto& call : op.calls) {
                    key += ' ';
                    serialise(call.arg.get(), key);
                }
            } else {
                for (const auto& e : op.exprs) {
                    key += ' ';
                    serialise(e.get(), key);
                }
            }
            key += '\n';
        }
        for (const auto& op : sp.ops) {
            // ir::dump may not show a join's slots and origins, which its kernels bake in.
            if (!compiles_join(plan, op)) continue;
            key += "join: " + std::to_string(op.join->retention_ms) + " out " + std::to_string(op.out);
            for (const auto& src : op.join->sources)
                key += " (" + std::to_string(src.type_id) + ' ' + std::to_string(src.key_slot) + ' ' +
                       std::to_string(plan.schemas[static_cast<size_t>(src.type_id)].fields.size()) + ')';
            for (const auto& o : plan.schemas[static_cast<size_t>(op.out)].origins) {
                key += " [";
                for (auto [src, slot] : o.candidates) key += std::to_string(src) + ':' + std::to_string(slot) + ' ';
                key += ']';
            }
            key += '\n';
        }
        for (const auto& op : sp.ops) {
            if (!compiles_seq_trans(plan, op)) continue;
            const ir::Nfa& nfa = *op.nfa;
            key += "trans: " + std::to_string(static_cast<int>(nfa.form)) + ' ' + std::to_string(static_cast<int>(nfa.strategy)) +
                   ' ' + std::to_string(nfa.aliases.size());
            for (const auto& st : nfa.steps)
                key += " (" + std::to_string(st.type_id) + ' ' + std::to_string(static_cast<int>(st.quantifier)) + ' ' +
                       std::to_string(st.alias) + (st.own_alias_in_predicate ? " own" : "") + ')';
            for (const auto& ng : nfa.negations) {
                key += " not ";
                serialise(ng.predicate.get(), key);
            }
            key += '\n';
        }
        for (const auto& op : sp.ops) {
            if (!compiles_steps(op)) continue;
            key += "steps:";
            for (const auto& step : step_nfa(op)->steps) {
                key += ' ';
                serialise(step.predicate.get(), key);
            }
            key += '\n';
        }
        key += "|\n";
    }
    return key;
}

}  // namespace varpulis::codegen
