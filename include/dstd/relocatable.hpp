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
