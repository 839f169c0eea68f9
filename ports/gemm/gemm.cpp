// gemm — DRust's GEMM: Strassen's algorithm to a fixed depth (3 levels: 7^3 = 343
// leaf products), the leaf multiplications spread over the nodes as worker threads
// (16 per node by default, as in DRust). Main expands the operands, ships each
// worker its leaves (placed on the worker's node), and combines the products.
// Entries are small integers in doubles: every value is exact, the checksum is the
// same everywhere, and the product is checked against the straightforward one
// (whole matrix at --small, sampled entries otherwise).
#include <cstdint>
#include <cstdio>
#include <span>
#include <utility>
#include <vector>

#include "../common/port.hpp"

namespace {

using mat = ns::vector<double>;  // square, row-major

struct leaf_pair {
  using dstd_relocatable = std::true_type;
  mat a, b;
};

// Kernels index spans taken once per matrix (as a Rust kernel indexes slices): a
// non-const dstd::vector's operator[] checks where the buffer is at every access,
// which the compiler cannot hoist out of a loop (vector header).
mat quadrant(const mat& x_, std::size_t n, int qi, int qj) {
  const std::size_t h = n / 2;
  mat q_(h * h);
  const std::span<const double> x = x_;
  const std::span<double> q = q_;
  for (std::size_t i = 0; i < h; ++i)
    for (std::size_t j = 0; j < h; ++j) q[i * h + j] = x[(qi * h + i) * n + qj * h + j];
  return q_;
}
mat add(const mat& x_, const mat& y_, double sign = 1.0) {
  mat r_(x_.size());
  const std::span<const double> x = x_, y = y_;
  const std::span<double> r = r_;
  for (std::size_t i = 0; i < x.size(); ++i) r[i] = x[i] + sign * y[i];
  return r_;
}

// Appends the leaf operand pairs of A * B (n x n, `depth` levels) in Strassen order.
void expand(const mat& A, const mat& B, std::size_t n, int depth, std::vector<leaf_pair>& out) {
  if (depth == 0) {
    out.push_back({A, B});
    return;
  }
  const std::size_t h = n / 2;
  const mat a11 = quadrant(A, n, 0, 0), a12 = quadrant(A, n, 0, 1), a21 = quadrant(A, n, 1, 0), a22 = quadrant(A, n, 1, 1);
  const mat b11 = quadrant(B, n, 0, 0), b12 = quadrant(B, n, 0, 1), b21 = quadrant(B, n, 1, 0), b22 = quadrant(B, n, 1, 1);
  expand(add(a11, a22), add(b11, b22), h, depth - 1, out);  // M1
  expand(add(a21, a22), b11, h, depth - 1, out);            // M2
  expand(a11, add(b12, b22, -1), h, depth - 1, out);        // M3
  expand(a22, add(b21, b11, -1), h, depth - 1, out);        // M4
  expand(add(a11, a12), b22, h, depth - 1, out);            // M5
  expand(add(a21, a11, -1), add(b11, b12), h, depth - 1, out);  // M6
  expand(add(a12, a22, -1), add(b21, b22), h, depth - 1, out);  // M7
}

// Rebuilds the n x n product from the leaf products, consumed in expand's order.
mat combine(const std::vector<mat>& leaves, std::size_t& next, std::size_t n, int depth) {
  if (depth == 0) return leaves[next++];
  const std::size_t h = n / 2;
  mat m_[7];
  for (auto& x : m_) x = combine(leaves, next, h, depth - 1);
  std::span<const double> m[7];
  for (int q = 0; q < 7; ++q) m[q] = std::as_const(m_[q]);
  mat c_(n * n);
  const std::span<double> c = c_;
  for (std::size_t i = 0; i < h; ++i)
    for (std::size_t j = 0; j < h; ++j) {
      const std::size_t k = i * h + j;
      c[i * n + j] = m[0][k] + m[3][k] - m[4][k] + m[6][k];
      c[i * n + h + j] = m[2][k] + m[4][k];
      c[(h + i) * n + j] = m[1][k] + m[3][k];
      c[(h + i) * n + h + j] = m[0][k] - m[1][k] + m[2][k] + m[5][k];
    }
  return c_;
}

mat naive(const mat& a_, const mat& b_, std::size_t m) {
  mat c_(m * m, 0.0);
  const std::span<const double> a = a_, b = b_;
  const std::span<double> c = c_;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < m; ++k) {
      const double aik = a[i * m + k];
      for (std::size_t j = 0; j < m; ++j) c[i * m + j] += aik * b[k * m + j];
    }
  return c_;
}

