// The node runtime: the per-process state of a dstd job and its runtime thread.
//
// The runtime thread drives libfabric progress (both default providers progress
// manually: a peer's operation on our memory completes only while we poll), serves
// control messages, sends heartbeats and flushes batched remote frees. It polls
// while busy, keeps polling for DSTD_SPIN_US after its last activity, then sleeps on
// the CQ's wait fd (when the provider has one) plus an eventfd for local wake-ups,
// for at most DSTD_IDLE_WAIT_US. On shm a peer cannot wake a sleeping node, so a
// request that reaches an idle node waits up to DSTD_IDLE_WAIT_US longer (measured
// figures in the README); a busy node answers at polling latency.
//
// This header is internal: the public API is dstd/runtime.hpp, heap.hpp, rma.hpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "dstd/runtime.hpp"
#include "messages.hpp"

namespace dstd::rt {

class transport;

// Brings the node up (heap, bootstrap, fabric, runtime thread). Called once from
// the program entry before main.
void start(int argc, char** argv);
// Node 0: orderly job shutdown after main returns. Others: wait for it. Idempotent.
void finish() noexcept;
// Non-zero nodes: blocks until node 0 ends the job.
void serve_until_shutdown();

bool multi_node() noexcept;  // false in a 1-node job (no fabric at all)
transport& fabric();
void check_node(node_t node);  // throws std::invalid_argument for ids outside the job

// Sends a request and blocks for its reply; returns the reply payload size.
std::size_t request(node_t node, msg type, const void* payload, std::size_t len, void* out,
                    std::size_t cap);
// Queues a free (deleter == 0) or destroy of `addr` at its home `node`.
void queue_remote_free(node_t node, std::uint64_t deleter, std::uint64_t addr, std::uint64_t count = 0);
// Sends every queued remote free and waits until the homes have run them. Returns
// how many frees/destroys it sent.
std::size_t flush_remote_frees();
// Remote frees/destroys this node has ever queued (flush_all's quiescence test).
std::uint64_t frees_queued() noexcept;

// ---- synchronization objects (src/sync) ----
// The library's handler for msg::sync / msg::sync_post. It runs on the progress
// thread for remote requests and on the caller's thread for local ones, so it must
// never block. A sync request is completed (now or later) with complete_sync().
using sync_handler = void (*)(node_t src, std::uint64_t cookie, const void* payload, std::size_t len);
void set_sync_handler(sync_handler h);
// Sends a sync request to `home` (or runs the handler here) and blocks until it is
// completed; returns the reply size. Throws for a status != 0 reply.
std::size_t sync_request(node_t home, const void* payload, std::size_t len, void* out, std::size_t cap);
// One-way: the handler runs at `home`, nothing comes back.
void sync_post(node_t home, const void* payload, std::size_t len);
// Completes a parked sync request of `src` (a reply, or a local wake-up).
void complete_sync(node_t src, std::uint64_t cookie, const void* data, std::size_t len, std::uint16_t status = 0);

// ---- threads (src/sync/thread.cpp) ----
// Runs trampoline fn(args) on a worker at `node`, asynchronously; when it ends,
// on_thread_done(record, status) runs here (on the progress thread, or a worker).
using thread_done_fn = void (*)(std::uint64_t record, std::uint16_t status);
void set_thread_done_handler(thread_done_fn h);
// Returns the thread's id (unique in the job; this_thread::get_id() inside it).
std::uint64_t spawn(node_t node, detail::trampoline_fn fn, std::uint64_t record, const void* args, std::size_t len);
int running_threads() noexcept;  // dstd::threads running on this node now
// Blocks until `flag` is non-zero (set by a handler), driving progress meanwhile.
void wait_nonzero(std::atomic<int>& flag);
std::uint32_t local_cores() noexcept;
// Node 0 only: picks a node for a new thread from the load reports.
node_t controller_place(bool round_robin);
// Hardware threads of the whole job (asks node 0).
unsigned total_cores();

// Counters of the runtime itself (messages and RMA), printed with DSTD_STATS=1.
using counters = traffic_stats;
counters read_counters() noexcept;
void count_rma(bool write, std::size_t bytes) noexcept;
void count_atomic() noexcept;

}  // namespace dstd::rt
