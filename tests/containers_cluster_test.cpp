// dstd::vector, dstd::string and dstd::tbox across real node processes.
//
// The differential tests drive a std container and a dstd container with the same
// random operations and compare every observation. The dstd container travels:
// each step runs on a random node, either moving the container's owner there
// (writes move the buffer) or borrowing it (reads copy the buffer or a chunk).
#include <dstd/memory>
#include <dstd/mutex>
#include <dstd/runtime.hpp>
#include <dstd/settings.hpp>
#include <dstd/string>
#include <dstd/thread>
#include <dstd/vector>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <ranges>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using dstd::node_t;

static_assert(dstd::is_relocatable_v<dstd::vector<int>>);
static_assert(dstd::is_relocatable_v<dstd::vector<dstd::vector<int>>>);
static_assert(dstd::is_relocatable_v<dstd::vector<dstd::string>>);
static_assert(dstd::is_relocatable_v<dstd::string>);
static_assert(std::ranges::contiguous_range<dstd::vector<int>>);
static_assert(std::ranges::contiguous_range<const dstd::vector<int>>);
static_assert(std::ranges::random_access_range<dstd::string>);
static_assert(sizeof(dstd::vector<int>) == 32 && sizeof(dstd::string) == 32);

std::uint64_t mix(std::uint64_t h, std::uint64_t x) { return (h ^ x) * 0x100000001b3ull; }
std::uint64_t hash_bytes(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) h = mix(h, c);
  return h;
}

struct op {
  std::uint32_t code;
  std::uint64_t a, b, c;
};

op random_op(std::mt19937_64& rng, std::uint32_t codes) {
  return {static_cast<std::uint32_t>(rng() % codes), rng(), rng(), rng()};
}

node_t random_node(std::mt19937_64& rng) { return static_cast<node_t>(rng() % dstd::num_nodes()); }

// ---------------------------------------------------------------- vector<int>

constexpr std::uint32_t vector_ops = 26;

// One operation on either container type; returns what it observed.
template <class V>
std::uint64_t mutate(V& v, const op& o) {
  const std::size_t n = v.size();
  const std::size_t i = n ? o.a % n : 0;
  const int x = static_cast<int>(o.b % 1000) - 500;
  std::uint64_t h = o.code;
  switch (o.code) {
    case 0: v.push_back(x); break;
    case 1: if (n) v.pop_back(); break;
    case 2: v.insert(v.begin() + static_cast<long>(n ? o.a % (n + 1) : 0), x); break;
    case 3: v.insert(v.begin() + static_cast<long>(n ? o.a % (n + 1) : 0), o.c % 20, x); break;
    case 4: {
      const int src[] = {x, x + 1, x + 2, x * 3};
      auto it = v.insert(v.begin() + static_cast<long>(n ? o.a % (n + 1) : 0), std::begin(src), std::begin(src) + o.c % 5);
      h = mix(h, static_cast<std::uint64_t>(it - v.begin()));
      break;
    }
    case 5: if (n) h = mix(h, static_cast<std::uint64_t>(v.erase(v.begin() + static_cast<long>(i)) - v.begin())); break;
    case 6: if (n) v.erase(v.begin() + static_cast<long>(i), v.begin() + static_cast<long>(i + o.c % (n - i + 1))); break;
    case 7: v.resize(o.c % 300); break;
    case 8: v.resize(o.c % 300, x); break;
    case 9: v.assign(o.c % 100, x); break;
    case 10: v.assign({x, 2 * x, 3 * x}); break;
    case 11: if (n) v[i] = x; break;
    case 12:
      try {
        v.at(o.a % (n + 3)) += 1;
        h = mix(h, 1);
      } catch (const std::out_of_range&) {
        h = mix(h, 2);
      }
      break;
    case 13: std::sort(v.begin(), v.end()); break;
    case 14: std::reverse(v.begin(), v.end()); break;
    case 15: h = mix(h, erase_if(v, [m = o.c % 5 + 2](int e) { return e % static_cast<int>(m) == 0; })); break;
    case 16: v.emplace(v.begin() + static_cast<long>(n ? o.a % (n + 1) : 0), x); break;
    case 17: v.reserve(o.c % 500); h = mix(h, v.capacity() >= o.c % 500); break;
    case 18: v.shrink_to_fit(); break;
    case 19: if (o.c % 4 == 0) v.clear(); break;
    case 20: {
      V other(o.c % 50, x);
      v.swap(other);
      h = mix(h, other.size());
      break;
    }
    case 21: {
      V other{x, x, x + 1};
      if (o.c % 2) other.push_back(x);
      v = other;
      break;
    }
    case 22: if (n) { v.front() += 3; v.back() -= 3; } break;
    case 23: h = mix(h, erase(v, x % 10)); break;
    case 24: v.emplace_back(x); break;
    case 25: if (n) std::ranges::fill(v | std::views::take(static_cast<long>(i)), x); break;
  }
  return h;
}

