#include "node_runtime.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bootstrap/bootstrap.hpp"
#include "dstd/heap.hpp"
#include "dstd/settings.hpp"
#include "fabric/doorbell.hpp"
#include "fabric/transport.hpp"
#include <rdma/fi_errno.h>
#include "heap/partition.hpp"
#include "coherence/thread_epoch.hpp"
#include "sync/sync_impl.hpp"
#include "dstd/coherence.hpp"

namespace dstd::rt {
namespace {

using clock = std::chrono::steady_clock;

// What every node publishes at bootstrap. Fixed-size part, then the endpoint name,
// then the copy lane's endpoint name (lane_len bytes, 0 without one).
struct node_card {
  std::uint32_t magic = 0x64737464;  // "dstd"
  std::uint32_t rank = 0;
  std::uint32_t pid = 0;
  std::uint32_t name_len = 0;
  std::uint32_t lane_len = 0;
  std::uint64_t code_addr = 0;  // address of a function: equal on all nodes iff layout is identical
  std::uint64_t heap_base = 0, partition = 0, key = 0, heap_begin = 0;
  char host[64] = {};
  char provider[32] = {};
  char doorbell[64] = {};  // node 0's wake-up file (used when all nodes share a host)
};

// A request waiting for its reply; the cookie on the wire is its address.
struct pending_reply {
  // The request leaves through the fabric and its reply may be read by another
  // thread: `armed` (release before sending, acquire on reply) is the C++
  // happens-before edge for that path, which no in-process primitive provides.
  std::atomic<std::uint32_t> armed{0};

  // 0: pending, 1: filled in, 2: pending with the waiter asleep on it (a futex).
  // The replier's exchange to 1 is its last access to this object; it then wakes
  // the futex by address only (the kernel does not read it), so the waiter may
  // return, and free the object, the moment it sees 1.
  std::atomic<std::uint32_t> done{0};
  std::uint16_t status = 0;
  void* out = nullptr;
  std::size_t cap = 0;
  std::size_t len = 0;
  std::string error;
};

// The replier's side of pending_reply::done: fills in, then wakes a sleeping waiter.
void complete(pending_reply* p) noexcept {
  std::atomic<std::uint32_t>* word = &p->done;
  if (word->exchange(1, std::memory_order_acq_rel) == 2)
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}
// The waiter's side, once it stops spinning: sleeps until the reply is filled in.
void sleep_until_complete(pending_reply& p) noexcept {
  std::uint32_t seen = 0;
  if (!p.done.compare_exchange_strong(seen, 2, std::memory_order_acquire) && seen == 1) return;
  while (p.done.load(std::memory_order_acquire) != 1)
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&p.done), FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
}

// Work for the worker pool: a shipped call (replied to), or a batch of remote
// destroys (user destructors must never run on the progress path: they may block).
struct call_job {
  node_t src;
  std::uint64_t cookie;
  std::uint64_t fn;  // 0: `args` holds free_entry records to run
  std::vector<std::uint8_t> args;
  std::uint64_t thread_record = 0;  // != 0: a dstd::thread; completion is msg::thread_done
};

struct peer_state {
  // Node 0's controller: the latest load report and placements made since it.
  std::uint32_t load = 0, cores = 0, placed_since_report = 0;
  std::atomic<std::int64_t> last_heard_ns{0};
  std::atomic<bool> departed{false};  // acknowledged shutdown: no more heartbeats expected
  std::uint32_t pid = 0;
  bool same_host = false;
  std::string host;
  // Remote-free batching towards this peer.
  std::mutex free_mu;
  std::vector<free_entry> frees;
  clock::time_point first_queued{};
  std::atomic<std::uint64_t> batches_sent{0};
  // As a home: batches received from this peer, and flushes waiting for them.
  std::uint64_t batches_received = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> waiting_flushes;  // (count, cookie)
};

struct runtime {
  node_t self = 0, nodes = 1;
  std::unique_ptr<bootstrap> boot;
  transport tr;
  doorbell bell;
  bool bell_in_use = false;  // peers ring us (all nodes on one host)
  std::vector<std::unique_ptr<peer_state>> peers;
  std::mutex home_mu;  // guards batches_received / waiting_flushes of all peers

  std::thread progress_thread;
  std::atomic<bool> stop_progress{false};
  std::atomic<bool> shutdown_requested{false};
  std::atomic<bool> finished{false};
  std::atomic<int> blocked_waiters{0};
  std::atomic<std::int64_t> last_activity_ns{0};
  int wake_fd = -1;

  // Worker pool for shipped calls.
  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::deque<call_job> jobs;
  int idle_workers = 0;      // workers not running a job (spinning or asleep)
  int sleeping_workers = 0;  // of those, blocked on pool_cv
  std::atomic<int> queued{0};
  std::atomic<bool> worker_polling{false};  // an idle worker is polling the fabric

  // Settings, read once.
  std::int64_t spin_ns = 0, idle_wait_us = 0, heartbeat_ns = 0, timeout_ns = 0, flush_ns = 0;
  std::size_t free_batch = 256;
  bool verbose = false, stats = false;
  std::atomic<std::uint64_t> frees_queued{0};  // remote frees/destroys ever queued here
  sync_handler on_sync = nullptr;
  std::atomic<int> running_threads{0};  // dstd::threads running here (load reports)
  std::uint32_t cores = 1;              // this node's hardware threads
  std::mutex controller_mu;             // node 0: the placement controller's state
  std::uint64_t round_robin = 0;
  thread_done_fn on_thread_done = nullptr;

  std::atomic<std::uint64_t> c_sent{0}, c_recv{0}, c_reads{0}, c_writes{0}, c_bread{0}, c_bwritten{0},
      c_atomics{0}, c_calls{0};
};

runtime* g_rt = nullptr;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
}

void log(const char* fmt, const char* a = "", const char* b = "") {
  if (g_rt && g_rt->verbose) {
    std::fprintf(stderr, "dstd[node %u]: ", g_rt->self);
    std::fprintf(stderr, fmt, a, b);
    std::fputc('\n', stderr);
  }
}

void wake_runtime() {
  if (g_rt->bell_in_use) {
    g_rt->bell.wake(g_rt->self);
    return;
  }
  std::uint64_t one = 1;
  if (g_rt->wake_fd >= 0) (void)!::write(g_rt->wake_fd, &one, sizeof one);
}

void send_msg(node_t node, msg type, std::uint64_t cookie, const void* payload, std::size_t len,
              std::uint16_t status = 0) {
  msg_header h{type, status, g_rt->self, cookie};
  g_rt->tr.send2(node, &h, sizeof h, payload, len);
  g_rt->c_sent.fetch_add(1, std::memory_order_relaxed);
}

