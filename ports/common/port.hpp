// ports/common/port.hpp — what lets one port source build as std and as dstd.
//
// Every port is one source written against `ns::`, which is `std` in the
// <name>-std build (-DDSTD_PORT_STD, no dstd at all: a plain std program) and
// `dstd` in the <name> build. The few things std has no name for (placing work or
// data on a node) are in `port::`, where the std build ignores the node.
//
// Output contract of every port (the ports tests and the bench driver parse it):
//   result: <16 hex digits>      identical for std and dstd at every node count
//   throughput: <number> <unit>  of the timed phase
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define PORT_CALLGRIND(request) request
#else
#define PORT_CALLGRIND(request) (void)0
#endif

#if defined(DSTD_PORT_STD)
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <latch>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
namespace ns = std;
#else
#include <dstd/atomic>
#include <dstd/barrier>
#include <dstd/condition_variable>
#include <dstd/latch>
#include <dstd/memory>
#include <dstd/mutex>
#include <dstd/runtime.hpp>
#include <dstd/string>
#include <dstd/thread>
#include <dstd/vector>
namespace ns = dstd;
#endif

namespace port {

#if defined(DSTD_PORT_STD)
inline constexpr const char* flavor = "std";
inline unsigned nodes() { return 1; }
// Puts a vector's buffer on a node (std: nothing to do).
template <class V>
void place_on(V&, unsigned) {}
template <class F, class... A>
std::thread spawn_on(unsigned, F&& f, A&&... a) {
  return std::thread(std::forward<F>(f), std::forward<A>(a)...);
}
// Read access to a shared object for as long as the result lives, without
// touching its owner count (std: the pointer).
template <class T>
const T* borrow(const std::shared_ptr<T>& p) {
  return p.get();
}
// Write access to a shared object through a const handle (std: shallow const).
template <class T>
T& write(const std::shared_ptr<T>& p) {
  return *p;
}
template <class T, class... A>
std::shared_ptr<T> make_shared_on(unsigned, A&&... a) {
  return std::make_shared<T>(std::forward<A>(a)...);
}
template <class T, class... A>
std::unique_ptr<T> make_unique_on(unsigned, A&&... a) {
  return std::make_unique<T>(std::forward<A>(a)...);
}
template <class T, class... A>
std::vector<T> make_vector_on(unsigned, A&&... a) {
  return std::vector<T>(std::forward<A>(a)...);
}
#else
inline constexpr const char* flavor = "dstd";
inline unsigned nodes() { return dstd::num_nodes(); }
template <class V>
void place_on(V& v, unsigned node) {
  v.place_on(node % dstd::num_nodes());
}
template <class F, class... A>
dstd::thread spawn_on(unsigned node, F&& f, A&&... a) {
  return dstd::spawn_to(node % dstd::num_nodes(), std::forward<F>(f), std::forward<A>(a)...);
}
// dstd: a dstd::ref, which reads the object once per node and keeps that copy
// pinned, valid across locks, where copying shared_ptrs out of it would change
// owner counts (a fabric atomic each in a multi-node job).
template <class T>
dstd::ref<T> borrow(const dstd::shared_ptr<T>& p) {
  return p.borrow();
}
// dstd: write(), which a const handle offers too; copying the handle to get a
// non-const one would change the owner count twice.
template <class T>
T& write(const dstd::shared_ptr<T>& p) {
  return p.write();
}
template <class T, class... A>
dstd::shared_ptr<T> make_shared_on(unsigned node, A&&... a) {
  return dstd::make_shared_on<T>(node % dstd::num_nodes(), std::forward<A>(a)...);
}
template <class T, class... A>
dstd::unique_ptr<T> make_unique_on(unsigned node, A&&... a) {
  return dstd::make_unique_on<T>(node % dstd::num_nodes(), std::forward<A>(a)...);
}
template <class T, class... A>
dstd::vector<T> make_vector_on(unsigned node, A&&... a) {
  return dstd::make_vector_on<T>(node % dstd::num_nodes(), std::forward<A>(a)...);
}
#endif

// FNV-style mixing for result checksums.
inline std::uint64_t mix(std::uint64_t h, std::uint64_t x) {
  h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0x100000001b3ull;
}

// Command line: --small, --seed N, and port-specific --key value pairs, each declared
// with its default and its --small value so `--help` documents them.
class options {
 public:
  options(int argc, char** argv, const char* name, const char* what) : name_(name), what_(what) {
    argc_ = argc;
    argv_ = argv;
    for (int i = 1; i < argc; ++i)
      if (std::strcmp(argv[i], "--small") == 0) small_ = true;
  }
  bool small() const { return small_; }
  // The value of --key (a non-negative integer), `def` or `small_def` if absent.
  std::uint64_t get(const char* key, std::uint64_t def, std::uint64_t small_def, const char* help) {
    declared_ += std::string("  --") + key + " N   " + help + " (default " + std::to_string(def) + ", --small " +
                 std::to_string(small_def) + ")\n";
    for (int i = 1; i < argc_; ++i) {
      if (argv_[i][0] != '-' || argv_[i][1] != '-' || std::strcmp(argv_[i] + 2, key) != 0) continue;
      if (i + 1 >= argc_) fail(std::string("--") + key + " needs a value");
      char* end = nullptr;
      const unsigned long long v = std::strtoull(argv_[i + 1], &end, 10);
      if (!end || *end || argv_[i + 1][0] == '-') fail(std::string("--") + key + ": not a number: " + argv_[i + 1]);
      return v;
    }
    return small_ ? small_def : def;
  }
  // Call after every get(): rejects unknown flags, answers --help.
  void done() {
    for (int i = 1; i < argc_; ++i) {
      const std::string_view a = argv_[i];
      if (a == "--help" || a == "-h") {
        usage(stdout);
        std::exit(0);
      }
      if (a == "--small") continue;
      if (a.substr(0, 2) == "--" && declared_.find(std::string(a) + " ") != std::string::npos) {
        ++i;
        continue;
      }
      fail("unknown argument: " + std::string(a));
    }
  }

