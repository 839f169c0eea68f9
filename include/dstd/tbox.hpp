// dstd/tbox.hpp — dstd::tbox<T>: an owned box that travels with the object holding it.
//
// There is no std counterpart; on one machine it is a std::unique_ptr that is never
// null after construction and copies deeply. It is DRust's TBox:
//  - A dstd::unique_ptr moves its object only when that object is written, so a
//    struct whose parts sit behind unique_ptrs is written piece by piece, one RDMA
//    read per part, each at first touch. A tbox instead moves together with its
//    owner: when a non-const access moves the owning object to this node (a
//    dstd::unique_ptr, a dstd::vector's buffer, another tbox), every tbox inside
//    it moves in the same step, recursively. So a tbox reached from a local owner
//    is always local, and access to it is plain memory.
//  - make_unique_on / make_vector_on / place_on place an owner's tboxes on the same
//    node as the owner.
//  - dstd finds the tboxes inside a type through its `dstd_tboxes()` member (see
//    dstd/relocatable.hpp): list every member that holds a tbox, directly or inside
//    another struct, pair, tuple or array:
//      struct node { dstd::tbox<payload> data; dstd::tbox<meta> info; int k;
//                    using dstd_relocatable = std::true_type;
//                    auto dstd_tboxes() { return std::tie(data, info); } };
//  - Const access reads (a remote box is read into the node cache, like a
//    unique_ptr's object); non-const access of a box that is somehow remote (one
//    held by a stack object, say) moves it here.
#pragma once

#include <utility>

#include "dstd/unique_ptr.hpp"

namespace dstd {

template <class T>
class tbox {
 public:
  using element_type = T;
  using dstd_relocatable = std::true_type;

  // A box holding T{} (T(args...) with the in-place constructor), built here.
  tbox() : p_(make_unique<T>()) {}
  explicit tbox(const T& v) : p_(make_unique<T>(v)) {}
  explicit tbox(T&& v) : p_(make_unique<T>(std::move(v))) {}
  template <class... Args>
  explicit tbox(std::in_place_t, Args&&... args) : p_(make_unique<T>(std::forward<Args>(args)...)) {}
  tbox(const tbox& o) : p_(o.p_ ? make_unique<T>(o.read()) : unique_ptr<T>()) {}
  tbox(tbox&&) noexcept = default;  // leaves the source empty, as a moved-from unique_ptr
  tbox& operator=(const tbox& o) {
    if (this != &o) *this = tbox(o);
    return *this;
  }
  tbox& operator=(tbox&&) noexcept = default;
  tbox& operator=(const T& v) {
    write() = v;
    return *this;
  }

  const T& operator*() const { return p_.read(); }
  const T* operator->() const { return &p_.read(); }
  const T& read() const { return p_.read(); }
  T& operator*() { return p_.write(); }
  T* operator->() { return &p_.write(); }
  T& write() { return p_.write(); }
  // False only for a moved-from box.
  explicit operator bool() const noexcept { return static_cast<bool>(p_); }

  // The box's global address, its home and whether that is this node.
  const T* get() const noexcept { return p_.get(); }
  node_t home() const { return p_.home(); }
  bool is_local() const noexcept { return !p_ || p_.is_local(); }
  ref<T> borrow() const noexcept { return p_.borrow(); }

  // For owners (dstd/relocatable.hpp's travel): move the box here with its own
  // tboxes, or place it (and them) on `node`.
  void pull_here() {
    if (!is_local()) p_.write();  // unique_ptr's move pulls the box's own tboxes
  }
  void place_on(node_t node) {
    if (!p_ || p_.home() == node) return;
    detail::place_tboxes(p_.write(), node);  // (write() brings the box here first)
    p_ = unique_ptr<T>(static_cast<T*>(detail::relocate_to(node, p_.release(), sizeof(T), alignof(T))));
  }

  friend bool operator==(const tbox& a, const tbox& b)
    requires std::equality_comparable<T>
  {
    return a.read() == b.read();
  }

 private:
  unique_ptr<T> p_;
};

template <class T, class... Args>
tbox<T> make_tbox(Args&&... args) {
  return tbox<T>(std::in_place, std::forward<Args>(args)...);
}

namespace detail {
template <class T>
struct travel<tbox<T>> {
  static constexpr bool any = true;
  template <class F>
  static void each(tbox<T>& box, F& f) {
    f(box);
  }
};
}  // namespace detail

}  // namespace dstd
