// Shared helpers of the dstd micro-benchmarks.
#pragma once

#include <benchmark/benchmark.h>
#include <dstd/runtime.hpp>

namespace dstd_bench {

// Remote benchmarks measure node 0 against node 1's memory.
inline bool need_two_nodes(benchmark::State& state) {
  if (dstd::num_nodes() >= 2) return true;
  state.SkipWithError("needs 2 nodes: run under dstdrun -n 2");
  return false;
}

}  // namespace dstd_bench
