// dstd/channel.hpp — dstd::channel<T>: many senders, one receiver, across nodes.
//
// There is no std counterpart; this is Rust's mpsc shape:
//   auto [tx, rx] = dstd::channel<T>(capacity);   // capacity 0: unbounded
// - The queue lives on the node that created the channel (its home). A send carries
//   T's bytes to the home in one control message. On an unbounded channel it is
//   one-way, as Rust's unbounded send never blocks: the first send from a node is a
//   round trip that obtains a lease (the home's promise to count what this node
//   sends while the receiver lives); later sends from that node just post. On a
//   bounded channel every send is a round trip and waits (queued at the home) while
//   the channel is full. Items from one thread arrive in the order it sent them.
//   recv() at the home takes the next item in place; from another node it is one
//   round trip. A receiver that finds the queue empty waits at the home, and the
//   next send hands it the item directly.
// - Closing is exact despite one-way sends: the receiver's drop and the last
//   sender's drop revoke the leases, and each node answers with how many items it
//   sent under its lease; the home waits for those items before it reports the
//   channel closed or lets the dropped receiver drain.
// - T must be relocatable: the item travels as bytes and the sender's copy is
//   forgotten. Sending a dstd::unique_ptr sends its 8 bytes and the object stays put.
// - Senders are copyable (each copy counts); when the last sender is gone and the
//   queue is empty, recv() returns std::nullopt. send() returns false once the
//   receiver is gone. Dropping the receiver closes the channel to senders, then
//   receives and destroys the items still queued (on the receiver's thread).
// - send and recv are synchronization operations of the coherence contract.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "dstd/coherence.hpp"
#include "dstd/relocatable.hpp"
#include "dstd/sync_object.hpp"

namespace dstd {

template <class T>
class receiver;

template <class T>
class sender {
 public:
  using dstd_relocatable = std::true_type;
  // A round trip, not a post: the home must count this copy before any other
  // node's drop of the original can reach it.
  sender(const sender& o) : obj_(o.obj_) {
    if (obj_) detail::sync_call(obj_, detail::sync_op::chan_add_sender);
  }
  sender(sender&& o) noexcept : obj_(std::exchange(o.obj_, 0)) {}
  sender& operator=(sender o) noexcept {
    std::swap(obj_, o.obj_);
    return *this;
  }
  ~sender() {
    if (obj_) detail::sync_post(obj_, detail::sync_op::chan_drop_sender);
  }

  // Moves `v` into the channel; false if the receiver is gone (v is then destroyed).
  bool send(T v) { return put(std::move(v), detail::sync_op::chan_send); }
  // As send, but returns false instead of waiting when a bounded channel is full.
  bool try_send(T v) { return put(std::move(v), detail::sync_op::chan_try_send); }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
  explicit sender(std::uint64_t obj) noexcept : obj_(obj) {}

  bool put(T v, detail::sync_op op) {
    static_assert(detail::check_relocatable<T>());
    alignas(T) unsigned char bytes[sizeof(T)];
    ::new (bytes) T(std::move(v));
    coherence::release();
    const bool ok = detail::channel_put(obj_, op, bytes, sizeof bytes);
    if (!ok) std::launder(reinterpret_cast<T*>(bytes))->~T();  // not taken: still ours
    return ok;
  }
  std::uint64_t obj_ = 0;
};

template <class T>
class receiver {
 public:
  using dstd_relocatable = std::true_type;
  receiver(receiver&& o) noexcept : obj_(std::exchange(o.obj_, 0)) {}
  receiver& operator=(receiver&& o) noexcept {
    std::swap(obj_, o.obj_);
    return *this;
  }
  receiver(const receiver&) = delete;
  // Closes the channel to senders, then receives and destroys what is still queued
  // (here, as std would destroy a queue's items with the queue).
  ~receiver() {
    if (!obj_) return;
    try {
      detail::sync_call(obj_, detail::sync_op::chan_drop_receiver);
      while (take(detail::sync_op::chan_try_recv)) {
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dstd: dropping a channel receiver: %s\n", e.what());
    }
  }

  // The next item; std::nullopt once every sender is gone and the queue is empty.
  std::optional<T> recv() { return take(detail::sync_op::chan_recv); }
  // The next item if there is one now.
  std::optional<T> try_recv() { return take(detail::sync_op::chan_try_recv); }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
  explicit receiver(std::uint64_t obj) noexcept : obj_(obj) {}

  std::optional<T> take(detail::sync_op op) {
    static_assert(detail::check_relocatable<T>());
    alignas(T) unsigned char reply[1 + sizeof(T)];
    const std::size_t n = detail::sync_call(obj_, op, 0, 0, nullptr, 0, reply, sizeof reply);
    if (n < 1 + sizeof(T) || reply[0] == 0) return std::nullopt;
    coherence::acquire();
    alignas(T) unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, reply + 1, sizeof(T));  // relocated to us
    T* item = std::launder(reinterpret_cast<T*>(bytes));
    std::optional<T> out(std::move(*item));
    item->~T();
    return out;
  }
  std::uint64_t obj_ = 0;
};

// A channel homed on this node (on `node` when built inside make_*_on(node, ...)). capacity 0: unbounded.
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity = 0) {
  static_assert(detail::check_relocatable<T>());
  const std::uint64_t obj = detail::sync_create(detail::sync_kind::channel, capacity);
  return {sender<T>(obj), receiver<T>(obj)};
}

}  // namespace dstd