// ---- lost nodes ------------------------------------------------------------------

[[noreturn]] void end_job_lost(node_t lost, const char* why) {
  runtime& rt = *g_rt;
  const peer_state& p = *rt.peers[lost];
  std::fprintf(stderr, "dstd[node %u]: node %u (pid %u on %s) is lost: %s; ending the job\n", rt.self, lost,
               p.pid, p.host.c_str(), why);
  std::fflush(stderr);
  if (rt.self == 0) {
    // Best effort: tell the survivors so they report the same node and exit.
    std::uint32_t l = lost;
    for (node_t r = 1; r < rt.nodes; ++r) {
      if (r == lost) continue;
      try {
        send_msg(r, msg::abort, 0, &l, sizeof l);
      } catch (...) {
      }
    }
    for (int i = 0; i < 100; ++i) rt.tr.progress();
  }
  std::_Exit(75);
}

void check_liveness(std::int64_t now) {
  runtime& rt = *g_rt;
  // Node 0 keeps checking through shutdown (a node may die while it waits for
  // acknowledgements); the others stop once node 0 has told them to leave.
  if (rt.self != 0 && rt.shutdown_requested.load()) return;
  auto check = [&](node_t r) {
    peer_state& p = *rt.peers[r];
    if (p.departed.load(std::memory_order_relaxed)) return;
    if (p.same_host && p.pid && ::kill(static_cast<pid_t>(p.pid), 0) != 0 && errno == ESRCH)
      end_job_lost(r, "its process has exited");
    std::int64_t silent = now - p.last_heard_ns.load(std::memory_order_relaxed);
    if (silent > rt.timeout_ns) {
      char why[96];
      std::snprintf(why, sizeof why, "no heartbeat for %lld ms", static_cast<long long>(silent / 1000000));
      end_job_lost(r, why);
    }
  };
  if (rt.self == 0) {
    for (node_t r = 1; r < rt.nodes; ++r) check(r);
  } else {
    check(0);
  }
}

// ---- remote frees ------------------------------------------------------------------

// Takes the pending batch out under p.free_mu (and counts it as sent, so a flush
// that follows waits for it); the caller sends it after releasing the lock, since a
// send may have to drive progress.
std::vector<free_entry> take_free_batch_locked(peer_state& p) {
  std::vector<free_entry> out;
  if (p.frees.empty()) return out;
  out.swap(p.frees);
  p.batches_sent.fetch_add(1, std::memory_order_relaxed);
  return out;
}

void send_free_batch(node_t node, const std::vector<free_entry>& batch) {
  if (!batch.empty()) send_msg(node, msg::free_batch, 0, batch.data(), batch.size() * sizeof(free_entry));
}

// Sends partial batches that have waited DSTD_FREE_FLUSH_US; true if some remain.
bool flush_old_batches(std::int64_t now) {
  runtime& rt = *g_rt;
  bool pending = false;
  for (node_t r = 0; r < rt.nodes; ++r) {
    if (r == rt.self) continue;
    peer_state& p = *rt.peers[r];
    std::unique_lock lk(p.free_mu, std::try_to_lock);
    if (!lk) {
      pending = true;
      continue;
    }
    if (p.frees.empty()) continue;
    auto age = now - std::chrono::duration_cast<std::chrono::nanoseconds>(p.first_queued.time_since_epoch()).count();
    if (age < rt.flush_ns) {
      pending = true;
      continue;
    }
    auto batch = take_free_batch_locked(p);
    lk.unlock();
    send_free_batch(r, batch);
  }
  return pending;
}

void note_batch_done(node_t src);

void run_free_entry(const free_entry& e) {
  void* p = reinterpret_cast<void*>(e.addr);
  if (e.deleter && e.count)
    reinterpret_cast<heap::array_deleter_fn>(e.deleter)(p, e.count);
  else if (e.deleter)
    reinterpret_cast<heap::deleter_fn>(e.deleter)(p);
  else
    heap_impl::free_local(p, /*remote*/ true);
}