template <class V>
std::uint64_t observe(const V& v, const op& o) {
  std::uint64_t h = mix(0, v.size());
  h = mix(h, v.empty());
  for (int e : v) h = mix(h, static_cast<std::uint64_t>(e));
  if (!v.empty()) {
    const std::size_t i = o.a % v.size();
    h = mix(h, static_cast<std::uint64_t>(v[i]));
    h = mix(h, static_cast<std::uint64_t>(v.at(i)));
    h = mix(h, static_cast<std::uint64_t>(v.front() + v.back()));
    h = mix(h, static_cast<std::uint64_t>(v.data()[i]));
    h = mix(h, static_cast<std::uint64_t>(std::accumulate(v.rbegin(), v.rend(), 0L)));
  }
  h = mix(h, static_cast<std::uint64_t>(std::ranges::count(v, 7)));
  const V probe{1, 2, 3};
  h = mix(h, v == probe);
  h = mix(h, v < probe);
  return h;
}

using dvec = dstd::vector<int>;

struct step_result {
  using dstd_relocatable = std::true_type;
  dstd::unique_ptr<dvec> owner;
  std::uint64_t seen;
};

// Runs `o` on `node` against the dstd vector behind `p`: writes move the owner
// there, reads borrow it.
std::uint64_t drive(dstd::unique_ptr<dvec>& p, node_t node, const op& o, bool write) {
  if (!write)
    return dstd::run_on(node, [](dstd::ref<dvec> r, op o) { return observe(*r, o); }, p.borrow(), o);
  auto r = dstd::run_on(
      node,
      [](dstd::unique_ptr<dvec> q, op o) {
        std::uint64_t h = mutate(*q, o);  // (sequenced: argument order is unspecified)
        h = mix(h, observe(q.read(), o));
        return step_result{std::move(q), h};
      },
      std::move(p), o);
  p = std::move(r.owner);
  return r.seen;
}

void vector_differential(std::uint64_t seed, int steps, bool distribute) {
  std::mt19937_64 rng(seed);
  std::vector<int> model;
  auto p = dstd::make_unique<dvec>();
  for (int s = 0; s < steps; ++s) {
    const op o = random_op(rng, vector_ops);
    const bool write = rng() % 3 != 0;
    std::uint64_t expect = 0, got = 0;
    if (write) {
      expect = mutate(model, o);
      expect = mix(expect, observe(std::as_const(model), o));
    } else {
      expect = observe(model, o);
    }
    if (distribute) {
      const node_t nd = random_node(rng);
      got = drive(p, nd, o, write);
    } else if (write) {
      got = mutate(*p, o);
      got = mix(got, observe(p.read(), o));
    } else {
      got = observe(p.read(), o);
    }
    if (got != expect) {
      std::ostringstream m, d;
      for (int e : model) m << e << ' ';
      for (int e : p.read()) d << e << ' ';
      FAIL() << "step " << s << " op " << o.code << (write ? " (write)" : " (read)") << "\n std:  " << m.str()
             << "\n dstd: " << d.str();
    }
  }
  ASSERT_EQ(p->size(), model.size());
  EXPECT_TRUE(std::equal(model.begin(), model.end(), p.read().begin()));
}

TEST(VectorDifferential, OneNode) { vector_differential(1, 4000, false); }

TEST(VectorDifferential, ReadAndMovedBetweenNodes) {
  const auto before = dstd::coherence::stats_of(0);
  std::uint64_t moves = 0, reads = 0;
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    const auto s = dstd::coherence::stats_of(r);
    moves -= s.moves;
    reads -= s.remote_reads;
  }
  vector_differential(2, 600, true);
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    const auto s = dstd::coherence::stats_of(r);
    moves += s.moves;
    reads += s.remote_reads;
  }
  (void)before;
  // The run must really have moved buffers and read remote copies.
  EXPECT_GT(moves, 100u);
  EXPECT_GT(reads, 100u);
}

