// dstd/coherence.hpp — the ownership-coherence protocol: its rules, knobs and counters.
//
// There is no std counterpart: on one machine the hardware keeps caches coherent.
// Across nodes dstd follows the program's ownership instead of running a directory
// protocol (DRust, OSDI'24):
//
//  - A dstd::unique_ptr word is a global address (low 48 bits) plus a 16-bit
//    "color" (high bits). Const access to a remote object reads it once into this
//    node's read cache, keyed by (address, color); later reads hit the cache.
//    Non-const access moves a remote object here (new address) or, if it is already
//    here, bumps the color. Either way the word changes, so copies cached elsewhere
//    are simply never looked up again: no invalidation messages. A fresh color is
//    drawn for every new object, so a reused address does not meet old copies.
//  - A dstd::shared_ptr object never moves (several owners hold its address).
//    Reads are cached only within the reading thread's current synchronization
//    epoch; writes to a remote shared object go to a private copy whose changed
//    bytes (a diff against a twin) are written home at the thread's next
//    synchronization operation. This is release consistency, which gives
//    data-race-free programs sequential consistency (see shared_ptr.hpp).
//
// The contract, as in the C++ memory model: data-race-free programs observe
// sequential consistency. The synchronization operations are dstd's: mutex
// lock/unlock, condition variables, atomics, channel send/recv, thread start/join,
// dstd::run_on, and the two calls below for code that synchronizes by other means.
//
// How long a raw reference stays valid (from operator*, operator->, read(), write()):
//  - to a local object: until the object moves away (a non-const access from
//    another node) or is destroyed, as with std;
//  - to a cached copy of a remote object: until the calling thread's next
//    synchronization operation. The copy is pinned until then, so the cache may
//    exceed DSTD_CACHE_SIZE by what threads pinned in their current epoch.
//  - A dstd::ref<T> guard pins its copy for its own lifetime instead (borrow.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "dstd/runtime.hpp"

namespace dstd::coherence {

struct stats {
  std::uint64_t remote_reads = 0;     // cache misses filled by one RDMA read
  std::uint64_t read_bytes = 0;       // bytes those reads fetched
  std::uint64_t cache_hits = 0;       // remote reads served from the cache
  std::uint64_t evictions = 0;        // cached copies dropped to stay within DSTD_CACHE_SIZE
  std::uint64_t moves = 0;            // remote objects moved here by a write
  std::uint64_t bytes_moved = 0;      // bytes of those objects
  std::uint64_t remote_destroys = 0;  // objects destroyed at another node (their home)
  std::uint64_t writebacks = 0;       // shared-object diffs written home
  std::uint64_t writeback_bytes = 0;  // bytes of those diffs
  std::uint64_t cache_bytes = 0;      // bytes cached now
  std::uint64_t cache_entries = 0;    // copies cached now
};
stats local_stats() noexcept;
stats stats_of(node_t node);  // throws std::invalid_argument for a bad node id

// The cache's bound in bytes (DSTD_CACHE_SIZE).
std::size_t cache_capacity() noexcept;
// Drops every cached copy that no thread has pinned (benchmarks, memory pressure).
void clear_cache() noexcept;

// Synchronization hooks. dstd's synchronization operations call these; call them
// yourself only around synchronization dstd cannot see (a std::mutex shared by
// threads of one node that hand each other shared_ptr objects, say).
//   release(): writes this thread's shared-object writes home; ends the validity
//              of raw references into the cache.
//   acquire(): does what release() does, then starts a new epoch: later reads of
//              shared objects fetch fresh copies.
inline void release();
inline void acquire();

}  // namespace dstd::coherence

