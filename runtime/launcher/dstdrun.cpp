// dstdrun — start an N-node dstd job on this machine.
//
//   dstdrun -n N [--provider P] [--timeout S] [--tag-output] [--node-prefix CMD] prog args...
//
// Forks N processes of `prog` with ADDR_NO_RANDOMIZE (identical layout), serves
// their bootstrap over a Unix socket, forwards their stdout/stderr line by line in
// order of arrival, and returns the job's status: node 0's exit status, or that of
// the first node that failed. A node that dies ends the job at once, with a message
// naming it; no node outlives dstdrun (PR_SET_PDEATHSIG).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bootstrap/wire.hpp"
#include "dstd/settings.hpp"
#include "fabric/transport.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
constexpr unsigned kMaxNodes = 1024;

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: dstdrun -n N [options] program [args...]\n"
               "Starts an N-node dstd job on this machine.\n\n"
               "  -n, --nodes N        number of nodes (processes), 1..%u\n"
               "  --provider P         libfabric provider (default $DSTD_PROVIDER or shm; tcp;ofi_rxm)\n"
               "  --timeout S          kill the job after S seconds (exit status 124)\n"
               "  --tag-output         prefix every output line with [node R]\n"
               "  --node-prefix CMD    run each node as CMD... program; {rank} in CMD is the node id\n"
               "                       (e.g. 'ip netns exec ns{rank}')\n"
               "  --help-env           list every DSTD_* setting with its meaning and default\n"
               "  -h, --help           this text\n",
               kMaxNodes);
}

[[noreturn]] void bad_args(const std::string& msg) {
  std::fprintf(stderr, "dstdrun: %s\n", msg.c_str());
  std::fprintf(stderr, "Try 'dstdrun --help'.\n");
  std::exit(2);
}

struct options {
  unsigned nodes = 0;
  std::string provider;
  double timeout_s = 0;
  bool tag = false;
  std::vector<std::string> prefix;
  std::vector<char*> argv;  // program and its arguments
};

unsigned parse_count(const char* s) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (!*s || *end || errno || v < 1 || v > static_cast<long>(kMaxNodes))
    bad_args(std::string("-n needs a node count between 1 and ") + std::to_string(kMaxNodes) + ", not '" + s + "'");
  return static_cast<unsigned>(v);
}

options parse(int argc, char** argv) {
  options o;
  int i = 1;
  auto value = [&](const char* opt) -> const char* {
    if (i + 1 >= argc) bad_args(std::string(opt) + " needs a value");
    return argv[++i];
  };
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage(stdout);
      std::exit(0);
    } else if (a == "--help-env") {
      dstd::settings::print_help(stdout);
      std::exit(0);
    } else if (a == "-n" || a == "--nodes" || a == "-np") {
      o.nodes = parse_count(value(a.c_str()));
    } else if (a.rfind("-n", 0) == 0 && a.size() > 2 && a[2] != '-' && a != "-np") {
      o.nodes = parse_count(a.c_str() + 2);
    } else if (a == "--provider") {
      o.provider = value("--provider");
    } else if (a == "--timeout") {
      const char* v = value("--timeout");
      char* end = nullptr;
      o.timeout_s = std::strtod(v, &end);
      if (*end || o.timeout_s <= 0) bad_args(std::string("--timeout needs a positive number of seconds, not '") + v + "'");
    } else if (a == "--tag-output") {
      o.tag = true;
    } else if (a == "--node-prefix") {
      std::string cmd = value("--node-prefix");
      std::size_t p = 0;
      while (p < cmd.size()) {
        std::size_t q = cmd.find(' ', p);
        if (q == std::string::npos) q = cmd.size();
        if (q > p) o.prefix.push_back(cmd.substr(p, q - p));
        p = q + 1;
      }
    } else if (a == "--") {
      ++i;
      break;
    } else if (!a.empty() && a[0] == '-') {
      bad_args("unknown option '" + a + "'");
    } else {
      break;
    }
  }
  if (o.nodes == 0) bad_args("missing -n N (the number of nodes)");
  if (i >= argc) bad_args("missing the program to run");
  for (; i < argc; ++i) o.argv.push_back(argv[i]);
  o.argv.push_back(nullptr);
  return o;
}

