#include "frontend/ast.hpp"

namespace varpulis::frontend {

const char* binary_op_text(BinaryOp op) {
    switch (op) {
        case BinaryOp::Or: return "or";
        case BinaryOp::And: return "and";
        case BinaryOp::Xor: return "xor";
        case BinaryOp::Eq: return "==";
        case BinaryOp::Ne: return "!=";
        case BinaryOp::Lt: return "<";
        case BinaryOp::Le: return "<=";
        case BinaryOp::Gt: return ">";
        case BinaryOp::Ge: return ">=";
        case BinaryOp::In: return "in";
        case BinaryOp::NotIn: return "not in";
        case BinaryOp::Is: return "is";
        case BinaryOp::BitOr: return "|";
        case BinaryOp::BitXor: return "^";
        case BinaryOp::BitAnd: return "&";
        case BinaryOp::Shl: return "<<";
        case BinaryOp::Shr: return ">>";
        case BinaryOp::Add: return "+";
        case BinaryOp::Sub: return "-";
        case BinaryOp::Mul: return "*";
        case BinaryOp::Div: return "/";
        case BinaryOp::Mod: return "%";
        case BinaryOp::Pow: return "**";
    }
    return "?";
}

}  // namespace varpulis::frontend
