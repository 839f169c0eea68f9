// dstd/shared_ptr.hpp — dstd::shared_ptr<T>, dstd::weak_ptr<T>: shared ownership across nodes.
//
// How it differs from std::shared_ptr:
//  - The object and its control block live in the global heap. The control block
//    sits where the object was made (make_shared: one block) and its counts are
//    updated with fabric atomics (native FI_ATOMIC, or executed at the home where
//    the provider has none): copying or dropping a shared_ptr whose block is on
//    another node costs one fabric atomic (microseconds, not nanoseconds), and so
//    does one on this node where a NIC executes the provider's atomics (verbs, efa:
//    they are not atomic with the CPU's). Copy the object's data out or borrow() it
//    when you need it in a hot loop. A block on this node with a software provider
//    (shm, tcp), or in a 1-node job, takes a CPU atomic, as std's.
//  - The object never moves: several owners on several nodes hold its address.
//  - Const access (const shared_ptr, read()) reads: a local object in place, a
//    remote one through this node's cache. A cached copy of a shared object is used
//    only by threads whose latest synchronization operation came before the copy
//    was fetched; after a thread synchronizes again it fetches a fresh copy.
//  - Non-const access (non-const shared_ptr, write()) writes: a local object in
//    place; a remote one through a private copy of this thread. At the thread's
//    next synchronization operation (and before it drops a shared_ptr) the bytes it
//    changed, found by comparing the copy with a twin taken when it was fetched,
//    are written home, and the copy is forgotten.
//  Why this is coherent: in a data-race-free program, a thread that reads bytes
//  another thread wrote is ordered after it by a chain of synchronization
//  operations: the writer's diff is home before its release, and the reader's
//  acquire makes it fetch after that. Only changed bytes are written, so threads
//  writing different fields of one object under different locks do not overwrite
//  each other. Two writes to the same bytes with no synchronization between them
//  are a data race, as in C++. Do not write the same bytes through two different
//  shared_ptrs (aliasing ones, say) in one epoch: each has its own private copy.
//  - Constness is deep for * and ->: through a const shared_ptr they read (std's
//    are shallow, and give a mutable T). write() is the explicit write path and works
//    on a const handle too, as std's shallow const does: code that writes through a
//    `const shared_ptr&` calls write() instead of copying the handle, which would
//    cost two count updates (fabric atomics for a remote block).
//  - Converting to shared_ptr<Base> and aliasing are supported (nothing moves).
//  - dynamic_pointer_cast, enable_shared_from_this, atomic<shared_ptr> and
//    allocators are not provided.
#pragma once

#include <atomic>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "dstd/borrow.hpp"
#include "dstd/coherence.hpp"
#include "dstd/heap.hpp"
#include "dstd/relocatable.hpp"
#include "dstd/rma.hpp"
#include "dstd/unique_ptr.hpp"

namespace dstd {

using std::bad_weak_ptr;

namespace detail {
// Counts and disposal of one shared object, in the global heap. Words are only
// touched with dstd::rma atomics, as rma.hpp requires, except in a 1-node job,
// where those are CPU atomics anyway (g_local.one_node) and shared_ptr's inline
// fast paths use std::atomic_ref directly.
struct shared_ctrl {
  std::uint64_t strong;   // owners
  std::uint64_t weak;     // weak_ptrs, plus one for all owners together
  std::uint64_t object;   // address passed to dispose
  std::uint64_t dispose;  // void(*)(void*), run at the object's home when strong hits 0
};
// Block layout of make_shared: the control block, then the object.
template <class T>
inline constexpr std::size_t inplace_offset = (sizeof(shared_ctrl) + alignof(T) - 1) / alignof(T) * alignof(T);

void shared_add_ref(shared_ctrl* c);
void shared_drop_ref(shared_ctrl* c) noexcept;  // a release operation, as in std
void shared_last_owner_gone(shared_ctrl* c) noexcept;  // after strong went 1 -> 0
// The 1-node fast paths: one CPU atomic each, as std's. With one node there are
// no private copies of remote objects, so a drop has nothing to write home first.
inline void shared_add_ref_fast(shared_ctrl* c) {
  if (g_local.one_node)
    std::atomic_ref<std::uint64_t>(c->strong).fetch_add(1, std::memory_order_relaxed);
  else
    shared_add_ref(c);
}
inline void shared_drop_ref_fast(shared_ctrl* c) noexcept {
  if (!g_local.one_node)
    shared_drop_ref(c);
  else if (std::atomic_ref<std::uint64_t>(c->strong).fetch_sub(1, std::memory_order_acq_rel) == 1)
    shared_last_owner_gone(c);
}
void weak_add_ref(shared_ctrl* c);
void weak_drop_ref(shared_ctrl* c) noexcept;
bool shared_try_add_ref(shared_ctrl* c);  // weak_ptr::lock: false once strong is 0
long shared_use_count(shared_ctrl* c);
// A control block here for an adopted object (deleter runs at the object's home).
shared_ctrl* make_separate_ctrl(void* object, void (*dispose)(void*));

template <class T>
void dispose_inplace(void* p) {
  static_cast<T*>(p)->~T();
}
}  // namespace detail

template <class T>
class weak_ptr;

template <class T>
class shared_ptr {
  template <class U>
  friend class shared_ptr;
  template <class U>
  friend class weak_ptr;
  template <class U, class... Args>
  friend shared_ptr<U> make_shared_on(node_t, Args&&...);

