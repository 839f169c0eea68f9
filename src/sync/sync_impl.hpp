// Internal glue between the node runtime and dstd's synchronization objects.
#pragma once

#include <cstdint>

namespace dstd::detail {

// Registers the home-side handler of synchronization operations and the handler
// of thread completions with the runtime. Called once at start-up.
void install_sync_handler();
void install_thread_handler();
// The id of the dstd::thread running on this OS thread (0: none yet; see
// current_thread_id()).
extern thread_local std::uint64_t t_thread_id;

}  // namespace dstd::detail
