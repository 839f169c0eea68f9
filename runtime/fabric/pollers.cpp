#include "fabric/pollers.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <exception>

#include "fabric/doorbell.hpp"
#include "fabric/transport.hpp"

namespace dstd::rt {
namespace {

// Whether the host's runnable threads (the kernel's count in /proc/loadavg, the
// caller included) fit its cores, so a spinning poller really holds one. Unknown
// counts as no.
bool host_has_idle_cores(unsigned cores) {
  static const int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  char buf[128];
  const ssize_t n = fd >= 0 ? ::pread(fd, buf, sizeof buf - 1, 0) : -1;
  if (n <= 0) return false;
  buf[n] = 0;
  unsigned runnable = 0;  // "0.50 0.60 0.70 3/456 1234": 3 runnable
  if (std::sscanf(buf, "%*s %*s %*s %u/", &runnable) != 1) return false;
  return runnable <= cores + 1;
}

timespec to_timespec(std::int64_t ns) {
  return {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

}  // namespace

pollers::spinning::spinning(pollers& p) noexcept : p_(p) {
  // Polling again: peers need not ring a runtime thread that stepped aside.
  if (p_.spinners_.fetch_add(1, std::memory_order_seq_cst) == 0 && p_.bell_ &&
      p_.stepped_aside_.load(std::memory_order_relaxed))
    p_.bell_->cancel_ring_request(p_.self_);
}

pollers::spinning::~spinning() {
  if (active_ && p_.spinners_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
      p_.stepped_aside_.load(std::memory_order_seq_cst))
    p_.last_left();
}

void pollers::spinning::hand_over() noexcept {
  if (!active_) return;
  active_ = false;
  if (p_.spinners_.fetch_sub(1, std::memory_order_seq_cst) == 1 && p_.stepped_aside_.load(std::memory_order_seq_cst))
    p_.wake_runtime_thread();
}

void pollers::last_left() noexcept {
  if (!bell_) return;  // the runtime thread's sleep is bounded by its timeout
  bell_->request_ring(self_);
  try {
    t_.progress();  // what peers posted before they could see the request
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dstd[node %u]: %s\n", self_, e.what());  // the next poller meets it again
  }
}

void pollers::wake_runtime_thread() noexcept {
  if (bell_) {
    bell_->wake(self_);
    return;
  }
  wake_seq_.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, &wake_seq_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

bool pollers::step_aside(std::int64_t timeout_ns, unsigned cores) noexcept {
  if (count() == 0) return false;
  // Peers' runtime threads that poll only because the host looked busy are not
  // counted: each would step aside too, and counting them kept all of them polling
  // (a channel ping-pong between two nodes on 2 cores ran 4 pollers, 3.5x the
  // context switches of a round trip).
  const unsigned others = bell_ ? bell_->others_polling_under_load(self_) : 0;
  if (!host_has_idle_cores(cores + others)) {
    if (bell_) bell_->set_polling_under_load(self_, true);
    return false;
  }
  if (bell_) bell_->set_polling_under_load(self_, false);
  const std::uint32_t seq = bell_ ? bell_->sequence(self_) : wake_seq_.load(std::memory_order_acquire);
  stepped_aside_.store(1, std::memory_order_seq_cst);
  // Dekker with the pollers' decrement: either the last one sees the flag (and
  // hands over or asks peers to ring), or we see it gone here.
  if (spinners_.load(std::memory_order_seq_cst) > 0) {
    if (bell_) {
      bell_->wait_for_ring(self_, seq, timeout_ns);
    } else {
      const timespec ts = to_timespec(timeout_ns);
      syscall(SYS_futex, &wake_seq_, FUTEX_WAIT_PRIVATE, seq, &ts, nullptr, 0);
    }
  }
  stepped_aside_.store(0, std::memory_order_relaxed);
  return true;
}

}  // namespace dstd::rt
