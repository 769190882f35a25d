#pragma once
// Definition signatures: which saved state still fits a (possibly changed) program.

#include <cstdint>

#include "ir/plan.hpp"

namespace varpulis::runtime {

/// A 64-bit hash of everything that decides a stream's state layout and meaning: its inputs,
/// merge filters and every operator with its expressions (user functions they call included,
/// by body), windows, NFAs, joins and trend items, and the field layout of every schema those
/// read or write. Schemas, globals and functions are hashed by name and content, never by
/// index, so adding an unrelated stream or global does not change it. Deliberately
/// conservative: a new field read from a shared event type by another stream changes the
/// layout of the rows this stream buffers, and so its signature.
uint64_t stream_signature(const ir::Plan& plan, const ir::StreamPlan& stream);

/// Hash of global `index`'s name, mutability and initialiser: an immutable global keeps its
/// saved value only while its initialiser is unchanged.
uint64_t global_signature(const ir::Plan& plan, size_t index);

}  // namespace varpulis::runtime
