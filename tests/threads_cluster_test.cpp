// Distributed threads, synchronization and channels across real node processes.
#include <dstd/atomic>
#include <dstd/barrier>
#include <dstd/channel.hpp>
#include <dstd/condition_variable>
#include <dstd/heap.hpp>
#include <dstd/latch>
#include <dstd/memory>
#include <dstd/mutex>
#include <dstd/semaphore>
#include <dstd/settings.hpp>
#include <dstd/shared_mutex>
#include <dstd/thread>
#include <dstd/vector>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using dstd::node_t;

TEST(Threads, SpawnToRunsOnEveryNode) {
  ASSERT_GE(dstd::num_nodes(), 4u);
  dstd::atomic<std::uint64_t> seen(0);
  std::vector<dstd::thread> ts;
  for (node_t r = 0; r < dstd::num_nodes(); ++r)
    ts.push_back(dstd::spawn_to(r, [](dstd::atomic<std::uint64_t> s, node_t want) {
      if (dstd::this_thread::node() == want) s.fetch_or(std::uint64_t{1} << want);
    }, seen, r));
  std::set<std::uint64_t> ids;
  for (auto& t : ts) {
    ids.insert(t.get_id().value());
    EXPECT_TRUE(t.joinable());
    t.join();
    EXPECT_FALSE(t.joinable());
  }
  EXPECT_EQ(ids.size(), dstd::num_nodes()) << "thread ids are unique across the job";
  EXPECT_EQ(seen.load(), (std::uint64_t{1} << dstd::num_nodes()) - 1);
}

TEST(Threads, PlacementFollowsThePolicy) {
  const std::string policy = dstd::settings::get("DSTD_PLACEMENT");
  const unsigned n = 3 * dstd::num_nodes();
  dstd::latch started(n), release(1);
  dstd::atomic<std::uint64_t> nodes_used(0);
  std::vector<dstd::thread> ts;
  std::vector<node_t> placed;
  for (unsigned i = 0; i < n; ++i) {
    // Each thread stays busy until all have started, so placement sees the load.
    ts.emplace_back([](dstd::latch s, dstd::latch r, dstd::atomic<std::uint64_t> used) {
      used.fetch_or(std::uint64_t{1} << dstd::this_thread::node());
      s.count_down();
      r.wait();
    }, started, release, nodes_used);
    placed.push_back(ts.back().node());
  }
  started.wait();
  release.count_down();
  for (auto& t : ts) t.join();
  const std::uint64_t used = nodes_used.load();
  std::uint64_t placed_mask = 0;
  for (node_t p : placed) placed_mask |= std::uint64_t{1} << p;
  EXPECT_EQ(used, placed_mask) << "this_thread::node() agrees with thread::node()";
  if (policy == "local") {
    EXPECT_EQ(used, 1u) << "local: every thread on node 0";
  } else if (policy == "round_robin") {
    EXPECT_EQ(used, (std::uint64_t{1} << dstd::num_nodes()) - 1) << "round_robin: every node";
    for (unsigned i = 0; i < n; ++i) EXPECT_EQ(placed[i], (placed[0] + i) % dstd::num_nodes()) << "in turn";
  } else {
    EXPECT_EQ(placed[0], 0u) << "least_loaded: local first while a core is idle";
    EXPECT_GE(std::popcount(used), 3) << "least_loaded: then the least loaded nodes";
  }
}

TEST(Threads, SpawnNearRunsWhereTheObjectLives) {
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    auto p = dstd::make_unique_on<std::uint64_t>(r, 0);
    dstd::atomic<std::uint64_t> where(99);
    auto t = dstd::spawn_near(p, [](dstd::atomic<std::uint64_t> w) { w.store(dstd::this_thread::node()); }, where);
    EXPECT_EQ(t.node(), r);
    t.join();
    EXPECT_EQ(where.load(), r);
  }
}


// An object built by make_*_on(node) keeps its mutex where it lives: locking it
// there is the local CAS, and every node still locks the same mutex.
struct guarded_counter {
  using dstd_relocatable = std::true_type;
  mutable dstd::mutex m;  // lockable through a const (shared, cached) view, as with std
  std::uint64_t n = 0;
};