 public:
  using element_type = std::remove_extent_t<T>;
  using weak_type = weak_ptr<T>;
  using dstd_relocatable = std::true_type;  // moving the bytes moves one reference

  constexpr shared_ptr() noexcept = default;
  constexpr shared_ptr(std::nullptr_t) noexcept {}
  // Adopts `p`, an object constructed in a block of the global heap.
  template <class U>
    requires std::is_convertible_v<U*, T*>
  explicit shared_ptr(U* p) : p_(p) {
    if (p) c_ = adopt(p, [](void* q) { default_delete<U>{}(static_cast<U*>(q)); });
  }
  template <class U, class D>
    requires std::is_convertible_v<U*, T*>
  shared_ptr(unique_ptr<U, D>&& u) : p_(u.get()) {
    if (p_) c_ = adopt(u.get(), [](void* q) { D{}(static_cast<U*>(q)); });
    u.release();
  }
  shared_ptr(const shared_ptr& o) noexcept : p_(o.p_), c_(o.c_) { add_ref(); }
  shared_ptr(shared_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)), c_(std::exchange(o.c_, nullptr)) {}
  template <class U>
    requires std::is_convertible_v<U*, T*>
  shared_ptr(const shared_ptr<U>& o) noexcept : p_(o.p_), c_(o.c_) {
    add_ref();
  }
  template <class U>
    requires std::is_convertible_v<U*, T*>
  shared_ptr(shared_ptr<U>&& o) noexcept : p_(std::exchange(o.p_, nullptr)), c_(std::exchange(o.c_, nullptr)) {}
  // Aliasing: shares ownership with `o`, points at `p` (a member of o's object, say).
  template <class U>
  shared_ptr(const shared_ptr<U>& o, T* p) noexcept : p_(p), c_(o.c_) {
    add_ref();
  }
  template <class U>
    requires std::is_convertible_v<U*, T*>
  explicit shared_ptr(const weak_ptr<U>& w) : p_(w.p_), c_(w.c_) {
    if (!c_ || !detail::shared_try_add_ref(c_)) throw bad_weak_ptr();
  }
  ~shared_ptr() { drop(); }

  shared_ptr& operator=(const shared_ptr& o) noexcept {
    shared_ptr(o).swap(*this);
    return *this;
  }
  shared_ptr& operator=(shared_ptr&& o) noexcept {
    shared_ptr(std::move(o)).swap(*this);
    return *this;
  }
  template <class U>
  shared_ptr& operator=(const shared_ptr<U>& o) noexcept {
    shared_ptr(o).swap(*this);
    return *this;
  }
  template <class U, class D>
  shared_ptr& operator=(unique_ptr<U, D>&& u) {
    shared_ptr(std::move(u)).swap(*this);
    return *this;
  }

  void reset() noexcept { shared_ptr().swap(*this); }
  template <class U>
  void reset(U* p) {
    shared_ptr(p).swap(*this);
  }
  void swap(shared_ptr& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(c_, o.c_);
  }

