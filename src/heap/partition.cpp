#include "heap/partition.hpp"

#include <mimalloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/thread_counters.hpp"
#include "dstd/settings.hpp"

#include "common/tsan.hpp"  // mimalloc's handoff of a block between threads

namespace dstd::heap_impl {
namespace {

layout g_layout;
bool g_init = false;

// The partition is two mimalloc arenas: the first part for small blocks (at most
// kSmallBlock bytes: objects, their mutexes, short buffers), the rest for larger
// blocks. Each thread allocates from its own mimalloc heap in each arena, and falls
// back to the other arena when its own is full, so either kind of block can still use
// the whole partition. Why two: see DSTD_HUGE_PAGES in init().
constexpr std::size_t kSmallBlock = 1024;
mi_arena_id_t g_small_arena{}, g_large_arena{};
// Largest block for the small arena: kSmallBlock, or 0 where the partition (32 MiB)
// is one arena, so that every block goes to the large heap with the same test.
std::size_t g_small_max = 0;

// Counters are per thread (common/thread_counters.hpp) and summed on snapshot. A
// block freed by another thread than the one that allocated it makes one thread's
// figure go "negative": unsigned wrap-around cancels out in the sum. A thread keeps
// its block: it may still free heap blocks while its thread_locals are destroyed.
struct counters {
  std::atomic<std::uint64_t> bytes{0}, blocks{0}, allocs{0}, remote_allocs{0}, frees{0},
      remote_frees{0}, batches{0};
};
common::thread_counters<counters>& all_counters() {
  static auto* c = new common::thread_counters<counters>;  // never destroyed: threads outlive statics
  return *c;
}

// Constant-initialized and tested by hand: a dynamically initialized thread_local
// costs a guard call on every allocation and free.
constinit thread_local counters* t_counters = nullptr;
counters& my_counters() noexcept {
  if (!t_counters) [[unlikely]]
    t_counters = all_counters().take();
  return *t_counters;
}

using common::bump;

// A mimalloc heap per thread and arena. mimalloc heaps are single-owner for
// allocation; frees may come from any thread (mi_free finds the block's heap).
constinit thread_local mi_heap_t* t_small_heap = nullptr;
constinit thread_local mi_heap_t* t_large_heap = nullptr;
mi_heap_t* small_heap() noexcept {
  if (!t_small_heap) [[unlikely]]
    t_small_heap = mi_heap_new_in_arena(g_small_arena);
  return t_small_heap;
}
mi_heap_t* large_heap() noexcept {
  if (!t_large_heap) [[unlikely]]
    t_large_heap = mi_heap_new_in_arena(g_large_arena);
  return t_large_heap;
}

void* heap_malloc(mi_heap_t* h, std::size_t bytes, std::size_t alignment) noexcept {
  return alignment <= alignof(std::max_align_t) ? mi_heap_malloc(h, bytes) : mi_heap_malloc_aligned(h, bytes, alignment);
}

// A block from the arena for its size, else from the other one.
void* arena_malloc(std::size_t bytes, std::size_t alignment) noexcept {
  const bool small = bytes <= g_small_max;  // bytes >= 1
  if (void* p = heap_malloc(small ? small_heap() : large_heap(), bytes, alignment)) [[likely]]
    return p;
  if (g_small_max == 0) return nullptr;  // one arena: nothing to fall back to
  return heap_malloc(small ? large_heap() : small_heap(), bytes, alignment);
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "dstd[node %u]: global heap: %s\n", g_layout.self, what);
  std::exit(70);
}

}  // namespace

