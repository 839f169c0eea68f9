// The home side of dstd's synchronization objects (see dstd/sync_object.hpp).
//
// Data model: the node keeps one home_state per object homed here, in a table
// sharded by address. Each operation runs under its shard's lock and never blocks.
// It either completes its caller at once or parks it (node, cookie) in a queue of
// the state; later operations complete parked callers. Completions are sent after
// the lock is released. A mutex's lock word lives in its heap block, so local
// callers can take an uncontended mutex with one CAS; only the home's CPUs touch it.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "dstd/heap.hpp"
#include "dstd/sync_object.hpp"
#include "node_runtime.hpp"
#include "sync/sync_impl.hpp"

namespace dstd::detail {
namespace {

struct waiter {
  node_t src;
  std::uint64_t cookie;
  std::uint64_t arg = 0;
  std::vector<std::uint8_t> data;  // a blocked sender's item
};

struct home_state {
  sync_kind kind{};
  std::uint64_t param = 0;
  std::deque<waiter> q;    // lockers, waiters, receivers, exclusive lockers
  std::deque<waiter> q2;   // shared lockers, blocked senders
  std::int64_t count = 0;  // semaphore/latch count, barrier arrivals, readers holding
  std::uint64_t owner = 0, depth = 0;  // recursive mutex; shared_mutex: owner != 0 = writer
  std::uint64_t phase = 0;             // barrier
  std::deque<std::vector<std::uint8_t>> items;  // channel
  std::uint64_t senders = 1;
  bool receiver_alive = true;
};

struct completion {
  node_t src;
  std::uint64_t cookie;
  std::uint16_t status;
  std::vector<std::uint8_t> data;
};

constexpr std::size_t kShards = 16;
struct shard {
  std::mutex mu;
  std::unordered_map<std::uint64_t, std::unique_ptr<home_state>> states;
};
shard g_shards[kShards];

shard& shard_of(std::uint64_t a) { return g_shards[(a >> 4) * 0x9e3779b97f4a7c15ull >> 60]; }

std::uint8_t one = 1, zero = 0;

struct op_context {
  node_t src;
  std::uint64_t cookie;
  std::vector<completion> done;
  void reply(const void* d = nullptr, std::size_t n = 0) { grant(src, cookie, d, n); }
  void grant(node_t s, std::uint64_t c, const void* d = nullptr, std::size_t n = 0, std::uint16_t status = 0) {
    if (c == 0) return;  // a post
    const auto* b = static_cast<const std::uint8_t*>(d);
    done.push_back({s, c, status, std::vector<std::uint8_t>(b, b + n)});
  }
  void grant(const waiter& w, const void* d = nullptr, std::size_t n = 0) { grant(w.src, w.cookie, d, n); }
  void park(std::deque<waiter>& q, std::uint64_t arg = 0, std::vector<std::uint8_t> data = {}) {
    q.push_back({src, cookie, arg, std::move(data)});
  }
};

std::atomic_ref<std::uint32_t> mutex_word(std::uint64_t block) {
  return std::atomic_ref<std::uint32_t>(reinterpret_cast<mutex_block*>(block)->state);
}

// The unlock of a mutex at its home (a local slow path, or a remote unlock).
void unlock_mutex_at_home(std::uint64_t block, op_context& ctx) {
  auto w = mutex_word(block);
  if (w.fetch_sub(1, std::memory_order_release) == 1) return;  // was 1: free now, nobody waits
  shard& s = shard_of(block);
  std::lock_guard lk(s.mu);
  auto it = s.states.find(block);
  if (it == s.states.end() || it->second->q.empty()) {
    w.store(0, std::memory_order_release);
    return;
  }
  home_state& st = *it->second;
  waiter next = std::move(st.q.front());
  st.q.pop_front();
  if (next.src == node_id()) {
    // A waiter on this node competes again, as with a futex: the mutex is free now and
    // a running thread may take it first. Handing it over would make every unlock wait
    // until the woken thread is scheduled, a convoy once threads outnumber cores.
    w.store(0, std::memory_order_release);
    const std::uint8_t retry = 0;
    ctx.grant(next, &retry, 1);
    return;
  }
  w.store(st.q.empty() ? 1 : 2, std::memory_order_relaxed);  // handed over to a remote waiter: still locked
  const std::uint8_t granted = 1;
  ctx.grant(next, &granted, 1);
}

void finish(op_context& ctx) {
  for (auto& c : ctx.done) rt::complete_sync(c.src, c.cookie, c.data.data(), c.data.size(), c.status);
}

// Channel replies: one flag byte (1: an item follows, 0: closed or empty), then the item.
std::vector<std::uint8_t> with_flag(std::uint8_t flag, const std::vector<std::uint8_t>& item = {}) {
  std::vector<std::uint8_t> r(1 + item.size());
  r[0] = flag;
  if (!item.empty()) std::memcpy(r.data() + 1, item.data(), item.size());
  return r;
}

void execute(const sync_request& r, const std::uint8_t* payload, op_context& ctx) {
  if (r.op == sync_op::mutex_unlock) return unlock_mutex_at_home(r.obj, ctx);
  shard& s = shard_of(r.obj);
  std::uint64_t unlock_after = 0;  // cv_wait: the mutex to release once the waiter is queued
  {
    std::lock_guard lk(s.mu);
    auto it = s.states.find(r.obj);
    if (r.op == sync_op::create) {
      std::memset(reinterpret_cast<void*>(r.obj), 0, sizeof(mutex_block));
      auto st = std::make_unique<home_state>();
      st->kind = static_cast<sync_kind>(r.a);
      st->param = r.b;
      if (st->kind == sync_kind::semaphore || st->kind == sync_kind::latch) st->count = static_cast<std::int64_t>(r.b);
      s.states[r.obj] = std::move(st);
      ctx.reply();  // a creation for another node (sync_create) waits for this
      return;
    }
    if (it == s.states.end()) {
      if (r.op == sync_op::atomic_wait) {  // a plain word: state exists only while someone waits
        it = s.states.emplace(r.obj, std::make_unique<home_state>()).first;
      } else if (r.op == sync_op::atomic_notify_one || r.op == sync_op::atomic_notify_all) {
        return;
      } else {
        std::fprintf(stderr, "dstd[node %u]: synchronization object %#llx used after its destruction\n", node_id(),
                     (unsigned long long)r.obj);
        std::abort();
      }
    }
    home_state& st = *it->second;
    switch (r.op) {
      case sync_op::destroy:
        s.states.erase(it);
        heap::deallocate(reinterpret_cast<void*>(r.obj));
        return;
      case sync_op::mutex_try_lock: {
        std::uint32_t free_word = 0;
        ctx.reply(mutex_word(r.obj).compare_exchange_strong(free_word, 1, std::memory_order_acquire) ? &one : &zero, 1);
        return;
      }
      case sync_op::mutex_lock:
        if (mutex_word(r.obj).exchange(2, std::memory_order_acquire) == 0)
          ctx.reply(&one, 1);
        else
          ctx.park(st.q);
        return;
      case sync_op::rmutex_lock:
      case sync_op::rmutex_try_lock:
        if (st.depth == 0 || st.owner == r.a) {
          st.owner = r.a;
          ++st.depth;
          ctx.reply(&one, 1);
        } else if (r.op == sync_op::rmutex_try_lock) {
          ctx.reply(&zero, 1);
        } else {
          ctx.park(st.q, r.a);
        }
        return;
      case sync_op::rmutex_unlock:
        if (--st.depth == 0) {
          if (!st.q.empty()) {
            waiter w = std::move(st.q.front());
            st.q.pop_front();
            st.owner = w.arg;
            st.depth = 1;
            ctx.grant(w, &one, 1);
          } else {
            st.owner = 0;
          }
        }
        return;
      case sync_op::shared_lock:
      case sync_op::shared_try_lock:
        // Writers first: a reader queues behind a waiting writer (no writer starvation).
        if (st.owner == 0 && st.q.empty()) {
          ++st.count;
          ctx.reply(&one, 1);
        } else if (r.op == sync_op::shared_try_lock) {
          ctx.reply(&zero, 1);
        } else {
          ctx.park(st.q2);
        }
        return;
      case sync_op::excl_lock:
      case sync_op::excl_try_lock:
        if (st.owner == 0 && st.count == 0) {
          st.owner = 1;
          ctx.reply(&one, 1);
        } else if (r.op == sync_op::excl_try_lock) {
          ctx.reply(&zero, 1);
        } else {
          ctx.park(st.q);
        }
        return;
      case sync_op::shared_unlock:
      case sync_op::excl_unlock:
        if (r.op == sync_op::shared_unlock)
          --st.count;
        else
          st.owner = 0;
        if (st.owner == 0 && st.count == 0 && !st.q.empty()) {  // next writer
          st.owner = 1;
          ctx.grant(st.q.front(), &one, 1);
          st.q.pop_front();
        } else if (st.owner == 0 && st.q.empty()) {  // every queued reader
          for (auto& w : st.q2) ctx.grant(w, &one, 1);
          st.count += static_cast<std::int64_t>(st.q2.size());
          st.q2.clear();
        }
        return;
      case sync_op::cv_wait:
        ctx.park(st.q);
        unlock_after = r.a;
        break;
      case sync_op::cv_notify_one:
        if (!st.q.empty()) {
          ctx.grant(st.q.front());
          st.q.pop_front();
        }
        return;
      case sync_op::cv_notify_all:
      case sync_op::atomic_notify_all:
        for (auto& w : st.q) ctx.grant(w);
        st.q.clear();
        if (st.kind == sync_kind{}) s.states.erase(it);
        return;
      case sync_op::sem_acquire:
      case sync_op::sem_try_acquire:
        if (st.count > 0) {
          --st.count;
          ctx.reply(&one, 1);
        } else if (r.op == sync_op::sem_try_acquire) {
          ctx.reply(&zero, 1);
        } else {
          ctx.park(st.q);
        }
        return;
      case sync_op::sem_release:
        st.count += static_cast<std::int64_t>(r.a);
        while (st.count > 0 && !st.q.empty()) {
          --st.count;
          ctx.grant(st.q.front(), &one, 1);
          st.q.pop_front();
        }
        return;
      case sync_op::latch_count_down:
        st.count -= static_cast<std::int64_t>(r.a);
        if (st.count <= 0) {
          for (auto& w : st.q) ctx.grant(w);
          st.q.clear();
        }
        return;
      case sync_op::latch_wait:
        if (st.count <= 0)
          ctx.reply();
        else
          ctx.park(st.q);
        return;
      case sync_op::latch_try_wait:
        ctx.reply(st.count <= 0 ? &one : &zero, 1);
        return;
      case sync_op::barrier_arrive_wait:
      case sync_op::barrier_arrive_drop:
        if (r.op == sync_op::barrier_arrive_drop)
          --st.param;
        else
          ctx.park(st.q);
        if (st.q.size() >= st.param) {  // the phase completes
          for (auto& w : st.q) ctx.grant(w);
          st.q.clear();
          ++st.phase;
        }
        return;
      case sync_op::atomic_wait: {
        std::atomic_ref<std::uint64_t> word(*reinterpret_cast<std::uint64_t*>(r.obj));
        if (word.load(std::memory_order_acquire) != r.a) {
          ctx.reply();
          if (st.q.empty()) s.states.erase(it);
        } else {
          ctx.park(st.q);
        }
        return;
      }
      case sync_op::atomic_notify_one:
        if (!st.q.empty()) {
          ctx.grant(st.q.front());
          st.q.pop_front();
        }
        if (st.q.empty()) s.states.erase(it);
        return;
      case sync_op::chan_send:
      case sync_op::chan_try_send: {
        std::vector<std::uint8_t> item(payload, payload + r.len);
        if (!st.receiver_alive) {
          ctx.reply(&zero, 1);  // Rust's SendError: the receiver is gone
          return;
        }
        if (!st.q.empty()) {  // a receiver waits: hand the item over directly
          ctx.grant(st.q.front(), with_flag(1, item).data(), 1 + item.size());
          st.q.pop_front();
          ctx.reply(&one, 1);
        } else if (st.param == 0 || st.items.size() < st.param) {
          st.items.push_back(std::move(item));
          ctx.reply(&one, 1);
        } else if (r.op == sync_op::chan_try_send) {
          ctx.reply(&zero, 1);
        } else {
          ctx.park(st.q2, 0, std::move(item));  // full: the sender waits for room
        }
        return;
      }
      case sync_op::chan_recv:
      case sync_op::chan_try_recv:
        if (!st.items.empty()) {
          auto item = with_flag(1, st.items.front());
          st.items.pop_front();
          ctx.reply(item.data(), item.size());
          if (!st.q2.empty()) {  // room now: the first blocked sender's item goes in
            st.items.push_back(std::move(st.q2.front().data));
            ctx.grant(st.q2.front(), &one, 1);
            st.q2.pop_front();
          }
        } else if (st.senders == 0 || r.op == sync_op::chan_try_recv) {
          ctx.reply(&zero, 1);  // closed (or, for try_recv, nothing yet)
          if (!st.receiver_alive && st.senders == 0) {  // the dropped receiver's drain is done
            s.states.erase(it);
            heap::deallocate(reinterpret_cast<void*>(r.obj));
          }
        } else {
          ctx.park(st.q);
        }
        return;
      case sync_op::chan_add_sender:
        ++st.senders;
        ctx.reply();
        return;
      case sync_op::chan_drop_sender:
        if (--st.senders == 0 && st.items.empty()) {
          for (auto& w : st.q) ctx.grant(w, &zero, 1);  // closed
          st.q.clear();
        }
        if (st.senders == 0 && !st.receiver_alive && st.items.empty()) {  // (else the receiver drains)
          s.states.erase(it);
          heap::deallocate(reinterpret_cast<void*>(r.obj));
        }
        return;
      case sync_op::chan_drop_receiver:
        // Sends are refused from now on (parked ones too: their senders destroy
        // their items). The receiver then drains what is queued and destroys it on
        // its own thread (item destructors may block, so never here), and its last
        // try_recv frees the channel once no sender is left.
        st.receiver_alive = false;
        for (auto& w : st.q2) ctx.grant(w, &zero, 1);
        st.q2.clear();
        ctx.reply();
        return;
      default:
        std::fprintf(stderr, "dstd[node %u]: unknown synchronization operation %u\n", node_id(),
                     static_cast<unsigned>(r.op));
        std::abort();
    }
  }
  if (unlock_after) {  // cv_wait: queued first, so a notify after this unlock finds the waiter
    const node_t mh = heap::home(reinterpret_cast<void*>(unlock_after));
    if (mh == node_id())
      unlock_mutex_at_home(unlock_after, ctx);
    else {
      const sync_request u{unlock_after, sync_op::mutex_unlock, 0, 0, 0};
      rt::sync_post(mh, &u, sizeof u);
    }
  }
}

void handle(node_t src, std::uint64_t cookie, const void* payload, std::size_t len) {
  sync_request r;
  if (len < sizeof r) {
    std::fprintf(stderr, "dstd[node %u]: truncated synchronization request from node %u\n", node_id(), src);
    std::abort();
  }
  std::memcpy(&r, payload, sizeof r);
  if (sizeof r + r.len > len) {
    std::fprintf(stderr, "dstd[node %u]: synchronization request from node %u claims %u payload bytes of %zu\n",
                 node_id(), src, r.len, len - sizeof r);
    std::abort();
  }
  op_context ctx{src, cookie, {}};
  execute(r, static_cast<const std::uint8_t*>(payload) + sizeof r, ctx);
  finish(ctx);
}

}  // namespace

void install_sync_handler() { rt::set_sync_handler(&handle); }

std::size_t sync_call(std::uint64_t obj, sync_op op, std::uint64_t a, std::uint64_t b, const void* payload,
                      std::size_t len, void* out, std::size_t cap) {
  std::uint8_t scratch[8];  // a status byte the caller does not want
  if (!out) {
    out = scratch;
    cap = sizeof scratch;
  }
  // Requests with small payloads (every lock, wait, small channel item) stay on the stack.
  std::uint8_t small[256];
  std::vector<std::uint8_t> large;
  std::uint8_t* buf = small;
  if (sizeof(sync_request) + len > sizeof small) {
    large.resize(sizeof(sync_request) + len);
    buf = large.data();
  }
  const sync_request r{obj, op, static_cast<std::uint32_t>(len), a, b};
  std::memcpy(buf, &r, sizeof r);
  if (len) std::memcpy(buf + sizeof r, payload, len);
  return rt::sync_request(heap::home(reinterpret_cast<void*>(obj)), buf, sizeof r + len, out, cap);
}

void sync_post(std::uint64_t obj, sync_op op, std::uint64_t a, std::uint64_t b) {
  const sync_request r{obj, op, 0, a, b};
  rt::sync_post(heap::home(reinterpret_cast<void*>(obj)), &r, sizeof r);
}

std::uint64_t sync_create(sync_kind kind, std::uint64_t param) {
  if (t_construct_for >= 0 && static_cast<node_t>(t_construct_for) != node_id()) {
    // Part of an object built here for another node (make_*_on): home it there.
    void* block = heap::allocate_on(static_cast<node_t>(t_construct_for), sizeof(mutex_block), 16);
    const auto obj = reinterpret_cast<std::uint64_t>(block);
    try {
      sync_call(obj, sync_op::create, static_cast<std::uint64_t>(kind), param);
    } catch (...) {
      try {  // the home may have created it before the reply was lost: it destroys and frees
        sync_post(obj, sync_op::destroy);
      } catch (...) {
      }
      throw;
    }
    return obj;
  }
  void* block = heap::allocate(sizeof(mutex_block), 16);
  const auto obj = reinterpret_cast<std::uint64_t>(block);
  const sync_request r{obj, sync_op::create, 0, static_cast<std::uint64_t>(kind), param};
  op_context ctx{node_id(), 0, {}};
  execute(r, nullptr, ctx);
  return obj;
}

node_t sync_handle::home() const noexcept { return static_cast<node_t>(heap::home(reinterpret_cast<void*>(addr()))); }

namespace {
std::atomic<std::uint64_t> g_next_local_thread{1};
}
namespace {
thread_local std::uint64_t t_thread_id = 0;
thread_local std::uint64_t t_own_id = 0;  // this OS thread's id outside dstd::thread bodies
}  // namespace

void set_current_thread_id(std::uint64_t id) noexcept { t_thread_id = id ? id : t_own_id; }

std::uint64_t current_thread_id() noexcept {
  if (t_thread_id == 0) {
    if (t_own_id == 0)
      t_own_id = (std::uint64_t{node_id()} << 48) | (std::uint64_t{1} << 47) | g_next_local_thread.fetch_add(1);
    t_thread_id = t_own_id;
  }
  return t_thread_id;
}

}  // namespace dstd::detail
