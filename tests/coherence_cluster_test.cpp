// Ownership coherence across real node processes: reads copy, writes move, stale
// copies are never seen, remote destruction runs at home and leaks nothing.
#include <dstd/memory>
#include <dstd/runtime.hpp>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace {

using dstd::node_t;

struct Obj {
  std::array<std::uint64_t, 8> v{};  // 64 bytes
  std::uint64_t sum() const {
    std::uint64_t s = 0;
    for (auto x : v) s += x;
    return s;
  }
};

// A type with a destructor: relocatable by opting in. Counts destructions per node.
std::atomic<int> g_destroyed_here{0};
struct Tracked {
  using dstd_relocatable = std::true_type;
  std::uint64_t id = 0;
  dstd::unique_ptr<Tracked> next;
  explicit Tracked(std::uint64_t i, dstd::unique_ptr<Tracked> n = nullptr) : id(i), next(std::move(n)) {}
  ~Tracked() { g_destroyed_here.fetch_add(1); }
};

static_assert(dstd::is_relocatable_v<int>);
static_assert(dstd::is_relocatable_v<Obj>);
static_assert(dstd::is_relocatable_v<dstd::unique_ptr<std::string>>);  // the pointer is; the pointee is not
static_assert(dstd::is_relocatable_v<dstd::shared_ptr<Obj>>);
static_assert(dstd::is_relocatable_v<Tracked>);
static_assert(dstd::is_relocatable_v<std::pair<int, dstd::unique_ptr<Obj>>>);
static_assert(dstd::is_relocatable_v<std::tuple<int, dstd::shared_ptr<Obj>>>);
static_assert(dstd::is_relocatable_v<dstd::ref<Obj>>);
static_assert(!dstd::is_relocatable_v<std::string>);
static_assert(!dstd::is_relocatable_v<std::vector<int>>);
static_assert(!dstd::is_relocatable_v<dstd::ref_mut<Obj>>);
static_assert(!dstd::is_relocatable_v<std::pair<int, std::string>>);
static_assert(sizeof(dstd::unique_ptr<Obj>) == 8, "a unique_ptr moves 8 bytes");

dstd::coherence::stats cstats(node_t r) { return dstd::coherence::stats_of(r); }

struct usage {
  std::uint64_t bytes, blocks;
  bool operator==(const usage&) const = default;
};
std::vector<usage> snapshot_usage() {
  std::vector<usage> u;
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    auto s = dstd::heap::stats_of(r);
    u.push_back({s.bytes_in_use, s.blocks_in_use});
  }
  return u;
}
// Remote frees and destroys are batched per node, and a destructor run at home may
// queue more: flush_all() drains every node until nothing new is queued.
std::vector<usage> heap_usage() {
  dstd::heap::flush_all();
  return snapshot_usage();
}

// Reads the object through a shipped borrow on `node`; returns its sum.
std::uint64_t sum_on(node_t node, const dstd::unique_ptr<Obj>& p) {
  return dstd::run_on(node, [](dstd::ref<Obj> r) { return r->sum(); }, p.borrow());
}

