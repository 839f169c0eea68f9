// dstd/heap.hpp on top of the partition (local blocks) and the runtime (remote ones).
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "dstd/heap.hpp"
#include "heap/partition.hpp"
#include "node_runtime.hpp"

namespace dstd::heap {

using heap_impl::lay;

void* allocate(std::size_t bytes, std::size_t alignment) {
  void* p = heap_impl::alloc_local(bytes, alignment);
  if (!p) throw std::bad_alloc();
  return p;
}

void* allocate_on(node_t node, std::size_t bytes, std::size_t alignment) {
  rt::check_node(node);
  if (node == node_id()) return allocate(bytes, alignment);
  std::uint64_t req[2] = {bytes, alignment};
  std::uint64_t addr = 0;
  rt::request(node, rt::msg::alloc, req, sizeof req, &addr, sizeof addr);
  if (!addr) throw std::bad_alloc();
  return reinterpret_cast<void*>(addr);
}

namespace {
[[noreturn]] void not_global(const char* fn, const void* p) noexcept {
  std::fprintf(stderr, "dstd::heap::%s(%p): not a block of the global heap\n", fn, p);
  std::abort();
}
}  // namespace

void deallocate(void* p) noexcept {
  if (!p) return;
  auto a = reinterpret_cast<std::uintptr_t>(p);
  if (!lay().contains(a)) not_global("deallocate", p);
  node_t h = lay().home(a);
  if (h == lay().self)
    heap_impl::free_local(p, false);
  else
    rt::queue_remote_free(h, 0, a);
}

void destroy(void* p, deleter_fn deleter) noexcept {
  if (!p) return;
  auto a = reinterpret_cast<std::uintptr_t>(p);
  if (!lay().contains(a)) not_global("destroy", p);
  node_t h = lay().home(a);
  if (h == lay().self)
    deleter(p);
  else
    rt::queue_remote_free(h, reinterpret_cast<std::uint64_t>(deleter), a);
}

void destroy_n(void* p, std::size_t count, array_deleter_fn deleter) noexcept {
  if (!p) return;
  auto a = reinterpret_cast<std::uintptr_t>(p);
  if (!lay().contains(a)) not_global("destroy_n", p);
  node_t h = lay().home(a);
  if (h == lay().self)
    deleter(p, count);
  else if (count == 0)
    rt::queue_remote_free(h, 0, a);  // nothing to destroy: a plain free
  else
    rt::queue_remote_free(h, reinterpret_cast<std::uint64_t>(deleter), a, count);
}

void flush() { rt::flush_remote_frees(); }

void flush_all() {
  std::uint64_t last = ~std::uint64_t{0};
  for (;;) {
    std::uint64_t queued = 0;
    for (node_t r = 0; r < num_nodes(); ++r)
      queued += run_on(r, [] {
        rt::flush_remote_frees();
        return rt::frees_queued();
      });
    if (queued == last) return;
    last = queued;
  }
}

bool contains(const void* p) noexcept { return lay().contains(reinterpret_cast<std::uintptr_t>(p)); }

node_t home(const void* p) {
  if (!contains(p)) throw std::invalid_argument("dstd: address is not in the global heap");
  return lay().home(reinterpret_cast<std::uintptr_t>(p));
}

bool is_local(const void* p) noexcept {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  return lay().contains(a) && lay().home(a) == lay().self;
}

std::uintptr_t base() noexcept { return lay().base; }
std::size_t partition_size() noexcept { return lay().partition; }

stats local_stats() noexcept { return heap_impl::snapshot(); }

stats stats_of(node_t node) {
  return run_on(node, [] { return heap_impl::snapshot(); });
}

}  // namespace dstd::heap
