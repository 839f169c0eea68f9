// dstd/sync_object.hpp — the home of a synchronization object, shared by <dstd/mutex>,
// <dstd/condition_variable>, <dstd/semaphore>, <dstd/latch>, <dstd/barrier>,
// <dstd/atomic> (wait/notify) and dstd::channel.
//
// Every dstd synchronization object has a home node: the node that constructed it,
// or, for one constructed as part of an object that make_unique_on,
// make_shared_on or make_vector_on(node) builds for another node, that node (a
// mutex member lives with its object). Its state lives there and only the home's CPUs touch it. An operation from
// another node is one control message to the home, executed by the home's runtime.
// An operation that has to wait (a lock that is taken, an empty channel) is not
// retried over the network. The home parks the request and answers it when another
// operation releases it, so waiters queue at the home, in order. Operations at the
// home itself run the same code in place, and a mutex there costs an atomic like
// std::mutex.
//
// The object you hold is a handle: 8 bytes naming the home state. Unlike std, sync
// objects can be copied. A copy is a non-owning alias of the same object, so you can
// capture a mutex by value in a function shipped to another node. The original owns
// it: destroy it only after every alias is done, as you would a std::mutex that
// others reference. Handles are relocatable, so they may sit inside objects in the
// global heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "dstd/runtime.hpp"

namespace dstd::detail {

enum class sync_op : std::uint32_t {
  create = 1, destroy,                      // a = kind, b = parameter (count, capacity, ...)
  mutex_lock, mutex_try_lock, mutex_unlock,  // remote slow path of dstd::mutex
  rmutex_lock, rmutex_try_lock, rmutex_unlock,  // a = locking thread's id
  shared_lock, shared_try_lock, shared_unlock, excl_lock, excl_try_lock, excl_unlock,
  cv_wait,                                  // a = mutex block to unlock once queued
  cv_notify_one, cv_notify_all,
  sem_acquire, sem_try_acquire, sem_release,  // a = count
  latch_count_down, latch_wait, latch_try_wait,
  barrier_arrive_wait, barrier_arrive_drop,  // b = 1: the caller runs the completion if it ends the phase
  barrier_arrive,    // a = n arrivals; replies the phase (the arrival token)
  barrier_wait,      // a = the token's phase
  barrier_complete,  // the completion has run: the phase ends
  atomic_wait, atomic_notify_one, atomic_notify_all,  // obj = the word, a = old value
  chan_send, chan_try_send,                 // a = 1: the sending node asks for a lease
  chan_recv, chan_try_recv, chan_add_sender, chan_drop_sender, chan_drop_receiver,
  chan_send_leased,   // one-way, under a lease: a = lease generation, b = sequence number
  chan_revoke_lease,  // home -> leasing node: a = generation
  chan_lease_ack,     // leasing node -> home: a = generation, b = items sent under it
};

enum class sync_kind : std::uint64_t { mutex = 1, rmutex, shared_mutex, cv, semaphore, latch, barrier, channel };

struct sync_request {
  std::uint64_t obj;
  sync_op op;
  std::uint32_t len;  // payload bytes after the request (channel items)
  std::uint64_t a, b;
};

// Blocks until the home completes the operation; returns the reply size.
std::size_t sync_call(std::uint64_t obj, sync_op op, std::uint64_t a = 0, std::uint64_t b = 0,
                      const void* payload = nullptr, std::size_t len = 0, void* out = nullptr,
                      std::size_t cap = 0);
// One-way.
void sync_post(std::uint64_t obj, sync_op op, std::uint64_t a = 0, std::uint64_t b = 0,
               const void* payload = nullptr, std::size_t len = 0);
// A channel send of `len` item bytes (src/sync/channel_leases.cpp): one-way while this
// node holds the channel's lease, else a round trip that may obtain one. False if
// the item was not taken (receiver gone; try_send to a full channel).
bool channel_put(std::uint64_t obj, sync_op op, const void* item, std::size_t len);
// A new object homed here, of `kind`, with `param`; returns its address.
std::uint64_t sync_create(sync_kind kind, std::uint64_t param);
// This thread's id, unique in the job (dstd::this_thread::get_id()'s value).
std::uint64_t current_thread_id() noexcept;

// The mutex word at the home (fast path): 0 free, 1 locked, 2 locked with waiters.
struct mutex_block {
  std::uint32_t state;
  std::uint32_t pad;
};

// Owner or alias of one home object (bit 0 of the address marks an alias).
class sync_handle {
 public:
  using dstd_relocatable = std::true_type;

  sync_handle(sync_kind kind, std::uint64_t param) : w_(sync_create(kind, param)) {}
  sync_handle(const sync_handle& o) noexcept : w_(o.addr() | 1) {}
  sync_handle(sync_handle&& o) noexcept : w_(std::exchange(o.w_, 0)) {}  // ownership moves
  sync_handle& operator=(const sync_handle&) = delete;
  ~sync_handle() {
    if (w_ && !(w_ & 1)) sync_post(w_, sync_op::destroy);
  }

  std::uint64_t addr() const noexcept { return w_ & ~std::uint64_t{1}; }
  node_t home() const noexcept;
  bool is_alias() const noexcept { return w_ & 1; }

 private:
  std::uint64_t w_;
};

}  // namespace dstd::detail