// ---------------------------------------------------------------- string

constexpr std::uint32_t string_ops = 24;

template <class S>
S make_text(std::uint64_t seed) {
  const std::size_t len = seed % 3 == 0 ? seed % 40 : seed % 8;  // short (inline) and long strings
  S s;
  for (std::size_t k = 0; k < len; ++k) s.push_back(static_cast<char>('a' + (seed >> (k % 48)) % 5));
  return s;
}

template <class S>
std::uint64_t mutate_string(S& s, const op& o) {
  const std::size_t n = s.size();
  const std::size_t pos = n ? o.a % (n + 1) : 0;
  const S t = make_text<S>(o.b);
  const char ch = static_cast<char>('a' + o.c % 6);
  std::uint64_t h = o.code;
  switch (o.code) {
    case 0: s.append(t); break;
    case 1: s += ch; break;
    case 2: s += "xyz"; break;
    case 3: s.insert(pos, t); break;
    case 4: s.insert(pos, o.c % 20, ch); break;
    case 5: s.erase(pos, o.c % 7); break;
    case 6: s.replace(pos, o.c % 5, t); break;
    case 7: s.replace(pos, o.c % 5, o.b % 9, ch); break;
    case 8: if (n) s.pop_back(); break;
    case 9: s.resize(o.c % 60, ch); break;
    case 10: s = make_text<S>(o.c); break;
    case 11: s.assign(o.c % 30, ch); break;
    case 12: if (n) s[o.a % n] = ch; break;
    case 13: s = s.substr(n ? o.a % n : 0, o.c % 25); break;
    case 14: s = s + t + ch; break;
    case 15: s = t + s; break;
    case 16: std::sort(s.begin(), s.end()); break;
    case 17: h = mix(h, erase(s, ch)); break;
    case 18: s.shrink_to_fit(); break;
    case 19: if (o.c % 5 == 0) s.clear(); break;
    case 20: s.insert(s.begin() + static_cast<long>(pos), ch); break;
    case 21: if (n) h = mix(h, static_cast<std::uint64_t>(s.erase(s.begin() + static_cast<long>(o.a % n)) - s.begin())); break;
    case 22: s.append(t, n ? o.c % (t.size() + 1) : 0, 4); break;
    case 23: {
      S other = make_text<S>(o.c + 1);
      s.swap(other);
      h = mix(h, other.size());
      break;
    }
  }
  return h;
}

template <class S>
std::uint64_t observe_string(const S& s, const op& o) {
  const std::string_view v(s.data(), s.size());
  std::uint64_t h = hash_bytes(v);
  h = hash_bytes(std::string_view(s.c_str()), h);  // the terminator is there
  const S t = make_text<S>(o.b);
  h = mix(h, s.find(t));
  h = mix(h, s.rfind(static_cast<char>('a' + o.c % 5)));
  h = mix(h, s.find_first_of("bd", o.a % 8));
  h = mix(h, s.find_last_not_of('a'));
  h = mix(h, s.find_first_not_of("abc"));
  h = mix(h, s.find_last_of(t));
  h = mix(h, static_cast<std::uint64_t>(s.compare(t) < 0) + 2 * (s.compare(t) == 0));
  h = mix(h, s.starts_with(t) + 2 * s.ends_with('c'));
  h = mix(h, (s < t) + 2 * (s == t) + 4 * (s == "ab") + 8 * ("ab" < s));
  if (!s.empty()) h = mix(h, static_cast<unsigned char>(s.at(o.a % s.size())) + s.front() * 256u + s.back() * 65536u);
  h = mix(h, std::hash<S>{}(s) == std::hash<std::string_view>{}(v));
  std::ostringstream os;
  os << s;
  h = hash_bytes(os.str(), h);
  return h;
}

using dstr = dstd::string;

