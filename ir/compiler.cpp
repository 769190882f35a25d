#include "ir/compiler.hpp"

#include "frontend/parser.hpp"
#include "frontend/preprocess.hpp"
#include "ir/lower.hpp"

namespace varpulis::ir {

std::unique_ptr<Compilation> compile_source(std::string file_name, std::string text, CompileStage upto) {
    auto c = std::make_unique<Compilation>();
    c->file = frontend::SourceFile(std::move(file_name), std::move(text));
    if (!frontend::preprocess(c->file, c->diags)) return c;
    c->program = frontend::parse_program(c->file, c->diags);
    if (!c->program || c->diags.has_errors() || upto == CompileStage::Parse) return c;
    frontend::check_program(*c->program, c->diags, c->symbols);
    c->diags.sort_by_position();
    if (c->diags.has_errors() || upto == CompileStage::Check) return c;
    c->plan = lower_program(*c->program, c->symbols, c->diags);
#ifndef NDEBUG
    if (c->plan) {
        std::string bad = validate_plan(*c->plan);
        if (!bad.empty()) c->diags.error({}, "internal", "invalid plan: " + bad);
    }
#endif
    return c;
}

}  // namespace varpulis::ir
