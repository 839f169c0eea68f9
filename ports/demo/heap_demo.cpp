// heap_demo: every node fills a block of its own heap partition, then node 0 reads
// every block remotely (one-sided), checks it, and prints a per-node summary beside
// the same computation done with plain memory in one process.
#include <dstd/heap.hpp>
#include <dstd/rma.hpp>
#include <dstd/runtime.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <vector>

namespace {
constexpr std::size_t kWords = 1 << 20;  // 8 MiB per node

std::uint64_t value(dstd::node_t n, std::size_t i) { return (std::uint64_t(n) << 40) ^ (i * 2654435761u); }

struct block {
  std::uint64_t* data;
  dstd::node_t home;
};
}  // namespace

int main() {
  const auto nodes = dstd::num_nodes();
  std::printf("heap_demo: %u node(s), provider %s\n", nodes, dstd::rma::provider_name());

  // Plain std reference: the same sums in local memory.
  auto t0 = std::chrono::steady_clock::now();
  std::uint64_t expect = 0;
  for (dstd::node_t n = 0; n < nodes; ++n) {
    std::vector<std::uint64_t> v(kWords);
    for (std::size_t i = 0; i < kWords; ++i) v[i] = value(n, i);
    expect += std::accumulate(v.begin(), v.end(), std::uint64_t{0});
  }
  auto t1 = std::chrono::steady_clock::now();

  // dstd: each node allocates and fills in its own partition (run there) ...
  std::vector<block> blocks;
  for (dstd::node_t n = 0; n < nodes; ++n) {
    blocks.push_back(dstd::run_on(n, [](dstd::node_t me) {
      auto* p = static_cast<std::uint64_t*>(dstd::heap::allocate(kWords * sizeof(std::uint64_t)));
      for (std::size_t i = 0; i < kWords; ++i) p[i] = value(me, i);
      return block{p, dstd::node_id()};
    }, n));
  }
  // ... and node 0 reads every block one-sidedly and sums it.
  std::vector<std::uint64_t> buf(kWords);
  std::uint64_t got = 0;
  for (const auto& b : blocks) {
    dstd::rma::read(buf.data(), b.data, kWords * sizeof(std::uint64_t));
    std::uint64_t s = std::accumulate(buf.begin(), buf.end(), std::uint64_t{0});
    std::printf("  block at %p: home node %u, sum %016llx\n", static_cast<void*>(b.data), dstd::heap::home(b.data),
                static_cast<unsigned long long>(s));
    got += s;
    dstd::heap::deallocate(b.data);  // remote blocks are freed at home, asynchronously
  }
  dstd::heap::flush();
  auto t2 = std::chrono::steady_clock::now();

  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("std : result %016llx  (%.1f ms)\n", static_cast<unsigned long long>(expect), ms(t1 - t0));
  std::printf("dstd: result %016llx  (%.1f ms, %u nodes)\n", static_cast<unsigned long long>(got), ms(t2 - t1), nodes);
  for (dstd::node_t n = 0; n < nodes; ++n) {
    auto s = dstd::heap::stats_of(n);
    std::printf("  node %u heap: %llu blocks in use after frees\n", n, static_cast<unsigned long long>(s.blocks_in_use));
  }
  std::puts(got == expect ? "results match" : "RESULTS DIFFER");
  return got == expect ? 0 : 1;
}