void string_differential(std::uint64_t seed, int steps, bool distribute) {
  std::mt19937_64 rng(seed);
  std::string model;
  auto p = dstd::make_unique<dstr>();
  for (int s = 0; s < steps; ++s) {
    const op o = random_op(rng, string_ops);
    const bool write = rng() % 3 != 0;
    std::uint64_t expect = write ? mutate_string(model, o) : 0;
    expect = write ? mix(expect, observe_string(std::as_const(model), o)) : observe_string(model, o);
    std::uint64_t got;
    const node_t node = distribute ? random_node(rng) : 0;
    if (!write) {
      got = dstd::run_on(node, [](dstd::ref<dstr> r, op o) { return observe_string(*r, o); }, p.borrow(), o);
    } else {
      struct res {
        using dstd_relocatable = std::true_type;
        dstd::unique_ptr<dstr> owner;
        std::uint64_t seen;
      };
      auto r = dstd::run_on(
          node,
          [](dstd::unique_ptr<dstr> q, op o) {
            std::uint64_t h = mutate_string(*q, o);
            h = mix(h, observe_string(q.read(), o));
            return res{std::move(q), h};
          },
          std::move(p), o);
      p = std::move(r.owner);
      got = r.seen;
    }
    ASSERT_EQ(got, expect) << "step " << s << " op " << o.code << " model \"" << model << '"';
  }
  EXPECT_EQ(std::string(p.read()), model);
}

TEST(StringDifferential, OneNode) { string_differential(3, 3000, false); }
TEST(StringDifferential, ReadAndMovedBetweenNodes) { string_differential(4, 600, true); }

TEST(String, StdApiAndConversions) {
  dstr s = "hello";
  const std::string std_s = "hello";
  EXPECT_TRUE(s == std_s && std_s == s && s == std::string_view("hello") && "hello" == s);
  EXPECT_TRUE(s < "help" && "abc" < s && s != "hell");
  EXPECT_EQ(std::string(s + ", world"), "hello, world");
  EXPECT_EQ(std::string(dstr("x") + 'y' + dstr(20, 'z')), "xy" + std::string(20, 'z'));
  dstr from_std(std_s + " there, a longer string");
  EXPECT_EQ(from_std.size(), 28u);
  EXPECT_EQ(dstd::stoi(dstr("42")), 42);
  EXPECT_EQ(dstd::to_string(17), "17");
  std::istringstream in("alpha beta\ngamma delta\n");
  dstr w;
  in >> w;
  EXPECT_EQ(w, "alpha");
  dstd::getline(in, w);
  EXPECT_EQ(w, " beta");
  EXPECT_THROW((void)s.at(5), std::out_of_range);
  EXPECT_THROW(s.substr(6), std::out_of_range);
  EXPECT_EQ(s.capacity(), 15u);  // inline
  s.reserve(100);
  EXPECT_GE(s.capacity(), 100u);
  EXPECT_EQ(s, "hello");
  s.shrink_to_fit();
  EXPECT_EQ(s.capacity(), 15u);
  EXPECT_TRUE(s.contains("ell") && s.starts_with('h'));
}

// Where raw-pointer iterators and dstd's own free functions could part from std:
// code written for std::string/std::vector compiles and means the same.
TEST(String, StdShapedCallsMeanWhatTheyMeanForStd) {
  dstr s = "abcdef";
  std::string t = "abcdef";
  s.erase(0, 1), t.erase(0, 1);  // a literal 0 is a position, not a null iterator
  s.insert(0, 2, 'x'), t.insert(0, 2, 'x');
  s.replace(0, 1, "yy"), t.replace(0, 1, "yy");
  s.replace(0, 0, 3, 'z'), t.replace(0, 0, 3, 'z');
  s.replace(0, 0, std::string_view("v")), t.replace(0, 0, std::string_view("v"));
  EXPECT_EQ(std::string(s), t);
  s.erase(0), t.erase(0);
  EXPECT_TRUE(s.empty() && t.empty());
  s = "abc";
  s.erase(s.begin()), s.insert(s.end(), 'd'), s.replace(s.begin(), s.begin() + 1, "BB");
  EXPECT_EQ(s, "BBcd");

  // getline empties the string when the stream is good, even if it extracts nothing.
  std::istringstream lines("l1\nl2\n");
  dstr line = "stale";
  int n = 0;
  while (getline(lines, line)) ++n;
  EXPECT_EQ(n, 2);
  EXPECT_EQ(line, "");
  std::istringstream fields("a;b;");
  std::vector<std::string> got;
  for (dstr f; getline(fields, f, ';');) got.emplace_back(f);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(getline(std::istringstream("x y"), line));  // an rvalue stream
  EXPECT_EQ(line, "x y");

  // dstd::string and std::string have a common reference, so ranges take one for the other.
  dstd::vector<dstr> names{dstr("ann"), dstr("bob")};
  EXPECT_EQ(std::ranges::find(names, std::string("bob")) - names.begin(), 1);
}

