// The one place every DSTD_* variable is declared. Add a row here before reading a
// new variable anywhere: settings::get() refuses names that are not registered.
#include "dstd/settings.hpp"

#include <cstdlib>
#include <stdexcept>

namespace dstd::settings {
namespace {

constexpr entry kRegistry[] = {
    // Transport
    {"DSTD_PROVIDER", "shm",
     "libfabric provider: shm (one host) or tcp;ofi_rxm (across hosts); dstdrun --provider sets it"},
    {"DSTD_NATIVE_ATOMICS", "1",
     "1: use the provider's FI_ATOMIC when it has one; 0: execute atomics at the home node "
     "(the path used by providers without FI_ATOMIC)"},
    {"DSTD_STRIPE_MIN", "4M",
     "over shm, a fabric read of at least this many bytes is cut in pieces (2 MiB at most) that "
     "the calling thread and a copy helper share, each on its own endpoint: shm copies in the "
     "thread that posts, and one endpoint's copies from a peer take turns on that peer's lock "
     "(BM_fabric_read/67108864 on 2 cores: 0.6-0.8 of one fi_read's time); 0: one thread, one piece"},
    // Global heap
#if defined(__SANITIZE_THREAD__)
    // ThreadSanitizer owns 0x4000'0000'0000; its application range starts at 0x7e80'...
    {"DSTD_HEAP_BASE", "0x7e9000000000",
#else
    {"DSTD_HEAP_BASE", "0x400000000000",
#endif
     "virtual address of node 0's heap partition; identical on every node"},
    {"DSTD_PARTITION_SIZE", "16G",
     "bytes of global heap owned by each node (power of two, >= 32M); reserved, not committed"},
    {"DSTD_HUGE_PAGES", "small",
     "small: transparent huge pages (madvise MADV_HUGEPAGE) for the quarter of this node's "
     "partition that holds blocks of at most 1 KiB: fewer TLB misses over many small objects, "
     "which mimalloc spreads over one page per size class; 1: the whole partition (large fabric "
     "reads twice as fast on shm, but fresh huge pages are zeroed whole on first touch: "
     "gemm -44% in make bench on a VM whose host reclaims freed guest memory); 0: 4 KiB pages"},
    {"DSTD_FREE_BATCH", "256",
     "remote frees/destroys buffered per destination before a batch message is sent"},
    {"DSTD_FREE_FLUSH_US", "2000",
     "longest time a partial batch of remote frees waits before it is sent"},
    // Coherence
    {"DSTD_CACHE_SIZE", "256M",
     "bytes of remote objects each node keeps in its read cache (LRU over unpinned copies); "
     "copies pinned by a thread's current epoch or a dstd::ref may exceed it"},
    {"DSTD_READ_CHUNK", "64K",
     "indexed const access to a remote dstd::vector reads this many bytes around the element "
     "(whole elements) instead of the whole buffer; iteration and data() read the whole buffer"},
    // Threads
    {"DSTD_PLACEMENT", "least_loaded",
     "where a plain dstd::thread starts: least_loaded (here while this node has an idle core, "
     "else the least loaded node by node 0's controller), round_robin, or local"},
    // Runtime
    {"DSTD_SPIN_US", "200",
     "how long a waiting thread polls before it sleeps, and how long the runtime thread keeps polling after "
     "activity while every thread of its node waits on the fabric"},
    {"DSTD_IDLE_WAIT_US", "1000",
     "longest sleep of a runtime thread that peers cannot ring (nodes on several hosts, or while "
     "it steps aside for a thread polling in a wait): bounds the extra latency of a request "
     "reaching a node whose threads stopped polling"},
    {"DSTD_DOORBELL", "1",
     "1: when all nodes share a host, a peer that posts to a sleeping node wakes it through a "
     "futex in /dev/shm; 0: sleep on the CQ wait fd with DSTD_IDLE_WAIT_US timeouts instead"},
    {"DSTD_AM_BUFFERS", "64", "receive buffers posted for control messages per node"},
    {"DSTD_AM_BUFFER_SIZE", "65536",
     "bytes per control-message buffer; larger call arguments/results are refused"},
    {"DSTD_HEARTBEAT_MS", "500", "interval between liveness heartbeats"},
    {"DSTD_NODE_TIMEOUT_MS", "5000",
     "a node silent for this long is reported lost and the job is ended"},
    {"DSTD_STATS", "0", "1: print per-node runtime counters as a table at exit"},
    {"DSTD_VERBOSE", "0", "1: log runtime start-up and shutdown steps to stderr"},
    {"DSTD_NO_REEXEC", "0",
     "1: do not re-execute with ADDR_NO_RANDOMIZE (only safe if the layout is already identical)"},
    // Bootstrap (set by dstdrun; users normally leave them alone)
    {"DSTD_RANK", "", "node id of this process (set by dstdrun)"},
    {"DSTD_SIZE", "", "number of nodes in the job (set by dstdrun)"},
    {"DSTD_BOOTSTRAP", "", "path of dstdrun's bootstrap socket (set by dstdrun)"},
    {"DSTD_BOOTSTRAP_TIMEOUT_MS", "60000",
     "how long a node waits for all peers to join at start-up"},
};

const entry* find(std::string_view name) {
  for (const auto& e : kRegistry)
    if (name == e.name) return &e;
  return nullptr;
}

[[noreturn]] void bad_value(std::string_view name, const std::string& value, const char* want) {
  throw std::invalid_argument("dstd: " + std::string(name) + "='" + value + "' is not " + want);
}

}  // namespace

std::span<const entry> all() { return kRegistry; }

std::string get(std::string_view name) {
  const entry* e = find(name);
  if (!e) throw std::logic_error("dstd: setting " + std::string(name) + " is not registered");
  if (const char* v = std::getenv(e->name)) return v;
  return e->default_value;
}

std::int64_t get_int(std::string_view name) {
  std::string v = get(name);
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 0);
  if (v.empty() || *end != '\0') bad_value(name, v, "an integer");
  return x;
}

bool get_bool(std::string_view name) {
  std::string v = get(name);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v.empty() || v == "0" || v == "false" || v == "no" || v == "off") return false;
  bad_value(name, v, "a boolean (0/1)");
}

std::uint64_t get_size(std::string_view name) {
  std::string v = get(name);
  char* end = nullptr;
  unsigned long long x = std::strtoull(v.c_str(), &end, 0);
  if (v.empty() || end == v.c_str()) bad_value(name, v, "a size");
  int shift = 0;
  switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; ++end; break;
    case 'm': case 'M': shift = 20; ++end; break;
    case 'g': case 'G': shift = 30; ++end; break;
    case 't': case 'T': shift = 40; ++end; break;
    default: bad_value(name, v, "a size (suffixes K, M, G, T)");
  }
  if (*end == 'i' || *end == 'B') ++end;
  if (*end == 'B') ++end;
  if (*end != '\0') bad_value(name, v, "a size (suffixes K, M, G, T)");
  return static_cast<std::uint64_t>(x) << shift;
}

void print_help(std::FILE* out) {
  std::fprintf(out, "dstd settings (environment variables):\n\n");
  for (const auto& e : kRegistry) {
    std::fprintf(out, "  %-26s default: %s\n      %s\n", e.name,
                 *e.default_value ? e.default_value : "(unset)", e.meaning);
  }
}

}  // namespace dstd::settings
