// Program entry of every dstd binary.
//
// dstd links with -Wl,--wrap=main, so the C runtime calls __wrap_main, which brings
// the node up and then either runs the user's main (node 0) or serves requests until
// node 0 ends the job (every other node). Under a launcher, the process first
// re-executes itself with ADDR_NO_RANDOMIZE so code and globals sit at identical
// addresses on every node (start-up verifies it).
#include <sys/personality.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bootstrap/bootstrap.hpp"
#include "dstd/settings.hpp"
#include "node_runtime.hpp"

extern "C" int __real_main(int argc, char** argv, char** envp);

namespace {

void ensure_identical_layout(char** argv) {
  if (dstd::settings::get_bool("DSTD_NO_REEXEC")) return;
  int p = personality(0xffffffff);
  if (p == -1 || (p & ADDR_NO_RANDOMIZE)) return;
  if (personality(static_cast<unsigned long>(p) | ADDR_NO_RANDOMIZE) == -1) return;
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "dstd: warning: cannot re-execute without ASLR (%s); start-up will check the layout\n",
               std::strerror(errno));
}

void finish_at_exit() { dstd::rt::finish(); }

}  // namespace

extern "C" int __wrap_main(int argc, char** argv, char** envp) {
  if (dstd::rt::detect_launcher() != dstd::rt::launcher::none) ensure_identical_layout(argv);
  dstd::rt::start(argc, argv);
  if (dstd::node_id() != 0) {
    dstd::rt::serve_until_shutdown();
    return 0;
  }
  std::atexit(finish_at_exit);  // main may call exit() instead of returning
  int rc = __real_main(argc, argv, envp);
  dstd::rt::finish();
  return rc;
}
