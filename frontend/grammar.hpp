#pragma once
// Private to the grammar translation units (grammar_expr.cpp, grammar.cpp): the parse state,
// the hand-written X3 primitives (tokens, keywords, identifiers, literals) and the declarations
// of the rules shared between the two units. Nothing outside frontend/grammar*.cpp includes it.
//
// Error reporting works like a PEG (pest) parser: every terminal that fails records the
// furthest position reached and what it expected there; the grammar never throws
// (no `>` expectation points). Lexical errors that no alternative can recover from
// (unterminated string, literal too large, nesting too deep) are "fatal": recorded once,
// after which every primitive fails at once so the parse unwinds quickly.

#include <boost/spirit/home/x3.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "frontend/ast.hpp"
#include "frontend/source.hpp"

namespace varpulis::frontend::grammar {

namespace x3 = boost::spirit::x3;

/// Mutable state of one parse, reachable from every parser through the X3 context.
struct ParseState {
    const char* base = nullptr;   // text().data()
    const char* end = nullptr;
    const char* furthest = nullptr;
    std::vector<std::string> expected;        // what was expected at `furthest`, in order tried
    std::vector<const char*> quiet_at;        // positions where named() reports for its subject
    int depth = 0;                            // recursion guard (see deep())
    /// Height of the composite expression nodes built so far (leaves are absent = 1), so that
    /// long operator chains cannot build trees too deep for recursive consumers.
    std::unordered_map<const Expr*, uint32_t> expr_height;
    bool fatal = false;
    const char* fatal_pos = nullptr;
    std::string fatal_message;

    uint32_t offset(const char* p) const { return static_cast<uint32_t>(p - base); }

    /// True when a failure at `pos` would change the report (cheap pre-check).
    bool wants(const char* pos) const {
        if (furthest != nullptr && pos < furthest) return false;
        for (const char* q : quiet_at)
            if (q == pos) return false;
        return true;
    }

    void record(const char* pos, std::string_view what) {
        if (!wants(pos)) return;
        if (furthest == nullptr || pos > furthest) {
            furthest = pos;
            expected.clear();
        }
        if (pos == furthest && std::find(expected.begin(), expected.end(), what) == expected.end())
            expected.emplace_back(what);
    }

