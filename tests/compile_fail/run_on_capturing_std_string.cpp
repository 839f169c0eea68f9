// Must not compile: the lambda's capture would be shipped as bytes.
#include <dstd/runtime.hpp>
#include <string>

int main() {
  std::string s = "local";
  return static_cast<int>(dstd::run_on(1, [s] { return s.size(); }));
}
