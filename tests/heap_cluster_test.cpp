// The global heap across real node processes: placement, one-sided access to every
// partition, remote allocation, asynchronous batched remote frees.
#include <dstd/heap.hpp>
#include <dstd/rma.hpp>
#include <dstd/runtime.hpp>
#include <dstd/settings.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

using dstd::node_t;

std::uint64_t pattern(node_t n, std::size_t i) { return (std::uint64_t(n + 1) << 48) | (i * 0x9E3779B1u); }
constexpr std::size_t kWords = 8192;  // 64 KiB blocks

struct usage {
  std::uint64_t bytes, blocks, remote_frees, batches;
};
std::vector<usage> usage_of_all() {
  std::vector<usage> u;
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    auto s = dstd::heap::stats_of(r);
    u.push_back({s.bytes_in_use, s.blocks_in_use, s.remote_frees, s.free_batches});
  }
  return u;
}

TEST(HeapCluster, RunsOnSeveralNodes) {
  ASSERT_GE(dstd::num_nodes(), 2u) << "start this test with dstdrun -n 4 or mpirun -np 4";
  EXPECT_EQ(dstd::node_id(), 0u);
  for (node_t r = 0; r < dstd::num_nodes(); ++r) EXPECT_EQ(dstd::run_on(r, [] { return dstd::node_id(); }), r);
}

TEST(HeapCluster, EveryNodeReadsAndWritesEveryPartition) {
  const node_t n = dstd::num_nodes();
  std::vector<std::uint64_t*> blocks(n);
  for (node_t r = 0; r < n; ++r) {
    blocks[r] = dstd::run_on(r, [] {
      auto* p = static_cast<std::uint64_t*>(dstd::heap::allocate(kWords * sizeof(std::uint64_t)));
      for (std::size_t i = 0; i < kWords; ++i) p[i] = pattern(dstd::node_id(), i);
      return p;
    });
    EXPECT_EQ(dstd::heap::home(blocks[r]), r);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(blocks[r]) - dstd::heap::base(),
              (reinterpret_cast<std::uintptr_t>(blocks[r]) - dstd::heap::base()) % dstd::heap::partition_size() +
                  r * dstd::heap::partition_size());
  }
  // Every node reads every block one-sidedly and counts mismatches.
  for (node_t reader = 0; reader < n; ++reader) {
    for (node_t owner = 0; owner < n; ++owner) {
      auto bad = dstd::run_on(reader, [](const std::uint64_t* b, node_t o) {
        std::vector<std::uint64_t> buf(kWords);
        dstd::rma::read(buf.data(), b, kWords * sizeof(std::uint64_t));
        std::size_t mism = 0;
        for (std::size_t i = 0; i < kWords; ++i) mism += buf[i] != pattern(o, i);
        return mism;
      }, blocks[owner], owner);
      EXPECT_EQ(bad, 0u) << "node " << reader << " reading node " << owner;
    }
  }
  // Every node writes its id into a slice of the next node's block; the home checks.
  for (node_t w = 0; w < n; ++w) {
    dstd::run_on(w, [](std::uint64_t* b) {
      std::vector<std::uint64_t> v(512, 0xABCD0000u + dstd::node_id());
      dstd::rma::write(b + 1000, v.data(), v.size() * sizeof(std::uint64_t));
    }, blocks[(w + 1) % n]);
  }
  for (node_t h = 0; h < n; ++h) {
    auto ok = dstd::run_on(h, [](const std::uint64_t* b, node_t writer) {
      for (std::size_t i = 0; i < kWords; ++i) {
        std::uint64_t want = (i >= 1000 && i < 1512) ? 0xABCD0000u + writer : pattern(dstd::node_id(), i);
        if (b[i] != want) return false;
      }
      return true;
    }, blocks[h], (h + n - 1) % n);
    EXPECT_TRUE(ok) << "block of node " << h;
  }
  for (auto* b : blocks) dstd::heap::deallocate(b);
  dstd::heap::flush();
}

