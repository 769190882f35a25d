// Binary operators: arithmetic and comparisons by kind pair, vp_binary_op for the rest.

#include "codegen/generator.hpp"

#include <llvm/IR/Constants.h>
#include <llvm/IR/Intrinsics.h>

namespace varpulis::codegen::detail {

Val Generator::call_binary(BinaryOp op, const Val& a, const Val& b) {
    llvm::Value* pa = spill(a);
    llvm::Value* pb = spill(b);
    llvm::Value* out = temp();
    b_.CreateCall(binary_, {b_.getInt32(static_cast<uint32_t>(op)), pa, pb, ctx_, out});
    return reload(out);
}

llvm::Value* Generator::pair_code(const Val& a, const Val& b) {
    return b_.CreateOr(b_.CreateShl(b_.CreateZExt(a.kind, i32_), 4), b_.CreateZExt(b.kind, i32_));
}

uint32_t Generator::pair(ValueKind a, ValueKind b) { return uint32_t{tag(a)} << 4 | tag(b); }

Val Generator::binary(const Expr& e) {
    Val a = gen(e.args[0].get());
    Val b = gen(e.args[1].get());
    switch (e.bop) {
        case BinaryOp::Add:
        case BinaryOp::Sub:
        case BinaryOp::Mul:
        case BinaryOp::Div:
        case BinaryOp::Mod: return arithmetic(e.bop, a, b);
        case BinaryOp::Eq:
        case BinaryOp::Ne:
        case BinaryOp::Lt:
        case BinaryOp::Le:
        case BinaryOp::Gt:
        case BinaryOp::Ge: return comparison(e.bop, a, b);
        default: return call_binary(e.bop, a, b);  // `**`, xor, strings, time arithmetic ...
    }
}

Val Generator::arithmetic(BinaryOp op, const Val& a, const Val& b) {
    Join j{block("arith.done"), {}};
    // Float `%` is fmod: the helper computes it, so Mod has no inline float path.
    const bool float_path = op != BinaryOp::Mod;
    llvm::BasicBlock* ints = block("arith.int");
    llvm::BasicBlock* nums = float_path ? block("arith.num") : nullptr;
    llvm::BasicBlock* slow = block("arith.slow");
    auto* sw = b_.CreateSwitch(pair_code(a, b), slow, 3);
    sw->addCase(b_.getInt32(pair(ValueKind::Int, ValueKind::Int)), ints);
    if (float_path) {
        sw->addCase(b_.getInt32(pair(ValueKind::Float, ValueKind::Float)), nums);
        sw->addCase(b_.getInt32(pair(ValueKind::Int, ValueKind::Float)), nums);
        sw->addCase(b_.getInt32(pair(ValueKind::Float, ValueKind::Int)), nums);
    }

    b_.SetInsertPoint(ints);
    llvm::Value* x = a.payload;
    llvm::Value* y = b.payload;
    switch (op) {
        case BinaryOp::Add: to(j, make(ValueKind::Int, b_.CreateAdd(x, y))); break;
        case BinaryOp::Sub: to(j, make(ValueKind::Int, b_.CreateSub(x, y))); break;
        case BinaryOp::Mul: to(j, make(ValueKind::Int, b_.CreateMul(x, y))); break;
        default: {
            // Div/Mod: /0 has no value; y == -1 avoids INT64_MIN / -1 (wraps, or 0 for %).
            llvm::BasicBlock* zero = block("arith.zero");
            llvm::BasicBlock* nonzero = block("arith.nonzero");
            llvm::BasicBlock* minus1 = block("arith.minus1");
            llvm::BasicBlock* divide = block("arith.divide");
            b_.CreateCondBr(b_.CreateICmpEQ(y, b_.getInt64(0)), zero, nonzero);
            b_.SetInsertPoint(zero);
            to(j, absent());
            b_.SetInsertPoint(nonzero);
            b_.CreateCondBr(b_.CreateICmpEQ(y, b_.getInt64(static_cast<uint64_t>(-1))), minus1, divide);
            b_.SetInsertPoint(minus1);
            to(j, make(ValueKind::Int, op == BinaryOp::Div ? b_.CreateSub(b_.getInt64(0), x) : b_.getInt64(0)));
            b_.SetInsertPoint(divide);
            to(j, make(ValueKind::Int, op == BinaryOp::Div ? b_.CreateSDiv(x, y) : b_.CreateSRem(x, y)));
            break;
        }
    }

    if (float_path) {
        b_.SetInsertPoint(nums);
        llvm::Value* fx = as_double(a);
        llvm::Value* fy = as_double(b);
        switch (op) {
            case BinaryOp::Add: to(j, floating(b_.CreateFAdd(fx, fy))); break;
            case BinaryOp::Sub: to(j, floating(b_.CreateFSub(fx, fy))); break;
            case BinaryOp::Mul: to(j, floating(b_.CreateFMul(fx, fy))); break;
            default: {
                // Division by (either) zero has no value; otherwise IEEE division.
                llvm::Value* z = b_.CreateFCmpOEQ(fy, llvm::ConstantFP::get(f64_, 0.0));
                llvm::Value* q = b_.CreateBitCast(b_.CreateFDiv(fx, fy), i64_);
                to(j, {b_.CreateSelect(z, b_.getInt8(0), b_.getInt8(tag(ValueKind::Float))),
                       b_.CreateSelect(z, b_.getInt64(0), q)});
                break;
            }
        }
    }

    b_.SetInsertPoint(slow);
    to(j, call_binary(op, a, b));
    return finish(j);
}

llvm::Value* Generator::trunc_f64(llvm::Value* f) { return b_.CreateUnaryIntrinsic(llvm::Intrinsic::trunc, f); }

llvm::Value* Generator::fptosi_sat(llvm::Value* f) {
    return b_.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {i64_, f64_}, {f});
}