TEST(Coherence, ReadsCopyWritesMoveAndStaleCopiesAreNeverSeen) {
  ASSERT_GE(dstd::num_nodes(), 4u) << "start this test with dstdrun -n 4";
  const auto before = heap_usage();
  auto p = dstd::make_unique<Obj>();
  for (int i = 0; i < 8; ++i) p->v[i] = i + 1;  // sum 36
  const Obj* const original = p.get();
  ASSERT_EQ(p.home(), 0u);

  // Nodes 1-3 read: each fetches one copy, then hits its cache; the original stays put.
  for (node_t r = 1; r <= 3; ++r) {
    const auto s0 = cstats(r);
    EXPECT_EQ(sum_on(r, p), 36u);
    EXPECT_EQ(sum_on(r, p), 36u);
    const auto s1 = cstats(r);
    EXPECT_EQ(s1.remote_reads - s0.remote_reads, 1u) << "node " << r;
    EXPECT_EQ(s1.read_bytes - s0.read_bytes, sizeof(Obj)) << "node " << r;
    EXPECT_GE(s1.cache_hits - s0.cache_hits, 1u) << "node " << r;
    EXPECT_EQ(s1.moves, s0.moves) << "a read must not move the object";
  }
  EXPECT_EQ(p.get(), original);
  EXPECT_TRUE(p.is_local());
  EXPECT_EQ(std::as_const(p)->sum(), 36u);

  // Node 2 writes: the object moves there (new address), the old block is freed at home.
  const auto m0 = cstats(2);
  p = dstd::run_on(2, [](dstd::unique_ptr<Obj> q) {
    q->v[0] = 100;  // non-const access: the write path
    return q;       // 8 bytes travel back, the object stays on node 2
  }, std::move(p));
  const auto m1 = cstats(2);
  EXPECT_EQ(m1.moves - m0.moves, 1u);
  EXPECT_EQ(m1.bytes_moved - m0.bytes_moved, sizeof(Obj));
  EXPECT_EQ(p.home(), 2u);
  EXPECT_NE(p.get(), original);
  EXPECT_FALSE(p.is_local());

  // Node 1 still holds a copy of the old version; it must see the new value.
  const auto r0 = cstats(1);
  EXPECT_EQ(sum_on(1, p), 135u);
  EXPECT_EQ(cstats(1).remote_reads - r0.remote_reads, 1u) << "the new version must be fetched, not hit";
  // So does node 3, and node 0 through its own (const) access.
  EXPECT_EQ(sum_on(3, p), 135u);
  EXPECT_EQ(std::as_const(p)->sum(), 135u);
  EXPECT_EQ(p.home(), 2u) << "const access on node 0 must not move it";

  // A write at the home keeps the address but changes the color: copies go stale.
  const auto addr2 = p.get();
  const auto color2 = p.color();
  p = dstd::run_on(2, [](dstd::unique_ptr<Obj> q) {
    q->v[1] = 1000;
    return q;
  }, std::move(p));
  EXPECT_EQ(p.get(), addr2) << "a local write does not move";
  EXPECT_NE(p.color(), color2) << "a local write bumps the color";
  EXPECT_EQ(sum_on(1, p), 135u + 998u);
  EXPECT_EQ(sum_on(3, p), 135u + 998u);

  // Node 0 writes: the object comes back here.
  p->v[2] = 3;
  EXPECT_TRUE(p.is_local());
  EXPECT_EQ(sum_on(1, p), 135u + 998u);
  p.reset();
  EXPECT_EQ(heap_usage(), before) << "every heap returns to its starting usage";
}

TEST(Coherence, MovingTheOwnerMovesEightBytesNotTheObject) {
  auto p = dstd::make_unique_on<Obj>(3);
  const Obj* addr = p.get();
  const auto c0 = cstats(1);
  // Through node 1 and back, without touching the object: nothing is read or moved.
  p = dstd::run_on(1, [](dstd::unique_ptr<Obj> q) { return q; }, std::move(p));
  const auto c1 = cstats(1);
  EXPECT_EQ(p.get(), addr);
  EXPECT_EQ(p.home(), 3u);
  EXPECT_EQ(c1.remote_reads, c0.remote_reads);
  EXPECT_EQ(c1.moves, c0.moves);
}

TEST(Coherence, PlacementAndValuesSurviveMakeUniqueOn) {
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    auto p = dstd::make_unique_on<Obj>(r, Obj{{r, 2, 3, 4, 5, 6, 7, 8}});
    EXPECT_EQ(p.home(), r);
    EXPECT_EQ(std::as_const(p)->v[0], r);
    EXPECT_EQ(sum_on((r + 1) % dstd::num_nodes(), p), r + 35);
  }
  EXPECT_THROW(dstd::make_unique_on<Obj>(dstd::num_nodes()), std::invalid_argument);
}

