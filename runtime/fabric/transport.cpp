#include "fabric/transport.hpp"

#include <sys/mman.h>

#include <rdma/fi_atomic.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "fabric/doorbell.hpp"
#include "dstd/settings.hpp"
#include "heap/partition.hpp"

#include "common/tsan.hpp"
namespace dstd::rt {
namespace {

constexpr std::uint32_t kFiVersion = FI_VERSION(1, 17);

std::string fi_err(int rc) { return std::string(fi_strerror(rc < 0 ? -rc : rc)); }

[[noreturn]] void fail(const char* call, int rc) {
  throw std::runtime_error(std::string("dstd: libfabric ") + call + " failed: " + fi_err(rc));
}

// No message ordering is requested: flush() counts batches instead of relying on it.
fi_info* query(const std::string& provider, bool atomics) {
  fi_info* hints = rdm_hints(provider, atomics);
  fi_info* info = nullptr;
  int rc = fi_getinfo(kFiVersion, nullptr, nullptr, 0, hints, &info);
  fi_freeinfo(hints);
  return rc == 0 ? info : nullptr;
}

// Completions read by a progress() call nested inside a message handler wait here
// for the outermost call, so handlers never re-enter each other.
// Leaked on purpose: detached worker threads may still progress during static destruction.
std::mutex& g_deferred_mu = *new std::mutex;
std::vector<std::pair<op_ctx*, std::size_t>>& g_deferred = *new std::vector<std::pair<op_ctx*, std::size_t>>;
std::atomic<bool> g_has_deferred{false};
thread_local int t_depth = 0;

struct depth_guard {
  depth_guard() { ++t_depth; }
  ~depth_guard() { --t_depth; }
};

// Rings a peer that a thread waits on at most every 100 us (see wait() and
// post_retry()): one shared-cache-line load while the peer is awake.
class rering {
 public:
  // `now`: the first call may ring at once; otherwise only 100 us from now.
  rering(doorbell* bell, node_t node, bool now)
      : bell_(bell),
        node_(node),
        next_(now || !bell ? std::chrono::steady_clock::time_point::min()
                           : std::chrono::steady_clock::now() + kPeriod) {}
  void operator()() {
    if (!bell_) return;
    const auto t = std::chrono::steady_clock::now();
    if (t < next_) return;
    bell_->ring(node_);
    next_ = t + kPeriod;
  }

