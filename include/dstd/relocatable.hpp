// dstd/relocatable.hpp — which types may travel between nodes as bytes.
//
// dstd moves an object to another node by copying its bytes (one RDMA read or
// write) and forgetting the source without running its destructor: C++'s "trivial
// relocation". That is only correct for a type whose bytes mean the same thing on
// every node, i.e. that holds no pointer into node-local memory. std has no such
// trait yet; dstd::is_relocatable<T> is it:
//   - trivially copyable types are relocatable;
//   - dstd's own types (unique_ptr, shared_ptr, ...) are: they hold global addresses;
//   - std::pair, std::tuple, std::array and C arrays of relocatable types are;
//   - a user type opts in with a member `using dstd_relocatable = std::true_type;`
//     or by specializing `template <> struct dstd::is_relocatable<T> : std::true_type {};`
//     Do that only if every member is itself relocatable (a struct holding a
//     dstd::unique_ptr, say). Code addresses (virtual functions, function
//     pointers) are fine: every node runs the same binary at the same address.
// libstdc++'s std::string and std::vector are not relocatable (they point into the
// local heap, and std::string points into itself): use dstd::string, dstd::vector.
#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <cstdint>
#include <utility>

namespace dstd {

template <class T, class = void>
struct is_relocatable : std::bool_constant<std::is_trivially_copyable_v<T>> {};

template <class T>
struct is_relocatable<T, std::void_t<typename T::dstd_relocatable>> : T::dstd_relocatable {};

template <class T>
inline constexpr bool is_relocatable_v = is_relocatable<std::remove_cv_t<T>>::value;

template <class T, std::size_t N>
struct is_relocatable<T[N]> : std::bool_constant<is_relocatable_v<T>> {};
template <class T, std::size_t N>
struct is_relocatable<std::array<T, N>> : std::bool_constant<is_relocatable_v<T>> {};
template <class A, class B>
struct is_relocatable<std::pair<A, B>> : std::bool_constant<is_relocatable_v<A> && is_relocatable_v<B>> {};
template <class... Ts>
struct is_relocatable<std::tuple<Ts...>> : std::bool_constant<(is_relocatable_v<Ts> && ...)> {};

template <class T>
concept relocatable = is_relocatable_v<T>;

namespace detail {
// The diagnostic every dstd API gives for a type it would have to move as bytes.
template <class T>
constexpr bool check_relocatable() {
  static_assert(is_relocatable_v<T>,
                "dstd: this type is not relocatable, so dstd cannot move it between nodes. dstd copies "
                "objects between nodes as bytes; that is only correct for trivially copyable types, "
                "dstd types, and types that opt in. If every member of the type is relocatable (plain "
                "values, dstd::unique_ptr, dstd::vector, dstd::string, ...), add "
                "`using dstd_relocatable = std::true_type;` to it or specialize dstd::is_relocatable. "
                "std::string and std::vector point into one node's memory: use dstd::string and "
                "dstd::vector instead.");
  return true;
}
}  // namespace detail

}  // namespace dstd

// ---- Objects that travel with their owner (dstd::tbox, dstd/tbox.hpp) ----
//
// When a non-const access moves an object to this node, every tbox inside it moves
// in the same step; when an object is placed on a node, its tboxes go there too.
// dstd finds them through travel<T>: a tbox, a type with a member
//   auto dstd_tboxes() { return std::tie(members that hold tboxes...); }
// and pair/tuple/array/C arrays of those. (Without reflection C++ cannot list a
// struct's members, so a struct names its tbox-holding members itself.)
namespace dstd::detail {

// travel<T>::each(obj, f) calls f(box) for every tbox directly inside obj.
template <class T, class = void>
struct travel {
  static constexpr bool any = false;
  template <class F>
  static void each(T&, F&&) {}
};

template <class T>
inline constexpr bool has_tboxes = travel<std::remove_cv_t<T>>::any;

template <class T, class F>
void each_tbox(T& obj, F&& f) {
  if constexpr (has_tboxes<T>) travel<std::remove_cv_t<T>>::each(obj, f);
}

// Moves every tbox inside obj to this node (each tbox pulls its own tboxes).
template <class T>
void pull_tboxes(T& obj) {
  each_tbox(obj, [](auto& box) { box.pull_here(); });
}
// Places every tbox inside obj on `node`.
template <class T>
void place_tboxes(T& obj, std::uint32_t node) {
  each_tbox(obj, [node](auto& box) { box.place_on(node); });
}

template <class T>
struct travel<T, std::void_t<decltype(std::declval<T&>().dstd_tboxes())>> {
  static constexpr bool any = true;
  template <class F>
  static void each(T& obj, F& f) {
    std::apply([&f](auto&... m) { (each_tbox(m, f), ...); }, obj.dstd_tboxes());
  }
};
template <class A, class B>
struct travel<std::pair<A, B>> {
  static constexpr bool any = has_tboxes<A> || has_tboxes<B>;
  template <class F>
  static void each(std::pair<A, B>& p, F& f) {
    each_tbox(p.first, f);
    each_tbox(p.second, f);
  }
};
template <class... Ts>
struct travel<std::tuple<Ts...>> {
  static constexpr bool any = (has_tboxes<Ts> || ...);
  template <class F>
  static void each(std::tuple<Ts...>& t, F& f) {
    std::apply([&f](auto&... m) { (each_tbox(m, f), ...); }, t);
  }
};
template <class T, std::size_t N>
struct travel<std::array<T, N>> {
  static constexpr bool any = has_tboxes<T>;
  template <class F>
  static void each(std::array<T, N>& a, F& f) {
    for (auto& x : a) each_tbox(x, f);
  }
};
template <class T, std::size_t N>
struct travel<T[N]> {
  static constexpr bool any = has_tboxes<T>;
  template <class F>
  static void each(T (&a)[N], F& f) {
    for (auto& x : a) each_tbox(x, f);
  }
};

}  // namespace dstd::detail
