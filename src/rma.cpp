// dstd/rma.hpp: bounds checks, then the transport (or memory itself, at home).
#include "dstd/rma.hpp"

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dstd/heap.hpp"
#include "fabric/transport.hpp"
#include "heap/partition.hpp"
#include "node_runtime.hpp"

namespace dstd::rma {
namespace {

// The home of [p, p+len), which must lie inside one node's partition.
node_t checked_home(const void* p, std::size_t len, const char* op) {
  const auto& l = heap_impl::lay();
  auto a = reinterpret_cast<std::uintptr_t>(p);
  if (!l.contains(a))
    throw std::out_of_range(std::string("dstd::rma::") + op + ": address is not in the global heap");
  const node_t h = l.home(a);
  if (len > l.begin(h + 1) - a)  // no overflow: both sides are within the layout
    throw std::out_of_range(std::string("dstd::rma::") + op + ": range runs past node " + std::to_string(h) +
                            "'s heap partition");
  return h;
}

}  // namespace

void read(void* local_dst, const void* global_src, std::size_t bytes) {
  node_t h = checked_home(global_src, bytes, "read");
  if (h == node_id()) {
    std::memcpy(local_dst, global_src, bytes);
    return;
  }
  rt::fabric().read(h, local_dst, reinterpret_cast<std::uint64_t>(global_src), bytes);
  rt::count_rma(false, bytes);
}

void write(void* global_dst, const void* local_src, std::size_t bytes) {
  node_t h = checked_home(global_dst, bytes, "write");
  if (h == node_id()) {
    std::memcpy(global_dst, local_src, bytes);
    return;
  }
  rt::fabric().write(h, local_src, reinterpret_cast<std::uint64_t>(global_dst), bytes);
  rt::count_rma(true, bytes);
}

namespace {
std::uint64_t atomic_at(rt::atomic_op op, std::uint64_t* word, std::uint64_t a, std::uint64_t b) {
  if (reinterpret_cast<std::uintptr_t>(word) % 8) throw std::invalid_argument("dstd::rma: atomic word not 8-byte aligned");
  node_t h = checked_home(word, sizeof *word, "atomic");
  if (!rt::multi_node() || (h == node_id() && rt::fabric().own_words_take_cpu_atomics())) {
    // Executed here with a CPU atomic: exactly what the home runtime does for peers'
    // requests, and what a software provider (shm, tcp) does for their FI_ATOMICs.
    std::atomic_ref<std::uint64_t> w(*word);
    if (op == rt::atomic_op::fetch_add) return w.fetch_add(a);
    std::uint64_t old = a;
    w.compare_exchange_strong(old, b);
    return old;
  }
  rt::count_atomic();
  auto& tr = rt::fabric();
  const auto addr = reinterpret_cast<std::uint64_t>(word);
  if (tr.native_atomics()) {
    // NIC-executed atomics go through the fabric even at home (loopback), so every
    // access to the word is performed by the same agent and stays atomic.
    return op == rt::atomic_op::fetch_add ? tr.fetch_add(h, addr, a) : tr.compare_swap(h, addr, a, b);
  }
  rt::atomic_request req{op, addr, a, b};
  std::uint64_t old = 0;
  rt::request(h, rt::msg::atomic, &req, sizeof req, &old, sizeof old);
  return old;
}
}  // namespace

std::uint64_t fetch_add(std::uint64_t* w, std::uint64_t v) { return atomic_at(rt::atomic_op::fetch_add, w, v, 0); }

std::uint64_t compare_swap(std::uint64_t* w, std::uint64_t expected, std::uint64_t desired) {
  return atomic_at(rt::atomic_op::compare_swap, w, expected, desired);
}

bool native_atomics() noexcept { return rt::multi_node() && rt::fabric().native_atomics(); }

const char* provider_name() noexcept { return rt::multi_node() ? rt::fabric().provider().c_str() : "none"; }

}  // namespace dstd::rma
