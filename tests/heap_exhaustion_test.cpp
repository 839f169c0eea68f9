// A full partition throws std::bad_alloc, locally and for remote requests, and the
// heap keeps working afterwards. Run with a small DSTD_PARTITION_SIZE.
#include <dstd/heap.hpp>
#include <dstd/runtime.hpp>
#include <gtest/gtest.h>

#include <new>
#include <vector>

namespace {

constexpr std::size_t kBlock = 1 << 20;

std::size_t fill_until_bad_alloc(std::vector<void*>& got, dstd::node_t where) {
  for (;;) {
    try {
      got.push_back(where == dstd::node_id() ? dstd::heap::allocate(kBlock) : dstd::heap::allocate_on(where, kBlock));
    } catch (const std::bad_alloc&) {
      return got.size();
    }
    if (got.size() > 100000) return 0;  // no limit at all: a failure below
  }
}

TEST(HeapExhaustion, LocalAllocationThrowsBadAllocAndRecovers) {
  const std::size_t cap = dstd::heap::partition_size() / kBlock;
  std::vector<void*> got;
  std::size_t n = fill_until_bad_alloc(got, dstd::node_id());
  EXPECT_GT(n, cap / 2) << "gave up far too early";
  EXPECT_LE(n, cap) << "allocated beyond the partition";
  EXPECT_THROW(dstd::heap::allocate(std::size_t(1) << 40), std::bad_alloc);
  for (void* p : got) dstd::heap::deallocate(p);
  void* again = dstd::heap::allocate(kBlock);
  EXPECT_TRUE(dstd::heap::is_local(again));
  dstd::heap::deallocate(again);
}

TEST(HeapExhaustion, RemoteAllocationThrowsBadAlloc) {
  if (dstd::num_nodes() < 2) GTEST_SKIP() << "needs 2 nodes";
  const std::size_t cap = dstd::heap::partition_size() / kBlock;
  std::vector<void*> got;
  std::size_t n = fill_until_bad_alloc(got, 1);
  EXPECT_GT(n, cap / 2);
  EXPECT_LE(n, cap);
  for (void* p : got) dstd::heap::deallocate(p);
  dstd::heap::flush();
  EXPECT_EQ(dstd::heap::stats_of(1).blocks_in_use, 0u);
  void* again = dstd::heap::allocate_on(1, kBlock);
  EXPECT_EQ(dstd::heap::home(again), 1u);
  dstd::heap::deallocate(again);
  dstd::heap::flush();
}

}  // namespace
