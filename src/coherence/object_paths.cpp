// The slow paths of dstd's smart pointers: everything that touches another node.
// The fast paths (local object: a range check) are inline in the public headers.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "coherence/read_cache.hpp"
#include "coherence/thread_epoch.hpp"
#include "dstd/coherence.hpp"
#include "dstd/heap.hpp"
#include "dstd/rma.hpp"
#include "dstd/settings.hpp"
#include "heap/partition.hpp"

namespace dstd::detail {

// The writable definition behind the const `g_local` of coherence.hpp (same symbol).
// Written once by coherence_impl::init() before main runs.
local_partition g_local_writable asm("dstd_local_partition");

using coherence_impl::bump;
using coherence_impl::cache;
using coherence_impl::cache_key;
using coherence_impl::entry;

namespace {

void fill_from_home(void* dst, const cache_key& key, std::size_t size) {
  rma::read(dst, reinterpret_cast<const void*>(key.word & address_mask), size);
}

// Looks `key` up in the node cache (filling it on a miss), pins it for the rest
// of the thread's epoch and remembers it in the thread's table.
const void* read_through_cache(coherence_impl::thread_epoch& t, const cache_key& key, std::size_t size,
                               std::uint64_t min_stamp) {
  bool hit = false;
  entry* e = cache().get_pinned(key, size, min_stamp, coherence_impl::next_tick(), &fill_from_home, hit);
  t.keep_pin(e);
  if (hit) {
    bump(t.count->cache_hits);
  } else {
    bump(t.count->remote_reads);
    bump(t.count->read_bytes, size);
  }
  t.remember(key.word, e->size, e->data, key.shared);
  return e->data;
}

}  // namespace

std::uint64_t fresh_color() noexcept {
  // A node-specific counter, scrambled: an owner's color then advances by one per
  // write (unique_ptr::write, vector writes), so consecutive draws must not be
  // consecutive colors, or a block freed and reused at once (mimalloc reuses LIFO)
  // would soon walk into a color its previous occupant had cached elsewhere.
  static std::atomic<std::uint64_t> next{std::uint64_t{node_id()} << 40};
  std::uint64_t x = next.fetch_add(1, std::memory_order_relaxed);
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  return (x >> 48) << color_shift;
}

const void* read_unique(std::uint64_t word, std::size_t size) {
  auto& t = coherence_impl::epoch();
  const auto& s = t.slot_for(word);
  if (s.word == word && !s.shared && s.size >= size) {
    bump(t.count->cache_hits);
    return s.data;
  }
  return read_through_cache(t, {word, false}, size, 0);
}

std::uint64_t move_unique(std::uint64_t word, std::size_t size, std::size_t align) {
  return move_buffer(word, size, size, align);
}

std::uint64_t move_buffer(std::uint64_t word, std::size_t used, std::size_t capacity, std::size_t align) {
  const std::uintptr_t from = word & address_mask;
  void* to = heap::allocate(capacity, align);
  // A cached copy of this exact version saves the read.
  if (used && !cache().copy_if_cached({word, false}, used, to)) {
    try {
      rma::read(to, reinterpret_cast<const void*>(from), used);
    } catch (...) {
      heap::deallocate(to);
      throw;
    }
  }
  cache().forget({word, false});
  heap::deallocate(reinterpret_cast<void*>(from));  // asynchronous, batched, at the old home
  auto& t = coherence_impl::epoch();
  bump(t.count->moves);
  bump(t.count->bytes_moved, used);
  return reinterpret_cast<std::uintptr_t>(to) | fresh_color();
}

const void* read_buffer_at(std::uint64_t word, std::size_t offset, std::size_t elem_size, std::size_t total) {
  // Chunks start at whole elements, so an element never straddles two copies. A
  // chunk's key is its own start address with the buffer's color: every chunk of a
  // version goes stale at once when the buffer's word changes. Chunk 0 shares its
  // key with a whole-buffer copy, which serves it too.
  static const std::size_t chunk_bytes = std::max<std::uint64_t>(settings::get_size("DSTD_READ_CHUNK"), 1);
  const std::size_t per_chunk = std::max<std::size_t>(chunk_bytes / elem_size, 1) * elem_size;
  const std::size_t start = offset / per_chunk * per_chunk;
  const std::size_t len = std::min(per_chunk, total - start);
  const auto* copy = static_cast<const unsigned char*>(read_unique(word + start, len));
  return copy + (offset - start);
}

void* relocate_to(node_t node, void* local, std::size_t size, std::size_t align) {
  void* remote = heap::allocate_on(node, size, align);
  try {
    rma::write(remote, local, size);
  } catch (...) {
    heap::deallocate(remote);
    throw;
  }
  heap::deallocate(local);  // the bytes are the object now: no destructor here
  return remote;
}

void destroy_remote(void* p, void (*deleter)(void*)) noexcept {
  bump(coherence_impl::epoch().count->remote_destroys);
  heap::destroy(p, deleter);
}

const void* read_shared(const void* addr, std::size_t size) {
  auto& t = coherence_impl::epoch();
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  if (!t.dirty.empty())
    if (const unsigned char* own = t.find_dirty(a, size)) return own;  // the thread's own writes
  const auto& s = t.slot_for(a);
  if (s.word == a && s.shared && s.size >= size) {
    bump(t.count->cache_hits);
    return s.data;
  }
  return read_through_cache(t, {a, true}, size, detail::t_sync.acquired_at);
}

void* write_shared(void* addr, std::size_t size) {
  auto& t = coherence_impl::epoch();
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  if (unsigned char* own = t.find_dirty(a, size)) return own;
  coherence_impl::dirty_copy d;
  d.addr = a;
  d.size = size;
  d.copy = static_cast<unsigned char*>(heap_impl::alloc_internal(size, 64));
  d.twin = static_cast<unsigned char*>(std::malloc(size));
  if (!d.copy || !d.twin) {
    heap_impl::free_internal(d.copy);
    std::free(d.twin);
    throw std::bad_alloc();
  }
  const auto& s = t.slot_for(a);
  if (s.word == a && s.shared && s.size >= size) {
    std::memcpy(d.copy, s.data, size);  // already fetched in this epoch
  } else {
    try {
      rma::read(d.copy, addr, size);
    } catch (...) {
      heap_impl::free_internal(d.copy);
      std::free(d.twin);
      throw;
    }
    bump(t.count->remote_reads);
    bump(t.count->read_bytes, size);
  }
  std::memcpy(d.twin, d.copy, size);
  t.dirty.push_back(d);
  detail::t_sync.epoch_busy = true;
  return d.copy;
}

pinned_copy pin_unique(std::uint64_t word, std::size_t size) {
  bool hit = false;
  entry* e = cache().get_pinned({word, false}, size, 0, coherence_impl::next_tick(), &fill_from_home, hit);
  auto& t = coherence_impl::epoch();
  bump(hit ? t.count->cache_hits : t.count->remote_reads);
  if (!hit) bump(t.count->read_bytes, size);
  return {e->data, e};
}

pinned_copy pin_shared(const void* addr, std::size_t size) {
  auto& t = coherence_impl::epoch();
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  std::uint64_t min_stamp = detail::t_sync.acquired_at;
  if (!t.dirty.empty() && t.find_dirty(a, size)) {
    t.write_back(false);                      // the guard must see the thread's own writes
    min_stamp = coherence_impl::tick_now();  // so: a copy fetched after they landed
  }
  bool hit = false;
  entry* e = cache().get_pinned({a, true}, size, min_stamp, coherence_impl::next_tick(), &fill_from_home, hit);
  bump(hit ? t.count->cache_hits : t.count->remote_reads);
  if (!hit) bump(t.count->read_bytes, size);
  return {e->data, e};
}

void unpin(void* e) noexcept { cache().unpin(static_cast<entry*>(e)); }

void null_dereference(const char* type) noexcept {
  std::fprintf(stderr, "dstd[node %u]: dereferenced a null %s\n", node_id(), type);
  std::abort();
}

}  // namespace dstd::detail

namespace dstd::coherence {

stats local_stats() noexcept {
  stats s;
  coherence_impl::sum_counters(s);
  const auto t = coherence_impl::cache().totals();
  s.evictions = t.evictions;
  s.cache_bytes = t.bytes;
  s.cache_entries = t.entries;
  return s;
}

stats stats_of(node_t node) {
  return run_on(node, [] { return local_stats(); });
}

std::size_t cache_capacity() noexcept { return coherence_impl::cache().capacity(); }
void clear_cache() noexcept { coherence_impl::cache().clear(); }

}  // namespace dstd::coherence
