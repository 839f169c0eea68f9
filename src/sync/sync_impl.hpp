// Internal glue between the node runtime and dstd's synchronization objects.
#pragma once

#include <cstdint>

namespace dstd::detail {

// Registers the home-side handler of synchronization operations and the handler
// of thread completions with the runtime. Called once at start-up.
void install_sync_handler();
void install_thread_handler();
// Sets the id this OS thread reports as dstd::this_thread::get_id() (the runtime
// sets it while a worker runs a dstd::thread; 0 gives the OS thread its own id).
void set_current_thread_id(std::uint64_t id) noexcept;
// A channel's home revokes this node's lease `gen` on channel `obj`
// (channel_leases.cpp): later sends go back to round trips, and the home is told how
// many items were sent under the lease.
void revoke_channel_lease(std::uint64_t obj, std::uint64_t gen);

}  // namespace dstd::detail
