// The node's read cache: copies of remote objects, shared by every thread of the node.
//
// Data model: an entry is one copy of [address, address+size) of another node's
// partition, keyed by (pointer word, kind). For unique objects the word carries the
// color, so a key names one immutable version of an object and an entry never goes
// stale: it only stops being looked up. Shared objects are keyed by address and
// stamped with the node's acquire tick when their fill started; a lookup names the
// oldest stamp it accepts, and an older entry is replaced.
//
// Entries are pinned while any thread may hold a reference into them (thread
// epochs, dstd::ref guards). Unpinned entries sit on an LRU list and are evicted,
// least recently used first, while the cache holds more than its capacity. Copies
// live in this node's own heap partition (registered memory: the RDMA read lands
// there directly). The key space is split over shards, each with its own lock,
// hash set and LRU list (Boost.Intrusive: no allocation on lookup or relink).
#pragma once

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/unordered_set.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace dstd::coherence_impl {

namespace bi = boost::intrusive;

struct cache_key {
  std::uint64_t word = 0;  // unique: address | color; shared: address
  bool shared = false;
  friend bool operator==(const cache_key&, const cache_key&) = default;
};

struct entry : bi::unordered_set_base_hook<bi::store_hash<true>>, bi::list_base_hook<> {
  cache_key key;
  std::uint64_t filled_at = 0;  // shared: the node's acquire tick when the fill started
  std::size_t size = 0;
  std::uint32_t pins = 0;       // guarded by the shard lock
  bool orphaned = false;        // replaced in the map; freed when the last pin goes
  unsigned char* data = nullptr;
};

class read_cache {
 public:
  // Fills `dst` with `size` bytes of the object at `key` (an RDMA read).
  using fill_fn = void (*)(void* dst, const cache_key& key, std::size_t size);

  void configure(std::size_t capacity_bytes);
  // A pinned entry with at least `size` bytes of `key`, stamped no earlier than
  // `min_stamp`; fills it (outside any lock) on a miss. `hit` tells which it was.
  entry* get_pinned(const cache_key& key, std::size_t size, std::uint64_t min_stamp, std::uint64_t stamp_now,
                    fill_fn fill, bool& hit);
  void pin(entry* e);  // one more pin on an entry already pinned by the caller
  void unpin(entry* e) noexcept;
  // Copies a cached unique object into `dst` if its exact version is cached.
  bool copy_if_cached(const cache_key& key, std::size_t size, void* dst);
  // Drops an unpinned entry for `key`, if any (its object has moved away).
  void forget(const cache_key& key) noexcept;
  void clear() noexcept;

  std::size_t capacity() const { return capacity_; }
  struct totals_t {
    std::uint64_t bytes = 0, entries = 0, evictions = 0;
  };
  totals_t totals();  // one pass over the shards

 private:
  struct key_hash {
    std::size_t operator()(const cache_key& k) const noexcept;
  };
  struct entry_key {
    using type = cache_key;
    const cache_key& operator()(const entry& e) const noexcept { return e.key; }
  };
  using set_t = bi::unordered_set<entry, bi::key_of_value<entry_key>, bi::hash<key_hash>, bi::power_2_buckets<true>>;
  using lru_t = bi::list<entry>;

  struct shard {
    std::mutex mu;
    std::vector<set_t::bucket_type> buckets;
    std::unique_ptr<set_t> set;
    lru_t lru;              // unpinned entries, least recently used first
    std::size_t bytes = 0;  // of every entry in the map or still pinned
    std::uint64_t evictions = 0;
  };
  static constexpr std::size_t kShards = 16;

  // High hash bits pick the shard; the low ones pick the bucket inside it.
  shard& shard_of(const cache_key& k) { return shards_[(key_hash{}(k) >> 60) % kShards]; }
  void insert_locked(shard& s, entry* e);
  void retire_locked(shard& s, entry* e) noexcept;  // out of the map; freed if unpinned
  void evict_locked(shard& s) noexcept;
  void free_entry(shard& s, entry* e) noexcept;

  std::size_t capacity_ = 0, shard_capacity_ = 0;
  shard shards_[kShards];
};

read_cache& cache();

}  // namespace dstd::coherence_impl