namespace {
struct only_less {  // ordered by < alone, as many pre-C++20 types are
  int v;
  bool operator<(const only_less& o) const { return v < o.v; }
  bool operator==(const only_less&) const = default;
};
}  // namespace

TEST(Vector, OrderingFallsBackToLessAsStdDoes) {
  dstd::vector<only_less> a{{1}, {2}}, b{{1}, {3}};
  std::vector<only_less> sa{{1}, {2}}, sb{{1}, {3}};
  EXPECT_EQ(a < b, sa < sb);
  EXPECT_EQ(b <= a, sb <= sa);
  EXPECT_TRUE((a <=> a) == std::weak_ordering::equivalent);
  static_assert(std::is_same_v<decltype(a <=> b), std::weak_ordering>);
}

// ---------------------------------------------------------------- nested containers

TEST(Nested, VectorsOfVectorsAndStringsReadRemotely) {
  // Built on node 1 (buffers homed there), read from every other node.
  auto nested = dstd::run_on(1, [] {
    dstd::vector<dstd::vector<int>> vv;
    for (int i = 0; i < 20; ++i) vv.emplace_back(static_cast<std::size_t>(i * 10), i);
    dstd::vector<dstd::string> names;
    for (int i = 0; i < 20; ++i) names.push_back(dstd::string(static_cast<std::size_t>(i + 10), static_cast<char>('a' + i)));
    return std::pair{std::move(vv), std::move(names)};
  });
  EXPECT_EQ(nested.first.home(), 1u);
  EXPECT_EQ(std::as_const(nested.first)[3].home(), 1u);
  auto holder = dstd::make_unique<decltype(nested)>(std::move(nested));
  for (node_t r = 0; r < dstd::num_nodes(); ++r) {
    if (r == 1) continue;
    const auto before = dstd::coherence::stats_of(r);
    const auto sums = dstd::run_on(
        r,
        [](dstd::ref<std::pair<dstd::vector<dstd::vector<int>>, dstd::vector<dstd::string>>> p) {
          long total = 0;
          for (const auto& v : p->first) total += std::accumulate(v.begin(), v.end(), 0L);
          std::size_t chars = 0;
          bool ok = true;
          for (std::size_t i = 0; i < p->second.size(); ++i) {
            chars += p->second[i].size();
            ok = ok && p->second[i] == dstr(i + 10, static_cast<char>('a' + i));
          }
          return std::tuple{total, chars, ok};
        },
        holder.borrow());
    long expect = 0;
    for (int i = 0; i < 20; ++i) expect += static_cast<long>(i) * i * 10;
    EXPECT_EQ(std::get<0>(sums), expect) << "node " << r;
    EXPECT_EQ(std::get<1>(sums), 20u * 10 + 190) << "node " << r;
    EXPECT_TRUE(std::get<2>(sums)) << "node " << r;
    const auto after = dstd::coherence::stats_of(r);
    // The holder, the outer buffer (iterated: whole), 19 non-empty inner buffers,
    // the chunks of the names indexed with [], and the 14 strings longer than 15
    // characters (shorter ones are stored inside the string object).
    const std::size_t per_chunk = std::max<std::size_t>(dstd::settings::get_size("DSTD_READ_CHUNK") / sizeof(dstr), 1);
    const std::size_t name_chunks = (20 + per_chunk - 1) / per_chunk;
    if (r != 0) EXPECT_EQ(after.remote_reads - before.remote_reads, 1u + 1 + 19 + name_chunks + 14) << "node " << r;
  }
  // Writing an inner vector from node 2 moves only that inner buffer.
  const auto before2 = dstd::coherence::stats_of(2);
  holder = dstd::run_on(
      2,
      [](decltype(holder) h) {
        h->first[5].push_back(99);
        return h;
      },
      std::move(holder));
  const auto after2 = dstd::coherence::stats_of(2);
  // The holder object, the outer buffer, then the one inner buffer.
  EXPECT_EQ(after2.moves - before2.moves, 3u);
  EXPECT_EQ(holder.read().first[5].home(), 2u);
  EXPECT_EQ(holder.read().first[6].home(), 1u);
  EXPECT_EQ(holder.read().first[5].back(), 99);
}

