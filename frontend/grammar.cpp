// Statement half of the VPL grammar (VPL.md §3–§5, §7, §8, §10–§12) and parse_program():
// runs the X3 grammar over the pre-processed text and turns the furthest failure into one
// diagnostic (FORMATS.md §3.6 anchors). Expressions are in grammar_expr.cpp.

#include <exception>

#include "frontend/grammar.hpp"
#include "frontend/builtins.hpp"
#include "frontend/parser.hpp"

namespace varpulis::frontend::grammar {

namespace {

using boost::fusion::at_c;

ExprPtr make_ident(std::string name, SourceSpan span) {
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::Ident;
    e->text = std::move(name);
    e->span = span;
    return e;
}

SourceSpan name_span(SourceSpan span, const std::string& name) {
    return {span.begin, span.begin + static_cast<uint32_t>(name.size())};
}

template <typename T, typename Ctx>
T& node(Ctx& ctx) {
    return std::get<T>(_val(ctx)->node);
}

// ---------------------------------------------------------------- generic actions

auto const pass = spanned([](auto& ctx) { _val(ctx) = _attr(ctx); });

/// Starts a statement of kind T at the keyword just matched.
template <typename T>
auto start() {
    return spanned([](auto& ctx) {
        auto s = std::make_shared<Stmt>();
        s->span = span_of(ctx);
        s->node = T{};
        _val(ctx) = s;
    });
}
/// Sets name and name_span of the statement's node.
template <typename T>
auto decl_name() {
    return spanned([](auto& ctx) {
        T& n = node<T>(ctx);
        n.name = _attr(ctx);
        n.name_span = span_of(ctx);
    });
}

auto const named_arg = spanned([](auto& ctx) {
    Arg a;
    a.name = at_c<0>(_attr(ctx));
    a.name_span = name_span(span_of(ctx), a.name);
    a.value = at_c<1>(_attr(ctx));
    _val(ctx) = std::move(a);
});
auto const shorthand_arg = spanned([](auto& ctx) {
    Arg a;
    a.name = _attr(ctx);
    a.name_span = span_of(ctx);
    _val(ctx) = std::move(a);
});

// ---------------------------------------------------------------- rules

x3::rule<class s_type_class, TypeExpr> const type_ = "type";
x3::rule<class s_type_inner_class, TypeExpr> const type_inner = "type";
x3::rule<class s_base_type_class, TypeExpr> const base_type = "type";
x3::rule<class s_base_type_inner_class, TypeExpr> const base_type_inner = "type";

x3::rule<class s_config_value_class, ExprPtr> const config_value = "value";
x3::rule<class s_config_value_inner_class, ExprPtr> const config_value_inner = "value";
x3::rule<class s_kv_param_class, Arg> const kv_param = "parameter";
x3::rule<class s_select_item_class, Arg> const select_item = "select item";
x3::rule<class s_named_expr_class, Arg> const named_expr = "named value";
x3::rule<class s_order_item_class, Arg> const order_item = "order item";
x3::rule<class s_int_lit_class, int64_t> const int_lit = "integer";

x3::rule<class s_source_class, StreamSource> const source = "stream source";
x3::rule<class s_source_alts_class, StreamSource> const source_alts = "stream source";
x3::rule<class s_from_src_class, StreamSource> const from_src = "stream source";
x3::rule<class s_merge_src_class, StreamSource> const merge_src = "stream source";
x3::rule<class s_join_src_class, StreamSource> const join_src = "stream source";
x3::rule<class s_seq_src_class, StreamSource> const seq_src = "stream source";
x3::rule<class s_timer_src_class, StreamSource> const timer_src = "stream source";
x3::rule<class s_all_src_class, StreamSource> const all_src = "stream source";
x3::rule<class s_alias_src_class, StreamSource> const alias_src = "stream source";
x3::rule<class s_name_src_class, StreamSource> const name_src = "stream source";
x3::rule<class s_merge_item_class, InlineStream> const merge_item = "merged stream";
x3::rule<class s_join_item_class, InlineStream> const join_item = "joined stream";
x3::rule<class s_seq_step_class, SequenceStep> const seq_step = "sequence step";

x3::rule<class s_stream_op_class, StreamOp> const stream_op = "stream operator";
x3::rule<class s_stream_op_inner_class, StreamOp> const stream_op_inner = "stream operator";
x3::rule<class s_dot_op_class, StreamOp> const dot_op = "stream operator";
x3::rule<class s_op_body_class, StreamOp> const op_body = "stream operator";
x3::rule<class s_followed_by_class, StreamOp> const followed_by = "followed-by step";
x3::rule<class s_fork_path_class, std::pair<std::string, std::vector<StreamOp>>> const fork_path = "fork path";

x3::rule<class s_p_or_class, PatternOpExpr> const p_or = "pattern";
x3::rule<class s_p_or_inner_class, PatternOpExpr> const p_or_inner = "pattern";
x3::rule<class s_p_or_list_class, std::vector<PatternOpExpr>> const p_or_list = "pattern";
x3::rule<class s_p_and_class, PatternOpExpr> const p_and = "pattern";
x3::rule<class s_p_and_list_class, std::vector<PatternOpExpr>> const p_and_list = "pattern";
x3::rule<class s_p_xor_class, PatternOpExpr> const p_xor = "pattern";
x3::rule<class s_p_xor_list_class, std::vector<PatternOpExpr>> const p_xor_list = "pattern";
x3::rule<class s_p_un_class, PatternOpExpr> const p_un = "pattern";
x3::rule<class s_p_prim_class, PatternOpExpr> const p_prim = "pattern";

x3::rule<class s_sase_or_class, SaseExpr> const sase_or = "pattern";
x3::rule<class s_sase_or_inner_class, SaseExpr> const sase_or_inner = "pattern";
x3::rule<class s_sase_or_list_class, std::vector<SaseExpr>> const sase_or_list = "pattern";
x3::rule<class s_sase_and_class, SaseExpr> const sase_and = "pattern";
x3::rule<class s_sase_and_list_class, std::vector<SaseExpr>> const sase_and_list = "pattern";
x3::rule<class s_sase_not_class, SaseExpr> const sase_not = "pattern";
x3::rule<class s_sase_primary_class, SaseExpr> const sase_primary = "pattern";
x3::rule<class s_sase_primary_inner_class, SaseExpr> const sase_primary_inner = "pattern";
x3::rule<class s_seq_item_class, SaseExpr> const seq_item = "sequence item";
x3::rule<class s_event_ref_class, SaseExpr> const event_ref = "event reference";

x3::rule<class s_event_field_class, EventField> const event_field = "field";
x3::rule<class s_param_class, Param> const param = "parameter";
x3::rule<class s_block_class, std::vector<StmtPtr>> const block = "block";
x3::rule<class s_block_inner_class, std::vector<StmtPtr>> const block_inner = "block";

x3::rule<class s_statement_inner_class, StmtPtr> const statement_inner = "statement";
x3::rule<class s_context_decl_class, StmtPtr> const context_decl = "context";
x3::rule<class s_connector_decl_class, StmtPtr> const connector_decl = "connector";
x3::rule<class s_stream_decl_class, StmtPtr> const stream_decl = "stream";
x3::rule<class s_pattern_decl_class, StmtPtr> const pattern_decl = "pattern";
x3::rule<class s_event_decl_class, StmtPtr> const event_decl = "event";
x3::rule<class s_type_decl_class, StmtPtr> const type_decl = "type";
x3::rule<class s_var_decl_class, StmtPtr> const var_decl = "variable";
x3::rule<class s_const_decl_class, StmtPtr> const const_decl = "constant";
x3::rule<class s_fn_decl_class, StmtPtr> const fn_decl = "function";
x3::rule<class s_config_block_class, StmtPtr> const config_block = "config";
x3::rule<class s_import_stmt_class, StmtPtr> const import_stmt = "import";
x3::rule<class s_if_stmt_class, StmtPtr> const if_stmt = "if";
x3::rule<class s_for_stmt_class, StmtPtr> const for_stmt = "for";
x3::rule<class s_while_stmt_class, StmtPtr> const while_stmt = "while";
x3::rule<class s_return_stmt_class, StmtPtr> const return_stmt = "return";
x3::rule<class s_break_stmt_class, StmtPtr> const break_stmt = "break";
x3::rule<class s_continue_stmt_class, StmtPtr> const continue_stmt = "continue";
x3::rule<class s_emit_stmt_class, StmtPtr> const emit_stmt = "emit";
x3::rule<class s_assign_stmt_class, StmtPtr> const assign_stmt = "assignment";
x3::rule<class s_expr_stmt_class, StmtPtr> const expr_stmt = "expression";
x3::rule<class s_program_class, Program> const program = "program";

// ---------------------------------------------------------------- types (§5)

auto const type_array = spanned([](auto& ctx) {
    TypeExpr t;
    t.kind = TypeExpr::Kind::Array;
    t.span = span_of(ctx);
    t.args = {_attr(ctx)};
    _val(ctx) = std::move(t);
});
auto const type_stream = spanned([](auto& ctx) {
    TypeExpr t;
    t.kind = TypeExpr::Kind::Stream;
    t.span = span_of(ctx);
    t.args = {_attr(ctx)};
    _val(ctx) = std::move(t);
});
auto const type_map = spanned([](auto& ctx) {
    TypeExpr t;
    t.kind = TypeExpr::Kind::Map;
    t.span = span_of(ctx);
    t.args = {at_c<0>(_attr(ctx)), at_c<1>(_attr(ctx))};
    _val(ctx) = std::move(t);
});
auto const type_tuple = spanned([](auto& ctx) {
    TypeExpr t;
    t.kind = TypeExpr::Kind::Tuple;
    t.span = span_of(ctx);
    t.args.push_back(at_c<0>(_attr(ctx)));
    for (auto& m : at_c<1>(_attr(ctx))) t.args.push_back(m);
    _val(ctx) = std::move(t);
});
auto const type_named = spanned([](auto& ctx) {
    TypeExpr t;
    t.kind = TypeExpr::Kind::Named;
    t.name = _attr(ctx);
    t.span = span_of(ctx);
    _val(ctx) = std::move(t);
});
auto const type_optional = spanned([](auto& ctx) {
    TypeExpr t;
    t.kind = TypeExpr::Kind::Optional;
    t.span = {_val(ctx).span.begin, span_of(ctx).end};
    t.args = {_val(ctx)};
    _val(ctx) = std::move(t);
});

auto const type__def = deep(type_inner);
auto const type_inner_def = base_type[pass] >> -tq("?")[type_optional];
auto const base_type_def = named("type", base_type_inner);
auto const base_type_inner_def = (tq("[") >> type_ >> tok("]"))[type_array] |
                                 (tq("{") >> type_ >> tok(":") >> type_ >> tok("}"))[type_map] |
                                 (tq("(") >> type_ >> +(tok(",") >> type_) >> tok(")"))[type_tuple] |
                                 (kwq("Stream") >> tq("<") >> type_ >> tok(">"))[type_stream] | ident[type_named];

// ---------------------------------------------------------------- argument items

auto const new_array = spanned([](auto& ctx) {
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::Array;
    _val(ctx) = e;
});
auto const push_elem = spanned([](auto& ctx) { _val(ctx)->args.push_back(_attr(ctx)); });
auto const set_expr_span = spanned([](auto& ctx) { _val(ctx)->span = span_of(ctx); });
auto const mk_ident = spanned([](auto& ctx) { _val(ctx) = make_ident(_attr(ctx), span_of(ctx)); });

auto const config_value_def = named("value", config_value_inner);
auto const config_value_inner_def =
    (tq("[")[new_array] >> -(config_value[push_elem] % tok(",")) >> tok("]"))[set_expr_span] | literal[pass] |
    ident[mk_ident];
auto const kv_param_def = (ident >> tok(":", "=") >> config_value)[named_arg];
auto const named_expr_def = (ident >> tok(":", "=") >> expr)[named_arg];
auto const select_item_def = (ident >> tq(":", "=") >> expr)[named_arg] | ident[shorthand_arg];
auto const order_value = spanned([](auto& ctx) {
    Arg a;
    a.value = _attr(ctx);
    _val(ctx) = std::move(a);
});
auto const order_desc = spanned([](auto& ctx) { _val(ctx).desc = true; });
auto const order_item_def = expr[order_value] >> -(kwq("desc")[order_desc] | kwq("asc"));
auto const int_value = spanned([](auto& ctx) {
    const ExprPtr& e = _attr(ctx);
    if (e->kind != ExprKind::Int) {
        _pass(ctx) = false;
        return;
    }
    _val(ctx) = e->int_value;
});
auto const int_lit_def = number_lit[int_value];

// ---------------------------------------------------------------- stream sources (§7)

auto const src_reset = spanned([](auto& ctx) { _val(ctx) = StreamSource{}; });
auto src_kind(StreamSource::Kind kind) {
    return spanned([kind](auto& ctx) {
        _val(ctx).kind = kind;
        _val(ctx).span = span_of(ctx);
    });
}
auto const src_name = spanned([](auto& ctx) {
    _val(ctx).name = _attr(ctx);
    _val(ctx).name_span = span_of(ctx);
});
auto const src_alias = spanned([](auto& ctx) { _val(ctx).alias = _attr(ctx); });
auto const src_all = spanned([](auto& ctx) { _val(ctx).all = true; });
auto const src_conn = spanned([](auto& ctx) {
    Arg a;
    a.value = make_ident(_attr(ctx), span_of(ctx));
    _val(ctx).params.push_back(std::move(a));
});
auto const src_param = spanned([](auto& ctx) { _val(ctx).params.push_back(_attr(ctx)); });
auto const src_inline = spanned([](auto& ctx) { _val(ctx).inlines.push_back(_attr(ctx)); });
auto const src_step = spanned([](auto& ctx) { _val(ctx).steps.push_back(_attr(ctx)); });

auto const source_def = named("stream source", source_alts);
auto const source_alts_def = from_src | merge_src | join_src | seq_src | timer_src | all_src | alias_src | name_src;
auto const from_src_def = (x3::eps[src_reset] >> ident[src_name] >> tq(".", ".") >> kw("from") >> tok("(") >>
                           ident[src_conn] >> *(tok(",") >> call_arg[src_param]) >> tok(")"))[src_kind(StreamSource::Kind::From)];
auto const merge_src_def = (x3::eps[src_reset] >> kwq("merge") >> tq("(") >> (merge_item[src_inline] % tok(",")) >>
                            tok(")"))[src_kind(StreamSource::Kind::Merge)];
auto const join_src_def = (x3::eps[src_reset] >> kwq("join") >> tq("(") >> (join_item[src_inline] % tok(",")) >>
                           tok(")"))[src_kind(StreamSource::Kind::Join)];
auto const seq_src_def = (x3::eps[src_reset] >> kwq("sequence") >> tq("(") >> (seq_step[src_step] % tok(",")) >>
                          tok(")"))[src_kind(StreamSource::Kind::Sequence)];
auto const timer_src_def = (x3::eps[src_reset] >> kwq("timer") >> tq("(") >> (call_arg[src_param] % tok(",")) >>
                            tok(")"))[src_kind(StreamSource::Kind::Timer)];
auto const all_src_def = (x3::eps[src_reset] >> kwq("all")[src_all] >> ident[src_name] >>
                          -(kwq("as") >> ident[src_alias]))[src_kind(StreamSource::Kind::Name)];
auto const alias_src_def = (x3::eps[src_reset] >> ident[src_name] >> kwq("as") >>
                            ident[src_alias])[src_kind(StreamSource::Kind::Name)];
auto const name_src_def = (x3::eps[src_reset] >> ident[src_name])[src_kind(StreamSource::Kind::Name)];

auto const inline_reset = spanned([](auto& ctx) { _val(ctx) = InlineStream{}; });
auto const inline_label = spanned([](auto& ctx) { _val(ctx).label = _attr(ctx); });
auto const inline_name = spanned([](auto& ctx) {
    _val(ctx).name = _attr(ctx);
    _val(ctx).name_span = span_of(ctx);
});
auto const inline_filter = spanned([](auto& ctx) { _val(ctx).filter = _attr(ctx); });
auto const inline_span = spanned([](auto& ctx) { _val(ctx).span = span_of(ctx); });
auto const merge_item_def =
    (x3::eps[inline_reset] >>
     ((kwq("stream") >> ident[inline_label] >> tok("=", "=>") >> ident[inline_name] >>
       -(tq(".", ".") >> kw("where") >> tok("(") >> expr[inline_filter] >> tok(")"))) |
      ident[inline_name]))[inline_span];
auto const join_item_def =
    (x3::eps[inline_reset] >>
     ((kwq("stream") >> ident[inline_label] >> tok("=", "=>") >> ident[inline_name] >>
       -(tq(".", ".") >> kw("on") >> tok("(") >> expr[inline_filter] >> tok(")"))) |
      ident[inline_name]))[inline_span];

auto const step_reset = spanned([](auto& ctx) { _val(ctx) = SequenceStep{}; });
auto const step_alias = spanned([](auto& ctx) { _val(ctx).alias = _attr(ctx); });
auto const step_type = spanned([](auto& ctx) {
    _val(ctx).type = _attr(ctx);
    _val(ctx).type_span = span_of(ctx);
});
auto const step_where = spanned([](auto& ctx) { _val(ctx).where = _attr(ctx); });
auto const step_within = spanned([](auto& ctx) { _val(ctx).within = _attr(ctx); });
auto const step_span = spanned([](auto& ctx) { _val(ctx).span = span_of(ctx); });
auto const seq_step_def = (x3::eps[step_reset] >> ident[step_alias] >> tok(":", "=") >> ident[step_type] >>
                           -(kwq("where") >> filter_expr[step_where]) >>
                           -(tq(".", ".") >> kw("within") >> tok("(") >> expr[step_within] >> tok(")")))[step_span];

// ---------------------------------------------------------------- stream operators (§8)

auto set_op(OpKind kind, std::string_view name) {
    return spanned([kind, name](auto& ctx) {
        StreamOp op;
        op.kind = kind;
        op.name = std::string(name);
        _val(ctx) = std::move(op);
    });
}
auto const op_expr = spanned([](auto& ctx) {
    Arg a;
    a.value = _attr(ctx);
    _val(ctx).args.push_back(std::move(a));
});
auto const op_arg = spanned([](auto& ctx) { _val(ctx).args.push_back(_attr(ctx)); });
auto const op_span = spanned([](auto& ctx) {
    _val(ctx) = _attr(ctx);
    _val(ctx).span = span_of(ctx);
});

/// `.name(expr)`
auto op1(std::string_view name, OpKind kind) {
    return kw(name)[set_op(kind, name)] >> tok("(") >> expr[op_expr] >> tok(")");
}
/// `.name(arg, name: arg, ...)`, possibly empty.
auto opn(std::string_view name, OpKind kind) {
    return kw(name)[set_op(kind, name)] >> tok("(") >> -(call_arg[op_arg] % tok(",")) >> tok(")");
}

auto const emit_as = spanned([](auto& ctx) {
    _val(ctx).emit_as = _attr(ctx);
    _val(ctx).emit_as_span = span_of(ctx);
});
auto const not_type = spanned([](auto& ctx) {
    _val(ctx).not_type = _attr(ctx);
    _val(ctx).not_type_span = span_of(ctx);
});
auto const not_where = spanned([](auto& ctx) { _val(ctx).not_where = _attr(ctx); });
auto const pattern_name = spanned([](auto& ctx) { _val(ctx).pattern_name = _attr(ctx); });
auto const pattern_lambda = spanned([](auto& ctx) {
    if (_attr(ctx)->kind != ExprKind::Lambda) {
        _pass(ctx) = false;
        return;
    }
    Arg a;
    a.value = _attr(ctx);
    _val(ctx).args.push_back(std::move(a));
});
auto const pattern_body = spanned([](auto& ctx) { _val(ctx).pattern_expr = _attr(ctx); });
auto const strategy_name = spanned([](auto& ctx) {
    Arg a;
    a.value = make_ident(_attr(ctx), span_of(ctx));
    _val(ctx).args.push_back(std::move(a));
});
auto const fork_push = spanned([](auto& ctx) { _val(ctx).fork_paths.push_back(_attr(ctx)); });

auto const stream_op_def = deep(stream_op_inner);
auto const stream_op_inner_def = dot_op | followed_by;
auto const dot_op_def = (tq(".", ".") >> op_body)[op_span];
auto const op_body_def =
     (op1("where", OpKind::Where) | opn("emit", OpKind::Emit) |
      (kw("emit")[set_op(OpKind::Emit, "emit")] >> kwq("as") >> ident[emit_as] >> tok("(") >>
       -(call_arg[op_arg] % tok(",")) >> tok(")")) |
      (kw("select")[set_op(OpKind::Select, "select")] >> tok("(") >> -(select_item[op_arg] % tok(",")) >> tok(")")) |
      opn("window", OpKind::Window) | opn("aggregate", OpKind::Aggregate) | op1("having", OpKind::Having) |
      opn("partition_by", OpKind::PartitionBy) | op1("within", OpKind::Within) |
      (kw("not")[set_op(OpKind::Not, "not")] >> tok("(") >> ident[not_type] >> -(kwq("where") >> expr[not_where]) >>
       tok(")")) |
      opn("trend_aggregate", OpKind::TrendAggregate) | opn("print", OpKind::Print) | opn("log", OpKind::Log) |
      opn("to", OpKind::To) | opn("distinct", OpKind::Distinct) | op1("limit", OpKind::Limit) |
      opn("first", OpKind::First) | op1("filter", OpKind::Filter) | op1("process", OpKind::Process) |
      (kw("pattern")[set_op(OpKind::Pattern, "pattern")] >> tok("(") >> ident[pattern_name] >> tok(":", "=") >>
       (expr[pattern_lambda] | p_or[pattern_body]) >> tok(")")) |
      op1("on", OpKind::On) | opn("context", OpKind::Context) | opn("watermark", OpKind::Watermark) |
      op1("allowed_lateness", OpKind::AllowedLateness) | opn("forecast", OpKind::Forecast) |
      opn("enrich", OpKind::Enrich) | opn("score", OpKind::Score) |
      (kw("order_by")[set_op(OpKind::OrderBy, "order_by")] >> tok("(") >> (order_item[op_arg] % tok(",")) >>
       tok(")")) |
      op1("map", OpKind::Map) | opn("tap", OpKind::Tap) | opn("collect", OpKind::Collect) |
      op1("on_error", OpKind::OnError) |
      (kw("fork")[set_op(OpKind::Fork, "fork")] >> tok("(") >> (fork_path[fork_push] % tok(",")) >> tok(")")) |
      opn("any", OpKind::Any) | opn("all", OpKind::All) | opn("concurrent", OpKind::Concurrent) |
      (kw("strategy")[set_op(OpKind::Strategy, "strategy")] >> tok("(") >> ident[strategy_name] >> tok(")")));

auto const fork_name = spanned([](auto& ctx) {
    _val(ctx).first = _attr(ctx);
    _val(ctx).second.clear();
});
auto const fork_op = spanned([](auto& ctx) { _val(ctx).second.push_back(_attr(ctx)); });
auto const fork_path_def = ident[fork_name] >> tok(":", "=") >> +dot_op[fork_op];

auto const fb_start = spanned([](auto& ctx) {
    StreamOp op;
    op.kind = OpKind::FollowedBy;
    op.name = "->";
    _val(ctx) = std::move(op);
});
auto const fb_all = spanned([](auto& ctx) { _val(ctx).step.all = true; });
auto const fb_type = spanned([](auto& ctx) {
    _val(ctx).step.type = _attr(ctx);
    _val(ctx).step.type_span = span_of(ctx);
});
auto const fb_where = spanned([](auto& ctx) { _val(ctx).step.where = _attr(ctx); });
auto const fb_alias = spanned([](auto& ctx) {
    _val(ctx).step.alias = _attr(ctx);
    _val(ctx).step.alias_span = span_of(ctx);
});
auto const fb_span = spanned([](auto& ctx) {
    _val(ctx).span = span_of(ctx);
    _val(ctx).step.span = _val(ctx).span;
});
auto const followed_by_def = (tq("->")[fb_start] >> -kwq("all")[fb_all] >> ident[fb_type] >>
                              -(kwq("where") >> filter_expr[fb_where]) >> -(kwq("as") >> ident[fb_alias]))[fb_span];

// ---------------------------------------------------------------- `.pattern(...)` bodies (§11)

/// Folds `a OP b OP c` into one node of `kind`; a single operand passes through.
template <class Node>
auto fold_into(typename Node::Kind kind) {
    return spanned([kind](auto& ctx) {
        auto& items = _attr(ctx);
        if (items.size() == 1) {
            _val(ctx) = items.front();
            return;
        }
        Node n;
        n.kind = kind;
        n.span = {items.front().span.begin, items.back().span.end};
        n.children = items;
        _val(ctx) = std::move(n);
    });
}
/// A `NOT x` node over its one operand.
template <class Node>
auto not_node() {
    return spanned([](auto& ctx) {
        Node n;
        n.kind = Node::Kind::Not;
        n.span = span_of(ctx);
        n.children = {_attr(ctx)};
        _val(ctx) = std::move(n);
    });
}
auto const p_not = not_node<PatternOpExpr>();
auto const p_chain = spanned([](auto& ctx) {
    PatternOpExpr p;
    p.kind = PatternOpExpr::Kind::Chain;
    p.span = span_of(ctx);
    p.chain = _attr(ctx);
    _val(ctx) = std::move(p);
});
auto const p_or_def = deep(p_or_inner);
auto const p_or_inner_def = p_or_list[fold_into<PatternOpExpr>(PatternOpExpr::Kind::Or)];
auto const p_or_list_def = p_and % kwq("or");
auto const p_and_def = p_and_list[fold_into<PatternOpExpr>(PatternOpExpr::Kind::And)];
auto const p_and_list_def = p_xor % kwq("and");
auto const p_xor_def = p_xor_list[fold_into<PatternOpExpr>(PatternOpExpr::Kind::Xor)];
auto const p_xor_list_def = p_un % kwq("xor");
auto const p_un_def = (kwq("not") >> p_prim)[p_not] | p_prim[pass];
auto const p_prim_def = (tq("(") >> p_or >> tok(")"))[pass] | (ident % tq("->"))[p_chain];

// ---------------------------------------------------------------- named SASE+ patterns (§10)

auto const sase_not_node = not_node<SaseExpr>();
auto const sase_seq = spanned([](auto& ctx) {
    SaseExpr s;
    s.kind = SaseExpr::Kind::Seq;
    s.span = span_of(ctx);
    s.children = _attr(ctx);
    _val(ctx) = std::move(s);
});
auto const ref_reset = spanned([](auto& ctx) { _val(ctx) = SaseExpr{}; });
auto const ref_negated = spanned([](auto& ctx) { _val(ctx).negated = true; });
auto const ref_type = spanned([](auto& ctx) {
    _val(ctx).type = _attr(ctx);
    _val(ctx).type_span = span_of(ctx);
});
auto kleene(char k) {
    return spanned([k](auto& ctx) { _val(ctx).kleene = k; });
}
auto const ref_where = spanned([](auto& ctx) { _val(ctx).where = _attr(ctx); });
auto const ref_alias = spanned([](auto& ctx) {
    _val(ctx).alias = _attr(ctx);
    _val(ctx).alias_span = span_of(ctx);
});
auto const ref_span = spanned([](auto& ctx) { _val(ctx).span = span_of(ctx); });

auto const sase_or_def = deep(sase_or_inner);
auto const sase_or_inner_def = sase_or_list[fold_into<SaseExpr>(SaseExpr::Kind::Or)];
auto const sase_or_list_def = sase_and % kwq("OR");
auto const sase_and_def = sase_and_list[fold_into<SaseExpr>(SaseExpr::Kind::And)];
auto const sase_and_list_def = sase_not % kwq("AND");
auto const sase_not_def = (kwq("NOT") >> sase_primary)[sase_not_node] | sase_primary[pass];
auto const sase_primary_def = named("pattern element", sase_primary_inner);
auto const sase_primary_inner_def = (kwq("SEQ") >> tq("(") >> (seq_item % tok(",")) >> tok(")"))[sase_seq] |
                                    (tq("(") >> sase_or >> tok(")"))[pass] | event_ref[pass];
auto const ref_body = ident[ref_type] >> -(tq("+")[kleene('+')] | tq("*")[kleene('*')] | tq("?", ".")[kleene('?')]) >>
                      -(kwq("where") >> filter_expr[ref_where]) >> -(kwq("as") >> ident[ref_alias]);
auto const seq_item_def = (x3::eps[ref_reset] >> -kwq("NOT")[ref_negated] >> ref_body)[ref_span];
auto const event_ref_def = (x3::eps[ref_reset] >> ref_body)[ref_span];

// ---------------------------------------------------------------- statements (§4, §12)

auto const mk_field = spanned([](auto& ctx) {
    EventField f;
    f.name = at_c<0>(_attr(ctx));
    f.name_span = name_span(span_of(ctx), f.name);
    f.type = at_c<1>(_attr(ctx));
    if (f.type.kind == TypeExpr::Kind::Optional && f.type.args.size() == 1) {
        TypeExpr inner = f.type.args.front();
        f.type = std::move(inner);
        f.optional = true;
    }
    _val(ctx) = std::move(f);
});
auto const event_field_def = (ident >> tok(":", "=") >> type_)[mk_field];
auto const mk_param = spanned([](auto& ctx) {
    Param p;
    p.name = at_c<0>(_attr(ctx));
    p.name_span = name_span(span_of(ctx), p.name);
    p.type = at_c<1>(_attr(ctx));
    _val(ctx) = std::move(p);
});
auto const param_def = (ident >> tok(":", "=") >> type_)[mk_param];
auto const block_def = deep(block_inner);
auto const block_inner_def = indent_tok() >> +statement >> dedent_tok();

auto const statement_def = named("statement", statement_inner);
auto const statement_inner_def = context_decl | connector_decl | stream_decl | pattern_decl | event_decl | type_decl |
                                 var_decl | const_decl | fn_decl | config_block | import_stmt | if_stmt | for_stmt |
                                 while_stmt | return_stmt | break_stmt | continue_stmt | emit_stmt | assign_stmt |
                                 expr_stmt;

auto const ctx_core = spanned([](auto& ctx) { node<ContextDecl>(ctx).cores.push_back(_attr(ctx)); });
auto const context_decl_def = kw("context")[start<ContextDecl>()] >> ident[decl_name<ContextDecl>()] >>
                              -(tq("(") >> kw("cores") >> tok(":", "=") >> tok("[") >> (int_lit[ctx_core] % tok(",")) >>
                                tok("]") >> tok(")"));

auto const conn_type = spanned([](auto& ctx) { node<ConnectorDecl>(ctx).type = _attr(ctx); });
auto const conn_param = spanned([](auto& ctx) { node<ConnectorDecl>(ctx).params.push_back(_attr(ctx)); });
auto const connector_decl_def = kw("connector")[start<ConnectorDecl>()] >> ident[decl_name<ConnectorDecl>()] >>
                                tok("=", "=>") >> ident[conn_type] >> tok("(") >> -(kv_param[conn_param] % tok(",")) >>
                                tok(")");

auto const stream_type = spanned([](auto& ctx) { node<StreamDecl>(ctx).type = _attr(ctx); });
auto const stream_source = spanned([](auto& ctx) { node<StreamDecl>(ctx).source = _attr(ctx); });
auto const stream_push_op = spanned([](auto& ctx) { node<StreamDecl>(ctx).ops.push_back(_attr(ctx)); });
auto const stream_decl_def = kw("stream")[start<StreamDecl>()] >> ident[decl_name<StreamDecl>()] >>
                             -(tq(":", "=") >> type_[stream_type]) >> tok("=", "=>") >> source[stream_source] >>
                             *stream_op[stream_push_op];

auto const pat_expr = spanned([](auto& ctx) { node<PatternDecl>(ctx).expr = _attr(ctx); });
auto const pat_within = spanned([](auto& ctx) { node<PatternDecl>(ctx).within = _attr(ctx); });
auto const pat_partition = spanned([](auto& ctx) {
    node<PatternDecl>(ctx).partition_by = _attr(ctx);
    node<PatternDecl>(ctx).partition_span = span_of(ctx);
});
auto const pat_strategy = spanned([](auto& ctx) {
    node<PatternDecl>(ctx).strategy = _attr(ctx);
    node<PatternDecl>(ctx).strategy_span = span_of(ctx);
});
auto const pattern_decl_def = kw("pattern")[start<PatternDecl>()] >> ident[decl_name<PatternDecl>()] >>
                              tok("=", "=>") >> sase_or[pat_expr] >> -(kwq("within") >> literal[pat_within]) >>
                              -(kwq("partition") >> kw("by") >> ident[pat_partition]) >>
                              -(kwq("strategy") >> ident[pat_strategy]);

auto const ev_extends = spanned([](auto& ctx) { node<EventDecl>(ctx).extends = _attr(ctx); });
auto const ev_field = spanned([](auto& ctx) { node<EventDecl>(ctx).fields.push_back(_attr(ctx)); });
auto const ev_clear = spanned([](auto& ctx) { node<EventDecl>(ctx).fields.clear(); });
auto const event_decl_def = kw("event")[start<EventDecl>()] >> ident[decl_name<EventDecl>()] >>
                            -(kwq("extends") >> ident[ev_extends]) >> tok(":", "=") >>
                            ((indent_tok() >> +event_field[ev_field] >> dedent_tok()) |
                             (x3::eps[ev_clear] >> +event_field[ev_field]));

auto const td_type = spanned([](auto& ctx) { node<TypeDecl>(ctx).type = _attr(ctx); });
auto const type_decl_def =
    kw("type")[start<TypeDecl>()] >> ident[decl_name<TypeDecl>()] >> tok("=", "=>") >> type_[td_type];

auto var_kind(VarDecl::Kind kind) {
    return spanned([kind](auto& ctx) {
        start<VarDecl>().f(ctx);
        node<VarDecl>(ctx).kind = kind;
    });
}
auto const var_type = spanned([](auto& ctx) { node<VarDecl>(ctx).type = _attr(ctx); });
auto const var_value = spanned([](auto& ctx) { node<VarDecl>(ctx).value = _attr(ctx); });
auto const var_decl_def = (kw("let")[var_kind(VarDecl::Kind::Let)] | kw("var")[var_kind(VarDecl::Kind::Var)]) >>
                          ident[decl_name<VarDecl>()] >> -(tq(":", "=") >> type_[var_type]) >> tok("=", "=>") >>
                          expr[var_value];
auto const const_decl_def = kw("const")[var_kind(VarDecl::Kind::Const)] >> ident[decl_name<VarDecl>()] >>
                            -(tq(":", "=") >> type_[var_type]) >> tok("=", "=>") >> expr[var_value];

auto const fn_param = spanned([](auto& ctx) { node<FnDecl>(ctx).params.push_back(_attr(ctx)); });
auto const fn_ret = spanned([](auto& ctx) { node<FnDecl>(ctx).ret = _attr(ctx); });
auto const fn_body = spanned([](auto& ctx) { node<FnDecl>(ctx).body = _attr(ctx); });
auto const fn_decl_def = kw("fn")[start<FnDecl>()] >> ident[decl_name<FnDecl>()] >> tok("(") >>
                         -(param[fn_param] % tok(",")) >> tok(")") >> -(tq("->") >> type_[fn_ret]) >> tok(":", "=") >>
                         block[fn_body];

auto const cfg_default = spanned([](auto& ctx) {
    node<ConfigBlock>(ctx).name = "default";
    node<ConfigBlock>(ctx).name_span = _val(ctx)->span;
});
auto const cfg_item = spanned([](auto& ctx) { node<ConfigBlock>(ctx).items.push_back(_attr(ctx)); });
auto const config_block_def =
    kw("config")[start<ConfigBlock>()] >>
    ((ident[decl_name<ConfigBlock>()] >> tok("{") >> *(kv_param[cfg_item] >> -tq(",")) >> tok("}")) |
     (tok(":", "=")[cfg_default] >> indent_tok() >> +(kv_param[cfg_item] >> -tq(",")) >> dedent_tok()));

auto const import_path = spanned([](auto& ctx) { node<ImportStmt>(ctx).path = _attr(ctx)->text; });
auto const import_alias = spanned([](auto& ctx) { node<ImportStmt>(ctx).alias = _attr(ctx); });
auto const import_stmt_def =
    kw("import")[start<ImportStmt>()] >> string_lit[import_path] >> -(kwq("as") >> ident[import_alias]);

auto const if_cond = spanned([](auto& ctx) { node<IfStmt>(ctx).conds.push_back(_attr(ctx)); });
auto const if_block = spanned([](auto& ctx) { node<IfStmt>(ctx).blocks.push_back(_attr(ctx)); });
auto const if_stmt_def = kw("if")[start<IfStmt>()] >> expr[if_cond] >> tok(":", "=") >> block[if_block] >>
                         *(kwq("elif") >> expr[if_cond] >> tok(":", "=") >> block[if_block]) >>
                         -(kwq("else") >> tok(":", "=") >> block[if_block]);

auto const for_var = spanned([](auto& ctx) {
    node<ForStmt>(ctx).var = _attr(ctx);
    node<ForStmt>(ctx).var_span = span_of(ctx);
});
auto const for_iter = spanned([](auto& ctx) { node<ForStmt>(ctx).iterable = _attr(ctx); });
auto const for_body = spanned([](auto& ctx) { node<ForStmt>(ctx).body = _attr(ctx); });
auto const for_stmt_def = kw("for")[start<ForStmt>()] >> ident[for_var] >> kw("in") >> expr[for_iter] >>
                          tok(":", "=") >> block[for_body];

auto const while_cond = spanned([](auto& ctx) { node<WhileStmt>(ctx).cond = _attr(ctx); });
auto const while_body = spanned([](auto& ctx) { node<WhileStmt>(ctx).body = _attr(ctx); });
auto const while_stmt_def =
    kw("while")[start<WhileStmt>()] >> expr[while_cond] >> tok(":", "=") >> block[while_body];

auto const return_value = spanned([](auto& ctx) { node<ReturnStmt>(ctx).value = _attr(ctx); });
auto const return_stmt_def = kw("return")[start<ReturnStmt>()] >> -(same_line >> expr[return_value]);
auto const break_stmt_def = kw("break")[start<BreakStmt>()];
auto const continue_stmt_def = kw("continue")[start<ContinueStmt>()];

auto const emit_type = spanned([](auto& ctx) {
    node<EmitStmt>(ctx).type = _attr(ctx);
    node<EmitStmt>(ctx).type_span = span_of(ctx);
});
auto const emit_field = spanned([](auto& ctx) { node<EmitStmt>(ctx).fields.push_back(_attr(ctx)); });
auto const emit_stmt_def = kw("emit")[start<EmitStmt>()] >> ident[emit_type] >> tok("(") >>
                           -(named_expr[emit_field] % tok(",")) >> tok(")");

auto const mk_assign = spanned([](auto& ctx) {
    auto s = std::make_shared<Stmt>();
    AssignStmt a;
    a.name = at_c<0>(_attr(ctx));
    s->span = name_span(span_of(ctx), a.name);
    a.name_span = s->span;
    a.value = at_c<1>(_attr(ctx));
    s->node = std::move(a);
    _val(ctx) = s;
});
auto const assign_stmt_def = (ident >> tq(":=") >> expr)[mk_assign];
auto const mk_expr_stmt = spanned([](auto& ctx) {
    auto s = std::make_shared<Stmt>();
    s->span = _attr(ctx)->span;
    s->node = ExprStmt{_attr(ctx)};
    _val(ctx) = s;
});
// A statement starting with a declaration keyword is a broken declaration, not an expression
// statement: refusing it keeps the error at the declaration's real problem.
auto const decl_keyword = kwq("let") | kwq("var") | kwq("const") | kwq("stream") | kwq("pattern") | kwq("event") |
                          kwq("fn") | kwq("connector") | kwq("context") | kwq("import") | kwq("config") |
                          kwq("type") | kwq("for") | kwq("while") | kwq("return") | kwq("break") | kwq("continue") |
                          (kwq("emit") >> !tq("("));
auto const expr_stmt_def = (!decl_keyword >> expr)[mk_expr_stmt];

auto const prog_push = spanned([](auto& ctx) { _val(ctx).statements.push_back(_attr(ctx)); });
auto const program_def = *statement[prog_push] >> end_of_input;

BOOST_SPIRIT_DEFINE(type_, type_inner, base_type, base_type_inner, config_value, config_value_inner, kv_param,
                    named_expr, select_item, order_item, int_lit, source, source_alts, from_src, merge_src, join_src, seq_src,
                    timer_src, all_src, alias_src, name_src, merge_item, join_item, seq_step, stream_op,
                    stream_op_inner, dot_op, op_body, followed_by, fork_path, p_or, p_or_inner, p_or_list, p_and, p_and_list)
BOOST_SPIRIT_DEFINE(p_xor, p_xor_list, p_un, p_prim, sase_or, sase_or_inner, sase_or_list, sase_and, sase_and_list,
                    sase_not, sase_primary, sase_primary_inner, seq_item, event_ref, event_field, param, block,
                    block_inner, statement_inner, context_decl, connector_decl, stream_decl, pattern_decl,
                    event_decl, type_decl, var_decl, const_decl, fn_decl, config_block, import_stmt, if_stmt,
                    for_stmt, while_stmt, return_stmt, break_stmt, continue_stmt, emit_stmt, assign_stmt, expr_stmt,
                    program)

}  // namespace

BOOST_SPIRIT_DEFINE(statement)
BOOST_SPIRIT_INSTANTIATE(statement_type, iterator_type, context_type)

// ---------------------------------------------------------------- error reporting

namespace {

constexpr std::string_view kOperatorNames[] = {
    "where",    "select",  "emit",         "window",   "aggregate",        "having",   "partition_by",
    "within",   "not",     "trend_aggregate", "print", "log",              "to",       "distinct",
    "limit",    "first",   "filter",       "process",  "pattern",          "on",       "context",
    "watermark", "allowed_lateness", "forecast", "enrich", "score",        "order_by", "map",
    "tap",      "collect", "on_error",     "fork",     "any",              "all",      "concurrent",
    "strategy",
};


/// Length of the UTF-8 sequence at p, or 0 when it is not valid UTF-8.
size_t utf8_length(const char* p, const char* e) {
    auto c = static_cast<unsigned char>(*p);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || static_cast<size_t>(e - p) < n) return 0;
    for (size_t i = 1; i < n; ++i)
        if ((static_cast<unsigned char>(p[i]) & 0xC0) != 0x80) return 0;
    return n;
}

/// The token at p as the user would name it: `'>'`, `'wher'`, `end of input`.
std::string describe_token(const char* p, const char* e) {
    if (p >= e) return "end of input";
    if (*p == SourceFile::kIndent) return "indented block";
    if (*p == SourceFile::kDedent) return "end of block";
    const char* q = p;
    if (is_ident_char(*p)) {
        while (q != e && (is_ident_char(*q) || (is_digit(*p) && *q == '.')) && q - p < 40) ++q;
        return "'" + std::string(p, q) + "'";
    }
    if (*p == '"') {
        ++q;
        while (q != e && *q != '"' && *q != '\n' && q - p < 30) ++q;
        if (q != e && *q == '"') ++q;
        return "string " + std::string(p, q);
    }
    static constexpr std::string_view kTwo[] = {"==", "!=", "<=", ">=", "->", "=>", ":=", "..", "**", "<<",
                                                ">>", "?.", "?" "?", "+=", "-=", "*=", "/=", "//", "&&", "||"};
    for (std::string_view t : kTwo)
        if (static_cast<size_t>(e - p) >= 2 && std::string_view(p, 2) == t) return "'" + std::string(t) + "'";
    auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c < 0x7F) return "'" + std::string(1, *p) + "'";
    size_t n = c >= 0x80 ? utf8_length(p, e) : 0;
    if (n > 0) return "'" + std::string(p, n) + "'";
    static constexpr char kHex[] = "0123456789ABCDEF";
    return std::string("byte 0x") + kHex[c >> 4] + kHex[c & 0xF];
}

