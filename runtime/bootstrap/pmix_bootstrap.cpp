// PMIx bootstrap: the job was started by mpirun (Open MPI) or srun --mpi=pmix.
//
// allgather() is PMIx_Put + PMIx_Commit + PMIx_Fence(collect data) + PMIx_Get per
// rank. Each call uses its own key ("dstd.ag.<seq>"), so calls never see each
// other's data; every node makes the same calls in the same order, so the
// sequence numbers agree. The key/value store only grows, which is fine for the
// handful of start-up exchanges a bootstrap does.
#include <pmix.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bootstrap.hpp"

namespace dstd::rt {
namespace {

std::string pmix_error(const char* what, pmix_status_t rc) {
  return std::string("dstd: ") + what + " failed: " + PMIx_Error_string(rc);
}

// Owns a pmix_value_t returned by PMIx_Get.
struct value_ptr {
  pmix_value_t* v = nullptr;
  value_ptr() = default;
  value_ptr(const value_ptr&) = delete;
  value_ptr& operator=(const value_ptr&) = delete;
  ~value_ptr() {
    if (v != nullptr) PMIX_VALUE_RELEASE(v);
  }
};

// Owns an array of pmix_info_t created with PMIX_INFO_CREATE.
struct info_array {
  pmix_info_t* p = nullptr;
  std::size_t n = 0;
  explicit info_array(std::size_t count) : n(count) { PMIX_INFO_CREATE(p, n); }
  info_array(const info_array&) = delete;
  info_array& operator=(const info_array&) = delete;
  ~info_array() {
    if (p != nullptr) PMIX_INFO_FREE(p, n);
  }
};

class pmix_bootstrap final : public bootstrap {
 public:
  pmix_bootstrap() {
    pmix_proc_t me;
    PMIX_PROC_CONSTRUCT(&me);
    pmix_status_t rc = PMIx_Init(&me, nullptr, 0);
    if (rc != PMIX_SUCCESS) {
      throw std::runtime_error(pmix_error("PMIx_Init", rc) +
                               " (is this process started by mpirun or srun --mpi=pmix?)");
    }
    me_ = me;
    rank_ = static_cast<node_t>(me.rank);
    PMIX_PROC_LOAD(&all_, me.nspace, PMIX_RANK_WILDCARD);

    value_ptr val;
    rc = PMIx_Get(&all_, PMIX_JOB_SIZE, nullptr, 0, &val.v);
    if (rc != PMIX_SUCCESS || val.v == nullptr) {
      PMIx_Finalize(nullptr, 0);
      throw std::runtime_error(pmix_error("PMIx_Get(PMIX_JOB_SIZE)", rc));
    }
    std::uint64_t n = 0;
    PMIX_VALUE_GET_NUMBER(rc, val.v, n, std::uint64_t);
    if (rc != PMIX_SUCCESS || n == 0 || n > UINT32_MAX || rank_ >= n) {
      PMIx_Finalize(nullptr, 0);
      throw std::runtime_error("dstd: PMIx returned a bad job size (" + std::to_string(n) +
                               ") for rank " + std::to_string(rank_));
    }
    size_ = static_cast<node_t>(n);
  }

  ~pmix_bootstrap() override { finalize(); }

  pmix_bootstrap(const pmix_bootstrap&) = delete;
  pmix_bootstrap& operator=(const pmix_bootstrap&) = delete;

  const char* kind() const override { return "pmix"; }
  std::string job_id() const override { return me_.nspace; }
  node_t rank() const override { return rank_; }
  node_t size() const override { return size_; }

  std::vector<blob> allgather(const blob& mine) override {
    check_live("allgather");
    const std::string key = "dstd.ag." + std::to_string(seq_++);

    // Publish our blob. PMIx_Put copies the value, so it may point at `mine`.
    pmix_value_t val;
    PMIX_VALUE_CONSTRUCT(&val);
    val.type = PMIX_BYTE_OBJECT;
    val.data.bo.bytes = mine.empty() ? nullptr
                                     : reinterpret_cast<char*>(const_cast<std::uint8_t*>(mine.data()));
    val.data.bo.size = mine.size();
    pmix_status_t rc = PMIx_Put(PMIX_GLOBAL, key.c_str(), &val);
    // `val` does not own its bytes: do not destruct it.
    if (rc != PMIX_SUCCESS) throw std::runtime_error(pmix_error("PMIx_Put", rc));
    rc = PMIx_Commit();
    if (rc != PMIX_SUCCESS) throw std::runtime_error(pmix_error("PMIx_Commit", rc));

    // Exchange: everyone's committed data is delivered to every node.
    {
      info_array info(1);
      bool collect = true;
      PMIX_INFO_LOAD(&info.p[0], PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
      rc = PMIx_Fence(&all_, 1, info.p, info.n);
    }
    if (rc != PMIX_SUCCESS) throw std::runtime_error(pmix_error("PMIx_Fence", rc));

    std::vector<blob> out(size_);
    for (node_t r = 0; r < size_; ++r) {
      pmix_proc_t peer;
      PMIX_PROC_LOAD(&peer, me_.nspace, r);
      value_ptr got;
      rc = PMIx_Get(&peer, key.c_str(), nullptr, 0, &got.v);
      if (rc != PMIX_SUCCESS || got.v == nullptr) {
        throw std::runtime_error(pmix_error("PMIx_Get", rc) + " (key " + key + " of rank " +
                                 std::to_string(r) + ")");
      }
      if (got.v->type != PMIX_BYTE_OBJECT) {
        throw std::runtime_error("dstd: PMIx_Get returned an unexpected type for key " + key +
                                 " of rank " + std::to_string(r));
      }
      const pmix_byte_object_t& bo = got.v->data.bo;
      if (bo.bytes != nullptr && bo.size != 0) {
        const auto* b = reinterpret_cast<const std::uint8_t*>(bo.bytes);
        out[r].assign(b, b + bo.size);
      }
    }
    return out;
  }

  void barrier() override {
    check_live("barrier");
    pmix_status_t rc = PMIx_Fence(&all_, 1, nullptr, 0);
    if (rc != PMIX_SUCCESS) throw std::runtime_error(pmix_error("PMIx_Fence", rc));
  }

  void finalize() override {
    if (finalized_) return;
    finalized_ = true;
    PMIx_Finalize(nullptr, 0);
  }

 private:
  void check_live(const char* op) const {
    if (finalized_) throw std::logic_error(std::string("dstd: pmix bootstrap: ") + op + " after finalize");
  }

  pmix_proc_t me_{};
  pmix_proc_t all_{};
  node_t rank_ = 0;
  node_t size_ = 1;
  std::uint64_t seq_ = 0;
  bool finalized_ = false;
};

}  // namespace

std::unique_ptr<bootstrap> make_pmix_bootstrap() { return std::make_unique<pmix_bootstrap>(); }

}  // namespace dstd::rt
