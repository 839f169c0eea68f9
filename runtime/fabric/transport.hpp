// The libfabric transport of one node: one RDM endpoint, one completion queue, one
// memory registration covering this node's heap partition. Over shm, a second
// endpoint (the copy lane) lets a helper thread share large copies (stripes.hpp).
//
// Threading: the domain is FI_THREAD_SAFE, so any thread may post operations and
// read the completion queue. A thread that waits for its own operation drives
// progress itself (calls progress()) instead of handing the work to the runtime
// thread: that keeps a remote read at one CQ poll loop of latency. Whoever reads a
// completion dispatches it: RMA/atomic completions mark their op_ctx done, send
// completions release their buffer, received messages go to the message handler
// (deferred to the outermost progress() call when progress nests inside a handler).
//
// Memory registration modes are honoured generically (FI_MR_LOCAL, FI_MR_VIRT_ADDR,
// FI_MR_PROV_KEY, FI_MR_ENDPOINT, FI_MR_ALLOCATED) so that providers stricter than
// shm and tcp (verbs) work too.
#pragma once

#include <rdma/fabric.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dstd/runtime.hpp"
#include "fabric/pollers.hpp"
#include "fabric/stripes.hpp"

struct fid_fabric;
struct fid_domain;
struct fid_ep;
struct fid_cq;
struct fid_av;
struct fid_mr;

namespace dstd::rt {

class doorbell;

// Completion context of one posted operation. fi_context2 must come first: libfabric
// hands the same pointer back in the completion entry.
struct op_ctx {
  enum class kind : std::uint8_t { rma, send, recv };
  fi_context2 fi{};
  kind k = kind::rma;
  std::atomic<int> state{0};  // 0 pending, 1 done, -1 failed
  int err = 0;
  node_t peer = 0;
};

// What a node publishes about itself at bootstrap.
struct peer_address {
  std::vector<std::uint8_t> name;       // fi_getname() bytes
  std::vector<std::uint8_t> lane_name;  // the copy lane's, or empty
  std::uint64_t key = 0;                // heap MR key
  std::uint64_t heap_begin = 0;         // start of the node's partition
};

class transport {
 public:
  using message_handler = void (*)(const void* msg, std::size_t len);
  // Called with the bytes of a message whose send failed (the peer is gone).
  using send_failure_handler = void (*)(const void* msg, std::size_t len, node_t peer, int err);

  // Opens fabric, domain, endpoint, CQ and AV for `provider`. Throws
  // std::runtime_error (listing the available providers) if it does not exist.
  // `job_id` names the shm provider's region (ignored by other providers).
  void open(const std::string& provider, node_t self, node_t nodes, const std::string& job_id);
  // Removes this node's shm region names (the mappings stay until exit). Call once
  // every peer has inserted this node's address: shm maps a region at fi_av_insert.
  void unlink_region() noexcept;
  // Registers [base, base+len) for local and remote access. Call once, after open().
  void register_heap(void* base, std::size_t len);
  // Posts `count` receive buffers of `size` bytes, allocated in the heap.
  void post_receives(int count, std::size_t size, message_handler on_message);
  void set_send_failure_handler(send_failure_handler h) { on_send_failure_ = h; }
  peer_address self_address() const;
  // Inserts every node's address (index = node id) into the address vector.
  void connect(const std::vector<peer_address>& peers);

  // Blocking one-sided operations on `node`'s memory at virtual address `raddr`.
  // Reads of DSTD_STRIPE_MIN bytes or more over shm are shared with the copy helper
  // (stripes.hpp).
  // `may_stripe` false: one fi_read on one endpoint whatever the size (benchmarks).
  void read(node_t node, void* dst, std::uint64_t raddr, std::size_t len, bool may_stripe = true);
  void write(node_t node, const void* src, std::uint64_t raddr, std::size_t len);
  std::uint64_t fetch_add(node_t node, std::uint64_t raddr, std::uint64_t v);
  std::uint64_t compare_swap(node_t node, std::uint64_t raddr, std::uint64_t expected,
                             std::uint64_t desired);
  bool native_atomics() const { return native_atomics_; }
  // True if this node may update its own words with CPU atomics: peers' atomics
  // reach them through the home's runtime (no native atomics) or through a software
  // provider's own CPU atomics. False where a NIC applies them (loop back instead).
  bool own_words_take_cpu_atomics() const { return !native_atomics_ || host_cpu_atomics_; }

  // Sends one message (copied; the caller may reuse `buf` on return).
  void send(node_t node, const void* buf, std::size_t len);
  void send2(node_t node, const void* a, std::size_t alen, const void* b, std::size_t blen);

  // Messages posted and not completed yet. Over tcp a message larger than ofi_rxm's
  // eager size (16 KiB) completes only after the receiver has read it from us (a
  // rendezvous): we must keep polling until then, though nobody rings us for it.
  bool sends_in_flight() const noexcept { return sends_in_flight_.load(std::memory_order_relaxed) > 0; }
  // Such a message may also reach its receiver in several steps (ofi_rxm's
  // segmentation), each needing it to poll, and only the post rang it. This rings
  // every receiver of a message in flight again (one load each while it is awake).
  void ring_receivers_of_sends_in_flight() noexcept;