llvm::Value* Generator::int_equals_float(llvm::Value* i, llvm::Value* f) {
    auto* two63 = llvm::ConstantFP::get(f64_, 9223372036854775808.0);
    auto* minus_two63 = llvm::ConstantFP::get(f64_, -9223372036854775808.0);
    llvm::Value* in_range = b_.CreateAnd(b_.CreateFCmpOGE(f, minus_two63), b_.CreateFCmpOLT(f, two63));
    llvm::Value* integral = b_.CreateFCmpOEQ(f, trunc_f64(f));
    llvm::Value* same = b_.CreateICmpEQ(fptosi_sat(f), i);
    return b_.CreateSelect(b_.CreateAnd(in_range, integral), same, b_.getFalse());
}

llvm::Value* Generator::compare_int_float(llvm::Value* i, llvm::Value* f) {
    auto c = [&](int v) { return b_.getInt32(static_cast<uint32_t>(v)); };
    auto* two63 = llvm::ConstantFP::get(f64_, 9223372036854775808.0);
    auto* minus_two63 = llvm::ConstantFP::get(f64_, -9223372036854775808.0);
    llvm::Value* t = trunc_f64(f);
    llvm::Value* ti = fptosi_sat(t);
    llvm::Value* r = b_.CreateSelect(b_.CreateFCmpOLT(f, t), c(1), c(0));
    r = b_.CreateSelect(b_.CreateFCmpOGT(f, t), c(-1), r);
    r = b_.CreateSelect(b_.CreateICmpSGT(i, ti), c(1), r);
    r = b_.CreateSelect(b_.CreateICmpSLT(i, ti), c(-1), r);
    r = b_.CreateSelect(b_.CreateFCmpOLT(f, minus_two63), c(1), r);
    r = b_.CreateSelect(b_.CreateFCmpOGE(f, two63), c(-1), r);
    return b_.CreateSelect(b_.CreateFCmpUNO(f, f), c(2), r);
}

llvm::Value* Generator::order_holds(BinaryOp op, llvm::Value* c) {
    auto k = [&](int v) { return b_.getInt32(static_cast<uint32_t>(v)); };
    switch (op) {
        case BinaryOp::Lt: return b_.CreateICmpEQ(c, k(-1));
        case BinaryOp::Le: return b_.CreateOr(b_.CreateICmpEQ(c, k(-1)), b_.CreateICmpEQ(c, k(0)));
        case BinaryOp::Gt: return b_.CreateICmpEQ(c, k(1));
        default: return b_.CreateOr(b_.CreateICmpEQ(c, k(0)), b_.CreateICmpEQ(c, k(1)));
    }
}

llvm::Value* Generator::compare_mixed(llvm::Value* i, llvm::Value* f, bool inline_code) {
    if (inline_code) return compare_int_float(i, f);
    llvm::Function* helper = m_.getFunction("vp_compare_int_float");
    if (!helper) {
        helper = declare("vp_compare_int_float", i32_, {i64_, f64_});
        // Pure: the optimiser may merge or drop calls like any other arithmetic.
        helper->setDoesNotAccessMemory();
        helper->setWillReturn();
    }
    return b_.CreateCall(helper, {i, f});
}

