// Framing shared by dstdrun's bootstrap server and its clients (Unix stream socket).
//
//   client -> server, once:      u32 rank
//   client -> server, per round: u32 length, bytes            (its contribution)
//   server -> client, per round: u32 count, then count x (u32 length, bytes)
//
// A round completes when every node has contributed; rounds are allgathers, and
// an allgather of empty contributions is a barrier.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>

namespace dstd::rt::wire {

// Writes all of buf; false on error.
inline bool write_all(int fd, const void* buf, std::size_t len) {
  auto* p = static_cast<const std::uint8_t*>(buf);
  while (len) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

// Reads exactly len bytes, waiting at most timeout_ms in total (<0: forever).
inline bool read_all(int fd, void* buf, std::size_t len, int timeout_ms) {
  auto* p = static_cast<std::uint8_t*>(buf);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (len) {
    if (timeout_ms >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{fd, POLLIN, 0};
      int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
    }
    ssize_t n = ::read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace dstd::rt::wire
