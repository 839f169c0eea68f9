// Control messages between node runtimes (the active-message layer).
//
// Every message is a header followed by a payload. Requests carry a cookie (the
// address of the requester's pending_reply, meaningful only on the requester) that
// the reply echoes. One-way messages (frees, heartbeats) carry cookie 0.
#pragma once

#include <cstdint>

namespace dstd::rt {

enum class msg : std::uint16_t {
  reply = 1,      // payload: result bytes (status 0) or error text (status 1)
  call,           // u64 trampoline address, then argument bytes; runs on a worker
  alloc,          // u64 bytes, u64 alignment -> u64 address (0: partition full)
  free_batch,     // n x {u64 deleter or 0, u64 address}; one-way
  flush,          // u64 batches the requester sent us -> empty reply once all are done
  atomic,         // {u64 op, u64 address, u64 a, u64 b} -> u64 previous value
  heartbeat,      // one-way
  shutdown,       // node 0 -> others: reply, then leave
  abort,          // node 0 -> others: u32 lost node; one-way, then exit
  ping,           // payload echoed back in the reply, by the runtime itself (AM round trip)
  sync,           // a synchronization operation on an object homed here; the reply may be parked
  sync_post,      // the same, one-way (unlock, notify, release)
  spawn,          // u64 trampoline, u64 thread record on the spawner, then argument bytes; one-way
  thread_done,    // u64 thread record; status 0, or 1 when the thread ended by an exception
};

struct msg_header {
  msg type;
  std::uint16_t status;
  std::uint32_t src;
  std::uint64_t cookie;
};
static_assert(sizeof(msg_header) == 16);

struct free_entry {
  std::uint64_t deleter;  // 0: plain deallocate
  std::uint64_t addr;
  std::uint64_t count;    // 0: deleter is a heap::deleter_fn; else an array_deleter_fn over `count` elements
};

enum class atomic_op : std::uint64_t { fetch_add = 1, compare_swap = 2 };
struct atomic_request {
  atomic_op op;
  std::uint64_t addr, a, b;
};

}  // namespace dstd::rt
