#include "tests/support/random_query.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "jit/jit_loader.hpp"
#include "runtime/engine.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/event_reader.hpp"
#include "runtime/value_io.hpp"

namespace varpulis::test_support::random_query {

namespace rt = varpulis::runtime;

namespace {

// ---------------------------------------------------------------- randomness

class Rng {
public:
    explicit Rng(uint64_t seed) : gen_(seed) {}
    uint64_t next() { return gen_(); }
    /// Uniform enough in [0, n): modulo of a 64-bit draw (the bias is irrelevant here, and the
    /// arithmetic is ours, so the sequence is the same on every standard library).
    size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(gen_() % n); }
    bool chance(unsigned percent) { return below(100) < percent; }
    int64_t between(int64_t lo, int64_t hi) {
        return lo + static_cast<int64_t>(below(static_cast<size_t>(hi - lo + 1)));
    }
    template <class T, size_t N>
    const T& pick(const T (&items)[N]) {
        return items[below(N)];
    }
    template <class T>
    const T& pick(const std::vector<T>& items) {
        return items[below(items.size())];
    }

private:
    std::mt19937_64 gen_;
};

// Value kinds the generator tracks for names in scope: 'n' number, 'b' bool, 's' string.
struct Var {
    std::string name;
    char kind;
};
using Scope = std::vector<Var>;

Expr leaf(std::string text) {
    Expr e;
    e.text = std::move(text);
    return e;
}

// Expressions are built as `Expr{kind, text, {kids...}}`: braced initialisers evaluate left to
// right, so the random draws happen in the same order with every compiler (function arguments
// would not).

// Field names of every generated event type (declared `k: int, i: int, f: float, s: str, b: bool`).
const Scope kRawFields = {{"k", 'n'}, {"i", 'n'}, {"f", 'n'}, {"s", 's'}, {"b", 'b'}};

class Generator {
public:
    Generator(uint64_t seed, const GenOptions& o) : r_(seed), o_(o) {}

    Case generate(uint64_t seed) {
        Case c;
        c.seed = seed;
        Program& p = c.program;
        const char* all_types[] = {"A", "B", "C"};
        size_t ntypes = 2 + r_.below(2);
        for (size_t t = 0; t < ntypes; ++t) p.event_types.push_back(all_types[t]);
        p.declare_events = r_.chance(80);
        if (o_.globals) {
            size_t n = r_.below(3);
            for (size_t g = 0; g < n; ++g) {
                Global gl;
                gl.decl = r_.chance(50) ? "let" : "var";
                gl.name = "g" + std::to_string(g);
                gl.value = r_.chance(50) ? std::to_string(r_.between(-3, 10)) : r_.pick({"0.5", "2.5", "0.0", "-1.25"});
                globals_.push_back({gl.name, 'n'});
                p.globals.push_back(gl);
            }
        }
        if (o_.functions && r_.chance(25)) {
            // Bodies with branches, locals and mixed arithmetic; called as uN(x, y) with numbers.
            static const char* bodies[] = {
                "    if a > b:\n        return a - b\n    return b * 2\n",
                "    let m = a * 0.5\n    if m >= b:\n        return m\n    elif a == b:\n        return 0\n    return b / a\n",
                "    var t = a\n    t := t + b\n    return t % 7\n",
            };
            size_t n = 1 + r_.below(2);
            for (size_t f = 0; f < n; ++f) {
                const std::string name = "u" + std::to_string(f);
                p.functions.push_back("fn " + name + "(a: float, b: float) -> float:\n" + r_.pick(bodies));
                functions_.push_back(name);
            }
        }
        types_ = p.event_types;
        size_t nstreams = 1 + r_.below(4);
        for (size_t s = 0; s < nstreams; ++s) add_stream(p, "S" + std::to_string(s));
        c.events = events();
        c.swap_at = 1 + static_cast<long>(r_.below(c.events.size() - 1));
        return c;
    }

private:
    // ------------------------------------------------------------ expressions

    Expr lit_num() {
        if (r_.chance(60)) {
            if (r_.chance(5)) return leaf("9223372036854775807");
            return leaf(r_.pick({"0", "1", "2", "3", "7", "10", "100"}));
        }
        return leaf(r_.pick({"0.0", "0.5", "1.5", "2.25", "100.0", "1000000.0"}));
    }
    Expr lit_str() { return leaf(r_.pick({"\"a\"", "\"b\"", "\"ab\"", "\"\"", "\"A\""})); }
    Expr lit_bool() { return leaf(r_.chance(50) ? "true" : "false"); }

    /// A name of `kind` from the scope (or a global, or a field no event has), or a literal.
    Expr var_or_lit(char kind, const Scope& scope) {
        std::vector<const Var*> fits;
        for (const Var& v : scope)
            if (v.kind == kind) fits.push_back(&v);
        if (kind == 'n')
            for (const Var& v : globals_) fits.push_back(&v);
        if (r_.chance(2)) return leaf("zz");  // missing everywhere: no value
        if (!fits.empty() && r_.chance(75)) return leaf(r_.pick(fits)->name);
        switch (kind) {
            case 'n': return lit_num();
            case 's': return lit_str();
            default: return lit_bool();
        }
    }

    char other_kind(char k) { return k == 'n' ? (r_.chance(50) ? 's' : 'b') : 'n'; }