 private:
  [[noreturn]] void fail(const std::string& msg) {
    std::fprintf(stderr, "%s: %s\n", name_, msg.c_str());
    usage(stderr);
    std::exit(2);
  }
  void usage(FILE* f) const {
    std::fprintf(f, "usage: %s [--small] [options]\n%s\n  --small     a size that finishes in seconds\n%s", name_, what_,
                 declared_.c_str());
  }
  int argc_ = 0;
  char** argv_ = nullptr;
  bool small_ = false;
  const char* name_;
  const char* what_;
  std::string declared_;
};

class stopwatch {
 public:
  stopwatch() : t0_(std::chrono::steady_clock::now()) {}
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

 private:
  std::chrono::steady_clock::time_point t0_;
};

// The timed phase, whose throughput a port reports. Under callgrind started with
// --instr-atstart=no it is also the only part counted (instrumentation is global:
// every thread's instructions between the two points), which is how `make bench`
// compares std and dstd instruction counts without start-up, data generation or
// result checks. Outside valgrind the two requests cost a few instructions.
class timed_phase {
 public:
  timed_phase() { PORT_CALLGRIND(CALLGRIND_START_INSTRUMENTATION); }
  // Ends the phase (once); returns its seconds.
  double end() {
    if (!ended_) {
      secs_ = clock_.seconds();
      PORT_CALLGRIND(CALLGRIND_STOP_INSTRUMENTATION);
      ended_ = true;
    }
    return secs_;
  }

 private:
  stopwatch clock_;
  double secs_ = 0;
  bool ended_ = false;
};

inline void report(std::uint64_t checksum, double throughput, const char* unit) {
  std::printf("result: %016llx\n", static_cast<unsigned long long>(checksum));
  std::printf("throughput: %.6g %s\n", throughput, unit);
  std::fflush(stdout);
}

}  // namespace port
