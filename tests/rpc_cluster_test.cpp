// Running functions on other nodes, and fabric atomics (native on shm, executed at
// home on tcp;ofi_rxm).
#include <dstd/heap.hpp>
#include <dstd/rma.hpp>
#include <dstd/runtime.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using dstd::node_t;

struct result {
  node_t where;
  long twice;
  double sum;
};

TEST(RpcCluster, ArgumentsAndResultCrossNodes) {
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    result res = dstd::run_on(r, [](long a, double b) { return result{dstd::node_id(), a * 2, b + dstd::node_id()}; },
                              21L, 0.5);
    EXPECT_EQ(res.where, r);
    EXPECT_EQ(res.twice, 42);
    EXPECT_DOUBLE_EQ(res.sum, 0.5 + r);
  }
}

TEST(RpcCluster, CapturesTravelAsBytes) {
  const int base = 1000;
  const char tag[8] = "abc";
  auto f = [base, tag](int x) { return base + x + tag[1] + static_cast<int>(dstd::node_id()); };
  for (node_t r = 0; r < dstd::num_nodes(); ++r) EXPECT_EQ(dstd::run_on(r, f, 5), 1005 + 'b' + static_cast<int>(r));
}

TEST(RpcCluster, RemoteExceptionNamesTheNode) {
  const node_t r = dstd::num_nodes() - 1;
  try {
    dstd::run_on(r, [] { throw std::runtime_error("boom"); });
    FAIL() << "no exception";
  } catch (const dstd::remote_error& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("node " + std::to_string(r)), std::string::npos) << w;
    EXPECT_NE(w.find("boom"), std::string::npos) << w;
  }
}

TEST(RpcCluster, NestedCallsFromAWorker) {
  const node_t n = dstd::num_nodes();
  for (node_t r = 0; r < n; ++r) {
    node_t got = dstd::run_on(r, [](node_t n) { return dstd::run_on((dstd::node_id() + 1) % n, [] { return dstd::node_id(); }); }, n);
    EXPECT_EQ(got, (r + 1) % n);
  }
}

TEST(RpcCluster, ConcurrentCallsFromManyThreads) {
  const node_t n = dstd::num_nodes();
  std::atomic<long> total{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      long sum = 0;
      for (int i = 0; i < 200; ++i) sum += dstd::run_on((t + i) % n, [](int x) { return x + 1; }, i);
      total += sum;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(total.load(), 4 * (199 * 200 / 2 + 200));
}

TEST(RpcCluster, OversizedArgumentsAreRefused) {
  if (dstd::num_nodes() < 2) GTEST_SKIP();
  struct big {
    char bytes[1 << 20];
  };
  static big b{};
  EXPECT_THROW(dstd::run_on(1, [](const big&) { return 0; }, b), std::length_error);
}

// Every node hammers two counters homed on node 1 (or 0) with fetch_add and with
// compare-and-swap loops; no update may be lost.
TEST(RpcCluster, AtomicsFromEveryNodeLoseNoUpdate) {
  const node_t n = dstd::num_nodes();
  const node_t home = n > 1 ? 1 : 0;
  const char* native = std::getenv("DSTD_NATIVE_ATOMICS");
  if (native && std::string(native) == "0") EXPECT_FALSE(dstd::rma::native_atomics()) << "fallback not in use";
  // words[0], [1]: the counters; [2]: a start line; [3]: peers done. The home node's
  // thread (CPU atomics on a software provider, loopback on a NIC) keeps updating
  // until every peer is done, so its updates and the peers' always overlap.
  auto* words = static_cast<std::uint64_t*>(dstd::heap::allocate_on(home, 4 * sizeof(std::uint64_t), 8));
  std::uint64_t zero[4] = {0, 0, 0, 0};
  dstd::rma::write(words, zero, sizeof zero);
  constexpr int kOps = 500;
  std::vector<std::uint64_t> done_ops(n);
  std::vector<std::thread> ts;
  for (node_t r = 0; r < n; ++r)
    ts.emplace_back([&, r] {
      done_ops[r] = dstd::run_on(r, [](std::uint64_t* w, bool at_home, node_t nodes) {
        dstd::rma::fetch_add(&w[2], 1);
        while (dstd::rma::fetch_add(&w[2], 0) < nodes) std::this_thread::yield();
        std::uint64_t ops = 0;
        for (; at_home ? (nodes == 1 ? ops < kOps : dstd::rma::fetch_add(&w[3], 0) < nodes - 1) : ops < kOps; ++ops) {
          if (at_home && ops % 64 == 63) std::this_thread::yield();  // peers' runtime threads need the cores too
          dstd::rma::fetch_add(&w[0], 1);
          std::uint64_t cur = dstd::rma::fetch_add(&w[1], 0);
          for (;;) {
            std::uint64_t seen = dstd::rma::compare_swap(&w[1], cur, cur + 2);
            if (seen == cur) break;
            cur = seen;
          }
        }
        if (!at_home) dstd::rma::fetch_add(&w[3], 1);
        return ops;
      }, words, r == home, n);
    });
  for (auto& t : ts) t.join();
  std::uint64_t total = 0;
  for (auto ops : done_ops) total += ops;
  EXPECT_GE(done_ops[home], std::uint64_t{kOps});
  EXPECT_EQ(dstd::rma::fetch_add(&words[0], 0), total);
  EXPECT_EQ(dstd::rma::fetch_add(&words[1], 0), total * 2);
  dstd::heap::deallocate(words);
  dstd::heap::flush();
}

TEST(RpcCluster, ReportsTheProvider) {
  const char* want = std::getenv("DSTD_PROVIDER");
  if (dstd::num_nodes() > 1) EXPECT_STREQ(dstd::rma::provider_name(), want ? want : "shm");
}

}  // namespace

namespace {

// 4-16 KiB messages: above shm's 4 KiB inject size, below ofi_rxm's eager limit.
TEST(RpcCluster, MidSizedArgumentsAndResultsTravel) {
  struct payload {
    std::uint32_t words[2048];  // 8 KiB
  };
  static payload in;
  for (std::uint32_t i = 0; i < 2048; ++i) in.words[i] = i * 7 + 1;
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    payload out = dstd::run_on(r, [](const payload& p) {
      payload q;
      for (std::uint32_t i = 0; i < 2048; ++i) q.words[i] = p.words[i] + dstd::node_id();
      return q;
    }, in);
    bool same = true;
    for (std::uint32_t i = 0; i < 2048; ++i) same &= out.words[i] == in.words[i] + r;
    EXPECT_TRUE(same) << "node " << r;
  }
}

// A call that waits for a later call on the same node must not starve it.
TEST(RpcCluster, QueuedCallsNeverWaitForEachOther) {
  const node_t target = dstd::num_nodes() - 1;
  auto* flag = static_cast<std::uint64_t*>(dstd::heap::allocate_on(target, 8, 8));
  std::uint64_t zero = 0;
  dstd::rma::write(flag, &zero, sizeof zero);
  bool seen = false;
  std::thread waiter([&] {
    seen = dstd::run_on(target, [](std::uint64_t* f) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::atomic_ref<std::uint64_t>(*f).load() == 0)
        if (std::chrono::steady_clock::now() > deadline) return false;
        else std::this_thread::yield();
      return true;
    }, flag);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  dstd::run_on(target, [](std::uint64_t* f) { std::atomic_ref<std::uint64_t>(*f).store(1); }, flag);
  waiter.join();
  EXPECT_TRUE(seen) << "the second call never ran while the first one waited";
  dstd::heap::deallocate(flag);
  dstd::heap::flush();
}

}  // namespace
