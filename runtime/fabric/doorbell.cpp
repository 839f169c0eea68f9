#include "fabric/doorbell.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>
#include <stdexcept>

namespace dstd::rt {
namespace {
void* map_file(int fd, std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw std::runtime_error(std::string("dstd: doorbell mmap: ") + std::strerror(errno));
  return p;
}
}  // namespace

std::string doorbell::create(const std::string& name, node_t nodes) {
  bytes_ = sizeof(slot) * nodes;
  path_ = "/dev/shm/" + name;
  ::unlink(path_.c_str());  // a leftover of a killed job with this id
  int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("dstd: doorbell: cannot create " + path_ + ": " + std::strerror(errno));
  if (ftruncate(fd, static_cast<off_t>(bytes_)) != 0) {
    ::close(fd);
    throw std::runtime_error("dstd: doorbell: cannot size " + path_);
  }
  slots_ = static_cast<slot*>(map_file(fd, bytes_));
  ::close(fd);
  return path_;
}

void doorbell::open(const std::string& path, node_t nodes) {
  bytes_ = sizeof(slot) * nodes;
  path_ = path;
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("dstd: doorbell: cannot open " + path + ": " + std::strerror(errno));
  slots_ = static_cast<slot*>(map_file(fd, bytes_));
  ::close(fd);
}

void doorbell::unlink() noexcept {
  if (!path_.empty()) ::unlink(path_.c_str());
}

void doorbell::wake(node_t node) noexcept {
  slot& s = slots_[node];
  s.seq.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, &s.seq, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

bool doorbell::wait(slot& s, std::uint32_t seq, std::int64_t timeout_us) noexcept {
  timespec ts{static_cast<time_t>(timeout_us / 1000000), static_cast<long>((timeout_us % 1000000) * 1000)};
  syscall(SYS_futex, &s.seq, FUTEX_WAIT, seq, &ts, nullptr, 0);
  return s.seq.load(std::memory_order_acquire) != seq;  // rung (else timed out or spurious)
}

}  // namespace dstd::rt
