#include "dstd/settings.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <set>
#include <stdexcept>
#include <string>

namespace {

TEST(Settings, EveryEntryIsDocumentedAndUnique) {
  std::set<std::string> names;
  for (const auto& e : dstd::settings::all()) {
    EXPECT_EQ(std::string(e.name).rfind("DSTD_", 0), 0u) << e.name;
    EXPECT_GT(std::string(e.meaning).size(), 10u) << e.name;
    EXPECT_TRUE(names.insert(e.name).second) << "duplicate " << e.name;
  }
  EXPECT_GE(names.size(), 10u);
}

TEST(Settings, DefaultsAndEnvironment) {
  unsetenv("DSTD_PROVIDER");
  EXPECT_EQ(dstd::settings::get("DSTD_PROVIDER"), "shm");
  setenv("DSTD_PROVIDER", "tcp;ofi_rxm", 1);
  EXPECT_EQ(dstd::settings::get("DSTD_PROVIDER"), "tcp;ofi_rxm");
  unsetenv("DSTD_PROVIDER");
}

TEST(Settings, SizesAcceptSuffixes) {
  setenv("DSTD_PARTITION_SIZE", "64M", 1);
  EXPECT_EQ(dstd::settings::get_size("DSTD_PARTITION_SIZE"), 64ull << 20);
  setenv("DSTD_PARTITION_SIZE", "16GiB", 1);
  EXPECT_EQ(dstd::settings::get_size("DSTD_PARTITION_SIZE"), 16ull << 30);
  setenv("DSTD_PARTITION_SIZE", "0x1000", 1);
  EXPECT_EQ(dstd::settings::get_size("DSTD_PARTITION_SIZE"), 4096u);
  setenv("DSTD_PARTITION_SIZE", "lots", 1);
  EXPECT_THROW(dstd::settings::get_size("DSTD_PARTITION_SIZE"), std::invalid_argument);
  unsetenv("DSTD_PARTITION_SIZE");
}

TEST(Settings, BadValuesNameTheVariable) {
  setenv("DSTD_SPIN_US", "fast", 1);
  try {
    dstd::settings::get_int("DSTD_SPIN_US");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("DSTD_SPIN_US"), std::string::npos);
  }
  unsetenv("DSTD_SPIN_US");
}

TEST(Settings, UnregisteredNamesAreRefused) {
  EXPECT_THROW(dstd::settings::get("DSTD_NOT_A_SETTING"), std::logic_error);
}

}  // namespace