TEST(Coherence, RemoteDestructionRunsAtHomeAndLeaksNothing) {
  const node_t n = dstd::num_nodes();
  const auto before = heap_usage();
  std::vector<int> destroyed_before(n);
  for (node_t r = 0; r < n; ++r) destroyed_before[r] = dstd::run_on(r, [] { return g_destroyed_here.load(); });

  // A list threaded through every node: element i lives on node i % n.
  dstd::unique_ptr<Tracked> head;
  for (int i = 3 * static_cast<int>(n) - 1; i >= 0; --i)
    head = dstd::make_unique_on<Tracked>(static_cast<node_t>(i) % n, static_cast<std::uint64_t>(i), std::move(head));
  // Walk it read-only from node 1: ids 0..3n-1 in order.
  const auto ids = dstd::run_on(1, [](dstd::ref<Tracked> r) {
    std::uint64_t count = 0, in_order = 1;
    const Tracked* t = r.get();
    for (std::uint64_t want = 0; t; ++want, ++count) {
      in_order &= t->id == want;
      t = t->next ? &*t->next : nullptr;
    }
    return count * 2 + in_order;
  }, head.borrow());
  EXPECT_EQ(ids, 3 * n * 2 + 1);

  // Send the head elsewhere so it becomes remote, then drop it from node 2.
  dstd::run_on(2, [](dstd::unique_ptr<Tracked> h) { h.reset(); }, std::move(head));
  EXPECT_EQ(heap_usage(), before) << "every heap returns to its starting usage";
  int total = 0;
  for (node_t r = 0; r < n; ++r)
    total += dstd::run_on(r, [] { return g_destroyed_here.load(); }) - destroyed_before[r];
  EXPECT_EQ(total, static_cast<int>(3 * n)) << "each element destroyed exactly once, at its home";
  EXPECT_GT(cstats(2).remote_destroys + cstats(0).remote_destroys, 0u);
}

TEST(Coherence, BorrowGuardsPinTheirCopyAcrossSynchronization) {
  auto p = dstd::make_unique_on<Obj>(1, Obj{{7, 7, 7, 7, 7, 7, 7, 7}});
  dstd::ref<Obj> r = p.borrow();
  const Obj* copy = r.get();
  EXPECT_EQ(copy->sum(), 56u);
  dstd::coherence::acquire();   // ends the thread's epoch: raw references lapse, the guard's pin does not
  dstd::coherence::clear_cache();
  EXPECT_EQ(r.get(), copy) << "the pinned copy stays where it is";
  EXPECT_EQ(r->sum(), 56u);
  EXPECT_GE(dstd::coherence::local_stats().cache_entries, 1u);
  dstd::ref<Obj> r2 = r;  // a copy pins on its own
  EXPECT_EQ(r2->sum(), 56u);
}

TEST(Coherence, ExclusiveBorrowMovesOnceThenPlainAccess) {
  auto p = dstd::make_unique_on<Obj>(2);
  const auto m0 = dstd::coherence::local_stats().moves;
  {
    dstd::ref_mut<Obj> w = p.borrow_mut();
    for (int i = 0; i < 8; ++i) w->v[i] = 10;
  }
  EXPECT_EQ(dstd::coherence::local_stats().moves - m0, 1u);
  EXPECT_TRUE(p.is_local());
  EXPECT_EQ(sum_on(3, p), 80u);
}

