// dstdrun as users call it: argument errors, provider checks, output forwarding,
// exit status, timeouts, and a lost node ending the job fast with a message.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "dstd/settings.hpp"

namespace {

struct outcome {
  int status;  // exit status, or 128+signal
  std::string output;
  double seconds;
};

outcome run(const std::string& cmd) {
  auto t0 = std::chrono::steady_clock::now();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return {status, out, s};
}

const std::string dstdrun = DSTDRUN_PATH;
const std::string probe = PROBE_PATH;

// The lines of a job's output that match `re`, one per node that printed one.
std::vector<std::smatch> lines_matching(const std::string& output, const std::regex& re) {
  return {std::sregex_iterator(output.begin(), output.end(), re), std::sregex_iterator()};
}

void expect_usage_error(const std::string& args, const std::string& says) {
  auto o = run(dstdrun + " " + args);
  EXPECT_EQ(o.status, 2) << args << "\n" << o.output;
  EXPECT_NE(o.output.find(says), std::string::npos) << args << "\n" << o.output;
}

TEST(Launcher, BadArgumentsAreClearErrors) {
  expect_usage_error("", "missing -n");
  expect_usage_error("-n 0 " + probe, "between 1 and");
  expect_usage_error("-n abc " + probe, "between 1 and");
  expect_usage_error("-n 99999 " + probe, "between 1 and");
  expect_usage_error("-n", "-n needs a value");
  expect_usage_error("-n 2", "missing the program");
  expect_usage_error("--bogus -n 2 " + probe, "unknown option '--bogus'");
  expect_usage_error("-n 2 /nonexistent/prog", "cannot execute '/nonexistent/prog'");
  expect_usage_error("-n 2 no-such-program-dstd", "not found in PATH");
  expect_usage_error("-n 2 --timeout -1 " + probe, "--timeout needs a positive number");
}

TEST(Launcher, UnknownProviderIsRefusedBeforeAnyNodeStarts) {
  auto o = run(dstdrun + " -n 2 --provider nosuch " + probe + " hello");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("provider 'nosuch' is not available"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("shm"), std::string::npos) << "should list the available providers:\n" << o.output;
  EXPECT_EQ(o.output.find("hello from"), std::string::npos) << o.output;
}

TEST(Launcher, HelpEnvListsEverySetting) {
  auto o = run(dstdrun + " --help-env");
  EXPECT_EQ(o.status, 0);
  for (const auto& e : dstd::settings::all()) {
    EXPECT_NE(o.output.find(e.name), std::string::npos) << e.name;
    EXPECT_NE(o.output.find(e.meaning), std::string::npos) << e.name;
  }
}

TEST(Launcher, ForwardsOutputOfEveryNode) {
  auto o = run(dstdrun + " -n 4 --timeout 60 --tag-output " + probe + " hello");
  EXPECT_EQ(o.status, 0) << o.output;
  for (int r = 0; r < 4; ++r) {
    std::regex line("\\[node " + std::to_string(r) + "\\] hello from node " + std::to_string(r) + " of 4");
    EXPECT_TRUE(std::regex_search(o.output, line)) << o.output;
  }
}

// Every file a job creates in /dev/shm (the shm provider's regions, the doorbell)
// is named dstd-<job id>...; the job id is dstdrun's /tmp directory, which exists
// exactly while the job runs. A file whose directory is gone is a leak, even with
// other jobs running concurrently.
std::vector<std::string> leaked_shm_files() {
  namespace fs = std::filesystem;
  std::vector<std::string> leaked;
  for (const auto& e : fs::directory_iterator("/dev/shm")) {
    const std::string name = e.path().filename().string();
    const std::string prefix = name.rfind("dstd-bell-", 0) == 0 ? "dstd-bell-" : "dstd-";
    if (name.rfind(prefix, 0) != 0) continue;
    std::string job = name.substr(prefix.size());
    if (prefix == "dstd-") job = job.substr(0, job.rfind('-'));
    if (job.rfind("dstdrun.", 0) == 0 && !fs::exists("/tmp/" + job)) leaked.push_back(name);
  }
  return leaked;
}

TEST(Launcher, ExceptionEscapingAThreadEndsTheJobNamingNodeAndThread) {
  auto o = run(dstdrun + " -n 3 --timeout 60 " + probe + " thread-throw 2");
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("dstd[node 2]: dstd::thread 0x"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("ended by an exception: boom from a thread"), std::string::npos) << o.output;
  EXPECT_LT(o.seconds, 20.0) << "the job must end, not hang in join";
}

TEST(Launcher, JobsLeaveNothingInDevShm) {
  EXPECT_EQ(run(dstdrun + " -n 3 --timeout 60 " + probe + " hello").status, 0);
  EXPECT_NE(run(dstdrun + " -n 3 --timeout 60 " + probe + " kill-node 1").status, 0);
  EXPECT_NE(run(dstdrun + " -n 3 --timeout 60 " + probe + " kill-node 0").status, 0);
  const auto leaked = leaked_shm_files();
  EXPECT_TRUE(leaked.empty()) << "left in /dev/shm: " << leaked.front();
}

// The regions' names go once every node has mapped them, so even a job whose
// nodes are all killed (no launcher cleans up under mpirun or srun) leaves nothing.
TEST(Launcher, ShmNamesAreRemovedOnceTheJobIsUp) {
  auto o = run(dstdrun + " -n 3 --timeout 60 " + probe + " shm-names");
  EXPECT_EQ(o.status, 0) << o.output;
  const auto nodes = lines_matching(o.output, std::regex("node ([0-9]+) shm maps ([0-9]+) named ([0-9]+)"));
  EXPECT_EQ(nodes.size(), 3u) << o.output;
  for (const auto& m : nodes) {
    // Its own two regions (endpoint and copy lane) and each peer's two.
    EXPECT_GE(std::stoi(m[2]), 6) << o.output;
    EXPECT_EQ(std::stoi(m[3]), 0) << o.output;
  }
}

TEST(Launcher, WithoutLauncherAProgramIsOneNode) {
  auto o = run(probe + " hello");
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("hello from node 0 of 1"), std::string::npos) << o.output;
}

