// dstd::thread: spawning on a node, placement, join/detach, this_thread.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "dstd/coherence.hpp"
#include "dstd/heap.hpp"
#include "dstd/rma.hpp"
#include "dstd/settings.hpp"
#include "dstd/thread"
#include "node_runtime.hpp"
#include "sync/sync_impl.hpp"

namespace dstd::detail {
namespace {

// 0 running, 1 finished, 2 detached (whoever sees the other state frees it).
void on_thread_done(std::uint64_t record, std::uint16_t) {
  auto* r = reinterpret_cast<thread_record*>(record);
  int expected = 0;
  if (r->state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    r->state.notify_all();
    return;
  }
  delete r;  // detached
}

enum class policy { local, round_robin, least_loaded };
policy placement() {
  static const policy p = [] {
    const std::string v = settings::get("DSTD_PLACEMENT");
    if (v == "local") return policy::local;
    if (v == "round_robin") return policy::round_robin;
    if (v == "least_loaded") return policy::least_loaded;
    std::fprintf(stderr, "dstd: DSTD_PLACEMENT=%s is not one of local, round_robin, least_loaded\n", v.c_str());
    std::exit(2);
  }();
  return p;
}

}  // namespace

void install_thread_handler() { rt::set_thread_done_handler(&on_thread_done); }

node_t place_thread() {
  if (num_nodes() == 1) return 0;
  switch (placement()) {
    case policy::local:
      return node_id();
    case policy::round_robin:
      return run_on(0, [] { return rt::controller_place(true); });
    case policy::least_loaded:
      break;
  }
  // Local first while this node has an idle core, then the controller's choice.
  if (static_cast<std::uint32_t>(rt::running_threads()) < rt::local_cores()) return node_id();
  return run_on(0, [] { return rt::controller_place(false); });
}

thread_record* start_thread(node_t node, trampoline_fn fn, const void* packed, std::size_t len) {
  rt::check_node(node);
  auto* rec = new thread_record;
  coherence::release();  // thread start: what the spawner wrote is visible to the thread
  try {
    rec->id = rt::spawn(node, fn, reinterpret_cast<std::uint64_t>(rec), packed, len);
  } catch (...) {
    delete rec;
    throw;
  }
  return rec;
}

void join_thread(thread_record* rec) {
  rt::wait_nonzero(rec->state);
  delete rec;
  coherence::acquire();  // join: the thread's writes are visible here
}

void detach_thread(thread_record* rec) {
  int expected = 0;
  if (!rec->state.compare_exchange_strong(expected, 2, std::memory_order_acq_rel)) delete rec;  // already done
}

void check_not_joinable(bool joinable, const char* what) noexcept {
  if (!joinable) return;
  std::fprintf(stderr, "dstd[node %u]: %s a joinable dstd::thread: terminating, as std::thread does\n", node_id(),
               what);
  std::terminate();
}

}  // namespace dstd::detail

namespace dstd {

unsigned thread::hardware_concurrency() noexcept {
  try {
    return rt::total_cores();
  } catch (...) {
    return std::thread::hardware_concurrency();
  }
}

void thread::join() {
  if (!joinable()) throw std::system_error(std::make_error_code(std::errc::invalid_argument), "dstd::thread::join");
  detail::join_thread(std::exchange(rec_, nullptr));
}

void thread::detach() {
  if (!joinable()) throw std::system_error(std::make_error_code(std::errc::invalid_argument), "dstd::thread::detach");
  detail::detach_thread(std::exchange(rec_, nullptr));
}

namespace this_thread {
thread::id get_id() noexcept { return thread::id(detail::current_thread_id()); }
node_t node() noexcept { return node_id(); }
}  // namespace this_thread

// ---- stop tokens: one word in the global heap ----
stop_source::stop_source() : w_(static_cast<std::uint64_t*>(heap::allocate(8, 8))), owner_(true) {
  *w_ = 0;
}
stop_source::~stop_source() {
  if (owner_ && w_) heap::deallocate(w_);
}
bool stop_source::request_stop() noexcept {
  try {
    return w_ && rma::fetch_add(w_, 1) == 0;
  } catch (...) {
    return false;
  }
}
bool stop_token::stop_requested() const noexcept {
  try {
    return w_ && rma::fetch_add(w_, 0) != 0;
  } catch (...) {
    return false;
  }
}

}  // namespace dstd