TEST(Placement, MutexMembersLiveWithTheirObject) {
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    auto s = dstd::make_shared_on<guarded_counter>(r);
    auto u = dstd::make_unique_on<guarded_counter>(r);
    auto v = dstd::make_vector_on<guarded_counter>(r, 3);
    EXPECT_EQ(dstd::heap::home(s.get()), r);
    EXPECT_EQ(std::as_const(s)->m.home(), r);
    EXPECT_EQ(std::as_const(u)->m.home(), r);
    for (const auto& g : std::as_const(v)) EXPECT_EQ(g.m.home(), r);
    // Increment under the lock from every node; the owner node's lock is local.
    std::vector<dstd::thread> ts;
    for (node_t q = 0; q < dstd::num_nodes(); ++q)
      ts.push_back(dstd::spawn_to(q, [](dstd::shared_ptr<guarded_counter> p) {
        dstd::mutex m = std::as_const(p)->m;  // an alias: the lock outlives the cached copy
        for (int i = 0; i < 50; ++i) {
          std::lock_guard g(m);
          ++p->n;
        }
      }, s));
    for (auto& t : ts) t.join();
    EXPECT_EQ(std::as_const(s)->n, 50u * dstd::num_nodes());
  }
}
// std::lock_guard on a mutex reached through a cached copy of its remote object:
// the lock's acquire ends the epoch that pinned the copy, but unlock() reads the
// mutex through the same reference, so the copy must outlive the lock. Evicting
// the cache and filling it with other bytes in between must not reach the unlock.
TEST(Placement, LockTakenThroughACachedCopyUnlocksAfterEviction) {
  if (dstd::num_nodes() < 2) GTEST_SKIP() << "needs 2 nodes";
  struct junk {
    using dstd_relocatable = std::true_type;
    std::array<std::uint64_t, 2> w;
  };
  static_assert(sizeof(junk) == sizeof(guarded_counter));
  auto s = dstd::make_shared_on<guarded_counter>(1);
  std::vector<dstd::shared_ptr<junk>> others;
  for (int i = 0; i < 8; ++i) others.push_back(dstd::make_shared_on<junk>(1, junk{{~0ull, ~0ull}}));
  for (int i = 0; i < 20; ++i) {
    std::lock_guard g(std::as_const(s)->m);  // a reference into this thread's cached copy
    dstd::coherence::clear_cache();          // drops every copy nobody holds
    for (const auto& o : others) EXPECT_EQ(std::as_const(o)->w[0], ~0ull);  // new copies, other bytes
    ++s->n;
  }
  EXPECT_EQ(std::as_const(s)->n, 20u);

  // Two locks in one copy (std::scoped_lock, a recursive mutex locked twice), and a
  // timed wait that unlocks and relocks inside: each unlock still finds its mutex.
  struct locks {
    using dstd_relocatable = std::true_type;
    mutable dstd::mutex a, b;
    mutable dstd::recursive_mutex r;
    std::uint64_t pad = 0;
  };
  auto t = dstd::make_shared_on<locks>(1);
  dstd::condition_variable cv;
  auto evict = [&] {
    dstd::coherence::clear_cache();
    for (const auto& o : others) EXPECT_EQ(std::as_const(o)->w[0], ~0ull);
  };
  for (int i = 0; i < 10; ++i) {
    {
      std::scoped_lock g(std::as_const(t)->a, std::as_const(t)->b);
      evict();
    }
    {
      const locks& c = *std::as_const(t);
      std::lock_guard x(c.r);
      std::lock_guard y(c.r);
      evict();
    }
    {
      std::unique_lock lk(std::as_const(t)->a);
      EXPECT_EQ(cv.wait_for(lk, std::chrono::milliseconds(1)), std::cv_status::timeout);
      evict();
    }
  }
}