    void fail_fatal(const char* pos, std::string message) {
        if (fatal) return;
        fatal = true;
        fatal_pos = pos;
        fatal_message = std::move(message);
    }
};

struct state_tag;

/// Maximum nesting of the recursive rules wrapped in deep(); keeps the native stack bounded
/// on adversarial input (the pre-processor already limits brackets to 24 levels).
inline constexpr int kMaxDepth = 100;
/// Maximum height of an expression tree (`1 + 1 + ... + 1` chains are left-deep trees).
inline constexpr uint32_t kMaxExprHeight = 1000;

inline bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// Skips whitespace, `# line` and `/* block */` comments. Stops at block markers: they are
/// tokens. An unterminated block comment is left in place (it becomes the unexpected token).
inline const char* skip_blank(const char* p, const char* e) {
    for (;;) {
        while (p != e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
        if (p != e && *p == '#') {
            while (p != e && *p != '\n' && *p != SourceFile::kIndent && *p != SourceFile::kDedent) ++p;
            continue;
        }
        if (e - p >= 2 && p[0] == '/' && p[1] == '*') {
            const char* q = p + 2;
            while (e - q >= 2 && !(q[0] == '*' && q[1] == '/')) ++q;
            if (e - q < 2) return p;
            p = q + 2;
            continue;
        }
        return p;
    }
}

struct Skipper : x3::parser<Skipper> {
    using attribute_type = x3::unused_type;
    static bool const has_attribute = false;

    template <typename It, typename Ctx, typename RCtx, typename Attr>
    bool parse(It& first, It const& last, Ctx const&, RCtx&, Attr&) const {
        const char* p = skip_blank(first, last);
        if (p == first) return false;
        first = p;
        return true;
    }
};

/// Succeeds, consuming nothing, when something other than a comment follows on the current
/// line: `return` takes a value only from its own line (the next line is the next statement).
struct SameLine : x3::parser<SameLine> {
    using attribute_type = x3::unused_type;
    static bool const has_attribute = false;

    template <typename It, typename Ctx, typename RCtx, typename Attr>
    bool parse(It& first, It const& last, Ctx const&, RCtx&, Attr&) const {
        const char* p = first;
        while (p != last && (*p == ' ' || *p == '\t' || *p == '\r')) ++p;
        return p != last && *p != '\n' && *p != '#' && *p != SourceFile::kIndent && *p != SourceFile::kDedent;
    }
};
inline constexpr SameLine same_line{};

using iterator_type = const char*;
using skipper_context_type = x3::context<x3::skipper_tag, Skipper const>;
using context_type = x3::context<state_tag, ParseState, skipper_context_type>;

template <typename Ctx>
ParseState& state_of(Ctx const& ctx) {
    return x3::get<state_tag>(ctx);
}

/// A semantic action whose `_where(ctx)` is the range its subject matched (leading
/// whitespace excluded). Boost 1.81's x3::action passes the *rest of the input* instead,
/// so every action of the grammar is wrapped with spanned() and handled by the
/// x3::action specialisation at the end of this header.
template <typename F>
struct Spanned {
    F f;
};
template <typename F>
constexpr Spanned<F> spanned(F f) {
    return Spanned<F>{f};
}

/// Span of what an action's subject matched, without the leading whitespace.
template <typename Ctx>
SourceSpan span_of(Ctx const& ctx) {
    ParseState& st = state_of(ctx);
    auto const& w = x3::_where(ctx);
    const char* b = skip_blank(w.begin(), w.end());
    return SourceSpan{st.offset(b), st.offset(std::max(b, w.end()))};
}

// ---------------------------------------------------------------- primitives

/// A fixed token. Fails when followed by one of `not_followed` (so `<` does not match `<=`).
/// Quiet tokens (optional continuations, lookaheads) do not report what they expected.
struct TokParser : x3::parser<TokParser> {
    using attribute_type = x3::unused_type;
    static bool const has_attribute = false;

    std::string_view text;
    std::string_view not_followed;
    std::string_view display;
    bool quiet = false;
    bool keyword = false;

    template <typename It, typename Ctx, typename RCtx, typename Attr>
    bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr&) const {
        ParseState& st = state_of(ctx);
        if (st.fatal) return false;
        x3::skip_over(first, last, ctx);
        const char* p = first;
        if (static_cast<size_t>(last - p) >= text.size() && std::equal(text.begin(), text.end(), p)) {
            const char* q = p + text.size();
            bool blocked = q != last && (keyword ? is_ident_char(*q) : not_followed.find(*q) != std::string_view::npos);
            if (!blocked) {
                first = q;
                return true;
            }
        }
        if (!quiet && st.wants(p)) {
            if (!display.empty())
                st.record(p, display);
            else
                st.record(p, "'" + std::string(text) + "'");
        }
        return false;
    }
};

/// Punctuation that must be reported when missing: tok("(") expects `'('`.
constexpr TokParser tok(std::string_view text, std::string_view not_followed = {}) {
    TokParser t;
    t.text = text;
    t.not_followed = not_followed;
    return t;
}
/// Quiet punctuation (operators tried after a complete operand, lookaheads).
constexpr TokParser tq(std::string_view text, std::string_view not_followed = {}) {
    TokParser t = tok(text, not_followed);
    t.quiet = true;
    return t;
}
/// A keyword: the word not followed by an identifier character (`and` does not match `android`).
constexpr TokParser kw(std::string_view word) {
    TokParser t = tok(word);
    t.keyword = true;
    return t;
}
constexpr TokParser kwq(std::string_view word) {
    TokParser t = kw(word);
    t.quiet = true;
    return t;
}
/// The block markers of the pre-processor.
inline constexpr char kIndentText[] = {SourceFile::kIndent, '\0'};
inline constexpr char kDedentText[] = {SourceFile::kDedent, '\0'};
constexpr TokParser indent_tok() {
    TokParser t = tok(kIndentText);
    t.display = "indented block";
    return t;
}
constexpr TokParser dedent_tok() {
    TokParser t = tok(kDedentText);
    t.display = "end of block";
    return t;
}

/// `[A-Za-z_][A-Za-z0-9_]*`; keywords are not reserved.
struct IdentParser : x3::parser<IdentParser> {
    using attribute_type = std::string;
    static bool const has_attribute = true;