namespace dstd::detail {

// Layout of a dstd pointer word.
inline constexpr unsigned color_shift = 48;
inline constexpr std::uint64_t address_mask = (std::uint64_t{1} << color_shift) - 1;
inline constexpr std::uint64_t color_one = std::uint64_t{1} << color_shift;
// What a synchronization operation needs of its thread, kept where inline code
// reaches it without a call: an acquire or release with nothing cached, pinned or
// privately written in the ending epoch costs a few instructions.
struct thread_sync_state {
  bool epoch_busy = false;        // the epoch holds pins, table slots or private copies (thread_epoch)
  std::uint32_t held_copies = 0;  // copies kept alive for locks held in them (hold_lock_site)
  std::uint64_t acquired_at = 0;  // the node tick read at the latest acquire (shared copies before it are stale)
};
extern constinit thread_local thread_sync_state t_sync;
extern std::atomic<std::uint64_t> g_node_tick;  // advanced by every shared-object fill
void end_epoch();                  // the work release() does when the epoch is busy

// A lock object (a mutex inside a shared object) may be reached through this
// thread's copy of its remote object: `std::lock_guard g(std::as_const(p)->m)`.
// The lock's own acquire ends the epoch that kept that copy alive, yet unlock()
// still reads the mutex through the same reference. So a lock taken through a copy
// keeps that copy (cache entry or private copy) until its unlock, and a second lock
// in the same copy takes one more reference. After the unlock the copy stays valid
// until the thread's next synchronization, like any read. With nothing pinned or
// held, no copy can hold the lock, and this costs two thread-local tests.
void hold_copy(const void* lock_object) noexcept;
void drop_held_copy(const void* lock_object) noexcept;
inline void hold_lock_site(const void* lock_object) noexcept {
  if (t_sync.epoch_busy || t_sync.held_copies) hold_copy(lock_object);
}
inline void drop_lock_site(const void* lock_object) noexcept {
  if (t_sync.held_copies) drop_held_copy(lock_object);
}
// Bumps the color of the word `w` (stored at `stored`) before an in-place write
// at the home: copies other nodes cached go stale. Per write, not per epoch: a
// thread synchronized by means dstd cannot see (a std::thread pool) stays correct,
// and the color wraps only after 65536 writes to one object. (Hot loops index a
// span taken once, which pays this once.) In a 1-node job no other node can hold a
// copy: writers test g_local.one_node first and skip the test and the bump.
inline void mark_written(void*& stored, std::uint64_t w) noexcept { stored = reinterpret_cast<void*>(w + color_one); }

// This node's partition, for the inline "is it here?" test on every access. The
// runtime sets it once, before main; user code sees it through a const alias of the
// same symbol, so the compiler may keep it in registers across calls and loops
// (as it keeps std::unique_ptr's pointer) instead of reloading it at every access.
// No default member initializers: they would give the type a non-trivial
// constructor, and GCC then treats a const object of it as possibly still being
// initialized by any call, and reloads it after each one (the definition is a
// zero-initialized global all the same).
struct local_partition {
  std::uintptr_t begin;
  std::uintptr_t size;  // 0 until the heap is up: nothing is local before that
  std::uint64_t home_tag;  // (this node + 1) << 48: dstd::vector's "buffer is here" tag
  std::uint64_t home_bias;  // -home_tag: dstd::vector's push_back adds it to the tagged size
  // A 1-node job: no fabric, so dstd::rma atomics are CPU atomics on this node's
  // words, and no other node caches a copy. shared_ptr updates its counts inline
  // (one CPU atomic, as std's); unique_ptr and buffer writes skip the locality
  // test, the color bump and the store to the word. Reads keep the range test (as
  // cheap as a flag test), so multi-node reads pay nothing for this flag.
  bool one_node;
};
extern const local_partition g_local asm("dstd_local_partition");

inline bool is_local_address(std::uintptr_t a) noexcept { return a - g_local.begin < g_local.size; }

// A fresh color for a new object (a per-node counter: a reused address starts
// with a color its previous occupant is unlikely to have had cached).
std::uint64_t fresh_color() noexcept;

// Const access to the remote unique object `word` (sizeof == size): a pointer to
// the cached copy, pinned until the calling thread's next synchronization.
const void* read_unique(std::uint64_t word, std::size_t size);
// Non-const access to the remote unique object `word`: moves it here and returns
// its new word.
std::uint64_t move_unique(std::uint64_t word, std::size_t size, std::size_t align);
// Containers' buffers (dstd::vector, dstd::string) are owned like unique objects.
// move_buffer moves a remote buffer here into a new block of `capacity` bytes,
// reading its first `used` bytes; returns the new word.
std::uint64_t move_buffer(std::uint64_t word, std::size_t used, std::size_t capacity, std::size_t align);
// Const access to the element at byte `offset` of a remote buffer holding `total`
// bytes of elements of `elem_size`: reads only the DSTD_READ_CHUNK-sized run of
// whole elements around it (pinned like read_unique's copies).
const void* read_buffer_at(std::uint64_t word, std::size_t offset, std::size_t elem_size, std::size_t total);
// Places a constructed local object's bytes on `node` (relocation); frees `local`.
void* relocate_to(node_t node, void* local, std::size_t size, std::size_t align);
// Runs `deleter` on `p` at its remote home (asynchronously) and counts it.
void destroy_remote(void* p, void (*deleter)(void*)) noexcept;

// Shared objects (never move; epoch-scoped caching, twin/diff write-back).
const void* read_shared(const void* addr, std::size_t size);
void* write_shared(void* addr, std::size_t size);

// Guard pins (dstd::ref): the copy stays cached until unpin(). `data` is the copy.
struct pinned_copy {
  const void* data;
  void* entry;  // opaque cache entry; nullptr when the object was local
};
pinned_copy pin_unique(std::uint64_t word, std::size_t size);
pinned_copy pin_shared(const void* addr, std::size_t size);
void unpin(void* entry) noexcept;

[[noreturn]] void null_dereference(const char* type) noexcept;

}  // namespace dstd::detail

namespace dstd::coherence {
inline void release() {
  if (detail::t_sync.epoch_busy) detail::end_epoch();
}
inline void acquire() {
  release();
  detail::t_sync.acquired_at = detail::g_node_tick.load(std::memory_order_acquire);
}
}  // namespace dstd::coherence