    /// An expression of `kind`; `restricted`: the filter grammar of `->` steps and SEQ items
    /// (no `if`, arrays or `**`).
    Expr expr(char kind, int depth, const Scope& scope, bool restricted) {
        if (depth <= 0 || r_.chance(30)) return var_or_lit(kind, scope);
        // Now and then a wrong kind where a number is expected: a run-time mismatch, no value.
        if (o_.wrong_kinds && kind == 'n' && r_.chance(4)) return expr(other_kind(kind), depth - 1, scope, restricted);
        const int d = depth - 1;
        switch (kind) {
            case 'n': {
                size_t roll = r_.below(restricted ? 9 : 11);
                if (!functions_.empty() && r_.chance(10)) {
                    std::string f = r_.pick(functions_);
                    return Expr{Expr::Kind::Call, f, {expr('n', d, scope, restricted), expr('n', d, scope, restricted)}};
                }
                switch (roll) {
                    case 0:
                    case 1:
                    case 2:
                    case 3: {
                        const char* op = r_.pick({"+", "-", "*", "/", "%", "+", "*"});
                        Expr rhs = (std::string(op) == "/" || std::string(op) == "%") && r_.chance(20)
                                       ? leaf(r_.chance(50) ? "0" : "0.0")
                                       : expr('n', d, scope, restricted);
                        return Expr{Expr::Kind::Binary, op, {expr('n', d, scope, restricted), rhs}};
                    }
                    case 4: return Expr{Expr::Kind::Unary, "-", {expr('n', d, scope, restricted)}};
                    case 5:
                        return Expr{Expr::Kind::Call,
                                    r_.pick({"abs", "round", "floor", "ceil", "to_int", "to_float", "sqrt"}),
                                    {expr('n', d, scope, restricted)}};
                    case 6:
                        return Expr{Expr::Kind::Call, r_.pick({"min", "max", "pow", "coalesce"}),
                                    {expr('n', d, scope, restricted), expr('n', d, scope, restricted)}};
                    case 7: return Expr{Expr::Kind::Call, "len", {expr('s', d, scope, restricted)}};
                    case 8:
                        return Expr{Expr::Kind::Call, "clamp",
                                    {expr('n', d, scope, restricted), lit_num(), expr('n', d, scope, restricted)}};
                    case 9:
                        return Expr{Expr::Kind::If, "",
                                    {expr('b', d, scope, restricted), expr('n', d, scope, restricted),
                                     expr('n', d, scope, restricted)}};
                    default:
                        return Expr{Expr::Kind::Binary, "**",
                                    {expr('n', d, scope, restricted), leaf(r_.pick({"0", "1", "2", "3"}))}};
                }
            }
            case 'b': {
                switch (r_.below(restricted ? 8 : 10)) {
                    case 0:
                    case 1:
                    case 2:
                        return Expr{Expr::Kind::Binary, r_.pick({"<", "<=", ">", ">=", "==", "!="}),
                                    {expr('n', d, scope, restricted), expr('n', d, scope, restricted)}};
                    case 3:
                        return Expr{Expr::Kind::Binary, r_.pick({"==", "!=", "<", ">="}),
                                    {expr('s', d, scope, restricted), expr('s', d, scope, restricted)}};
                    case 4:
                    case 5:
                        return Expr{Expr::Kind::Binary, r_.chance(50) ? "and" : "or",
                                    {expr('b', d, scope, restricted), expr('b', d, scope, restricted)}};
                    case 6: return Expr{Expr::Kind::Unary, "not", {expr('b', d, scope, restricted)}};
                    case 7: {
                        if (r_.chance(50))
                            return Expr{Expr::Kind::Call, r_.pick({"contains", "starts_with", "ends_with"}),
                                        {expr('s', d, scope, restricted), lit_str()}};
                        return Expr{Expr::Kind::Call, r_.pick({"is_null", "is_int", "is_float", "is_string"}),
                                    {expr(r_.pick({'n', 's', 'b'}), d, scope, restricted)}};
                    }
                    case 8:
                        return Expr{Expr::Kind::Binary, r_.chance(70) ? "in" : "not in",
                                    {expr('n', d, scope, restricted),
                                     Expr{Expr::Kind::Array, "", {lit_num(), lit_num(), lit_num()}}}};
                    default:
                        return Expr{
                            Expr::Kind::Binary, "in",
                            {expr('s', d, scope, restricted), Expr{Expr::Kind::Array, "", {lit_str(), lit_str()}}}};
                }
            }
            default: {
                switch (r_.below(restricted ? 5 : 6)) {
                    case 0:
                        return Expr{Expr::Kind::Binary, "+",
                                    {expr('s', d, scope, restricted), expr('s', d, scope, restricted)}};
                    case 1:
                        return Expr{Expr::Kind::Call, r_.pick({"upper", "lower", "trim", "reverse"}),
                                    {expr('s', d, scope, restricted)}};
                    case 2:
                        return Expr{Expr::Kind::Call, "to_string",
                                    {expr(r_.pick({'n', 'b', 's'}), d, scope, restricted)}};
                    case 3:
                        return Expr{Expr::Kind::Call, "concat",
                                    {expr('s', d, scope, restricted), expr('n', d, scope, restricted)}};
                    case 4:
                        return Expr{Expr::Kind::Call, "substring",
                                    {expr('s', d, scope, restricted), leaf("0"), leaf("1")}};
                    default:
                        return Expr{Expr::Kind::If, "",
                                    {expr('b', d, scope, restricted), expr('s', d, scope, restricted),
                                     expr('s', d, scope, restricted)}};
                }
            }
        }
    }

    char any_kind() { return r_.chance(60) ? 'n' : (r_.chance(50) ? 'b' : 's'); }

    /// `count` items `e0: expr, ...` over the scope; their names and kinds become the new scope.
    std::vector<Item> items(size_t count, const Scope& scope, Scope& out_scope, bool restricted = false) {
        std::vector<Item> out;
        out_scope.clear();
        for (size_t i = 0; i < count; ++i) {
            char k = any_kind();
            Item it;
            it.name = "e" + std::to_string(i);
            // Bare fields and string literals get special treatment in `.emit` (SEMANTICS §5.3).
            it.expr = r_.chance(25) ? var_or_lit(k, scope) : expr(k, 3, scope, restricted);
            out_scope.push_back({it.name, k});
            out.push_back(std::move(it));
        }
        return out;
    }

    // ------------------------------------------------------------ streams

    std::string window_args() {
        switch (r_.below(6)) {
            case 0: return std::to_string(r_.between(1, 6));
            case 1: {
                int64_t n = r_.between(2, 6);
                return std::to_string(n) + ", sliding: " + std::to_string(r_.between(1, n));
            }
            case 2: return r_.pick({"1s", "500ms", "2s", "100ms"});
            case 3: {
                std::string size = r_.pick({"1s", "2s"});
                return size + ", sliding: " + r_.pick({"500ms", "250ms", "1s"});
            }
            case 4: return std::string("session: ") + r_.pick({"300ms", "1s"});
            default: return std::to_string(r_.between(1, 4));
        }
    }

