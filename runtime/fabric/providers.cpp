// Provider discovery, kept apart from the transport so dstdrun can check a provider
// before starting any node without linking the node runtime.
#include <cctype>
#include <rdma/fabric.h>

#include <cstring>
#include <set>
#include <string>

#include "fabric/transport.hpp"

namespace dstd::rt {

fi_info* rdm_hints(const std::string& provider, bool atomics) {
  fi_info* h = fi_allocinfo();
  h->ep_attr->type = FI_EP_RDM;
  h->caps = FI_MSG | FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE | (atomics ? FI_ATOMIC : 0);
  h->mode = FI_CONTEXT | FI_CONTEXT2;
  // Every MR mode the transport honours; the provider returns the ones it needs.
  h->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY | FI_MR_ENDPOINT;
  h->domain_attr->threading = FI_THREAD_SAFE;
  if (!provider.empty()) h->fabric_attr->prov_name = strdup(provider.c_str());
  return h;
}

std::string available_providers() {
  fi_info* hints = rdm_hints("", false);
  fi_info* info = nullptr;
  std::set<std::string> names;
  if (fi_getinfo(FI_VERSION(1, 17), nullptr, nullptr, 0, hints, &info) == 0) {
    for (fi_info* i = info; i; i = i->next) names.insert(i->fabric_attr->prov_name);
    fi_freeinfo(info);
  }
  fi_freeinfo(hints);
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

bool provider_available(const std::string& provider) {
  fi_info* hints = rdm_hints(provider, false);
  fi_info* info = nullptr;
  int rc = fi_getinfo(FI_VERSION(1, 17), nullptr, nullptr, 0, hints, &info);
  fi_freeinfo(hints);
  if (info) fi_freeinfo(info);
  return rc == 0;
}

bool atomics_run_on_host_cpu(const std::string& prov_name) {
  // Core providers that move bytes with the CPU and apply atomics in their progress
  // engine; ofi_rxm and ofi_rxd over them emulate atomics with messages, which the
  // target applies the same way.
  static const std::set<std::string> software = {"shm", "tcp", "udp", "sockets", "tcp;ofi_rxm", "udp;ofi_rxd",
                                                 "sockets;ofi_rxm"};
  return software.count(prov_name) != 0;
}

namespace {
// Keeps [A-Za-z0-9._] of a job id (a PMIx namespace may hold other characters).
std::string sanitized(const std::string& id) {
  std::string out;
  for (char c : id)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_') out += c;
  return out.substr(0, 64);
}
}  // namespace

std::string shm_region_name(const std::string& job_id, node_t rank, int lane) {
  return "dstd-" + sanitized(job_id) + "-" + std::to_string(rank) + (lane ? "." + std::to_string(lane) : "");
}

std::string doorbell_name(const std::string& job_id) { return "dstd-bell-" + sanitized(job_id); }

std::string dstdrun_job_id(const std::string& bootstrap_path) {
  // /tmp/dstdrun.XXXXXX/bootstrap.sock -> dstdrun.XXXXXX
  const auto slash = bootstrap_path.rfind('/');
  const std::string dir = slash == std::string::npos ? bootstrap_path : bootstrap_path.substr(0, slash);
  const auto prev = dir.rfind('/');
  return prev == std::string::npos ? dir : dir.substr(prev + 1);
}

}  // namespace dstd::rt
