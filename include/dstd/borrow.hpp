// dstd/borrow.hpp — explicit borrows: dstd::ref<T> (shared) and dstd::ref_mut<T> (exclusive).
//
// Rust's &T and &mut T, made visible to the coherence protocol. std has no
// counterpart: a const T& / T& is enough on one machine.
//
// dstd::ref<T> (from p.borrow()) names an object for reading. It is 8 bytes plus a
// pin, copyable, and relocatable: capture it in a function shipped to another node
// and read the object there. The first access on a node reads the object through
// that node's cache and pins the copy: references obtained through the ref stay
// valid for the ref's lifetime, across synchronization operations (a raw reference
// from operator* lasts only until the thread's next one). The owner must not write
// or destroy the object while refs to it are alive: that is the borrow rule, and
// breaking it is a data race. A copy of a ref starts unpinned; do not memcpy a ref
// that has been dereferenced (its pin belongs to the node that took it).
//
// dstd::ref_mut<T> (from p.borrow_mut()) is the exclusive borrow: it performs the
// write path once (moving the object here if it was remote) and then gives plain
// T& access for its lifetime. It is node-local: to let another node write, move the
// unique_ptr itself there (8 bytes).
#pragma once

#include <cstdint>
#include <type_traits>

#include "dstd/coherence.hpp"

namespace dstd {

template <class T>
class ref {
 public:
  using element_type = T;
  using dstd_relocatable = std::true_type;

  ref() noexcept = default;
  ref(const ref& o) noexcept : w_(o.w_), shared_(o.shared_) {}
  ref& operator=(const ref& o) noexcept {
    if (this != &o) {
      unpin();
      w_ = o.w_;
      shared_ = o.shared_;
    }
    return *this;
  }
  ~ref() { unpin(); }

  const T& operator*() const { return *get(); }
  const T* operator->() const { return get(); }
  // The object, or this node's pinned copy of it.
  const T* get() const {
    if (data_ && pinned_on_ == node_id()) return data_;
    const std::uintptr_t a = w_ & detail::address_mask;
    if (!a) detail::null_dereference("dstd::ref");
    if (detail::is_local_address(a)) {
      data_ = reinterpret_cast<const T*>(a);
      entry_ = nullptr;
    } else {
      const auto c = shared_ ? detail::pin_shared(reinterpret_cast<const void*>(a), sizeof(T))
                             : detail::pin_unique(w_, sizeof(T));
      data_ = static_cast<const T*>(c.data);
      entry_ = c.entry;
    }
    pinned_on_ = node_id();
    return data_;
  }
  explicit operator bool() const noexcept { return (w_ & detail::address_mask) != 0; }
  // The object's global address (not dereferenceable unless it is local).
  const T* address() const noexcept { return reinterpret_cast<const T*>(w_ & detail::address_mask); }

  // For dstd's owners (unique_ptr::borrow, shared_ptr::borrow).
  static ref from_word(std::uint64_t word, bool shared) noexcept {
    ref r;
    r.w_ = word;
    r.shared_ = shared;
    return r;
  }

 private:
  void unpin() noexcept {
    if (entry_ && pinned_on_ == node_id()) detail::unpin(entry_);
    entry_ = nullptr;
    data_ = nullptr;
  }

  std::uint64_t w_ = 0;
  bool shared_ = false;
  mutable node_t pinned_on_ = 0;
  mutable const T* data_ = nullptr;
  mutable void* entry_ = nullptr;
};

template <class T, class D>
class unique_ptr;

template <class T>
class ref_mut {
 public:
  using element_type = T;
  using dstd_relocatable = std::false_type;  // node-local: move the unique_ptr instead

  template <class D>
  explicit ref_mut(unique_ptr<T, D>& owner) : p_(&owner.write()) {}
  ref_mut(const ref_mut&) = delete;
  ref_mut& operator=(const ref_mut&) = delete;

  T& operator*() const noexcept { return *p_; }
  T* operator->() const noexcept { return p_; }
  T* get() const noexcept { return p_; }

 private:
  T* p_;
};

}  // namespace dstd