    Item aggregate_item(const std::string& name, const Scope& scope, char& kind) {
        Item it;
        it.name = name;
        kind = 'n';
        auto arg = [&] { return expr('n', 2, scope, false); };
        switch (r_.below(12)) {
            case 0: it.expr = Expr{Expr::Kind::Call, "count", {}}; break;
            case 1:
            case 2: it.expr = Expr{Expr::Kind::Call, "sum", {arg()}}; break;
            case 3: it.expr = Expr{Expr::Kind::Call, "avg", {arg()}}; break;
            case 4: it.expr = Expr{Expr::Kind::Call, r_.chance(50) ? "min" : "max", {arg()}}; break;
            case 5: it.expr = Expr{Expr::Kind::Call, "stddev", {arg()}}; break;
            case 6: {
                kind = any_kind();
                it.expr = Expr{Expr::Kind::Call, r_.chance(50) ? "first" : "last", {expr(kind, 2, scope, false)}};
                break;
            }
            case 7: it.expr = Expr{Expr::Kind::Call, "count_distinct", {expr(any_kind(), 1, scope, false)}}; break;
            case 8: it.expr = Expr{Expr::Kind::Call, "ema", {arg(), leaf(r_.pick({"2", "3", "5"}))}}; break;
            case 9:
                it.expr = Expr{Expr::Kind::Binary, "/",
                               {Expr{Expr::Kind::Call, "sum", {arg()}}, Expr{Expr::Kind::Call, "count", {}}}};
                break;
            default:
                it.expr = Expr{Expr::Kind::Binary, r_.pick({"+", "-", "*"}),
                               {Expr{Expr::Kind::Call, r_.pick({"avg", "max", "sum"}), {arg()}},
                                Expr{Expr::Kind::Call, r_.pick({"min", "count", "sum"}), {arg()}}}};
        }
        return it;
    }

    /// Operators after the source: filters, projections, windows, aggregates, distinct, limit,
    /// then usually `.emit`. `scope` is updated to what the stream forwards.
    void tail_ops(Stream& s, Scope& scope, bool allow_window) {
        bool has_window = !allow_window || !o_.windows, has_agg = !o_.aggregates, partitioned = false;
        bool aggregated = false;
        Scope part_scope;
        size_t nops = r_.below(5);
        for (size_t i = 0; i < nops; ++i) {
            Op op;
            size_t roll = r_.below(100);
            if (roll < 30) {
                op.name = r_.chance(90) ? "where" : "filter";
                op.items.push_back({"", expr('b', 3, scope, false)});
            } else if (roll < 40) {
                op.name = "select";
                Scope next;
                op.items = items(1 + r_.below(3), scope, next);
                scope = next;
            } else if (roll < 52) {
                if (has_window || has_agg) continue;
                op.name = "window";
                op.args = window_args();
                has_window = true;
            } else if (roll < 66) {
                if (has_agg) continue;
                if (!has_window && r_.chance(70)) {
                    s.ops.push_back({"window", {}, window_args(), ""});
                    has_window = true;
                }
                op.name = "aggregate";
                Scope next;
                size_t n = 1 + r_.below(3);
                for (size_t a = 0; a < n; ++a) {
                    char kind;
                    op.items.push_back(aggregate_item("a" + std::to_string(a), scope, kind));
                    next.push_back({"a" + std::to_string(a), kind});
                }
                if (partitioned) next.insert(next.end(), part_scope.begin(), part_scope.end());
                scope = next;
                has_agg = aggregated = true;
                has_window = true;
            } else if (roll < 74) {
                if (!aggregated) continue;
                op.name = "having";
                op.items.push_back({"", expr('b', 2, scope, false)});
            } else if (roll < 82) {
                if (has_window || has_agg || partitioned) continue;
                std::vector<const Var*> keys;
                for (const Var& v : scope)
                    if (v.kind != 'b') keys.push_back(&v);
                if (keys.empty()) continue;
                const Var& key = *r_.pick(keys);
                op.name = "partition_by";
                op.args = key.name;
                partitioned = true;
                part_scope = {{"_partition", key.kind}};
            } else if (roll < 84) {
                op.name = "print";  // `.print` text goes to the engine's diagnostics stream
                if (r_.chance(50)) op.items.push_back({"", expr(any_kind(), 2, scope, false)});
            } else if (roll < 91) {
                if (!o_.distinct_limit) continue;
                op.name = "distinct";
                if (r_.chance(60)) op.items.push_back({"", expr(any_kind(), 1, scope, false)});
            } else {
                if (!o_.distinct_limit) continue;
                op.name = "limit";
                op.args = std::to_string(r_.between(1, 20));
            }
            s.ops.push_back(std::move(op));
        }
        if (r_.chance(90)) {
            Op emit;
            emit.name = "emit";
            Scope next;
            emit.items = items(1 + r_.below(4), scope, next);
            if (r_.chance(8)) emit.items.push_back({"event_type", lit_str()});  // names the output's type
            scope = next;
            s.ops.push_back(std::move(emit));
        }
    }

    /// Fields of a pattern match: `alias.field` for each alias.
    static void add_alias_fields(Scope& scope, const std::string& alias) {
        for (const Var& v : kRawFields) scope.push_back({alias + "." + v.name, v.kind});
    }

    Step step(const std::string& alias, const Scope& before) {
        Step st;
        st.type = r_.pick(types_);
        st.alias = alias;
        if (r_.chance(55)) {
            Scope scope = kRawFields;
            scope.insert(scope.end(), before.begin(), before.end());
            st.has_where = true;
            st.where = expr('b', 2, scope, true);
        }
        return st;
    }

    void chain_stream(Stream& s, Scope& scope) {
        s.source = Stream::Source::Chain;
        size_t n = 2 + r_.below(2);
        Scope aliases;
        for (size_t i = 0; i < n; ++i) {
            Step st = step("x" + std::to_string(i), aliases);
            if (i == 0) st.has_where = false;  // the source has no `where` (use a later .where)
            if (r_.chance(i == 0 ? 10 : 25)) st.quant = "all";
            add_alias_fields(aliases, st.alias);
            s.steps.push_back(std::move(st));
        }
        if (r_.chance(60)) s.ops.push_back({"within", {}, r_.pick({"500ms", "1s", "2s", "5s"}), ""});
        if (r_.chance(25)) {
            Op no;
            no.name = "not";
            no.not_type = r_.pick(types_);
            if (r_.chance(60)) {
                Scope sc = kRawFields;
                add_alias_fields(sc, "x0");
                no.items.push_back({"", expr('b', 2, sc, true)});
            }
            s.ops.push_back(std::move(no));
        }
        const bool partitioned = r_.chance(25);
        if (partitioned) s.ops.push_back({"partition_by", {}, "k", ""});
        scope = aliases;
        std::vector<std::string> names;
        for (const Step& st : s.steps)
            if (!st.alias.empty()) names.push_back(st.alias);
        match_tail(s, scope, names, partitioned);
    }

