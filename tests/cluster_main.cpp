// main() of the cluster test binaries. dstd routes the C runtime's call to main
// through its entry, so only node 0 runs the tests; the other nodes serve them.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