// A batch from `src` has been run: count it, and answer flushes that waited for it.
void note_batch_done(node_t src) {
  runtime& rt = *g_rt;
  heap_impl::note_free_batch();
  std::vector<std::uint64_t> ready;
  {
    std::lock_guard lk(rt.home_mu);
    peer_state& p = *rt.peers[src];
    ++p.batches_received;
    auto& w = p.waiting_flushes;
    for (auto it = w.begin(); it != w.end();) {
      if (it->first <= p.batches_received) {
        ready.push_back(it->second);
        it = w.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto cookie : ready) send_msg(src, msg::reply, cookie, nullptr, 0);
}

// A message we sent was lost (the peer is gone): a request's waiter gets an error.
void on_send_failure(const void* data, std::size_t, node_t peer, int err) {
  msg_header h;
  std::memcpy(&h, data, sizeof h);
  const bool is_request = h.type == msg::call || h.type == msg::alloc || h.type == msg::flush ||
                          h.type == msg::atomic || h.type == msg::shutdown || h.type == msg::ping;
  if (!is_request || h.cookie == 0) return;
  auto* p = reinterpret_cast<pending_reply*>(h.cookie);
  (void)p->armed.load(std::memory_order_acquire);
  p->status = 2;
  p->error = "message to node " + std::to_string(peer) + " was lost: " + fi_strerror(err);
  complete(p);
}

// ---- message handling ----------------------------------------------------------------

void worker_loop();

void submit_call(call_job job) {
  runtime& rt = *g_rt;
  std::unique_lock lk(rt.pool_mu);
  rt.jobs.push_back(std::move(job));
  rt.queued.fetch_add(1, std::memory_order_release);
  // Every queued job needs an idle worker of its own: a job may wait for another.
  if (rt.jobs.size() > static_cast<std::size_t>(rt.idle_workers)) {
    try {
      std::thread(worker_loop).detach();
      ++rt.idle_workers;  // counted idle until it picks a job up
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "dstd[node %u]: cannot start a worker thread: %s\n", rt.self, e.what());
    }
  }
  // Wake a sleeper only for a job the awake idle workers (they check the queue
  // before they sleep) cannot take: a needless wake-up costs a context switch.
  if (rt.sleeping_workers > 0 && rt.jobs.size() > static_cast<std::size_t>(rt.idle_workers - rt.sleeping_workers))
    rt.pool_cv.notify_one();
}

// A dstd::thread's body. An exception that escapes it ends the job, as std::terminate
// would end a process: the message names the node and the thread.
void run_thread_job(call_job& job, detail::trampoline_fn fn) {
  runtime& rt = *g_rt;
  detail::set_current_thread_id(job.cookie);  // this_thread::get_id() inside the thread
  const char* what = nullptr;
  try {
    coherence::acquire();  // thread start synchronizes with the spawner
    fn(job.args.data(), job.args.size(), nullptr, 0);
    coherence::release();  // and its end with join
  } catch (const std::exception& e) {
    what = e.what();
    std::fprintf(stderr, "dstd[node %u]: dstd::thread %#llx (started by node %u) ended by an exception: %s; "
                 "terminating\n", rt.self, (unsigned long long)job.cookie, job.src, what);
  } catch (...) {
    what = "unknown";
    std::fprintf(stderr, "dstd[node %u]: dstd::thread %#llx (started by node %u) ended by an exception; terminating\n",
                 rt.self, (unsigned long long)job.cookie, job.src);
  }
  if (what) {
    std::fflush(stderr);
    std::abort();
  }
  rt.running_threads.fetch_sub(1, std::memory_order_relaxed);
  detail::set_current_thread_id(0);
  if (job.src == rt.self) {
    if (rt.on_thread_done) rt.on_thread_done(job.thread_record, 0);
    return;
  }
  try {
    send_msg(job.src, msg::thread_done, 0, &job.thread_record, sizeof job.thread_record);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dstd[node %u]: cannot report a thread's end to node %u: %s\n", rt.self, job.src, e.what());
  }
}

// Whether the runtime thread should keep polling (yielding between polls) after
// activity rather than sleep until a peer rings. Not while this node's application
// threads compute: a thread that yields goes to the back of the run queue behind
// them, and a request from a peer then waits a whole time slice. With 2 busy threads
// on the target node of a 2-core host a remote write took 150 us to 2.7 ms on
// average; sleeping, the runtime thread is woken by the peer's ring ahead of the
// busy threads: 8-25 us (BM_fabric_write_busy_target/2, shm). While every application thread
// here waits on the fabric the polling pays (kvstore, 4 nodes on 2 cores: 13x).
bool threads_computing(runtime& rt) noexcept {
  return rt.running_threads.load(std::memory_order_relaxed) > rt.tr.polling().waiting_threads();
}

// Spins on the CQ as this node's poller (fabric/pollers.hpp) until done() or the
// DSTD_SPIN_US window ends, and returns done(). When it returns false the caller is
// about to block, so polling has been handed back to the runtime thread.
template <class Done>
bool spin_poll(runtime& rt, Done&& done) {
  // One spinning poller per node is enough: it handles every completion, the ones
  // other threads wait for included, and wakes them. A second poller only contends
  // for the provider's lock and, on a host with few cores, takes the core that the
  // thread holding a lock (or the peer that must answer) needs. (kvstore, 2 nodes of
  // 2 workers on 2 cores: about 10K ops/s with every waiter polling, 15K without.)
  // A waiter that finds another waiter polling watches its own completion for the
  // same window instead of blocking at once, and polls itself if the poller leaves:
  // blocking costs a futex wake per reply, which the poller must make and the
  // scheduler must serve. (kvstore, 4 nodes of 2 workers on 2 cores: 12-13K ops/s
  // against 6K when such waiters blocked at once; lock_races unchanged. Every waiter
  // polling gave 7-14K on kvstore but halved lock_races on 2 nodes of 2 workers.)
  // A waiter that finds an idle worker polling still blocks at once: a watcher
  // there is one more thread spinning beside the replies' pollers, and a 2-node
  // ping-pong (BM_channel_pingpong_remote, 2 cores) took 3.7 us against 2.4.
  if (rt.tr.polling().count() > 0 && rt.worker_polling.load(std::memory_order_relaxed)) return done();
  const std::int64_t until = now_ns() + rt.spin_ns;
  while (rt.tr.polling().count() > 0) {
    if (done()) return true;
    if (now_ns() >= until) return false;
    sched_yield();
  }
  pollers::spinning polling(rt.tr.polling());
  unsigned spins = 0;
  while (!done()) {
    if (now_ns() >= until) {
      polling.hand_over();
      return false;
    }
    if (rt.tr.progress() == 0 && ++spins > 64) sched_yield();
  }
  return true;
}

void worker_loop() {
  runtime& rt = *g_rt;
  std::vector<std::uint8_t> out(rt.tr.max_message());
  for (;;) {
    call_job job;
    {
      // An idle worker watches the queue for DSTD_SPIN_US before it blocks, so
      // back-to-back calls skip the condition-variable wake-up. One idle worker at a
      // time polls the fabric meanwhile, so a call or thread that arrives is queued
      // by the worker that will run it, and the runtime thread steps aside
      // (pollers.hpp). BM_spawn_join_remote, shm, 2 cores: 2.3 us, from 9-18 us when
      // the runtime thread handed each spawn to a worker spinning on the queue.
      const auto job_queued = [&] { return rt.queued.load(std::memory_order_acquire) != 0; };
      if (rt.nodes > 1 && !rt.worker_polling.exchange(true, std::memory_order_acquire)) {
        spin_poll(rt, job_queued);
        rt.worker_polling.store(false, std::memory_order_release);
      } else {
        const std::int64_t until = now_ns() + rt.spin_ns;
        while (!job_queued() && now_ns() < until) sched_yield();
      }
      std::unique_lock lk(rt.pool_mu);
      if (rt.jobs.empty()) {
        ++rt.sleeping_workers;
        rt.pool_cv.wait(lk, [&] { return !rt.jobs.empty(); });
        --rt.sleeping_workers;
      }
      job = std::move(rt.jobs.front());
      rt.jobs.pop_front();
      rt.queued.fetch_sub(1, std::memory_order_relaxed);
      --rt.idle_workers;
    }
    if (job.fn == 0) {  // a batch of destroys
      for (std::size_t i = 0; i + sizeof(free_entry) <= job.args.size(); i += sizeof(free_entry)) {
        free_entry e;
        std::memcpy(&e, job.args.data() + i, sizeof e);
        try {
          run_free_entry(e);
        } catch (const std::exception& ex) {
          std::fprintf(stderr, "dstd[node %u]: a destructor run at home threw: %s\n", rt.self, ex.what());
        }
      }
      note_batch_done(job.src);
      std::lock_guard lk(rt.pool_mu);
      ++rt.idle_workers;
      continue;
    }
    auto fn = reinterpret_cast<detail::trampoline_fn>(job.fn);
    if (job.thread_record) {
      run_thread_job(job, fn);
      std::lock_guard lk(rt.pool_mu);
      ++rt.idle_workers;
      continue;
    }
    std::size_t len = 0;
    std::uint16_t status = 0;
    std::string err;
    try {
      // A shipped call starts and ends with the caller's synchronization (coherence.hpp).
      coherence::acquire();
      len = fn(job.args.data(), job.args.size(), out.data(), out.size() - sizeof(msg_header));
      coherence::release();
    } catch (const std::exception& e) {
      status = 1;
      err = e.what();
    } catch (...) {
      status = 1;
      err = "unknown exception";
    }
    rt.c_calls.fetch_add(1, std::memory_order_relaxed);
    const std::size_t room = out.size() - sizeof(msg_header);
    if (err.size() > room) err.resize(room);
    try {
      if (status == 0)
        send_msg(job.src, msg::reply, job.cookie, out.data(), len);
      else
        send_msg(job.src, msg::reply, job.cookie, err.data(), err.size(), status);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dstd[node %u]: cannot reply to node %u: %s\n", rt.self, job.src, e.what());
    }
    std::lock_guard lk(rt.pool_mu);
    ++rt.idle_workers;
  }
}

// Fills in a pending request and wakes its waiter (a reply message, or a local
// completion of a parked sync request).
void fill_reply(pending_reply* p, std::uint16_t status, const void* payload, std::size_t plen) {
  (void)p->armed.load(std::memory_order_acquire);
  p->status = status;
  if (status == 0) {
    p->len = plen;
    if (plen > p->cap) {
      p->status = 1;
      p->error = "reply larger than the caller's buffer";
    } else if (plen) {
      std::memcpy(p->out, payload, plen);
    }
  } else {
    p->error.assign(static_cast<const char*>(payload), plen);
  }
  complete(p);
}

void on_message(const void* data, std::size_t len) {
  runtime& rt = *g_rt;
  msg_header h;
  std::memcpy(&h, data, sizeof h);
  const auto* payload = static_cast<const std::uint8_t*>(data) + sizeof h;
  const std::size_t plen = len - sizeof h;
  rt.c_recv.fetch_add(1, std::memory_order_relaxed);
  if (h.src < rt.nodes) rt.peers[h.src]->last_heard_ns.store(now_ns(), std::memory_order_relaxed);

  switch (h.type) {
    case msg::reply:
      fill_reply(reinterpret_cast<pending_reply*>(h.cookie), h.status, payload, plen);
      break;
    case msg::sync:
    case msg::sync_post:
      if (rt.on_sync) rt.on_sync(h.src, h.type == msg::sync ? h.cookie : 0, payload, plen);
      break;
    case msg::spawn: {
      // {u64 trampoline, u64 record} then the packed callable: a job whose completion
      // is a thread_done message instead of a reply. The cookie is the thread's id.
      call_job job{h.src, h.cookie, 0, {}};
      std::memcpy(&job.fn, payload, sizeof job.fn);
      std::memcpy(&job.thread_record, payload + 8, sizeof job.thread_record);
      job.args.assign(payload + 16, payload + plen);
      rt.running_threads.fetch_add(1, std::memory_order_relaxed);  // counted from submission
      submit_call(std::move(job));
      break;
    }
    case msg::thread_done: {
      std::uint64_t record;
      std::memcpy(&record, payload, sizeof record);
      if (rt.on_thread_done) rt.on_thread_done(record, h.status);
      break;
    }
    case msg::call: {
      call_job job{h.src, h.cookie, 0, {}};
      std::memcpy(&job.fn, payload, sizeof job.fn);
      job.args.assign(payload + sizeof job.fn, payload + plen);
      submit_call(std::move(job));
      break;
    }
    case msg::alloc: {
      std::uint64_t req[2];
      std::memcpy(req, payload, sizeof req);
      void* p = heap_impl::alloc_local(req[0], req[1]);
      if (p) heap_impl::note_remote_allocation();
      std::uint64_t addr = reinterpret_cast<std::uint64_t>(p);
      send_msg(h.src, msg::reply, h.cookie, &addr, sizeof addr);
      break;
    }
    case msg::free_batch: {
      const std::size_t n = plen / sizeof(free_entry);
      bool destructors = false;
      for (std::size_t i = 0; i < n && !destructors; ++i) {
        free_entry e;
        std::memcpy(&e, payload + i * sizeof e, sizeof e);
        destructors = e.deleter != 0;
      }
      if (destructors) {  // user code: run on a worker, not on the progress path
        submit_call(call_job{h.src, 0, 0, std::vector<std::uint8_t>(payload, payload + plen)});
        break;
      }
      for (std::size_t i = 0; i < n; ++i) {
        free_entry e;
        std::memcpy(&e, payload + i * sizeof e, sizeof e);
        run_free_entry(e);
      }
      note_batch_done(h.src);
      break;
    }
    case msg::flush: {
      std::uint64_t want;
      std::memcpy(&want, payload, sizeof want);
      bool ready;
      {
        std::lock_guard lk(rt.home_mu);
        peer_state& p = *rt.peers[h.src];
        ready = p.batches_received >= want;
        if (!ready) p.waiting_flushes.emplace_back(want, h.cookie);
      }
      if (ready) send_msg(h.src, msg::reply, h.cookie, nullptr, 0);
      break;
    }
    case msg::atomic: {
      atomic_request a;
      std::memcpy(&a, payload, sizeof a);
      std::atomic_ref<std::uint64_t> w(*reinterpret_cast<std::uint64_t*>(a.addr));
      std::uint64_t old;
      if (a.op == atomic_op::fetch_add) {
        old = w.fetch_add(a.a);
      } else {
        old = a.a;
        w.compare_exchange_strong(old, a.b);
      }
      send_msg(h.src, msg::reply, h.cookie, &old, sizeof old);
      break;
    }
    case msg::heartbeat:
      if (plen >= 8 && rt.self == 0) {
        std::uint32_t load[2];
        std::memcpy(load, payload, sizeof load);
        std::lock_guard lk(rt.controller_mu);
        rt.peers[h.src]->load = load[0];
        rt.peers[h.src]->cores = load[1];
        rt.peers[h.src]->placed_since_report = 0;
      }
      break;
    case msg::ping:
      send_msg(h.src, msg::reply, h.cookie, payload, plen);
      break;
    case msg::shutdown:
      rt.shutdown_requested.store(true);
      send_msg(h.src, msg::reply, h.cookie, nullptr, 0);
      rt.shutdown_requested.notify_all();
      break;
    case msg::abort: {
      std::uint32_t lost;
      std::memcpy(&lost, payload, sizeof lost);
      std::fprintf(stderr, "dstd[node %u]: node 0 reports node %u lost; ending\n", rt.self, lost);
      std::_Exit(75);
    }
    default:
      std::fprintf(stderr, "dstd[node %u]: unknown control message %u from node %u\n", rt.self,
                   static_cast<unsigned>(h.type), h.src);
  }
}

// ---- the runtime thread ---------------------------------------------------------------

void progress_loop_body();

void progress_loop() {
  try {
    progress_loop_body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dstd[node %u]: runtime thread: %s; ending\n", g_rt->self, e.what());
    std::fflush(stderr);
    std::_Exit(70);
  }
}

void progress_loop_body() {
  runtime& rt = *g_rt;
  std::int64_t next_heartbeat = 0;
  while (!rt.stop_progress.load(std::memory_order_relaxed)) {
    // A thread spinning in a wait polls for us (fabric/pollers.hpp): step aside, then
    // take over for a spin window. Not while this node runs as many threads as the
    // host has cores: a spinning poller may then wait for a core while its peers wait
    // for it (kvstore on 4 nodes lost 13% so). The sleep is bounded by
    // DSTD_IDLE_WAIT_US where peers cannot ring us.
    if (rt.tr.polling().count() > 0 && rt.running_threads.load(std::memory_order_relaxed) < static_cast<int>(rt.cores)) {
      const std::int64_t t = now_ns();
      if (t < next_heartbeat) {
        flush_old_batches(t);
        if (rt.tr.polling().step_aside(std::min<std::int64_t>(rt.idle_wait_us * 1000, next_heartbeat - t), rt.cores)) {
          rt.last_activity_ns.store(now_ns(), std::memory_order_relaxed);
          continue;
        }
      }
    }
    int n = rt.tr.progress();
    std::int64_t now = now_ns();
    if (n > 0) rt.last_activity_ns.store(now, std::memory_order_relaxed);
    if (now >= next_heartbeat) {
      next_heartbeat = now + rt.heartbeat_ns;
      try {
        if (rt.self == 0) {
          for (node_t r = 1; r < rt.nodes; ++r)
            if (!rt.peers[r]->departed.load(std::memory_order_relaxed)) send_msg(r, msg::heartbeat, 0, nullptr, 0);
        } else {
          // Non-zero nodes' heartbeats carry their load report for the controller.
          const std::uint32_t load[2] = {static_cast<std::uint32_t>(rt.running_threads.load()), rt.cores};
          send_msg(0, msg::heartbeat, 0, load, sizeof load);
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "dstd[node %u]: heartbeat: %s\n", rt.self, e.what());
      }
      check_liveness(now);
    }
    const bool frees_pending = flush_old_batches(now);
    if (n > 0) continue;
    // A message of ours in flight may need its receiver to poll again (tcp:
    // rendezvous, segments): ring it, and keep polling ourselves for up to
    // DSTD_IDLE_WAIT_US, since its completion may need us too.
    const bool sending = rt.tr.sends_in_flight();
    if (sending) rt.tr.ring_receivers_of_sends_in_flight();
    const std::int64_t idle_ns = now - rt.last_activity_ns.load(std::memory_order_relaxed);
    if ((idle_ns < rt.spin_ns || (sending && idle_ns < rt.idle_wait_us * 1000)) && !threads_computing(rt)) {
      sched_yield();
      continue;
    }
    if (rt.bell_in_use) {
      // Peers ring us after posting anything, so sleep until the next timer. But a
      // protocol step may need us with nobody ringing: over tcp, the later segments of
      // a message larger than ofi_rxm's eager size (16 KiB), or a rendezvous read of
      // one we sent. So sleep in DSTD_IDLE_WAIT_US slices while local threads wait for
      // replies, while a message of ours is in flight, and for kActiveWindowNs after
      // the last activity. Measured (tcp, one host, a 20-60 KB ping): replies took up
      // to 0.8 s, the heartbeat period, without these bounds.
      constexpr std::int64_t kActiveWindowNs = 20'000'000;
      std::int64_t us = (next_heartbeat - now) / 1000 + 1;
      if (frees_pending) us = std::min<std::int64_t>(us, rt.flush_ns / 1000 + 1);
      if (rt.blocked_waiters.load(std::memory_order_relaxed) > 0 || sending || idle_ns < kActiveWindowNs)
        us = std::min(us, rt.idle_wait_us);
      if (rt.bell.sleep(rt.self, [&] { return rt.tr.progress(); }, us))
        rt.last_activity_ns.store(now_ns(), std::memory_order_relaxed);
      continue;
    }
    // Idle: sleep on the CQ fd (if any) and the local wake-up eventfd. While local
    // threads are blocked on replies, sleep in short slices so replies stay prompt.
    const std::int64_t us = rt.blocked_waiters.load(std::memory_order_relaxed) > 0 || sending ? 50 : rt.idle_wait_us;
    pollfd fds[2] = {{rt.wake_fd, POLLIN, 0}, {-1, POLLIN, 0}};
    int nfds = 1;
    if (rt.tr.wait_fd() >= 0) {
      if (!rt.tr.trywait()) continue;  // events pending: poll again rather than sleep
      fds[1].fd = rt.tr.wait_fd();
      nfds = 2;
    }
    timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>((us % 1000000) * 1000)};
    if (::ppoll(fds, nfds, &ts, nullptr) > 0 && (fds[0].revents & POLLIN)) {
      std::uint64_t v;
      (void)!::read(rt.wake_fd, &v, sizeof v);
    }
  }
}

