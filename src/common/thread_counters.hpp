// Per-thread statistics blocks, summed on demand.
//
// A hot path counts into its own thread's block with plain relaxed stores (no shared
// read-modify-write); readers sum every block ever handed out. Blocks are never
// freed, so their counts stay in the sums after their thread exits. A thread whose
// lifetime of use is clear may give its block back for a later thread to reuse;
// one that may still count while it exits (frees during thread_local destruction)
// keeps it.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace dstd::common {

// Single writer per block: a load and a store, not a locked add.
inline void bump(std::atomic<std::uint64_t>& a, std::uint64_t v = 1) noexcept {
  a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}

template <class Block>
class thread_counters {
 public:
  Block* take() {
    std::lock_guard lk(mu_);
    if (!spare_.empty()) {
      Block* b = spare_.back();
      spare_.pop_back();
      return b;
    }
    all_.push_back(new Block);
    return all_.back();
  }
  void give_back(Block* b) {
    std::lock_guard lk(mu_);
    spare_.push_back(b);
  }
  template <class F>
  void for_each(F&& f) {
    std::lock_guard lk(mu_);
    for (const Block* b : all_) f(*b);
  }

 private:
  std::mutex mu_;
  std::vector<Block*> all_, spare_;
};

}  // namespace dstd::common
