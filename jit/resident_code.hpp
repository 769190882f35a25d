#pragma once
// Giving back the pages of LLVM's own machine code once a compile is done.

#include <cstddef>

namespace varpulis::jit {

/// Advises the kernel that the executable pages of the shared library holding `address_in_lib`
/// (libLLVM for the JIT) are not needed now: they stop counting in the process's resident set
/// and come back from the page cache (minor faults) when the next compile runs them. Only
/// read-execute file mappings are touched: they are never written, so nothing is lost;
/// relocated data (RELRO, .data) stays as it is. Returns the bytes the mappings had resident.
size_t release_library_code_pages(const void* address_in_lib);

}  // namespace varpulis::jit