    /// `.trend_aggregate(...)` over a pattern's aliases (SEMANTICS §11.3): one to three of
    /// count_trends, count_events(alias) and the *_trends of an alias's field; the scope
    /// becomes the items (and the partition field).
    void trend_tail(Stream& s, Scope& scope, const std::vector<std::string>& aliases, bool partitioned) {
        Op t;
        t.name = "trend_aggregate";
        Scope next;
        if (partitioned) next.push_back({"k", 'n'});
        const size_t n = 1 + r_.below(3);
        for (size_t i = 0; i < n; ++i) {
            Item it;
            it.name = "t" + std::to_string(i);
            const std::string alias = aliases.empty() ? std::string() : r_.pick(aliases);
            switch (alias.empty() ? 0 : r_.below(4)) {
                case 0: it.expr = Expr{Expr::Kind::Call, "count_trends", {}}; break;
                case 1: it.expr = Expr{Expr::Kind::Call, "count_events", {leaf(alias)}}; break;
                default:
                    it.expr = Expr{Expr::Kind::Call, r_.pick({"sum_trends", "avg_trends", "min_trends", "max_trends"}),
                                   {leaf(alias + "." + r_.pick({"i", "f", "k", "f", "s"}))}};
            }
            next.push_back({it.name, 'n'});
            t.items.push_back(std::move(it));
        }
        s.ops.push_back(std::move(t));
        scope = next;
    }

    /// After a pattern: an optional trend aggregate, or a filter over the match; then the emit.
    void match_tail(Stream& s, Scope& scope, const std::vector<std::string>& aliases = {}, bool partitioned = false) {
        if (o_.trends && r_.chance(30)) {
            trend_tail(s, scope, aliases, partitioned);
        } else if (r_.chance(35)) s.ops.push_back({"where", {{"", expr('b', 2, scope, false)}}, "", ""});
        if (r_.chance(92)) {
            Op emit;
            emit.name = "emit";
            Scope next;
            emit.items = items(1 + r_.below(3), scope, next);
            scope = next;
            s.ops.push_back(std::move(emit));
        }
    }

    void pattern_stream(Program& p, Stream& s, Scope& scope) {
        Pattern pat;
        pat.name = "P" + std::to_string(p.patterns.size());
        Scope aliases;
        size_t form = r_.below(10);
        if (form < 7) {
            pat.form = "SEQ";
            size_t n = 2 + r_.below(3);
            bool within = r_.chance(60);
            for (size_t i = 0; i < n; ++i) {
                Step st = step("x" + std::to_string(i), aliases);
                if (i > 0 && r_.chance(20) && !(i + 1 == n && !within)) {
                    st.negated = true;
                    st.alias.clear();
                } else {
                    if (i > 0 && r_.chance(35)) st.quant = r_.pick({"+", "*", "?"});
                    bool own = false;
                    if ((st.quant == "+" || st.quant == "*") && r_.chance(40)) {
                        own = true;
                        // A Kleene step reading its own alias (§9.4 d, §9.11: `first` vs `full`).
                        Scope sc = kRawFields;
                        sc.insert(sc.end(), aliases.begin(), aliases.end());
                        add_alias_fields(sc, st.alias);
                        st.has_where = true;
                        st.where = expr('b', 2, sc, true);
                    } else if (i > 0 && st.quant.empty() && !pat.steps[0].alias.empty() && r_.chance(30)) {
                        // `k == x0.k`: the default strategy indexes runs by it (its `rest` path).
                        Expr eq{Expr::Kind::Binary, "==", {Expr{Expr::Kind::Leaf, "k", {}}, Expr{Expr::Kind::Leaf, "x0.k", {}}}};
                        st.where = st.has_where ? Expr{Expr::Kind::Binary, "and", {eq, st.where}} : eq;
                        st.has_where = true;
                    }
                    if (!own && r_.chance(15)) st.alias.clear();
                }
                if (!st.alias.empty()) add_alias_fields(aliases, st.alias);
                pat.steps.push_back(std::move(st));
            }
            if (within) pat.within = r_.pick({"500ms", "1s", "3s"});
            if (r_.chance(25)) pat.strategy = r_.pick({"strict_contiguity", "strict_contiguity", "skip_till_any_match", "skip_till_next_match"});
        } else {
            pat.form = form < 9 ? "AND" : "OR";
            for (size_t i = 0; i < 2; ++i) {
                Step st = step("x" + std::to_string(i), {});
                add_alias_fields(aliases, st.alias);
                pat.steps.push_back(std::move(st));
            }
            if (r_.chance(40)) pat.within = r_.pick({"500ms", "1s", "3s"});
            // Conjunctions branch per operand under skip_till_any_match (their own matcher path).
            if (pat.form == "AND" && r_.chance(20)) pat.strategy = "skip_till_any_match";
        }
        if (r_.chance(30)) pat.partition = "k";
        s.from = pat.name;
        std::vector<std::string> names;
        for (const Step& st : pat.steps)
            if (!st.alias.empty()) names.push_back(st.alias);
        const bool seq = pat.form == "SEQ", partitioned = !pat.partition.empty();
        p.patterns.push_back(std::move(pat));
        scope = aliases;
        if (seq) match_tail(s, scope, names, partitioned);
        else match_tail(s, scope);
    }

