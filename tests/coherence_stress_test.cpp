// Randomized stress of the coherence protocol against a sequential model.
//
// Four driver threads on node 0 each own a set of unique objects (two sizes) and a
// slot of one shared object. Each thread applies thousands of random operations:
// reads on any node (through shipped borrows), writes on any node (the owner
// travels there and back), migrations, bounces of the owner with no access,
// concurrent reads from three nodes at once, destroy-and-recreate on a random node,
// and writes/reads of its own slot of the shared object from any node while the
// other threads write theirs. Every read is checked against the thread's model of
// the object: a stale copy or a lost write fails the test. Synchronization is what
// the contract requires: each remote step is a run_on call (a synchronization
// operation at both ends). At the end every heap must be back to its start.
//
// DSTD_STRESS_OPS (per thread, default 1500) and DSTD_STRESS_SEED change the run.
#include <dstd/memory>
#include <dstd/runtime.hpp>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using dstd::node_t;

template <std::size_t Words>
struct Blob {
  std::array<std::uint64_t, Words> w{};
};
using Small = Blob<8>;    // 64 bytes
using Large = Blob<512>;  // 4 KiB

template <class B>
std::uint64_t digest(const B& b) {
  std::uint64_t h = 1469598103934665603ull;
  for (auto x : b.w) h = (h ^ x) * 1099511628211ull;
  return h;
}
template <class B>
void mutate(B& b, std::uint64_t seed) {
  b.w[seed % b.w.size()] = seed;
  b.w[(seed >> 16) % b.w.size()] ^= seed * 0x9e3779b97f4a7c15ull;
}
template <class B>
B initial(std::uint64_t seed) {
  B b;
  for (std::size_t i = 0; i < b.w.size(); ++i) b.w[i] = seed * 31 + i;
  return b;
}

constexpr int kThreads = 4;
struct Slots {
  std::array<std::uint64_t, kThreads> slot{};
};

std::uint64_t env_or(const char* name, std::uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

struct usage {
  std::uint64_t bytes, blocks;
  bool operator==(const usage&) const = default;
};
std::vector<usage> heap_usage() {
  dstd::heap::flush_all();  // every node, until destructors at home queue nothing new
  std::vector<usage> now;
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    auto s = dstd::heap::stats_of(r);
    now.push_back({s.bytes_in_use, s.blocks_in_use});
  }
  return now;
}

// One driver thread's objects of one size and their model.
template <class B>
struct owned {
  std::vector<dstd::unique_ptr<B>> ptr;
  std::vector<B> model;
};

struct driver {
  int id;
  std::mt19937_64 rng;
  dstd::shared_ptr<Slots> shared;
  std::uint64_t ops = 0;
  std::atomic<int>* failures;
  std::string first_failure;
  owned<Small> small;
  owned<Large> large;
  std::uint64_t my_slot = 0;

  node_t any_node() { return static_cast<node_t>(rng() % dstd::num_nodes()); }

  void fail(const std::string& what) {
    if (first_failure.empty()) first_failure = "thread " + std::to_string(id) + ", op " + std::to_string(ops) + ": " + what;
    failures->fetch_add(1);
  }

  template <class B>
  void check(const owned<B>& o, std::size_t i, std::uint64_t seen, const char* how) {
    if (seen != digest(o.model[i]))
      fail(std::string(how) + " of object " + std::to_string(i) + " (" + std::to_string(sizeof(B)) +
           " bytes) saw a value the model does not have");
  }