Val Generator::comparison(BinaryOp op, const Val& a, const Val& b) {
    const bool equality = op == BinaryOp::Eq || op == BinaryOp::Ne;
    const bool negate = op == BinaryOp::Ne;
    // A constant's kind is known here: only the kind pairs the operands can have get a case,
    // which is less IR for the optimiser and the code generator to go through (the optimiser
    // would drop the others, at the cost of looking at them).
    auto known = [](const Val& v) -> int {
        const auto* k = llvm::dyn_cast<llvm::ConstantInt>(v.kind);
        return k ? static_cast<int>(k->getZExtValue()) : -1;
    };
    const int ka = known(a), kb = known(b);
    auto may = [](int k, ValueKind kind) { return k < 0 || k == tag(kind); };
    auto possible = [&](ValueKind x, ValueKind y) { return may(ka, x) && may(kb, y); };
    // An int against a float with neither side constant goes through runtime::compare_int_float
    // (events rarely give a declared float field an int); with a constant side the inline
    // comparison folds to a few instructions.
    const bool mixed_inline = ka >= 0 || kb >= 0;
    Join j{block("cmp.done"), {}};
    struct Case {
        ValueKind x, y;
        const char* name;
    };
    std::vector<Case> cases{{ValueKind::Int, ValueKind::Int, "cmp.int"},
                            {ValueKind::Float, ValueKind::Float, "cmp.float"},
                            {ValueKind::Int, ValueKind::Float, "cmp.int_float"},
                            {ValueKind::Float, ValueKind::Int, "cmp.float_int"}};
    if (equality) cases.push_back({ValueKind::Bool, ValueKind::Bool, "cmp.bool"});
    std::vector<std::pair<Case, llvm::BasicBlock*>> live;
    for (const Case& c : cases)
        if (possible(c.x, c.y)) live.emplace_back(c, block(c.name));
    // Both kinds known and handled: no dispatch at all.
    const bool decided = ka >= 0 && kb >= 0 && live.size() == 1;
    llvm::BasicBlock* slow = decided ? nullptr : block("cmp.slow");
    if (decided) {
        b_.CreateBr(live[0].second);
    } else {
        // With one side's kind known (a constant), the other's alone picks the case: the
        // optimiser kept the shift and or of the pair code (`price > 50.0` in a filter).
        llvm::Value* code = kb >= 0   ? b_.CreateZExt(a.kind, i32_)
                            : ka >= 0 ? b_.CreateZExt(b.kind, i32_)
                                      : pair_code(a, b);
        auto* sw = b_.CreateSwitch(code, slow, static_cast<unsigned>(live.size()));
        for (const auto& [c, bb] : live)
            sw->addCase(b_.getInt32(kb >= 0 ? tag(c.x) : ka >= 0 ? tag(c.y) : pair(c.x, c.y)), bb);
    }
    auto result = [&](llvm::Value* bit) { to(j, boolean(negate ? b_.CreateNot(bit) : bit)); };

    for (const auto& [c, bb] : live) {
        b_.SetInsertPoint(bb);
        if (c.x == ValueKind::Int && c.y == ValueKind::Int) {
            switch (op) {
                case BinaryOp::Eq:
                case BinaryOp::Ne: result(b_.CreateICmpEQ(a.payload, b.payload)); break;
                case BinaryOp::Lt: result(b_.CreateICmpSLT(a.payload, b.payload)); break;
                case BinaryOp::Le: result(b_.CreateICmpSLE(a.payload, b.payload)); break;
                case BinaryOp::Gt: result(b_.CreateICmpSGT(a.payload, b.payload)); break;
                default: result(b_.CreateICmpSGE(a.payload, b.payload)); break;
            }
        } else if (c.x == ValueKind::Float && c.y == ValueKind::Float) {
            llvm::Value* x = as_f64(a.payload);
            llvm::Value* y = as_f64(b.payload);
            switch (op) {
                case BinaryOp::Eq:
                case BinaryOp::Ne:
                    // NaN equals NaN (values_equal); -0.0 equals 0.0.
                    result(b_.CreateOr(b_.CreateFCmpOEQ(x, y),
                                       b_.CreateAnd(b_.CreateFCmpUNO(x, x), b_.CreateFCmpUNO(y, y))));
                    break;
                // Ordered comparisons: false when either side is NaN, as kUnordered.
                case BinaryOp::Lt: result(b_.CreateFCmpOLT(x, y)); break;
                case BinaryOp::Le: result(b_.CreateFCmpOLE(x, y)); break;
                case BinaryOp::Gt: result(b_.CreateFCmpOGT(x, y)); break;
                default: result(b_.CreateFCmpOGE(x, y)); break;
            }
        } else if (c.x == ValueKind::Int) {
            if (equality && mixed_inline) {
                result(int_equals_float(a.payload, as_f64(b.payload)));
            } else {
                // values_equal(int, float) is exactly compare_int_float == 0.
                llvm::Value* r = compare_mixed(a.payload, as_f64(b.payload), mixed_inline);
                result(equality ? b_.CreateICmpEQ(r, b_.getInt32(0)) : order_holds(op, r));
            }
        } else if (c.x == ValueKind::Float) {
            if (equality && mixed_inline) {
                result(int_equals_float(b.payload, as_f64(a.payload)));
            } else {
                llvm::Value* r = compare_mixed(b.payload, as_f64(a.payload), mixed_inline);
                if (equality) {
                    result(b_.CreateICmpEQ(r, b_.getInt32(0)));
                } else {
                    llvm::Value* rc = b_.CreateSelect(b_.CreateICmpEQ(r, b_.getInt32(2)), r, b_.CreateNeg(r));
                    result(order_holds(op, rc));
                }
            }
        } else {
            result(b_.CreateICmpEQ(bool_bit(a), bool_bit(b)));
        }
    }

    if (slow) {
        b_.SetInsertPoint(slow);
        to(j, call_binary(op, a, b));
    }
    return finish(j);
}

}  // namespace varpulis::codegen::detail
