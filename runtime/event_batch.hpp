#pragma once
// Input events laid out ahead of time as the engine's rows (docs/architecture.md, "Event rows"),
// so processing them is a loop over contiguous slots: Engine::prepare() fills a batch,
// Engine::process_batch() runs it.

#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "runtime/input_event.hpp"
#include "runtime/value.hpp"

namespace varpulis::runtime {

/// Events converted to the slot rows of their routing schema, in input order. Built by
/// Engine::prepare() for that engine's plan only (schema ids and row widths are the plan's).
/// Strings, arrays, maps and raw field lists still point into the arena the events were read
/// into, which must outlive the batch; the InputEvents themselves may be dropped.
struct EventBatch {
    /// Rows back to back: event i's row has plan.schemas[schemas[i]].fields.size() slots
    /// (none for an unrouted event).
    std::vector<Value> values;
    /// Per event: routing schema, -1 when no stream reads its type (counted as unrouted).
    std::vector<int32_t> schemas;
    /// Per event: event time, ms since the Unix epoch.
    std::vector<int64_t> ts;
    /// Per event: the input event's field list, for whole-event uses (`.print()`, `.to()` ...).
    /// Empty when the engine's plan never looks at whole events: then rows carry none.
    std::vector<const Field*> raw;
    std::vector<uint32_t> raw_count;

    size_t size() const { return schemas.size(); }
    bool empty() const { return schemas.empty(); }
    void clear() {
        values.clear();
        schemas.clear();
        ts.clear();
        raw.clear();
        raw_count.clear();
    }
};

/// schema_run_end() from j on, for a run that looks long: eight schemas per compare. Out of
/// line, so the caller's loop over short runs stays as small as a plain scan.
[[gnu::noinline]] inline size_t schema_run_end_wide(const int32_t* schemas, size_t j, size_t end, int32_t schema) {
#if defined(__SSE2__)
    const __m128i want = _mm_set1_epi32(schema);
    while (j + 8 <= end) {
        const __m128i a = _mm_cmpeq_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(schemas + j)), want);
        const __m128i b = _mm_cmpeq_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(schemas + j + 4)), want);
        if (_mm_movemask_epi8(_mm_and_si128(a, b)) != 0xFFFF) break;
        j += 8;
    }
#endif
    while (j < end && schemas[j] == schema) ++j;
    return j;
}

/// The end of the run of events of schema `schemas[i]` that starts at i, at most `end`.
/// Type kernels take whole runs; with one event type the run is the batch, and a scan of one
/// compare per event cost ~8 instructions per event on the filter workload, so a run longer
/// than 16 events goes on in schema_run_end_wide; short runs (types alternating, as in
/// multi_sensor) pay one compare per event for that.
inline size_t schema_run_end(const int32_t* schemas, size_t i, size_t end) {
    const int32_t schema = schemas[i];
    const size_t wide = i + 16;
    size_t j = i + 1;
    while (j < end && schemas[j] == schema)
        if (++j == wide) return schema_run_end_wide(schemas, j, end, schema);
    return j;
}

}  // namespace varpulis::runtime