  template <class B>
  void populate(owned<B>& o, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t seed = rng();
      o.model.push_back(initial<B>(seed));
      o.ptr.push_back(dstd::make_unique_on<B>(any_node(), o.model.back()));
    }
  }

  template <class B>
  void step(owned<B>& o) {
    const std::size_t i = rng() % o.ptr.size();
    auto& p = o.ptr[i];
    const node_t r = any_node();
    const std::uint64_t seed = rng();
    switch (rng() % 10) {
      case 0:
      case 1:  // read on a random node through a shipped borrow
        check(o, i, dstd::run_on(r, [](dstd::ref<B> x) { return digest(*x); }, p.borrow()), "remote read");
        break;
      case 2:  // read here (const access: cache or local)
        check(o, i, digest(*std::as_const(p)), "local read");
        break;
      case 3:
      case 4:  // write on a random node: the owner travels there and back
        p = dstd::run_on(r, [](dstd::unique_ptr<B> q, std::uint64_t s) {
          mutate(*q, s);
          return q;
        }, std::move(p), seed);
        mutate(o.model[i], seed);
        break;
      case 5:  // write here
        mutate(*p, seed);
        mutate(o.model[i], seed);
        break;
      case 6:  // migrate: a write that changes nothing, on a random node
        p = dstd::run_on(r, [](dstd::unique_ptr<B> q) {
          (void)q.write();
          return q;
        }, std::move(p));
        break;
      case 7:  // bounce the owner through a node without touching the object
        p = dstd::run_on(r, [](dstd::unique_ptr<B> q) { return q; }, std::move(p));
        break;
      case 8: {  // three nodes read it at once (shared borrows in parallel)
        std::uint64_t seen[3];
        std::thread t[3];
        for (int k = 0; k < 3; ++k)
          t[k] = std::thread([&, k, node = static_cast<node_t>((r + k) % dstd::num_nodes())] {
            seen[k] = dstd::run_on(node, [](dstd::ref<B> x) { return digest(*x); }, p.borrow());
          });
        for (auto& th : t) th.join();
        for (auto s : seen) check(o, i, s, "concurrent read");
        break;
      }
      default:  // destroy (wherever it lives) and recreate on a random node
        p.reset();
        o.model[i] = initial<B>(seed);
        p = dstd::make_unique_on<B>(r, o.model[i]);
        break;
    }
  }

  void shared_step() {
    const node_t r = any_node();
    if (rng() % 2) {
      my_slot = rng();
      dstd::run_on(r, [](dstd::shared_ptr<Slots> s, int slot, std::uint64_t v) { s->slot[slot] = v; }, shared, id,
                   my_slot);
    } else {
      const auto seen = dstd::run_on(r, [](dstd::shared_ptr<Slots> s, int slot) { return std::as_const(s)->slot[slot]; },
                                     shared, id);
      if (seen != my_slot) fail("shared slot read on node " + std::to_string(r) + " is stale or lost");
    }
  }

  void run(std::uint64_t n_ops) {
    for (ops = 0; ops < n_ops && first_failure.empty(); ++ops) {
      const auto pick = rng() % 20;
      if (pick < 13)
        step(small);
      else if (pick < 17)
        step(large);
      else
        shared_step();
      // The thread's own acquire after its calls returned: copies it holds from
      // earlier epochs of shared objects must not be reused.
      dstd::coherence::acquire();
    }
  }

  void finish() {
    for (std::size_t i = 0; i < small.ptr.size(); ++i) check(small, i, digest(*std::as_const(small.ptr[i])), "final read");
    for (std::size_t i = 0; i < large.ptr.size(); ++i) check(large, i, digest(*std::as_const(large.ptr[i])), "final read");
    small.ptr.clear();
    large.ptr.clear();
  }
};

TEST(CoherenceStress, RandomOperationsMatchASequentialModel) {
  ASSERT_GE(dstd::num_nodes(), 4u) << "start this test with dstdrun -n 4";
  const std::uint64_t n_ops = env_or("DSTD_STRESS_OPS", 1500);
  const std::uint64_t seed = env_or("DSTD_STRESS_SEED", 20261121);
  std::printf("stress: %d threads x %llu operations, seed %llu\n", kThreads, (unsigned long long)n_ops,
              (unsigned long long)seed);
  const auto before = heap_usage();
  std::vector<dstd::coherence::stats> c0;
  for (node_t r = 0; r < dstd::num_nodes(); ++r) c0.push_back(dstd::coherence::stats_of(r));

  std::atomic<int> failures{0};
  auto shared = dstd::make_shared_on<Slots>(1);
  std::vector<driver> drivers;
  for (int t = 0; t < kThreads; ++t) {
    drivers.push_back(driver{t, std::mt19937_64(seed + t), shared, 0, &failures, {}, {}, {}, 0});
    drivers.back().populate(drivers.back().small, 48);
    drivers.back().populate(drivers.back().large, 16);
  }
  std::vector<std::thread> threads;
  for (auto& d : drivers) threads.emplace_back([&d, n_ops] { d.run(n_ops); });
  for (auto& t : threads) t.join();
  dstd::coherence::acquire();
  for (auto& d : drivers) d.finish();
  for (auto& d : drivers) EXPECT_TRUE(d.first_failure.empty()) << d.first_failure;
  EXPECT_EQ(failures.load(), 0);

  // The shared object holds every thread's last value.
  for (const auto& d : drivers) EXPECT_EQ(std::as_const(shared)->slot[d.id], d.my_slot);
  drivers.clear();
  shared.reset();

  std::uint64_t moves = 0, reads = 0, hits = 0, destroys = 0, writebacks = 0;
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    const auto c = dstd::coherence::stats_of(r);
    moves += c.moves - c0[r].moves;
    reads += c.remote_reads - c0[r].remote_reads;
    hits += c.cache_hits - c0[r].cache_hits;
    destroys += c.remote_destroys - c0[r].remote_destroys;
    writebacks += c.writebacks - c0[r].writebacks;
  }
  std::printf("stress: %llu moves, %llu remote reads, %llu cache hits, %llu remote destroys, %llu writebacks\n",
              (unsigned long long)moves, (unsigned long long)reads, (unsigned long long)hits,
              (unsigned long long)destroys, (unsigned long long)writebacks);
  // The run must have exercised every path it claims to.
  EXPECT_GT(moves, n_ops / 2);
  EXPECT_GT(reads, n_ops / 2);
  EXPECT_GT(hits, 0u);
  EXPECT_GT(destroys, 0u);
  EXPECT_GT(writebacks, 0u);
  EXPECT_EQ(heap_usage(), before) << "no leak: every heap returns to its starting usage";
}

}  // namespace
