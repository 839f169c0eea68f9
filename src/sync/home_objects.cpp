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
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include <boost/container/small_vector.hpp>

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

// A sending node's lease on a channel (see dstd/channel.hpp): while it holds one, the
// node posts items one-way, numbered per node from 0, and the home puts them in
// that order. A revoked lease is settled once its node has told how many items it
// sent and all of them are in.
struct channel_lease {
  static constexpr std::uint64_t unknown = ~std::uint64_t{0};
  node_t node = 0;
  std::uint64_t gen = 0;
  std::uint64_t received = 0;   // the next sequence number to put in the queue
  std::uint64_t sent = unknown;  // from the node's acknowledgement of the revoke
  bool revoked = false;
  std::map<std::uint64_t, std::vector<std::uint8_t>> early;  // arrived before their predecessors
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
  bool receiver_drained = false;  // the dropped receiver found the queue empty
  std::vector<channel_lease> leases;
  std::uint64_t next_lease = 1;
  std::optional<waiter> drop_waiter;  // a receiver's drop, until the leases settle
};

// A reply to send once the shard lock is released. Inline storage covers every
// status byte and small channel item, so the common operation allocates nothing.
struct completion {
  node_t src;
  std::uint64_t cookie;
  std::uint16_t status;
  boost::container::small_vector<std::uint8_t, 40> data;
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
  boost::container::small_vector<completion, 2> done;
  boost::container::small_vector<std::pair<node_t, sync_request>, 2> posts;  // sent with the completions
  void post(node_t to, const sync_request& r) { posts.emplace_back(to, r); }
  void reply(const void* d = nullptr, std::size_t n = 0) { grant(src, cookie, d, n); }
  void grant(node_t s, std::uint64_t c, const void* d = nullptr, std::size_t n = 0, std::uint16_t status = 0) {
    if (c == 0) return;  // a post
    const auto* b = static_cast<const std::uint8_t*>(d);
    auto& out = done.emplace_back(completion{s, c, status, {}});
    out.data.assign(b, b + n);
  }
  // A channel reply: one flag byte (1: an item follows, 0: closed or empty), then the item.
  void grant_item(node_t s, std::uint64_t c, const std::uint8_t* item, std::size_t n) {
    if (c == 0) return;
    auto& out = done.emplace_back(completion{s, c, 0, {}});
    out.data.resize(1 + n);
    out.data[0] = 1;
    std::memcpy(out.data.data() + 1, item, n);
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
  for (auto& [to, r] : ctx.posts) rt::sync_post(to, &r, sizeof r);
}

// Releases everyone waiting on a barrier's phase and starts the next. Arrivals
// beyond the expected count (std: undefined) count toward the next phase.
void end_barrier_phase(home_state& st, op_context& ctx) {
  for (auto& w : st.q) ctx.grant(w);
  st.q.clear();
  ++st.phase;
  st.count = std::max<std::int64_t>(0, st.count - static_cast<std::int64_t>(st.param));
}

// ---- channel leases (the home's side; the sender's is channel_leases.cpp) ----

// A new item: to the receiver waiting for one (copied once, into its reply), else
// to the queue.
void deliver(home_state& st, const std::uint8_t* item, std::size_t n, op_context& ctx) {
  if (!st.q.empty()) {
    ctx.grant_item(st.q.front().src, st.q.front().cookie, item, n);
    st.q.pop_front();
  } else {
    st.items.emplace_back(item, item + n);
  }
}

channel_lease& lease_of(home_state& st, node_t node, std::uint64_t gen, std::uint64_t obj) {
  for (auto& l : st.leases)
    if (l.node == node && l.gen == gen) return l;
  std::fprintf(stderr, "dstd[node %u]: channel %#llx: node %u uses lease %llu, which it does not hold\n", node_id(),
               (unsigned long long)obj, node, (unsigned long long)gen);
  std::abort();
}

void revoke_leases(std::uint64_t obj, home_state& st, op_context& ctx) {
  for (auto& l : st.leases)
    if (!l.revoked) {
      l.revoked = true;
      ctx.post(l.node, sync_request{obj, sync_op::chan_revoke_lease, 0, l.gen, 0});
    }
}

// Forgets the settled leases; once none is left, answers what waited for them: a
// dropped receiver's drain, and receivers told the channel is closed.
void settle_leases(home_state& st, op_context& ctx) {
  std::erase_if(st.leases, [](const channel_lease& l) { return l.revoked && l.received == l.sent; });
  if (!st.leases.empty()) return;
  if (st.drop_waiter) {
    ctx.grant(*st.drop_waiter);
    st.drop_waiter.reset();
  }
  if (st.senders == 0 && st.items.empty()) {
    for (auto& w : st.q) ctx.grant(w, &zero, 1);
    st.q.clear();
  }
}

// Nothing can reach the channel any more: no sender, no lease, and the dropped
// receiver has drained it.
bool channel_finished(const home_state& st) {
  return !st.receiver_alive && st.receiver_drained && st.senders == 0 && st.leases.empty();
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
      case sync_op::barrier_arrive:
      case sync_op::barrier_arrive_wait:
      case sync_op::barrier_arrive_drop: {
        // A drop is this phase's arrival and one fewer expected from now on.
        if (r.op == sync_op::barrier_arrive_drop)
          --st.param;
        else
          st.count += r.op == sync_op::barrier_arrive ? static_cast<std::int64_t>(r.a) : 1;
        std::uint8_t token[9] = {1};  // 1, or 2: the caller runs the completion; then the phase
        std::memcpy(token + 1, &st.phase, 8);
        const bool ends = st.count >= static_cast<std::int64_t>(st.param);
        if (ends && (r.b & 1)) {
          // Everyone waits on while the caller runs the completion on its node;
          // its barrier_complete ends the phase.
          token[0] = 2;
          ctx.reply(token, sizeof token);
          return;
        }
        if (r.op == sync_op::barrier_arrive_wait)
          ctx.park(st.q);
        else
          ctx.reply(token, sizeof token);
        if (ends) end_barrier_phase(st, ctx);
        return;
      }
      case sync_op::barrier_complete:
        end_barrier_phase(st, ctx);
        ctx.reply();
        return;
      case sync_op::barrier_wait:
        if (st.phase > r.a)
          ctx.reply();  // that phase is over
        else
          ctx.park(st.q);
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
        if (!st.receiver_alive) {
          ctx.reply(&zero, 1);  // Rust's SendError: the receiver is gone
          return;
        }
        if (!st.q.empty() || st.param == 0 || st.items.size() < st.param) {
          deliver(st, payload, r.len, ctx);
          // An unbounded channel leases a remote sending node that asks and has none.
          const bool lease = r.a == 1 && st.param == 0 && ctx.src != node_id() &&
                             std::none_of(st.leases.begin(), st.leases.end(),
                                          [&](const channel_lease& l) { return l.node == ctx.src; });
          if (!lease) {
            ctx.reply(&one, 1);
            return;
          }
          channel_lease& l = st.leases.emplace_back();
          l.node = ctx.src;
          l.gen = st.next_lease++;
          std::uint8_t granted[9] = {1};
          std::memcpy(granted + 1, &l.gen, 8);
          ctx.reply(granted, sizeof granted);
        } else if (r.op == sync_op::chan_try_send) {
          ctx.reply(&zero, 1);
        } else {
          ctx.park(st.q2, 0, std::vector<std::uint8_t>(payload, payload + r.len));  // full: the sender waits for room
        }
        return;
      }
      case sync_op::chan_send_leased: {
        // Items from a revoked lease still count: its node took their numbers
        // before it saw the revoke, and the dropped receiver drains them.
        channel_lease& l = lease_of(st, ctx.src, r.a, r.obj);
        if (r.b != l.received) {
          l.early.emplace(r.b, std::vector<std::uint8_t>(payload, payload + r.len));
          return;
        }
        deliver(st, payload, r.len, ctx);
        ++l.received;
        for (auto e = l.early.begin(); e != l.early.end() && e->first == l.received; e = l.early.erase(e)) {
          deliver(st, e->second.data(), e->second.size(), ctx);
          ++l.received;
        }
        if (l.revoked) settle_leases(st, ctx);
        return;
      }
      case sync_op::chan_lease_ack:
        lease_of(st, ctx.src, r.a, r.obj).sent = r.b;
        settle_leases(st, ctx);
        break;
      case sync_op::chan_recv:
      case sync_op::chan_try_recv:
        if (!st.items.empty()) {
          ctx.grant_item(ctx.src, ctx.cookie, st.items.front().data(), st.items.front().size());
          st.items.pop_front();
          if (!st.q2.empty()) {  // room now: the first blocked sender's item goes in
            st.items.push_back(std::move(st.q2.front().data));
            ctx.grant(st.q2.front(), &one, 1);
            st.q2.pop_front();
          }
          return;
        }
        if (r.op == sync_op::chan_try_recv) {
          ctx.reply(&zero, 1);  // nothing yet
          if (!st.receiver_alive) st.receiver_drained = true;  // the dropped receiver's drain is done
          break;
        }
        if (st.senders == 0 && st.leases.empty())
          ctx.reply(&zero, 1);  // closed
        else
          ctx.park(st.q);
        return;
      case sync_op::chan_add_sender:
        ++st.senders;
        ctx.reply();
        return;
      case sync_op::chan_drop_sender:
        // The last sender: items another node posted may still be on their way, so
        // the leases are revoked and the channel reads as closed once they settle.
        if (--st.senders == 0) {
          revoke_leases(r.obj, st, ctx);
          settle_leases(st, ctx);
        }
        break;
      case sync_op::chan_drop_receiver:
        // Sends are refused from now on (parked ones too: their senders destroy
        // their items). Once the leased items are in, the receiver drains what is
        // queued and destroys it on its own thread (item destructors may block, so
        // never here); the channel is freed when that drain and every sender are done.
        st.receiver_alive = false;
        for (auto& w : st.q2) ctx.grant(w, &zero, 1);
        st.q2.clear();
        revoke_leases(r.obj, st, ctx);
        st.drop_waiter = waiter{ctx.src, ctx.cookie, 0, {}};
        settle_leases(st, ctx);
        return;
      default:
        std::fprintf(stderr, "dstd[node %u]: unknown synchronization operation %u\n", node_id(),
                     static_cast<unsigned>(r.op));
        std::abort();
    }
    if (st.kind == sync_kind::channel && channel_finished(st)) {
      s.states.erase(it);
      heap::deallocate(reinterpret_cast<void*>(r.obj));
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
  if (r.op == sync_op::chan_revoke_lease) {  // this node is the sender, not the home
    revoke_channel_lease(r.obj, r.a);
    return;
  }
  op_context ctx{src, cookie, {}, {}};
  execute(r, static_cast<const std::uint8_t*>(payload) + sizeof r, ctx);
  finish(ctx);
}

}  // namespace

