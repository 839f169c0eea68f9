// Coherence benchmarks: dstd::unique_ptr against its physical limit (BM_fabric_read,
// same run) and against std::unique_ptr on one node.
#include <dstd/memory>

#include <sys/resource.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <dstd/rma.hpp>
#include <memory>
#include <vector>

#include "bench_util.hpp"

namespace {

using dstd_bench::need_two_nodes;

using dstd_bench::minor_faults;

template <std::size_t N>
struct Bytes {
  std::array<unsigned char, N> b;
};

// A const read of a remote object that is not cached: one fi_read into the cache.
// Each iteration reads a different object; the cache is emptied between rounds.
void BM_unique_ptr_read_cold_64(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  constexpr std::size_t kObjects = 4096;
  std::vector<dstd::unique_ptr<Bytes<64>>> objs;
  for (std::size_t i = 0; i < kObjects; ++i) objs.push_back(dstd::make_unique_on<Bytes<64>>(1));
  std::size_t i = 0;
  for (auto _ : state) {
    if (i == kObjects) {
      state.PauseTiming();
      dstd::coherence::acquire();  // unpins this thread's copies
      dstd::coherence::clear_cache();
      i = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(std::as_const(objs[i++])->b[0]);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * 64));
  dstd::coherence::acquire();
  objs.clear();
  dstd::heap::flush();
}
BENCHMARK(BM_unique_ptr_read_cold_64)->Name("BM_unique_ptr_read_cold/64");

// A const read of a remote object already in this node's cache.
void BM_unique_ptr_read_warm_64(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  auto p = dstd::make_unique_on<Bytes<64>>(1);
  benchmark::DoNotOptimize(std::as_const(p)->b[0]);
  for (auto _ : state) benchmark::DoNotOptimize(std::as_const(p)->b[0]);
  dstd::coherence::acquire();
  p.reset();
  dstd::heap::flush();
}
BENCHMARK(BM_unique_ptr_read_warm_64)->Name("BM_unique_ptr_read_warm/64");

// A write to a remote object: it moves here (allocate, one fi_read, async free at
// home). Each iteration moves a different object from a small pool on node 1; the
// pool is refilled (not timed) when it runs out.
template <std::size_t N>
void BM_unique_ptr_move(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  constexpr std::size_t kPool = N >= (1 << 20) ? 2 : 1024;  // 2 MiB each side: cache-resident, like BM_fabric_read
  std::vector<dstd::unique_ptr<Bytes<N>>> pool;
  std::size_t i = kPool;
  const long faults0 = minor_faults();
  for (auto _ : state) {
    if (i == kPool) {
      state.PauseTiming();
      pool.clear();  // the moved objects are local now: freed here
      for (std::size_t k = 0; k < kPool; ++k) pool.push_back(dstd::make_unique_on<Bytes<N>>(1));
      i = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(pool[i++]->b[0]);  // non-const access: the write path
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * N));
  state.counters["faults/iter"] =
      benchmark::Counter(static_cast<double>(minor_faults() - faults0), benchmark::Counter::kAvgIterations);
  pool.clear();
  dstd::heap::flush();
}
BENCHMARK(BM_unique_ptr_move<64>)->Name("BM_unique_ptr_move/64");
BENCHMARK(BM_unique_ptr_move<1048576>)->Name("BM_unique_ptr_move/1048576");

// Local dereference, std against dstd. One owner written through non-const access
// in a loop (dstd's costlier path: a locality check and a color increment): the
// extra work overlaps the load/add/store of the object.
template <class Ptr>
void deref_one(benchmark::State& state, Ptr p) {
  for (auto _ : state) benchmark::DoNotOptimize(*p += 1);
}
void BM_std_unique_ptr_deref(benchmark::State& state) { deref_one(state, std::make_unique<std::uint64_t>(0)); }
BENCHMARK(BM_std_unique_ptr_deref);
void BM_unique_ptr_deref_local(benchmark::State& state) { deref_one(state, dstd::make_unique<std::uint64_t>(0)); }
BENCHMARK(BM_unique_ptr_deref_local);

// The worst case: a walk over 1024 owners that does nothing but dereference them,
// so every extra instruction of dstd's check shows (written, then read).
constexpr std::size_t kOwners = 1024;

template <class Ptr, class Make>
void walk_write(benchmark::State& state, Make make) {
  std::vector<Ptr> v;
  for (std::size_t i = 0; i < kOwners; ++i) v.push_back(make(i));
  for (auto _ : state) {
    for (auto& p : v) *p += 1;
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kOwners));
}
template <class Ptr, class Make>
void walk_read(benchmark::State& state, Make make) {
  std::vector<Ptr> v;
  for (std::size_t i = 0; i < kOwners; ++i) v.push_back(make(i));
  for (auto _ : state) {
    std::uint64_t sum = 0;
    for (const auto& p : v) sum += *p;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kOwners));
}
auto make_std = [](std::size_t i) { return std::make_unique<std::uint64_t>(i); };
auto make_dstd = [](std::size_t i) { return dstd::make_unique<std::uint64_t>(i); };
void BM_std_unique_ptr_walk_write(benchmark::State& s) { walk_write<std::unique_ptr<std::uint64_t>>(s, make_std); }
void BM_unique_ptr_walk_write_local(benchmark::State& s) { walk_write<dstd::unique_ptr<std::uint64_t>>(s, make_dstd); }
void BM_std_unique_ptr_walk_read(benchmark::State& s) { walk_read<std::unique_ptr<std::uint64_t>>(s, make_std); }
void BM_unique_ptr_walk_read_local(benchmark::State& s) { walk_read<dstd::unique_ptr<std::uint64_t>>(s, make_dstd); }
BENCHMARK(BM_std_unique_ptr_walk_write);
BENCHMARK(BM_unique_ptr_walk_write_local);
BENCHMARK(BM_std_unique_ptr_walk_read);
BENCHMARK(BM_unique_ptr_walk_read_local);

