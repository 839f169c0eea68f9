// dataframe — a column store answering the h2oai db-benchmark groupby questions
// q1..q10 on generated G1-style data (groupby-datagen.R: N rows, K groups).
//
// Data. Columns id1..id6, v1, v2 (32-bit ints, as R stores them) and v3 (double),
// cut into fixed chunks of --chunk rows. Chunk c is generated from (seed, c) alone,
// on its node: it belongs to worker thread w(c), which runs on node c % nodes and
// builds the chunk's ns::vector columns there, so every buffer is born where it is
// read. id1, id2, id3 are R factors, i.e. dictionary encoded: the columns hold
// 1-based codes into two dictionaries of ns::string levels ("id%03d" for id1/id2,
// "id%010d" for id3) kept in one shared object on node 0; levels are zero padded,
// so code order is the levels' sort order.
//
// Questions (as in db-benchmark):
//   q1 sum v1 by id1              q6 median v3, sd v3 by id4, id5
//   q2 sum v1 by id1, id2         q7 max(v1) - min(v2) by id3
//   q3 sum v1, mean v3 by id3     q8 largest two v3 by id6
//   q4 mean v1, v2, v3 by id4     q9 cor(v1, v2)^2 by id2, id4
//   q5 sum v1, v2, v3 by id6      q10 sum v3, count by id1..id6
// Every question runs as a distributed group-by in two steps:
//  1. near the data: each worker (--per-node per node) scans its own chunks and
//     turns each chunk into a partial aggregate cut into --buckets key ranges
//     (dense arrays over the group code for q1..q9; per-group value lists for the
//     exact median of q6; sorted (key, sum, count) runs for q10, whose groups are
//     nearly all distinct);
//  2. the shuffle: merge task b (bucket b, on worker b % workers) reads bucket b of
//     every chunk's partial, in chunk order, folds them into the final groups of
//     that key range and checksums them in sorted key order.
// Only partials travel: the table stays where it was generated, and every access
// to shared data is const (reads copy; nothing moves). Results stay distributed:
// each merge task reports a checksum, a group count and the rows it covered (which
// must add up to N), and main combines those.
//
// Determinism. Floating-point sums are folded in a fixed order within a chunk (row
// order; q10: ascending v3 within a key) and in chunk order across chunks, whatever
// the node count, so every double is bit-identical in the std build and in dstd on
// any number of nodes, and doubles are checksummed by their bits. The checksum
// mixes, per question, the bucket checksums in bucket order (each over its groups
// in key order), so it depends on --rows, --groups, --chunk, --buckets and --seed,
// never on the node count or --per-node. Generation is not timed; throughput is
// rows scanned per second over the ten questions (10 N rows per run).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "../common/port.hpp"
#include "../common/zipf.hpp"  // port::rng64