void install_sync_handler() { rt::set_sync_handler(&handle); }

namespace {
// A request and its payload in one buffer, on the stack when small (every lock,
// wait and small channel item).
class request_bytes {
 public:
  request_bytes(const sync_request& r, const void* payload) {
    if (sizeof r + r.len > sizeof small_) {
      large_.resize(sizeof r + r.len);
      buf_ = large_.data();
    }
    std::memcpy(buf_, &r, sizeof r);
    if (r.len) std::memcpy(buf_ + sizeof r, payload, r.len);
    size_ = sizeof r + r.len;
  }
  const std::uint8_t* data() const noexcept { return buf_; }
  std::size_t size() const noexcept { return size_; }

 private:
  std::uint8_t small_[256];
  std::vector<std::uint8_t> large_;
  std::uint8_t* buf_ = small_;
  std::size_t size_ = 0;
};
}  // namespace

std::size_t sync_call(std::uint64_t obj, sync_op op, std::uint64_t a, std::uint64_t b, const void* payload,
                      std::size_t len, void* out, std::size_t cap) {
  std::uint8_t scratch[8];  // a status byte the caller does not want
  if (!out) {
    out = scratch;
    cap = sizeof scratch;
  }
  const request_bytes req({obj, op, static_cast<std::uint32_t>(len), a, b}, payload);
  return rt::sync_request(heap::home(reinterpret_cast<void*>(obj)), req.data(), req.size(), out, cap);
}

void sync_post(std::uint64_t obj, sync_op op, std::uint64_t a, std::uint64_t b, const void* payload,
               std::size_t len) {
  const request_bytes req({obj, op, static_cast<std::uint32_t>(len), a, b}, payload);
  rt::sync_post(heap::home(reinterpret_cast<void*>(obj)), req.data(), req.size());
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
  op_context ctx{node_id(), 0, {}, {}};
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