// A worker multiplies its leaves (local to its node) into its own result list.
void worker(ns::shared_ptr<ns::vector<leaf_pair>> mine, std::uint64_t m, ns::shared_ptr<ns::vector<mat>> out) {
  const ns::vector<leaf_pair>& leaves = *std::as_const(mine);
  ns::vector<mat> products;
  products.reserve(leaves.size());
  for (const leaf_pair& p : leaves) products.push_back(naive(p.a, p.b, m));
  *out = std::move(products);
}

double entry(std::uint64_t seed, std::uint64_t i, std::uint64_t j) { return static_cast<double>(port::mix(seed, i * 100003 + j) % 5); }

}  // namespace

int main(int argc, char** argv) {
  port::options o(argc, argv, argv[0], "gemm: Strassen (7^3 leaves) with leaf products spread over the nodes");
  const std::uint64_t n = o.get("n", 1024, 128, "matrix dimension (a multiple of 8)");
  const std::uint64_t per_node = o.get("per-node", 16, 4, "worker threads per node");
  const std::uint64_t seed = o.get("seed", 5, 5, "seed of the matrices");
  o.done();
  constexpr int depth = 3;
  if (n == 0 || n % 8 != 0 || per_node == 0) {
    std::fprintf(stderr, "gemm: --n must be a positive multiple of 8 and --per-node positive\n");
    return 2;
  }
  const unsigned nodes = port::nodes();
  const std::uint64_t workers = per_node * nodes, m = n / 8;
  mat A(n * n), B(n * n);
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::uint64_t j = 0; j < n; ++j) {
      A[i * n + j] = entry(seed, i, j);
      B[i * n + j] = entry(seed + 1, i, j);
    }

  port::timed_phase clock;
  std::vector<leaf_pair> leaves;
  expand(A, B, n, depth, leaves);
  // Leaf t goes to worker t % workers, which runs on node worker % nodes.
  std::vector<ns::shared_ptr<ns::vector<leaf_pair>>> inputs;
  std::vector<ns::shared_ptr<ns::vector<mat>>> outputs;
  for (std::uint64_t w = 0; w < workers; ++w) {
    const auto node = static_cast<unsigned>(w % nodes);
    ns::vector<leaf_pair> mine;
    for (std::size_t t = w; t < leaves.size(); t += workers) mine.push_back(std::move(leaves[t]));
    for (auto& p : mine) {
      port::place_on(p.a, node);
      port::place_on(p.b, node);
    }
    port::place_on(mine, node);
    inputs.push_back(port::make_shared_on<ns::vector<leaf_pair>>(node, std::move(mine)));
    outputs.push_back(port::make_shared_on<ns::vector<mat>>(node));
  }
  std::vector<ns::thread> threads;
  for (std::uint64_t w = 0; w < workers; ++w)
    threads.push_back(port::spawn_on(static_cast<unsigned>(w % nodes), worker, inputs[w], m, outputs[w]));
  for (auto& t : threads) t.join();
  std::vector<mat> products(leaves.size());
  for (std::uint64_t w = 0; w < workers; ++w) {
    const ns::vector<mat>& got = *std::as_const(outputs[w]);
    std::size_t t = w;
    for (const mat& p : got) {
      products[t] = p;
      t += workers;
    }
  }
  std::size_t next = 0;
  const mat C = combine(products, next, n, depth);
  const double secs = clock.end();

  // Check against the straightforward product.
  const bool whole = n <= 256;
  const std::span<const double> a = std::as_const(A), b = std::as_const(B);
  for (std::uint64_t t = 0; t < (whole ? n * n : 64); ++t) {
    const std::uint64_t i = whole ? t / n : port::mix(seed, t) % n, j = whole ? t % n : port::mix(seed, t + 7) % n;
    double want = 0;
    for (std::uint64_t k = 0; k < n; ++k) want += a[i * n + k] * b[k * n + j];
    if (C[i * n + j] != want) {
      std::fprintf(stderr, "gemm: C[%llu][%llu] = %g, expected %g\n", static_cast<unsigned long long>(i),
                   static_cast<unsigned long long>(j), C[i * n + j], want);
      return 1;
    }
  }
  std::uint64_t h = n;
  for (double x : C) h = port::mix(h, static_cast<std::uint64_t>(x));
  port::report(h, 2.0 * static_cast<double>(n * n * n) / secs / 1e9, "GFLOP/s");
  return 0;
}
