// dstd/rma.hpp — raw one-sided access to any node's heap partition.
//
// These are the physical operations every dstd type is built from, exposed for
// benchmarks, tests and libraries that want to manage remote bytes themselves. The
// node is implied by the address (heap::home). There is no caching or coherence at
// this level: a read returns whatever the home's memory holds when the NIC (or the
// shm provider) copies it. Ranges are bounds-checked against the home partition
// before anything is posted (an out-of-range RMA would tear down a tcp connection):
// a bad range throws std::out_of_range.
//
// Atomics operate on 8-byte aligned 64-bit words. They use the provider's native
// FI_ATOMIC where it has one (shm) and are executed by the home node's runtime
// otherwise (tcp;ofi_rxm in libfabric 1.17). Do not mix them with plain CPU atomics
// on the same word.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dstd::rma {

void read(void* local_dst, const void* global_src, std::size_t bytes);
void write(void* global_dst, const void* local_src, std::size_t bytes);

std::uint64_t fetch_add(std::uint64_t* global_word, std::uint64_t value);
// Returns the previous value; the swap happened iff it equals `expected`.
std::uint64_t compare_swap(std::uint64_t* global_word, std::uint64_t expected, std::uint64_t desired);

// True when atomics are native fabric atomics rather than executed at home.
bool native_atomics() noexcept;
// The libfabric provider in use ("none" in a 1-node job without fabric).
const char* provider_name() noexcept;

}  // namespace dstd::rma