  // Reads up to a batch of completions and dispatches them; returns how many.
  int progress();
  // Waits for `ctx` by driving progress; throws on a failed operation.
  void wait(op_ctx& ctx);

  // Threads spinning on the CQ in their waits, and the runtime thread's step aside.
  pollers& polling() noexcept { return pollers_; }

  // The CQ's wait fd, or -1 when the provider offers none.
  int wait_fd() const { return wait_fd_; }
  // True if it is safe to block on wait_fd() now (fi_trywait).
  bool trywait();

  // Peers on this host that may be asleep get rung after every post to them.
  void set_doorbell(doorbell* bell) {
    bell_ = bell;
    pollers_.set_doorbell(bell, self_);
  }

  const std::string& provider() const { return provider_; }
  // Pieces of large reads the copy helper copied.
  std::uint64_t copy_helper_pieces() const noexcept { return striper_.helped(); }
  std::size_t max_message() const { return recv_size_; }

 private:
  void* desc_for(const void* local, std::size_t len, fid_mr** temp);
  fid_ep* open_endpoint(const std::string& shm_name);
  // One blocking read or write on endpoint `lane` (1: the copy lane). `ring`: wake
  // the peer right after posting (a striped read rings it once, after its pieces).
  void rma(int lane, bool write, node_t node, void* local, std::uint64_t raddr, std::size_t len, bool ring);
  bool stripes_to(node_t node, std::size_t len) const;
  void striped_read(node_t node, void* local, std::uint64_t raddr, std::size_t len);
  void release_send(op_ctx* ctx) noexcept;  // a send completed or failed: uncount, free
  void dispatch_recv(op_ctx* ctx, std::size_t len);
  void repost(op_ctx* ctx);
  void fail_op(op_ctx* ctx, int err);
  // Posts with `post()` until it stops answering -FI_EAGAIN, driving progress (with
  // message handlers deferred: the caller may hold locks) and giving up after
  // DSTD_NODE_TIMEOUT_MS with an error naming `node`.
  template <class Post>
  long post_retry(node_t node, Post&& post);

  std::string provider_;
  std::string region_;       // shm region name set with fi_setname, or empty
  std::string lane_region_;  // the copy lane's, or empty
  node_t self_ = 0, nodes_ = 0;
  fi_info* info_ = nullptr;
  fid_fabric* fabric_ = nullptr;
  fid_domain* domain_ = nullptr;
  fid_ep* ep_ = nullptr;
  fid_ep* lane_ep_ = nullptr;  // the copy lane: shm only, DSTD_STRIPE_MIN > 0
  std::size_t stripe_min_ = 0;
  fid_cq* cq_ = nullptr;
  fid_av* av_ = nullptr;
  fid_mr* heap_mr_ = nullptr;
  void* heap_desc_ = nullptr;
  std::uintptr_t heap_lo_ = 0, heap_hi_ = 0;
  std::uint64_t mr_mode_ = 0;
  std::size_t inject_size_ = 0;
  std::size_t recv_size_ = 0;
  int wait_fd_ = -1;
  bool native_atomics_ = false;
  bool host_cpu_atomics_ = false;
  std::vector<std::uint64_t> peer_key_;
  std::vector<std::uint64_t> peer_base_;
  std::vector<std::uint64_t> fi_addr_;
  std::vector<std::uint64_t> lane_addr_;  // peers' copy lanes (FI_ADDR_NOTAVAIL: none)
  message_handler on_message_ = nullptr;
  send_failure_handler on_send_failure_ = nullptr;
  long long post_timeout_ms_ = 5000;
  doorbell* bell_ = nullptr;
  std::atomic<int> sends_in_flight_{0};
  std::unique_ptr<std::atomic<int>[]> sends_to_;  // messages in flight, per receiver
  pollers pollers_{*this};
  striper striper_;
};

// Files a job creates in /dev/shm are named after its job id, so that dstdrun can
// remove them even when a node was killed before it could: the shm provider's
// region of each node, and the doorbell of a single-host job.
// Lane 1 is the copy lane's region.
std::string shm_region_name(const std::string& job_id, node_t rank, int lane = 0);
std::string doorbell_name(const std::string& job_id);
// The job id of a dstdrun job, from the path of its bootstrap socket.
std::string dstdrun_job_id(const std::string& bootstrap_path);

// The fi_getinfo hints of a dstd endpoint (callers free them with fi_freeinfo).
fi_info* rdm_hints(const std::string& provider, bool atomics);
// Lists the providers libfabric offers RDM endpoints for, e.g. "shm, tcp;ofi_rxm".
std::string available_providers();
// True if `provider` can open an RDM endpoint with RMA on this machine.
bool provider_available(const std::string& provider);
// True if the provider (fi_info's prov_name, "tcp;ofi_rxm" say) performs FI_ATOMIC
// operations in software, on the target host's CPU with its atomic instructions
// (libfabric's ofi_atomic handlers, built on __atomic). A thread at the home may
// then update the word with a CPU atomic and stay atomic with peers' operations.
// NIC-executed atomics (verbs, efa, cxi, ...) are not atomic with CPU ones.
bool atomics_run_on_host_cpu(const std::string& prov_name);

}  // namespace dstd::rt
