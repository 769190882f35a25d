// Expression half of the VPL grammar (VPL.md §2.3 literals, §6.1 expressions, §6.2 the
// restricted filter grammar). The statement half is in grammar.cpp; grammar.hpp has the
// shared primitives and the rule declarations that connect the two translation units.

#include <charconv>
#include <cstring>
#include <limits>

#include "frontend/grammar.hpp"

namespace varpulis::frontend::grammar {

// ---------------------------------------------------------------- lexers

namespace {

ExprPtr make_expr(ExprKind kind, SourceSpan span) {
    auto e = std::make_shared<Expr>();
    e->kind = kind;
    e->span = span;
    return e;
}

bool add_digits_u64(const char* b, const char* e, uint64_t& out) {
    uint64_t v = 0;
    for (const char* p = b; p != e; ++p) {
        uint64_t d = static_cast<uint64_t>(*p - '0');
        if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

struct DurationUnit {
    std::string_view suffix;
    uint64_t nanos;
};

constexpr DurationUnit kUnits[] = {
    {"ns", 1ULL},          {"us", 1000ULL},          {"ms", 1000000ULL},     {"s", 1000000000ULL},
    {"m", 60000000000ULL}, {"h", 3600000000000ULL}, {"d", 86400000000000ULL},
};

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool read_fixed(const char*& p, const char* e, int n, int& out) {
    if (e - p < n) return false;
    int v = 0;
    for (int i = 0; i < n; ++i) {
        if (!is_digit(p[i])) return false;
        v = v * 10 + (p[i] - '0');
    }
    p += n;
    out = v;
    return true;
}

bool eat(const char*& p, const char* e, char c) {
    if (p != e && *p == c) {
        ++p;
        return true;
    }
    return false;
}

}  // namespace

const char* lex_number(ParseState& st, const char* p, const char* e, ExprPtr& out) {
    if (p == e || !is_digit(*p)) return nullptr;
    const char* d = p;
    while (d != e && is_digit(*d)) ++d;
    auto literal_text = [&](const char* end) { return std::string(p, end); };

    if (d != e && *d == '.' && d + 1 != e && is_digit(d[1])) {
        const char* q = d + 1;
        while (q != e && is_digit(*q)) ++q;
        if (q != e && (*q == 'e' || *q == 'E')) {
            const char* r = q + 1;
            if (r != e && (*r == '+' || *r == '-')) ++r;
            if (r != e && is_digit(*r)) {
                while (r != e && is_digit(*r)) ++r;
                q = r;
            }
        }
        double v = 0.0;
        auto res = std::from_chars(p, q, v);
        if (res.ec != std::errc()) {
            st.fail_fatal(p, "float literal " + literal_text(q) + " is out of range");
            return nullptr;
        }
        out = make_expr(ExprKind::Float, {st.offset(p), st.offset(q)});
        out->float_value = v;
        return q;
    }

    for (const DurationUnit& unit : kUnits) {
        size_t n = unit.suffix.size();
        if (static_cast<size_t>(e - d) < n || std::string_view(d, n) != unit.suffix) continue;
        if (d + n != e && is_ident_char(d[n])) continue;
        const char* q = d + n;
        uint64_t count = 0;
        if (!add_digits_u64(p, d, count) || count > std::numeric_limits<uint64_t>::max() / unit.nanos) {
            st.fail_fatal(p, "duration literal " + literal_text(q) + " does not fit in 64 bits");
            return nullptr;
        }
        out = make_expr(ExprKind::Duration, {st.offset(p), st.offset(q)});
        out->int_value = static_cast<int64_t>(count * unit.nanos);
        return q;
    }

    uint64_t v = 0;
    if (!add_digits_u64(p, d, v) || v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        st.fail_fatal(p, "integer literal " + literal_text(d) + " does not fit in 64 bits");
        return nullptr;
    }
    out = make_expr(ExprKind::Int, {st.offset(p), st.offset(d)});
    out->int_value = static_cast<int64_t>(v);
    return d;
}

const char* lex_string(ParseState& st, const char* p, const char* e, ExprPtr& out) {
    std::string text;
    const char* q = p + 1;
    while (q != e) {
        char c = *q;
        if (c == '"') {
            out = make_expr(ExprKind::String, {st.offset(p), st.offset(q + 1)});
            out->text = std::move(text);
            return q + 1;
        }
        if (c == '\\') {
            if (q + 1 == e) break;
            char n = q[1];
            switch (n) {
                case '"': text += '"'; break;
                case '\\': text += '\\'; break;
                case 'n': text += '\n'; break;
                case 't': text += '\t'; break;
                default:
                    text += '\\';
                    text += n;
                    break;
            }
            q += 2;
            continue;
        }
        text += c;
        ++q;
    }
    st.fail_fatal(p, "unterminated string literal");
    return nullptr;
}

const char* lex_timestamp(ParseState& st, const char* p, const char* e, ExprPtr& out) {
    const char* q = p + 1;
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!read_fixed(q, e, 4, year) || !eat(q, e, '-') || !read_fixed(q, e, 2, month) || !eat(q, e, '-') ||
        !read_fixed(q, e, 2, day))
        return nullptr;
    if (month < 1 || month > 12 || day < 1 || day > 31) return nullptr;
    if (q != e && *q == 'T') {
        const char* t = q + 1;
        if (!read_fixed(t, e, 2, hour) || !eat(t, e, ':') || !read_fixed(t, e, 2, minute) || !eat(t, e, ':') ||
            !read_fixed(t, e, 2, second))
            return nullptr;
        if (hour > 23 || minute > 59 || second > 60) return nullptr;
        q = t;
    }
    int offset_hours = 0;
    if (q != e && *q == 'Z') {
        ++q;
    } else if (q != e && (*q == '+' || *q == '-')) {
        const char* t = q + 1;
        int oh = 0, om = 0;
        if (read_fixed(t, e, 2, oh) && eat(t, e, ':') && read_fixed(t, e, 2, om)) {
            offset_hours = *q == '+' ? oh : -oh;  // only the hours apply (VPL.md §2.3)
            q = t;
        }
    }
    int64_t secs = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                   hour * 3600 + minute * 60 + second - static_cast<int64_t>(offset_hours) * 3600;
    out = make_expr(ExprKind::Timestamp, {st.offset(p), st.offset(q)});
    out->int_value = secs * 1000000000LL;
    return q;
}

// ---------------------------------------------------------------- expression rules

namespace {

using boost::fusion::at_c;

ExprPtr make_binary(BinaryOp op, ExprPtr a, ExprPtr b) {
    auto e = make_expr(ExprKind::Binary, {a->span.begin, b->span.end});
    e->binary_op = op;
    e->args = {std::move(a), std::move(b)};
    return e;
}

ExprPtr make_unary(UnaryOp op, uint32_t begin, ExprPtr a) {
    auto e = make_expr(ExprKind::Unary, {begin, a->span.end});
    e->unary_op = op;
    e->args = {std::move(a)};
    return e;
}

/// One `** [-|~] operand` step of a power chain (folded right-associatively).
struct PowStep {
    int sign = 0;  // 0 none, 1 `-`, 2 `~`
    uint32_t sign_pos = 0;
    ExprPtr operand;
};
struct PowChain {
    ExprPtr head;
    std::vector<PowStep> rest;
};

/// `[lo]`, `[lo:hi]`, `[:hi]`, `[:]`.
struct IndexSuffix {
    ExprPtr lo;
    ExprPtr hi;
    bool slice = false;
};

/// Records the height of a new composite node; too tall a tree is a fatal error.
template <typename Ctx>
void track(Ctx& ctx, const ExprPtr& e) {
    ParseState& st = state_of(ctx);
    uint32_t h = 0;
    for (const ExprPtr& a : e->args) {
        if (!a) continue;
        auto it = st.expr_height.find(a.get());
        h = std::max(h, it == st.expr_height.end() ? 1u : it->second);
    }
    h += 1;
    st.expr_height[e.get()] = h;
    if (h > kMaxExprHeight)
        st.fail_fatal(st.base + e->span.begin,
                      "expression nested too deeply (more than " + std::to_string(kMaxExprHeight) + " levels)");
}

auto const pass = spanned([](auto& ctx) { _val(ctx) = _attr(ctx); });
auto const set_span = spanned([](auto& ctx) {
    _val(ctx)->span = span_of(ctx);
    track(ctx, _val(ctx));
});

auto bin(BinaryOp op) {
    return spanned([op](auto& ctx) {
        _val(ctx) = make_binary(op, _val(ctx), _attr(ctx));
        track(ctx, _val(ctx));
    });
}
auto un(UnaryOp op) {
    return spanned([op](auto& ctx) {
        _val(ctx) = make_unary(op, span_of(ctx).begin, _attr(ctx));
        track(ctx, _val(ctx));
    });
}
auto range(bool inclusive) {
    return spanned([inclusive](auto& ctx) {
        ExprPtr lhs = _val(ctx);
        ExprPtr rhs = _attr(ctx);
        auto e = make_expr(ExprKind::Range, {lhs->span.begin, rhs->span.end});
        e->inclusive = inclusive;
        e->args = {std::move(lhs), std::move(rhs)};
        _val(ctx) = e;
        track(ctx, e);
    });
}
auto const mk_ident = spanned([](auto& ctx) {
    auto e = make_expr(ExprKind::Ident, span_of(ctx));
    e->text = _attr(ctx);
    _val(ctx) = e;
    track(ctx, e);
});
auto const mk_member = spanned([](auto& ctx) {
    ExprPtr base = _val(ctx);
    auto e = make_expr(ExprKind::Member, {base->span.begin, span_of(ctx).end});
    e->text = _attr(ctx);
    e->args = {std::move(base)};
    _val(ctx) = e;
    track(ctx, e);
});
auto const mk_opt_member = spanned([](auto& ctx) {
    ExprPtr base = _val(ctx);
    auto e = make_expr(ExprKind::OptMember, {base->span.begin, span_of(ctx).end});
    e->text = _attr(ctx);
    e->args = {std::move(base)};
    _val(ctx) = e;
    track(ctx, e);
});
auto const mk_index = spanned([](auto& ctx) {
    IndexSuffix& s = _attr(ctx);
    ExprPtr base = _val(ctx);
    if (!s.slice && !s.lo) {
        _pass(ctx) = false;
        return;
    }
    auto e = make_expr(s.slice ? ExprKind::Slice : ExprKind::Index, {base->span.begin, span_of(ctx).end});
    e->args = {std::move(base), s.lo};
    if (s.slice) e->args.push_back(s.hi);
    _val(ctx) = e;
    track(ctx, e);
});
auto const mk_call = spanned([](auto& ctx) {
    ExprPtr callee = _val(ctx);
    auto e = make_expr(ExprKind::Call, {callee->span.begin, span_of(ctx).end});
    e->args.push_back(std::move(callee));
    for (Arg& a : _attr(ctx)) {
        e->args.push_back(a.value);
        e->names.push_back(a.name);
    }
    _val(ctx) = e;
    track(ctx, e);
});
auto const mk_filter_index = spanned([](auto& ctx) {
    ExprPtr base = _val(ctx);
    auto e = make_expr(ExprKind::Index, {base->span.begin, span_of(ctx).end});
    e->args = {std::move(base), _attr(ctx)};
    _val(ctx) = e;
    track(ctx, e);
});
auto const push_arg = spanned([](auto& ctx) { _val(ctx).push_back(_attr(ctx)); });

x3::rule<class expr_inner_class, ExprPtr> const expr_inner = "expr";
x3::rule<class lambda_class, ExprPtr> const lambda = "lambda";
x3::rule<class range_class, ExprPtr> const range_expr = "range";
x3::rule<class or_class, ExprPtr> const or_expr = "or";
x3::rule<class and_class, ExprPtr> const and_expr = "and";
x3::rule<class not_class, ExprPtr> const not_expr = "not";
x3::rule<class cmp_class, ExprPtr> const cmp_expr = "comparison";
x3::rule<class bitor_class, ExprPtr> const bitor_expr = "bitor";
x3::rule<class bitxor_class, ExprPtr> const bitxor_expr = "bitxor";
x3::rule<class bitand_class, ExprPtr> const bitand_expr = "bitand";
x3::rule<class shift_class, ExprPtr> const shift_expr = "shift";
x3::rule<class add_class, ExprPtr> const add_expr = "additive";
x3::rule<class mul_class, ExprPtr> const mul_expr = "multiplicative";
x3::rule<class unary_class, ExprPtr> const unary_expr = "unary";
x3::rule<class pow_chain_class, PowChain> const pow_chain = "power";
x3::rule<class power_class, ExprPtr> const power_expr = "power";
x3::rule<class postfix_class, ExprPtr> const postfix_expr = "postfix";
x3::rule<class primary_class, ExprPtr> const primary = "primary";
x3::rule<class primary_inner_class, ExprPtr> const primary_inner = "primary";
x3::rule<class if_expr_class, ExprPtr> const if_expr = "if";
x3::rule<class array_class, ExprPtr> const array_lit = "array";
x3::rule<class map_class, ExprPtr> const map_lit = "map";
x3::rule<class opt_expr_class, ExprPtr> const opt_expr = "expr";
x3::rule<class opt_add_class, ExprPtr> const opt_add = "additive";
x3::rule<class index_class, IndexSuffix> const index_suffix = "index";
x3::rule<class call_args_class, std::vector<Arg>> const call_args = "arguments";

x3::rule<class f_or_class, ExprPtr> const f_or = "filter";
x3::rule<class f_and_class, ExprPtr> const f_and = "filter";
x3::rule<class f_not_class, ExprPtr> const f_not = "filter";
x3::rule<class f_cmp_class, ExprPtr> const f_cmp = "filter";
x3::rule<class f_add_class, ExprPtr> const f_add = "filter";
x3::rule<class f_mul_class, ExprPtr> const f_mul = "filter";
x3::rule<class f_unary_class, ExprPtr> const f_unary = "filter";
x3::rule<class f_postfix_class, ExprPtr> const f_postfix = "filter";
x3::rule<class f_primary_class, ExprPtr> const f_primary = "filter";
x3::rule<class f_primary_inner_class, ExprPtr> const f_primary_inner = "filter";

auto const expr_def = deep(named("expression", expr_inner));
auto const expr_inner_def = lambda | range_expr;

auto const lambda_start = spanned([](auto& ctx) { _val(ctx) = make_expr(ExprKind::Lambda, {}); });
auto const lambda_param = spanned([](auto& ctx) { _val(ctx)->names.push_back(_attr(ctx)); });
auto const lambda_stmt = spanned([](auto& ctx) { _val(ctx)->body.push_back(_attr(ctx)); });
auto const lambda_block_end = spanned([](auto& ctx) {
    auto& body = _val(ctx)->body;
    if (body.empty() || !std::holds_alternative<ExprStmt>(body.back()->node)) {
        _pass(ctx) = false;
        return;
    }
    _val(ctx)->args = {std::get<ExprStmt>(body.back()->node).expr};
    body.pop_back();
});
auto const lambda_expr_body = spanned([](auto& ctx) {
    _val(ctx)->body.clear();
    _val(ctx)->args = {_attr(ctx)};
});
auto const lambda_def =
    (x3::eps[lambda_start] >>
     (ident[lambda_param] | tq("(") >> -(ident[lambda_param] % tq(",")) >> tq(")")) >> tq("=>") >>
     ((tq("{") >> +(statement[lambda_stmt] >> -tq(";")) >> tok("}"))[lambda_block_end] |
      expr[lambda_expr_body]))[set_span];

auto const range_expr_def =
    or_expr[pass] >> -((tq("..=") >> or_expr)[range(true)] | (tq("..") >> or_expr)[range(false)]);
auto const or_expr_def = and_expr[pass] >> *(kwq("or") >> and_expr)[bin(BinaryOp::Or)];
auto const and_expr_def = not_expr[pass] >> *(kwq("and") >> not_expr)[bin(BinaryOp::And)];
auto const not_expr_def = (kwq("not") >> cmp_expr)[un(UnaryOp::Not)] | (!kwq("not") >> cmp_expr)[pass];
auto const cmp_expr_def = bitor_expr[pass] >> -((tq("==") >> bitor_expr)[bin(BinaryOp::Eq)] |
                                                (tq("!=") >> bitor_expr)[bin(BinaryOp::Ne)] |
                                                (tq("<=") >> bitor_expr)[bin(BinaryOp::Le)] |
                                                (tq(">=") >> bitor_expr)[bin(BinaryOp::Ge)] |
                                                (tq("<") >> bitor_expr)[bin(BinaryOp::Lt)] |
                                                (tq(">") >> bitor_expr)[bin(BinaryOp::Gt)] |
                                                (kwq("in") >> bitor_expr)[bin(BinaryOp::In)] |
                                                (kwq("not") >> kwq("in") >> bitor_expr)[bin(BinaryOp::NotIn)] |
                                                (kwq("is") >> bitor_expr)[bin(BinaryOp::Is)]);
auto const bitor_expr_def = bitxor_expr[pass] >> *(tq("|") >> bitxor_expr)[bin(BinaryOp::BitOr)];
auto const bitxor_expr_def = bitand_expr[pass] >> *(tq("^") >> bitand_expr)[bin(BinaryOp::BitXor)];
auto const bitand_expr_def = shift_expr[pass] >> *(tq("&") >> shift_expr)[bin(BinaryOp::BitAnd)];
auto const shift_expr_def = add_expr[pass] >> *((tq("<<") >> add_expr)[bin(BinaryOp::Shl)] |
                                                (tq(">>") >> add_expr)[bin(BinaryOp::Shr)]);
auto const add_expr_def = mul_expr[pass] >> *((tq("+") >> mul_expr)[bin(BinaryOp::Add)] |
                                              (tq("-", ">") >> mul_expr)[bin(BinaryOp::Sub)]);
auto const mul_expr_def = unary_expr[pass] >> *((tq("*", "*") >> unary_expr)[bin(BinaryOp::Mul)] |
                                                (tq("/", "/*") >> unary_expr)[bin(BinaryOp::Div)] |
                                                (tq("%") >> unary_expr)[bin(BinaryOp::Mod)]);
auto const unary_expr_def = (tq("-", ">") >> power_expr)[un(UnaryOp::Neg)] |
                            (tq("~") >> power_expr)[un(UnaryOp::BitNot)] | power_expr[pass];

auto const pow_head = spanned([](auto& ctx) {
    _val(ctx).head = _attr(ctx);
    _val(ctx).rest.clear();
});
auto pow_step(int sign) {
    return spanned([sign](auto& ctx) {
        ParseState& st = state_of(ctx);
        PowStep step;
        step.sign = sign;
        // The sign follows the `**` that starts this match.
        step.sign_pos = st.offset(skip_blank(st.base + span_of(ctx).begin + 2, st.end));
        step.operand = _attr(ctx);
        _val(ctx).rest.push_back(std::move(step));
    });
}
auto const pow_chain_def = postfix_expr[pow_head] >> *((tq("**") >> tq("-", ">") >> postfix_expr)[pow_step(1)] |
                                                       (tq("**") >> tq("~") >> postfix_expr)[pow_step(2)] |
                                                       (tq("**") >> postfix_expr)[pow_step(0)]);
auto const fold_pow = spanned([](auto& ctx) {
    PowChain& c = _attr(ctx);
    if (c.rest.empty()) {
        _val(ctx) = c.head;
        return;
    }
    ExprPtr acc;
    for (size_t i = c.rest.size(); i-- > 0;) {
        ExprPtr rhs = acc ? acc : c.rest[i].operand;
        if (acc) {
            rhs = make_binary(BinaryOp::Pow, c.rest[i].operand, acc);
            track(ctx, rhs);
        }
        if (c.rest[i].sign != 0) {
            rhs = make_unary(c.rest[i].sign == 1 ? UnaryOp::Neg : UnaryOp::BitNot, c.rest[i].sign_pos, rhs);
            track(ctx, rhs);
        }
        acc = rhs;
        if (state_of(ctx).fatal) {
            _pass(ctx) = false;
            return;
        }
    }
    _val(ctx) = make_binary(BinaryOp::Pow, c.head, acc);
    track(ctx, _val(ctx));
});
auto const power_expr_def = pow_chain[fold_pow];

auto const postfix_expr_def = primary[pass] >> *((tq(".", ".") >> ident)[mk_member] |
                                                 (tq("?.") >> ident)[mk_opt_member] | index_suffix[mk_index] |
                                                 call_args[mk_call]);

auto const index_reset = spanned([](auto& ctx) { _val(ctx) = IndexSuffix{}; });
auto const index_lo = spanned([](auto& ctx) { _val(ctx).lo = _attr(ctx); });
auto const index_hi = spanned([](auto& ctx) {
    _val(ctx).hi = _attr(ctx);
    _val(ctx).slice = true;
});
auto const index_suffix_def = x3::eps[index_reset] >> tq("[") >> opt_expr[index_lo] >>
                              -(tq(":") >> opt_add[index_hi]) >> tok("]");
auto const opt_expr_def = expr | x3::attr(ExprPtr());
auto const opt_add_def = add_expr | x3::attr(ExprPtr());

auto const call_args_def = tq("(") >> -(call_arg[push_arg] % tok(",")) >> tok(")");

auto const named_arg = spanned([](auto& ctx) {
    Arg a;
    a.name = at_c<0>(_attr(ctx));
    a.name_span = span_of(ctx);
    a.name_span.end = a.name_span.begin + static_cast<uint32_t>(a.name.size());
    a.value = at_c<1>(_attr(ctx));
    _val(ctx) = std::move(a);
});
auto const positional_arg = spanned([](auto& ctx) {
    Arg a;
    a.value = _attr(ctx);
    _val(ctx) = std::move(a);
});
auto const call_arg_def = (ident >> tq(":", "=") >> expr)[named_arg] | expr[positional_arg];

auto const primary_def = named("expression", primary_inner);
auto const primary_inner_def = if_expr[pass] | literal[pass] | (!kwq("if") >> !kwq("not") >> ident)[mk_ident] | array_lit[pass] |
                               map_lit[pass] | (tq("(") >> expr >> tok(")"))[pass];

auto const mk_if = spanned([](auto& ctx) {
    auto e = make_expr(ExprKind::If, span_of(ctx));
    e->args = {at_c<0>(_attr(ctx)), at_c<1>(_attr(ctx)), at_c<2>(_attr(ctx))};
    _val(ctx) = e;
    track(ctx, e);
});
auto const if_expr_def = (kwq("if") >> expr >> kw("then") >> expr >> kw("else") >> expr)[mk_if];

auto const new_array = spanned([](auto& ctx) { _val(ctx) = make_expr(ExprKind::Array, {}); });
auto const push_elem = spanned([](auto& ctx) { _val(ctx)->args.push_back(_attr(ctx)); });
auto const array_lit_def = (tq("[")[new_array] >> -(expr[push_elem] % tok(",")) >> tok("]"))[set_span];

auto const new_map = spanned([](auto& ctx) { _val(ctx) = make_expr(ExprKind::Map, {}); });
auto const map_key = spanned([](auto& ctx) { _val(ctx)->names.push_back(_attr(ctx)); });
auto const map_key_str = spanned([](auto& ctx) { _val(ctx)->names.push_back(_attr(ctx)->text); });
auto const map_lit_def =
    (tq("{")[new_map] >> -(((ident[map_key] | string_lit[map_key_str]) >> tok(":") >> expr[push_elem]) % tok(",")) >>
     tok("}"))[set_span];

auto lit_kw(ExprKind kind, bool value) {
    return spanned([kind, value](auto& ctx) {
        auto e = make_expr(kind, span_of(ctx));
        e->bool_value = value;
        _val(ctx) = e;
        track(ctx, e);
    });
}
auto const literal_def = number_lit[pass] | string_lit[pass] | timestamp_lit[pass] |
                         kwq("true")[lit_kw(ExprKind::Bool, true)] | kwq("false")[lit_kw(ExprKind::Bool, false)] |
                         kwq("null")[lit_kw(ExprKind::Null, false)];

// §6.2: no bitwise operators, `**`, `if`, arrays or maps; `.name(` is left to the stream.
auto const filter_expr_def = deep(named("expression", f_or));
auto const f_or_def = f_and[pass] >> *(kwq("or") >> f_and)[bin(BinaryOp::Or)];
auto const f_and_def = f_not[pass] >> *(kwq("and") >> f_not)[bin(BinaryOp::And)];
auto const f_not_def = (kwq("not") >> f_cmp)[un(UnaryOp::Not)] | (!kwq("not") >> f_cmp)[pass];
auto const f_cmp_def = f_add[pass] >> -((tq("==") >> f_add)[bin(BinaryOp::Eq)] | (tq("!=") >> f_add)[bin(BinaryOp::Ne)] |
                                       (tq("<=") >> f_add)[bin(BinaryOp::Le)] | (tq(">=") >> f_add)[bin(BinaryOp::Ge)] |
                                       (tq("<", "<") >> f_add)[bin(BinaryOp::Lt)] |
                                       (tq(">", ">") >> f_add)[bin(BinaryOp::Gt)] |
                                       (kwq("in") >> f_add)[bin(BinaryOp::In)] |
                                       (kwq("not") >> kwq("in") >> f_add)[bin(BinaryOp::NotIn)] |
                                       (kwq("is") >> f_add)[bin(BinaryOp::Is)]);
auto const f_add_def =
    f_mul[pass] >> *((tq("+") >> f_mul)[bin(BinaryOp::Add)] | (tq("-", ">") >> f_mul)[bin(BinaryOp::Sub)]);
auto const f_mul_def = f_unary[pass] >> *((tq("*", "*") >> f_unary)[bin(BinaryOp::Mul)] |
                                          (tq("/", "/*") >> f_unary)[bin(BinaryOp::Div)] |
                                          (tq("%") >> f_unary)[bin(BinaryOp::Mod)]);
auto const f_unary_def = (tq("-", ">") >> f_postfix)[un(UnaryOp::Neg)] | (tq("~") >> f_postfix)[un(UnaryOp::BitNot)] |
                         f_postfix[pass];
auto const f_postfix_def =
    f_primary[pass] >> *((tq(".", ".") >> ident >> !tq("("))[mk_member] | (tq("?.") >> ident)[mk_opt_member] |
                         (tq("[") >> expr >> tok("]"))[mk_filter_index] | call_args[mk_call]);
auto const f_primary_def = named("expression", f_primary_inner);
auto const f_primary_inner_def = literal[pass] | (!kwq("not") >> ident)[mk_ident] | (tq("(") >> filter_expr >> tok(")"))[pass];

// Rules local to this TU have their IDs in this unnamed namespace, so their parse_rule
// overloads must live here too (found by ADL); the shared rules' overloads are below.
BOOST_SPIRIT_DEFINE(expr_inner, lambda, range_expr, or_expr, and_expr, not_expr, cmp_expr, bitor_expr, bitxor_expr,
                    bitand_expr, shift_expr, add_expr, mul_expr, unary_expr, pow_chain, power_expr, postfix_expr,
                    primary, primary_inner, if_expr, array_lit, map_lit, opt_expr, opt_add, index_suffix, call_args,
                    f_or, f_and, f_not, f_cmp, f_add, f_mul, f_unary, f_postfix, f_primary, f_primary_inner)

}  // namespace

BOOST_SPIRIT_DEFINE(expr, call_arg, literal, filter_expr)

BOOST_SPIRIT_INSTANTIATE(expr_type, iterator_type, context_type)
BOOST_SPIRIT_INSTANTIATE(filter_type, iterator_type, context_type)
BOOST_SPIRIT_INSTANTIATE(literal_type, iterator_type, context_type)
BOOST_SPIRIT_INSTANTIATE(call_arg_type, iterator_type, context_type)

}  // namespace varpulis::frontend::grammar