TEST(Threads, JoinSeesTheThreadsWrites) {
  auto data = dstd::make_shared<std::array<std::uint64_t, 4>>();
  std::vector<dstd::thread> ts;
  for (node_t r = 0; r < 4; ++r)
    ts.push_back(dstd::spawn_to(r % dstd::num_nodes(), [](dstd::shared_ptr<std::array<std::uint64_t, 4>> d, node_t i) {
      (*d)[i] = 100 + i;  // a private copy on remote nodes; written home at the thread's end
    }, data, r));
  for (auto& t : ts) t.join();
  for (std::uint64_t i = 0; i < 4; ++i) EXPECT_EQ((*std::as_const(data))[i], 100 + i);
}

// ---- lock_races (Transparent DSM Library paper) --------------------------------

struct Counters {
  using dstd_relocatable = std::true_type;
  std::array<std::uint64_t, 4> c{};
  std::array<dstd::mutex, 4> m;
};

// 11 operations on two counters each, locks always taken in index order.
struct op_def {
  int a, b;
  bool move;
};
constexpr op_def kOps[11] = {{0, 1, false}, {0, 2, false}, {0, 3, false}, {1, 2, false}, {1, 3, false},
                             {2, 3, false}, {0, 1, true},  {1, 2, true},  {2, 3, true},  {0, 3, true},
                             {1, 3, true}};

void race_thread(dstd::shared_ptr<Counters> s, std::uint64_t seed, std::uint64_t ops, dstd::atomic<std::uint64_t> total) {
  std::mt19937_64 rng(seed);
  std::uint64_t tally = 0;
  // The mutex handles never change: take aliases once (a read of the shared object).
  std::array<dstd::mutex, 4> m = std::as_const(s)->m;
  for (std::uint64_t i = 0; i < ops; ++i) {
    const op_def& op = kOps[rng() % 11];
    const std::uint64_t v = rng() % 100;
    std::lock_guard first(m[op.a]);
    std::lock_guard second(m[op.b]);
    auto& c = s->c;  // after acquiring: a fresh private copy, written home at unlock
    if (op.move) {
      c[op.b] += c[op.a];
      c[op.a] = 0;
    } else {
      c[op.a] += v;
      c[op.b] += v;
      tally += 2 * v;
    }
  }
  total.fetch_add(tally);
}

TEST(LockRaces, InvariantHoldsTwentyRunsInARow) {
  const node_t nodes = dstd::num_nodes();
  const std::uint64_t ops = std::getenv("DSTD_LOCK_RACES_OPS") ? std::strtoull(std::getenv("DSTD_LOCK_RACES_OPS"), nullptr, 10) : 10000;
  for (int run = 0; run < 20; ++run) {
    auto s = dstd::make_shared_on<Counters>(run % nodes);
    dstd::atomic<std::uint64_t> total(0);
    std::vector<dstd::thread> ts;
    for (node_t r = 1; r < nodes; ++r)  // at least 3 nodes besides node 0's main
      ts.push_back(dstd::spawn_to(r, &race_thread, s, std::uint64_t(run * 100 + r), ops, total));
    for (auto& t : ts) t.join();
    const auto c = std::as_const(s)->c;
    ASSERT_EQ(c[0] + c[1] + c[2] + c[3], total.load()) << "run " << run;
  }
}

// ---- bank transfers with condition variables ---------------------------------

struct Bank {
  using dstd_relocatable = std::true_type;
  std::array<std::int64_t, 4> balance{};
  dstd::mutex m;
  dstd::condition_variable funds;
};

TEST(ConditionVariable, BankTransfersWaitForFunds) {
  auto bank = dstd::make_shared_on<Bank>(1);
  {
    dstd::lock_guard g(bank->m);
    bank->balance = {0, 0, 0, 0};  // empty: every transfer must wait for a deposit
  }
  constexpr int kTransfers = 200;
  std::vector<dstd::thread> ts;
  // Movers on nodes 2 and 3: take 1 from account i (waiting until it has it), give to i+1.
  for (int i = 0; i < 3; ++i)
    ts.push_back(dstd::spawn_to(2 + i % 2, [](dstd::shared_ptr<Bank> b, int from) {
      dstd::mutex m = std::as_const(b)->m;
      dstd::condition_variable cv = std::as_const(b)->funds;
      for (int k = 0; k < kTransfers; ++k) {
        dstd::unique_lock lk(m);
        cv.wait(lk, [&] { return std::as_const(b)->balance[from] > 0; });
        b->balance[from] -= 1;
        b->balance[from + 1] += 1;
        cv.notify_all();
      }
    }, bank, i));
  // The depositor, on node 0: puts in exactly what the movers need, a little at a time.
  for (int k = 0; k < kTransfers; ++k) {
    dstd::mutex m = std::as_const(bank)->m;
    dstd::lock_guard g(m);
    bank->balance[0] += 1;
    dstd::condition_variable(std::as_const(bank)->funds).notify_all();
  }
  for (auto& t : ts) t.join();
  const auto b = std::as_const(bank)->balance;
  EXPECT_EQ(b[0] + b[1] + b[2] + b[3], kTransfers) << "no money created or lost";
  EXPECT_EQ(b[3], kTransfers) << "every unit moved through every account";
}