// shared_ptr: a const read of a remote object within one epoch (a cache hit), and
// a copy of a shared_ptr whose control block is remote (one fabric atomic each way).
void BM_shared_ptr_read_warm_64(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  auto p = dstd::make_shared_on<Bytes<64>>(1);
  for (auto _ : state) benchmark::DoNotOptimize(std::as_const(p)->b[0]);
  dstd::coherence::acquire();
}
BENCHMARK(BM_shared_ptr_read_warm_64)->Name("BM_shared_ptr_read_warm/64");

void BM_shared_ptr_copy_remote(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  auto p = dstd::make_shared_on<Bytes<64>>(1);
  for (auto _ : state) {
    dstd::shared_ptr<Bytes<64>> q = p;
    benchmark::DoNotOptimize(q);
  }
}
BENCHMARK(BM_shared_ptr_copy_remote);

}  // namespace

namespace {
// The physical limit of BM_unique_ptr_move with its exact memory pattern: fresh
// source blocks (two per round, written by node 0 before the round, not timed)
// each read once into a block allocated for it. BM_fabric_read instead re-reads one
// buffer, which stays hot in the caches.
void BM_fabric_read_fresh(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  const auto bytes = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kPool = 2;
  void* staging = dstd::heap::allocate(bytes, 64);
  std::memset(staging, 0x5a, bytes);
  std::vector<void*> sources;
  std::size_t i = kPool;
  for (auto _ : state) {
    if (i == kPool) {
      state.PauseTiming();
      for (void* src : sources) dstd::heap::deallocate(src);
      sources.clear();
      for (std::size_t k = 0; k < kPool; ++k) {
        sources.push_back(dstd::heap::allocate_on(1, bytes, 64));
        dstd::rma::write(sources.back(), staging, bytes);
      }
      i = 0;
      state.ResumeTiming();
    }
    void* dst = dstd::heap::allocate(bytes, 64);
    dstd::rma::read(dst, sources[i++], bytes);
    benchmark::DoNotOptimize(dst);
    dstd::heap::deallocate(dst);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  for (void* src : sources) dstd::heap::deallocate(src);
  dstd::heap::deallocate(staging);
  dstd::heap::flush();
}
BENCHMARK(BM_fabric_read_fresh)->Arg(1048576);
}  // namespace
