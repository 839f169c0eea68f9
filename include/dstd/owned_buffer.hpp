// dstd/owned_buffer.hpp — the buffer behind dstd::vector and dstd::string (internal).
//
// A container's elements live in one block of the global heap, owned by the
// container exactly as a dstd::unique_ptr owns its object: the container holds a
// word (global address | 16-bit color) and follows the same protocol.
//  - Const access to a local buffer is plain memory. To a remote one it reads a
//    copy into the node cache, keyed by the word: the whole buffer for iteration
//    and data(), only the chunk around the element (DSTD_READ_CHUNK) for
//    operator[], at(), front(), back().
//  - Non-const access to a remote buffer moves the whole buffer here (one RDMA read
//    into a fresh local block; the old home frees its block asynchronously). To a
//    local buffer it bumps the color, so copies other nodes cached go stale.
//  - In a 1-node job (g_local.one_node) no other node caches a buffer, so a write
//    skips the locality test and the color bump.
//  - Elements are relocatable, so growing, inserting and moving relocate them with
//    memcpy/memmove, never move constructors.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "dstd/coherence.hpp"
#include "dstd/heap.hpp"
#include "dstd/relocatable.hpp"

namespace dstd::detail {

// The size of a heap partition (the largest block) without a call once the heap is
// up: containers check it on every growth and string construction.
inline std::size_t partition_bytes() noexcept { return g_local.size ? g_local.size : heap::partition_size(); }

// An iterator into a container's buffer, taken as a position by insert, erase,
// emplace and replace. The iterators are raw pointers, so a literal 0 would convert
// to a null iterator: `s.erase(0)` would be ambiguous with string's index overload,
// and `v.erase(0)` would compile. std's iterators are classes, to which 0 does not
// convert; taking positions through templates on this concept keeps it that way.
template <class I, class T>
concept position_iterator = std::same_as<I, T*> || std::same_as<I, const T*>;

template <class T>
class owned_buffer {
 public:
  owned_buffer() noexcept = default;
  owned_buffer(owned_buffer&& o) noexcept : w_(std::exchange(o.w_, nullptr)) {}
  owned_buffer& operator=(owned_buffer&& o) noexcept {
    w_ = std::exchange(o.w_, nullptr);  // the caller has released the old block
    return *this;
  }

  std::uint64_t word() const noexcept { return reinterpret_cast<std::uintptr_t>(w_); }
  std::uintptr_t address() const noexcept { return word() & address_mask; }
  bool empty_block() const noexcept { return address() == 0; }
  bool is_local() const noexcept { return is_local_address(address()); }
  void swap(owned_buffer& o) noexcept { std::swap(w_, o.w_); }
  // The word as a value, for slow paths that take the buffer by value so the
  // container does not escape into the call (dstd::vector::room_for_push).
  static owned_buffer from_word(std::uint64_t w) noexcept {
    owned_buffer b;
    b.w_ = reinterpret_cast<void*>(w);
    return b;
  }

