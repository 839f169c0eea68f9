// dstd/runtime.hpp — nodes, and running a function on another node.
//
// A dstd job is N processes ("nodes") running the same binary. Node 0 runs main();
// the others only serve requests until main returns. There is no std counterpart:
// this is the primitive that dstd::thread and friends build on.
//
// Cost model: run_on() to another node is one control message each way (a few
// microseconds on shm, tens on tcp) plus a hand-off to a worker thread at the
// target. run_on() to this node calls the function directly.
//
// Shipping code: every node runs the identical binary at the identical address
// (dstd re-executes itself with ADDR_NO_RANDOMIZE, and start-up checks it), so a
// function travels as its address. Its captures, arguments and result travel as
// bytes, so they must be trivially copyable (checked at compile time).
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace dstd {

using node_t = std::uint32_t;

// This process's node id, 0..num_nodes()-1. A program run without a launcher is node 0 of 1.
node_t node_id() noexcept;
node_t num_nodes() noexcept;

// Thrown by run_on() when the function threw on the remote node; what() names the node.
class remote_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
// Signature of the code address shipped to a node: unpacks `in`, runs, writes the
// result into `out` (capacity `cap`) and returns its size.
using trampoline_fn = std::size_t (*)(const void* in, std::size_t in_len, void* out, std::size_t cap);

// Sends (fn, in) to `node`, waits, copies the result into `out`. Throws
// std::invalid_argument for a bad node, remote_error if the function threw there.
std::size_t call_remote(node_t node, trampoline_fn fn, const void* in, std::size_t in_len,
                        void* out, std::size_t cap);

template <class R, class Packed>
std::size_t invoke_packed(const void* in, std::size_t in_len, void* out, std::size_t cap) {
  if (in_len != sizeof(Packed)) throw std::logic_error("dstd: corrupt call arguments");
  alignas(Packed) unsigned char storage[sizeof(Packed)];
  std::memcpy(storage, in, sizeof(Packed));
  Packed& p = *std::launder(reinterpret_cast<Packed*>(storage));
  if constexpr (std::is_void_v<R>) {
    std::apply([](auto& f, auto&... a) { f(a...); }, p);
    return 0;
  } else {
    R r = std::apply([](auto& f, auto&... a) -> R { return f(a...); }, p);
    if (sizeof(R) > cap) throw std::length_error("dstd: call result too large");
    std::memcpy(out, &r, sizeof(R));
    return sizeof(R);
  }
}
}  // namespace detail

// Runs f(args...) on `node` and returns its result. Blocks the calling thread.
// Throws std::invalid_argument if `node` is not a node of this job.
template <class F, class... Args>
auto run_on(node_t node, F f, Args... args) -> std::invoke_result_t<F&, Args&...> {
  using R = std::invoke_result_t<F&, Args&...>;
  static_assert(std::is_trivially_copyable_v<F>,
                "dstd::run_on: the callable is shipped to another node as bytes, so its captures "
                "must be trivially copyable (capture pointers to global-heap data or plain values, "
                "not std::string/std::vector)");
  static_assert((std::is_trivially_copyable_v<Args> && ...),
                "dstd::run_on: arguments are shipped as bytes and must be trivially copyable");
  static_assert(std::is_void_v<R> || std::is_trivially_copyable_v<R>,
                "dstd::run_on: the result is shipped back as bytes and must be trivially copyable");
  using Packed = std::tuple<F, Args...>;
  Packed packed{f, args...};
  if constexpr (std::is_void_v<R>) {
    detail::call_remote(node, &detail::invoke_packed<R, Packed>, &packed, sizeof packed, nullptr, 0);
  } else {
    std::array<unsigned char, sizeof(R)> out;
    detail::call_remote(node, &detail::invoke_packed<R, Packed>, &packed, sizeof packed, out.data(),
                        out.size());
    return std::bit_cast<R>(out);  // R need not be default-constructible
  }
}

}  // namespace dstd