// Resolves the program like execvp would, so a typo is reported before any fork.
std::string resolve_program(const char* prog) {
  if (std::strchr(prog, '/')) {
    if (access(prog, X_OK) != 0) bad_args(std::string("cannot execute '") + prog + "': " + std::strerror(errno));
    return prog;
  }
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::size_t s = 0;
  while (s <= p.size()) {
    std::size_t e = p.find(':', s);
    if (e == std::string::npos) e = p.size();
    std::string cand = (e > s ? p.substr(s, e - s) : ".") + "/" + prog;
    struct stat st;
    if (stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(cand.c_str(), X_OK) == 0) return cand;
    s = e + 1;
  }
  bad_args(std::string("program '") + prog + "' not found in PATH");
}

struct output_stream {
  int fd = -1;
  int to = 1;  // our fd to forward to
  std::string partial;
};

struct node_proc {
  pid_t pid = -1;
  bool running = false;
  int status = 0;
  output_stream out, err;
  int boot_fd = -1;
  unsigned round = 0;  // bootstrap contributions received
  std::vector<std::uint8_t> contribution;
};

struct job {
  options opt;
  std::vector<node_proc> nodes;
  std::string dir, sock_path;
  int listen_fd = -1;
  int sig_fd = -1;
  unsigned round = 0;  // bootstrap round being collected
  int exit_status = -1;
  bool ending = false;
  clock_type::time_point kill_at{};
};

void emit(job& j, unsigned r, output_stream& s, const char* data, std::size_t len, bool eof) {
  s.partial.append(data, len);
  std::size_t start = 0, nl;
  auto put = [&](const char* p, std::size_t n) {
    std::string line;
    if (j.opt.tag) line = "[node " + std::to_string(r) + "] ";
    line.append(p, n);
    dstd::rt::wire::write_all(s.to, line.data(), line.size());
  };
  while ((nl = s.partial.find('\n', start)) != std::string::npos) {
    put(s.partial.data() + start, nl - start + 1);
    start = nl + 1;
  }
  s.partial.erase(0, start);
  if (eof && !s.partial.empty()) {
    s.partial.push_back('\n');
    put(s.partial.data(), s.partial.size());
    s.partial.clear();
  }
}

void kill_all(job& j, int sig) {
  for (auto& n : j.nodes)
    if (n.running) kill(n.pid, sig);
}

void begin_end(job& j, int status, double grace_s) {
  if (!j.ending) {
    j.ending = true;
    j.exit_status = status;
    j.kill_at = clock_type::now() + std::chrono::milliseconds(static_cast<long>(grace_s * 1000));
  }
}

void on_child_exit(job& j, unsigned r, int st) {
  node_proc& n = j.nodes[r];
  n.running = false;
  n.status = st;
  if (WIFSIGNALED(st)) {
    int sig = WTERMSIG(st);
    if (!j.ending)
      std::fprintf(stderr, "dstdrun: node %u (pid %d) was killed by signal %d (%s); ending the job\n", r, n.pid, sig,
                   strsignal(sig));
    begin_end(j, 128 + sig, 0);
    kill_all(j, SIGTERM);
  } else if (WEXITSTATUS(st) != 0 && r != 0) {
    if (!j.ending)
      std::fprintf(stderr, "dstdrun: node %u (pid %d) failed with exit status %d; ending the job\n", r, n.pid,
                   WEXITSTATUS(st));
    begin_end(j, WEXITSTATUS(st), 0);
    kill_all(j, SIGTERM);
  } else if (r == 0) {
    // Node 0 returned from main; the others leave on their own after the orderly
    // shutdown. Give them a grace period before forcing them (short if it failed:
    // then there may have been no orderly shutdown).
    begin_end(j, WEXITSTATUS(st), WEXITSTATUS(st) == 0 ? 10.0 : 1.0);
  }
}