  // Const access to the first `n` elements (the whole copy when remote).
  const T* read(std::size_t n) const {
    const std::uintptr_t a = address();
    if (is_local_address(a) || n == 0 || a == 0) [[likely]]
      return reinterpret_cast<const T*>(a);
    return static_cast<const T*>(read_unique(word(), n * sizeof(T)));
  }
  // Const access to element i of n (only its chunk when remote).
  const T* read_at(std::size_t i, std::size_t n) const {
    const std::uintptr_t a = address();
    if (is_local_address(a)) [[likely]]
      return reinterpret_cast<const T*>(a) + i;
    return static_cast<const T*>(read_buffer_at(word(), i * sizeof(T), sizeof(T), n * sizeof(T)));
  }
  // Non-const access: a local buffer holding `n` elements (capacity `cap`).
  T* write(std::size_t n, std::size_t cap) {
    const std::uint64_t w = word();
    const std::uintptr_t a = w & address_mask;
    // One node: every block is here and no other node caches a copy, so there is
    // nothing to test or bump. No store to the word either, so a loop indexing a
    // non-const vector keeps it in a register, as it keeps std::vector's pointer.
    if (g_local.one_node) return reinterpret_cast<T*>(a);
    if (is_local_address(a)) [[likely]] {
      mark_written(w_, w);  // copies cached elsewhere go stale
      return reinterpret_cast<T*>(a);
    }
    if (a == 0) return nullptr;
    return move_here(n, cap);
  }
  // The buffer, known by the caller to be local (dstd::vector's tagged capacity).
  T* local_data() const noexcept { return reinterpret_cast<T*>(address()); }
  // Non-const access that writes only past the first n elements (an append into
  // spare capacity). No color bump: a copy cached elsewhere holds at most the
  // first n elements (every operation that shrinks the size bumps the color), and
  // a reader that sees the larger size asks for more bytes than that copy has, so
  // it fetches again. This keeps push_back as cheap as std's.
  T* append_ptr(std::size_t n, std::size_t cap) {
    const std::uintptr_t a = address();
    if (is_local_address(a)) [[likely]]
      return reinterpret_cast<T*>(a);
    if (a == 0) return nullptr;
    return move_here(n, cap);
  }
  // A local block of `new_cap` elements holding the first `n` elements, which are
  // relocated from the current block (moved here first if it is remote).
  T* reallocate(std::size_t n, std::size_t new_cap) {
    const std::uintptr_t a = address();
    if (a != 0 && !is_local_address(a)) return move_here(n, new_cap);
    T* to = allocate(new_cap);
    if (n) std::memcpy(static_cast<void*>(to), reinterpret_cast<const void*>(a), n * sizeof(T));
    heap::deallocate(reinterpret_cast<void*>(a));
    w_ = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(to) | fresh_color());
    return to;
  }
  // Takes a fresh local block (the current one must be released already).
  T* adopt_new(std::size_t cap) {
    T* to = allocate(cap);
    w_ = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(to) | fresh_color());
    return to;
  }
  // Destroys the first `n` elements and frees the block, at its home.
  void release(std::size_t n) noexcept {
    const std::uintptr_t a = address();
    w_ = nullptr;
    if (a == 0) return;
    if (is_local_address(a)) {
      destroy_elements(reinterpret_cast<void*>(a), n);
      return;
    }
    if constexpr (std::is_trivially_destructible_v<T>)
      heap::deallocate(reinterpret_cast<void*>(a));
    else
      heap::destroy_n(reinterpret_cast<void*>(a), n, &destroy_elements);
  }
  // Places the buffer's `n` elements (capacity `cap`) on `node`: one allocation
  // there and one RDMA write. Used by containers created for another node.
  void place_on(node_t node, std::size_t n, std::size_t cap) {
    if (empty_block() || node == heap::home(reinterpret_cast<void*>(address()))) return;
    T* here = write(n, cap);  // local first (a remote buffer moves here)
    if constexpr (has_tboxes<T>)
      for (std::size_t i = 0; i < n; ++i) place_tboxes(here[i], node);
    void* there = relocate_to(node, here, cap * sizeof(T), alignof(T));
    w_ = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(there) | fresh_color());
  }

 private:
  static constexpr std::size_t block_align = alignof(T) < 16 ? 16 : alignof(T);
  static T* allocate(std::size_t cap) {
    // Every block of elements is made here: the check fires even for a container
    // that is never destroyed (its destructor checks too).
    static_assert(check_relocatable<T>());
    if (cap > partition_bytes() / sizeof(T)) throw std::bad_alloc();
    return static_cast<T*>(heap::allocate(cap * sizeof(T), block_align));
  }
  static void destroy_elements(void* p, std::size_t n) noexcept {
    if constexpr (!std::is_trivially_destructible_v<T>)
      for (std::size_t i = 0; i < n; ++i) static_cast<T*>(p)[i].~T();
    heap::deallocate(p);
  }
  T* move_here(std::size_t n, std::size_t cap) {
    const std::uint64_t moved = move_buffer(word(), n * sizeof(T), cap * sizeof(T), block_align);
    w_ = reinterpret_cast<void*>(moved);
    T* p = reinterpret_cast<T*>(moved & address_mask);
    if constexpr (has_tboxes<T>)
      for (std::size_t i = 0; i < n; ++i) pull_tboxes(p[i]);  // their tboxes travel with them
    return p;
  }

  // Stored with a pointer type so element stores (of integer T) cannot alias it.
  void* w_ = nullptr;
};

}  // namespace dstd::detail