TEST(Nested, RemoteDestructionFreesEveryBufferAtItsHome) {
  dstd::heap::flush_all();
  std::vector<std::uint64_t> before;
  for (node_t r = 0; r < dstd::num_nodes(); ++r) before.push_back(dstd::heap::stats_of(r).blocks_in_use);
  {
    auto v = dstd::run_on(3, [] {
      dstd::vector<dstd::vector<dstd::string>> v(10);
      for (auto& inner : v)
        for (int i = 0; i < 5; ++i) inner.push_back(dstr(40, 'q'));
      return v;
    });
    EXPECT_GT(dstd::heap::stats_of(3).blocks_in_use, before[3] + 50);
    // Dropped here, on node 0: the elements are destroyed at node 3.
  }
  dstd::heap::flush_all();
  for (node_t r = 0; r < dstd::num_nodes(); ++r) EXPECT_EQ(dstd::heap::stats_of(r).blocks_in_use, before[r]) << "node " << r;
}

// ---------------------------------------------------------------- chunked reads and placement

TEST(Vector, IndexedReadsFetchOneChunkIterationTheWholeBuffer) {
  const std::size_t n = 1 << 20;  // 4 MiB of ints
  auto v = dstd::make_vector_on<int>(1, n, 3);
  EXPECT_EQ(v.home(), 1u);
  v = dstd::run_on(
      1, [](dvec w) {
        std::iota(w.begin(), w.end(), 0);
        return w;
      },
      std::move(v));
  EXPECT_EQ(v.home(), 1u);
  const auto chunk = dstd::settings::get_size("DSTD_READ_CHUNK");
  const auto r0 = dstd::coherence::local_stats();
  const dvec& cv = v;
  EXPECT_EQ(cv[123456], 123456);
  EXPECT_EQ(cv.at(n - 1), static_cast<int>(n - 1));
  const auto r1 = dstd::coherence::local_stats();
  EXPECT_EQ(r1.remote_reads - r0.remote_reads, 2u);
  EXPECT_LE(r1.read_bytes - r0.read_bytes, 2 * chunk);
  long sum = 0;
  for (int x : cv) sum += x;
  EXPECT_EQ(sum, static_cast<long>(n) * (n - 1) / 2);
  const auto r2 = dstd::coherence::local_stats();
  EXPECT_EQ(r2.read_bytes - r1.read_bytes, n * sizeof(int));
  // A write moves the buffer here, whole.
  v[0] = -1;
  EXPECT_EQ(v.home(), 0u);
  EXPECT_EQ(dstd::coherence::local_stats().bytes_moved - r2.bytes_moved, n * sizeof(int));
}

// Appends skip the color bump; every operation that shrinks a vector must bump it,
// or a reader that cached the longer version would read stale elements after the
// vector grows back to that length.
TEST(Vector, ReadersSeeWritesAfterShrinkThenAppend) {
  auto p = dstd::make_unique<dvec>(dvec{1, 2, 3, 4, 5, 6});
  auto read_on_1 = [&p] {
    return dstd::run_on(1, [](dstd::ref<dvec> r) { return std::accumulate(r->begin(), r->end(), 0L) * 100 + r->back(); },
                        p.borrow());
  };
  EXPECT_EQ(read_on_1(), 2106);
  p->pop_back();
  p->push_back(60);
  EXPECT_EQ(read_on_1(), 7560);
  p->erase(p->begin());
  p->push_back(7);
  EXPECT_EQ(read_on_1(), 8107);
  p->resize(2);
  p->resize(3);
  p->push_back(9);
  p->push_back(10);
  p->push_back(11);
  EXPECT_EQ(read_on_1(), 3511);
  p->clear();
  for (int i = 0; i < 6; ++i) p->push_back(i);
  EXPECT_EQ(read_on_1(), 1505);
}