TEST(Coherence, CacheStaysWithinItsBound) {
  const std::size_t cap = dstd::coherence::cache_capacity();
  if (cap > (8u << 20)) GTEST_SKIP() << "run with DSTD_CACHE_SIZE<=8M (ctest does)";
  struct Page {
    std::array<std::uint64_t, 512> w;  // 4 KiB
  };
  const std::size_t count = 3 * cap / sizeof(Page) + 16;
  std::vector<dstd::unique_ptr<Page>> pages;
  for (std::size_t i = 0; i < count; ++i) {
    Page pg{};
    pg.w[0] = i;
    pages.push_back(dstd::make_unique_on<Page>(1, pg));
  }
  const auto s0 = dstd::coherence::local_stats();
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < count; ++i) {
    sum += std::as_const(pages[i])->w[0];
    if (i % 64 == 63) dstd::coherence::acquire();  // ends the epoch: copies become evictable
  }
  dstd::coherence::acquire();
  const auto s1 = dstd::coherence::local_stats();
  EXPECT_EQ(sum, count * (count - 1) / 2);
  EXPECT_EQ(s1.remote_reads - s0.remote_reads, count);
  EXPECT_GT(s1.evictions, s0.evictions);
  EXPECT_LE(s1.cache_bytes, cap);
}

// ---- shared_ptr --------------------------------------------------------------

struct Pair {
  std::uint64_t a = 0, b = 0;
};

TEST(SharedPtr, CountsAcrossNodesAndDestroysAtHomeOnce) {
  const node_t n = dstd::num_nodes();
  const auto before = heap_usage();
  std::vector<int> destroyed_before(n);
  for (node_t r = 0; r < n; ++r) destroyed_before[r] = dstd::run_on(r, [] { return g_destroyed_here.load(); });
  {
    auto sp = dstd::make_shared_on<Tracked>(1, 5);
    EXPECT_EQ(sp.home(), 1u);
    EXPECT_EQ(sp.use_count(), 1);
    dstd::weak_ptr<Tracked> wp = sp;
    // Each node keeps a copy in a heap object of its own; counts go up from there.
    std::vector<dstd::unique_ptr<dstd::shared_ptr<Tracked>>> holders;
    for (node_t r = 0; r < n; ++r)
      holders.push_back(dstd::run_on(r, [](dstd::shared_ptr<Tracked> s) {
        if (std::as_const(s)->id != 5) throw std::runtime_error("wrong object");
        return dstd::make_unique<dstd::shared_ptr<Tracked>>(std::move(s));
      }, sp));
    EXPECT_EQ(sp.use_count(), static_cast<long>(n + 1));
    sp.reset();
    holders.clear();  // the last drop (somewhere remote) destroys the object at node 1
    heap_usage();     // lets the asynchronous destroys run
    EXPECT_TRUE(wp.expired());
    EXPECT_FALSE(wp.lock());
  }
  EXPECT_EQ(heap_usage(), before);
  EXPECT_EQ(dstd::run_on(1, [] { return g_destroyed_here.load(); }) - destroyed_before[1], 1);
  for (node_t r = 0; r < n; ++r)
    if (r != 1) EXPECT_EQ(dstd::run_on(r, [] { return g_destroyed_here.load(); }), destroyed_before[r]);
}

TEST(SharedPtr, WritersOfDifferentFieldsDoNotOverwriteEachOther) {
  // Two threads on node 0 drive writers on nodes 2 and 3 at the same time, each
  // writing its own field of one object homed on node 1 (data-race-free: disjoint
  // bytes). The diffs written home at the end of each call must both survive.
  auto sp = dstd::make_shared_on<Pair>(1);
  for (std::uint64_t round = 1; round <= 50; ++round) {
    std::thread ta([&] {
      dstd::run_on(2, [](dstd::shared_ptr<Pair> s, std::uint64_t v) { s->a = v; }, sp, round);
    });
    std::thread tb([&] {
      dstd::run_on(3, [](dstd::shared_ptr<Pair> s, std::uint64_t v) { s->b = v * 10; }, sp, round);
    });
    ta.join();
    tb.join();
    dstd::coherence::acquire();  // the joins synchronize with the calls' ends
    const Pair seen = dstd::run_on(1, [](dstd::shared_ptr<Pair> s) { return *std::as_const(s); }, sp);
    ASSERT_EQ(seen.a, round);
    ASSERT_EQ(seen.b, round * 10);
    EXPECT_EQ(std::as_const(sp)->a, round) << "node 0 must fetch after its acquire, not reuse an old copy";
    const Pair on3 = dstd::run_on(3, [](dstd::shared_ptr<Pair> s) { return *std::as_const(s); }, sp);
    EXPECT_EQ(on3.a, round) << "node 3 must not reuse a copy from before its last synchronization";
  }
  EXPECT_GT(dstd::coherence::stats_of(2).writebacks, 0u);
}