// ---- channels ----------------------------------------------------------------

struct Payload {
  std::array<std::uint64_t, 64> bytes{};  // 512 bytes that must not travel
};
using Item = std::pair<dstd::unique_ptr<Payload>, std::uint64_t>;

TEST(Channel, PipelineAcrossFourNodesMovesOnlyPointers) {
  ASSERT_GE(dstd::num_nodes(), 4u);
  constexpr std::uint64_t kItems = 300;
  dstd::heap::flush_all();
  std::vector<dstd::coherence::stats> before;
  for (node_t r = 0; r < 4; ++r) before.push_back(dstd::coherence::stats_of(r));
  const auto heap0 = dstd::heap::stats_of(0);

  // Each stage's input channel is homed on the stage's node.
  auto in1 = dstd::run_on(1, [] { return dstd::channel<Item>(16); });
  auto in2 = dstd::run_on(2, [] { return dstd::channel<Item>(16); });
  auto in3 = dstd::run_on(3, [] { return dstd::channel<Item>(); });
  auto [done_tx, done_rx] = dstd::channel<std::uint64_t>();
  auto pass = [](dstd::receiver<Item> rx, dstd::sender<Item> tx) {
    while (auto item = rx.recv()) tx.send(std::move(*item));  // 8-byte pointer + id
  };
  dstd::thread s1 = dstd::spawn_to(1, pass, std::move(in1.second), std::move(in2.first));
  dstd::thread s2 = dstd::spawn_to(2, pass, std::move(in2.second), std::move(in3.first));
  dstd::thread s3 = dstd::spawn_to(3, [](dstd::receiver<Item> rx, dstd::sender<std::uint64_t> out) {
    std::uint64_t sum = 0, count = 0;
    while (auto item = rx.recv()) {
      sum += item->second;
      ++count;  // item->first is dropped here: destroyed at its home, node 0
    }
    out.send(sum);
    out.send(count);
  }, std::move(in3.second), std::move(done_tx));
  {
    dstd::sender<Item> tx = std::move(in1.first);
    for (std::uint64_t i = 0; i < kItems; ++i) tx.send(Item{dstd::make_unique<Payload>(), i});
  }  // the last sender goes: the pipeline drains and closes stage by stage
  EXPECT_EQ(done_rx.recv(), kItems * (kItems - 1) / 2);
  EXPECT_EQ(done_rx.recv(), kItems);
  s1.join();
  s2.join();
  s3.join();
  { auto drop = std::move(done_rx); }  // the last channel homed on node 0
  dstd::heap::flush_all();

  std::uint64_t moves = 0, reads = 0, destroys = 0;
  for (node_t r = 0; r < 4; ++r) {
    const auto s = dstd::coherence::stats_of(r);
    moves += s.moves - before[r].moves;
    reads += s.read_bytes - before[r].read_bytes;
    destroys += s.remote_destroys - before[r].remote_destroys;
  }
  EXPECT_EQ(moves, 0u) << "no payload moved";
  EXPECT_EQ(reads, 0u) << "no payload byte was read remotely";
  EXPECT_EQ(destroys, kItems) << "each payload was destroyed at its home from node 3";
  EXPECT_EQ(dstd::heap::stats_of(0).blocks_in_use, heap0.blocks_in_use) << "and freed there";
}

