// dstd/heap.hpp — the partitioned global heap.
//
// Every node reserves the same virtual range [base, base + num_nodes*P); node r owns
// [base + r*P, base + (r+1)*P), managed by mimalloc and registered once with
// libfabric so peers can read and write it one-sidedly. An address therefore names
// its home node: home(p) = (p - base) / P. Unlike operator new:
//  - allocate() is local and as fast as mimalloc; allocate_on(r) asks node r (one
//    round trip);
//  - deallocate() of a remote block is asynchronous and batched per home node;
//    flush() waits until every home has processed what this node sent;
//  - an exhausted partition throws std::bad_alloc (no fallback to the OS);
//  - memory on another node must be accessed through dstd::rma (or dstd's smart
//    pointers), never dereferenced directly: remote partitions are not mapped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "dstd/runtime.hpp"

namespace dstd::heap {

inline constexpr std::size_t default_alignment = alignof(std::max_align_t);

// Allocates in this node's partition. Throws std::bad_alloc when it is full.
void* allocate(std::size_t bytes, std::size_t alignment = default_alignment);
// Allocates in `node`'s partition. Throws std::invalid_argument for a bad node id.
void* allocate_on(node_t node, std::size_t bytes, std::size_t alignment = default_alignment);
// Frees a block of the global heap from any node (remote: asynchronous, batched).
void deallocate(void* p) noexcept;

// Type-erased destroy at home: runs deleter(p) on p's home node (asynchronously
// when remote). The deleter must release p's memory itself (see destroy<T>).
using deleter_fn = void (*)(void*);
void destroy(void* p, deleter_fn deleter) noexcept;

template <class T>
void destroy(T* p) noexcept {
  destroy(const_cast<void*>(static_cast<const void*>(p)), [](void* q) {
    static_cast<T*>(q)->~T();
    deallocate(q);
  });
}

// The same for an array of `count` elements (a container's buffer): runs
// deleter(p, count) at p's home, which must destroy the elements and free p.
// With count == 0 the block is only freed.
using array_deleter_fn = void (*)(void*, std::size_t);
void destroy_n(void* p, std::size_t count, array_deleter_fn deleter) noexcept;

// Sends every pending remote free/destroy and waits until the homes have run them.
void flush();
// flush() on every node, round after round, until a whole round queued nothing new
// (a destructor run at its home may free further remote objects). After it returns,
// every heap reflects every free issued before the call. The job calls it at exit,
// so destructors queued anywhere run before the job ends.
void flush_all();

// Layout queries (cheap: a subtraction and a shift).
bool contains(const void* p) noexcept;  // inside any node's partition
node_t home(const void* p);             // throws std::invalid_argument if !contains(p)
bool is_local(const void* p) noexcept;  // inside this node's partition
std::uintptr_t base() noexcept;
std::size_t partition_size() noexcept;

struct stats {
  std::uint64_t partition_bytes = 0;    // size of the node's partition
  std::uint64_t bytes_in_use = 0;       // usable bytes of live blocks
  std::uint64_t blocks_in_use = 0;      // live blocks
  std::uint64_t allocations = 0;        // blocks allocated here (local + on behalf of peers)
  std::uint64_t remote_allocations = 0; // of those, requested by other nodes
  std::uint64_t frees = 0;              // blocks freed here
  std::uint64_t remote_frees = 0;       // of those, sent by other nodes
  std::uint64_t free_batches = 0;       // batch messages received
};
stats local_stats() noexcept;
stats stats_of(node_t node);  // throws std::invalid_argument for a bad node id

}  // namespace dstd::heap
