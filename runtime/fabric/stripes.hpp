// Sharing one large fabric copy between the calling thread and a copy helper.
//
// Why: over shm the thread that posts an RMA performs the copy itself (a CMA
// process_vm_readv/writev inside fi_read/fi_write), so one thread copies at one
// core's speed. libfabric 1.17's shm also holds the *target* endpoint's region lock
// for a whole copy, so two threads on one endpoint take turns. Two endpoints per node
// (two regions) and two threads do copy in parallel: a raw two-endpoint test read
// 64 MiB in 6.4 ms against 11 ms for one fi_read.
//
// How: the caller cuts the copy into pieces, offers the job to this node's copy
// helper (one detached thread, started at the first job, asleep on a futex between
// jobs), and works through the pieces itself on lane 0. The helper, once awake, takes
// pieces from the same counter on lane 1. A helper that wakes late takes fewer pieces
// or none; the caller then waits at most for the piece the helper is copying (longer
// only if the helper is descheduled in it, or runs a message handler while it polls,
// as any thread waiting on the fabric does). One job is offered at a time: a caller
// that finds another job waiting for the helper copies alone, and the helper takes
// the next job offered after it finishes its current one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>

namespace dstd::rt {

class striper {
 public:
  // Copies `len` bytes in pieces of `piece` bytes: do_piece(ctx, lane, offset, bytes)
  // performs one piece on endpoint `lane` (0: the caller's, 1: the helper's) and
  // throws on failure. Returns when every piece is done; rethrows the first failure
  // (pieces not yet started are then skipped).
  using piece_fn = void (*)(void* ctx, int lane, std::size_t offset, std::size_t bytes);
  void share(std::size_t len, std::size_t piece, piece_fn do_piece, void* ctx);

  // Pieces the helper copied (for tests and stats).
  std::uint64_t helped() const noexcept { return helped_.load(std::memory_order_relaxed); }

 private:
  struct job;
  static std::size_t work(job& j, int lane);  // returns the pieces it copied
  void helper_loop();

  std::atomic<job*> offered_{nullptr};
  std::atomic<std::uint32_t> offers_{0};  // futex the helper sleeps on
  std::atomic<std::uint64_t> helped_{0};
  std::once_flag started_;
  bool running_ = false;  // the helper started (set once, under started_)
};

}  // namespace dstd::rt
