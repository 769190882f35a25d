#include "runtime/eval.hpp"

#include <algorithm>
#include <iterator>
#include <vector>

#include "runtime/value_ops.hpp"

namespace varpulis::runtime {

using ir::Expr;
using ir::ExprOp;
using ir::Kind;
using ir::Stmt;
using ir::StmtOp;
using ir::StmtPtr;

namespace {

/// `<`, `<=`, `>`, `>=` on two numbers of one kind. For floats, IEEE ordered comparisons are
/// false on NaN, as an unordered compare is in VPL.
template <class T>
bool order_fast_path(frontend::BinaryOp op, T x, T y, Value& out) {
    using frontend::BinaryOp;
    switch (op) {
        case BinaryOp::Lt: out = Value::boolean(x < y); return true;
        case BinaryOp::Le: out = Value::boolean(x <= y); return true;
        case BinaryOp::Gt: out = Value::boolean(x > y); return true;
        case BinaryOp::Ge: out = Value::boolean(x >= y); return true;
        default: return false;
    }
}

/// The most common binary operations on two numbers of one kind, inline; binary_op has the
/// same results (value_ops.cpp) and handles everything else. Float `==`/`!=` and division stay
/// there (NaN equality and division by zero have their own rules).
bool float_fast_path(frontend::BinaryOp op, double x, double y, Value& out) {
    using frontend::BinaryOp;
    switch (op) {
        case BinaryOp::Add: out = Value::floating(x + y); return true;
        case BinaryOp::Sub: out = Value::floating(x - y); return true;
        case BinaryOp::Mul: out = Value::floating(x * y); return true;
        default: return order_fast_path(op, x, y, out);
    }
}

bool int_fast_path(frontend::BinaryOp op, int64_t x, int64_t y, Value& out) {
    using frontend::BinaryOp;
    // Wrapping, as value_ops' wrap_add/wrap_sub/wrap_mul.
    const auto ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
    switch (op) {
        case BinaryOp::Eq: out = Value::boolean(x == y); return true;
        case BinaryOp::Ne: out = Value::boolean(x != y); return true;
        case BinaryOp::Add: out = Value::integer(static_cast<int64_t>(ux + uy)); return true;
        case BinaryOp::Sub: out = Value::integer(static_cast<int64_t>(ux - uy)); return true;
        case BinaryOp::Mul: out = Value::integer(static_cast<int64_t>(ux * uy)); return true;
        default: return order_fast_path(op, x, y, out);
    }
}

/// A user program may loop forever (`while true:` without a `break`), and the engine runs it
/// once per input event: past this many loop iterations in one function or lambda call, the
/// call gives up and has no value, so one bad event cannot hang the engine. Ten million
/// iterations (about a second interpreted) is far beyond any per-event computation a CEP
/// program needs. `for` loops count too: nested loops over long ranges would hang as well.
constexpr uint64_t kMaxLoopIterations = 10'000'000;

/// Unbounded recursion would overflow the native stack; deeper calls have no value.
constexpr int kMaxCallDepth = 200;
thread_local int t_call_depth = 0;

/// Argument buffers: a few values on the stack, a vector only for long argument lists.
class ArgBuffer {
public:
    explicit ArgBuffer(size_t n) {
        if (n > std::size(small_)) {
            large_.resize(n);
            data_ = large_.data();
        }
    }
    Value* data() { return data_; }

private:
    Value small_[8];
    std::vector<Value> large_;
    Value* data_ = small_;
};

enum class Flow : uint8_t { Normal, Break, Continue, Return, Abort };

/// One function or lambda activation.
struct Frame {
    EvalContext& ctx;
    /// Value of the last statement executed when it was an expression statement (the result
    /// of a body that ends without `return`, SEMANTICS §14); absent after any other statement.
    Value last;
    Value result;  // set by `return`
    uint64_t iterations = 0;
};

Flow exec_block(const std::vector<StmtPtr>& body, Frame& f);

Value eval_opt(const ir::ExprPtr& e, EvalContext& ctx) { return e ? eval(*e, ctx) : Value::absent(); }

Value literal(const Expr& e, EvalContext& ctx) {
    const ir::Literal& l = e.lit;
    switch (l.kind) {
        case Kind::Null: return Value::null();
        case Kind::Bool: return Value::boolean(l.b);
        case Kind::Int: return Value::integer(l.i);
        case Kind::Float: return Value::floating(l.f);
        case Kind::Timestamp: return Value::timestamp(l.i);
        case Kind::Duration: return Value::duration(static_cast<uint64_t>(l.i));
        case Kind::Str:
            // Interned: the first evaluation copies the text, later ones find it (no
            // allocation per event), and it lives as long as the interner.
            if (ctx.rt->interner) return Value::string(ctx.rt->interner->intern(l.s));
            return make_string_value(*ctx.rt->heap, l.s);
        default: return Value::absent();
    }
}

/// One past the highest local index a lambda's subtree uses (its frame size when the caller
/// has no locals).
void local_extent(const Expr& e, int32_t& top);
void local_extent(const Stmt& s, int32_t& top) {
    if (s.op == StmtOp::Let || s.op == StmtOp::Assign || s.op == StmtOp::For) top = std::max(top, s.index + 1);
    for (const auto& x : s.exprs)
        if (x) local_extent(*x, top);
    for (const auto& b : s.blocks)
        for (const auto& st : b)
            if (st) local_extent(*st, top);
}
void local_extent(const Expr& e, int32_t& top) {
    if (e.op == ExprOp::Local) top = std::max(top, e.index + 1);
    if (e.op == ExprOp::Lambda) top = std::max(top, e.index + static_cast<int32_t>(e.param_count));
    for (const auto& a : e.args)
        if (a) local_extent(*a, top);
    for (const auto& s : e.body)
        if (s) local_extent(*s, top);
}

Value run_lambda(const Expr& lambda, const Value* args, size_t argc, EvalContext& ctx) {
    for (uint32_t p = 0; p < lambda.param_count; ++p)
        ctx.locals[lambda.index + static_cast<int32_t>(p)] = p < argc ? args[p] : Value::absent();
    Frame f{ctx, {}, {}, 0};
    Flow flow = exec_block(lambda.body, f);
    if (flow == Flow::Return) return f.result;
    if (flow == Flow::Abort) return Value::absent();
    if (!lambda.args.empty() && lambda.args[0]) return eval(*lambda.args[0], ctx);
    return f.last;
}

bool is_lambda_method(const std::string& name) {
    return name == "filter" || name == "map" || name == "any" || name == "all" || name == "count" || name == "sum";
}

/// `arr.filter(x => ...)` and friends: the lambda runs once per element.
Value lambda_method(const std::string& name, const Value& recv, const Expr& lambda, EvalContext& ctx) {
    if (recv.kind != ValueKind::Array) return Value::absent();
    // One frame for every element, allocated once.
    std::vector<Value> own;
    EvalContext inner = ctx;
    if (!inner.locals) {
        int32_t top = 0;
        local_extent(lambda, top);
        own.resize(static_cast<size_t>(top));
        inner.locals = own.data();
    }
    const ArrayObj* a = recv.a;
    auto truthy = [&](const Value& item) {
        Value r = run_lambda(lambda, &item, 1, inner);
        return r.kind == ValueKind::Bool && r.b;
    };
    if (name == "filter" || name == "map") {
        std::vector<Value> out;
        out.reserve(a->size);
        for (uint32_t i = 0; i < a->size; ++i) {
            if (name == "filter") {
                if (truthy(a->items[i])) out.push_back(a->items[i]);
            } else {
                Value r = run_lambda(lambda, &a->items[i], 1, inner);
                if (r.present()) out.push_back(r);  // as in array literals, absent items are dropped
            }
        }
        ArrayObj* r = ctx.rt->heap->make_array(static_cast<uint32_t>(out.size()));
        std::copy(out.begin(), out.end(), r->items);
        return Value::array(r);
    }
    if (name == "any" || name == "all") {
        const bool any = name == "any";
        for (uint32_t i = 0; i < a->size; ++i)
            if (truthy(a->items[i]) == any) return Value::boolean(any);
        return Value::boolean(!any);
    }
    if (name == "count") {
        int64_t n = 0;
        for (uint32_t i = 0; i < a->size; ++i) n += truthy(a->items[i]);
        return Value::integer(n);
    }
    // sum: a float like sum(arr), over the numeric results.
    double sum = 0.0;
    for (uint32_t i = 0; i < a->size; ++i) {
        Value r = run_lambda(lambda, &a->items[i], 1, inner);
        if (r.kind == ValueKind::Int) sum += static_cast<double>(r.i);
        else if (r.kind == ValueKind::Float) sum += r.f;
    }
    return Value::floating(sum);
}

/// `recv.name(args)`: lambda-style array methods, else the builtin or user function of that
/// name with the receiver as first argument.
Value eval_method(const Expr& e, EvalContext& ctx) {
    if (e.args.empty() || !e.args[0]) return Value::absent();
    const Expr* lambda = e.args.size() == 2 && e.args[1] && e.args[1]->op == ExprOp::Lambda ? e.args[1].get() : nullptr;
    Value recv = eval(*e.args[0], ctx);
    if (lambda && is_lambda_method(e.name)) return lambda_method(e.name, recv, *lambda, ctx);
    if (e.name == "count" && e.args.size() == 1)
        return recv.kind == ValueKind::Array ? Value::integer(recv.a->size) : Value::absent();
    ArgBuffer buf(e.args.size());
    Value* args = buf.data();
    args[0] = recv;
    for (size_t i = 1; i < e.args.size(); ++i) args[i] = eval_opt(e.args[i], ctx);
    if (auto b = frontend::find_builtin(e.name)) return call_builtin(b->id, args, e.args.size(), ctx);
    if (ctx.rt->plan) {
        const auto& fns = ctx.rt->plan->functions;
        for (size_t i = 0; i < fns.size(); ++i)
            if (fns[i].name == e.name) return call_function(static_cast<int32_t>(i), args, e.args.size(), ctx);
    }
    return Value::absent();  // includes `f(x)` on a local: values are never functions
}

/// `x in [a, b, c]` without building the array (a common filter shape).
Value membership_in_literal(const Expr& e, EvalContext& ctx) {
    Value needle = eval_opt(e.args[0], ctx);
    if (!needle.present()) return Value::absent();
    bool found = false;
    for (const auto& item : e.args[1]->args) {
        if (values_equal(needle, eval_opt(item, ctx))) {
            found = true;
            break;
        }
    }
    return Value::boolean(e.bop == frontend::BinaryOp::In ? found : !found);
}

Value eval_array(const Expr& e, EvalContext& ctx) {
    ArgBuffer buf(e.args.size());
    Value* items = buf.data();
    uint32_t n = 0;
    for (const auto& a : e.args) {
        Value v = eval_opt(a, ctx);
        if (v.present()) items[n++] = v;  // absent elements are dropped, like absent arguments
    }
    ArrayObj* r = ctx.rt->heap->make_array(n);
    std::copy(items, items + n, r->items);
    return Value::array(r);
}

Value eval_map(const Expr& e, EvalContext& ctx) {
    size_t count = std::min(e.args.size(), e.names.size());
    ArgBuffer buf(count);
    Value* values = buf.data();
    uint32_t n = 0;
    for (size_t i = 0; i < count; ++i) {
        values[i] = eval_opt(e.args[i], ctx);
        n += values[i].present();
    }
    MapObj* m = ctx.rt->heap->make_map(n);
    uint32_t w = 0;
    for (size_t i = 0; i < count; ++i) {
        if (!values[i].present()) continue;  // an absent value omits its key
        const std::string& key = e.names[i];
        // A repeated key keeps its first position and takes the last value.
        uint32_t at = w;
        for (uint32_t j = 0; j < w; ++j)
            if (m->keys[j]->view() == key) at = j;
        if (at == w) {
            m->keys[w++] = ctx.rt->interner ? ctx.rt->interner->intern(key) : ctx.rt->heap->make_string(key);
        }
        m->values[at] = values[i];
    }
    m->size = w;
    return Value::map(m);
}

Value eval_call(const Expr& e, EvalContext& ctx) {
    ArgBuffer buf(e.args.size());
    Value* args = buf.data();
    for (size_t i = 0; i < e.args.size(); ++i) args[i] = eval_opt(e.args[i], ctx);
    if (e.op == ExprOp::Call) return call_builtin(e.fn, args, e.args.size(), ctx);
    return call_function(e.index, args, e.args.size(), ctx);
}

// ---------------------------------------------------------------- statements

void emit_event(const Stmt& s, Frame& f) {
    EvalContext& ctx = f.ctx;
    if (!ctx.emitted || !ctx.rt->interner) {
        for (const auto& x : s.exprs) eval_opt(x, ctx);  // still evaluated: they may call functions
        return;
    }
    EmittedEvent ev;
    ev.type = ctx.rt->interner->intern(s.type);
    size_t n = std::min(s.exprs.size(), s.names.size());
    ev.fields.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        Value v = eval_opt(s.exprs[i], ctx);
        if (v.present()) ev.fields.push_back(Field{ctx.rt->interner->intern(s.names[i]), v});
    }
    ctx.emitted->push_back(std::move(ev));
}

Flow exec_loop_body(const Stmt& s, Frame& f) {
    if (++f.iterations > kMaxLoopIterations) return Flow::Abort;
    return s.blocks.empty() ? Flow::Normal : exec_block(s.blocks[0], f);
}

Flow exec_stmt(const Stmt& s, Frame& f) {
    EvalContext& ctx = f.ctx;
    switch (s.op) {
        case StmtOp::Let:
        case StmtOp::Assign: {
            Value v = s.exprs.empty() ? Value::absent() : eval_opt(s.exprs[0], ctx);
            if (ctx.locals && s.index >= 0) ctx.locals[s.index] = v;
            f.last = Value::absent();
            return Flow::Normal;
        }
        case StmtOp::AssignGlobal: {
            Value v = s.exprs.empty() ? Value::absent() : eval_opt(s.exprs[0], ctx);
            auto& g = ctx.rt->globals;
            if (s.index >= 0 && static_cast<size_t>(s.index) < g.size()) g[s.index] = v;
            f.last = Value::absent();
            return Flow::Normal;
        }
        case StmtOp::If: {
            f.last = Value::absent();
            for (size_t i = 0; i < s.exprs.size(); ++i) {
                if (eval_condition(s.exprs[i].get(), ctx))
                    return i < s.blocks.size() ? exec_block(s.blocks[i], f) : Flow::Normal;
            }
            if (s.blocks.size() > s.exprs.size()) return exec_block(s.blocks[s.exprs.size()], f);
            return Flow::Normal;
        }
        case StmtOp::For: {
            Value it = s.exprs.empty() ? Value::absent() : eval_opt(s.exprs[0], ctx);
            Flow flow = Flow::Normal;
            auto bind = [&](const Value& v) {
                if (ctx.locals && s.index >= 0) ctx.locals[s.index] = v;
            };
            if (it.kind == ValueKind::Array) {
                for (uint32_t i = 0; i < it.a->size; ++i) {
                    bind(it.a->items[i]);
                    flow = exec_loop_body(s, f);
                    if (flow == Flow::Break) break;
                    if (flow == Flow::Return || flow == Flow::Abort) return flow;
                }
            } else if (it.kind == ValueKind::Map) {
                for (uint32_t i = 0; i < it.m->size; ++i) {
                    ArrayObj* pair = ctx.rt->heap->make_array(2);
                    pair->items[0] = Value::string(it.m->keys[i]);
                    pair->items[1] = it.m->values[i];
                    bind(Value::array(pair));
                    flow = exec_loop_body(s, f);
                    if (flow == Flow::Break) break;
                    if (flow == Flow::Return || flow == Flow::Abort) return flow;
                }
            }
            f.last = Value::absent();
            return Flow::Normal;
        }
        case StmtOp::While: {
            Flow flow = Flow::Normal;
            // A condition that is not a bool (absent included) stops the loop (SEMANTICS §14).
            while (!s.exprs.empty() && eval_condition(s.exprs[0].get(), ctx)) {
                flow = exec_loop_body(s, f);
                if (flow == Flow::Break) break;
                if (flow == Flow::Return || flow == Flow::Abort) return flow;
            }
            f.last = Value::absent();
            return Flow::Normal;
        }
        case StmtOp::Return:
            f.result = s.exprs.empty() ? Value::absent() : eval_opt(s.exprs[0], ctx);
            return Flow::Return;
        case StmtOp::Break:
            f.last = Value::absent();
            return Flow::Break;
        case StmtOp::Continue:
            f.last = Value::absent();
            return Flow::Continue;
        case StmtOp::Emit:
            emit_event(s, f);
            f.last = Value::absent();
            return Flow::Normal;
        case StmtOp::Expr:
            f.last = s.exprs.empty() ? Value::absent() : eval_opt(s.exprs[0], ctx);
            return Flow::Normal;
    }
    return Flow::Normal;
}

Flow exec_block(const std::vector<StmtPtr>& body, Frame& f) {
    for (const auto& s : body) {
        if (!s) continue;
        Flow flow = exec_stmt(*s, f);
        if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
}

struct DepthGuard {
    DepthGuard() { ++t_call_depth; }
    ~DepthGuard() { --t_call_depth; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
};

}  // namespace

Value eval(const Expr& e, EvalContext& ctx) {
    switch (e.op) {
        case ExprOp::Const: return literal(e, ctx);
        case ExprOp::Field: {
            if (ctx.row) {
                for (uint32_t s : e.slots) {
                    const Value& v = ctx.row->slots[s];
                    if (v.present()) return v;
                }
            }
            // Globals are visible after event fields (SEMANTICS §4.3, §17 #6).
            if (e.index >= 0 && static_cast<size_t>(e.index) < ctx.rt->globals.size()) return ctx.rt->globals[e.index];
            return Value::absent();
        }
        case ExprOp::AliasField: {
            if (!ctx.aliases || e.index < 0 || e.slots.empty()) return Value::absent();
            const Row* r = ctx.aliases[e.index];
            if (!r) return Value::absent();
            if (e.slot_schema >= 0 && r->schema != e.slot_schema && !e.names.empty()) {
                // A trend's preceding event of another step type: find the field by name.
                int s = ctx.rt->plan->schemas[static_cast<size_t>(r->schema)].slot_of(e.names[0]);
                return s >= 0 ? r->slots[s] : Value::absent();
            }
            return r->slots[e.slots[0]];
        }
        case ExprOp::AliasLen:
            return Value::integer(ctx.alias_counts && e.index >= 0 ? ctx.alias_counts[e.index] : 0);
        case ExprOp::Global:
            if (e.index >= 0 && static_cast<size_t>(e.index) < ctx.rt->globals.size()) return ctx.rt->globals[e.index];
            return Value::absent();
        case ExprOp::Local:
            return ctx.locals && e.index >= 0 ? ctx.locals[e.index] : Value::absent();
        case ExprOp::Unary: return unary_op(e.uop, eval_opt(e.args[0], ctx));
        case ExprOp::Binary: {
            using frontend::BinaryOp;
            if ((e.bop == BinaryOp::In || e.bop == BinaryOp::NotIn) && e.args[1] && e.args[1]->op == ExprOp::Array)
                return membership_in_literal(e, ctx);
            Value a = eval_opt(e.args[0], ctx);
            Value b = eval_opt(e.args[1], ctx);
            if (a.kind == b.kind) {
                Value v;
                if (a.kind == ValueKind::Float ? float_fast_path(e.bop, a.f, b.f, v)
                                               : a.kind == ValueKind::Int && int_fast_path(e.bop, a.i, b.i, v))
                    return v;
            }
            return binary_op(e.bop, a, b, *ctx.rt->heap);
        }
        case ExprOp::And: {
            // `false and X` is false whatever X is, so X need not be evaluated.
            Value a = eval_opt(e.args[0], ctx);
            if (a.kind == ValueKind::Bool && !a.b) return a;
            return logical_and(a, eval_opt(e.args[1], ctx));
        }
        case ExprOp::Or: {
            Value a = eval_opt(e.args[0], ctx);
            if (a.kind == ValueKind::Bool && a.b) return a;
            return logical_or(a, eval_opt(e.args[1], ctx));
        }
        case ExprOp::If: {
            // Only a bool true takes the then-branch; absent and non-bools take the else.
            bool c = !e.args.empty() && e.args[0] && eval_condition(e.args[0].get(), ctx);
            size_t branch = c ? 1 : 2;
            return branch < e.args.size() ? eval_opt(e.args[branch], ctx) : Value::absent();
        }
        case ExprOp::Call:
        case ExprOp::CallUser: return eval_call(e, ctx);
        case ExprOp::Method: return eval_method(e, ctx);
        case ExprOp::Array: return eval_array(e, ctx);
        case ExprOp::Map: return eval_map(e, ctx);
        case ExprOp::Index: {
            Value base = eval_opt(e.args[0], ctx);
            if (!base.present() || e.args.size() < 2) return Value::absent();
            return index_value(base, eval_opt(e.args[1], ctx), *ctx.rt->heap);
        }
        case ExprOp::Slice: {
            Value base = eval_opt(e.args[0], ctx);
            if (!base.present()) return Value::absent();
            // A missing bound (`x[:b]`, `x[a:]`) is open, like a null one.
            Value lo = e.args.size() > 1 && e.args[1] ? eval(*e.args[1], ctx) : Value::null();
            Value hi = e.args.size() > 2 && e.args[2] ? eval(*e.args[2], ctx) : Value::null();
            return slice_value(base, lo, hi, *ctx.rt->heap);
        }
        case ExprOp::Member: {
            Value base = eval_opt(e.args[0], ctx);
            if (base.kind != ValueKind::Map) return Value::absent();
            for (uint32_t i = 0; i < base.m->size; ++i)
                if (base.m->keys[i]->view() == e.name) return base.m->values[i];
            return Value::absent();
        }
        case ExprOp::Range:
            if (e.args.size() < 2) return Value::absent();
            return make_range(eval_opt(e.args[0], ctx), eval_opt(e.args[1], ctx), e.inclusive, *ctx.rt->heap);
        case ExprOp::Lambda: return Value::absent();  // not a value: only methods call lambdas
    }
    return Value::absent();
}

bool eval_condition(const Expr* e, EvalContext& ctx) {
    if (!e) return true;  // no predicate: always satisfied
    Value v = eval(*e, ctx);
    return v.kind == ValueKind::Bool && v.b;
}

Value call_lambda(const Expr& lambda, const Value* args, size_t argc, EvalContext& ctx) {
    if (lambda.op != ExprOp::Lambda) return Value::absent();
    if (ctx.locals) return run_lambda(lambda, args, argc, ctx);
    int32_t top = 0;
    local_extent(lambda, top);
    std::vector<Value> own(static_cast<size_t>(top));
    EvalContext inner = ctx;
    inner.locals = own.data();
    return run_lambda(lambda, args, argc, inner);
}

Value call_function(int32_t index, const Value* args, size_t argc, EvalContext& ctx) {
    if (!ctx.rt || !ctx.rt->plan || index < 0 || static_cast<size_t>(index) >= ctx.rt->plan->functions.size())
        return Value::absent();
    if (t_call_depth >= kMaxCallDepth) return Value::absent();
    DepthGuard depth;
    const ir::Function& fn = ctx.rt->plan->functions[index];
    ArgBuffer frame(std::max<size_t>(fn.local_count, fn.param_count));
    Value* locals = frame.data();
    for (size_t i = 0; i < std::min<size_t>(argc, fn.param_count); ++i) locals[i] = args[i];
    EvalContext inner = ctx;
    inner.locals = locals;
    Frame f{inner, {}, {}, 0};
    Flow flow = exec_block(fn.body, f);
    if (flow == Flow::Return) return f.result;
    if (flow == Flow::Abort) return Value::absent();
    return f.last;
}

void run_global_inits(Runtime& rt) {
    rt.globals.assign(rt.plan ? rt.plan->globals.size() : 0, Value::absent());
    if (!rt.plan) return;
    EvalContext ctx;
    ctx.rt = &rt;
    for (const auto& init : rt.plan->inits) {
        // Top-level statements other than declarations are ignored (VPL.md §12).
        if (init.global < 0 || static_cast<size_t>(init.global) >= rt.globals.size() || !init.value) continue;
        rt.globals[init.global] = eval(*init.value, ctx);
    }
}

}  // namespace varpulis::runtime
