// Wake-ups for sleeping runtimes on the same host.
//
// The shm provider cannot wake a process that sleeps on its CQ: a peer's request,
// atomic or message only progresses when the target polls. So that idle nodes can
// sleep without stalling their peers, the nodes of one host share a small
// memory-mapped file with one slot per node: {sequence, sleeping}. A runtime that
// goes to sleep sets `sleeping`, polls once more, then futex-waits on `sequence`.
// Every thread that posts an operation to node r afterwards checks r's flag (one
// shared-cache-line load) and, if it is set, bumps the sequence and wakes it. The
// seq_cst fences on both sides make it a Dekker handshake: either the sleeper sees
// the operation in its last poll, or the poster sees the flag.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "dstd/runtime.hpp"

namespace dstd::rt {

class doorbell {
 public:
  // Node 0 creates the file (returns its path to publish); the others open it.
  std::string create(const std::string& name, node_t nodes);
  void open(const std::string& path, node_t nodes);
  void unlink() noexcept;  // once every node has opened it
  bool active() const { return slots_ != nullptr; }

  // Called after posting an operation to `node`.
  void ring(node_t node) noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    slot& s = slots_[node];
    if (s.sleeping.load(std::memory_order_relaxed)) wake(node);
  }
  void wake(node_t node) noexcept;

  // A runtime thread that stepped aside for a spinning poller (fabric/pollers.hpp)
  // asks to be rung when that poller leaves, and stops asking when another one comes.
  // Its request (2) never overwrites an idle sleeper's flag (1).
  void request_ring(node_t self) noexcept {
    std::uint32_t idle = 0;
    slots_[self].sleeping.compare_exchange_strong(idle, 2, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  void cancel_ring_request(node_t self) noexcept {
    std::uint32_t requested = 2;
    slot& s = slots_[self];
    if (s.sleeping.load(std::memory_order_relaxed) == 2)
      s.sleeping.compare_exchange_strong(requested, 0, std::memory_order_relaxed);
  }
  // A runtime thread that keeps polling beside its node's spinning poller only
  // because the host looked oversubscribed says so: its peers then leave it out of
  // the runnable count, which it would otherwise inflate for them (pollers.cpp).
  void set_polling_under_load(node_t self, bool on) noexcept {
    if (slots_[self].under_load.load(std::memory_order_relaxed) != on)
      slots_[self].under_load.store(on, std::memory_order_relaxed);
  }
  unsigned others_polling_under_load(node_t self) const noexcept {
    unsigned n = 0;
    for (std::size_t r = 0; r < bytes_ / sizeof(slot); ++r)
      n += r != self && slots_[r].under_load.load(std::memory_order_relaxed);
    return n;
  }
  std::uint32_t sequence(node_t self) const noexcept { return slots_[self].seq.load(std::memory_order_acquire); }
  // Sleeps until a ring or wake() after `seq` was read, at most `timeout_ns`.
  void wait_for_ring(node_t self, std::uint32_t seq, std::int64_t timeout_ns) noexcept {
    wait(slots_[self], seq, timeout_ns / 1000);
    slots_[self].sleeping.store(0, std::memory_order_relaxed);
  }

  // Sleeper side. Returns true if it was rung; false if poll_once() found work after
  // the flag was set (no sleep) or the sleep timed out.
  template <class Poll>
  bool sleep(node_t self, Poll&& poll_once, std::int64_t timeout_us) {
    slot& s = slots_[self];
    const std::uint32_t seq = s.seq.load(std::memory_order_acquire);
    s.under_load.store(0, std::memory_order_relaxed);  // asleep: not polling at all
    s.sleeping.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (poll_once() > 0) {
      s.sleeping.store(0, std::memory_order_relaxed);
      return false;
    }
    const bool rung = wait(s, seq, timeout_us);
    s.sleeping.store(0, std::memory_order_relaxed);
    return rung;
  }

 private:
  struct alignas(64) slot {
    std::atomic<std::uint32_t> seq;
    std::atomic<std::uint32_t> sleeping;
    std::atomic<std::uint32_t> under_load;
  };
  static bool wait(slot& s, std::uint32_t seq, std::int64_t timeout_us) noexcept;
  slot* slots_ = nullptr;
  std::size_t bytes_ = 0;
  std::string path_;
};

}  // namespace dstd::rt
