// dstd micro-benchmarks. Run as `dstdrun -n 2 build/bin/dstd_bench` (node 0 measures,
// node 1 holds the remote memory). The raw fabric figures are the physical limit
// every dstd type is compared against in the same run.
#include <benchmark/benchmark.h>
#include <dstd/heap.hpp>
#include <dstd/rma.hpp>
#include <dstd/runtime.hpp>
#include <dstd/thread>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_util.hpp"
#include "fabric/transport.hpp"
#include "node_runtime.hpp"

namespace {

using dstd_bench::need_two_nodes;

// One-sided reads of `bytes` from node 1's partition into a local heap buffer, each
// by `read(local, remote, bytes)`.
template <class Read>
void fabric_read(benchmark::State& state, Read&& read) {
  if (!need_two_nodes(state)) return;
  const auto bytes = static_cast<std::size_t>(state.range(0));
  void* remote = dstd::heap::allocate_on(1, bytes, 64);
  void* local = dstd::heap::allocate(bytes, 64);
  // Real data at the source: never-written memory would be read from the kernel's
  // shared zero page, which is always hot and flatters the figure.
  std::memset(local, 0x5a, bytes);
  dstd::rma::write(remote, local, bytes);
  for (auto _ : state) {
    read(local, remote, bytes);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  dstd::heap::deallocate(local);
  dstd::heap::deallocate(remote);
  dstd::heap::flush();
}

void BM_fabric_read(benchmark::State& state) { fabric_read(state, dstd::rma::read); }
BENCHMARK(BM_fabric_read)->Arg(64)->Arg(4096)->Arg(65536)->Arg(1048576)->Arg(64 << 20);

// The same read as one fi_read on one endpoint: what a plain libfabric program gets.
// Over shm, BM_fabric_read of DSTD_STRIPE_MIN bytes or more shares the copy with the
// node's copy helper on a second endpoint (runtime/fabric/stripes.hpp).
void BM_fabric_read_one_lane(benchmark::State& state) {
  fabric_read(state, [](void* local, const void* remote, std::size_t bytes) {
    dstd::rt::fabric().read(1, local, reinterpret_cast<std::uint64_t>(remote), bytes, /*may_stripe=*/false);
  });
}
BENCHMARK(BM_fabric_read_one_lane)->Arg(64 << 20);

void BM_fabric_write(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  const auto bytes = static_cast<std::size_t>(state.range(0));
  void* remote = dstd::heap::allocate_on(1, bytes, 64);
  void* local = dstd::heap::allocate(bytes, 64);
  std::memset(local, 7, bytes);
  for (auto _ : state) dstd::rma::write(remote, local, bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  dstd::heap::deallocate(local);
  dstd::heap::deallocate(remote);
  dstd::heap::flush();
}
BENCHMARK(BM_fabric_write)->Arg(64)->Arg(1048576);

// The same 64-byte write while range(0) threads on node 1 compute without touching
// the fabric: what a request costs when its target's cores are busy. The runtime
// thread there must get a core to answer; it sleeps and is woken by the doorbell
// rather than yield behind the busy threads (node_runtime.cpp, threads_computing).
void BM_fabric_write_busy_target(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  const int busy = static_cast<int>(state.range(0));
  auto* stop = static_cast<std::uint64_t*>(dstd::heap::allocate_on(1, 64, 64));
  const std::uint64_t zero = 0, one = 1;
  dstd::rma::write(stop, &zero, sizeof zero);
  std::vector<dstd::thread> burners;
  for (int i = 0; i < busy; ++i)
    burners.push_back(dstd::spawn_to(1, [stop] {
      std::uint64_t x = 0;
      while (std::atomic_ref<std::uint64_t>(*stop).load(std::memory_order_relaxed) == 0)
        for (int k = 0; k < 1000; ++k) benchmark::DoNotOptimize(x += k);
    }));
  void* remote = dstd::heap::allocate_on(1, 64, 64);
  char local[64] = {};
  for (auto _ : state) dstd::rma::write(remote, local, sizeof local);
  dstd::rma::write(stop, &one, sizeof one);
  for (auto& t : burners) t.join();
  dstd::heap::deallocate(remote);
  dstd::heap::deallocate(stop);
  dstd::heap::flush();
}
BENCHMARK(BM_fabric_write_busy_target)->Arg(0)->Arg(2)->Unit(benchmark::kMicrosecond);

void BM_fabric_fetch_add(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  auto* word = static_cast<std::uint64_t*>(dstd::heap::allocate_on(1, 8, 8));
  for (auto _ : state) benchmark::DoNotOptimize(dstd::rma::fetch_add(word, 1));
  state.SetLabel(dstd::rma::native_atomics() ? "native FI_ATOMIC" : "executed at home");
  dstd::heap::deallocate(word);
  dstd::heap::flush();
}
BENCHMARK(BM_fabric_fetch_add);

// A control request and its reply, answered by node 1's runtime itself.
void BM_am_roundtrip(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  std::uint64_t in = 42, out = 0;
  for (auto _ : state) {
    dstd::rt::request(1, dstd::rt::msg::ping, &in, sizeof in, &out, sizeof out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_am_roundtrip);

// The same with `range(0)` bytes each way. Over tcp, messages above ofi_rxm's eager
// size (16 KiB) arrive in segments or by rendezvous, steps that need the receiver to
// poll though nobody rings it; this is where a sleeping runtime would stall them.
void BM_am_roundtrip_bytes(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  std::vector<unsigned char> in(static_cast<std::size_t>(state.range(0)), 42), out(in.size());
  for (auto _ : state) {
    dstd::rt::request(1, dstd::rt::msg::ping, in.data(), in.size(), out.data(), out.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size() * 2));
}
BENCHMARK(BM_am_roundtrip_bytes)->Arg(4096)->Arg(40000);

// run_on: the request, a hand-off to a worker thread on node 1, the reply.
void BM_run_on_remote(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  for (auto _ : state) benchmark::DoNotOptimize(dstd::run_on(1, [](int x) { return x + 1; }, 1));
}
BENCHMARK(BM_run_on_remote);

void BM_heap_allocate_on_remote(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  for (auto _ : state) dstd::heap::deallocate(dstd::heap::allocate_on(1, 64));
  dstd::heap::flush();
}
BENCHMARK(BM_heap_allocate_on_remote);

// Local allocation in the global heap against plain malloc (both mimalloc).
void BM_heap_allocate_local(benchmark::State& state) {
  for (auto _ : state) {
    void* p = dstd::heap::allocate(64);
    benchmark::DoNotOptimize(p);
    dstd::heap::deallocate(p);
  }
}
BENCHMARK(BM_heap_allocate_local);

void BM_std_malloc(benchmark::State& state) {
  for (auto _ : state) {
    void* p = std::malloc(64);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}
BENCHMARK(BM_std_malloc);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("dstd_nodes", std::to_string(dstd::num_nodes()));
  benchmark::AddCustomContext("dstd_provider", dstd::rma::provider_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
