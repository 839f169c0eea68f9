// The address-space layout of the global heap and this node's own partition.
//
// Data model: one virtual range [base, base + nodes*P) reserved PROT_NONE and
// MAP_NORESERVE on every node, so nothing else can ever be mapped there. Node r owns
// slice r. Only the own slice is made read-write; it is handed to mimalloc as two
// exclusive arenas, a quarter for blocks of at most 1 KiB (on huge pages by default)
// and the rest for larger ones (no OS fallback: both full means NULL means
// std::bad_alloc), and each allocating thread gets its own mimalloc heap in each.
// Live-byte and block counters are kept here so tests can see every node return to
// its starting usage.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "dstd/heap.hpp"

namespace dstd::heap_impl {

struct layout {
  std::uintptr_t base = 0;
  std::uint64_t partition = 0;  // power of two
  unsigned shift = 0;           // log2(partition)
  node_t nodes = 1;
  node_t self = 0;

  std::uintptr_t begin(node_t r) const { return base + (std::uintptr_t(r) << shift); }
  bool contains(std::uintptr_t a) const { return a - base < (std::uintptr_t(nodes) << shift); }
  node_t home(std::uintptr_t a) const { return node_t((a - base) >> shift); }
};

// Reads DSTD_HEAP_BASE / DSTD_PARTITION_SIZE, reserves the range for `nodes`, makes
// the own slice usable and creates the mimalloc arena. Exits with a clear message if
// the range cannot be reserved (something else is mapped there).
void init(node_t self, node_t nodes);
bool initialized() noexcept;
const layout& lay() noexcept;

// Local allocation in the own partition; nullptr when full.
void* alloc_local(std::size_t bytes, std::size_t alignment) noexcept;
// Frees a block of the own partition (any thread). `remote` counts it as a peer's free.
void free_local(void* p, bool remote) noexcept;
// The runtime's own buffers (message buffers, atomic scratch words): registered heap
// memory like any other, but not counted in stats, so user-visible usage is exact.
void* alloc_internal(std::size_t bytes, std::size_t alignment) noexcept;
void free_internal(void* p) noexcept;
void note_remote_allocation() noexcept;
void note_free_batch() noexcept;
heap::stats snapshot() noexcept;

}  // namespace dstd::heap_impl
