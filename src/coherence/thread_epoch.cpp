#include "coherence/thread_epoch.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "dstd/heap.hpp"
#include "dstd/rma.hpp"
#include "dstd/settings.hpp"
#include "heap/partition.hpp"

namespace dstd::coherence_impl {
namespace {

// A thread's epoch is the last thing of the thread to count, so it gives its block
// back when it ends and a program that starts many threads does not grow.
common::thread_counters<counters>& all_counters() {
  static auto* c = new common::thread_counters<counters>;  // never destroyed: threads outlive statics
  return *c;
}

// Calls write(off, len) for each maximal run of bytes where `now` differs from `was`.
// Runs are never merged across equal bytes: another thread may own those.
template <class Write>
void for_each_changed_run(const unsigned char* now, const unsigned char* was, std::size_t n, Write&& write) {
  auto word = [](const unsigned char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  auto all_bytes_differ = [](std::uint64_t x) {  // no zero byte in x
    return ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull) == 0;
  };
  std::size_t i = 0;
  while (i < n) {
    while (i + 8 <= n && word(now + i) == word(was + i)) i += 8;
    while (i < n && now[i] == was[i]) ++i;
    if (i >= n) break;
    std::size_t j = i;
    while (j + 8 <= n && all_bytes_differ(word(now + j) ^ word(was + j))) j += 8;
    while (j < n && now[j] != was[j]) ++j;
    write(i, j - i);
    i = j;
  }
}

}  // namespace

std::uint64_t tick_now() noexcept { return detail::g_node_tick.load(std::memory_order_acquire); }
std::uint64_t next_tick() noexcept { return detail::g_node_tick.fetch_add(1, std::memory_order_acq_rel) + 1; }

thread_epoch::thread_epoch() : count(all_counters().take()) {
  // A thread that has not acquired yet sees nothing fetched before it first used dstd.
  if (detail::t_sync.acquired_at == 0) detail::t_sync.acquired_at = tick_now();
}

thread_epoch::~thread_epoch() {
  // Thread exit is a synchronization operation: its writes go home.
  try {
    end();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dstd[node %u]: a thread's writes to shared objects could not be written home: %s\n",
                 node_id(), e.what());
  }
  while (!held.empty()) release_held(held.back().lock_object, false);  // locks the thread never unlocked
  all_counters().give_back(count);
}

void thread_epoch::keep_pin(entry* e) {
  if (pinned.insert(e).second) {
    pins.push_back(e);
    detail::t_sync.epoch_busy = true;
  } else {
    cache().unpin(e);
  }
}

unsigned char* thread_epoch::find_dirty(std::uintptr_t addr, std::size_t size) noexcept {
  for (auto& d : dirty)
    if (addr >= d.addr && addr + size <= d.addr + d.size) return d.copy + (addr - d.addr);
  return nullptr;
}

void thread_epoch::write_home(const dirty_copy& d) {
  for_each_changed_run(d.copy, d.twin, d.size, [&](std::size_t off, std::size_t len) {
    rma::write(reinterpret_cast<void*>(d.addr + off), d.copy + off, len);
    bump(count->writebacks);
    bump(count->writeback_bytes, len);
  });
}

void thread_epoch::write_back(bool forget) {
  for (auto& d : dirty) {
    write_home(d);
    if (!forget) std::memcpy(d.twin, d.copy, d.size);
  }
  if (!forget) return;
  for (auto& d : dirty) {
    heap_impl::free_internal(d.copy);
    std::free(d.twin);
  }
  dirty.clear();
}

void thread_epoch::end() {
  if (!dirty.empty()) write_back(true);
  if (!pins.empty()) {
    for (entry* e : pins) cache().unpin(e);
    pins.clear();
    pinned.clear();
  }
  if (table_used) {
    for (auto& s : table) s = slot{};
    table_used = false;
  }
  detail::t_sync.epoch_busy = false;
}