  element_type* get() const noexcept { return p_; }
  long use_count() const { return c_ ? detail::shared_use_count(c_) : 0; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  template <class U>
  bool owner_before(const shared_ptr<U>& o) const noexcept {
    return c_ < o.c_;
  }
  template <class U>
  bool owner_before(const weak_ptr<U>& o) const noexcept {
    return c_ < o.c_;
  }

  // Read path.
  const T& operator*() const { return *read_ptr(); }
  const T* operator->() const { return read_ptr(); }
  const T& read() const { return *read_ptr(); }
  // Write path.
  T& operator*() { return *write_ptr(); }
  T* operator->() { return write_ptr(); }
  T& write() const { return *write_ptr(); }  // the handle is not changed

  // dstd additions.
  node_t home() const { return heap::home(p_); }
  bool is_local() const noexcept { return detail::is_local_address(reinterpret_cast<std::uintptr_t>(p_)); }
  ref<T> borrow() const noexcept { return ref<T>::from_word(reinterpret_cast<std::uintptr_t>(p_), true); }

 private:
  template <class U>
  static detail::shared_ctrl* adopt(U* p, void (*dispose)(void*)) {
    static_assert(detail::check_relocatable<U>());
    return detail::make_separate_ctrl(const_cast<std::remove_cv_t<U>*>(p), dispose);
  }
  void add_ref() const {
    if (c_) detail::shared_add_ref_fast(c_);
  }
  void drop() noexcept {
    if (c_) detail::shared_drop_ref_fast(c_);
  }
  const T* read_ptr() const {
    static_assert(detail::check_relocatable<T>());
    const auto a = reinterpret_cast<std::uintptr_t>(p_);
    if (detail::is_local_address(a)) [[likely]]
      return p_;
    if (!a) detail::null_dereference("dstd::shared_ptr");
    return static_cast<const T*>(detail::read_shared(p_, sizeof(T)));
  }
  T* write_ptr() const {
    static_assert(detail::check_relocatable<T>());
    const auto a = reinterpret_cast<std::uintptr_t>(p_);
    if (detail::is_local_address(a)) [[likely]]
      return p_;
    if (!a) detail::null_dereference("dstd::shared_ptr");
    return static_cast<T*>(detail::write_shared(const_cast<std::remove_cv_t<T>*>(p_), sizeof(T)));
  }

  T* p_ = nullptr;
  detail::shared_ctrl* c_ = nullptr;
};

template <class T>
class weak_ptr {
  template <class U>
  friend class shared_ptr;
  template <class U>
  friend class weak_ptr;

 public:
  using element_type = T;
  using dstd_relocatable = std::true_type;

  constexpr weak_ptr() noexcept = default;
  template <class U>
    requires std::is_convertible_v<U*, T*>
  weak_ptr(const shared_ptr<U>& s) noexcept : p_(s.p_), c_(s.c_) {
    if (c_) detail::weak_add_ref(c_);
  }
  weak_ptr(const weak_ptr& o) noexcept : p_(o.p_), c_(o.c_) {
    if (c_) detail::weak_add_ref(c_);
  }
  weak_ptr(weak_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)), c_(std::exchange(o.c_, nullptr)) {}
  ~weak_ptr() {
    if (c_) detail::weak_drop_ref(c_);
  }
  weak_ptr& operator=(const weak_ptr& o) noexcept {
    weak_ptr(o).swap(*this);
    return *this;
  }
  weak_ptr& operator=(weak_ptr&& o) noexcept {
    weak_ptr(std::move(o)).swap(*this);
    return *this;
  }
  template <class U>
  weak_ptr& operator=(const shared_ptr<U>& s) noexcept {
    weak_ptr(s).swap(*this);
    return *this;
  }

