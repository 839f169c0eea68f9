// matmul — the Transparent DSM Library paper's matrix multiplication: the naive
// O(n^3) product C = A * B, rows of C split over worker threads on every node.
// A and B are shared read-only (each node fetches them once); each worker fills
// its own block of rows, which main reads after join. Entries are small integers
// held in doubles, so every sum is exact and the checksum is the same everywhere.
#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "../common/port.hpp"

namespace {

using matrix = ns::vector<double>;  // n x n, row-major

double a_at(std::uint64_t i, std::uint64_t k, std::uint64_t seed) { return static_cast<double>(port::mix(seed, i * 7919 + k) % 7); }
double b_at(std::uint64_t k, std::uint64_t j, std::uint64_t seed) { return static_cast<double>(port::mix(seed + 1, k * 7919 + j) % 7); }

// Rows [lo, hi) of A * B into `out` ((hi - lo) x n).
void worker(ns::shared_ptr<matrix> a, ns::shared_ptr<matrix> b, std::uint64_t n, std::uint64_t lo, std::uint64_t hi,
            ns::shared_ptr<matrix> out) {
  const double* A = std::as_const(a)->data();  // const: a read copy on other nodes
  const double* B = std::as_const(b)->data();
  matrix rows((hi - lo) * n, 0.0);
  double* C = rows.data();
  for (std::uint64_t i = lo; i < hi; ++i)
    for (std::uint64_t k = 0; k < n; ++k) {
      const double aik = A[i * n + k];
      const double* brow = B + k * n;
      double* crow = C + (i - lo) * n;
      for (std::uint64_t j = 0; j < n; ++j) crow[j] += aik * brow[j];
    }
  *out = std::move(rows);
}

}  // namespace

int main(int argc, char** argv) {
  port::options o(argc, argv, argv[0], "matmul: naive n^3 matrix product, rows over workers on every node");
  const std::uint64_t n = o.get("n", 768, 160, "matrix dimension");
  const std::uint64_t workers = o.get("workers", 8, 4, "worker threads, spread over the nodes");
  const std::uint64_t seed = o.get("seed", 3, 3, "seed of the matrices");
  o.done();
  if (n == 0 || workers == 0) {
    std::fprintf(stderr, "matmul: --n and --workers must be positive\n");
    return 2;
  }
  const unsigned nodes = port::nodes();
  auto a = ns::make_shared<matrix>(n * n);
  auto b = ns::make_shared<matrix>(n * n);
  {
    matrix& A = *a;
    matrix& B = *b;
    for (std::uint64_t i = 0; i < n; ++i)
      for (std::uint64_t j = 0; j < n; ++j) {
        A[i * n + j] = a_at(i, j, seed);
        B[i * n + j] = b_at(i, j, seed);
      }
  }
  std::vector<ns::shared_ptr<matrix>> blocks;
  std::vector<std::uint64_t> starts;
  for (std::uint64_t w = 0; w <= workers; ++w) starts.push_back(n * w / workers);
  for (std::uint64_t w = 0; w < workers; ++w) blocks.push_back(port::make_shared_on<matrix>(static_cast<unsigned>(w % nodes)));

  port::timed_phase clock;
  std::vector<ns::thread> threads;
  for (std::uint64_t w = 0; w < workers; ++w)
    threads.push_back(port::spawn_on(static_cast<unsigned>(w % nodes), worker, a, b, n, starts[w], starts[w + 1], blocks[w]));
  for (auto& t : threads) t.join();
  const double secs = clock.end();

  std::uint64_t h = n;
  for (std::uint64_t w = 0; w < workers; ++w) {
    const matrix& rows = *std::as_const(blocks[w]);
    for (double x : rows) h = port::mix(h, static_cast<std::uint64_t>(x));
  }
  // Spot-check against a direct dot product.
  for (std::uint64_t t = 0; t < 16; ++t) {
    const std::uint64_t i = port::mix(seed, t) % n, j = port::mix(seed, t + 99) % n;
    double want = 0;
    for (std::uint64_t k = 0; k < n; ++k) want += a_at(i, k, seed) * b_at(k, j, seed);
    const std::uint64_t w = static_cast<std::uint64_t>(std::upper_bound(starts.begin(), starts.end(), i) - starts.begin()) - 1;
    const double got = (*std::as_const(blocks[w]))[(i - starts[w]) * n + j];
    if (got != want) {
      std::fprintf(stderr, "matmul: C[%llu][%llu] = %g, expected %g\n", static_cast<unsigned long long>(i),
                   static_cast<unsigned long long>(j), got, want);
      return 1;
    }
  }
  port::report(h, 2.0 * static_cast<double>(n * n * n) / secs / 1e9, "GFLOP/s");
  return 0;
}