TEST(Launcher, ReturnsNodeZerosExitStatus) {
  auto o = run(dstdrun + " -n 3 --timeout 60 " + probe + " exit 3");
  EXPECT_EQ(o.status, 3) << o.output;
}

TEST(Launcher, InvalidNodeIdIsAClearError) {
  auto o = run(dstdrun + " -n 2 --timeout 60 " + probe + " bad-node");
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("node 5 does not exist: this job has 2 node(s)"), std::string::npos) << o.output;
}

TEST(Launcher, KilledNodeEndsTheJobFastAndIsNamed) {
  auto o = run(dstdrun + " -n 4 --timeout 60 " + probe + " kill-node 2");
  EXPECT_EQ(o.status, 128 + 9) << o.output;
  EXPECT_NE(o.output.find("node 2"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("killed by signal 9"), std::string::npos) << o.output;
  EXPECT_EQ(o.output.find("unreachable"), std::string::npos) << o.output;
  EXPECT_LT(o.seconds, 20.0) << o.output;
}

// A node that is alive but silent (stopped) is found by the runtime's heartbeats,
// not by the launcher: this is the path that works under any launcher.
TEST(Launcher, SilentNodeIsDetectedByHeartbeat) {
  auto o = run("DSTD_NODE_TIMEOUT_MS=1500 " + dstdrun + " -n 3 --timeout 60 " + probe + " stop-node 1");
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_TRUE(std::regex_search(o.output, std::regex("node 1 \\(pid [0-9]+ on .*\\) is lost: no heartbeat")))
      << o.output;
  EXPECT_LT(o.seconds, 30.0) << o.output;
}

TEST(Launcher, TimeoutEndsTheJob) {
  auto o = run(dstdrun + " -n 2 --timeout 1 " + probe + " sleep 30");
  EXPECT_EQ(o.status, 124) << o.output;
  EXPECT_NE(o.output.find("exceeded --timeout"), std::string::npos) << o.output;
  EXPECT_LT(o.seconds, 15.0);
}

// Several nodes share 2 cores here: an idle runtime must sleep, not spin.
TEST(Launcher, IdleNodesSleep) {
  auto o = run(dstdrun + " -n 4 --timeout 60 " + probe + " idle-cpu 2");
  ASSERT_EQ(o.status, 0) << o.output;
  const auto nodes = lines_matching(o.output, std::regex("node ([0-9]+) cpu ([0-9.]+) s"));
  EXPECT_EQ(nodes.size(), 4u) << o.output;
  for (const auto& m : nodes)
    EXPECT_LT(std::stod(m[2]), 0.5) << "node " << m[1] << " used too much CPU while idle\n" << o.output;
}

}  // namespace
