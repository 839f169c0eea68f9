// dstd/unique_ptr.hpp — dstd::unique_ptr<T>: single ownership of an object in the global heap.
//
// How it differs from std::unique_ptr:
//  - The object lives in the global heap, on some node (its home). The pointer is
//    8 bytes (global address + color) and moving it between threads or nodes moves
//    those 8 bytes, never the object.
//  - Const access (through a const unique_ptr, std::as_const(p), p.read()) is a
//    read: a local object is used in place; a remote one is copied once into this
//    node's read cache (one RDMA read of sizeof(T)) and later reads hit the cache.
//  - Non-const access (*p, p->, p.write() on a non-const unique_ptr) is a write: a
//    remote object moves to this node (allocate here, one RDMA read, asynchronous
//    free at the old home, pointer rewritten); a local object gets a new color so
//    copies cached on other nodes go stale. So unlike std, operator* on a const
//    unique_ptr yields const T&: write through a non-const owner.
//  - Destroying a unique_ptr whose object is remote runs the destructor at the
//    object's home, asynchronously (heap::flush() waits for it).
//  - get() and release() return the global address: dereferenceable only on its home.
//  - T must be relocatable (dstd/relocatable.hpp); deleters must be stateless (they
//    run at the home, which receives only the address). Arrays: use dstd::vector.
//  - Converting unique_ptr<Derived> to unique_ptr<Base> is not offered: the object
//    would be copied between nodes as sizeof(Base) bytes.
// Costs: local access is a range check (and a color increment for writes) on top
// of std's; in a 1-node job a write tests one flag and null instead (no other node
// caches a copy). See README "Coherence" for measured figures. Raw reference lifetimes:
// dstd/coherence.hpp. Explicit borrows: dstd/borrow.hpp.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

#include "dstd/borrow.hpp"
#include "dstd/coherence.hpp"
#include "dstd/heap.hpp"
#include "dstd/relocatable.hpp"

namespace dstd {

// Destroys and frees an object of the global heap; runs at the object's home.
template <class T>
struct default_delete {
  constexpr default_delete() noexcept = default;
  template <class U>
    requires std::is_convertible_v<U*, T*>
  constexpr default_delete(const default_delete<U>&) noexcept {}
  void operator()(T* p) const noexcept {
    p->~T();
    heap::deallocate(const_cast<void*>(static_cast<const volatile void*>(p)));
  }
};

template <class T, class D = default_delete<T>>
class unique_ptr {
  static_assert(!std::is_array_v<T>, "dstd::unique_ptr<T[]> is not provided: use dstd::vector<T>");
  static_assert(std::is_empty_v<D> && std::is_default_constructible_v<D>,
                "dstd::unique_ptr: the deleter runs on the object's home node, which receives only "
                "the address, so it must be a stateless (empty, default-constructible) type");

 public:
  using pointer = T*;
  using element_type = T;
  using deleter_type = D;
  using dstd_relocatable = std::true_type;

  constexpr unique_ptr() noexcept = default;
  constexpr unique_ptr(std::nullptr_t) noexcept {}
  // Adopts `p`, an object constructed in a block of the global heap (any node).
  explicit unique_ptr(pointer p) noexcept : w_(as_stored(adopt(p))) {}
  unique_ptr(pointer p, const D&) noexcept : w_(as_stored(adopt(p))) {}
  unique_ptr(unique_ptr&& o) noexcept : w_(std::exchange(o.w_, nullptr)) {}
  unique_ptr(const unique_ptr&) = delete;
  ~unique_ptr() { destroy(word()); }

  unique_ptr& operator=(unique_ptr&& o) noexcept {
    if (this != &o) {
      const std::uint64_t old = word();
      w_ = std::exchange(o.w_, nullptr);
      destroy(old);
    }
    return *this;
  }
  unique_ptr& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  unique_ptr& operator=(const unique_ptr&) = delete;

  // ---- std::unique_ptr's API ----
  pointer get() const noexcept { return reinterpret_cast<pointer>(word() & detail::address_mask); }
  D& get_deleter() noexcept { return d_; }
  const D& get_deleter() const noexcept { return d_; }
  explicit operator bool() const noexcept { return (word() & detail::address_mask) != 0; }
  pointer release() noexcept {
    const std::uint64_t old = word();
    w_ = nullptr;
    return reinterpret_cast<pointer>(old & detail::address_mask);
  }
  void reset(pointer p = pointer()) noexcept {
    const std::uint64_t old = word();
    w_ = as_stored(adopt(p));
    destroy(old);
  }
  void reset(std::nullptr_t) noexcept {
    const std::uint64_t old = word();
    w_ = nullptr;
    destroy(old);
  }
  void swap(unique_ptr& o) noexcept { std::swap(w_, o.w_); }

  // Read path.
  const T& operator*() const { return *read_ptr(); }
  const T* operator->() const { return read_ptr(); }
  const T& read() const { return *read_ptr(); }
  // Write path.
  T& operator*() { return *write_ptr(); }
  T* operator->() { return write_ptr(); }
  T& write() { return *write_ptr(); }

  // ---- dstd additions ----
  node_t home() const { return heap::home(get()); }
  bool is_local() const noexcept { return detail::is_local_address(word() & detail::address_mask); }
  std::uint16_t color() const noexcept { return static_cast<std::uint16_t>(word() >> detail::color_shift); }
  // A shared borrow that can be shipped to other nodes (dstd/borrow.hpp).
  ref<T> borrow() const noexcept { return ref<T>::from_word(word(), false); }
  // An exclusive borrow: moves the object here once, then plain access.
  ref_mut<T> borrow_mut() { return ref_mut<T>(*this); }

