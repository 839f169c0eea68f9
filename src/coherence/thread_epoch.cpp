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
  while (!held.empty()) release_held(held.back().lock_object);  // locks the thread never unlocked
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

void thread_epoch::write_back(bool forget) {
  for (auto& d : dirty) {
    for_each_changed_run(d.copy, d.twin, d.size, [&](std::size_t off, std::size_t len) {
      rma::write(reinterpret_cast<void*>(d.addr + off), d.copy + off, len);
      bump(count->writebacks);
      bump(count->writeback_bytes, len);
    });
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

void thread_epoch::hold(const void* lock_object) {
  const auto* p = static_cast<const unsigned char*>(lock_object);
  for (std::size_t i = 0; i < pins.size(); ++i) {
    entry* e = pins[i];
    if (p >= e->data && p < e->data + e->size) {
      held.push_back({lock_object, e, nullptr, nullptr});  // the epoch's pin moves to the hold
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
      // Written home like every private copy, but its memory stays for the unlock.
      for_each_changed_run(d.copy, d.twin, d.size, [&](std::size_t off, std::size_t len) {
        rma::write(reinterpret_cast<void*>(d.addr + off), d.copy + off, len);
        bump(count->writebacks);
        bump(count->writeback_bytes, len);
      });
      held.push_back({lock_object, nullptr, d.copy, d.twin});
      dirty[i] = dirty.back();
      dirty.pop_back();
      ++detail::t_sync.held_copies;
      return;
    }
  }
}

void thread_epoch::release_held(const void* lock_object) noexcept {
  for (std::size_t i = held.size(); i-- > 0;) {
    if (held[i].lock_object != lock_object) continue;
    if (held[i].e) cache().unpin(held[i].e);
    if (held[i].copy) {
      heap_impl::free_internal(held[i].copy);
      std::free(held[i].twin);
    }
    held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
    --detail::t_sync.held_copies;
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
  detail::g_local_writable = {l.begin(l.self), l.partition, std::uint64_t{l.self + 1u} << detail::color_shift};
  cache().configure(settings::get_size("DSTD_CACHE_SIZE"));
}

}  // namespace dstd::coherence_impl

namespace dstd::detail {

constinit thread_local thread_sync_state t_sync{};
std::atomic<std::uint64_t> g_node_tick{1};

void end_epoch() { coherence_impl::epoch().end(); }
void hold_copy(const void* lock_object) { coherence_impl::epoch().hold(lock_object); }
void drop_held_copy(const void* lock_object) noexcept { coherence_impl::epoch().release_held(lock_object); }

}  // namespace dstd::detail