 private:
  static constexpr auto kPeriod = std::chrono::microseconds(100);
  doorbell* bell_;
  node_t node_;
  std::chrono::steady_clock::time_point next_;
};

// Blocks of a send whose completion is pending: the message bytes follow the ctx.
struct send_block {
  op_ctx ctx;
  alignas(16) unsigned char data[1];
};

}  // namespace

template <class Post>
long transport::post_retry(node_t node, Post&& post) {
  long rc;
  unsigned tries = 0;
  auto start = std::chrono::steady_clock::now();
  // The peer may have to poll before it takes more: over shm, its command queue is
  // full, or it has not yet answered our endpoint's first contact. Ring it now and
  // then every 100 us while it does not.
  rering ring(bell_, node, /*now=*/true);
  while ((rc = static_cast<long>(post())) == -FI_EAGAIN) {
    if ((tries & 63) == 0) ring();
    {
      depth_guard nested;  // received messages wait for an outermost progress() call
      progress();
    }
    if ((++tries & 1023) == 0 &&
        std::chrono::steady_clock::now() - start > std::chrono::milliseconds(post_timeout_ms_))
      throw std::runtime_error("dstd: node " + std::to_string(node) + " has accepted no operation for " +
                               std::to_string(post_timeout_ms_) + " ms (is it stopped?)");
  }
  return rc;
}

void transport::open(const std::string& provider, node_t self, node_t nodes, const std::string& job_id) {
  post_timeout_ms_ = settings::get_int("DSTD_NODE_TIMEOUT_MS");
  provider_ = provider;
  sends_to_ = std::make_unique<std::atomic<int>[]>(nodes);
  self_ = self;
  nodes_ = nodes;
  info_ = settings::get_bool("DSTD_NATIVE_ATOMICS") ? query(provider, true) : nullptr;
  native_atomics_ = info_ != nullptr;
  if (!info_) info_ = query(provider, false);
  if (!info_)
    throw std::runtime_error("dstd: libfabric provider '" + provider +
                             "' is not available here (available: " + available_providers() + ")");
  mr_mode_ = info_->domain_attr->mr_mode;
  inject_size_ = info_->tx_attr->inject_size;

  int rc;
  if ((rc = fi_fabric(info_->fabric_attr, &fabric_, nullptr))) fail("fi_fabric", rc);
  if ((rc = fi_domain(fabric_, info_, &domain_, nullptr))) fail("fi_domain", rc);

  if (native_atomics_) {
    // The provider claims FI_ATOMIC; check the two operations we use on 64-bit words.
    fi_atomic_attr attr{};
    native_atomics_ = fi_query_atomic(domain_, FI_UINT64, FI_SUM, &attr, FI_FETCH_ATOMIC) == 0 &&
                      fi_query_atomic(domain_, FI_UINT64, FI_CSWAP, &attr, FI_COMPARE_ATOMIC) == 0;
    host_cpu_atomics_ = native_atomics_ && atomics_run_on_host_cpu(info_->fabric_attr->prov_name);
  }

  fi_cq_attr cq_attr{};
  cq_attr.format = FI_CQ_FORMAT_MSG;
  cq_attr.size = 4096;
  cq_attr.wait_obj = FI_WAIT_FD;
  if (fi_cq_open(domain_, &cq_attr, &cq_, nullptr) != 0) {
    cq_attr.wait_obj = FI_WAIT_NONE;
    if ((rc = fi_cq_open(domain_, &cq_attr, &cq_, nullptr))) fail("fi_cq_open", rc);
  } else if (fi_control(&cq_->fid, FI_GETWAIT, &wait_fd_) != 0) {
    wait_fd_ = -1;
  }

  const bool shm = std::string(info_->fabric_attr->prov_name) == "shm";
  // The copy lane: see stripes.hpp. Only where copies run in the posting thread (shm)
  // and one memory registration serves both endpoints.
  // shm 1.17 addresses at most 256 peers per endpoint (SMR_MAX_PEERS), and with lanes
  // the address vector holds two per node.
  constexpr node_t kShmMaxPeers = 256;
  stripe_min_ = shm && !(mr_mode_ & FI_MR_ENDPOINT) && 2 * nodes <= kShmMaxPeers
                    ? settings::get_size("DSTD_STRIPE_MIN")
                    : 0;
  // Pieces are whole pages: a striped read is at least two of them.
  if (stripe_min_) stripe_min_ = std::max<std::size_t>(stripe_min_, 2 * 4096);

  fi_av_attr av_attr{};
  av_attr.type = FI_AV_TABLE;
  av_attr.count = stripe_min_ ? 2 * nodes : nodes;
  if ((rc = fi_av_open(domain_, &av_attr, &av_, nullptr))) fail("fi_av_open", rc);
  // Left to itself shm names its region after the pid; we never close the endpoint
  // (detached workers may use it until exit), so that file would outlive the job and
  // a later process with the same pid could not start. A job-scoped name is unlinked
  // once every peer has mapped it (end of start-up), and by dstdrun if a node dies
  // before that.
  if (shm) region_ = shm_region_name(job_id, self);
  ep_ = open_endpoint(region_);
  if (stripe_min_) {
    lane_region_ = shm_region_name(job_id, self, 1);
    lane_ep_ = open_endpoint(lane_region_);
  }
}

fid_ep* transport::open_endpoint(const std::string& shm_name) {
  fid_ep* ep = nullptr;
  int rc;
  if ((rc = fi_endpoint(domain_, info_, &ep, nullptr))) fail("fi_endpoint", rc);
  if ((rc = fi_ep_bind(ep, &av_->fid, 0))) fail("fi_ep_bind(av)", rc);
  if ((rc = fi_ep_bind(ep, &cq_->fid, FI_TRANSMIT | FI_RECV))) fail("fi_ep_bind(cq)", rc);
  if (!shm_name.empty()) {
    ::shm_unlink(shm_name.c_str());  // a leftover of a killed job with this id
    if ((rc = fi_setname(&ep->fid, const_cast<char*>(shm_name.c_str()), shm_name.size() + 1)))
      fail("fi_setname", rc);
  }
  if ((rc = fi_enable(ep))) fail("fi_enable", rc);
  return ep;
}

void transport::unlink_region() noexcept {
  if (!region_.empty()) ::shm_unlink(region_.c_str());
  if (!lane_region_.empty()) ::shm_unlink(lane_region_.c_str());
}

void transport::register_heap(void* base, std::size_t len) {
  std::uint64_t access = FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE | FI_SEND | FI_RECV;
  // Without FI_MR_PROV_KEY we choose the key; one region per domain, so any value works.
  int rc = fi_mr_reg(domain_, base, len, access, 0, /*requested_key*/ self_ + 1, 0, &heap_mr_, nullptr);
  if (rc) fail("fi_mr_reg(heap partition)", rc);
  if (mr_mode_ & FI_MR_ENDPOINT) {
    if ((rc = fi_mr_bind(heap_mr_, &ep_->fid, 0))) fail("fi_mr_bind", rc);
    if ((rc = fi_mr_enable(heap_mr_))) fail("fi_mr_enable", rc);
  }
  heap_desc_ = fi_mr_desc(heap_mr_);
  heap_lo_ = reinterpret_cast<std::uintptr_t>(base);
  heap_hi_ = heap_lo_ + len;
}

void transport::post_receives(int count, std::size_t size, message_handler on_message) {
  on_message_ = on_message;
  recv_size_ = size;
  for (int i = 0; i < count; ++i) {
    void* mem = heap_impl::alloc_internal(sizeof(send_block) + size, 64);
    if (!mem) throw std::bad_alloc();
    auto* blk = new (mem) send_block;
    blk->ctx.k = op_ctx::kind::recv;
    repost(&blk->ctx);
  }
}

void transport::repost(op_ctx* ctx) {
  auto* blk = reinterpret_cast<send_block*>(ctx);
  long rc = post_retry(self_, [&] { return fi_recv(ep_, blk->data, recv_size_, heap_desc_, FI_ADDR_UNSPEC, &ctx->fi); });
  if (rc) fail("fi_recv", static_cast<int>(rc));
}

namespace {
std::vector<std::uint8_t> endpoint_name(fid_ep* ep) {
  std::size_t len = 256;
  std::vector<std::uint8_t> name(len);
  int rc = fi_getname(&ep->fid, name.data(), &len);
  if (rc == -FI_ETOOSMALL) {
    name.resize(len);
    rc = fi_getname(&ep->fid, name.data(), &len);
  }
  if (rc) fail("fi_getname", rc);
  name.resize(len);
  return name;
}
}  // namespace

peer_address transport::self_address() const {
  peer_address a;
  a.name = endpoint_name(ep_);
  if (lane_ep_) a.lane_name = endpoint_name(lane_ep_);
  a.key = fi_mr_key(heap_mr_);
  a.heap_begin = heap_lo_;
  return a;
}

void transport::connect(const std::vector<peer_address>& peers) {
  fi_addr_.assign(peers.size(), FI_ADDR_NOTAVAIL);
  lane_addr_.assign(peers.size(), FI_ADDR_NOTAVAIL);
  peer_key_.resize(peers.size());
  peer_base_.resize(peers.size());
  for (std::size_t r = 0; r < peers.size(); ++r) {
    fi_addr_t a;
    int n = fi_av_insert(av_, peers[r].name.data(), 1, &a, 0, nullptr);
    if (n != 1) fail("fi_av_insert", n < 0 ? n : -FI_EINVAL);
    fi_addr_[r] = a;
    if (lane_ep_ && !peers[r].lane_name.empty()) {
      if ((n = fi_av_insert(av_, peers[r].lane_name.data(), 1, &a, 0, nullptr)) != 1)
        fail("fi_av_insert(copy lane)", n < 0 ? n : -FI_EINVAL);
      lane_addr_[r] = a;
    }
    peer_key_[r] = peers[r].key;
    peer_base_[r] = peers[r].heap_begin;
  }
}


void* transport::desc_for(const void* local, std::size_t len, fid_mr** temp) {
  *temp = nullptr;
  if (!(mr_mode_ & FI_MR_LOCAL)) return nullptr;
  auto a = reinterpret_cast<std::uintptr_t>(local);
  if (a >= heap_lo_ && a + len <= heap_hi_) return heap_desc_;
  // Slow path for providers that need local registration of non-heap buffers.
  int rc = fi_mr_reg(domain_, local, len, FI_READ | FI_WRITE | FI_SEND | FI_RECV, 0, 0, 0, temp, nullptr);
  if (rc) fail("fi_mr_reg(local buffer)", rc);
  if (mr_mode_ & FI_MR_ENDPOINT) {
    fi_mr_bind(*temp, &ep_->fid, 0);
    fi_mr_enable(*temp);
  }
  return fi_mr_desc(*temp);
}

namespace {
inline std::uint64_t remote_addr(std::uint64_t mr_mode, std::uint64_t raddr, std::uint64_t base) {
  return (mr_mode & FI_MR_VIRT_ADDR) ? raddr : raddr - base;
}
}  // namespace

void transport::read(node_t node, void* dst, std::uint64_t raddr, std::size_t len, bool may_stripe) {
  if (may_stripe && stripes_to(node, len)) return striped_read(node, dst, raddr, len);
  rma(0, false, node, dst, raddr, len, true);
}

// Writes are not striped: shm copies a delivery-complete write in the *target's*
// progress (its fast path, a copy in the posting thread, is for transmit-complete
// only), so a second lane adds no copying thread. Measured: 12.2 against 12.4 ms
// for 64 MiB, and slower below 8 MiB.
void transport::write(node_t node, const void* src, std::uint64_t raddr, std::size_t len) {
  rma(0, true, node, const_cast<void*>(src), raddr, len, true);
}

bool transport::stripes_to(node_t node, std::size_t len) const {
  return stripe_min_ && len >= stripe_min_ && lane_addr_[node] != FI_ADDR_NOTAVAIL;
}

void transport::striped_read(node_t node, void* local, std::uint64_t raddr, std::size_t len) {
  // Pieces of at most 2 MiB, at least two: small enough that a helper waking late
  // still finds work, large enough that the per-piece post and completion stay
  // under 1% of the copy.
  constexpr std::size_t kMaxPiece = std::size_t{2} << 20, kPage = 4096;
  const std::size_t piece = std::clamp((len / 2 + kPage - 1) / kPage * kPage, kPage, kMaxPiece);
  struct piece_args {
    transport* t;
    node_t node;
    char* local;
    std::uint64_t raddr;
  } args{this, node, static_cast<char*>(local), raddr};
  striper_.share(len, piece, [](void* p, int lane, std::size_t off, std::size_t n) {
    auto& a = *static_cast<piece_args*>(p);
    // No ring after each piece: over shm the copy is done when the post returns, and
    // a peer woken now would spin on its region lock, which our next piece holds.
    // post_retry() rings it if it must poll before taking more (its command queue is
    // full, or the first contact between two endpoints awaits its answer).
    a.t->rma(lane, false, a.node, a.local + off, a.raddr + off, n, false);
  }, &args);
  // Every shm read leaves a command in the peer's queue that only its own progress
  // retires (1024 slots): let it catch up now that no piece holds its lock.
  if (bell_) bell_->ring(node);
}

void transport::rma(int lane, bool write, node_t node, void* local, std::uint64_t raddr, std::size_t len,
                    bool ring) {
  fid_ep* ep = lane ? lane_ep_ : ep_;
  const fi_addr_t dest = lane ? lane_addr_[node] : fi_addr_[node];
  op_ctx ctx;
  ctx.peer = node;
  fid_mr* temp;
  void* desc = desc_for(local, len, &temp);
  struct close_temp {  // also when posting or waiting throws
    fid_mr* mr;
    ~close_temp() {
      if (mr) fi_close(&mr->fid);
    }
  } closing{temp};
  long rc;
  if (!write) {
    rc = post_retry(node, [&] {
      return fi_read(ep, local, len, desc, dest, remote_addr(mr_mode_, raddr, peer_base_[node]), peer_key_[node],
                     &ctx.fi);
    });
    if (rc) fail("fi_read", static_cast<int>(rc));
  } else {
    // Delivery complete: the write is in the target's memory when it completes. The
    // default (transmit complete) lets tcp report a write that is still in flight, so
    // a message sent afterwards (an unlock, to any node) could overtake it.
    iovec iov{local, len};
    fi_rma_iov rma{remote_addr(mr_mode_, raddr, peer_base_[node]), len, peer_key_[node]};
    fi_msg_rma m{};
    m.msg_iov = &iov;
    m.desc = &desc;
    m.iov_count = 1;
    m.addr = dest;
    m.rma_iov = &rma;
    m.rma_iov_count = 1;
    m.context = &ctx.fi;
    rc = post_retry(node, [&] { return fi_writemsg(ep, &m, FI_COMPLETION | FI_DELIVERY_COMPLETE); });
    if (rc) fail("fi_writemsg", static_cast<int>(rc));
  }
  if (ring && bell_) bell_->ring(node);
  wait(ctx);
}

namespace {
// Operand/compare/result words of an atomic live in the registered heap so they
// have a descriptor under FI_MR_LOCAL.
struct atomic_scratch {
  std::uint64_t* w = nullptr;
  atomic_scratch() {
    w = static_cast<std::uint64_t*>(heap_impl::alloc_internal(3 * sizeof(std::uint64_t), 64));
    if (!w) throw std::bad_alloc();
  }
  ~atomic_scratch() { heap_impl::free_internal(w); }
  atomic_scratch(const atomic_scratch&) = delete;
  atomic_scratch& operator=(const atomic_scratch&) = delete;
};
std::uint64_t* scratch_words() {
  thread_local atomic_scratch s;
  return s.w;
}
}  // namespace

std::uint64_t transport::fetch_add(node_t node, std::uint64_t raddr, std::uint64_t v) {
  std::uint64_t* w = scratch_words();
  w[0] = v;
  op_ctx ctx;
  ctx.peer = node;
  long rc = post_retry(node, [&] {
    return fi_fetch_atomic(ep_, &w[0], 1, heap_desc_, &w[2], heap_desc_, fi_addr_[node],
                           remote_addr(mr_mode_, raddr, peer_base_[node]), peer_key_[node], FI_UINT64, FI_SUM,
                           &ctx.fi);
  });
  if (rc) fail("fi_fetch_atomic", static_cast<int>(rc));
  if (bell_) bell_->ring(node);
  wait(ctx);
  return w[2];
}

std::uint64_t transport::compare_swap(node_t node, std::uint64_t raddr, std::uint64_t expected,
                                      std::uint64_t desired) {
  std::uint64_t* w = scratch_words();
  w[0] = desired;
  w[1] = expected;
  op_ctx ctx;
  ctx.peer = node;
  long rc = post_retry(node, [&] {
    return fi_compare_atomic(ep_, &w[0], 1, heap_desc_, &w[1], heap_desc_, &w[2], heap_desc_, fi_addr_[node],
                             remote_addr(mr_mode_, raddr, peer_base_[node]), peer_key_[node], FI_UINT64,
                             FI_CSWAP, &ctx.fi);
  });
  if (rc) fail("fi_compare_atomic", static_cast<int>(rc));
  if (bell_) bell_->ring(node);
  wait(ctx);
  return w[2];
}

void transport::send(node_t node, const void* buf, std::size_t len) { send2(node, buf, len, nullptr, 0); }

namespace {
// Any message received may be the consequence of any message sent before it (through
// other nodes), so for TSan every send releases and every receive acquires this.
[[maybe_unused]] char g_message_order;
}  // namespace

void transport::send2(node_t node, const void* a, std::size_t alen, const void* b, std::size_t blen) {
  DSTD_TSAN_RELEASE(&g_message_order);
  const std::size_t len = alen + blen;
  if (len > recv_size_)
    throw std::length_error("dstd: control message of " + std::to_string(len) + " bytes exceeds DSTD_AM_BUFFER_SIZE");
  long rc;
  alignas(16) unsigned char tmp[4096];
  if (len <= std::min(inject_size_, sizeof tmp)) {
    // Injected sends complete immediately and generate no completion.
    std::memcpy(tmp, a, alen);
    if (blen) std::memcpy(tmp + alen, b, blen);
    rc = post_retry(node, [&] { return fi_inject(ep_, tmp, len, fi_addr_[node]); });
    if (rc) fail("fi_inject", static_cast<int>(rc));
    if (bell_) bell_->ring(node);
    return;
  }
  void* mem = heap_impl::alloc_internal(sizeof(send_block) + len, 64);
  if (!mem) throw std::bad_alloc();
  auto* blk = new (mem) send_block;
  blk->ctx.k = op_ctx::kind::send;
  blk->ctx.peer = node;
  std::memcpy(blk->data, a, alen);
  if (blen) std::memcpy(blk->data + alen, b, blen);
  // Counted before the post: another thread's progress() may reap the completion
  // before post_retry returns.
  sends_in_flight_.fetch_add(1, std::memory_order_relaxed);
  sends_to_[node].fetch_add(1, std::memory_order_relaxed);
  try {
    rc = post_retry(node, [&] { return fi_send(ep_, blk->data, len, heap_desc_, fi_addr_[node], &blk->ctx.fi); });
  } catch (...) {
    release_send(&blk->ctx);
    throw;
  }
  if (rc) {
    release_send(&blk->ctx);
    fail("fi_send", static_cast<int>(rc));
  }
  if (bell_) {
    bell_->ring(node);
    // A worker's send may need this node to poll until it completes (sends_in_flight);
    // wake this node's runtime if it sleeps (one load when it is awake).
    bell_->ring(self_);
  }
}

void transport::release_send(op_ctx* ctx) noexcept {
  sends_to_[ctx->peer].fetch_sub(1, std::memory_order_relaxed);
  sends_in_flight_.fetch_sub(1, std::memory_order_relaxed);
  heap_impl::free_internal(ctx);
}

void transport::fail_op(op_ctx* ctx, int err) {
  switch (ctx->k) {
    case op_ctx::kind::rma:
      ctx->err = err;
      ctx->state.store(-1, std::memory_order_release);
      break;
    case op_ctx::kind::send: {
      // The message is lost: let the runtime fail whoever waits for its reply.
      auto* blk = reinterpret_cast<send_block*>(ctx);
      struct release_after {  // even if the handler throws
        transport* t;
        op_ctx* c;
        ~release_after() { t->release_send(c); }
      } release{this, ctx};
      if (on_send_failure_) on_send_failure_(blk->data, 0, ctx->peer, err);
      break;
    }
    case op_ctx::kind::recv:
      if (err != FI_ECANCELED) repost(ctx);
      break;
  }
}

void transport::dispatch_recv(op_ctx* ctx, std::size_t len) {
  auto* blk = reinterpret_cast<send_block*>(ctx);
  DSTD_TSAN_ACQUIRE(&g_message_order);
  try {
    on_message_(blk->data, len);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dstd[node %u]: control message dropped: %s\n", self_, e.what());
  }
  repost(ctx);  // always: a lost receive buffer would starve the endpoint
}

int transport::progress() {
  fi_cq_msg_entry entries[16];
  ssize_t n = fi_cq_read(cq_, entries, 16);
  int handled = 0;
  if (n == -FI_EAVAIL) {
    fi_cq_err_entry e{};
    if (fi_cq_readerr(cq_, &e, 0) > 0 && e.op_context) {
      fail_op(static_cast<op_ctx*>(e.op_context), e.err);
      ++handled;
    }
  } else if (n < 0 && n != -FI_EAGAIN) {
    fail("fi_cq_read", static_cast<int>(n));
  } else if (n > 0) {
    depth_guard depth;
    for (ssize_t i = 0; i < n; ++i) {
      auto* ctx = static_cast<op_ctx*>(entries[i].op_context);
      switch (ctx->k) {
        case op_ctx::kind::rma:
          ctx->state.store(1, std::memory_order_release);
          break;
        case op_ctx::kind::send:
          release_send(ctx);
          break;
        case op_ctx::kind::recv:
          if (t_depth > 1) {
            std::lock_guard lk(g_deferred_mu);
            g_deferred.emplace_back(ctx, entries[i].len);
            g_has_deferred.store(true, std::memory_order_release);
          } else {
            dispatch_recv(ctx, entries[i].len);
          }
          break;
      }
    }
    handled = static_cast<int>(n);
  }
  if (t_depth == 0 && g_has_deferred.load(std::memory_order_acquire)) {
    std::vector<std::pair<op_ctx*, std::size_t>> todo;
    {
      std::lock_guard lk(g_deferred_mu);
      todo.swap(g_deferred);
      g_has_deferred.store(false, std::memory_order_release);
    }
    depth_guard depth;
    for (auto& [ctx, len] : todo) {
      dispatch_recv(ctx, len);
      ++handled;
    }
  }
  return handled;
}

void transport::wait(op_ctx& ctx) {
  pollers::waiting waiting(pollers_);
  pollers::spinning polling(pollers_);
  // An operation may need the peer to poll more than once: over tcp, the data of a
  // large read leaves the home as fast as the socket takes it, one progress call at a
  // time. The ring after the post woke the peer once; it goes back to sleep on the
  // doorbell after DSTD_SPIN_US without activity, and a socket becoming writable does
  // not ring it. So ring it again every 100 us of waiting (one shared-cache-line load
  // while it is awake). Measured: BM_fabric_read/67108864 over tcp on one host took
  // 24-999 ms, mostly 60-200 ms, without this, and a steady 27-36 ms with it.
  rering ring(bell_, ctx.peer, /*now=*/false);  // the post rang it once
  unsigned spins = 0;
  while (ctx.state.load(std::memory_order_acquire) == 0) {
    if (progress() == 0 && ++spins > 64) {
      sched_yield();
      ring();
    }
  }
  if (ctx.state.load() < 0)
    throw std::runtime_error("dstd: fabric operation on node " + std::to_string(ctx.peer) +
                             " failed: " + fi_err(ctx.err));
}

void transport::ring_receivers_of_sends_in_flight() noexcept {
  if (!bell_) return;
  for (node_t r = 0; r < nodes_; ++r)
    if (sends_to_[r].load(std::memory_order_relaxed) > 0) bell_->ring(r);
}

bool transport::trywait() {
  fid* fids[1] = {&cq_->fid};
  return wait_fd_ >= 0 && fi_trywait(fabric_, fids, 1) == FI_SUCCESS;
}

}  // namespace dstd::rt