std::string join_expected(const std::vector<std::string>& items) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
        out += items[i];
    }
    return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

void report_failure(const ParseState& st, const char* stop, DiagnosticBag& diags) {
    if (st.fatal) {
        SourceSpan span{st.offset(st.fatal_pos), st.offset(st.fatal_pos) + 1};
        std::string hint;
        if (st.fatal_message == "unterminated string literal") hint = "close the string with `\"`";
        diags.error(span, "parse", st.fatal_message, hint);
        return;
    }
    const char* pos = st.furthest ? st.furthest : skip_blank(stop, st.end);
    const char* anchor = pos;
    if (pos >= st.end) {
        // At end of input: just after the last character the user wrote.
        anchor = st.end;
        while (anchor > st.base && (anchor[-1] == ' ' || anchor[-1] == '\t' || anchor[-1] == '\r' ||
                                    anchor[-1] == '\n' || anchor[-1] == SourceFile::kIndent ||
                                    anchor[-1] == SourceFile::kDedent))
            --anchor;
    }
    SourceSpan span{st.offset(anchor), st.offset(anchor) + (pos < st.end ? 1u : 0u)};
    if (static_cast<size_t>(st.end - pos) >= 2 && pos[0] == '/' && pos[1] == '*') {
        diags.error(span, "parse", "unterminated block comment", "close the comment with `*/`");
        return;
    }
    std::string found = describe_token(pos, st.end);
    std::string hint;

    // `x += 1`: the furthest failure is the `=` after a binary operator; name the pair.
    if (found == "'='" && pos > st.base && std::string_view("+-*/%").find(pos[-1]) != std::string_view::npos) {
        span = {st.offset(pos - 1), st.offset(pos + 1)};
        diags.error(span, "parse", "unexpected '" + std::string(pos - 1, pos + 1) + "'",
                    "VPL has no compound assignment; write `x := x + e`");
        return;
    }

    // `.wher(` after a stream: name the operator and list the known ones.
    if (contains(st.expected, "'where'") && contains(st.expected, "'emit'") && pos < st.end && is_ident_start(*pos)) {
        const char* q = pos;
        while (q != st.end && is_ident_char(*q)) ++q;
        std::string name(pos, q);
        std::string known;
        std::vector<std::string_view> names(std::begin(kOperatorNames), std::end(kOperatorNames));
        for (std::string_view op : names) {
            if (!known.empty()) known += ", ";
            known += op;
        }
        std::string_view best = closest_name(name, names);
        if (!best.empty()) hint = "did you mean `" + std::string(best) + "`?";
        diags.error(span, "parse", "unknown stream operator `." + name + "`; known operators: " + known, hint);
        return;
    }

    if (found == "'?" "?'")
        hint = "VPL has no `??` operator; use coalesce(a, b)";
    else if (found == "'+='" || found == "'-='" || found == "'*='" || found == "'/='")
        hint = "VPL has no compound assignment; write `x := x + e`";
    else if (found == "'//'")
        hint = "`//` is not a comment in VPL; use `#`";
    else if (found == "'''")
        hint = "VPL strings use double quotes";
    else if ((found == "'<'" || found == "'>'" || found == "'<='" || found == "'>='" || found == "'=='" ||
              found == "'!='") &&
             !contains(st.expected, "expression"))
        hint = "comparisons do not chain; combine them with `and`";
    else if (found == "'&&'" || found == "'||'")
        hint = "use `and` / `or`";

    std::string message = st.expected.empty() ? "unexpected " + found
                                               : "expected " + join_expected(st.expected) + ", found " + found;
    diags.error(span, "parse", message, hint);
}

}  // namespace

}  // namespace varpulis::frontend::grammar

namespace varpulis::frontend {

std::optional<Program> parse_program(const SourceFile& file, DiagnosticBag& diags) {
    namespace g = grammar;
    try {
        const std::string& text = file.text();
        g::ParseState st;
        st.base = text.data();
        st.end = text.data() + text.size();
        g::Skipper const skipper{};
        auto const skip_ctx = g::x3::make_context<g::x3::skipper_tag>(skipper);
        auto const ctx = g::x3::make_context<g::state_tag>(st, skip_ctx);
        static_assert(std::is_same_v<std::remove_const_t<decltype(ctx)>, g::context_type>,
                      "the instantiated context type must match the one used here");
        Program prog;
        const char* first = st.base;
        bool ok = g::program.parse(first, st.end, ctx, g::x3::unused, prog);
        if (ok && !st.fatal) return prog;
        g::report_failure(st, first, diags);
        return std::nullopt;
    } catch (const std::exception& e) {
        diags.error({}, "parse", std::string("internal parser error: ") + e.what());
    } catch (...) {
        diags.error({}, "parse", "internal parser error");
    }
    return std::nullopt;
}

}  // namespace varpulis::frontend
