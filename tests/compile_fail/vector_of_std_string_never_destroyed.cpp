// Must not compile: growing a vector of std::string relocates the strings with
// memcpy. The check must fire at the growth, not only in ~vector (this vector is
// never destroyed).
#include <dstd/vector>
#include <string>

int main() {
  auto* v = new dstd::vector<std::string>;
  v->push_back("x");
  return static_cast<int>(v->size());
}
