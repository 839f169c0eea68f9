// Must not compile, as with std::vector: a literal 0 is not an iterator, although
// dstd::vector's iterators are raw pointers.
#include <dstd/vector>

int main() {
  dstd::vector<int> v{1, 2, 3};
  v.erase(0);
  return static_cast<int>(v.size());
}
