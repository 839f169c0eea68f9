// ports/common/zipf.hpp — seeded Zipf sampling (Gray et al., "Quickly generating
// billion-record synthetic databases", as YCSB does it): item 0 is the most popular.
#pragma once

#include <cmath>
#include <cstdint>

namespace port {

// zeta(n, theta) = sum over i = 1..n of 1 / i^theta. O(n): compute it once.
inline double zeta(std::uint64_t n, double theta) {
  double z = 0;
  for (std::uint64_t i = 1; i <= n; ++i) z += 1.0 / std::pow(static_cast<double>(i), theta);
  return z;
}

// A small deterministic generator (splitmix64), identical in every build.
struct rng64 {
  std::uint64_t s;
  explicit rng64(std::uint64_t seed) : s(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
};

class zipf {
 public:
  // `zetan` = zeta(n, theta), computed once by the caller and shared.
  zipf(std::uint64_t n, double theta, double zetan)
      : n_(n), theta_(theta), alpha_(1.0 / (1.0 - theta)), zetan_(zetan),
        eta_((1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta(2, theta) / zetan)),
        half_pow_theta_(1.0 + std::pow(0.5, theta)) {}
  std::uint64_t operator()(rng64& r) const {
    const double u = r.uniform();
    const double uz = u * zetan_;
    if (uz < 1.0) return 0;
    if (uz < half_pow_theta_) return 1;
    const auto v = static_cast<std::uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
    return v < n_ ? v : n_ - 1;
  }

 private:
  std::uint64_t n_;
  double theta_, alpha_, zetan_, eta_, half_pow_theta_;
};

}  // namespace port
