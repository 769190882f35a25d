#pragma once
// Private to jit/: kernels that differ only in constants compiled once. Two streams of the same
// shape over types of the same layout (multi_sensor's TemperatureReading and PressureReading
// loops, their tails after the window) generate the same IR but for a few numbers: a stream's
// index, a threshold. Their code is made once, by a function that takes those numbers as
// arguments, and each kernel becomes a call of it with its own.

#include <string>
#include <unordered_set>

namespace llvm {
class Module;
}  // namespace llvm

namespace varpulis::jit {

/// What merge_twin_functions() did.
struct TwinStats {
    size_t merged = 0;       // functions whose body another one's code now runs
    size_t shared = 0;       // functions made for a set of twins that differ in constants
    size_t parameters = 0;   // constants those take as arguments, in all
};

/// Among the kernels of `m` that the batch path calls at most once per batch or per closed
/// window (type loops, codegen::kFastCodegenAttribute and codegen::kFirstStageAttribute
/// kernels; a per-event kernel would pay a call more per event), finds the sets that are the
/// same instruction for instruction, operand for operand, but for integer and floating-point
/// constants in operands that may be values (not a switch case, an alloca size, a struct
/// index, an intrinsic's immediate or a memory intrinsic's length), and at most eight distinct
/// ones per set. Identical functions: the first keeps its body; the others become a tail call
/// of it when `kernels` holds their name (the engine looks them up), else their calls go to the
/// first and they are deleted. Sets that differ in constants: the first function's body moves
/// to a new external function `<first>_twins` (noinline) with one more parameter per
/// differing constant, and every member becomes a call of it with its own constants. Run
/// before the IR pipeline, on every compile thread's copy of a module alike (deterministic).
TwinStats merge_twin_functions(llvm::Module& m, const std::unordered_set<std::string>& kernels);

}  // namespace varpulis::jit