    template <typename It, typename Ctx, typename RCtx, typename Attr>
    bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr& attr) const {
        ParseState& st = state_of(ctx);
        if (st.fatal) return false;
        x3::skip_over(first, last, ctx);
        const char* p = first;
        if (p == last || !is_ident_start(*p)) {
            st.record(p, "identifier");
            return false;
        }
        const char* q = p + 1;
        while (q != last && is_ident_char(*q)) ++q;
        x3::traits::move_to(std::string(p, q), attr);
        first = q;
        return true;
    }
};
inline constexpr IdentParser ident{};

/// Lexes the number at `p` (float, then duration, then integer, VPL.md §2.3). Returns the
/// end of the literal, or nullptr when `p` does not start a number. Sets st.fatal on overflow.
const char* lex_number(ParseState& st, const char* p, const char* e, ExprPtr& out);
/// Lexes a string literal at `p` (which is a `"`); nullptr and st.fatal when unterminated.
const char* lex_string(ParseState& st, const char* p, const char* e, ExprPtr& out);
/// Lexes `@YYYY-MM-DD[THH:MM:SS][Z|±HH:MM]`; nullptr when malformed.
const char* lex_timestamp(ParseState& st, const char* p, const char* e, ExprPtr& out);

/// Number, string or timestamp literal (one primitive so the three share one failure report).
struct LiteralParser : x3::parser<LiteralParser> {
    using attribute_type = ExprPtr;
    static bool const has_attribute = true;
    enum class Which { Number, String, Timestamp };
    Which which = Which::Number;

    template <typename It, typename Ctx, typename RCtx, typename Attr>
    bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr& attr) const {
        ParseState& st = state_of(ctx);
        if (st.fatal) return false;
        x3::skip_over(first, last, ctx);
        const char* p = first;
        ExprPtr out;
        const char* q = nullptr;
        switch (which) {
            case Which::Number:
                q = lex_number(st, p, last, out);
                if (!q && !st.fatal) st.record(p, "number");
                break;
            case Which::String:
                q = (p != last && *p == '"') ? lex_string(st, p, last, out) : nullptr;
                if (!q && !st.fatal) st.record(p, "string");
                break;
            case Which::Timestamp:
                q = (p != last && *p == '@') ? lex_timestamp(st, p, last, out) : nullptr;
                if (!q && !st.fatal) st.record(p, "timestamp");
                break;
        }
        if (!q) return false;
        x3::traits::move_to(std::move(out), attr);
        first = q;
        return true;
    }
};
inline constexpr LiteralParser number_lit{{}, LiteralParser::Which::Number};
inline constexpr LiteralParser string_lit{{}, LiteralParser::Which::String};
inline constexpr LiteralParser timestamp_lit{{}, LiteralParser::Which::Timestamp};

/// named(name, p): when p fails without getting past its first token, report `name`
/// ("expression", "statement") instead of the many tokens p tried there.
template <typename Subject>
struct NamedParser : x3::unary_parser<Subject, NamedParser<Subject>> {
    using base_type = x3::unary_parser<Subject, NamedParser<Subject>>;
    using attribute_type = typename Subject::attribute_type;
    static bool const has_attribute = true;
    std::string_view name;

    constexpr NamedParser(Subject const& subject, std::string_view n) : base_type(subject), name(n) {}

    template <typename It, typename Ctx, typename RCtx, typename Attr>
    bool parse(It& first, It const& last, Ctx const& ctx, RCtx& rctx, Attr& attr) const {
        ParseState& st = state_of(ctx);
        if (st.fatal) return false;
        x3::skip_over(first, last, ctx);
        const char* start = first;
        st.quiet_at.push_back(start);
        bool ok = this->subject.parse(first, last, ctx, rctx, attr);
        st.quiet_at.pop_back();
        if (!ok && !st.fatal) st.record(start, name);
        return ok;
    }
};

template <typename Subject>
NamedParser<Subject> named(std::string_view name, Subject const& subject) {
    return NamedParser<Subject>(subject, name);
}

/// deep(p): counts recursion; beyond kMaxDepth the parse stops with a fatal error.
template <typename Subject>
struct DeepParser : x3::unary_parser<Subject, DeepParser<Subject>> {
    using base_type = x3::unary_parser<Subject, DeepParser<Subject>>;
    using attribute_type = typename Subject::attribute_type;
    static bool const has_attribute = true;

    constexpr explicit DeepParser(Subject const& subject) : base_type(subject) {}