    void add_stream(Program& p, const std::string& name) {
        Stream s;
        s.name = name;
        Scope scope = kRawFields;
        size_t roll = r_.below(100);
        if (roll < 15 && o_.sequences) {
            chain_stream(s, scope);
        } else if (roll < 27 && o_.patterns) {
            pattern_stream(p, s, scope);
        } else if (roll < 35 && o_.merges) {
            s.source = Stream::Source::Merge;
            size_t n = 2 + r_.below(2);
            for (size_t i = 0; i < n; ++i) {
                MergePart m;
                m.type = types_[i % types_.size()];
                if (r_.chance(60)) {
                    m.label = name + "m" + std::to_string(i);
                    if (r_.chance(70)) {
                        m.has_where = true;
                        m.where = expr('b', 2, kRawFields, false);
                    }
                }
                s.merge.push_back(std::move(m));
            }
            tail_ops(s, scope, true);
        } else if (roll < 41 && o_.joins) {
            s.source = Stream::Source::Join;
            std::vector<std::string> srcs = types_;
            // Two distinct sources, in random order; now and then an earlier stream's output.
            size_t a = r_.below(srcs.size()), b = (a + 1 + r_.below(srcs.size() - 1)) % srcs.size();
            s.join = {srcs[a], srcs[b]};
            scope.clear();
            for (const std::string& src : s.join) add_alias_fields(scope, src);
            for (const Var& v : kRawFields) scope.push_back(v);  // bare names: first source wins
            const std::string key = r_.chance(80) ? "k" : "s";
            s.ops.push_back(
                {"on", {{"", leaf("(" + s.join[0] + "." + key + " == " + s.join[1] + "." + key + ")")}}, "", ""});
            if (r_.chance(60)) s.ops.push_back({"window", {}, r_.pick({"1s", "2s", "500ms", "3"}), ""});
            tail_ops(s, scope, false);
        } else if (roll < 55 && o_.chains && !emitting_.empty()) {
            const auto& [from, from_scope] = emitting_[r_.below(emitting_.size())];
            s.from = from;
            scope = from_scope;
            tail_ops(s, scope, true);
        } else {
            s.from = r_.pick(types_);
            tail_ops(s, scope, true);
        }
        if (!s.ops.empty() && s.ops.back().name == "emit") emitting_.push_back({name, scope});
        p.streams.push_back(std::move(s));
    }

    // ------------------------------------------------------------ events

    std::string float_text() {
        if (o_.wrong_kinds && r_.chance(3)) return r_.pick({"nan", "inf", "-inf", "-0.0"});
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(r_.between(-40, 40)) / 4.0);
        return buf;
    }

    std::string field_value(const std::string& name) {
        if (o_.wrong_kinds && r_.chance(4)) return r_.pick({"null", "\"7\"", "2.5", "true", "3", "\"\"", "[1, 2]"});
        if (name == "k") return std::to_string(r_.between(0, 3));
        if (name == "i") {
            if (r_.chance(5)) return r_.pick({"0", "9223372036854775807", "-9223372036854775808", "-1"});
            return std::to_string(r_.between(-5, 20));
        }
        if (name == "f") return r_.chance(10) ? std::to_string(r_.between(-3, 9)) : float_text();
        if (name == "s") return r_.pick({"\"a\"", "\"b\"", "\"ab\"", "\"\"", "\"A\""});
        return r_.chance(50) ? "true" : "false";
    }

    std::vector<Event> events() {
        size_t n = o_.min_events + r_.below(o_.max_events - o_.min_events + 1);
        std::vector<Event> out;
        int64_t ts = r_.chance(50) ? 0 : 1000;
        for (size_t i = 0; i < n; ++i) {
            Event e;
            e.type = r_.chance(4) ? "Z" : r_.pick(types_);
            ts += r_.pick({0, 0, 1, 10, 100, 250, 250, 500, 1000, 3000});
            e.ts = ts;
            for (const Var& f : kRawFields)
                if (!r_.chance(8)) e.fields.push_back({f.name, field_value(f.name)});
            // A field named like a global shadows it (SEMANTICS §4.3): compiled field loads fall
            // back to the global only when the slot is absent.
            if (!globals_.empty() && r_.chance(5)) e.fields.push_back({r_.pick(globals_).name, field_value("f")});
            out.push_back(std::move(e));
        }
        return out;
    }

    Rng r_;
    GenOptions o_;
    Scope globals_;
    std::vector<std::string> types_;
    std::vector<std::string> functions_;
    std::vector<std::pair<std::string, Scope>> emitting_;
};

// ---------------------------------------------------------------- rendering

void render_step(std::string& out, const Step& st, bool chain) {
    if (st.negated) out += "NOT ";
    if (chain && st.quant == "all") out += "all ";
    out += st.type;
    if (!chain) out += st.quant;
    if (st.has_where) out += " where " + render_expr(st.where);
    if (!st.alias.empty()) out += " as " + st.alias;
}

void render_items(std::string& out, const std::vector<Item>& items) {
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        if (!items[i].name.empty()) out += items[i].name + ": ";
        out += render_expr(items[i].expr);
    }
}

}  // namespace

GenOptions default_options() {
    GenOptions o;
    // Known-mismatch skip list: a generator feature that triggers an open interpreter/JIT
    // mismatch is switched off here, one line per bug with its minimised case in a comment,
    // and switched back on with the fix. None is open.
    return o;
}

Case generate_case(uint64_t seed, const GenOptions& options) {
    Generator g(seed, options);
    return g.generate(seed);
}

std::string render_expr(const Expr& e) {
    switch (e.kind) {
        case Expr::Kind::Leaf: return e.text;
        case Expr::Kind::Unary: return "(" + e.text + (e.text == "not" ? " " : "") + render_expr(e.kids[0]) + ")";
        case Expr::Kind::Binary:
            return "(" + render_expr(e.kids[0]) + " " + e.text + " " + render_expr(e.kids[1]) + ")";
        case Expr::Kind::If:
            return "(if " + render_expr(e.kids[0]) + " then " + render_expr(e.kids[1]) + " else " +
                   render_expr(e.kids[2]) + ")";
        case Expr::Kind::Call:
        case Expr::Kind::Array: {
            std::string out = e.kind == Expr::Kind::Call ? e.text + "(" : "[";
            for (size_t i = 0; i < e.kids.size(); ++i) out += (i ? ", " : "") + render_expr(e.kids[i]);
            return out + (e.kind == Expr::Kind::Call ? ")" : "]");
        }
    }
    return "";
}

