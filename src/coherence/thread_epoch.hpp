// Per-thread coherence state: the thread's current synchronization epoch.
//
// An epoch runs from one synchronization operation of the thread to the next.
// Within it the thread holds:
//  - pins on every cache entry it read, so raw references into the cache stay
//    valid until the epoch ends (the contract in dstd/coherence.hpp);
//  - a small direct-mapped table from pointer word to pinned copy, so a repeated
//    read of the same remote object costs a hash and a compare (no lock);
//  - its private copies of remote shared objects it wrote, each with a twin, whose
//    differences are written home when the epoch ends (or earlier, when the thread
//    drops a shared_ptr, which is a release operation as in std);
//  - (in detail::t_sync, for inline acquire/release) the node tick of its latest
//    acquire: shared copies fetched before it are stale; and whether any of the
//    above is held, so that ending an empty epoch takes no call.
// The thread's counters live here too (written only by the thread, summed by stats).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <unordered_set>
#include <vector>

#include "coherence/read_cache.hpp"
#include "common/thread_counters.hpp"
#include "dstd/coherence.hpp"

namespace dstd::coherence_impl {

struct counters {
  std::atomic<std::uint64_t> remote_reads{0}, read_bytes{0}, cache_hits{0}, moves{0}, bytes_moved{0},
      remote_destroys{0}, writebacks{0}, writeback_bytes{0};
};
using common::bump;  // only the owning thread writes its counters

struct dirty_copy {
  std::uintptr_t addr = 0;  // home address of the written range
  std::size_t size = 0;
  unsigned char* copy = nullptr;  // what the thread writes (registered heap memory)
  unsigned char* twin = nullptr;  // the range as fetched (or last written home)
};

struct thread_epoch {
  static constexpr std::size_t kSlots = 256;
  struct slot {
    std::uint64_t word = 0;
    std::size_t size = 0;
    const void* data = nullptr;
    bool shared = false;
  };

  thread_epoch();
  ~thread_epoch();

  slot& slot_for(std::uint64_t word) noexcept { return table[(word * 0x9e3779b97f4a7c15ull) >> 56]; }
  void remember(std::uint64_t word, std::size_t size, const void* data, bool shared) noexcept {
    slot_for(word) = {word, size, data, shared};
    table_used = true;
    detail::t_sync.epoch_busy = true;
  }
  // Records a pin taken by this thread (a second pin on the same entry is dropped).
  void keep_pin(entry* e);
  // The thread's private copy covering [addr, addr+size), or nullptr.
  unsigned char* find_dirty(std::uintptr_t addr, std::size_t size) noexcept;
  // Writes one private copy's changed bytes home.
  void write_home(const dirty_copy& d);
  // Writes every private copy's changed bytes home; forgets the copies if `forget`.
  void write_back(bool forget);
  // Ends the epoch: write back and forget, unpin, clear the table.
  void end();
  // Moves the copy holding `lock_object` (a pinned cache entry, a private copy, or
  // a copy another lock already holds) out of the epoch, alive until
  // release_held(lock_object). Best effort: on failure nothing is held.
  void hold(const void* lock_object) noexcept;
  // Drops the latest hold of `lock_object`; a cache entry's pin returns to the
  // epoch (`into_epoch`) or is released.
  void release_held(const void* lock_object, bool into_epoch) noexcept;

  slot table[kSlots];
  std::vector<entry*> pins;
  std::unordered_set<entry*> pinned;
  std::vector<dirty_copy> dirty;
  // Copies kept for locks held in them: a pinned entry, or a private copy already
  // written home (its memory only).
  struct held_copy {
    const void* lock_object;
    entry* e;
    unsigned char* copy;
    unsigned char* twin;
    std::size_t size;  // of the private copy
  };
  std::vector<held_copy> held;
  bool table_used = false;  // a slot was filled since the table was last cleared
  counters* count;
};

thread_epoch& epoch();

// The node's tick: every shared-object fill takes a new one; an acquire only reads
// it (so a lock costs no atomic read-modify-write). A copy stamped f is valid for a
// thread whose latest acquire read a: iff f > a.
std::uint64_t tick_now() noexcept;
std::uint64_t next_tick() noexcept;

// Sums of every thread's counters, past and present.
void sum_counters(coherence::stats& out) noexcept;

// Called once at start-up, after the heap: partition bounds, cache capacity.
void init();

}  // namespace dstd::coherence_impl

namespace dstd::detail {
extern local_partition g_local_writable asm("dstd_local_partition");
}  // namespace dstd::detail