// In-place writes at the home must change the word so copies cached elsewhere go
// stale. Every round writes at the home between two reads from other nodes, by the
// same thread, by a mutex-synchronized second thread, and in a loop of writes:
// each read must see the round's values, never a copy cached in an earlier round.
TEST(Vector, InPlaceWritesInEveryEpochAreSeenByReaders) {
  auto p = dstd::make_unique<dvec>(dvec(64, 0));
  auto sum_on = [&p](dstd::node_t n) {
    return dstd::run_on(n, [](dstd::ref<dvec> r) { return std::accumulate(r->begin(), r->end(), 0L); }, p.borrow());
  };
  const auto nodes = dstd::num_nodes();
  long expect = 0;
  for (int round = 1; round <= 40; ++round) {
    if (round % 3 == 0) {
      // Another thread on this node writes, ordered by a mutex.
      dstd::mutex m;
      dstd::thread t = dstd::spawn_to(0, [&p, &m, round] {
        std::lock_guard g(m);
        (*p)[round % 64] += round;
      });
      t.join();
    } else {
      dvec& v = *p;
      for (int i = 0; i < 64; i += 7) v[i] += round;  // several writes in one epoch
    }
    expect = 0;
    for (int x : std::as_const(*p)) expect += x;
    EXPECT_EQ(sum_on(1 + round % (nodes - 1)), expect) << "round " << round;
  }
  EXPECT_GT(expect, 0);
}
// push_back trusts a tag kept with the capacity ("the buffer is on node t") instead
// of testing the buffer's address: every way the buffer leaves or comes back must
// keep that tag true, or a push_back would store into another node's partition.
TEST(Vector, PushBackAfterTheBufferMovedAwayAndBack) {
  if (dstd::num_nodes() < 3) GTEST_SKIP() << "needs 3 nodes";
  auto p = dstd::make_unique<dvec>();
  p->reserve(1000);  // room: every push_back below takes the short path if the tag says so
  for (int i = 0; i < 10; ++i) p->push_back(i);
  ASSERT_EQ(p->home(), 0u);
  for (node_t r = 1; r < dstd::num_nodes(); ++r) {
    auto back = dstd::run_on(
        r,
        [](dstd::unique_ptr<dvec> q, node_t r) {
          (*q)[0] += 1;                                   // a write moves the buffer here
          if (r % 2 == 0) q->push_back(static_cast<int>(100 + r));  // (odd r: the write alone)
          const std::uint64_t home = q.read().home();
          return step_result{std::move(q), home};
        },
        std::move(p), r);
    p = std::move(back.owner);
    EXPECT_EQ(back.seen, r);
    p->push_back(static_cast<int>(200 + r));  // the buffer is on r: it must move back first
    EXPECT_EQ(p->home(), 0u);
  }
  p->place_on(2);
  p->push_back(300);
  EXPECT_EQ(p->home(), 0u);
  auto v = dstd::make_vector_on<int>(1, std::size_t{5}, 1);
  v.reserve(64);  // moves it here: a non-const access
  v.place_on(1);  // capacity stays, the buffer leaves
  v.push_back(2);
  EXPECT_EQ(v.home(), 0u);
  EXPECT_EQ(std::accumulate(std::as_const(v).begin(), std::as_const(v).end(), 0), 7);
  std::vector<int> want;
  for (int i = 0; i < 10; ++i) want.push_back(i);
  want[0] += static_cast<int>(dstd::num_nodes()) - 1;
  for (node_t r = 1; r < dstd::num_nodes(); ++r) {
    if (r % 2 == 0) want.push_back(static_cast<int>(100 + r));
    want.push_back(static_cast<int>(200 + r));
  }
  want.push_back(300);
  const dvec& got = *std::as_const(p);
  EXPECT_EQ(std::vector<int>(got.begin(), got.end()), want);
}

TEST(Vector, PlacementAndErrors) {
  auto v = dstd::make_vector_on<int>(2, std::size_t{100}, 7);
  EXPECT_EQ(v.home(), 2u);
  EXPECT_EQ(std::as_const(v)[99], 7);
  v.place_on(3);
  EXPECT_EQ(v.home(), 3u);
  EXPECT_EQ(std::accumulate(std::as_const(v).begin(), std::as_const(v).end(), 0), 700);
  EXPECT_THROW(v.place_on(dstd::num_nodes()), std::invalid_argument);
  EXPECT_THROW((void)std::as_const(v).at(100), std::out_of_range);
  EXPECT_THROW(v.reserve(v.max_size() + 1), std::length_error);
  dstd::vector<char> big;
  EXPECT_THROW(big.reserve(v.max_size() * sizeof(int) - 64), std::bad_alloc);
  EXPECT_TRUE(big.empty());
}

