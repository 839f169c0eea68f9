#include "coherence/read_cache.hpp"

#include <cstring>
#include <new>

#include "heap/partition.hpp"

namespace dstd::coherence_impl {

std::size_t read_cache::key_hash::operator()(const cache_key& k) const noexcept {
  // splitmix64 finalizer: addresses differ in few low bits, colors only in high ones.
  std::uint64_t x = k.word ^ (k.shared ? 0x9e3779b97f4a7c15ull : 0);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void read_cache::configure(std::size_t capacity_bytes) {
  capacity_ = capacity_bytes;
  shard_capacity_ = capacity_bytes / kShards;
  for (auto& s : shards_) {
    std::lock_guard lk(s.mu);
    if (s.set) continue;
    s.buckets.resize(64);
    s.set = std::make_unique<set_t>(set_t::bucket_traits(s.buckets.data(), s.buckets.size()));
  }
}

void read_cache::insert_locked(shard& s, entry* e) {
  if (s.set->size() + 1 > s.buckets.size()) {  // keep the load factor at most 1
    std::vector<set_t::bucket_type> bigger(s.buckets.size() * 2);
    s.set->rehash(set_t::bucket_traits(bigger.data(), bigger.size()));
    s.buckets.swap(bigger);
  }
  s.set->insert(*e);
  s.bytes += e->size;
}

void read_cache::free_entry(shard& s, entry* e) noexcept {
  s.bytes -= e->size;
  heap_impl::free_internal(e->data);
  delete e;
}

void read_cache::retire_locked(shard& s, entry* e) noexcept {
  s.set->erase(s.set->iterator_to(*e));
  if (e->pins == 0) {
    s.lru.erase(s.lru.iterator_to(*e));
    free_entry(s, e);
  } else {
    e->orphaned = true;
  }
}

void read_cache::evict_locked(shard& s) noexcept {
  while (s.bytes > shard_capacity_ && !s.lru.empty()) {
    entry& victim = s.lru.front();
    s.lru.pop_front();
    s.set->erase(s.set->iterator_to(victim));
    ++s.evictions;
    free_entry(s, &victim);
  }
}

entry* read_cache::get_pinned(const cache_key& key, std::size_t size, std::uint64_t min_stamp,
                              std::uint64_t stamp_now, fill_fn fill, bool& hit) {
  shard& s = shard_of(key);
  // Unique copies pass min_stamp 0; a shared copy must have been fetched after the
  // reader's latest acquire (stamps are taken after the tick the acquire read).
  auto usable = [&](const entry& e) { return e.size >= size && (min_stamp == 0 || e.filled_at > min_stamp); };
  {
    std::lock_guard lk(s.mu);
    auto it = s.set->find(key);
    if (it != s.set->end() && usable(*it)) {
      hit = true;
      if (it->pins++ == 0) s.lru.erase(s.lru.iterator_to(*it));
      return &*it;
    }
  }
  hit = false;
  // Miss: fill a fresh entry without holding the lock (the read takes microseconds).
  void* data = heap_impl::alloc_internal(size, 64);
  if (!data) {
    clear();  // the partition is full: give back what the cache holds, then retry once
    data = heap_impl::alloc_internal(size, 64);
    if (!data) throw std::bad_alloc();
  }
  auto* e = new entry;
  e->key = key;
  e->size = size;
  e->filled_at = stamp_now;
  e->data = static_cast<unsigned char*>(data);
  try {
    fill(e->data, key, size);
  } catch (...) {
    heap_impl::free_internal(data);
    delete e;
    throw;
  }
  std::lock_guard lk(s.mu);
  auto it = s.set->find(key);
  if (it != s.set->end()) {
    if (usable(*it) && it->filled_at >= e->filled_at) {  // another thread filled it meanwhile
      heap_impl::free_internal(data);
      delete e;
      if (it->pins++ == 0) s.lru.erase(s.lru.iterator_to(*it));
      return &*it;
    }
    retire_locked(s, &*it);
  }
  e->pins = 1;
  insert_locked(s, e);
  evict_locked(s);
  return e;
}

void read_cache::pin(entry* e) {
  shard& s = shard_of(e->key);
  std::lock_guard lk(s.mu);
  ++e->pins;  // the caller holds a pin, so the entry is not on the LRU list
}

void read_cache::unpin(entry* e) noexcept {
  shard& s = shard_of(e->key);
  std::lock_guard lk(s.mu);
  if (--e->pins != 0) return;
  if (e->orphaned) {
    free_entry(s, e);
    return;
  }
  s.lru.push_back(*e);
  evict_locked(s);
}

bool read_cache::copy_if_cached(const cache_key& key, std::size_t size, void* dst) {
  shard& s = shard_of(key);
  std::lock_guard lk(s.mu);
  auto it = s.set->find(key);
  if (it == s.set->end() || it->size < size) return false;
  std::memcpy(dst, it->data, size);
  return true;
}

void read_cache::forget(const cache_key& key) noexcept {
  shard& s = shard_of(key);
  std::lock_guard lk(s.mu);
  auto it = s.set->find(key);
  if (it != s.set->end() && it->pins == 0) retire_locked(s, &*it);
}

void read_cache::clear() noexcept {
  for (auto& s : shards_) {
    std::lock_guard lk(s.mu);
    while (!s.lru.empty()) {
      entry& e = s.lru.front();
      s.lru.pop_front();
      s.set->erase(s.set->iterator_to(e));
      free_entry(s, &e);
    }
  }
}

read_cache::totals_t read_cache::totals() {
  totals_t t;
  for (auto& s : shards_) {
    std::lock_guard lk(s.mu);
    t.bytes += s.bytes;
    t.entries += s.set ? s.set->size() : 0;
    t.evictions += s.evictions;
  }
  return t;
}

read_cache& cache() {
  // Never destroyed: detached worker threads may still read through it while the
  // process exits.
  static auto* c = new read_cache;
  return *c;
}

}  // namespace dstd::coherence_impl
