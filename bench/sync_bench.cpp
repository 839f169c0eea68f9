// Threads and synchronization benchmarks, each beside the AM round trip (BM_am_roundtrip,
// same run) or its std counterpart.
#include <dstd/channel.hpp>
#include <dstd/mutex>
#include <dstd/thread>

#include <mutex>

#include "bench_util.hpp"

namespace {

using dstd_bench::need_two_nodes;

// Start an empty thread on node 1 and join it: one spawn message, a worker hand-off,
// one completion message.
void BM_spawn_join_remote(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  for (auto _ : state) dstd::spawn_to(1, [] {}).join();
}
BENCHMARK(BM_spawn_join_remote);

// Uncontended lock/unlock of a mutex homed on node 1: a request for the lock, a
// one-way message for the unlock.
void BM_mutex_lock_unlock_remote(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  dstd::mutex m = dstd::run_on(1, [] { return dstd::mutex(); });
  for (auto _ : state) {
    m.lock();
    m.unlock();
  }
}
BENCHMARK(BM_mutex_lock_unlock_remote);

// Uncontended lock/unlock at the mutex's home, against std::mutex.
void BM_mutex_lock_unlock_local(benchmark::State& state) {
  dstd::mutex m;
  for (auto _ : state) {
    m.lock();
    m.unlock();
  }
}
BENCHMARK(BM_mutex_lock_unlock_local);

void BM_std_mutex_lock_unlock(benchmark::State& state) {
  std::mutex m;
  for (auto _ : state) {
    m.lock();
    m.unlock();
  }
}
BENCHMARK(BM_std_mutex_lock_unlock);

// A value sent to a thread on node 1 and sent back: two one-way sends, each to the
// receiver's home, each received where it is homed.
void BM_channel_pingpong_remote(benchmark::State& state) {
  if (!need_two_nodes(state)) return;
  auto [to_here, back_rx] = dstd::channel<std::uint64_t>();
  auto there = dstd::run_on(1, [] { return dstd::channel<std::uint64_t>(); });
  dstd::thread echo = dstd::spawn_to(1, [](dstd::receiver<std::uint64_t> rx, dstd::sender<std::uint64_t> tx) {
    while (auto v = rx.recv()) tx.send(*v + 1);
  }, std::move(there.second), std::move(to_here));
  dstd::sender<std::uint64_t> tx = std::move(there.first);
  std::uint64_t v = 0;
  for (auto _ : state) {
    tx.send(v);
    v = *back_rx.recv();
  }
  benchmark::DoNotOptimize(v);
  { auto close = std::move(tx); }  // the echo thread sees the channel close and ends
  echo.join();
}
BENCHMARK(BM_channel_pingpong_remote);

}  // namespace
