#include <dstd/heap.hpp>
#include <dstd/rma.hpp>
#include <dstd/runtime.hpp>

#include <cstdio>

int main() {
  unsigned sum = 0;
  for (dstd::node_t r = 0; r < dstd::num_nodes(); ++r) sum += dstd::run_on(r, [] { return dstd::node_id() + 1; });
  auto* p = static_cast<int*>(dstd::heap::allocate_on(dstd::num_nodes() - 1, sizeof(int)));
  int v = 42, back = 0;
  dstd::rma::write(p, &v, sizeof v);
  dstd::rma::read(&back, p, sizeof back);
  dstd::heap::deallocate(p);
  std::printf("consumer: %u nodes, sum %u, read back %d\n", dstd::num_nodes(), sum, back);
  return back == 42 ? 0 : 1;
}
