#include "fabric/stripes.hpp"

#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

namespace dstd::rt {
namespace {

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t seen) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
}
// By address only: the kernel does not read the word, so it may already be gone.
void futex_wake(std::atomic<std::uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

// Lives on the caller's stack; the helper touches it between taking it from
// offered_ and setting `helper_left`.
struct striper::job {
  std::size_t len, piece, pieces;
  piece_fn do_piece;
  void* ctx;
  std::atomic<std::size_t> next{0};         // next piece to take
  std::atomic<std::uint32_t> helper_left{0};
  std::exception_ptr helper_error;
};

std::size_t striper::work(job& j, int lane) {
  std::size_t done = 0;
  for (;;) {
    const std::size_t i = j.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= j.pieces) return done;
    const std::size_t off = i * j.piece;
    j.do_piece(j.ctx, lane, off, std::min(j.piece, j.len - off));
    ++done;
  }
}

void striper::share(std::size_t len, std::size_t piece, piece_fn do_piece, void* ctx) {
  job j{len, piece, (len + piece - 1) / piece, do_piece, ctx, {0}, {0}, nullptr};
  std::call_once(started_, [this] {
    // Signals stay with the application's threads, as for the runtime's own threads.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    try {
      std::thread([this] { helper_loop(); }).detach();  // lives until exit, like the endpoint
      running_ = true;
    } catch (...) {
      // No thread to spare: every copy is the caller's alone.
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  });
  job* none = nullptr;
  const bool offered = running_ && offered_.compare_exchange_strong(none, &j, std::memory_order_acq_rel);
  if (offered) {
    offers_.fetch_add(1, std::memory_order_release);
    futex_wake(&offers_);
  }
  std::exception_ptr mine;
  try {
    work(j, 0);
  } catch (...) {
    mine = std::current_exception();
    j.next.store(j.pieces, std::memory_order_relaxed);  // the helper takes no more
  }
  if (offered) {
    job* me = &j;
    if (!offered_.compare_exchange_strong(me, nullptr, std::memory_order_acq_rel)) {
      // The helper took the job: it may be in its last piece.
      while (j.helper_left.load(std::memory_order_acquire) == 0) futex_wait(j.helper_left, 0);
    }
  }
  if (mine) std::rethrow_exception(mine);
  if (j.helper_error) std::rethrow_exception(j.helper_error);
}

void striper::helper_loop() {
  for (;;) {
    const std::uint32_t seen = offers_.load(std::memory_order_acquire);
    job* j = offered_.exchange(nullptr, std::memory_order_acq_rel);
    if (!j) {
      futex_wait(offers_, seen);
      continue;
    }
    try {
      helped_.fetch_add(work(*j, 1), std::memory_order_relaxed);
    } catch (...) {
      j->helper_error = std::current_exception();
      j->next.store(j->pieces, std::memory_order_relaxed);
    }
    std::atomic<std::uint32_t>* left = &j->helper_left;
    left->store(1, std::memory_order_release);  // the caller may return and free the job now
    futex_wake(left);
  }
}

}  // namespace dstd::rt
