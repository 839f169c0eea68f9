// A small dstd program that the launcher tests start in various ways.
//   probe hello            every node prints a line; exit 0
//   probe exit N           node 0 returns N
//   probe kill-node R      node R kills itself with SIGKILL
//   probe stop-node R      node R stops itself (SIGSTOP): alive but silent
//   probe sleep S          node 0 sleeps S seconds
//   probe bad-node         asks a node that does not exist
//   probe idle-cpu S       stays idle S seconds, prints each node's CPU seconds
//   probe shm-names        each node counts its mappings of /dev/shm/dstd-* files
//                          and those whose name still exists; exit 1 if any does
#include <dstd/runtime.hpp>
#include <dstd/thread>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <stdexcept>
#include <thread>

namespace {
// {mappings of dstd's /dev/shm files, of those the ones whose name still exists}
std::pair<int, int> shm_mappings() {
  std::pair<int, int> count{0, 0};
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> seen;  // a region is mapped in several pieces
  for (std::string line; std::getline(maps, line);) {
    const auto at = line.find("/dev/shm/dstd-");
    if (at == std::string::npos || !seen.insert(line.substr(at)).second) continue;
    ++count.first;
    if (line.find(" (deleted)") == std::string::npos) ++count.second;
  }
  return count;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
}  // namespace

int main(int argc, char** argv) {
  const char* cmd = argc > 1 ? argv[1] : "hello";
  const double arg = argc > 2 ? std::atof(argv[2]) : 0;
  const dstd::node_t n = dstd::num_nodes();
  if (!std::strcmp(cmd, "hello")) {
    for (dstd::node_t r = 0; r < n; ++r)
      dstd::run_on(r, [](dstd::node_t nodes) {
        std::printf("hello from node %u of %u (pid %d)\n", dstd::node_id(), nodes, getpid());
        std::fflush(stdout);
      }, n);
    return 0;
  }
  if (!std::strcmp(cmd, "exit")) return static_cast<int>(arg);
  if (!std::strcmp(cmd, "kill-node") || !std::strcmp(cmd, "stop-node")) {
    const bool kill = !std::strcmp(cmd, "kill-node");
    std::printf("probe: node %u will %s itself\n", static_cast<dstd::node_t>(arg), kill ? "kill" : "stop");
    std::fflush(stdout);
    // The call never returns: the job must be ended by the failure detection.
    dstd::run_on(static_cast<dstd::node_t>(arg), [](bool k) { raise(k ? SIGKILL : SIGSTOP); }, kill);
    std::puts("probe: unreachable");
    return 0;
  }
  if (!std::strcmp(cmd, "thread-throw")) {  // an exception escapes a thread on node `arg`
    dstd::spawn_to(static_cast<dstd::node_t>(arg), [] { throw std::runtime_error("boom from a thread"); }).join();
    return 0;
  }
  if (!std::strcmp(cmd, "sleep")) {
    std::this_thread::sleep_for(std::chrono::duration<double>(arg));
    return 0;
  }
  if (!std::strcmp(cmd, "bad-node")) {
    try {
      dstd::run_on(n + 3, [] { return 0; });
    } catch (const std::invalid_argument& e) {
      std::printf("error: %s\n", e.what());
      return 0;
    }
    return 1;
  }
  if (!std::strcmp(cmd, "idle-cpu")) {
    double before[64], after[64];
    for (dstd::node_t r = 0; r < n && r < 64; ++r) before[r] = dstd::run_on(r, [] { return cpu_seconds(); });
    std::this_thread::sleep_for(std::chrono::duration<double>(arg));
    for (dstd::node_t r = 0; r < n && r < 64; ++r) {
      after[r] = dstd::run_on(r, [] { return cpu_seconds(); });
      std::printf("node %u cpu %.3f s\n", r, after[r] - before[r]);
    }
    return 0;
  }
  if (!std::strcmp(cmd, "shm-names")) {
    int named = 0;
    for (dstd::node_t r = 0; r < n; ++r) {
      // Each node removes its names just after the start-up barrier, so a node
      // that is already running may look a moment too early: give it 5 s.
      const auto [maps, names] = dstd::run_on(r, [] {
        auto c = shm_mappings();
        for (int i = 0; i < 50 && c.second; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          c = shm_mappings();
        }
        return c;
      });
      std::printf("node %u shm maps %d named %d\n", r, maps, names);
      named += names;
    }
    return named ? 1 : 0;
  }
  std::fprintf(stderr, "probe: unknown command %s\n", cmd);
  return 2;
}
