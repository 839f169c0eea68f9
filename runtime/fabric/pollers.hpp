// Who polls the completion queue: threads spinning in a wait first, the runtime
// thread otherwise.
//
// A thread waiting for a reply, an RMA completion or (an idle worker) for work spins
// on the CQ itself for DSTD_SPIN_US, so what it waits for is handled by the thread
// that needs it, with no hand-off. While such a spinning poller exists the runtime
// thread steps aside (sleeps): on a host with few cores a second poller only contends
// for the provider's lock and takes the core the reply is for. Measured on 2 cores
// (BM_am_roundtrip, shm): about 2.3 us with the step aside against 6 us without.
//
// Handing polling back:
//  - A poller that stops spinning to block (its wait goes on) hands over: if it was
//    the last, it wakes the runtime thread at once.
//  - A poller whose wait ended just leaves, with no system call (it usually comes
//    back within microseconds). If it was the last, it asks peers on this host to
//    ring this node's doorbell on their next post, then polls once more for what
//    they posted before they could see that. Without a doorbell (nodes on several
//    hosts), the runtime thread's sleep is bounded by DSTD_IDLE_WAIT_US.
//  - The runtime thread steps aside only while the host has a core per runnable
//    thread: a spinning poller that has no core would leave the CQ unpolled.
#pragma once

#include <atomic>
#include <cstdint>

#include "dstd/runtime.hpp"

namespace dstd::rt {

class doorbell;
class transport;

class pollers {
 public:
  explicit pollers(transport& t) noexcept : t_(t) {}
  // Peers on this host ring `bell` for node `self` (nodes on one host).
  void set_doorbell(doorbell* bell, node_t self) noexcept {
    bell_ = bell;
    self_ = self;
  }

  // A thread spinning on the CQ for the lifetime of this object (or until hand_over()).
  class spinning {
   public:
    explicit spinning(pollers& p) noexcept;
    ~spinning();
    // Stops spinning to block: wakes the runtime thread if this was the last poller.
    void hand_over() noexcept;
    spinning(const spinning&) = delete;
    spinning& operator=(const spinning&) = delete;

   private:
    pollers& p_;
    bool active_ = true;
  };

  // A thread waiting on the fabric (spinning or asleep) for the lifetime of this
  // object: the runtime thread tells waiting threads from computing ones.
  class waiting {
   public:
    explicit waiting(pollers& p) noexcept : p_(p) { p_.waiting_.fetch_add(1, std::memory_order_relaxed); }
    ~waiting() { p_.waiting_.fetch_sub(1, std::memory_order_relaxed); }
    waiting(const waiting&) = delete;
    waiting& operator=(const waiting&) = delete;

   private:
    pollers& p_;
  };

  int count() const noexcept { return spinners_.load(std::memory_order_relaxed); }
  int waiting_threads() const noexcept { return waiting_.load(std::memory_order_relaxed); }
  // The runtime thread: sleeps while a spinning poller exists, at most `timeout_ns`.
  // Returns false (at once) if there is none, or if the host (`cores` cores) has
  // more runnable threads than cores.
  bool step_aside(std::int64_t timeout_ns, unsigned cores) noexcept;

 private:
  void last_left() noexcept;
  void wake_runtime_thread() noexcept;

  transport& t_;
  doorbell* bell_ = nullptr;
  node_t self_ = 0;
  std::atomic<int> spinners_{0};
  std::atomic<int> waiting_{0};
  std::atomic<int> stepped_aside_{0};
  std::atomic<std::uint32_t> wake_seq_{0};  // the runtime thread's futex without a doorbell
};

}  // namespace dstd::rt
