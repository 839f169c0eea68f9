// The sending node's side of channel leases (see dstd/channel.hpp; the home's side
// is in home_objects.cpp).
//
// Data model: a node-wide table, channel address -> the lease this node holds on
// it: its generation (the home numbers the leases of a channel) and the next
// sequence number. A send under a lease takes a number under the table's lock and
// posts the item; the home puts a node's items in number order, since several
// threads may post at once and pollers dispatch concurrently. A revoke removes the
// entry and reports the numbers taken, which the home waits for. The revoke can
// overtake the thread installing the grant it revokes (the grant is a reply that
// thread has still to read), so a revoke that finds nothing leaves a tombstone the
// installer finds instead.
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "dstd/sync_object.hpp"
#include "sync/sync_impl.hpp"

namespace dstd::detail {
namespace {

struct lease {
  std::uint64_t gen;
  std::uint64_t next_seq = 0;
};

struct lease_table {
  std::mutex mu;
  std::unordered_map<std::uint64_t, lease> held;
  std::set<std::pair<std::uint64_t, std::uint64_t>> revoked_early;  // (channel, generation)
};
// Leaked on purpose: detached threads may still send during static destruction.
lease_table& g_leases = *new lease_table;

}  // namespace

bool channel_put(std::uint64_t obj, sync_op op, const void* item, std::size_t len) {
  {
    std::unique_lock lk(g_leases.mu);
    if (auto it = g_leases.held.find(obj); it != g_leases.held.end()) {
      const std::uint64_t gen = it->second.gen, seq = it->second.next_seq++;
      lk.unlock();
      sync_post(obj, sync_op::chan_send_leased, gen, seq, item, len);
      return true;
    }
  }
  std::uint8_t reply[9] = {};
  const std::size_t n = sync_call(obj, op, /*ask for a lease*/ 1, 0, item, len, reply, sizeof reply);
  if (n == sizeof reply && reply[0]) {
    std::uint64_t gen;
    std::memcpy(&gen, reply + 1, sizeof gen);
    std::lock_guard lk(g_leases.mu);
    if (g_leases.revoked_early.erase({obj, gen}) == 0) g_leases.held.emplace(obj, lease{gen});
  }
  return reply[0] != 0;
}

void revoke_channel_lease(std::uint64_t obj, std::uint64_t gen) {
  std::uint64_t sent = 0;
  {
    std::lock_guard lk(g_leases.mu);
    auto it = g_leases.held.find(obj);
    if (it != g_leases.held.end() && it->second.gen == gen) {
      sent = it->second.next_seq;
      g_leases.held.erase(it);
    } else {
      g_leases.revoked_early.emplace(obj, gen);
    }
  }
  sync_post(obj, sync_op::chan_lease_ack, gen, sent);
}

}  // namespace dstd::detail
