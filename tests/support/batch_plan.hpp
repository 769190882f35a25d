#pragma once
// A plan built directly around a list of expressions, for driving compiled kernels and the
// interpreter on the same IR (JIT tests and micro-benchmarks).

#include <string>
#include <vector>

#include "ir/plan.hpp"

namespace varpulis::test_support {

/// Stream 0 has one single-slot projection per expression, stream 1 one filter per
/// expression (each operator its own small kernel). Rows have `width` slots; `globals`
/// globals exist. Each stream ends in a `.limit`, which no chain kernel covers: a stream of
/// only filters and projections would fuse into one chain, and its operators would get no
/// kernels of their own to call one by one.
inline ir::Plan batch_plan(const std::vector<ir::ExprPtr>& exprs, size_t width, size_t globals) {
    ir::Plan plan;
    ir::Schema in;
    in.name = "In";
    for (size_t i = 0; i < width; ++i) in.fields.push_back("f" + std::to_string(i));
    ir::Schema out;
    out.name = "Out";
    out.kind = ir::SchemaKind::Closed;
    out.fields = {"r"};
    plan.schemas = {in, out};
    for (size_t g = 0; g < globals; ++g) plan.globals.push_back({"g" + std::to_string(g), true});

    ir::StreamPlan p;
    p.name = "P";
    p.id = 0;
    p.type_id = 0;
    p.inputs = {"In"};
    ir::StreamPlan f = p;
    f.name = "F";
    f.id = 1;
    for (const auto& e : exprs) {
        ir::Operator sel;
        sel.kind = ir::OpKind::Select;
        sel.in = 0;
        sel.out = 1;
        sel.exprs = {e};
        sel.names = {"r"};
        p.ops.push_back(sel);
        ir::Operator flt;
        flt.kind = ir::OpKind::Filter;
        flt.in = 0;
        flt.out = 0;
        flt.exprs = {e};
        f.ops.push_back(flt);
    }
    ir::Operator limit;
    limit.kind = ir::OpKind::Limit;
    limit.limit = 1;
    limit.in = limit.out = 1;
    p.ops.push_back(limit);
    limit.in = limit.out = 0;
    f.ops.push_back(limit);
    plan.streams = {p, f};
    plan.routes = {{0, 1}, {}};
    return plan;
}

}  // namespace varpulis::test_support
