// Container benchmarks: dstd::vector against std::vector on one node, and remote
// reads against the raw fabric read of the same bytes (BM_fabric_read, same run).
#include <dstd/coherence.hpp>
#include <dstd/string>
#include <dstd/vector>

#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"

namespace {

using dstd_bench::need_two_nodes;

constexpr std::size_t kSumInts = std::size_t{16} << 20;  // 16 Mi ints, 64 MiB

// The same loop for both: a range-for over a non-const vector (raw pointers, so
// the compiler vectorizes it the same way; check with callgrind, see README).
template <class V>
[[gnu::noinline]] long sum_of(V& v) {
  long s = 0;
  for (int x : v) s += x;
  return s;
}

template <class V>
void vector_sum(benchmark::State& state) {
  V v(kSumInts);
  std::iota(v.begin(), v.end(), 0);
  for (auto _ : state) benchmark::DoNotOptimize(sum_of(v));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kSumInts * sizeof(int)));
}
void BM_std_vector_sum(benchmark::State& state) { vector_sum<std::vector<int>>(state); }
BENCHMARK(BM_std_vector_sum);
void BM_vector_sum_local(benchmark::State& state) { vector_sum<dstd::vector<int>>(state); }
BENCHMARK(BM_vector_sum_local);

// push_back from empty, growth included: 4096 ints per iteration.
template <class V>
void vector_push_back(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    V v;
    for (int i = 0; i < n; ++i) v.push_back(i);
    benchmark::DoNotOptimize(v.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_std_vector_push_back(benchmark::State& state) { vector_push_back<std::vector<int>>(state); }
BENCHMARK(BM_std_vector_push_back)->Arg(4096);
void BM_vector_push_back(benchmark::State& state) { vector_push_back<dstd::vector<int>>(state); }
BENCHMARK(BM_vector_push_back)->Arg(4096);

// The same pushes into reserved capacity: the append path alone, without growth.
template <class V>
void vector_push_back_reserved(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  V v;
  v.reserve(static_cast<std::size_t>(n));
  for (auto _ : state) {
    v.clear();
    for (int i = 0; i < n; ++i) v.push_back(i);
    benchmark::DoNotOptimize(v.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_std_vector_push_back_reserved(benchmark::State& state) { vector_push_back_reserved<std::vector<int>>(state); }
BENCHMARK(BM_std_vector_push_back_reserved)->Arg(4096);
void BM_vector_push_back_reserved(benchmark::State& state) { vector_push_back_reserved<dstd::vector<int>>(state); }
BENCHMARK(BM_vector_push_back_reserved)->Arg(4096);

// A const scan of a vector homed on node 1, not cached: one RDMA read of the whole
// buffer into the cache, then the loop over the copy. Compare BM_fabric_read/<bytes>.
void BM_vector_read_remote(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  const std::size_t bytes = static_cast<std::size_t>(state.range(0));
  auto v = dstd::make_vector_on<int>(1, bytes / sizeof(int), 1);
  const dstd::vector<int>& cv = v;
  for (auto _ : state) {
    state.PauseTiming();
    dstd::coherence::acquire();  // unpins the previous copy
    dstd::coherence::clear_cache();
    state.ResumeTiming();
    benchmark::DoNotOptimize(sum_of(cv));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  dstd::coherence::acquire();
  dstd::coherence::clear_cache();
}
BENCHMARK(BM_vector_read_remote)->Arg(1 << 20)->Arg(64 << 20)->Unit(benchmark::kMicrosecond);

// The fetch alone: the same uncached remote buffer, touched through data() only.
void BM_vector_fetch_remote(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  const std::size_t bytes = static_cast<std::size_t>(state.range(0));
  auto v = dstd::make_vector_on<int>(1, bytes / sizeof(int), 1);
  const dstd::vector<int>& cv = v;
  long faults = 0;
  for (auto _ : state) {
    state.PauseTiming();
    dstd::coherence::acquire();
    dstd::coherence::clear_cache();
    const long f0 = dstd_bench::minor_faults();
    state.ResumeTiming();
    benchmark::DoNotOptimize(cv.data());
    state.PauseTiming();
    faults += dstd_bench::minor_faults() - f0;
    state.ResumeTiming();
  }
  state.counters["page_faults"] = benchmark::Counter(static_cast<double>(faults), benchmark::Counter::kAvgIterations);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  dstd::coherence::acquire();
  dstd::coherence::clear_cache();
}
BENCHMARK(BM_vector_fetch_remote)->Arg(64 << 20)->Unit(benchmark::kMicrosecond);

// One const element of that remote vector, not cached: only its chunk
// (DSTD_READ_CHUNK) is read. This is what chunked reads buy over whole-buffer
// reads (BM_vector_read_remote/67108864) for sparse access.
void BM_vector_index_remote(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  const std::size_t n = (std::size_t{64} << 20) / sizeof(int);
  auto v = dstd::make_vector_on<int>(1, n, 1);
  const dstd::vector<int>& cv = v;
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    state.PauseTiming();
    dstd::coherence::acquire();
    dstd::coherence::clear_cache();
    const std::size_t i = rng() % n;
    state.ResumeTiming();
    benchmark::DoNotOptimize(cv[i]);
  }
  dstd::coherence::acquire();
  dstd::coherence::clear_cache();
}
BENCHMARK(BM_vector_index_remote)->Unit(benchmark::kMicrosecond);

// Short and long string appends against std::string (one node).
template <class S>
void string_build(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    S s;
    for (int i = 0; i < n; ++i) s += static_cast<char>('a' + i % 26);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_std_string_append(benchmark::State& state) { string_build<std::string>(state); }
BENCHMARK(BM_std_string_append)->Arg(12)->Arg(1024);
void BM_string_append(benchmark::State& state) { string_build<dstd::string>(state); }
BENCHMARK(BM_string_append)->Arg(12)->Arg(1024);

}  // namespace
