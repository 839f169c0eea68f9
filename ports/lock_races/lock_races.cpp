// lock_races — the Transparent DSM Library paper's correctness workload: four shared
// counters, each guarded by its own mutex, and eleven operations that each touch two
// counters under nested locks taken in a fixed order (add to both, or move one
// counter's value into the other), chosen at random by workers on every node.
// Invariant: the counters' sum equals the sum of every worker's local tally of what
// it added. The counters themselves depend on the interleaving; the result line
// checksums only what is deterministic (the sum, the tallies, the operation counts).
#include <cstdint>
#include <cstdio>

#include "../common/port.hpp"
#include "../common/zipf.hpp"

namespace {

struct counters {
  using dstd_relocatable = std::true_type;
  mutable ns::mutex m[4];
  std::int64_t c[4] = {0, 0, 0, 0};
};

// The eleven operations: adds to each of the six pairs, moves along five of them.
struct pair_op {
  int a, b;  // a < b: locks are taken in index order
  bool move;
};
constexpr pair_op kOps[11] = {{0, 1, false}, {0, 2, false}, {0, 3, false}, {1, 2, false}, {1, 3, false}, {2, 3, false},
                              {0, 1, true},  {1, 2, true},  {2, 3, true},  {0, 3, true},  {1, 3, true}};

struct tally {
  std::int64_t added = 0;
  std::uint64_t ops = 0, moves = 0;
};

void worker(ns::shared_ptr<counters> shared, std::uint64_t ops, std::uint64_t seed, std::uint64_t w,
            ns::shared_ptr<tally> out) {
  port::rng64 r(port::mix(seed, w));
  tally t;
  for (std::uint64_t i = 0; i < ops; ++i) {
    const pair_op& op = kOps[r.next() % 11];
    const std::int64_t x = static_cast<std::int64_t>(r.next() % 100) + 1;
    std::lock_guard<ns::mutex> first(std::as_const(shared)->m[op.a]);
    std::lock_guard<ns::mutex> second(std::as_const(shared)->m[op.b]);
    auto& c = shared->c;  // after both locks: the writes are written home at the unlocks
    if (op.move) {
      const bool forward = (r.next() & 1) != 0;
      std::int64_t& from = forward ? c[op.a] : c[op.b];
      std::int64_t& to = forward ? c[op.b] : c[op.a];
      to += from;
      from = 0;
      ++t.moves;
    } else {
      c[op.a] += x;
      c[op.b] += x;
      t.added += 2 * x;
    }
    ++t.ops;
  }
  *out = t;
}

}  // namespace

int main(int argc, char** argv) {
  port::options o(argc, argv, argv[0], "lock_races: nested locks over 4 shared counters, checked by an invariant");
  const std::uint64_t workers = o.get("workers", 6, 3, "worker threads, spread over the nodes");
  const std::uint64_t ops = o.get("ops", 10000, 2000, "operations per worker");
  const std::uint64_t seed = o.get("seed", 7, 7, "seed of the operation streams");
  o.done();
  const unsigned nodes = port::nodes();
  auto shared = ns::make_shared<counters>();
  std::vector<ns::shared_ptr<tally>> tallies;
  for (std::uint64_t w = 0; w < workers; ++w) tallies.push_back(port::make_shared_on<tally>(static_cast<unsigned>(w % nodes)));
  port::timed_phase clock;
  std::vector<ns::thread> threads;
  for (std::uint64_t w = 0; w < workers; ++w)
    threads.push_back(port::spawn_on(static_cast<unsigned>(w % nodes), worker, shared, ops, seed, w, tallies[w]));
  for (auto& t : threads) t.join();
  const double secs = clock.end();

  std::int64_t added = 0;
  std::uint64_t total_ops = 0, moves = 0;
  for (const auto& t : tallies) {
    const tally& x = *std::as_const(t);
    added += x.added;
    total_ops += x.ops;
    moves += x.moves;
  }
  const auto& c = std::as_const(shared)->c;
  const std::int64_t sum = c[0] + c[1] + c[2] + c[3];
  std::fprintf(stderr, "lock_races: counters %lld %lld %lld %lld, sum %lld, tallies %lld, %llu moves\n",
               static_cast<long long>(c[0]), static_cast<long long>(c[1]), static_cast<long long>(c[2]),
               static_cast<long long>(c[3]), static_cast<long long>(sum), static_cast<long long>(added),
               static_cast<unsigned long long>(moves));
  if (sum != added) {
    std::fprintf(stderr, "lock_races: INVARIANT BROKEN: counters sum to %lld, tallies to %lld\n",
                 static_cast<long long>(sum), static_cast<long long>(added));
    return 1;
  }
  std::uint64_t h = port::mix(static_cast<std::uint64_t>(sum), total_ops);
  h = port::mix(h, moves);
  port::report(h, static_cast<double>(total_ops) / secs, "ops/s");
  return 0;
}