// Reads of DSTD_STRIPE_MIN bytes or more over shm are cut in pieces that the caller
// and the node's copy helper share (runtime/fabric/stripes.hpp). Every byte must
// land where it belongs, at odd offsets and lengths, with several threads reading
// at once (only one of them can have the helper; the others copy alone).
TEST(HeapCluster, LargeReadsAreExactAndSharedWithTheCopyHelper) {
  constexpr std::size_t kBytes = (std::size_t{24} << 20) + 12345;
  auto* block = static_cast<unsigned char*>(dstd::heap::allocate_on(1, kBytes));
  dstd::run_on(1, [](unsigned char* b) {
    for (std::size_t i = 0; i < kBytes; ++i) b[i] = static_cast<unsigned char>((i * 131) ^ (i >> 12));
  }, block);
  const auto byte_at = [](std::size_t i) { return static_cast<unsigned char>((i * 131) ^ (i >> 12)); };
  const auto mismatches = [&](const std::vector<unsigned char>& got, std::size_t from) {
    std::size_t bad = 0;
    for (std::size_t i = 0; i < got.size(); ++i) bad += got[i] != byte_at(from + i);
    return bad;
  };
  const std::uint64_t helped_before = dstd::local_traffic().copy_helper_pieces;

  std::vector<unsigned char> whole(kBytes);
  dstd::rma::read(whole.data(), block, kBytes);
  EXPECT_EQ(mismatches(whole, 0), 0u);
  std::vector<unsigned char> odd((std::size_t{9} << 20) + 3);  // unaligned start and length
  dstd::rma::read(odd.data(), block + 7, odd.size());
  EXPECT_EQ(mismatches(odd, 7), 0u);

  std::vector<std::size_t> bad(3, 0);
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&, t] {
      std::vector<unsigned char> mine(kBytes - 4096 * t);
      for (int k = 0; k < 3; ++k) {
        std::memset(mine.data(), 0, mine.size());
        dstd::rma::read(mine.data(), block + 4096 * t, mine.size());
        bad[t] += mismatches(mine, 4096 * t);
      }
    });
  for (auto& r : readers) r.join();
  for (int t = 0; t < 3; ++t) EXPECT_EQ(bad[t], 0u) << "reader thread " << t;

  // The helper takes pieces only once it is awake, and a loaded machine may keep it
  // from waking before the caller has taken every piece: read until it has joined
  // one read, for at most 10 s.
  const bool stripes = dstd::settings::get("DSTD_PROVIDER") == "shm" &&
                       dstd::settings::get_size("DSTD_STRIPE_MIN") > 0 &&
                       dstd::settings::get_size("DSTD_STRIPE_MIN") <= kBytes;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stripes && dstd::local_traffic().copy_helper_pieces == helped_before &&
         std::chrono::steady_clock::now() < deadline) {
    std::memset(whole.data(), 0, whole.size());
    dstd::rma::read(whole.data(), block, kBytes);
    ASSERT_EQ(mismatches(whole, 0), 0u);
  }
  const std::uint64_t helped = dstd::local_traffic().copy_helper_pieces - helped_before;
  if (stripes)
    EXPECT_GT(helped, 0u) << "the copy helper never copied a piece of a large read over shm";
  else
    EXPECT_EQ(helped, 0u) << "reads were striped where they must not be";
  dstd::heap::deallocate(block);
  dstd::heap::flush();
}

TEST(HeapCluster, RemoteAllocateAndFree) {
  const node_t n = dstd::num_nodes();
  auto before = usage_of_all();
  std::vector<void*> blocks;
  for (node_t r = 1; r < n; ++r) {
    void* p = dstd::heap::allocate_on(r, 1000);
    void* q = dstd::heap::allocate_on(r, 100, 4096);
    EXPECT_EQ(dstd::heap::home(p), r);
    EXPECT_EQ(dstd::heap::home(q), r);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(q) % 4096, 0u);
    char msg[1000];
    std::snprintf(msg, sizeof msg, "written by node 0 into node %u", r);
    dstd::rma::write(p, msg, sizeof msg);
    char back[1000];
    dstd::rma::read(back, p, sizeof back);
    EXPECT_STREQ(back, msg);
    EXPECT_TRUE(dstd::run_on(r, [](const char* s, node_t me) {
      char want[64];
      std::snprintf(want, sizeof want, "written by node 0 into node %u", me);
      return std::strcmp(s, want) == 0;
    }, static_cast<const char*>(p), r));
    blocks.push_back(p);
    blocks.push_back(q);
  }
  auto during = usage_of_all();
  for (node_t r = 1; r < n; ++r) EXPECT_EQ(during[r].blocks, before[r].blocks + 2);
  for (void* p : blocks) dstd::heap::deallocate(p);
  dstd::heap::flush();
  auto after = usage_of_all();
  for (node_t r = 0; r < n; ++r) {
    EXPECT_EQ(after[r].blocks, before[r].blocks) << "node " << r;
    EXPECT_EQ(after[r].bytes, before[r].bytes) << "node " << r;
  }
}