    template <typename It, typename Ctx, typename RCtx, typename Attr>
    bool parse(It& first, It const& last, Ctx const& ctx, RCtx& rctx, Attr& attr) const {
        ParseState& st = state_of(ctx);
        if (st.fatal) return false;
        if (st.depth >= kMaxDepth) {
            st.fail_fatal(skip_blank(first, last), "nesting too deep (more than " + std::to_string(kMaxDepth) +
                                                       " levels of expressions, types or blocks)");
            return false;
        }
        ++st.depth;
        bool ok = this->subject.parse(first, last, ctx, rctx, attr);
        --st.depth;
        return ok;
    }
};

template <typename Subject>
DeepParser<Subject> deep(Subject const& subject) {
    return DeepParser<Subject>(subject);
}

/// Succeeds at the end of the input (after whitespace and comments). Reports nothing.
struct EoiParser : x3::parser<EoiParser> {
    using attribute_type = x3::unused_type;
    static bool const has_attribute = false;

    template <typename It, typename Ctx, typename RCtx, typename Attr>
    bool parse(It& first, It const& last, Ctx const& ctx, RCtx&, Attr&) const {
        if (state_of(ctx).fatal) return false;
        x3::skip_over(first, last, ctx);
        return first == last;
    }
};
inline constexpr EoiParser end_of_input{};

// ---------------------------------------------------------------- rules shared by the two TUs

using expr_type = x3::rule<class expr_class, ExprPtr>;
using filter_type = x3::rule<class filter_class, ExprPtr>;
using literal_type = x3::rule<class literal_class, ExprPtr>;
using call_arg_type = x3::rule<class call_arg_class, Arg>;
using statement_type = x3::rule<class statement_class, StmtPtr>;

expr_type const expr = "expr";
/// The restricted filter grammar of VPL.md §6.2 (`-> T where ...`, pattern refs, sequence steps).
filter_type const filter_expr = "filter_expr";
literal_type const literal = "literal";
/// `name: expr` or `expr`.
call_arg_type const call_arg = "call_arg";
statement_type const statement = "statement";

BOOST_SPIRIT_DECLARE(expr_type, filter_type, literal_type, call_arg_type, statement_type)

}  // namespace varpulis::frontend::grammar

namespace boost::spirit::x3 {

/// x3::action for spanned() actions: identical to the primary template except that the
/// action sees the matched range as `_where`.
template <typename Subject, typename F>
struct action<Subject, varpulis::frontend::grammar::Spanned<F>>
    : unary_parser<Subject, action<Subject, varpulis::frontend::grammar::Spanned<F>>> {
    using base_type = unary_parser<Subject, action<Subject, varpulis::frontend::grammar::Spanned<F>>>;
    static bool const is_pass_through_unary = true;
    static bool const has_action = true;

    constexpr action(Subject const& subject, varpulis::frontend::grammar::Spanned<F> f) : base_type(subject), f(f) {}

    template <typename Iterator, typename Context, typename RuleContext, typename Attribute>
    bool parse_main(Iterator& first, Iterator const& last, Context const& context, RuleContext& rcontext,
                    Attribute& attr) const {
        Iterator save = first;
        if (!this->subject.parse(first, last, context, rcontext, attr)) return false;
        bool pass = true;
        auto action_context = make_context<parse_pass_context_tag>(pass, context);
        Iterator begin = varpulis::frontend::grammar::skip_blank(save, first);
        if (begin > first) begin = first;
        call(f.f, begin, first, action_context, rcontext, attr);
        if (pass) return true;
        first = save;
        return false;
    }

    template <typename Iterator, typename Context, typename RuleContext>
    bool parse(Iterator& first, Iterator const& last, Context const& context, RuleContext& rcontext,
               unused_type) const {
        using attribute_type = typename traits::attribute_of<action, Context>::type;
        attribute_type attribute{};
        return parse_main(first, last, context, rcontext, attribute);
    }

    template <typename Iterator, typename Context, typename RuleContext, typename Attribute>
    bool parse(Iterator& first, Iterator const& last, Context const& context, RuleContext& rcontext,
               Attribute& attr) const {
        return parse_main(first, last, context, rcontext, attr);
    }

    varpulis::frontend::grammar::Spanned<F> f;
};

}  // namespace boost::spirit::x3
