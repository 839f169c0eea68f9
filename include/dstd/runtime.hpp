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
// bytes, so they must be relocatable (checked at compile time).
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

#include "dstd/relocatable.hpp"

namespace dstd {

using node_t = std::uint32_t;

// This process's node id, 0..num_nodes()-1. A program run without a launcher is node 0 of 1.
node_t node_id() noexcept;
node_t num_nodes() noexcept;

// A node's traffic since it started (what DSTD_STATS=1 prints at exit): for tests and
// tools that check what an operation costs on the wire.
struct traffic_stats {
  std::uint64_t messages_sent, messages_received;  // control messages
  std::uint64_t rma_reads, rma_writes, bytes_read, bytes_written, atomics;
  std::uint64_t calls_served;  // run_on calls and threads run here for other nodes
  // Pieces of large reads (DSTD_STRIPE_MIN, shm) that this node's copy helper copied.
  std::uint64_t copy_helper_pieces;
};
traffic_stats local_traffic() noexcept;
traffic_stats traffic_of(node_t node);  // throws std::invalid_argument for a bad node id

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
// The call and its return are synchronization operations (dstd/coherence.hpp).
std::size_t call_remote(node_t node, trampoline_fn fn, const void* in, std::size_t in_len,
                        void* out, std::size_t cap);
void check_node_id(node_t node);  // throws std::invalid_argument

// Set while make_unique_on / make_shared_on / make_vector_on(node) construct an
// object here that will live on another node: synchronization objects created
// meanwhile (a dstd::mutex member, say) are homed at that node, with the object,
// so that locking them there costs a CAS instead of a message to this node.
// make_unique, make_shared and the same-node make_*_on set it back to "here" for
// the objects they build, so an object's sync objects live where it does.
inline constexpr int construct_here = -1;
inline constinit thread_local int t_construct_for = construct_here;
class construct_for {
 public:
  explicit construct_for(int node) noexcept : prev_(t_construct_for) { t_construct_for = node; }
  ~construct_for() { t_construct_for = prev_; }
  construct_for(const construct_for&) = delete;
  construct_for& operator=(const construct_for&) = delete;

 private:
  int prev_;
};

// Runs at the destination: the bytes in `in` are the callable and its arguments
// (relocated: this copy owns them and destroys them), the result is relocated
// into `out` (the caller owns it from there).
template <class R, class Packed>
std::size_t invoke_packed(const void* in, std::size_t in_len, void* out, std::size_t cap) {
  if (in_len != sizeof(Packed)) throw std::logic_error("dstd: corrupt call arguments");
  if constexpr (!std::is_void_v<R>)
    if (sizeof(R) > cap) throw std::length_error("dstd: call result too large");
  alignas(Packed) unsigned char storage[sizeof(Packed)];
  std::memcpy(storage, in, sizeof(Packed));
  Packed& p = *std::launder(reinterpret_cast<Packed*>(storage));
  struct destroy_args {
    Packed& p;
    ~destroy_args() { p.~Packed(); }
  } guard{p};
  if constexpr (std::is_void_v<R>) {
    std::apply([](auto& f, auto&... a) { f(std::move(a)...); }, p);
    return 0;
  } else {
    alignas(R) unsigned char result[sizeof(R)];
    ::new (result) R(std::apply([](auto& f, auto&... a) -> R { return f(std::move(a)...); }, p));
    std::memcpy(out, result, sizeof(R));  // relocated to the caller: not destroyed here
    return sizeof(R);
  }
}
}  // namespace detail

// Runs f(args...) on `node` and returns its result. Blocks the calling thread.
// The callable, the arguments and the result travel as bytes, so they must be
// relocatable (dstd/relocatable.hpp): a dstd::unique_ptr argument moves 8 bytes
// and its object stays where it is. Arguments are moved into the call.
// Throws std::invalid_argument if `node` is not a node of this job.
template <class F, class... Args>
auto run_on(node_t node, F&& f, Args&&... args)
    -> std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&&...> {
  using Fn = std::decay_t<F>;
  using R = std::invoke_result_t<Fn&, std::decay_t<Args>&&...>;
  static_assert(is_relocatable_v<Fn>,
                "dstd::run_on: the callable is shipped to another node as bytes, so its captures "
                "must be relocatable: capture plain values, dstd pointers or dstd::ref borrows, not "
                "std::string/std::vector; or pass dstd objects as arguments instead of captures "
                "(a lambda that captures a dstd::unique_ptr is not trivially copyable)");
  static_assert((is_relocatable_v<std::decay_t<Args>> && ...),
                "dstd::run_on: arguments are shipped as bytes and must be relocatable "
                "(see dstd/relocatable.hpp)");
  static_assert(std::is_void_v<R> || is_relocatable_v<R>,
                "dstd::run_on: the result is shipped back as bytes and must be relocatable");
  using Packed = std::tuple<Fn, std::decay_t<Args>...>;
  detail::check_node_id(node);
  // From here the packed bytes own the callable and arguments: after the call they
  // belong to the destination (which destroys them), never to this copy.
  alignas(Packed) unsigned char packed[sizeof(Packed)];
  ::new (packed) Packed(std::forward<F>(f), std::forward<Args>(args)...);
  if constexpr (std::is_void_v<R>) {
    detail::call_remote(node, &detail::invoke_packed<R, Packed>, packed, sizeof packed, nullptr, 0);
  } else {
    alignas(R) unsigned char out[sizeof(R)];
    detail::call_remote(node, &detail::invoke_packed<R, Packed>, packed, sizeof packed, out, sizeof out);
    R* r = std::launder(reinterpret_cast<R*>(out));
    struct destroy_result {
      R* r;
      ~destroy_result() { r->~R(); }
    } guard{r};
    return std::move(*r);
  }
}

}  // namespace dstd