 private:
  // The word is stored with a pointer type, not an integer one: then a store through
  // an integer T cannot alias it, and the compiler keeps it in a register as it does
  // std::unique_ptr's pointer.
  std::uint64_t word() const noexcept { return reinterpret_cast<std::uintptr_t>(w_); }
  static void* as_stored(std::uint64_t w) noexcept { return reinterpret_cast<void*>(w); }
  static std::uint64_t adopt(pointer p) noexcept {
    return p ? reinterpret_cast<std::uintptr_t>(p) | detail::fresh_color() : 0;
  }
  static void run_deleter(void* p) { D{}(static_cast<T*>(p)); }
  static void destroy(std::uint64_t w) noexcept {
    static_assert(detail::check_relocatable<T>());
    const std::uintptr_t a = w & detail::address_mask;
    if (!a) return;
    if (detail::is_local_address(a))
      D{}(reinterpret_cast<pointer>(a));
    else
      detail::destroy_remote(reinterpret_cast<void*>(a), &run_deleter);
  }
  const T* read_ptr() const {
    static_assert(detail::check_relocatable<T>());
    const std::uint64_t w = word();
    const std::uintptr_t a = w & detail::address_mask;
    if (detail::is_local_address(a)) [[likely]]
      return reinterpret_cast<const T*>(a);
    if (!a) detail::null_dereference("dstd::unique_ptr");
    return static_cast<const T*>(detail::read_unique(w, sizeof(T)));
  }
  T* write_ptr() {
    static_assert(detail::check_relocatable<T>());
    const std::uint64_t w = word();
    const std::uintptr_t a = w & detail::address_mask;
    if (detail::g_local.one_node && a) return reinterpret_cast<T*>(a);  // no other node caches a copy
    if (detail::is_local_address(a)) [[likely]] {
      detail::mark_written(w_, w);  // copies cached elsewhere go stale
      return reinterpret_cast<T*>(a);
    }
    if (!a) detail::null_dereference("dstd::unique_ptr");
    const std::uint64_t moved = detail::move_unique(w, sizeof(T), alignof(T));
    w_ = as_stored(moved);
    T* obj = reinterpret_cast<T*>(moved & detail::address_mask);
    detail::pull_tboxes(*obj);  // tboxes travel with their owner (dstd/tbox.hpp)
    return obj;
  }

  void* w_ = nullptr;  // global address | color << 48
  [[no_unique_address]] D d_{};
};

namespace detail {
// Constructs a T in this node's partition; sync objects it creates are homed at
// `sync_home` (construct_for).
template <class T, class... Args>
unique_ptr<T> make_unique_for(int sync_home, Args&&... args) {
  static_assert(detail::check_relocatable<T>());
  void* mem = heap::allocate(sizeof(T), alignof(T));
  try {
    construct_for scope(sync_home);
    ::new (mem) T(std::forward<Args>(args)...);
  } catch (...) {
    heap::deallocate(mem);
    throw;
  }
  return unique_ptr<T>(static_cast<T*>(mem));
}
}  // namespace detail

// Constructs a T in this node's partition.
template <class T, class... Args>
  requires(!std::is_array_v<T>)
unique_ptr<T> make_unique(Args&&... args) {
  return detail::make_unique_for<T>(detail::construct_here, std::forward<Args>(args)...);
}

template <class T>
  requires(!std::is_array_v<T>)
unique_ptr<T> make_unique_for_overwrite() {
  static_assert(detail::check_relocatable<T>());
  void* mem = heap::allocate(sizeof(T), alignof(T));
  return unique_ptr<T>(::new (mem) T);
}

// Constructs a T here and places it in `node`'s partition (one allocation request
// and one RDMA write when `node` is remote). Synchronization objects the
// constructor creates (members) are homed at `node` as well. Throws std::invalid_argument for a
// bad node id, std::bad_alloc when that node's partition is full.
template <class T, class... Args>
  requires(!std::is_array_v<T>)
unique_ptr<T> make_unique_on(node_t node, Args&&... args) {
  if (node == node_id()) return make_unique<T>(std::forward<Args>(args)...);
  detail::check_node_id(node);
  // Its mutexes, condition variables, ... are homed there too.
  unique_ptr<T> local = detail::make_unique_for<T>(static_cast<int>(node), std::forward<Args>(args)...);
  detail::place_tboxes(*local, node);  // tboxes go where their owner goes (dstd/tbox.hpp)
  return unique_ptr<T>(static_cast<T*>(detail::relocate_to(node, local.release(), sizeof(T), alignof(T))));
}

template <class T1, class D1, class T2, class D2>
bool operator==(const unique_ptr<T1, D1>& a, const unique_ptr<T2, D2>& b) noexcept {
  return a.get() == b.get();
}
template <class T1, class D1, class T2, class D2>
std::strong_ordering operator<=>(const unique_ptr<T1, D1>& a, const unique_ptr<T2, D2>& b) noexcept {
  return std::compare_three_way{}(a.get(), b.get());
}
template <class T, class D>
bool operator==(const unique_ptr<T, D>& a, std::nullptr_t) noexcept {
  return !a;
}
template <class T, class D>
std::strong_ordering operator<=>(const unique_ptr<T, D>& a, std::nullptr_t) noexcept {
  return std::compare_three_way{}(a.get(), static_cast<T*>(nullptr));
}
template <class T, class D>
void swap(unique_ptr<T, D>& a, unique_ptr<T, D>& b) noexcept {
  a.swap(b);
}

}  // namespace dstd

template <class T, class D>
struct std::hash<dstd::unique_ptr<T, D>> {
  std::size_t operator()(const dstd::unique_ptr<T, D>& p) const noexcept { return std::hash<T*>{}(p.get()); }
};