namespace {

using i32 = std::int32_t;
using u32 = std::uint32_t;
using i64 = std::int64_t;
using u64 = std::uint64_t;

// Sizes and the fixed layout of chunks over workers and nodes (plain values: shipped
// to every thread).
struct params {
  u64 rows, k, nk, chunk_rows, chunks, buckets, nodes, per_node, workers, seed;
  // Worker w runs on node w / per_node. Chunk c lives on node c % nodes and belongs
  // to the worker (c % nodes, (c / nodes) % per_node) of that node, as its
  // (c / workers)-th chunk.
  unsigned node_of_worker(u64 w) const { return static_cast<unsigned>(w / per_node); }
  u64 worker_of(u64 c) const { return (c % nodes) * per_node + (c / nodes) % per_node; }
  u64 slot_of(u64 c) const { return c / workers; }
  u64 chunk_of(u64 w, u64 j) const { return w / per_node + nodes * (w % per_node + per_node * j); }
  // Bucket b of a group code domain [0, d): the codes [lo(b), lo(b + 1)).
  u64 lo(u64 b, u64 d) const { return b * d / buckets; }
};

// ---------------------------------------------------------------- the table

struct chunk {
  using dstd_relocatable = std::true_type;
  ns::vector<i32> id1, id2, id3, id4, id5, id6, v1, v2;  // id1..id3: dictionary codes
  ns::vector<double> v3;
};

// Raw views of one chunk's columns, taken through const access (a read: plain
// memory where the chunk is local), for the scan loops.
struct cols {
  const i32 *id1, *id2, *id3, *id4, *id5, *id6, *v1, *v2;
  const double* v3;
  std::size_t n;
  explicit cols(const chunk& c)
      : id1(c.id1.data()), id2(c.id2.data()), id3(c.id3.data()), id4(c.id4.data()), id5(c.id5.data()),
        id6(c.id6.data()), v1(c.v1.data()), v2(c.v2.data()), v3(c.v3.data()), n(c.v1.size()) {}
};

struct dictionary {
  using dstd_relocatable = std::true_type;
  ns::vector<ns::string> small;  // levels of id1 and id2: code c is small[c - 1]
  ns::vector<ns::string> large;  // levels of id3
};

// 1..m, uniform (m < 2^32).
inline i32 draw(port::rng64& r, u64 m) { return static_cast<i32>(((r.next() >> 32) * m) >> 32) + 1; }

// Chunk c of the table, as groupby-datagen.R makes rows (column by column).
chunk make_chunk(const params& p, u64 c) {
  const u64 first = c * p.chunk_rows, n = std::min(p.chunk_rows, p.rows - first);
  port::rng64 r(port::mix(p.seed, c));
  chunk ch;
  ns::vector<i32>* ints[] = {&ch.id1, &ch.id2, &ch.id3, &ch.id4, &ch.id5, &ch.id6, &ch.v1, &ch.v2};
  const u64 range[] = {p.k, p.k, p.nk, p.k, p.k, p.nk, 5, 15};
  for (int col = 0; col < 8; ++col) {
    ints[col]->resize(n);
    i32* out = ints[col]->data();
    for (u64 i = 0; i < n; ++i) out[i] = draw(r, range[col]);
  }
  ch.v3.resize(n);
  double* v3 = ch.v3.data();
  // round(runif(0, 100), 6): a whole number of millionths in [0, 1e8].
  for (u64 i = 0; i < n; ++i) v3[i] = static_cast<double>((r.next() >> 11) % 100000001) / 1e6;
  return ch;
}

// Worker w builds its chunks on its own node.
void generate(ns::shared_ptr<ns::vector<chunk>> store, u64 w, params p) {
  ns::vector<chunk> mine;
  for (u64 j = 0, c; (c = p.chunk_of(w, j)) < p.chunks; ++j) mine.push_back(make_chunk(p, c));
  *store = std::move(mine);
}

// ---------------------------------------------------------------- checksums

inline u64 bits(double x) {
  if (std::isnan(x)) return 0x7ff8000000000000ull;  // R's NA
  u64 b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
inline u64 level_hash(std::string_view s) { return std::hash<std::string_view>{}(s); }

// What a merge task reports for its bucket.
struct summary {
  u64 hash = 0;    // over the bucket's groups in key order
  u64 groups = 0;  // result rows' groups
  u64 rows = 0;    // input rows they aggregate (must add up to N)
};

// ---------------------------------------------------------------- dense questions
//
// The groups of q1..q9 are the codes 0..D-1 of a key computed from each row (D is
// K, K*K or N/K), so a chunk's partial is one aggregate per code, and bucket b is
// the slice [lo(b), lo(b+1)) of that array. Q supplies the aggregate (`agg`, whose
// default value is the identity), `domain`, `scan` (one chunk's rows into the
// array), `merge` (two aggregates, exactly or in the caller's fixed order) and
// `emit` (a final group into the checksum).
template <class Q>
struct dense {
  using agg = typename Q::agg;
  using bucket = ns::vector<agg>;
  struct scratch {
    ns::vector<agg> acc;
    explicit scratch(const params& p) : acc(Q::domain(p)) {}
  };

  static void partial(const params& p, const cols& c, scratch& s, ns::vector<bucket>& out) {
    const u64 d = Q::domain(p);
    agg* a = s.acc.data();
    std::fill(a, a + d, agg{});
    Q::scan(p, c, a);
    for (u64 b = 0; b < p.buckets; ++b) {
      const u64 lo = p.lo(b, d), hi = p.lo(b + 1, d);
      bucket part(hi - lo);
      std::copy(a + lo, a + hi, part.data());
      out.push_back(std::move(part));
    }
  }

  using keys = typename Q::keys;
  static summary merge(const params& p, u64 b, const bucket* const* parts, const keys& k) {
    const u64 d = Q::domain(p), lo = p.lo(b, d), hi = p.lo(b + 1, d);
    ns::vector<agg> acc(hi - lo);
    agg* a = acc.data();
    for (u64 c = 0; c < p.chunks; ++c) {  // chunk order: fixed floating-point sums
      const agg* x = parts[c]->data();    // const: a read (a copy where remote)
      for (u64 g = 0; g < hi - lo; ++g) Q::merge(a[g], x[g]);
    }
    summary s;
    for (u64 g = 0; g < hi - lo; ++g) {
      if (a[g].n == 0) continue;
      s.hash = Q::emit(p, k, s.hash, lo + g, a[g]);
      ++s.groups;
      s.rows += static_cast<u64>(a[g].n);
    }
    return s;
  }
};

// Decoding group keys for the checksum: the hashes of dictionary levels, read through
// const access (remote: one copy, valid while the merge task runs: it does not
// synchronize). One per merge task.
struct no_keys {
  no_keys(const params&, const dictionary&) {}
};
struct small_keys {
  std::vector<u64> h;  // h[code - 1]
  small_keys(const params&, const dictionary& d) {
    const ns::string* l = d.small.data();
    for (std::size_t i = 0; i < d.small.size(); ++i) h.push_back(level_hash(l[i]));
  }
  u64 operator()(i64 code) const { return h[static_cast<std::size_t>(code - 1)]; }
};
struct large_keys {
  const ns::string* l;  // only the levels of the groups met are hashed, once each
  large_keys(const params&, const dictionary& d) : l(d.large.data()) {}
  u64 operator()(i64 code) const { return level_hash(l[code - 1]); }
};

// q1: sum v1 by id1.
struct q1 {
  struct agg {
    i64 v1 = 0, n = 0;
  };
  using keys = small_keys;
  static u64 domain(const params& p) { return p.k; }
  static void scan(const params&, const cols& c, agg* a) {
    for (std::size_t i = 0; i < c.n; ++i) {
      agg& g = a[c.id1[i] - 1];
      g.v1 += c.v1[i];
      ++g.n;
    }
  }
  static void merge(agg& a, const agg& x) {
    a.v1 += x.v1;
    a.n += x.n;
  }
  static u64 emit(const params&, const keys& k, u64 h, u64 g, const agg& a) {
    return port::mix(port::mix(h, k(static_cast<i64>(g) + 1)), static_cast<u64>(a.v1));
  }
};

// q2: sum v1 by id1, id2.
struct q2 {
  using agg = q1::agg;
  using keys = small_keys;
  static u64 domain(const params& p) { return p.k * p.k; }
  static void scan(const params& p, const cols& c, agg* a) {
    const i64 k = static_cast<i64>(p.k);
    for (std::size_t i = 0; i < c.n; ++i) {
      agg& g = a[(c.id1[i] - 1) * k + c.id2[i] - 1];
      g.v1 += c.v1[i];
      ++g.n;
    }
  }
  static void merge(agg& a, const agg& x) { q1::merge(a, x); }
  static u64 emit(const params& p, const keys& k, u64 h, u64 g, const agg& a) {
    h = port::mix(h, k(static_cast<i64>(g / p.k) + 1));
    h = port::mix(h, k(static_cast<i64>(g % p.k) + 1));
    return port::mix(h, static_cast<u64>(a.v1));
  }
};

// q3: sum v1, mean v3 by id3.
struct q3 {
  struct agg {
    i64 v1 = 0;
    double v3 = 0;
    i64 n = 0;
  };
  using keys = large_keys;
  static u64 domain(const params& p) { return p.nk; }
  static void scan(const params&, const cols& c, agg* a) {
    for (std::size_t i = 0; i < c.n; ++i) {
      agg& g = a[c.id3[i] - 1];
      g.v1 += c.v1[i];
      g.v3 += c.v3[i];
      ++g.n;
    }
  }
  static void merge(agg& a, const agg& x) {
    a.v1 += x.v1;
    a.v3 += x.v3;
    a.n += x.n;
  }
  static u64 emit(const params&, const keys& k, u64 h, u64 g, const agg& a) {
    h = port::mix(h, k(static_cast<i64>(g) + 1));
    h = port::mix(h, static_cast<u64>(a.v1));
    return port::mix(h, bits(a.v3 / static_cast<double>(a.n)));
  }
};

// q4: mean v1, v2, v3 by id4.
struct q4 {
  struct agg {
    i64 v1 = 0, v2 = 0;
    double v3 = 0;
    i64 n = 0;
  };
  using keys = no_keys;
  static u64 domain(const params& p) { return p.k; }
  static void scan(const params&, const cols& c, agg* a) {
    for (std::size_t i = 0; i < c.n; ++i) {
      agg& g = a[c.id4[i] - 1];
      g.v1 += c.v1[i];
      g.v2 += c.v2[i];
      g.v3 += c.v3[i];
      ++g.n;
    }
  }
  static void merge(agg& a, const agg& x) {
    a.v1 += x.v1;
    a.v2 += x.v2;
    a.v3 += x.v3;
    a.n += x.n;
  }
  static u64 emit(const params&, const keys&, u64 h, u64 g, const agg& a) {
    const double n = static_cast<double>(a.n);
    h = port::mix(h, g + 1);
    h = port::mix(h, bits(static_cast<double>(a.v1) / n));
    h = port::mix(h, bits(static_cast<double>(a.v2) / n));
    return port::mix(h, bits(a.v3 / n));
  }
};

// q5: sum v1, v2, v3 by id6.
struct q5 {
  using agg = q4::agg;
  using keys = no_keys;
  static u64 domain(const params& p) { return p.nk; }
  static void scan(const params&, const cols& c, agg* a) {
    for (std::size_t i = 0; i < c.n; ++i) {
      agg& g = a[c.id6[i] - 1];
      g.v1 += c.v1[i];
      g.v2 += c.v2[i];
      g.v3 += c.v3[i];
      ++g.n;
    }
  }
  static void merge(agg& a, const agg& x) { q4::merge(a, x); }
  static u64 emit(const params&, const keys&, u64 h, u64 g, const agg& a) {
    h = port::mix(h, g + 1);
    h = port::mix(h, static_cast<u64>(a.v1));
    h = port::mix(h, static_cast<u64>(a.v2));
    return port::mix(h, bits(a.v3));
  }
};

// q7: max(v1) - min(v2) by id3.
struct q7 {
  struct agg {
    i32 max_v1 = std::numeric_limits<i32>::min(), min_v2 = std::numeric_limits<i32>::max();
    i64 n = 0;
  };
  using keys = large_keys;
  static u64 domain(const params& p) { return p.nk; }
  static void scan(const params&, const cols& c, agg* a) {
    for (std::size_t i = 0; i < c.n; ++i) {
      agg& g = a[c.id3[i] - 1];
      g.max_v1 = std::max(g.max_v1, c.v1[i]);
      g.min_v2 = std::min(g.min_v2, c.v2[i]);
      ++g.n;
    }
  }
  static void merge(agg& a, const agg& x) {
    a.max_v1 = std::max(a.max_v1, x.max_v1);
    a.min_v2 = std::min(a.min_v2, x.min_v2);
    a.n += x.n;
  }
  static u64 emit(const params&, const keys& k, u64 h, u64 g, const agg& a) {
    h = port::mix(h, k(static_cast<i64>(g) + 1));
    return port::mix(h, static_cast<u64>(static_cast<i64>(a.max_v1) - a.min_v2));
  }
};

// q8: the largest two v3 by id6 (one row per value, as head(v3, 2) gives). The top
// two of a union are the top two of the parts' top twos: exact in any order.
struct q8 {
  struct agg {
    double top1 = -std::numeric_limits<double>::infinity(), top2 = -std::numeric_limits<double>::infinity();
    i64 n = 0;
    void add(double x) {
      if (x > top1) {
        top2 = top1;
        top1 = x;
      } else if (x > top2) {
        top2 = x;
      }
    }
  };
  using keys = no_keys;
  static u64 domain(const params& p) { return p.nk; }
  static void scan(const params&, const cols& c, agg* a) {
    for (std::size_t i = 0; i < c.n; ++i) {
      agg& g = a[c.id6[i] - 1];
      g.add(c.v3[i]);
      ++g.n;
    }
  }
  static void merge(agg& a, const agg& x) {
    if (x.n == 0) return;
    a.add(x.top1);
    if (x.n > 1) a.add(x.top2);
    a.n += x.n;
  }
  static u64 emit(const params&, const keys&, u64 h, u64 g, const agg& a) {
    h = port::mix(port::mix(h, g + 1), bits(a.top1));
    if (a.n > 1) h = port::mix(port::mix(h, g + 1), bits(a.top2));
    return h;
  }
};

// q9: cor(v1, v2)^2 by id2, id4, from exact integer moments.
struct q9 {
  struct agg {
    i64 n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  };
  using keys = small_keys;
  static u64 domain(const params& p) { return p.k * p.k; }
  static void scan(const params& p, const cols& c, agg* a) {
    const i64 k = static_cast<i64>(p.k);
    for (std::size_t i = 0; i < c.n; ++i) {
      agg& g = a[(c.id2[i] - 1) * k + c.id4[i] - 1];
      const i64 x = c.v1[i], y = c.v2[i];
      ++g.n;
      g.sx += x;
      g.sy += y;
      g.sxx += x * x;
      g.syy += y * y;
      g.sxy += x * y;
    }
  }
  static void merge(agg& a, const agg& x) {
    a.n += x.n;
    a.sx += x.sx;
    a.sy += x.sy;
    a.sxx += x.sxx;
    a.syy += x.syy;
    a.sxy += x.sxy;
  }
  static u64 emit(const params& p, const keys& k, u64 h, u64 g, const agg& a) {
    using i128 = __int128;  // n * sxy overflows 64 bits past ~10^8 rows in a group
    const double cov = static_cast<double>(i128{a.n} * a.sxy - i128{a.sx} * a.sy);
    const double vx = static_cast<double>(i128{a.n} * a.sxx - i128{a.sx} * a.sx);
    const double vy = static_cast<double>(i128{a.n} * a.syy - i128{a.sy} * a.sy);
    const double r2 = vx > 0 && vy > 0 ? cov * cov / (vx * vy) : std::numeric_limits<double>::quiet_NaN();
    h = port::mix(h, k(static_cast<i64>(g / p.k) + 1));
    h = port::mix(h, g % p.k + 1);
    return port::mix(h, bits(r2));
  }
};

// ---------------------------------------------------------------- q6: median v3, sd v3 by id4, id5
//
// A median needs every value of its group, so a chunk's partial is its v3 values
// grouped by group code (a counting sort, row order within a group) with the group
// sizes; merge task b concatenates a group's values over the chunks in chunk order.
struct q6 {
  struct bucket {
    using dstd_relocatable = std::true_type;
    ns::vector<u32> count;  // per group code of the bucket
    ns::vector<double> v3;  // grouped by code, in row order
  };
  struct scratch {
    ns::vector<u32> count;
    ns::vector<u64> next;
    ns::vector<double> grouped;
    explicit scratch(const params& p) : count(p.k * p.k), next(p.k * p.k + 1), grouped(p.chunk_rows) {}
  };
  static u64 domain(const params& p) { return p.k * p.k; }

  static void partial(const params& p, const cols& c, scratch& s, ns::vector<bucket>& out) {
    const u64 d = domain(p);
    const i64 k = static_cast<i64>(p.k);
    u32* cnt = s.count.data();
    u64* next = s.next.data();
    double* grouped = s.grouped.data();
    std::fill(cnt, cnt + d, 0u);
    for (std::size_t i = 0; i < c.n; ++i) ++cnt[(c.id4[i] - 1) * k + c.id5[i] - 1];
    u64 at = 0;
    for (u64 g = 0; g < d; ++g) {
      next[g] = at;
      at += cnt[g];
    }
    for (std::size_t i = 0; i < c.n; ++i) grouped[next[(c.id4[i] - 1) * k + c.id5[i] - 1]++] = c.v3[i];
    // next[g] is now the end of group g.
    for (u64 b = 0; b < p.buckets; ++b) {
      const u64 lo = p.lo(b, d), hi = p.lo(b + 1, d);
      const u64 from = lo == hi ? 0 : next[lo] - cnt[lo], to = lo == hi ? 0 : next[hi - 1];
      bucket part;
      part.count.resize(hi - lo);
      std::copy(cnt + lo, cnt + hi, part.count.data());
      part.v3.resize(to - from);
      std::copy(grouped + from, grouped + to, part.v3.data());
      out.push_back(std::move(part));
    }
  }

  using keys = no_keys;
  static summary merge(const params& p, u64 b, const bucket* const* parts, const keys&) {
    const u64 d = domain(p), lo = p.lo(b, d), hi = p.lo(b + 1, d);
    std::vector<const u32*> cnt(p.chunks);
    std::vector<const double*> vals(p.chunks);
    for (u64 c = 0; c < p.chunks; ++c) {
      cnt[c] = parts[c]->count.data();  // const: reads
      vals[c] = parts[c]->v3.data();
    }
    std::vector<double> x;
    summary s;
    for (u64 g = 0; g < hi - lo; ++g) {
      x.clear();
      for (u64 c = 0; c < p.chunks; ++c) {
        x.insert(x.end(), vals[c], vals[c] + cnt[c][g]);
        vals[c] += cnt[c][g];
      }
      if (x.empty()) continue;
      const std::size_t n = x.size();
      double sum = 0;
      for (double v : x) sum += v;
      const double mean = sum / static_cast<double>(n);
      double ss = 0;
      for (double v : x) ss += (v - mean) * (v - mean);
      const double sd = n > 1 ? std::sqrt(ss / static_cast<double>(n - 1)) : std::numeric_limits<double>::quiet_NaN();
      const auto mid = x.begin() + static_cast<std::ptrdiff_t>(n / 2);
      std::nth_element(x.begin(), mid, x.end());
      const double median = n % 2 ? *mid : (*std::max_element(x.begin(), mid) + *mid) / 2;
      const u64 code = lo + g;
      s.hash = port::mix(s.hash, code / p.k + 1);
      s.hash = port::mix(s.hash, code % p.k + 1);
      s.hash = port::mix(s.hash, bits(median));
      s.hash = port::mix(s.hash, bits(sd));
      ++s.groups;
      s.rows += n;
    }
    return s;
  }
};

// ---------------------------------------------------------------- q10: sum v3, count by id1..id6
//
// Nearly every row is its own group, so partials are sorted runs of (key, sum, count):
// a chunk sorts its rows by key (a counting sort on id1, then a sort within each id1)
// and adds up equal keys. The key packs id1, id2, id3 into `a` and id4, id5, id6 into
// `b` (16, 16 and 31 bits), so (a, b) order is the lexicographic order of the six ids.
// Rows of one key are added in ascending v3 order (a fixed order, as row order would
// be). Bucket b holds a range of id1; merge task b merges the chunks' runs, adding
// equal keys in chunk order.
struct q10 {
  struct row {
    u64 a, b;
    double v3;
    i64 n;
  };
  using bucket = ns::vector<row>;
  struct entry {
    u64 a, b;
    double v3;
  };
  struct scratch {
    ns::vector<entry> e;
    ns::vector<u64> start;  // by id1 code: its first entry
    explicit scratch(const params& p) : e(p.chunk_rows), start(p.k + 2) {}
  };
  static u64 pack(u64 x, u64 y, u64 z) { return x << 47 | y << 31 | z; }

  static void partial(const params& p, const cols& c, scratch& s, ns::vector<bucket>& out) {
    entry* e = s.e.data();
    u64* start = s.start.data();
    std::fill(start, start + p.k + 2, u64{0});
    for (std::size_t i = 0; i < c.n; ++i) ++start[c.id1[i] + 1];
    for (u64 g = 1; g <= p.k + 1; ++g) start[g] += start[g - 1];  // start[id1]: its first entry
    {
      std::vector<u64> next(start, start + p.k + 1);
      for (std::size_t i = 0; i < c.n; ++i)
        e[next[c.id1[i]]++] = {pack(c.id1[i], c.id2[i], c.id3[i]), pack(c.id4[i], c.id5[i], c.id6[i]), c.v3[i]};
    }
    for (u64 b = 0; b < p.buckets; ++b) {
      const u64 lo = p.lo(b, p.k) + 1, hi = p.lo(b + 1, p.k) + 1;  // its id1 codes
      bucket part;
      part.reserve(start[hi] - start[lo]);  // at most one row per entry
      for (u64 g = lo; g < hi; ++g) {
        entry* first = e + start[g];
        entry* last = e + start[g + 1];
        std::sort(first, last, [](const entry& x, const entry& y) {
          return x.a != y.a ? x.a < y.a : x.b != y.b ? x.b < y.b : x.v3 < y.v3;
        });
        for (entry* it = first; it != last;) {
          row r{it->a, it->b, 0, 0};
          for (; it != last && it->a == r.a && it->b == r.b; ++it) {
            r.v3 += it->v3;
            ++r.n;
          }
          part.push_back(r);
        }
      }
      out.push_back(std::move(part));
    }
  }

  // Every level's hash, once per merge task: a result row names three levels.
  struct keys {
    std::vector<u64> small, large;  // by code - 1
    keys(const params&, const dictionary& d) {
      const ns::string* s = d.small.data();
      for (std::size_t i = 0; i < d.small.size(); ++i) small.push_back(level_hash(s[i]));
      const ns::string* l = d.large.data();
      for (std::size_t i = 0; i < d.large.size(); ++i) large.push_back(level_hash(l[i]));
    }
  };

  static summary merge(const params& p, u64, const bucket* const* parts, const keys& k) {
    // A min-heap of the runs' next rows by (a, b, chunk).
    struct head {
      u64 a, b, c;
      bool operator<(const head& o) const { return a != o.a ? a < o.a : b != o.b ? b < o.b : c < o.c; }
    };
    std::vector<const row*> at(p.chunks), end(p.chunks);
    std::vector<head> heap;
    for (u64 c = 0; c < p.chunks; ++c) {
      at[c] = parts[c]->data();  // const: a read
      end[c] = at[c] + parts[c]->size();
      if (at[c] != end[c]) heap.push_back({at[c]->a, at[c]->b, c});
    }
    const auto sift_down = [&heap] {
      const std::size_t n = heap.size();
      std::size_t i = 0;
      const head x = heap[0];
      for (;;) {
        std::size_t m = 2 * i + 1;
        if (m >= n) break;
        if (m + 1 < n && heap[m + 1] < heap[m]) ++m;
        if (!(heap[m] < x)) break;
        heap[i] = heap[m];
        i = m;
      }
      heap[i] = x;
    };
    std::make_heap(heap.begin(), heap.end(), [](const head& x, const head& y) { return y < x; });
    summary s;
    row cur{0, 0, 0, 0};
    constexpr u64 m16 = 0xffff, m31 = 0x7fffffff;
    const auto flush = [&] {
      if (cur.n == 0) return;
      u64 h = port::mix(s.hash, k.small[(cur.a >> 47) - 1]);
      h = port::mix(h, k.small[(cur.a >> 31 & m16) - 1]);
      h = port::mix(h, k.large[(cur.a & m31) - 1]);
      h = port::mix(h, cur.b >> 47);
      h = port::mix(h, cur.b >> 31 & m16);
      h = port::mix(h, cur.b & m31);
      h = port::mix(h, bits(cur.v3));
      s.hash = port::mix(h, static_cast<u64>(cur.n));
      ++s.groups;
      s.rows += static_cast<u64>(cur.n);
    };
    while (!heap.empty()) {
      const u64 c = heap[0].c;
      const row& r = *at[c];
      if (r.a != cur.a || r.b != cur.b) {
        flush();
        cur = {r.a, r.b, 0, 0};
      }
      cur.v3 += r.v3;
      cur.n += r.n;
      if (++at[c] != end[c]) {
        heap[0] = {at[c]->a, at[c]->b, c};
      } else {
        heap[0] = heap.back();
        heap.pop_back();
      }
      if (!heap.empty()) sift_down();
    }
    flush();
    return s;
  }
};

// ---------------------------------------------------------------- running a question

// Step 1, on worker w's node: its chunks' partials, chunk by chunk.
template <class Q>
void partials(ns::shared_ptr<ns::vector<chunk>> store, ns::shared_ptr<ns::vector<typename Q::bucket>> out, params p) {
  const ns::vector<chunk>& mine = *std::as_const(store);  // local: plain memory
  ns::vector<typename Q::bucket> res;
  res.reserve(mine.size() * p.buckets);
  typename Q::scratch s(p);
  for (const chunk& ch : mine) Q::partial(p, cols(ch), s, res);
  *out = std::move(res);
}

template <class B>
using all_partials = ns::vector<ns::shared_ptr<ns::vector<B>>>;

// Step 2, merge task w: buckets w, w + workers, ... Everything it reads from other
// nodes (const access) stays valid while it runs: it does not synchronize.
template <class Q>
void merges(ns::shared_ptr<all_partials<typename Q::bucket>> parts, ns::shared_ptr<dictionary> dict,
            ns::shared_ptr<ns::vector<summary>> out, u64 w, params p) {
  using B = typename Q::bucket;
  const all_partials<B>& all = *std::as_const(parts);
  const typename Q::keys keys(p, *std::as_const(dict));
  std::vector<const B*> per_chunk(p.chunks);
  ns::vector<summary> res;
  for (u64 b = w; b < p.buckets; b += p.workers) {
    for (u64 c = 0; c < p.chunks; ++c) {
      const ns::vector<B>& of_worker = *std::as_const(all[p.worker_of(c)]);
      per_chunk[c] = &of_worker[p.slot_of(c) * p.buckets + b];
    }
    res.push_back(Q::merge(p, b, per_chunk.data(), keys));
  }
  *out = std::move(res);
}

using table = std::vector<ns::shared_ptr<ns::vector<chunk>>>;  // worker w's chunks, on its node

template <class Q>
std::vector<summary> run(const params& p, const table& stores, const ns::shared_ptr<dictionary>& dict) {
  using B = typename Q::bucket;
  std::vector<ns::shared_ptr<ns::vector<B>>> parts;
  for (u64 w = 0; w < p.workers; ++w) parts.push_back(port::make_shared_on<ns::vector<B>>(p.node_of_worker(w)));
  {
    std::vector<ns::thread> threads;
    for (u64 w = 0; w < p.workers; ++w)
      threads.push_back(port::spawn_on(p.node_of_worker(w), partials<Q>, stores[w], parts[w], p));
    for (auto& t : threads) t.join();
  }
  auto all = ns::make_shared<all_partials<B>>(parts.begin(), parts.end());
  parts.clear();
  std::vector<ns::shared_ptr<ns::vector<summary>>> outs;
  for (u64 w = 0; w < p.workers; ++w) outs.push_back(port::make_shared_on<ns::vector<summary>>(p.node_of_worker(w)));
  {
    std::vector<ns::thread> threads;
    for (u64 w = 0; w < p.workers; ++w)
      threads.push_back(port::spawn_on(p.node_of_worker(w), merges<Q>, all, dict, outs[w], w, p));
    for (auto& t : threads) t.join();
  }
  std::vector<summary> res(p.buckets);
  for (u64 b = 0; b < p.buckets; ++b) res[b] = (*std::as_const(outs[b % p.workers]))[b / p.workers];
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  port::options o(argc, argv, argv[0],
                  "dataframe: db-benchmark groupby q1..q10 on G1 data, a column store in chunks over the nodes");
  const u64 rows = o.get("rows", 10000000, 1000000, "rows N of the table");
  const u64 k = o.get("groups", 100, 100, "K: id1, id2, id4, id5 take K values, id3 and id6 N/K");
  const u64 chunk_rows = o.get("chunk", 1 << 19, 1 << 16, "rows per chunk (chunk c lives on node c % nodes)");
  const u64 per_node = o.get("per-node", 2, 2, "worker threads per node");
  const u64 buckets = o.get("buckets", 16, 16, "key ranges each result is merged in (merge tasks)");
  const u64 seed = o.get("seed", 108, 108, "seed of the data");
  o.done();
  // K <= 999: "id%03d" levels sort as their codes; K * K dense groups stay small.
  if (!rows || !k || !chunk_rows || !per_node || !buckets || k > rows || rows / k >= (u64{1} << 31) ||
      chunk_rows >= (u64{1} << 32) || k > 999) {
    std::fprintf(stderr, "dataframe: need 0 < --groups <= 999, --groups <= --rows < 2^31 * --groups, "
                         "0 < --chunk < 2^32, and positive --per-node and --buckets\n");
    return 2;
  }
  params p{};
  p.rows = rows;
  p.k = k;
  p.nk = rows / k;
  p.chunk_rows = chunk_rows;
  p.chunks = (rows + chunk_rows - 1) / chunk_rows;
  p.buckets = buckets;
  p.nodes = port::nodes();
  p.per_node = per_node;
  p.workers = p.nodes * per_node;
  p.seed = seed;

  // The dictionaries of id1/id2 and id3, on node 0.
  port::stopwatch gen_clock;
  auto dict = ns::make_shared<dictionary>();
  {
    dictionary& d = *dict;
    char buf[32];
    for (u64 i = 1; i <= p.k; ++i) {
      const int len = std::snprintf(buf, sizeof buf, "id%03llu", static_cast<unsigned long long>(i));
      d.small.push_back(ns::string(std::string_view(buf, static_cast<std::size_t>(len))));
    }
    for (u64 i = 1; i <= p.nk; ++i) {
      const int len = std::snprintf(buf, sizeof buf, "id%010llu", static_cast<unsigned long long>(i));
      d.large.push_back(ns::string(std::string_view(buf, static_cast<std::size_t>(len))));
    }
  }
  // The table: each worker generates its chunks on its node.
  table stores;
  for (u64 w = 0; w < p.workers; ++w) stores.push_back(port::make_shared_on<ns::vector<chunk>>(p.node_of_worker(w)));
  {
    std::vector<ns::thread> threads;
    for (u64 w = 0; w < p.workers; ++w)
      threads.push_back(port::spawn_on(p.node_of_worker(w), generate, stores[w], w, p));
    for (auto& t : threads) t.join();
  }
  std::fprintf(stderr, "dataframe: %llu rows, K %llu, %llu chunks on %llu nodes, %llu workers; generated in %.2f s\n",
               static_cast<unsigned long long>(p.rows), static_cast<unsigned long long>(p.k),
               static_cast<unsigned long long>(p.chunks), static_cast<unsigned long long>(p.nodes),
               static_cast<unsigned long long>(p.workers), gen_clock.seconds());

  using runner = std::vector<summary> (*)(const params&, const table&, const ns::shared_ptr<dictionary>&);
  const runner questions[] = {run<dense<q1>>, run<dense<q2>>, run<dense<q3>>, run<dense<q4>>, run<dense<q5>>,
                              run<q6>,        run<dense<q7>>, run<dense<q8>>, run<dense<q9>>, run<q10>};
  port::timed_phase clock;
  u64 h = p.rows;
  bool ok = true;
  for (int q = 0; q < 10; ++q) {
    port::stopwatch qc;
    const std::vector<summary> s = questions[q](p, stores, dict);
    u64 groups = 0, counted = 0;
    for (const summary& b : s) {
      h = port::mix(h, b.hash);
      groups += b.groups;
      counted += b.rows;
    }
    h = port::mix(h, groups);
    std::fprintf(stderr, "  q%d: %llu groups, %.3f s\n", q + 1, static_cast<unsigned long long>(groups), qc.seconds());
    if (counted != p.rows) {
      std::fprintf(stderr, "dataframe: q%d aggregated %llu rows of %llu\n", q + 1,
                   static_cast<unsigned long long>(counted), static_cast<unsigned long long>(p.rows));
      ok = false;
    }
  }
  const double secs = clock.end();
  if (!ok) return 1;
  port::report(h, 10.0 * static_cast<double>(p.rows) / secs / 1e6, "Mrows/s");
  return 0;
}
