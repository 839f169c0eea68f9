// Must not compile: std::string points into one node's memory.
#include <dstd/memory>
#include <string>

int main() {
  auto p = dstd::make_unique<std::string>("not relocatable");
  return static_cast<int>(std::as_const(p)->size());
}