void thread_epoch::hold(const void* lock_object) noexcept {
  const auto* p = static_cast<const unsigned char*>(lock_object);
  try {
    held.reserve(held.size() + 1);  // below, nothing throws once the copy has left the epoch
    for (std::size_t i = 0; i < pins.size(); ++i) {
      entry* e = pins[i];
      if (p >= e->data && p < e->data + e->size) {
        held.push_back({lock_object, e, nullptr, nullptr, 0});  // the epoch's pin moves to the hold
        pins[i] = pins.back();
        pins.pop_back();
        pinned.erase(e);
        ++detail::t_sync.held_copies;
        return;
      }
    }
    for (std::size_t i = 0; i < dirty.size(); ++i) {
      dirty_copy& d = dirty[i];
      if (p >= d.copy && p < d.copy + d.size) {
        write_home(d);  // like every private copy at the epoch's end, but its memory stays for the unlock
        held.push_back({lock_object, nullptr, d.copy, d.twin, d.size});
        dirty[i] = dirty.back();
        dirty.pop_back();
        ++detail::t_sync.held_copies;
        return;
      }
    }
    // A second lock in a copy already held (a recursive lock, std::scoped_lock of two
    // members): one more reference, so the first unlock does not let go of it.
    for (std::size_t i = 0; i < held.size(); ++i) {
      const held_copy h = held[i];
      const bool inside = h.e ? (p >= h.e->data && p < h.e->data + h.e->size)
                              : (p >= h.copy && p < h.copy + h.size);
      if (inside) {
        if (h.e) cache().pin(h.e);
        held.push_back({lock_object, h.e, h.copy, h.twin, h.size});
        ++detail::t_sync.held_copies;
        return;
      }
    }
  } catch (...) {
    // No hold (out of memory, or the write home failed and the copy stays in the
    // epoch): the lock is taken regardless, as before this existed.
  }
}

void thread_epoch::release_held(const void* lock_object, bool into_epoch) noexcept {
  for (std::size_t i = held.size(); i-- > 0;) {
    if (held[i].lock_object != lock_object) continue;
    const held_copy h = held[i];
    held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
    --detail::t_sync.held_copies;
    if (h.e) {
      // The pin goes back to the epoch: like any read, the copy stays valid until the
      // thread's next synchronization (std::lock unlocks and relocks through it).
      bool kept = false;
      if (into_epoch) {
        try {
          keep_pin(h.e);
          kept = true;
        } catch (...) {
        }
      }
      if (!kept) cache().unpin(h.e);
    } else if (h.copy) {
      bool shared = false;
      for (const auto& o : held) shared = shared || o.copy == h.copy;
      if (!shared) {
        heap_impl::free_internal(h.copy);
        std::free(h.twin);
      }
    }
    return;
  }
}

thread_epoch& epoch() {
  thread_local thread_epoch t;
  return t;
}

void sum_counters(coherence::stats& out) noexcept {
  all_counters().for_each([&](const counters& c) {
    out.remote_reads += c.remote_reads.load(std::memory_order_relaxed);
    out.read_bytes += c.read_bytes.load(std::memory_order_relaxed);
    out.cache_hits += c.cache_hits.load(std::memory_order_relaxed);
    out.moves += c.moves.load(std::memory_order_relaxed);
    out.bytes_moved += c.bytes_moved.load(std::memory_order_relaxed);
    out.remote_destroys += c.remote_destroys.load(std::memory_order_relaxed);
    out.writebacks += c.writebacks.load(std::memory_order_relaxed);
    out.writeback_bytes += c.writeback_bytes.load(std::memory_order_relaxed);
  });
}

void init() {
  const auto& l = heap_impl::lay();
  const std::uint64_t tag = std::uint64_t{l.self + 1u} << detail::color_shift;
  detail::g_local_writable = {l.begin(l.self), l.partition, tag, 0 - tag, l.nodes == 1};
  cache().configure(settings::get_size("DSTD_CACHE_SIZE"));
}

}  // namespace dstd::coherence_impl

namespace dstd::detail {

constinit thread_local thread_sync_state t_sync{};
std::atomic<std::uint64_t> g_node_tick{1};

void end_epoch() { coherence_impl::epoch().end(); }
void hold_copy(const void* lock_object) noexcept { coherence_impl::epoch().hold(lock_object); }
void drop_held_copy(const void* lock_object) noexcept { coherence_impl::epoch().release_held(lock_object, true); }

}  // namespace dstd::detail
