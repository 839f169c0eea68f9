// Provider discovery, kept apart from the transport so dstdrun can check a provider
// before starting any node without linking the node runtime.
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

}  // namespace dstd::rt