// Waits until done(): spins as this node's poller for the spin window (what it
// waits for is then handled by this thread), then calls sleep(), which returns once
// done() holds, while the runtime thread polls.
template <class Done, class Sleep>
void poll_then_block(runtime& rt, Done&& done, Sleep&& sleep) {
  pollers::waiting w(rt.tr.polling());
  if (spin_poll(rt, done)) return;
  rt.blocked_waiters.fetch_add(1);
  wake_runtime();
  sleep();
  rt.blocked_waiters.fetch_sub(1);
}

void wait_reply(pending_reply& p) {
  poll_then_block(
      *g_rt, [&] { return p.done.load(std::memory_order_acquire) == 1; }, [&] { sleep_until_complete(p); });
}

std::vector<std::uint8_t> to_blob(const node_card& c, const peer_address& a) {
  std::vector<std::uint8_t> b(sizeof c);
  std::memcpy(b.data(), &c, sizeof c);
  b.insert(b.end(), a.name.begin(), a.name.end());
  b.insert(b.end(), a.lane_name.begin(), a.lane_name.end());
  return b;
}

[[noreturn]] void die(const std::string& what) {
  if (g_rt && g_rt->self == 0) g_rt->bell.unlink();
  std::fprintf(stderr, "%s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

void print_stats_table();

}  // namespace

// ---- public-to-the-library API ----------------------------------------------------------

void start(int, char**) {
  auto* rt = new runtime;
  g_rt = rt;
  rt->verbose = settings::get_bool("DSTD_VERBOSE");
  rt->stats = settings::get_bool("DSTD_STATS");
  rt->spin_ns = settings::get_int("DSTD_SPIN_US") * 1000;
  rt->idle_wait_us = settings::get_int("DSTD_IDLE_WAIT_US");
  rt->heartbeat_ns = settings::get_int("DSTD_HEARTBEAT_MS") * 1000000;
  rt->cores = std::max(1u, std::thread::hardware_concurrency());
  rt->timeout_ns = settings::get_int("DSTD_NODE_TIMEOUT_MS") * 1000000;
  rt->flush_ns = settings::get_int("DSTD_FREE_FLUSH_US") * 1000;
  rt->free_batch = static_cast<std::size_t>(std::max<std::int64_t>(1, settings::get_int("DSTD_FREE_BATCH")));
  // A batch must fit in one control message.
  rt->free_batch = std::min<std::size_t>(
      rt->free_batch, (settings::get_size("DSTD_AM_BUFFER_SIZE") - sizeof(msg_header)) / sizeof(free_entry));

  launcher l = detect_launcher();
  try {
    rt->boot = l == launcher::dstdrun ? make_local_bootstrap()
               : l == launcher::pmix  ? make_pmix_bootstrap()
                                      : make_single_bootstrap();
  } catch (const std::exception& e) {
    die(e.what());
  }
  rt->self = rt->boot->rank();
  rt->nodes = rt->boot->size();
  heap_impl::init(rt->self, rt->nodes);
  coherence_impl::init();
  detail::install_sync_handler();
  detail::install_thread_handler();
  for (node_t r = 0; r < rt->nodes; ++r) rt->peers.push_back(std::make_unique<peer_state>());
  if (rt->nodes == 1) return;  // a plain program: no fabric, no runtime thread

  const std::string provider = settings::get("DSTD_PROVIDER");
  std::vector<blob> cards;
  try {
    rt->tr.open(provider, rt->self, rt->nodes, rt->boot->job_id());
    const auto& lay = heap_impl::lay();
    rt->tr.register_heap(reinterpret_cast<void*>(lay.begin(rt->self)), lay.partition);
    rt->tr.post_receives(static_cast<int>(settings::get_int("DSTD_AM_BUFFERS")),
                         settings::get_size("DSTD_AM_BUFFER_SIZE"), &on_message);
    peer_address me = rt->tr.self_address();
    node_card c;
    c.rank = rt->self;
    c.pid = static_cast<std::uint32_t>(::getpid());
    c.name_len = static_cast<std::uint32_t>(me.name.size());
    c.lane_len = static_cast<std::uint32_t>(me.lane_name.size());
    c.code_addr = reinterpret_cast<std::uint64_t>(&detail::call_remote);
    c.heap_base = lay.base;
    c.partition = lay.partition;
    c.key = me.key;
    c.heap_begin = me.heap_begin;
    ::gethostname(c.host, sizeof c.host - 1);
    std::snprintf(c.provider, sizeof c.provider, "%s", provider.c_str());
    if (rt->self == 0)
      std::snprintf(c.doorbell, sizeof c.doorbell, "%s",
                    rt->bell.create(doorbell_name(rt->boot->job_id()), rt->nodes).c_str());
    cards = rt->boot->allgather(to_blob(c, me));
  } catch (const std::exception& e) {
    die(std::string("dstd[node ") + std::to_string(rt->self) + "]: " + e.what());
  }

  // Check the job is consistent before anyone touches anyone's memory.
  std::vector<peer_address> addrs(rt->nodes);
  node_card mine;
  std::memcpy(&mine, cards[rt->self].data(), sizeof mine);
  for (node_t r = 0; r < rt->nodes; ++r) {
    node_card c;
    if (cards[r].size() < sizeof c) die("dstd: corrupt bootstrap record from node " + std::to_string(r));
    std::memcpy(&c, cards[r].data(), sizeof c);
    auto mismatch = [&](const char* what) {
      die("dstd[node " + std::to_string(rt->self) + "]: node " + std::to_string(r) + " disagrees on " + what +
          ": every node must run the same binary with the same DSTD_* settings");
    };
    if (c.code_addr != mine.code_addr)
      mismatch("code addresses (ASLR is on there? dstd re-executes itself with ADDR_NO_RANDOMIZE unless "
               "DSTD_NO_REEXEC=1)");
    if (c.heap_base != mine.heap_base || c.partition != mine.partition) mismatch("the heap layout");
    if (std::strncmp(c.provider, mine.provider, sizeof c.provider) != 0) mismatch("DSTD_PROVIDER");
    if (cards[r].size() != sizeof c + c.name_len + c.lane_len)
      die("dstd: corrupt bootstrap record from node " + std::to_string(r));
    const auto name = cards[r].begin() + sizeof c;
    addrs[r].name.assign(name, name + c.name_len);
    addrs[r].lane_name.assign(name + c.name_len, name + c.name_len + c.lane_len);
    addrs[r].key = c.key;
    addrs[r].heap_begin = c.heap_begin;
    peer_state& p = *rt->peers[r];
    p.pid = c.pid;
    p.host = c.host;
    p.same_host = std::strncmp(c.host, mine.host, sizeof c.host) == 0;
    p.last_heard_ns.store(now_ns());
  }
  rt->tr.connect(addrs);
  bool one_host = true;
  for (const auto& p : rt->peers) one_host &= p->same_host;
  if (one_host && settings::get_bool("DSTD_DOORBELL")) {
    node_card zero;
    std::memcpy(&zero, cards[0].data(), sizeof zero);
    if (rt->self != 0) {
      try {
        rt->bell.open(zero.doorbell, rt->nodes);
      } catch (const std::exception& e) {
        die(std::string("dstd[node ") + std::to_string(rt->self) + "]: " + e.what());
      }
    }
    rt->tr.set_doorbell(&rt->bell);
    rt->bell_in_use = true;
  }
  rt->tr.set_send_failure_handler(&on_send_failure);
  rt->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  rt->last_activity_ns.store(now_ns());
  rt->progress_thread = std::thread(progress_loop);
  rt->boot->barrier();  // every node can now receive (and has opened the doorbell)
  if (rt->self == 0) rt->bell.unlink();
  // Every peer mapped our shm regions when it inserted our address (shm maps at
  // fi_av_insert) before the barrier, so their names can go now: a node killed
  // later, under any launcher, leaves nothing behind in /dev/shm.
  rt->tr.unlink_region();
  log("up: %s via %s", provider.c_str(), rt->boot->kind());
}

void serve_until_shutdown() {
  runtime& rt = *g_rt;
  if (rt.nodes == 1) return;
  while (!rt.shutdown_requested.load()) rt.shutdown_requested.wait(false);
  finish();
}

void finish() noexcept {
  runtime* rt = g_rt;
  if (!rt || rt->finished.exchange(true)) return;
  if (rt->nodes == 1) {
    if (rt->stats) print_stats_table();
    return;
  }
  try {
    if (rt->self == 0) {
      coherence::release();  // main's last writes to shared objects go home
      heap::flush_all();     // every destructor queued anywhere runs before the job ends
      if (rt->stats) print_stats_table();
      rt->shutdown_requested.store(true);
      for (node_t r = 1; r < rt->nodes; ++r) {
        request(r, msg::shutdown, nullptr, 0, nullptr, 0);
        rt->peers[r]->departed.store(true);
      }
    }
    rt->stop_progress.store(true);
    wake_runtime();
    rt->progress_thread.join();
    rt->boot->barrier();  // nobody closes its endpoint while a peer still needs it
    rt->boot->finalize();
    log("down");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dstd[node %u]: shutdown: %s\n", rt->self, e.what());
  }
  // The endpoint is left to process exit: detached workers may still hold it.
}

bool multi_node() noexcept { return g_rt && g_rt->nodes > 1; }
transport& fabric() { return g_rt->tr; }

void check_node(node_t node) {
  if (node >= num_nodes())
    throw std::invalid_argument("dstd: node " + std::to_string(node) + " does not exist: this job has " +
                                std::to_string(num_nodes()) + " node(s), 0.." + std::to_string(num_nodes() - 1));
}

std::size_t request(node_t node, msg type, const void* payload, std::size_t len, void* out, std::size_t cap) {
  check_node(node);
  pending_reply p;
  p.out = out;
  p.cap = cap;
  p.armed.store(1, std::memory_order_release);
  send_msg(node, type, reinterpret_cast<std::uint64_t>(&p), payload, len);
  wait_reply(p);
  if (p.status == 2) throw std::runtime_error("dstd: " + p.error);
  if (p.status != 0)
    throw remote_error("dstd: function run on node " + std::to_string(node) + " threw: " + p.error);
  return p.len;
}

void queue_remote_free(node_t node, std::uint64_t deleter, std::uint64_t addr, std::uint64_t count) {
  runtime& rt = *g_rt;
  peer_state& p = *rt.peers[node];
  rt.frees_queued.fetch_add(1, std::memory_order_acq_rel);
  std::vector<free_entry> full;
  {
    std::lock_guard lk(p.free_mu);
    if (p.frees.empty()) p.first_queued = clock::now();
    p.frees.push_back({deleter, addr, count});
    if (p.frees.size() >= rt.free_batch) full = take_free_batch_locked(p);
  }
  send_free_batch(node, full);
}

std::size_t flush_remote_frees() {
  runtime& rt = *g_rt;
  if (rt.nodes == 1) return 0;
  std::size_t flushed = 0;
  for (node_t r = 0; r < rt.nodes; ++r) {
    if (r == rt.self) continue;
    peer_state& p = *rt.peers[r];
    std::vector<free_entry> batch;
    std::uint64_t sent;
    {
      std::lock_guard lk(p.free_mu);
      batch = take_free_batch_locked(p);
      sent = p.batches_sent.load();
    }
    flushed += batch.size();
    send_free_batch(r, batch);
    if (sent) request(r, msg::flush, &sent, sizeof sent, nullptr, 0);
  }
  return flushed;
}

std::uint64_t frees_queued() noexcept { return g_rt ? g_rt->frees_queued.load(std::memory_order_acquire) : 0; }

void set_sync_handler(sync_handler h) { g_rt->on_sync = h; }
void set_thread_done_handler(thread_done_fn h) { g_rt->on_thread_done = h; }

std::size_t sync_request(node_t home, const void* payload, std::size_t len, void* out, std::size_t cap) {
  runtime& rt = *g_rt;
  if (home != rt.self) return request(home, msg::sync, payload, len, out, cap);
  pending_reply p;
  p.out = out;
  p.cap = cap;
  p.armed.store(1, std::memory_order_release);
  rt.on_sync(rt.self, reinterpret_cast<std::uint64_t>(&p), payload, len);
  if (rt.nodes > 1) {
    wait_reply(p);
  } else {  // no runtime thread to drive: the completion comes from another thread here
    sleep_until_complete(p);
  }
  if (p.status != 0) throw std::runtime_error("dstd: " + p.error);
  return p.len;
}

void sync_post(node_t home, const void* payload, std::size_t len) {
  runtime& rt = *g_rt;
  if (home == rt.self)
    rt.on_sync(rt.self, 0, payload, len);
  else
    send_msg(home, msg::sync_post, 0, payload, len);
}

void complete_sync(node_t src, std::uint64_t cookie, const void* data, std::size_t len, std::uint16_t status) {
  runtime& rt = *g_rt;
  if (cookie == 0) return;  // a post: nobody waits
  if (src == rt.self)
    fill_reply(reinterpret_cast<pending_reply*>(cookie), status, data, len);
  else
    send_msg(src, msg::reply, cookie, data, len, status);
}

std::uint64_t spawn(node_t node, detail::trampoline_fn fn, std::uint64_t record, const void* args, std::size_t len) {
  runtime& rt = *g_rt;
  check_node(node);
  static std::atomic<std::uint64_t> next_id{1};
  const std::uint64_t id = (std::uint64_t{rt.self} << 48) | next_id.fetch_add(1);
  if (node == rt.self) {
    call_job job{rt.self, id, reinterpret_cast<std::uint64_t>(fn), {}};
    job.thread_record = record;
    job.args.assign(static_cast<const std::uint8_t*>(args), static_cast<const std::uint8_t*>(args) + len);
    rt.running_threads.fetch_add(1, std::memory_order_relaxed);  // counted from submission: placement sees it
    submit_call(std::move(job));
    return id;
  }
  std::vector<std::uint8_t> buf(16 + len);
  const std::uint64_t f = reinterpret_cast<std::uint64_t>(fn);
  std::memcpy(buf.data(), &f, 8);
  std::memcpy(buf.data() + 8, &record, 8);
  if (len) std::memcpy(buf.data() + 16, args, len);
  send_msg(node, msg::spawn, id, buf.data(), buf.size());
  return id;
}

// The placement controller (runs on node 0). least_loaded: the node with the lowest
// (reported running threads + placed since its report) / cores; round_robin: in turn.
node_t controller_place(bool round_robin) {
  runtime& rt = *g_rt;
  std::lock_guard lk(rt.controller_mu);
  if (round_robin) return static_cast<node_t>(rt.round_robin++ % rt.nodes);
  node_t best = 0;
  double best_load = 1e300;
  for (node_t r = 0; r < rt.nodes; ++r) {
    peer_state& p = *rt.peers[r];
    const double load = r == rt.self ? rt.running_threads.load() + p.placed_since_report : p.load + p.placed_since_report;
    const double cores = r == rt.self ? rt.cores : (p.cores ? p.cores : rt.cores);
    if (load / cores < best_load) {
      best_load = load / cores;
      best = r;
    }
  }
  ++rt.peers[best]->placed_since_report;
  return best;
}

unsigned total_cores() {
  runtime& rt = *g_rt;
  if (rt.nodes == 1) return rt.cores;
  return run_on(0, [] {
    runtime& r = *g_rt;
    std::lock_guard lk(r.controller_mu);
    unsigned n = r.cores;
    for (node_t i = 1; i < r.nodes; ++i) n += r.peers[i]->cores ? r.peers[i]->cores : r.cores;
    return n;
  });
}

std::uint32_t local_cores() noexcept { return g_rt ? g_rt->cores : 1; }

void wait_nonzero(std::atomic<int>& flag) {
  const auto sleep = [&] {
    while (flag.load(std::memory_order_acquire) == 0) flag.wait(0, std::memory_order_acquire);
  };
  runtime* rt = g_rt;
  if (rt && rt->nodes > 1)
    poll_then_block(*rt, [&] { return flag.load(std::memory_order_acquire) != 0; }, sleep);
  else
    sleep();  // one node: nothing to poll
}

int running_threads() noexcept { return g_rt ? g_rt->running_threads.load(std::memory_order_relaxed) : 0; }

counters read_counters() noexcept {
  runtime& rt = *g_rt;
  return {rt.c_sent.load(), rt.c_recv.load(), rt.c_reads.load(), rt.c_writes.load(),
          rt.c_bread.load(), rt.c_bwritten.load(), rt.c_atomics.load(), rt.c_calls.load(),
          rt.tr.copy_helper_pieces()};
}

void count_rma(bool write, std::size_t bytes) noexcept {
  runtime& rt = *g_rt;
  (write ? rt.c_writes : rt.c_reads).fetch_add(1, std::memory_order_relaxed);
  (write ? rt.c_bwritten : rt.c_bread).fetch_add(bytes, std::memory_order_relaxed);
}
void count_atomic() noexcept { g_rt->c_atomics.fetch_add(1, std::memory_order_relaxed); }

namespace {
struct node_row {
  heap::stats h;
  counters c;
};
void print_stats_table() {
  runtime& rt = *g_rt;
  std::fprintf(stderr, "\ndstd statistics (DSTD_STATS=1)\n");
  std::fprintf(stderr, "%4s %12s %9s %9s %9s %10s %10s %9s %9s %12s %8s %7s\n", "node", "heap_bytes", "blocks",
               "allocs", "frees", "msgs_sent", "msgs_recv", "rma_rd", "rma_wr", "bytes_rd", "atomics", "calls");
  for (node_t r = 0; r < rt.nodes; ++r) {
    node_row row = run_on(r, [] { return node_row{heap_impl::snapshot(), read_counters()}; });
    std::fprintf(stderr, "%4u %12llu %9llu %9llu %9llu %10llu %10llu %9llu %9llu %12llu %8llu %7llu\n", r,
                 (unsigned long long)row.h.bytes_in_use, (unsigned long long)row.h.blocks_in_use,
                 (unsigned long long)row.h.allocations, (unsigned long long)row.h.frees,
                 (unsigned long long)row.c.messages_sent, (unsigned long long)row.c.messages_received,
                 (unsigned long long)row.c.rma_reads, (unsigned long long)row.c.rma_writes,
                 (unsigned long long)row.c.bytes_read, (unsigned long long)row.c.atomics,
                 (unsigned long long)row.c.calls_served);
  }
  std::fprintf(stderr, "%4s %12s %11s %10s %8s %12s %10s %10s %12s %12s\n", "node", "remote_reads", "read_bytes",
               "cache_hits", "moves", "bytes_moved", "r_destroys", "writebacks", "cache_bytes", "cache_entries");
  for (node_t r = 0; r < rt.nodes; ++r) {
    coherence::stats c = r == rt.self ? coherence::local_stats() : coherence::stats_of(r);
    std::fprintf(stderr, "%4u %12llu %11llu %10llu %8llu %12llu %10llu %10llu %12llu %12llu\n", r,
                 (unsigned long long)c.remote_reads, (unsigned long long)c.read_bytes,
                 (unsigned long long)c.cache_hits, (unsigned long long)c.moves,
                 (unsigned long long)c.bytes_moved, (unsigned long long)c.remote_destroys,
                 (unsigned long long)c.writebacks, (unsigned long long)c.cache_bytes,
                 (unsigned long long)c.cache_entries);
  }
}
}  // namespace

}  // namespace dstd::rt

