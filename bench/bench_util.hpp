// Shared helpers of the dstd micro-benchmarks.
#pragma once

#include <benchmark/benchmark.h>
#include <dstd/runtime.hpp>
#include <sys/resource.h>

namespace dstd_bench {

inline long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Remote benchmarks measure node 0 against node 1's memory.
inline bool need_two_nodes(benchmark::State& state) {
  if (dstd::num_nodes() >= 2) return true;
  state.SkipWithError("needs 2 nodes: run under dstdrun -n 2");
  return false;
}

}  // namespace dstd_bench