void init(node_t self, node_t nodes) {
  layout l;
  l.base = static_cast<std::uintptr_t>(settings::get_size("DSTD_HEAP_BASE"));
  l.partition = settings::get_size("DSTD_PARTITION_SIZE");
  l.nodes = nodes;
  l.self = self;
  constexpr std::uint64_t kArenaAlign = 32ull << 20;  // mimalloc 2.0 segment size
  if (l.partition < kArenaAlign || !std::has_single_bit(l.partition))
    die("DSTD_PARTITION_SIZE must be a power of two of at least 32M");
  if (l.base % kArenaAlign != 0) die("DSTD_HEAP_BASE must be 32 MiB aligned");
  l.shift = static_cast<unsigned>(std::countr_zero(l.partition));
  const std::size_t total = std::size_t(nodes) << l.shift;

  // Reserve everything, exactly at base (MAP_FIXED_NOREPLACE fails rather than clobber).
  void* want = reinterpret_cast<void*>(l.base);
  void* got = mmap(want, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                   -1, 0);
  if (got != want) {
    char msg[256];
    std::snprintf(msg, sizeof msg, "cannot reserve [%#lx, %#lx): %s (set DSTD_HEAP_BASE elsewhere)",
                  (unsigned long)l.base, (unsigned long)(l.base + total),
                  got == MAP_FAILED ? std::strerror(errno) : "address already in use");
    if (got != MAP_FAILED) munmap(got, total);
    die(msg);
  }
  void* own = reinterpret_cast<void*>(l.begin(self));
  if (mprotect(own, l.partition, PROT_READ | PROT_WRITE) != 0) die("cannot map own partition");
  // Huge pages (DSTD_HUGE_PAGES). mimalloc keeps each size class on its own pages,
  // so one object's parts (a shared block, its vector's buffer, its mutex's block)
  // sit on different 4 KiB pages: over a large heap of small objects every access
  // risks a TLB miss per part, where glibc would have put the parts side by side.
  // Transparent huge pages cover 512 times more per TLB entry. A large block gains
  // little from them (a scan's miss is shared by 4 KiB of data) and pays the zeroing
  // of whole fresh huge pages as it first touches memory, which on this project's
  // VMs (Firecracker, free page reporting on) also refaults host memory: with the
  // whole partition on huge pages, make bench measured kvstore's 1-node overhead at
  // +3% (from +19%), but gemm's at +62% (from -4%) and dataframe's at +48% (from
  // -11%). So by default only the small-block arena asks for them. mimalloc never
  // decommits either arena (they are handed over committed, which mimalloc treats as
  // pinned), so no huge page is split once faulted in. Advisory: without THP in the
  // kernel, 4 KiB pages.
  const std::string huge = settings::get("DSTD_HUGE_PAGES");
  const bool huge_small = huge == "small", huge_all = !huge_small && settings::get_bool("DSTD_HUGE_PAGES");
  const std::size_t small_bytes = std::max<std::size_t>(kArenaAlign, l.partition / 4);
  const bool split = l.partition >= 2 * kArenaAlign;
  char* const own_bytes = static_cast<char*>(own);
  if (huge_all) (void)madvise(own, l.partition, MADV_HUGEPAGE);
  if (huge_small && split) (void)madvise(own, small_bytes, MADV_HUGEPAGE);
  const auto manage = [](void* start, std::size_t bytes, mi_arena_id_t* id) {
    if (!mi_manage_os_memory_ex(start, bytes, /*committed*/ true, /*large*/ false, /*zero*/ true, /*numa*/ -1,
                                /*exclusive*/ true, id))
      die("mimalloc refused the partition");
  };
  if (split) {
    manage(own_bytes, small_bytes, &g_small_arena);
    manage(own_bytes + small_bytes, l.partition - small_bytes, &g_large_arena);
    g_small_max = kSmallBlock;
  } else {
    manage(own, l.partition, &g_large_arena);
  }
  g_layout = l;
  g_init = true;
}

bool initialized() noexcept { return g_init; }
const layout& lay() noexcept { return g_layout; }

void* alloc_local(std::size_t bytes, std::size_t alignment) noexcept {
  if (bytes == 0) bytes = 1;
  void* p = arena_malloc(bytes, alignment);
  if (!p) return nullptr;
  DSTD_TSAN_ACQUIRE(p);
  counters& c = my_counters();
  bump(c.bytes, mi_usable_size(p));
  bump(c.blocks, 1);
  bump(c.allocs, 1);
  return p;
}

void* alloc_internal(std::size_t bytes, std::size_t alignment) noexcept {
  void* p = arena_malloc(bytes ? bytes : 1, alignment);
  if (p) DSTD_TSAN_ACQUIRE(p);
  return p;
}

void free_internal(void* p) noexcept {
  DSTD_TSAN_RELEASE(p);
  mi_free(p);
}

void free_local(void* p, bool remote) noexcept {
  counters& c = my_counters();
  bump(c.bytes, -mi_usable_size(p));
  bump(c.blocks, -std::uint64_t{1});
  bump(c.frees, 1);
  if (remote) bump(c.remote_frees, 1);
  DSTD_TSAN_RELEASE(p);
  mi_free(p);
}

void note_remote_allocation() noexcept { bump(my_counters().remote_allocs, 1); }
void note_free_batch() noexcept { bump(my_counters().batches, 1); }

heap::stats snapshot() noexcept {
  heap::stats s;
  s.partition_bytes = g_layout.partition;
  all_counters().for_each([&](const counters& c) {
    s.bytes_in_use += c.bytes.load(std::memory_order_relaxed);
    s.blocks_in_use += c.blocks.load(std::memory_order_relaxed);
    s.allocations += c.allocs.load(std::memory_order_relaxed);
    s.remote_allocations += c.remote_allocs.load(std::memory_order_relaxed);
    s.frees += c.frees.load(std::memory_order_relaxed);
    s.remote_frees += c.remote_frees.load(std::memory_order_relaxed);
    s.free_batches += c.batches.load(std::memory_order_relaxed);
  });
  return s;
}

}  // namespace dstd::heap_impl
