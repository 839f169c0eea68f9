// How the nodes of a job find each other at start-up.
//
// A bootstrap only exchanges small blobs (endpoint names, memory keys, layout
// checks) and provides barriers; all later traffic goes over libfabric. Three kinds:
//  - single: no launcher, a 1-node job;
//  - local:  started by dstdrun, which serves a Unix socket (DSTD_BOOTSTRAP);
//  - pmix:   started by mpirun / srun --mpi=pmix (PMIx_Put/Commit/Fence/Get).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dstd/runtime.hpp"

namespace dstd::rt {

using blob = std::vector<std::uint8_t>;

class bootstrap {
 public:
  virtual ~bootstrap() = default;
  virtual const char* kind() const = 0;
  virtual node_t rank() const = 0;
  virtual node_t size() const = 0;
  // A name for this job, identical on every node and different between concurrent
  // jobs on one host: it names the job's files in /dev/shm (see shm_region_name).
  virtual std::string job_id() const = 0;
  // Collective: every node contributes `mine`; returns every node's blob, by rank.
  virtual std::vector<blob> allgather(const blob& mine) = 0;
  virtual void barrier() { allgather({}); }
  // Called once at orderly shutdown, after the last barrier.
  virtual void finalize() {}
};

enum class launcher { none, dstdrun, pmix };
// Looks at the environment: DSTD_BOOTSTRAP (dstdrun), PMIX_RANK/PMIX_NAMESPACE (PMIx).
launcher detect_launcher();

std::unique_ptr<bootstrap> make_single_bootstrap();
std::unique_ptr<bootstrap> make_local_bootstrap();  // throws std::runtime_error on failure
std::unique_ptr<bootstrap> make_pmix_bootstrap();   // throws std::runtime_error on failure

}  // namespace dstd::rt