// Each node allocates its share of 10,000 blocks; its neighbour frees them remotely
// (asynchronously, in batches). Afterwards every heap is back at its starting usage.
TEST(HeapCluster, TenThousandRemoteFreesReturnEveryHeapToItsStart) {
  const node_t n = dstd::num_nodes();
  const std::size_t per_node = 10000 / n;
  auto before = usage_of_all();
  std::vector<std::uint64_t*> lists(n);
  for (node_t r = 0; r < n; ++r) {
    lists[r] = dstd::run_on(r, [](std::size_t count) {
      auto* list = static_cast<std::uint64_t*>(dstd::heap::allocate(count * sizeof(std::uint64_t)));
      for (std::size_t i = 0; i < count; ++i)
        list[i] = reinterpret_cast<std::uint64_t>(dstd::heap::allocate(24 + (i % 7) * 40));
      return list;
    }, per_node);
  }
  auto during = usage_of_all();
  for (node_t r = 0; r < n; ++r) EXPECT_EQ(during[r].blocks, before[r].blocks + per_node + 1);
  for (node_t r = 0; r < n; ++r) {
    const node_t freer = (r + 1) % n;
    dstd::run_on(freer, [](const std::uint64_t* list, std::size_t count) {
      std::vector<std::uint64_t> ptrs(count);
      dstd::rma::read(ptrs.data(), list, count * sizeof(std::uint64_t));
      for (auto p : ptrs) dstd::heap::deallocate(reinterpret_cast<void*>(p));
      dstd::heap::flush();
    }, lists[r], per_node);
  }
  for (auto* l : lists) dstd::heap::deallocate(l);
  dstd::heap::flush();
  auto after = usage_of_all();
  for (node_t r = 0; r < n; ++r) {
    EXPECT_EQ(after[r].blocks, before[r].blocks) << "node " << r;
    EXPECT_EQ(after[r].bytes, before[r].bytes) << "node " << r;
    EXPECT_GE(after[r].remote_frees - before[r].remote_frees, per_node) << "node " << r;
    // Batched: far fewer messages than frees.
    EXPECT_LE(after[r].batches - before[r].batches, per_node / 16) << "node " << r;
  }
}

TEST(HeapCluster, DestroyRunsAtHome) {
  struct tracked {
    std::uint64_t* counter;  // on node 0
    ~tracked() { dstd::rma::fetch_add(counter, 1 + dstd::node_id() * 1000); }
  };
  auto* counter = static_cast<std::uint64_t*>(dstd::heap::allocate(sizeof(std::uint64_t), 8));
  *counter = 0;
  std::uint64_t expect = 0;
  for (node_t r = 1; r < dstd::num_nodes(); ++r) {
    auto* obj = static_cast<tracked*>(dstd::heap::allocate_on(r, sizeof(tracked), alignof(tracked)));
    static_assert(sizeof(tracked) == sizeof(counter));
    dstd::rma::write(obj, &counter, sizeof counter);  // the object's bytes, built in place
    dstd::heap::destroy(obj);                          // ~tracked runs on node r
    expect += 1 + r * 1000;
  }
  dstd::heap::flush();
  EXPECT_EQ(dstd::rma::fetch_add(counter, 0), expect);
  dstd::heap::deallocate(counter);
}

TEST(HeapCluster, InvalidNodeIdsAreClearErrors) {
  const node_t bad = dstd::num_nodes() + 5;
  try {
    dstd::heap::allocate_on(bad, 64);
    FAIL() << "allocate_on accepted a bad node";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("node " + std::to_string(bad) + " does not exist"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(dstd::run_on(bad, [] { return 1; }), std::invalid_argument);
  EXPECT_THROW(dstd::heap::stats_of(bad), std::invalid_argument);
  int local = 0;
  EXPECT_THROW(dstd::rma::read(&local, &local, sizeof local), std::out_of_range);
  EXPECT_THROW(dstd::heap::home(&local), std::invalid_argument);
}

TEST(HeapCluster, RangesCrossingAPartitionAreRefused) {
  if (dstd::num_nodes() < 2) GTEST_SKIP();
  auto* edge = reinterpret_cast<char*>(dstd::heap::base() + dstd::heap::partition_size() - 8);
  char buf[64];
  EXPECT_THROW(dstd::rma::read(buf, edge, sizeof buf), std::out_of_range);
  auto* past = reinterpret_cast<char*>(dstd::heap::base() + dstd::num_nodes() * dstd::heap::partition_size());
  EXPECT_THROW(dstd::rma::read(buf, past, 8), std::out_of_range);
}

}  // namespace