  void reset() noexcept { weak_ptr().swap(*this); }
  void swap(weak_ptr& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(c_, o.c_);
  }
  long use_count() const { return c_ ? detail::shared_use_count(c_) : 0; }
  bool expired() const { return use_count() == 0; }
  shared_ptr<T> lock() const {
    shared_ptr<T> s;
    if (c_ && detail::shared_try_add_ref(c_)) {
      s.p_ = p_;
      s.c_ = c_;
    }
    return s;
  }
  template <class U>
  bool owner_before(const weak_ptr<U>& o) const noexcept {
    return c_ < o.c_;
  }
  template <class U>
  bool owner_before(const shared_ptr<U>& o) const noexcept {
    return c_ < o.c_;
  }

 private:
  T* p_ = nullptr;
  detail::shared_ctrl* c_ = nullptr;
};

// Constructs a T and its control block in one block of `node`'s partition.
// Synchronization objects the constructor creates (members) are homed at `node` too.
template <class T, class... Args>
shared_ptr<T> make_shared_on(node_t node, Args&&... args) {
  static_assert(detail::check_relocatable<T>());
  constexpr std::size_t off = detail::inplace_offset<T>;
  constexpr std::size_t align = alignof(T) > alignof(detail::shared_ctrl) ? alignof(T) : alignof(detail::shared_ctrl);
  const bool here = node == node_id();
  auto* home = static_cast<unsigned char*>(here ? heap::allocate(off + sizeof(T), align)
                                                : heap::allocate_on(node, off + sizeof(T), align));
  unsigned char* build = home;
  try {
    if (!here) {
      build = static_cast<unsigned char*>(heap::allocate(off + sizeof(T), align));
      detail::construct_for there(static_cast<int>(node));  // its mutexes, condition variables, ... live there too
      ::new (build + off) T(std::forward<Args>(args)...);
    } else {
      detail::construct_for here(detail::construct_here);
      ::new (build + off) T(std::forward<Args>(args)...);
    }
  } catch (...) {
    if (build != home) heap::deallocate(build);
    heap::deallocate(home);
    throw;
  }
  ::new (build) detail::shared_ctrl{1, 1, reinterpret_cast<std::uintptr_t>(home + off),
                                    reinterpret_cast<std::uintptr_t>(&detail::dispose_inplace<T>)};
  if (!here) {
    rma::write(home, build, off + sizeof(T));  // relocation: the bytes are the object now
    heap::deallocate(build);
  }
  shared_ptr<T> s;
  s.p_ = reinterpret_cast<T*>(home + off);
  s.c_ = reinterpret_cast<detail::shared_ctrl*>(home);
  return s;
}

template <class T, class... Args>
shared_ptr<T> make_shared(Args&&... args) {
  return make_shared_on<T>(node_id(), std::forward<Args>(args)...);
}

template <class T, class U>
shared_ptr<T> static_pointer_cast(const shared_ptr<U>& r) noexcept {
  return shared_ptr<T>(r, static_cast<T*>(r.get()));
}
template <class T, class U>
shared_ptr<T> const_pointer_cast(const shared_ptr<U>& r) noexcept {
  return shared_ptr<T>(r, const_cast<T*>(r.get()));
}

template <class T, class U>
bool operator==(const shared_ptr<T>& a, const shared_ptr<U>& b) noexcept {
  return a.get() == b.get();
}
template <class T, class U>
std::strong_ordering operator<=>(const shared_ptr<T>& a, const shared_ptr<U>& b) noexcept {
  return std::compare_three_way{}(a.get(), b.get());
}
template <class T>
bool operator==(const shared_ptr<T>& a, std::nullptr_t) noexcept {
  return !a;
}
template <class T>
std::strong_ordering operator<=>(const shared_ptr<T>& a, std::nullptr_t) noexcept {
  return std::compare_three_way{}(a.get(), static_cast<T*>(nullptr));
}
template <class T>
void swap(shared_ptr<T>& a, shared_ptr<T>& b) noexcept {
  a.swap(b);
}
template <class T>
void swap(weak_ptr<T>& a, weak_ptr<T>& b) noexcept {
  a.swap(b);
}

// Orders by control block, as std::owner_less does.
template <class T = void>
struct owner_less {
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return a.owner_before(b);
  }
};

}  // namespace dstd

template <class T>
struct std::hash<dstd::shared_ptr<T>> {
  std::size_t operator()(const dstd::shared_ptr<T>& p) const noexcept { return std::hash<T*>{}(p.get()); }
};