// ---------------------------------------------------------------- tbox

struct Leaf {
  std::uint64_t v[16] = {};
};
struct Branch {
  dstd::tbox<Leaf> leaf;
  int id = 0;
  using dstd_relocatable = std::true_type;
  auto dstd_tboxes() { return std::tie(leaf); }
};
struct Root {
  dstd::tbox<Leaf> a;
  dstd::tbox<Branch> b;         // a tbox holding a tbox
  std::pair<int, dstd::tbox<Leaf>> c;
  int k = 0;
  using dstd_relocatable = std::true_type;
  auto dstd_tboxes() { return std::tie(a, b, c); }
};

struct homes {
  node_t root, a, b, b_leaf, c;
  bool all_local;
};
homes homes_of(const Root& r, node_t root_home) {
  return {root_home, r.a.home(), r.b.home(), r.b.read().leaf.home(), r.c.second.home(),
          r.a.is_local() && r.b.is_local() && r.b.read().leaf.is_local() && r.c.second.is_local()};
}

TEST(Tbox, TravelsWithItsOwnerInTheSameStep) {
  auto root = dstd::make_unique<Root>();
  root->a->v[0] = 1;
  root->b->leaf->v[0] = 2;
  root->c.second->v[0] = 3;
  const auto h0 = homes_of(root.read(), 0);
  EXPECT_TRUE(h0.all_local);
  for (node_t to : {2u, 1u, 3u}) {
    if (to >= dstd::num_nodes()) continue;
    struct res {
      using dstd_relocatable = std::true_type;
      dstd::unique_ptr<Root> root;
      homes h;
      std::uint64_t moves, bytes, sum;
    };
    auto r = dstd::run_on(
        to,
        [](dstd::unique_ptr<Root> p) {
          const auto s0 = dstd::coherence::local_stats();
          Root& w = *p;  // one write: the root and its four tboxes arrive together
          const auto s1 = dstd::coherence::local_stats();
          w.k += 1;
          const homes h = homes_of(w, dstd::node_id());
          const std::uint64_t sum = w.a.read().v[0] + w.b.read().leaf.read().v[0] + w.c.second.read().v[0];
          return res{std::move(p), h, s1.moves - s0.moves, s1.bytes_moved - s0.bytes_moved, sum};
        },
        std::move(root));
    root = std::move(r.root);
    EXPECT_TRUE(r.h.all_local) << "on node " << to;
    EXPECT_EQ(r.h.a, to);
    EXPECT_EQ(r.h.b, to);
    EXPECT_EQ(r.h.b_leaf, to);
    EXPECT_EQ(r.h.c, to);
    EXPECT_EQ(r.moves, 5u) << "root + 4 tboxes";
    EXPECT_EQ(r.bytes, sizeof(Root) + 3 * sizeof(Leaf) + sizeof(Branch));
    EXPECT_EQ(r.sum, 6u);
  }
  // Placement sends the tboxes along, and a vector of owners pulls them on a move.
  auto placed = dstd::make_unique_on<Root>(2);
  EXPECT_EQ(placed.read().a.home(), 2u);
  EXPECT_EQ(placed.read().b.read().leaf.home(), 2u);
  dstd::vector<Branch> branches(8);
  branches.place_on(3);
  EXPECT_EQ(std::as_const(branches)[7].leaf.home(), 3u);
  branches[0].id = 1;  // moves the buffer back here: every leaf comes with it
  for (const auto& b : std::as_const(branches)) EXPECT_TRUE(b.leaf.is_local());
}

TEST(Tbox, ConstReadsOfARemoteOwnerDoNotMoveAnything) {
  auto root = dstd::make_unique_on<Root>(1);
  const auto s0 = dstd::coherence::local_stats();
  const Root& r = std::as_const(root).read();
  EXPECT_EQ(r.b.read().leaf.read().v[0], 0u);
  EXPECT_EQ(r.a.home(), 1u);
  EXPECT_EQ(dstd::coherence::local_stats().moves, s0.moves);
}

}  // namespace
