#pragma once
// Drives one runtime operator directly: compiles a VPL program, sets up the Runtime the
// operator needs, and builds input rows of a routing schema by field name.

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "frontend/diagnostic.hpp"
#include "ir/compiler.hpp"
#include "runtime/eval.hpp"
#include "runtime/row.hpp"
#include "runtime/value_io.hpp"

namespace varpulis::test_support {

struct FieldInit {
    std::string name;
    runtime::Value value;
};

inline runtime::Value I(int64_t v) { return runtime::Value::integer(v); }
inline runtime::Value F(double v) { return runtime::Value::floating(v); }

class PlanFixture {
public:
    explicit PlanFixture(const std::string& src) {
        comp_ = ir::compile_source("test.vpl", src, ir::CompileStage::Lower);
        if (!comp_->ok() || !comp_->plan) {
            ADD_FAILURE() << "compile failed:\n" << frontend::render_all(comp_->file, comp_->diags);
            return;
        }
        plan_ = &*comp_->plan;
        rt_.plan = plan_;
        rt_.heap = &heap_;
        rt_.interner = &interner_;
        run_global_inits(rt_);
    }

    const ir::Plan& plan() const { return *plan_; }
    runtime::Value S(const std::string& s) { return runtime::Value::string(heap_.make_string(s)); }

    /// Calls `make(stream plan, operator)` for the first operator of `kind` in `stream`.
    template <class Make>
    void for_operator(const std::string& stream, ir::OpKind kind, Make make) {
        if (!plan_) return;
        for (const auto& sp : plan_->streams) {
            if (sp.name != stream) continue;
            for (const auto& op : sp.ops)
                if (op.kind == kind) return make(sp, op);
        }
        ADD_FAILURE() << "no such operator in stream " << stream;
    }

    /// A row of routing type `type`; valid until clobber_input() or the next input_row().
    /// Returns false (with a test failure) for an unknown routing name.
    bool input_row(const std::string& type, int64_t ts, std::initializer_list<FieldInit> fields, runtime::Row& row) {
        int32_t schema = plan_->routing_schema(type);
        EXPECT_GE(schema, 0) << "unknown routing name " << type;
        if (schema < 0) return false;
        const ir::Schema& sc = plan_->schemas[static_cast<size_t>(schema)];
        input_.assign(sc.fields.size() + 1, runtime::Value());
        for (const auto& f : fields) {
            int slot = sc.slot_of(f.name);
            if (slot >= 0) input_[static_cast<size_t>(slot)] = f.value;
        }
        row = runtime::Row{input_.data(), schema, ts, interner_.intern(type), nullptr, 0};
        return true;
    }

    /// Row slots are only valid during an operator call: clobber them so an operator that kept
    /// a pointer instead of a copy shows up.
    void clobber_input() {
        for (auto& v : input_) v = runtime::Value::integer(-999);
    }

    /// Feeds one event to `op` (a matcher or anything with its on_event(row, out, scratch));
    /// returns every field of every row it produced, one string per row:
    /// `@ts name=value ...`, `-` for absent. Then clobbers the input row.
    template <class Op>
    std::vector<std::string> feed_lines(Op* op, const std::string& type, int64_t ts,
                                        std::initializer_list<FieldInit> fields) {
        std::vector<std::string> r;
        runtime::Row row;
        if (!op || !input_row(type, ts, fields, row)) return r;
        produced_.clear();
        op->on_event(row, produced_, scratch_);
        for (const runtime::Row& m : produced_) {
            const ir::Schema& sc = plan_->schemas[static_cast<size_t>(m.schema)];
            std::string s = "@" + std::to_string(m.ts);
            for (size_t i = 0; i < sc.fields.size(); ++i)
                s += " " + sc.fields[i] + "=" + (m.slots[i].present() ? runtime::to_display(m.slots[i]) : "-");
            r.push_back(s);
        }
        clobber_input();
        return r;
    }

protected:
    std::vector<runtime::Row> produced_;   // feed_lines(): the rows of the last event
    std::unique_ptr<ir::Compilation> comp_;
    const ir::Plan* plan_ = nullptr;
    runtime::Arena heap_;
    runtime::Interner interner_;
    runtime::Runtime rt_;
    runtime::Arena scratch_;
    std::vector<runtime::Value> input_;
};

}  // namespace varpulis::test_support