std::string render_program(const Program& p) {
    std::string out;
    if (p.declare_events)
        for (const auto& t : p.event_types)
            out += "event " + t + ":\n    k: int\n    i: int\n    f: float\n    s: str\n    b: bool\n";
    for (const auto& g : p.globals) out += g.decl + " " + g.name + " = " + g.value + "\n";
    for (const auto& f : p.functions) out += f;
    for (const auto& pat : p.patterns) {
        out += "pattern " + pat.name + " = ";
        if (pat.form == "SEQ") {
            out += "SEQ(";
            for (size_t i = 0; i < pat.steps.size(); ++i) {
                if (i) out += ", ";
                render_step(out, pat.steps[i], false);
            }
            out += ")";
        } else {
            for (size_t i = 0; i < pat.steps.size(); ++i) {
                if (i) out += " " + pat.form + " ";
                render_step(out, pat.steps[i], false);
            }
        }
        if (!pat.within.empty()) out += " within " + pat.within;
        if (!pat.partition.empty()) out += " partition by " + pat.partition;
        if (!pat.strategy.empty()) out += " strategy " + pat.strategy;
        out += "\n";
    }
    for (const auto& s : p.streams) {
        out += "stream " + s.name + " = ";
        switch (s.source) {
            case Stream::Source::Name: out += s.from; break;
            case Stream::Source::Chain:
                for (size_t i = 0; i < s.steps.size(); ++i) {
                    if (i) out += "\n    -> ";
                    render_step(out, s.steps[i], true);
                }
                break;
            case Stream::Source::Join:
                out += "join(";
                for (size_t i = 0; i < s.join.size(); ++i) out += (i ? ", " : "") + s.join[i];
                out += ")";
                break;
            case Stream::Source::Merge:
                out += "merge(";
                for (size_t i = 0; i < s.merge.size(); ++i) {
                    const MergePart& m = s.merge[i];
                    if (i) out += ", ";
                    if (!m.label.empty()) out += "stream " + m.label + " = ";
                    out += m.type;
                    if (m.has_where) out += ".where(" + render_expr(m.where) + ")";
                }
                out += ")";
                break;
        }
        for (const Op& op : s.ops) {
            out += "\n    ." + op.name + "(";
            if (op.name == "not") {
                out += op.not_type;
                if (!op.items.empty()) out += " where " + render_expr(op.items[0].expr);
            } else if (!op.args.empty()) {
                out += op.args;
            } else {
                render_items(out, op.items);
            }
            out += ")";
        }
        out += "\n";
    }
    return out;
}

std::string render_events(const std::vector<Event>& events) {
    std::string out;
    for (const Event& e : events) {
        out += "@" + std::to_string(e.ts) + " " + e.type + " {";
        for (size_t i = 0; i < e.fields.size(); ++i)
            out += (i ? ", " : " ") + e.fields[i].name + ": " + e.fields[i].value;
        out += e.fields.empty() ? "}\n" : " }\n";
    }
    return out;
}

// ---------------------------------------------------------------- running

namespace {

/// One engine run: kernels installed before event `install_at` (< 0: never) and removed before
/// event `remove_at` (< 0: never). Output lines, `.print`/console text, and cap counters.
/// `background`: instead, a thread started before the first event calls `background(engine)`
/// (which installs kernels) and is joined after the last. `batch` > 0: events go through
/// Engine::prepare in batches of that many and Engine::process_batch, split where kernels
/// change; else Engine::process per event.
std::string run_mode(const ir::Plan& plan, rt::Interner& interner, const std::vector<rt::InputEvent>& events,
                     const std::shared_ptr<const rt::KernelTable>& kernels, long install_at, long remove_at,
                     const std::function<void(rt::Engine&)>& background = {}, size_t batch = 0,
                     const std::shared_ptr<const rt::KernelTable>& second = nullptr, long second_at = -1) {
    std::string out;
    char* diag_buf = nullptr;
    size_t diag_len = 0;
    std::FILE* diag = open_memstream(&diag_buf, &diag_len);
    {
        rt::Engine engine(
            plan, interner,
            [&](const rt::OutputEvent& e) {
                rt::append_output_line(out, e.stream, e.event_type, e.timestamp_ms, e.names, e.values, e.field_count);
            },
            diag);
        std::thread side;
        if (background) side = std::thread([&] { background(engine); });
        auto boundary = [&](size_t i) {
            if (kernels && static_cast<long>(i) == install_at) engine.install_kernels(kernels);
            if (kernels && static_cast<long>(i) == remove_at) engine.install_kernels(nullptr);
            if (second && static_cast<long>(i) == second_at) engine.install_kernels(second);
        };
        if (batch == 0) {
            for (size_t i = 0; i < events.size(); ++i) {
                boundary(i);
                engine.process(events[i]);
            }
        }
        rt::EventBatch rows;
        for (size_t first = 0; batch > 0 && first < events.size(); first += batch) {
            const size_t n = std::min(batch, events.size() - first);
            rows.clear();
            engine.prepare(events.data() + first, n, rows);
            for (size_t at = 0; at < n;) {
                boundary(first + at);
                size_t end = n;
                for (long cut : {install_at, remove_at, second ? second_at : -1L})
                    if (cut > static_cast<long>(first + at) && cut < static_cast<long>(first + end))
                        end = static_cast<size_t>(cut) - first;
                engine.process_batch(rows, at, end - at);
                at = end;
            }
        }
        if (side.joinable()) side.join();
        // A table the engine did not adopt would make the comparison vacuous.
        if (kernels && install_at >= 0 && remove_at < 0 && !engine.kernels_active()) out += "kernels not active\n";
        engine.finish();
        for (const auto& d : engine.drops())
            if (d.pattern_caps || d.trend_overflows)
                out += "drops " + d.stream + " " + std::to_string(d.pattern_caps) + " " +
                       std::to_string(d.trend_overflows) + "\n";
    }
    std::fclose(diag);
    if (diag_len) out += "--- diagnostics\n" + std::string(diag_buf, diag_len);
    std::free(diag_buf);
    return out;
}

/// The first line where `a` and `b` differ, with a little context.
std::string first_difference(const std::string& a, const std::string& b) {
    std::istringstream sa(a), sb(b);
    std::string la, lb;
    size_t line = 1;
    for (;; ++line) {
        bool ga = static_cast<bool>(std::getline(sa, la)), gb = static_cast<bool>(std::getline(sb, lb));
        if (!ga && !gb) return "(identical)";
        if (!ga) la = "<end of output>";
        if (!gb) lb = "<end of output>";
        if (la != lb || !ga || !gb)
            return "first difference at output line " + std::to_string(line) + "\n  interpreter: " + la +
                   "\n  jit:         " + lb;
    }
}

}  // namespace

Runner::Runner(int opt_level, std::string& error) {
    jit::JitOptions options;
    options.opt_level = opt_level;
    jit_ = jit::load_jit(options, error);
}

Runner::~Runner() = default;