void bootstrap_io(job& j, unsigned r) {
  using dstd::rt::wire::read_all;
  node_proc& n = j.nodes[r];
  std::uint32_t len;
  if (!read_all(n.boot_fd, &len, sizeof len, 5000)) {
    close(n.boot_fd);
    n.boot_fd = -1;
    return;
  }
  n.contribution.resize(len);
  if (len && !read_all(n.boot_fd, n.contribution.data(), len, 5000)) {
    close(n.boot_fd);
    n.boot_fd = -1;
    return;
  }
  ++n.round;
  for (auto& m : j.nodes)
    if (m.round <= j.round) return;  // someone has not contributed to this round yet
  std::vector<std::uint8_t> reply;
  auto put32 = [&](std::uint32_t v) { reply.insert(reply.end(), (std::uint8_t*)&v, (std::uint8_t*)&v + 4); };
  put32(static_cast<std::uint32_t>(j.nodes.size()));
  for (auto& m : j.nodes) {
    put32(static_cast<std::uint32_t>(m.contribution.size()));
    reply.insert(reply.end(), m.contribution.begin(), m.contribution.end());
  }
  for (auto& m : j.nodes)
    if (m.boot_fd >= 0) dstd::rt::wire::write_all(m.boot_fd, reply.data(), reply.size());
  ++j.round;
}

void accept_client(job& j) {
  int fd = accept4(j.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  std::uint32_t rank;
  if (!dstd::rt::wire::read_all(fd, &rank, sizeof rank, 5000) || rank >= j.nodes.size() ||
      j.nodes[rank].boot_fd >= 0) {
    close(fd);
    return;
  }
  j.nodes[rank].boot_fd = fd;
}

void start_nodes(job& j, const std::string& prog) {
  const unsigned n = j.opt.nodes;
  const pid_t launcher_pid = getpid();
  j.nodes.resize(n);
  for (unsigned r = 0; r < n; ++r) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
      std::perror("dstdrun: pipe");
      std::exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("dstdrun: fork");
      std::exit(1);
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != launcher_pid) _exit(127);  // dstdrun died before prctl took effect
      dup2(out[1], 1);
      dup2(err[1], 2);
      setenv("DSTD_RANK", std::to_string(r).c_str(), 1);
      setenv("DSTD_SIZE", std::to_string(n).c_str(), 1);
      setenv("DSTD_BOOTSTRAP", j.sock_path.c_str(), 1);
      if (!j.opt.provider.empty()) setenv("DSTD_PROVIDER", j.opt.provider.c_str(), 1);
      int p = personality(0xffffffff);
      if (p != -1) personality(static_cast<unsigned long>(p) | ADDR_NO_RANDOMIZE);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      std::vector<std::string> pre;
      for (auto s : j.opt.prefix) {
        for (std::size_t k; (k = s.find("{rank}")) != std::string::npos;) s.replace(k, 6, std::to_string(r));
        pre.push_back(s);
      }
      std::vector<char*> args;
      for (auto& s : pre) args.push_back(s.data());
      args.push_back(const_cast<char*>(prog.c_str()));
      for (std::size_t k = 1; k < j.opt.argv.size(); ++k) args.push_back(j.opt.argv[k]);
      execvp(args[0], args.data());
      std::fprintf(stderr, "dstdrun: node %u: cannot execute %s: %s\n", r, args[0], std::strerror(errno));
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    j.nodes[r].pid = pid;
    j.nodes[r].running = true;
    j.nodes[r].out = {out[0], 1, {}};
    j.nodes[r].err = {err[0], 2, {}};
  }
}