TEST(SharedPtr, ReadersSeeTheWriterAfterSynchronizing) {
  auto sp = dstd::make_shared<Pair>();
  for (std::uint64_t i = 1; i <= 20; ++i) {
    sp->a = i;  // local: in place
    for (node_t r = 1; r < dstd::num_nodes(); ++r)
      EXPECT_EQ(dstd::run_on(r, [](dstd::shared_ptr<Pair> s) { return std::as_const(s)->a; }, sp), i);
  }
  // A remote writer's private copy is visible to itself before it is written home.
  EXPECT_EQ(dstd::run_on(2, [](dstd::shared_ptr<Pair> s) {
    s->b = 77;
    return std::as_const(s)->b;
  }, sp), 77u);
  EXPECT_EQ(std::as_const(sp)->b, 77u);
}

TEST(SharedPtr, AliasingAndConversions) {
  struct Base {
    std::uint64_t x = 1;
  };
  struct Derived : Base {
    std::uint64_t y = 2;
  };
  dstd::shared_ptr<Derived> d = dstd::make_shared_on<Derived>(2);
  dstd::shared_ptr<Base> b = d;
  EXPECT_EQ(b.use_count(), 2);
  dstd::shared_ptr<std::uint64_t> y(d, &d.get()->y);
  EXPECT_EQ(*std::as_const(y), 2u);
  EXPECT_EQ(std::as_const(b)->x, 1u);
  dstd::shared_ptr<Derived> from_unique(dstd::make_unique_on<Derived>(3));
  EXPECT_EQ(from_unique.home(), 3u);
  EXPECT_EQ(from_unique.use_count(), 1);
  EXPECT_THROW(dstd::shared_ptr<Derived>(dstd::weak_ptr<Derived>()), std::bad_weak_ptr);
}

TEST(UniquePtr, StdApi) {
  auto a = dstd::make_unique<Obj>();
  auto b = dstd::make_unique_on<Obj>(1);
  EXPECT_TRUE(a && b);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, a);
  EXPECT_NE(a, nullptr);
  EXPECT_EQ(a < b, a.get() < b.get());
  auto* raw_b = b.get();
  a.swap(b);
  EXPECT_EQ(a.get(), raw_b);
  EXPECT_EQ(std::hash<dstd::unique_ptr<Obj>>{}(a), std::hash<Obj*>{}(raw_b));
  Obj* released = a.release();
  EXPECT_FALSE(a);
  a.reset(released);  // adopts it again, with a fresh color
  EXPECT_EQ(a.get(), released);
  a = nullptr;
  EXPECT_EQ(a, nullptr);
  dstd::unique_ptr<Obj> c(std::move(b));
  EXPECT_FALSE(b);
  EXPECT_TRUE(c);
  dstd::heap::flush();
}

TEST(UniquePtr, NonTrivialRelocatableType) {
  // An object holding pointers to other heap objects moves with them intact.
  auto outer = dstd::make_unique_on<std::pair<dstd::unique_ptr<Obj>, std::uint64_t>>(3);
  outer->first = dstd::make_unique_on<Obj>(2, Obj{{1, 1, 1, 1, 1, 1, 1, 1}});
  outer->second = 9;
  EXPECT_TRUE(outer.is_local());
  EXPECT_EQ(outer->first.home(), 2u) << "members are not dragged along (that is tbox's job)";
  EXPECT_EQ(std::as_const(outer)->first->sum(), 8u);
}

}  // namespace