Outcome Runner::run(const Case& c) {
    Outcome o;
    const std::string text = render_program(c.program);
    auto comp = ir::compile_source("query.vpl", text, ir::CompileStage::Lower);
    if (!comp->ok() || !comp->plan) {
        o.verdict = Verdict::Rejected;
        o.detail = frontend::render_all(comp->file, comp->diags) + "--- program\n" + text;
        return o;
    }
    const ir::Plan& plan = *comp->plan;
    rt::Interner interner;
    rt::Arena arena(1 << 16);
    rt::EventReader reader(interner, arena);
    std::vector<rt::InputEvent> events;
    rt::ReadError err;
    if (!reader.read_text(render_events(c.events), rt::EventFormat::Evt, events, err)) {
        o.verdict = Verdict::BadEvents;
        o.detail = "events.evt:" + std::to_string(err.line) + ": " + err.message;
        return o;
    }
    std::string error;
    auto compiled = jit_->compile(plan, error);
    if (!compiled) {
        o.verdict = Verdict::JitFailed;
        o.detail = error;
        return o;
    }
    // The first stage of a two-stage compile: the same kernels through the quick tier, which
    // the engine runs until the full version is swapped in (simulate --engine jit).
    auto quick = jit_->compile(plan, error, jit::CompileTier::Quick);
    if (!quick) {
        o.verdict = Verdict::JitFailed;
        o.detail = "quick tier: " + error;
        return o;
    }
    const auto& k = compiled->kernels;
    for (const auto& op : compiled->operators) {
        o.compiled_ops += op.compiled;
        const rt::OpKernels* ok = k->find(static_cast<size_t>(op.stream), static_cast<size_t>(op.op));
        o.folds += ok && ok->fold ? 1 : 0;
        o.trends += ok && ok->trend ? 1 : 0;
    }
    const std::string interp = run_mode(plan, interner, events, nullptr, -1, -1);
    for (char ch : interp) o.outputs += ch == '\n';
    struct Mode {
        const char* name;
        long install, remove;
        size_t batch;   // > 0: prepared rows through process_batch (type kernels where they apply)
        bool quick = false;   // the quick tier's kernels instead of the full ones
    };
    const Mode modes[] = {{"jit from the first event", 0, -1, 0},
                          {"kernels installed after swap_at events", c.swap_at, -1, 0},
                          {"jit, back to the interpreter after swap_at events", 0, c.swap_at, 0},
                          {"interpreter on prepared batches of 5", -1, -1, 5},
                          {"jit on prepared batches of 64", 0, -1, 64},
                          {"prepared batches of 7, kernels installed after swap_at events", c.swap_at, -1, 7},
                          {"quick tier from the first event", 0, -1, 0, true},
                          {"quick tier on prepared batches of 64", 0, -1, 64, true}};
    for (const Mode& m : modes) {
        std::string got = run_mode(plan, interner, events, m.install < 0 ? nullptr : m.quick ? quick->kernels : k,
                                   m.install, m.remove, {}, m.batch);
        if (fault_) fault_(got);
        if (got != interp) {
            o.verdict = Verdict::Mismatch;
            o.detail =
                std::string(m.name) + " (swap_at " + std::to_string(c.swap_at) + "): " + first_difference(interp, got);
            break;
        }
    }
    if (o.verdict == Verdict::Agree) {
        // Two-stage, as `simulate --engine jit` runs it: the quick tier from the first event,
        // the full version swapped in after swap_at events, on prepared batches.
        std::string got = run_mode(plan, interner, events, quick->kernels, 0, -1, {}, 8, k, c.swap_at);
        if (fault_) fault_(got);
        if (got != interp) {
            o.verdict = Verdict::Mismatch;
            o.detail = "quick tier, full version after swap_at " + std::to_string(c.swap_at) + ": " +
                       first_difference(interp, got);
        }
    }
    if (background_ && o.verdict == Verdict::Agree) {
        // Like `simulate --engine auto`: the compile (a cache hit here, still through the
        // compiler's lock) and the publication happen on another thread while events flow.
        std::string got = run_mode(plan, interner, events, nullptr, -1, -1, [&](rt::Engine& engine) {
            std::string e;
            if (auto again = jit_->compile(plan, e)) engine.install_kernels(again->kernels);
        });
        if (fault_) fault_(got);
        if (got != interp) {
            o.verdict = Verdict::Mismatch;
            o.detail = "kernels installed from a background thread: " + first_difference(interp, got);
        }
    }
    jit_->release(compiled->version);
    jit_->release(quick->version);
    return o;
}

// ---------------------------------------------------------------- minimising

namespace {

void collect_exprs(Expr& e, std::vector<Expr*>& out) {
    out.push_back(&e);
    for (Expr& k : e.kids) collect_exprs(k, out);
}

/// Every expression node of the program, in a fixed order (so index i names the same node in
/// a copy of the case).
std::vector<Expr*> all_exprs(Program& p) {
    std::vector<Expr*> out;
    auto steps = [&](std::vector<Step>& st) {
        for (Step& s : st)
            if (s.has_where) collect_exprs(s.where, out);
    };
    for (Pattern& pat : p.patterns) steps(pat.steps);
    for (Stream& s : p.streams) {
        steps(s.steps);
        for (MergePart& m : s.merge)
            if (m.has_where) collect_exprs(m.where, out);
        for (Op& op : s.ops)
            for (Item& it : op.items) collect_exprs(it.expr, out);
    }
    return out;
}

template <class T>
void erase_at(std::vector<T>& v, size_t i) {
    v.erase(v.begin() + static_cast<long>(i));
}

}  // namespace

