// Must not compile: std::vector's buffer lives in one node's local heap.
#include <dstd/memory>
#include <vector>

int main() {
  auto p = dstd::make_shared<std::vector<int>>(3);
  return static_cast<int>(std::as_const(p)->size());
}
