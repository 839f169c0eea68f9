// Must compile: the positive control for the compile-fail tests (same command line).
#include <dstd/memory>
#include <dstd/runtime.hpp>

struct Node {
  using dstd_relocatable = std::true_type;  // every member is relocatable
  int value = 0;
  dstd::unique_ptr<Node> next;
};

int main() {
  auto p = dstd::make_unique<Node>();
  auto s = dstd::make_shared<int>(3);
  return dstd::run_on(0, [](dstd::unique_ptr<Node> n, dstd::shared_ptr<int> i) {
    return n->value + *std::as_const(i);
  }, std::move(p), s);
}