Case Runner::minimise(const Case& original, size_t budget) {
    Case best = original;
    size_t runs = 0;
    auto still_fails = [&](const Case& c) {
        if (runs >= budget) return false;
        ++runs;
        return run(c).verdict == Verdict::Mismatch;
    };
    // Tries `edit` on a copy of `best`; keeps it if the mismatch stays. `edit` returns false
    // when it does not apply.
    auto attempt = [&](const std::function<bool(Case&)>& edit) {
        Case c = best;
        if (!edit(c)) return false;
        if (!still_fails(c)) return false;
        best = std::move(c);
        return true;
    };
    bool progress = true;
    while (progress && runs < budget) {
        progress = false;
        // Events: halves, quarters, ... then single events.
        for (size_t chunk = best.events.size() / 2; chunk >= 1; chunk /= 2) {
            for (size_t at = 0; at < best.events.size();) {
                bool done = attempt([&](Case& c) {
                    if (c.events.size() <= 1) return false;
                    size_t end = std::min(at + chunk, c.events.size());
                    c.events.erase(c.events.begin() + static_cast<long>(at), c.events.begin() + static_cast<long>(end));
                    if (c.swap_at >= static_cast<long>(c.events.size()))
                        c.swap_at = static_cast<long>(c.events.size()) - 1;
                    if (c.swap_at < 1) c.swap_at = 1;
                    return true;
                });
                if (done)
                    progress = true;
                else
                    at += chunk;
            }
            if (chunk == 1) break;
        }
        for (size_t s = best.program.streams.size(); s-- > 0;)
            progress |= attempt([&](Case& c) {
                if (c.program.streams.size() <= 1) return false;
                erase_at(c.program.streams, s);
                return true;
            });
        for (size_t s = best.program.patterns.size(); s-- > 0;)
            progress |= attempt([&](Case& c) {
                erase_at(c.program.patterns, s);
                return true;
            });
        for (size_t f = best.program.functions.size(); f-- > 0;)
            progress |= attempt([&](Case& c) {
                erase_at(c.program.functions, f);
                return true;
            });
        for (size_t g = best.program.globals.size(); g-- > 0;)
            progress |= attempt([&](Case& c) {
                erase_at(c.program.globals, g);
                return true;
            });
        for (size_t s = 0; s < best.program.streams.size(); ++s) {
            for (size_t o = best.program.streams[s].ops.size(); o-- > 0;)
                progress |= attempt([&](Case& c) {
                    erase_at(c.program.streams[s].ops, o);
                    return true;
                });
            for (size_t o = 0; o < best.program.streams[s].ops.size(); ++o)
                for (size_t i = best.program.streams[s].ops[o].items.size(); i-- > 0;)
                    progress |= attempt([&](Case& c) {
                        auto& items = c.program.streams[s].ops[o].items;
                        if (items.size() <= 1 || items[i].name.empty()) return false;
                        erase_at(items, i);
                        return true;
                    });
            for (size_t i = best.program.streams[s].steps.size(); i-- > 0;)
                progress |= attempt([&](Case& c) {
                    auto& steps = c.program.streams[s].steps;
                    if (steps.size() <= 2) return false;
                    erase_at(steps, i);
                    return true;
                });
            for (size_t i = best.program.streams[s].merge.size(); i-- > 0;)
                progress |= attempt([&](Case& c) {
                    auto& parts = c.program.streams[s].merge;
                    if (parts.size() <= 1) return false;
                    erase_at(parts, i);
                    return true;
                });
        }
        for (size_t p = 0; p < best.program.patterns.size(); ++p) {
            progress |= attempt([&](Case& c) {
                auto& pat = c.program.patterns[p];
                if (pat.within.empty()) return false;
                pat.within.clear();
                return true;
            });
            progress |= attempt([&](Case& c) {
                auto& pat = c.program.patterns[p];
                if (pat.partition.empty()) return false;
                pat.partition.clear();
                return true;
            });
            for (size_t i = 0; i < best.program.patterns[p].steps.size(); ++i)
                progress |= attempt([&](Case& c) {
                    Step& st = c.program.patterns[p].steps[i];
                    if (!st.has_where) return false;
                    st.has_where = false;
                    return true;
                });
        }
        for (size_t s = 0; s < best.program.streams.size(); ++s) {
            for (size_t i = 0; i < best.program.streams[s].steps.size(); ++i)
                progress |= attempt([&](Case& c) {
                    Step& st = c.program.streams[s].steps[i];
                    if (!st.has_where) return false;
                    st.has_where = false;
                    return true;
                });
            for (size_t i = 0; i < best.program.streams[s].merge.size(); ++i)
                progress |= attempt([&](Case& c) {
                    MergePart& m = c.program.streams[s].merge[i];
                    if (!m.has_where) return false;
                    m.has_where = false;
                    return true;
                });
        }
        for (size_t p = 0; p < best.program.patterns.size(); ++p)
            for (size_t i = best.program.patterns[p].steps.size(); i-- > 0;)
                progress |= attempt([&](Case& c) {
                    auto& steps = c.program.patterns[p].steps;
                    if (steps.size() <= 1) return false;
                    erase_at(steps, i);
                    return true;
                });
        // Expressions: a node replaced by one of its operands, or by a literal.
        for (size_t i = 0; i < all_exprs(best.program).size(); ++i) {
            const size_t kids = all_exprs(best.program)[i]->kids.size();
            bool replaced = false;
            for (size_t k = 0; k < kids && !replaced; ++k)
                replaced = attempt([&](Case& c) {
                    Expr* e = all_exprs(c.program)[i];
                    Expr kid = e->kids[k];
                    *e = std::move(kid);
                    return true;
                });
            for (const char* lit : {"1", "true", "\"a\"", "0.5"}) {
                if (replaced) break;
                replaced = attempt([&](Case& c) {
                    Expr* e = all_exprs(c.program)[i];
                    if (e->kind == Expr::Kind::Leaf && e->text == lit) return false;
                    *e = leaf(lit);
                    return true;
                });
            }
            progress |= replaced;
        }
        for (size_t e = 0; e < best.events.size(); ++e)
            for (size_t f = best.events[e].fields.size(); f-- > 0;)
                progress |= attempt([&](Case& c) {
                    erase_at(c.events[e].fields, f);
                    return true;
                });
        progress |= attempt([&](Case& c) {
            if (!c.program.declare_events) return false;
            c.program.declare_events = false;
            return true;
        });
        progress |= attempt([&](Case& c) {
            if (c.swap_at <= 1) return false;
            c.swap_at = 1;
            return true;
        });
    }
    return best;
}

std::string report(const Case& original, const Case& minimised, const Outcome& outcome) {
    std::string out;
    out += "interpreter/JIT mismatch for seed " + std::to_string(original.seed) + "\n";
    out += "rerun: VARPULIS_RANDOM_SEED=" + std::to_string(original.seed) +
           " VARPULIS_RANDOM_CASES=1 random_query_tests   or   differential_runner --seed " +
           std::to_string(original.seed) + " --cases 1\n";
    out += "--- minimised query.vpl\n" + render_program(minimised.program);
    out += "--- minimised events.evt\n" + render_events(minimised.events);
    out +=
        "--- reproduce\n"
        "varpulis simulate -p query.vpl -e events.evt --immediate --json --engine interp > interp.out\n"
        "varpulis simulate -p query.vpl -e events.evt --immediate --json --engine jit > jit.out\n"
        "varpulis simulate -p query.vpl -e events.evt --immediate --json --engine auto --swap-after " +
        std::to_string(minimised.swap_at) +
        " > swap.out\n"
        "(the fourth mode, kernels from the start and uninstalled after swap_at events, has no CLI flag;\n"
        " the modes on prepared batches: add --preload to the lines above)\n";
    out += "--- " + outcome.detail + "\n";
    return out;
}

}  // namespace varpulis::test_support::random_query
