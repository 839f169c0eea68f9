// Reference counts of dstd::shared_ptr: control-block words updated with rma atomics,
// so they work from any node (native FI_ATOMIC or executed at the block's home).
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "coherence/thread_epoch.hpp"
#include "dstd/heap.hpp"
#include "dstd/rma.hpp"
#include "dstd/shared_ptr.hpp"

namespace dstd::detail {
namespace {

constexpr std::uint64_t minus_one = ~std::uint64_t{0};

[[noreturn]] void count_failed(const char* what, const std::exception& e) noexcept {
  std::fprintf(stderr, "dstd[node %u]: %s of a shared_ptr count failed: %s\n", node_id(), what, e.what());
  std::abort();
}

// Runs at the control block's home when the last owner is gone: disposes of the
// object at its own home, then drops the owners' weak reference.
void last_owner_gone(void* p) {
  auto* c = static_cast<shared_ctrl*>(p);
  heap::destroy(reinterpret_cast<void*>(c->object), reinterpret_cast<heap::deleter_fn>(c->dispose));
  weak_drop_ref(c);
}

}  // namespace

void shared_add_ref(shared_ctrl* c) { rma::fetch_add(&c->strong, 1); }

void shared_drop_ref(shared_ctrl* c) noexcept {
  try {
    // Dropping a reference releases, as in std: this thread's writes go home first,
    // so whoever destroys the object sees them and none land after it is freed.
    auto& t = coherence_impl::epoch();
    if (!t.dirty.empty()) t.write_back(false);
    if (rma::fetch_add(&c->strong, minus_one) != 1) return;
  } catch (const std::exception& e) {
    count_failed("decrement", e);
  }
  shared_last_owner_gone(c);
}

void shared_last_owner_gone(shared_ctrl* c) noexcept {
  if (heap::is_local(c))
    last_owner_gone(c);
  else
    destroy_remote(c, &last_owner_gone);
}

void weak_add_ref(shared_ctrl* c) { rma::fetch_add(&c->weak, 1); }

void weak_drop_ref(shared_ctrl* c) noexcept {
  try {
    if (rma::fetch_add(&c->weak, minus_one) == 1) heap::deallocate(c);
  } catch (const std::exception& e) {
    count_failed("weak decrement", e);
  }
}

bool shared_try_add_ref(shared_ctrl* c) {
  std::uint64_t s = rma::fetch_add(&c->strong, 0);
  while (s != 0) {
    const std::uint64_t seen = rma::compare_swap(&c->strong, s, s + 1);
    if (seen == s) return true;
    s = seen;
  }
  return false;
}

long shared_use_count(shared_ctrl* c) { return static_cast<long>(rma::fetch_add(&c->strong, 0)); }

shared_ctrl* make_separate_ctrl(void* object, void (*dispose)(void*)) {
  void* mem = heap::allocate(sizeof(shared_ctrl), alignof(shared_ctrl));
  return ::new (mem) shared_ctrl{1, 1, reinterpret_cast<std::uintptr_t>(object),
                                 reinterpret_cast<std::uintptr_t>(dispose)};
}

}  // namespace dstd::detail