int run(job& j) {
  auto started = clock_type::now();
  std::vector<pollfd> fds;
  std::vector<std::pair<int, unsigned>> who;  // (kind, rank): 0 stdout, 1 stderr, 2 bootstrap, 3 listen, 4 signal
  bool timed_out = false;
  for (;;) {
    bool any_running = false, any_output = false;
    for (auto& n : j.nodes) {
      any_running |= n.running;
      any_output |= n.out.fd >= 0 || n.err.fd >= 0;
    }
    if (!any_running && !any_output) break;

    auto now = clock_type::now();
    if (!j.ending && j.opt.timeout_s > 0 &&
        now - started > std::chrono::milliseconds(static_cast<long>(j.opt.timeout_s * 1000))) {
      std::fprintf(stderr, "dstdrun: job exceeded --timeout %g s; ending it\n", j.opt.timeout_s);
      timed_out = true;
      begin_end(j, 124, 0);
      kill_all(j, SIGTERM);
      j.kill_at = now + std::chrono::seconds(2);
    }
    if (j.ending && any_running && now >= j.kill_at) {
      kill_all(j, SIGKILL);
      j.kill_at = now + std::chrono::hours(1);
    }

    fds.clear();
    who.clear();
    for (unsigned r = 0; r < j.nodes.size(); ++r) {
      auto& n = j.nodes[r];
      if (n.out.fd >= 0) fds.push_back({n.out.fd, POLLIN, 0}), who.push_back({0, r});
      if (n.err.fd >= 0) fds.push_back({n.err.fd, POLLIN, 0}), who.push_back({1, r});
      if (n.boot_fd >= 0) fds.push_back({n.boot_fd, POLLIN, 0}), who.push_back({2, r});
    }
    fds.push_back({j.listen_fd, POLLIN, 0}), who.push_back({3, 0});
    fds.push_back({j.sig_fd, POLLIN, 0}), who.push_back({4, 0});
    int rc = poll(fds.data(), fds.size(), 100);
    if (rc < 0 && errno != EINTR) break;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      auto [kind, r] = who[k];
      if (kind == 0 || kind == 1) {
        output_stream& s = kind == 0 ? j.nodes[r].out : j.nodes[r].err;
        char buf[65536];
        ssize_t got = read(s.fd, buf, sizeof buf);
        if (got > 0) {
          emit(j, r, s, buf, static_cast<std::size_t>(got), false);
        } else {
          emit(j, r, s, nullptr, 0, true);
          close(s.fd);
          s.fd = -1;
        }
      } else if (kind == 2) {
        bootstrap_io(j, r);
      } else if (kind == 3) {
        accept_client(j);
      } else {
        signalfd_siginfo si;
        while (read(j.sig_fd, &si, sizeof si) == sizeof si) {
          if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
            std::fprintf(stderr, "dstdrun: received %s; ending the job\n", strsignal(static_cast<int>(si.ssi_signo)));
            begin_end(j, 128 + static_cast<int>(si.ssi_signo), 2.0);
            kill_all(j, SIGTERM);
          }
        }
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
          for (unsigned q = 0; q < j.nodes.size(); ++q)
            if (j.nodes[q].pid == pid) on_child_exit(j, q, st);
      }
    }
  }
  (void)timed_out;
  if (j.exit_status < 0) j.exit_status = 0;
  return j.exit_status;
}

}  // namespace

int main(int argc, char** argv) {
  job j;
  j.opt = parse(argc, argv);
  std::string prog = resolve_program(j.opt.argv[0]);

  std::string provider = j.opt.provider.empty() ? dstd::settings::get("DSTD_PROVIDER") : j.opt.provider;
  if (j.opt.nodes > 1 && !dstd::rt::provider_available(provider)) {
    std::fprintf(stderr, "dstdrun: libfabric provider '%s' is not available on this machine (available: %s)\n",
                 provider.c_str(), dstd::rt::available_providers().c_str());
    return 2;
  }
  j.opt.provider = provider;

  char tmpl[] = "/tmp/dstdrun.XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("dstdrun: mkdtemp");
    return 1;
  }
  j.dir = tmpl;
  j.sock_path = j.dir + "/bootstrap.sock";
  j.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", j.sock_path.c_str());
  if (bind(j.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) || listen(j.listen_fd, 1024)) {
    std::perror("dstdrun: bootstrap socket");
    return 1;
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  j.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);

  start_nodes(j, prog);
  int status = run(j);
  // Files the nodes created in /dev/shm; they remove them once the job is up, but a
  // node killed during start-up could not.
  const std::string job = dstd::rt::dstdrun_job_id(j.sock_path);
  for (unsigned r = 0; r < j.opt.nodes; ++r)
    for (int lane : {0, 1}) shm_unlink(dstd::rt::shm_region_name(job, r, lane).c_str());
  shm_unlink(dstd::rt::doorbell_name(job).c_str());
  unlink(j.sock_path.c_str());
  rmdir(j.dir.c_str());
  return status;
}