TEST(Channel, BoundedSendWaitsAndClosedReceiverRefuses) {
  auto [tx, rx] = dstd::run_on(2, [] { return dstd::channel<int>(2); });
  EXPECT_TRUE(tx.try_send(1));
  EXPECT_TRUE(tx.try_send(2));
  EXPECT_FALSE(tx.try_send(3)) << "full";
  auto t = dstd::spawn_to(3, [](dstd::receiver<int> r) {
    dstd::this_thread::sleep_for(std::chrono::milliseconds(20));
    while (auto v = r.recv()) (void)v;
  }, std::move(rx));
  EXPECT_TRUE(tx.send(4)) << "waits for room, then succeeds";
  { auto drop = std::move(tx); }
  t.join();
}

// Items still queued when the receiver goes are destroyed (by the receiver's drain),
// and a send after that fails and destroys its own item: each item once.
struct tracked {
  using dstd_relocatable = std::true_type;
  dstd::atomic<std::uint64_t> destroyed;  // an alias of the test's counter
  bool live = true;
  explicit tracked(const dstd::atomic<std::uint64_t>& c) : destroyed(c) {}
  tracked(tracked&& o) noexcept : destroyed(o.destroyed), live(std::exchange(o.live, false)) {}
  ~tracked() {
    if (live) destroyed.fetch_add(1);
  }
};

TEST(Channel, DroppedReceiverDestroysQueuedItems) {
  const node_t n = dstd::num_nodes();
  dstd::atomic<std::uint64_t> destroyed(0);
  auto [tx, rx] = dstd::run_on(2 % n, [] { return dstd::channel<tracked>(); });
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(tx.send(tracked(destroyed)));
  EXPECT_EQ(destroyed.load(), 0u);
  dstd::spawn_to(3 % n, [](dstd::receiver<tracked> r) { (void)r; }, std::move(rx)).join();
  EXPECT_EQ(destroyed.load(), 5u) << "the dropped receiver destroys what was queued";
  EXPECT_FALSE(tx.send(tracked(destroyed)));
  EXPECT_EQ(destroyed.load(), 6u) << "a refused item is destroyed by its sender";
}