// ---- dstd/runtime.hpp ---------------------------------------------------------------------

namespace dstd {

node_t node_id() noexcept { return rt::g_rt ? rt::g_rt->self : 0; }
node_t num_nodes() noexcept { return rt::g_rt ? rt::g_rt->nodes : 1; }

traffic_stats local_traffic() noexcept { return rt::g_rt ? rt::read_counters() : traffic_stats{}; }
traffic_stats traffic_of(node_t node) {
  return run_on(node, [] { return local_traffic(); });
}

namespace detail {
void check_node_id(node_t node) { rt::check_node(node); }

std::size_t call_remote(node_t node, trampoline_fn fn, const void* in, std::size_t in_len, void* out,
                        std::size_t cap) {
  rt::check_node(node);
  if (node == node_id()) return fn(in, in_len, out, cap);
  std::vector<std::uint8_t> buf(sizeof(std::uint64_t) + in_len);
  std::uint64_t f = reinterpret_cast<std::uint64_t>(fn);
  std::memcpy(buf.data(), &f, sizeof f);
  if (in_len) std::memcpy(buf.data() + sizeof f, in, in_len);
  // The call and its return are synchronization operations (coherence.hpp).
  coherence::release();
  struct acquire_on_return {
    ~acquire_on_return() { coherence::acquire(); }
  } acquire_after;
  return rt::request(node, rt::msg::call, buf.data(), buf.size(), out, cap);
}
}  // namespace detail

}  // namespace dstd
