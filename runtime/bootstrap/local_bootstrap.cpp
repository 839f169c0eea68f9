// Client side of dstdrun's bootstrap: one Unix socket connection to the launcher.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <thread>

#include "bootstrap/bootstrap.hpp"
#include "bootstrap/wire.hpp"
#include "fabric/transport.hpp"
#include "dstd/settings.hpp"

namespace dstd::rt {
namespace {

class local_bootstrap final : public bootstrap {
 public:
  local_bootstrap() {
    rank_ = static_cast<node_t>(settings::get_int("DSTD_RANK"));
    size_ = static_cast<node_t>(settings::get_int("DSTD_SIZE"));
    timeout_ms_ = static_cast<int>(settings::get_int("DSTD_BOOTSTRAP_TIMEOUT_MS"));
    if (size_ == 0 || rank_ >= size_)
      throw std::runtime_error("dstd: DSTD_RANK=" + std::to_string(rank_) + " is not below DSTD_SIZE=" +
                               std::to_string(size_));
    std::string path = settings::get("DSTD_BOOTSTRAP");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("dstd: DSTD_BOOTSTRAP path too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("dstd: bootstrap socket: " + std::string(std::strerror(errno)));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("dstd: cannot reach dstdrun's bootstrap socket " + path + ": " +
                               std::strerror(errno));
    std::uint32_t r = rank_;
    if (!wire::write_all(fd_, &r, sizeof r)) throw std::runtime_error("dstd: bootstrap: launcher went away");
  }
  ~local_bootstrap() override {
    if (fd_ >= 0) ::close(fd_);
  }

  const char* kind() const override { return "dstdrun"; }
  node_t rank() const override { return rank_; }
  node_t size() const override { return size_; }
  // dstdrun's private directory, /tmp/dstdrun.XXXXXX, is unique while the job runs.
  std::string job_id() const override { return dstdrun_job_id(settings::get("DSTD_BOOTSTRAP")); }

  std::vector<blob> allgather(const blob& mine) override {
    std::uint32_t len = static_cast<std::uint32_t>(mine.size());
    if (!wire::write_all(fd_, &len, sizeof len) || !wire::write_all(fd_, mine.data(), mine.size()))
      throw std::runtime_error("dstd: bootstrap: launcher went away");
    std::uint32_t count = 0;
    if (!wire::read_all(fd_, &count, sizeof count, timeout_ms_))
      throw std::runtime_error("dstd: bootstrap: not every node joined within DSTD_BOOTSTRAP_TIMEOUT_MS=" +
                               std::to_string(timeout_ms_));
    std::vector<blob> all(count);
    for (auto& b : all) {
      if (!wire::read_all(fd_, &len, sizeof len, timeout_ms_)) throw std::runtime_error("dstd: bootstrap: truncated reply");
      b.resize(len);
      if (!wire::read_all(fd_, b.data(), len, timeout_ms_)) throw std::runtime_error("dstd: bootstrap: truncated reply");
    }
    return all;
  }

  void finalize() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  node_t rank_ = 0, size_ = 1;
  int timeout_ms_ = 60000;
  int fd_ = -1;
};

class single_bootstrap final : public bootstrap {
 public:
  std::string job_id() const override { return "single"; }
  const char* kind() const override { return "none"; }
  node_t rank() const override { return 0; }
  node_t size() const override { return 1; }
  std::vector<blob> allgather(const blob& mine) override { return {mine}; }
};

}  // namespace

launcher detect_launcher() {
  if (!settings::get("DSTD_BOOTSTRAP").empty()) return launcher::dstdrun;
  if (std::getenv("PMIX_RANK") || std::getenv("PMIX_NAMESPACE")) return launcher::pmix;
  return launcher::none;
}

std::unique_ptr<bootstrap> make_local_bootstrap() { return std::make_unique<local_bootstrap>(); }
std::unique_ptr<bootstrap> make_single_bootstrap() { return std::make_unique<single_bootstrap>(); }

}  // namespace dstd::rt
