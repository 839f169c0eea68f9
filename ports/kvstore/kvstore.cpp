// kvstore — DRust's KV store benchmark: a hash table of buckets ("shards"), each
// with its own mutex, 8-byte keys and 32-byte values. Keys are drawn from a Zipf
// distribution (theta 0.99), 90% gets and 10% puts, by worker threads spread over
// every node after a populate phase.
//
// Determinism: worker w's operation stream depends only on (seed, w), and every
// put of key k writes the same value (version 1 of k), so the final table is the
// same for every interleaving and node count. The result checksums the final
// table and the operation counts; every get checks that it saw version 0 or 1.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "../common/port.hpp"
#include "../common/zipf.hpp"

namespace {

struct entry {
  std::uint64_t key;
  std::array<std::uint64_t, 4> value;  // 32 bytes
};

std::array<std::uint64_t, 4> value_of(std::uint64_t key, std::uint64_t version) {
  std::array<std::uint64_t, 4> v{};
  for (std::uint64_t i = 0; i < 4; ++i) v[i] = port::mix(key + version, i);
  return v;
}

std::uint64_t key_of(std::uint64_t seed, std::uint64_t i) { return port::mix(seed, i) | 1; }
// The bucket of a key. Not `key % shards`: keys are odd, so that would use only odd
// buckets, every one of them on odd nodes (on 2 nodes, all operations on node 1).
std::uint64_t shard_of(std::uint64_t key, std::uint64_t shards) { return (key >> 1) % shards; }

struct shard {
  using dstd_relocatable = std::true_type;
  mutable ns::mutex m;
  ns::vector<entry> items;
  shard() = default;
  explicit shard(ns::vector<entry> it) : items(std::move(it)) {}
};
using shard_ptr = ns::shared_ptr<shard>;

struct params {
  std::uint64_t keys, shards, ops, seed;
  double zetan;
};

struct tally {
  std::uint64_t gets = 0, puts = 0, found = 0, bad = 0;
};

// One worker: `ops` operations on keys drawn by Zipf over the shared shard table,
// which it borrows: copying its 65,536 handles would change as many owner counts
// twice, a fabric atomic each on dstd's nodes (1.18M atomics for 160K operations
// on 2 nodes, 163K borrowed).
void worker(ns::shared_ptr<ns::vector<shard_ptr>> table, params p, std::uint64_t w, ns::shared_ptr<tally> out) {
  const auto table_ref = port::borrow(table);
  const ns::vector<shard_ptr>& shards = *table_ref;  // handles only: the shards stay where they live
  const port::zipf z(p.keys, 0.99, p.zetan);
  port::rng64 r(port::mix(p.seed, 1000 + w));
  tally t;
  for (std::uint64_t i = 0; i < p.ops; ++i) {
    const std::uint64_t key = key_of(p.seed, z(r));
    const shard_ptr& sp = shards[shard_of(key, p.shards)];
    const bool put = r.next() % 10 == 0;
    std::lock_guard<ns::mutex> g(sp->m);
    if (put) {
      ++t.puts;
      auto& items = port::write(sp).items;  // (dstd's const handle reads; write() writes)
      for (auto& e : items)
        if (e.key == key) {
          e.value = value_of(key, 1);
          break;
        }
    } else {
      ++t.gets;
      const auto& items = sp->items;
      for (const auto& e : items)
        if (e.key == key) {
          ++t.found;
          if (e.value != value_of(key, 0) && e.value != value_of(key, 1)) ++t.bad;
          break;
        }
    }
  }
  *out = t;
}

}  // namespace

int main(int argc, char** argv) {
  port::options o(argc, argv, argv[0], "DRust's KV store: Zipf(0.99) keys, 90% get / 10% put, workers on every node");
  params p{};
  p.keys = o.get("keys", 1 << 20, 1 << 14, "keys in the table");
  p.shards = o.get("shards", 1 << 16, 1 << 10, "buckets, each with its own mutex");
  const std::uint64_t workers = o.get("workers", 8, 4, "worker threads, spread over the nodes");
  p.ops = o.get("ops", 200000, 5000, "operations per worker");
  p.seed = o.get("seed", 42, 42, "seed of keys and operation streams");
  o.done();
  if (p.keys == 0 || p.shards == 0 || workers == 0) {
    std::fprintf(stderr, "kvstore: --keys, --shards and --workers must be positive\n");
    return 2;
  }
  const unsigned nodes = port::nodes();

  // Populate: every shard is built here, then placed on node (shard % nodes).
  std::vector<std::vector<entry>> staged(p.shards);
  for (std::uint64_t i = 0; i < p.keys; ++i) {
    const std::uint64_t k = key_of(p.seed, i);
    staged[shard_of(k, p.shards)].push_back({k, value_of(k, 0)});
  }
  auto table = ns::make_shared<ns::vector<shard_ptr>>();
  table->reserve(p.shards);
  for (std::uint64_t s = 0; s < p.shards; ++s) {
    ns::vector<entry> items(staged[s].begin(), staged[s].end());
    port::place_on(items, static_cast<unsigned>(s % nodes));
    table->push_back(port::make_shared_on<shard>(static_cast<unsigned>(s % nodes), std::move(items)));
  }
  staged.clear();
  p.zetan = port::zeta(p.keys, 0.99);

  // Timed phase.
  std::vector<ns::shared_ptr<tally>> tallies;
  for (std::uint64_t w = 0; w < workers; ++w) tallies.push_back(port::make_shared_on<tally>(static_cast<unsigned>(w % nodes)));
  port::timed_phase clock;
  std::vector<ns::thread> threads;
  for (std::uint64_t w = 0; w < workers; ++w)
    threads.push_back(port::spawn_on(static_cast<unsigned>(w % nodes), worker, table, p, w, tallies[w]));
  for (auto& t : threads) t.join();
  const double secs = clock.end();

  tally sum;
  for (const auto& t : tallies) {
    const tally& x = *std::as_const(t);
    sum.gets += x.gets;
    sum.puts += x.puts;
    sum.found += x.found;
    sum.bad += x.bad;
  }
  if (sum.bad) {
    std::fprintf(stderr, "kvstore: %llu gets saw a value no put wrote\n", static_cast<unsigned long long>(sum.bad));
    return 1;
  }
  // The final table, independent of interleaving: entries hashed in key order per shard.
  std::uint64_t h = port::mix(sum.gets, sum.puts);
  h = port::mix(h, sum.found);
  for (const auto& sp : std::as_const(*std::as_const(table))) {
    std::uint64_t sh = 0;
    for (const auto& e : std::as_const(sp)->items) sh += port::mix(e.key, e.value[0] ^ e.value[3]);
    h = port::mix(h, sh);
  }
  std::fprintf(stderr, "kvstore: %llu gets (%llu found), %llu puts on %u node(s), %.3f s\n",
               static_cast<unsigned long long>(sum.gets), static_cast<unsigned long long>(sum.found),
               static_cast<unsigned long long>(sum.puts), nodes, secs);
  port::report(h, static_cast<double>(workers * p.ops) / secs, "ops/s");
  return 0;
}