// Unbounded sends from other nodes are one-way under a lease, yet none is lost or
// reordered: two threads on each of three nodes send numbered items; each then hands
// its sender to the next node, whose drop may reach the home before the items do.
TEST(Channel, OneWaySendsKeepEachThreadsOrderAndAllArriveBeforeClose) {
  ASSERT_GE(dstd::num_nodes(), 4u);
  constexpr std::uint64_t kPerThread = 3000;
  auto [tx, rx] = dstd::channel<std::uint64_t>();  // homed here, unbounded
  dstd::atomic<std::uint64_t> replies(0);  // control messages the sending nodes received while sending
  std::vector<dstd::thread> ts;
  for (node_t r = 1; r < 4; ++r)
    for (std::uint64_t k = 0; k < 2; ++k)
      ts.push_back(dstd::spawn_to(r, [](dstd::sender<std::uint64_t> s, std::uint64_t tag,
                                        dstd::atomic<std::uint64_t> replies) {
        const std::uint64_t before = dstd::local_traffic().messages_received;
        for (std::uint64_t i = 0; i < kPerThread; ++i)
          if (!s.send(tag << 32 | i)) std::abort();
        replies.fetch_add(dstd::local_traffic().messages_received - before);
        const node_t next = dstd::this_thread::node() % 3 + 1;
        dstd::spawn_to(next, [](dstd::sender<std::uint64_t> moved) { (void)moved; }, std::move(s)).join();
      }, tx, r * 2 + k, replies));
  { auto drop = std::move(tx); }
  std::map<std::uint64_t, std::uint64_t> next;  // per sending thread: the number it must send next
  std::uint64_t count = 0, out_of_order = 0;
  while (auto v = rx.recv()) {
    std::uint64_t& want = next[*v >> 32];
    if ((*v & 0xffffffffu) != want) ++out_of_order;
    want = (*v & 0xffffffffu) + 1;
    ++count;
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(count, 6 * kPerThread) << "every item arrived before the channel read as closed";
  EXPECT_EQ(out_of_order, 0u) << "each thread's items arrive in the order it sent them";
  EXPECT_EQ(next.size(), 6u);
  // A round trip per send would bring 6 x kPerThread replies back.
  EXPECT_LT(replies.load(), kPerThread) << "sends after a node's first are one-way";
}

// The receiver's drop settles the leases: items posted one-way before it are drained
// and destroyed by the receiver, later sends are refused, and nothing is lost twice.
TEST(Channel, ReceiverDroppedWhileRemoteNodesPostDestroysEachItemOnce) {
  ASSERT_GE(dstd::num_nodes(), 4u);
  dstd::atomic<std::uint64_t> destroyed(0), refused(0), accepted(0);
  auto [tx, rx] = dstd::run_on(1, [] { return dstd::channel<tracked>(); });
  std::vector<dstd::thread> ts;
  for (node_t r = 2; r < 4; ++r)
    ts.push_back(dstd::spawn_to(r, [](dstd::sender<tracked> s, dstd::atomic<std::uint64_t> d,
                                      dstd::atomic<std::uint64_t> no, dstd::atomic<std::uint64_t> yes) {
      for (int i = 0; i < 400; ++i) (s.send(tracked(d)) ? yes : no).fetch_add(1);
    }, tx, destroyed, refused, accepted));
  dstd::spawn_to(1, [](dstd::receiver<tracked> r) {
    for (int i = 0; i < 50; ++i) (void)r.recv();  // received items die here
  }, std::move(rx)).join();
  for (auto& t : ts) t.join();
  EXPECT_EQ(accepted.load() + refused.load(), 800u);
  EXPECT_GE(accepted.load(), 50u);
  EXPECT_EQ(destroyed.load(), 800u) << "each item destroyed exactly once: received, drained or refused";
}

// ---- the other primitives across nodes ---------------------------------------

TEST(Sync, SemaphoreLatchBarrierSharedMutexRecursiveMutexAtomics) {
  const node_t n = dstd::num_nodes();
  dstd::counting_semaphore<> slots(2);
  dstd::atomic<int> inside(0), max_inside(0);
  dstd::barrier phase(static_cast<std::ptrdiff_t>(n));
  dstd::latch all_done(static_cast<std::ptrdiff_t>(n - 1));
  dstd::shared_mutex rw;
  dstd::recursive_mutex rec;
  dstd::atomic<std::uint64_t> phase_errors(0);
  dstd::atomic<std::uint64_t> arrivals(0);
  std::vector<dstd::thread> ts;
  for (node_t r = 1; r < n; ++r)
    ts.push_back(dstd::spawn_to(r, [](dstd::counting_semaphore<> s, dstd::atomic<int> in, dstd::atomic<int> mx,
                                      dstd::barrier<> b, dstd::latch l, dstd::shared_mutex m, dstd::recursive_mutex rm,
                                      dstd::atomic<std::uint64_t> errs, dstd::atomic<std::uint64_t> arr, node_t nn) {
      for (int k = 0; k < 20; ++k) {
        s.acquire();
        const int now = in.fetch_add(1) + 1;
        int seen = mx.load();
        while (now > seen && !mx.compare_exchange_weak(seen, now)) {
        }
        in.fetch_sub(1);
        s.release();
      }
      for (int ph = 0; ph < 3; ++ph) {  // every node arrives before anyone leaves a phase
        arr.fetch_add(1);
        b.arrive_and_wait();
        if (arr.load() < (ph + 1) * nn) errs.fetch_add(1);
        b.arrive_and_wait();
      }
      {
        std::shared_lock g(m);
      }
      {
        std::lock_guard a(rm);
        std::lock_guard again(rm);  // recursive
      }
      l.count_down();
    }, slots, inside, max_inside, phase, all_done, rw, rec, phase_errors, arrivals, n));
  for (int ph = 0; ph < 3; ++ph) {
    arrivals.fetch_add(1);
    phase.arrive_and_wait();
    if (arrivals.load() < (ph + 1) * n) phase_errors.fetch_add(1);
    phase.arrive_and_wait();
  }
  all_done.wait();
  EXPECT_TRUE(all_done.try_wait());
  for (auto& t : ts) t.join();
  EXPECT_LE(max_inside.load(), 2) << "the semaphore admits at most 2";
  EXPECT_EQ(phase_errors.load(), 0u) << "nobody left a barrier phase early";
  EXPECT_TRUE(rw.try_lock());
  rw.unlock();

  // atomic wait/notify across nodes: a waiter on node 2 is woken, not spinning.
  dstd::atomic<int> flag(0);
  auto w = dstd::spawn_to(2, [](dstd::atomic<int> f) { f.wait(0); }, flag);
  dstd::this_thread::sleep_for(std::chrono::milliseconds(20));
  flag.store(1);
  flag.notify_all();
  w.join();
}

// The completion runs once per phase, after every arrival of that phase and before
// anyone leaves it, whichever node's thread arrives last; split arrive()/wait()
// and arrive_and_drop count as arrivals like arrive_and_wait.
struct phase_check {
  using dstd_relocatable = std::true_type;
  dstd::atomic<std::uint64_t> arrivals, phases, errors;
  std::uint64_t participants;
  // Participants fall by one after phase `drop_after` (one thread drops).
  std::uint64_t drop_after;
  void operator()() {
    const std::uint64_t ph = phases.load();
    std::uint64_t want = 0;  // arrivals by the end of phase ph
    for (std::uint64_t p = 0; p <= ph; ++p) want += p <= drop_after ? participants : participants - 1;
    if (arrivals.load() != want) errors.fetch_add(1);
    phases.fetch_add(1);
  }
};

TEST(Sync, BarrierCompletionRunsOncePerPhaseBeforeAnyoneLeaves) {
  const node_t n = dstd::num_nodes();
  constexpr std::uint64_t kPhases = 12, kDropAfter = 5;
  const std::uint64_t participants = 2 * n;  // two threads on every node
  phase_check check{dstd::atomic<std::uint64_t>(0), dstd::atomic<std::uint64_t>(0), dstd::atomic<std::uint64_t>(0),
                    participants, kDropAfter};
  dstd::barrier sync(static_cast<std::ptrdiff_t>(participants), check);
  dstd::atomic<std::uint64_t> early(0);  // threads that left a phase before its completion ran
  std::vector<dstd::thread> ts;
  for (std::uint64_t t = 0; t < participants; ++t)
    ts.push_back(dstd::spawn_to(static_cast<node_t>(t % n), [](dstd::barrier<phase_check> b, phase_check c,
                                                                dstd::atomic<std::uint64_t> left_early, std::uint64_t me) {
      for (std::uint64_t ph = 0; ph < kPhases; ++ph) {
        c.arrivals.fetch_add(1);
        if (me == 0 && ph == kDropAfter) {  // the last phase this thread takes part in
          b.arrive_and_drop();
          return;
        }
        if (me % 2) {
          b.arrive_and_wait();
        } else {
          auto token = b.arrive();
          b.wait(std::move(token));
        }
        if (c.phases.load() < ph + 1) left_early.fetch_add(1);
      }
    }, sync, check, early, t));
  for (auto& t : ts) t.join();
  EXPECT_EQ(check.phases.load(), kPhases) << "one completion per phase";
  EXPECT_EQ(check.errors.load(), 0u) << "a completion ran before its phase's last arrival";
  EXPECT_EQ(early.load(), 0u) << "a thread left a phase before its completion ran";
  std::uint64_t arrivals = 0;
  for (std::uint64_t p = 0; p < kPhases; ++p) arrivals += p <= kDropAfter ? participants : participants - 1;
  EXPECT_EQ(check.arrivals.load(), arrivals);
}

TEST(Sync, StopTokenReachesAnotherNode) {
  dstd::atomic<int> loops(0);
  {
    dstd::jthread t([](dstd::stop_token st, dstd::atomic<int> l) {
      while (!st.stop_requested()) {
        l.fetch_add(1);
        dstd::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }, loops);
    while (loops.load() < 3) dstd::this_thread::sleep_for(std::chrono::milliseconds(1));
  }  // ~jthread: request_stop + join
  EXPECT_GE(loops.load(), 3);
}

}  // namespace
