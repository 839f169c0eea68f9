// socialnet — DeathStarBench's social network, compose-post path, as threads (as in
// DRust's SocialNet port: calls between microservices become function calls and
// thread spawns on shared data instead of RPCs).
//
// Requests come in batches of B concurrent compose-post calls. Request i is handled
// by a compose-post thread on node i % nodes (the frontends behind a load balancer).
// It "receives" the request there: user, text and 5 synthetic 480x270 RGB frames are
// generated from (seed, i), so the upload's bytes land in that node's memory. Then
// it calls the services:
//  - unique-id: a snowflake-style 64-bit id, [41-bit clock | 10-bit machine | 12-bit
//    sequence], with the batch number as the clock and the request's slot in the
//    batch as the (logical) machine instance and sequence. No timestamp and no
//    physical node in it, so ids are the same for every run and node count.
//  - media (a thread, started first so it overlaps the text service, as DSB's
//    compose-post issues its service calls concurrently): media storage is sharded by
//    post id and the media service runs where the post's media shard lives. It takes
//    ownership of the frames (the vector of frames moves as 24 bytes); its first
//    write to a frame brings the frame's buffer to that node (on several nodes,
//    most uploads cross the fabric, as they would between real services). It blends
//    a fixed logo into the bottom-right corner, computes a digest of the watermarked
//    frame and a 32x18 thumbnail (15x15 box filter), stores (media id, digest,
//    thumbnail) in its shard and returns the digests.
//  - text: splits the text into words; @mentions are looked up in the user
//    directory (a read-only hash index on node 0 that other nodes read through
//    their caches; unknown names are dropped, as UserMentionService does), URLs are
//    replaced in the text by a short URL derived from a hash of the URL.
//  - post storage: the post (id, user, composed text, mentioned ids, short URLs,
//    media digests) goes into a sharded store, each shard a vector of posts behind
//    its own mutex, shards homed round-robin over the nodes. Writers take the shard's
//    buffer to their node (writes move), as kvstore's puts do.
//  - user timeline: the post id is inserted, in id order, into its author's
//    timeline (timelines sharded by user, each shard behind its own mutex). Home
//    timelines (follower fan-out) are left out.
//
// Where the time goes: pixels. Per request about 2 MB of frames are generated (the
// upload, inside the timed phase: it is the frontend receiving the request), then
// watermarked, digested and thumbnailed; the social part (ids, text, stores) is
// small next to it, as in DSB where the media path is the heavy one. In dstd the
// frame buffers are written through data() once per pass (raw pointers in the pixel
// loops), so the locality check of a non-const access is paid per frame, not per
// pixel. Throughput counts requests (posts) per second of the timed phase.
//
// Flags: --requests (posts), --batch (concurrent compose-post threads per batch),
// --users (the directory; mentions and authors are drawn from it), --shards (of each
// store), --seed.
//
// Determinism: everything a request produces is a function of (seed, i) and its
// batch slot, and the only order-dependent structures are read back in a canonical
// order: posts and media records sorted by id, timelines kept sorted by id. The
// result checksums the posts, the media store and the timelines, after checking them
// against each other (every post's digests equal its media records', every post is
// in its author's timeline).
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../common/port.hpp"
#include "../common/zipf.hpp"

namespace {

constexpr std::size_t kWidth = 480, kHeight = 270, kChannels = 3;
constexpr std::size_t kFrameBytes = kWidth * kHeight * kChannels;  // 388,800
constexpr std::size_t kFrames = 5;                                 // per post
constexpr std::size_t kThumbScale = 15;                            // 480x270 -> 32x18
constexpr std::size_t kThumbW = kWidth / kThumbScale, kThumbH = kHeight / kThumbScale;
constexpr std::size_t kThumbBytes = kThumbW * kThumbH * kChannels;
constexpr std::size_t kLogoW = 96, kLogoH = 32, kLogoMargin = 8;

// The watermark: an ellipse with a checkered fill, as alpha values (0 = transparent).
constexpr std::array<std::uint8_t, kLogoW * kLogoH> make_logo() {
  std::array<std::uint8_t, kLogoW * kLogoH> a{};
  for (std::size_t y = 0; y < kLogoH; ++y)
    for (std::size_t x = 0; x < kLogoW; ++x) {
      // inside (x - 48)^2 / 48^2 + (y - 16)^2 / 16^2 < 1, in integers
      const long dx = static_cast<long>(2 * x + 1) - static_cast<long>(kLogoW);
      const long dy = static_cast<long>(2 * y + 1) - static_cast<long>(kLogoH);
      const bool inside = dx * dx * static_cast<long>(kLogoH * kLogoH) + dy * dy * static_cast<long>(kLogoW * kLogoW) <
                          static_cast<long>(kLogoW * kLogoW * kLogoH * kLogoH);
      a[y * kLogoW + x] = inside ? static_cast<std::uint8_t>((((x >> 3) ^ (y >> 3)) & 1) ? 160 : 96) : 0;
    }
  return a;
}
constexpr std::array<std::uint8_t, kLogoW * kLogoH> kLogo = make_logo();

// ---- data ---------------------------------------------------------------------------

struct post {
  using dstd_relocatable = std::true_type;
  std::uint64_t id = 0, user = 0;
  ns::string text;                           // with URLs shortened
  ns::vector<std::uint64_t> mentions;        // user ids, in order of appearance
  ns::vector<ns::string> urls;               // the short URLs
  std::array<std::uint64_t, kFrames> media{};  // digests of the watermarked frames
};

struct media_record {
  using dstd_relocatable = std::true_type;
  std::uint64_t id = 0, digest = 0;
  ns::vector<std::uint8_t> thumbnail;
};

struct post_shard {
  using dstd_relocatable = std::true_type;
  mutable ns::mutex m;
  ns::vector<post> posts;
};

struct media_shard {
  using dstd_relocatable = std::true_type;
  mutable ns::mutex m;
  ns::vector<media_record> items;
};

struct timeline_shard {
  using dstd_relocatable = std::true_type;
  mutable ns::mutex m;
  ns::vector<ns::vector<std::uint64_t>> lines;  // user u is lines[u / shards] of shard u % shards
};

// The user directory: names by id and an open-addressing index name -> id + 1.
struct directory {
  using dstd_relocatable = std::true_type;
  ns::vector<ns::string> names;
  ns::vector<std::uint32_t> index;  // size a power of two, 0 = empty
};

struct world {
  using dstd_relocatable = std::true_type;
  ns::shared_ptr<directory> users;
  ns::vector<ns::shared_ptr<post_shard>> posts;
  ns::vector<ns::shared_ptr<media_shard>> media;
  ns::vector<ns::shared_ptr<timeline_shard>> timelines;
};

struct config {
  std::uint64_t users, shards, seed;
};

using frame_set = ns::vector<ns::vector<std::uint8_t>>;
using media_result = std::array<std::uint64_t, kFrames>;

// A full-avalanche hash of an id (ids have structured low bits; port::mix alone keeps
// them, so its value modulo a shard count would not spread).
std::uint64_t spread(std::uint64_t id, std::uint64_t salt) { return port::rng64(port::mix(salt, id)).next(); }

std::string username(std::uint64_t u) { return "user_" + std::to_string(u); }

std::size_t name_hash(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a: the same in every build
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return static_cast<std::size_t>(h);
}

// ---- unique-id service ----------------------------------------------------------------

std::uint64_t unique_id(std::uint64_t batch, std::uint64_t slot) {
  const std::uint64_t clock = (batch + 1) & ((1ull << 41) - 1);
  const std::uint64_t machine = slot & 1023, sequence = (slot >> 10) & 4095;
  return clock << 22 | machine << 12 | sequence;
}

std::uint64_t media_id(std::uint64_t post_id, std::size_t frame) { return post_id << 3 | frame; }

// ---- the request (what the client sends) ------------------------------------------------

constexpr const char* kWords[] = {"the",   "a",     "good",   "morning", "coffee", "train", "late",  "again",
                                  "great", "talk",  "today",  "with",    "new",    "paper", "ship",  "it",
                                  "why",   "does",  "this",   "build",   "fail",   "love",  "city",  "rain",
                                  "look",  "at",    "photos", "from",    "trip",   "best",  "ever",  "thanks"};
constexpr const char* kDomains[] = {"example.com", "news.site",  "blog.example.org", "photos.host",
                                    "video.tube",  "shop.store", "docs.project.io",  "maps.place"};

struct request {
  std::uint64_t user;
  std::string text;
};

request make_request(const config& c, std::uint64_t i) {
  port::rng64 r(port::mix(c.seed, i));
  request q{r.next() % c.users, {}};
  const std::uint64_t words = 10 + r.next() % 24;
  char hex[24];
  for (std::uint64_t w = 0; w < words; ++w) {
    if (w) q.text.push_back(' ');
    const std::uint64_t k = r.next();
    if (k % 10 == 0) {
      q.text += (k / 10) % 16 == 0 ? "@ghost_" + std::to_string(k % 997) : "@" + username(r.next() % c.users);
    } else if (k % 10 == 1 && (k / 10) % 3 == 0) {
      std::snprintf(hex, sizeof hex, "%012llx", static_cast<unsigned long long>(r.next() >> 16));
      q.text += std::string("https://") + kDomains[(k / 30) % 8] + "/p/" + hex;
    } else {
      q.text += kWords[(k / 10) % 32];
    }
  }
  return q;
}

// Frame f of request i: a gradient with noise, 8 bytes at a time (byte lanes may
// carry into each other: it only has to be deterministic), written through data() once.
ns::vector<std::uint8_t> make_frame(const config& c, std::uint64_t i, std::size_t f) {
  constexpr std::size_t row_words = kWidth * kChannels / 8;  // 180
  static_assert(kWidth * kChannels % 24 == 0);
  const std::uint64_t base = port::mix(port::mix(c.seed, i), f);
  std::array<std::uint64_t, row_words> gx;  // horizontal gradient, bytes x / 2 + shift
  for (std::size_t j = 0; j < row_words; ++j) {
    std::uint64_t w = 0;
    for (std::size_t k = 0; k < 8; ++k)
      w |= static_cast<std::uint64_t>(((j * 8 + k) / kChannels / 2 + base) & 127) << (8 * k);
    gx[j] = w;
  }
  ns::vector<std::uint8_t> px(kFrameBytes);
  std::uint8_t* p = px.data();
  for (std::size_t y = 0; y < kHeight; ++y) {
    std::uint64_t gy[3] = {};  // vertical gradient, different per channel; period 3 words
    for (std::size_t k = 0; k < 24; ++k)
      gy[k / 8] |= static_cast<std::uint64_t>((y * (k % kChannels + 1) / 4) & 63) << (8 * (k % 8));
    port::rng64 r(port::mix(base, y));
    std::uint8_t* row = p + y * kWidth * kChannels;
    for (std::size_t j = 0; j < row_words; ++j) {
      const std::uint64_t w = gx[j] + gy[j % 3] + (r.next() & 0x1f1f1f1f1f1f1f1full);
      std::memcpy(row + 8 * j, &w, 8);
    }
  }
  return px;
}

// ---- media service ----------------------------------------------------------------------

void watermark(std::uint8_t* p) {
  const std::size_t x0 = kWidth - kLogoW - kLogoMargin, y0 = kHeight - kLogoH - kLogoMargin;
  for (std::size_t y = 0; y < kLogoH; ++y) {
    std::uint8_t* row = p + ((y0 + y) * kWidth + x0) * kChannels;
    for (std::size_t x = 0; x < kLogoW; ++x) {
      const unsigned a = kLogo[y * kLogoW + x];
      for (std::size_t ch = 0; ch < kChannels; ++ch) {
        std::uint8_t& v = row[x * kChannels + ch];
        v = static_cast<std::uint8_t>((v * (256 - a) + 255 * a) >> 8);
      }
    }
  }
}

std::uint64_t frame_digest(const std::uint8_t* p) {
  std::uint64_t h[4] = {1, 2, 3, 4};  // four lanes over 8-byte words, then folded
  static_assert(kFrameBytes % 32 == 0);
  for (std::size_t w = 0; w < kFrameBytes; w += 32)
    for (int l = 0; l < 4; ++l) {
      std::uint64_t x;
      std::memcpy(&x, p + w + l * 8, 8);
      h[l] = (h[l] ^ x) * 0x100000001b3ull;
      h[l] ^= h[l] >> 29;
    }
  return port::mix(port::mix(h[0], h[1]), port::mix(h[2], h[3]));
}

// A 15x15 box filter: column sums of 15 rows (a vectorizable pass over the frame),
// then each band's sums folded into 32 thumbnail pixels.
ns::vector<std::uint8_t> thumbnail(const std::uint8_t* p) {
  constexpr std::size_t row_bytes = kWidth * kChannels;
  ns::vector<std::uint8_t> t(kThumbBytes);
  std::uint8_t* out = t.data();
  for (std::size_t ty = 0; ty < kThumbH; ++ty) {
    std::array<std::uint16_t, row_bytes> col{};  // at most 15 * 255
    for (std::size_t y = ty * kThumbScale; y < (ty + 1) * kThumbScale; ++y) {
      const std::uint8_t* in = p + y * row_bytes;
      for (std::size_t b = 0; b < row_bytes; ++b) col[b] = static_cast<std::uint16_t>(col[b] + in[b]);
    }
    for (std::size_t tx = 0; tx < kThumbW; ++tx)
      for (std::size_t ch = 0; ch < kChannels; ++ch) {
        std::uint32_t sum = 0;
        for (std::size_t x = tx * kThumbScale; x < (tx + 1) * kThumbScale; ++x) sum += col[x * kChannels + ch];
        *out++ = static_cast<std::uint8_t>(sum / (kThumbScale * kThumbScale));
      }
  }
  return t;
}

// Runs on the node of the post's media shard; owns the frames from here on.
void media_service(frame_set frames, std::uint64_t post_id, ns::shared_ptr<media_shard> shard,
                   ns::shared_ptr<media_result> out) {
  media_result digests{};
  std::vector<media_record> done;
  done.reserve(kFrames);
  std::size_t f = 0;
  for (auto& px : frames) {  // non-const: each frame's buffer comes to this node
    std::uint8_t* p = px.data();
    watermark(p);
    digests[f] = frame_digest(p);
    done.push_back({media_id(post_id, f), digests[f], thumbnail(p)});
    ++f;
  }
  {
    std::lock_guard<ns::mutex> g(std::as_const(shard)->m);
    auto& items = shard->items;
    for (auto& r : done) items.push_back(std::move(r));
  }
  *out = digests;
}

// ---- text service -----------------------------------------------------------------------

// UserMentionService: the id of a user name, or -1.
std::uint64_t find_user(const directory& d, std::string_view name) {
  const std::size_t mask = d.index.size() - 1;
  for (std::size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
    const std::uint32_t s = d.index[i];
    if (s == 0) return ~0ull;
    if (std::string_view(d.names[s - 1]) == name) return s - 1;
  }
}

// UrlShortenService: a deterministic 10-character code from a hash of the URL.
ns::string shorten(std::string_view url) {
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  char s[] = "http://sh.rt/..........";
  std::uint64_t h = port::mix(name_hash(url), url.size());
  for (std::size_t k = 0; k < 10; ++k, h /= 62) s[13 + k] = digits[h % 62];
  return ns::string(s, sizeof s - 1);
}

void compose_text(const directory& users, std::string_view text, post& p) {
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    const std::string_view word = text.substr(pos, end - pos);
    if (pos) p.text.push_back(' ');
    if (word.size() > 1 && word[0] == '@') {
      const std::uint64_t u = find_user(users, word.substr(1));
      if (u != ~0ull) p.mentions.push_back(u);
      p.text += word;
    } else if (word.starts_with("http://") || word.starts_with("https://")) {
      p.urls.push_back(shorten(word));
      p.text += std::string_view(p.urls.back());
    } else {
      p.text += word;
    }
    pos = end + 1;
  }
}

// ---- compose-post -------------------------------------------------------------------------

void compose_post(ns::shared_ptr<world> wp, config c, std::uint64_t i, std::uint64_t batch, std::uint64_t slot) {
  const std::uint64_t id = unique_id(batch, slot);
  const request q = make_request(c, i);
  // Handles of the shards this post touches, taken before the first synchronization
  // (after it, a cached copy of the world may no longer be looked at).
  const std::uint64_t m_shard = spread(id, 2) % c.shards;
  ns::shared_ptr<directory> users;
  ns::shared_ptr<post_shard> ps;
  ns::shared_ptr<media_shard> ms;
  ns::shared_ptr<timeline_shard> ts;
  {
    const world& w = *std::as_const(wp);
    users = w.users;
    ps = w.posts[spread(id, 1) % c.shards];
    ms = w.media[m_shard];
    ts = w.timelines[q.user % c.shards];
  }

  // The upload: frames land here, then go to the media service.
  frame_set frames;
  frames.reserve(kFrames);
  for (std::size_t f = 0; f < kFrames; ++f) frames.push_back(make_frame(c, i, f));
  auto digests = ns::make_shared<media_result>();
  auto media =
      port::spawn_on(static_cast<unsigned>(m_shard), media_service, std::move(frames), id, std::move(ms), digests);

  post p;
  p.id = id;
  p.user = q.user;
  compose_text(*std::as_const(users), q.text, p);

  media.join();
  p.media = *std::as_const(digests);

  {  // post storage
    std::lock_guard<ns::mutex> g(std::as_const(ps)->m);
    ps->posts.push_back(std::move(p));
  }
  {  // user timeline, kept in id order
    std::lock_guard<ns::mutex> g(std::as_const(ts)->m);
    auto& line = ts->lines[q.user / c.shards];
    line.insert(std::upper_bound(line.cbegin(), line.cend(), id), id);
  }
}

std::uint64_t hash_text(std::uint64_t h, std::string_view s) {
  h = port::mix(h, s.size());
  for (std::size_t k = 0; k < s.size(); k += 8) {
    std::uint64_t x = 0;
    std::memcpy(&x, s.data() + k, std::min<std::size_t>(8, s.size() - k));
    h = port::mix(h, x);
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  port::options o(argc, argv, argv[0],
                  "socialnet: DeathStarBench's compose-post (unique id, text, media watermarking of 5 480x270 frames, "
                  "post storage, user timelines) as threads, in batches of concurrent requests");
  const std::uint64_t requests = o.get("requests", 2000, 96, "compose-post requests");
  const std::uint64_t batch = o.get("batch", 16, 8, "concurrent requests per batch");
  config c{};
  c.users = o.get("users", 4000, 200, "registered users");
  c.shards = o.get("shards", 32, 8, "shards of the post, media and timeline stores");
  c.seed = o.get("seed", 7, 7, "seed of the requests");
  o.done();
  if (!requests || !batch || !c.users || !c.shards || batch > (1u << 22) || c.users >= (1u << 31)) {
    std::fprintf(stderr, "socialnet: sizes must be positive, --batch at most 4194304, --users below 2^31\n");
    return 2;
  }
  const unsigned nodes = port::nodes();

  // The world, built here (node 0): the user directory and the sharded stores.
  auto wp = ns::make_shared<world>();
  {
    world& w = *wp;
    directory d;
    std::size_t cap = 1;
    while (cap < 2 * c.users) cap <<= 1;
    std::vector<std::uint32_t> index(cap, 0);
    d.names.reserve(c.users);
    for (std::uint64_t u = 0; u < c.users; ++u) {
      const std::string name = username(u);
      d.names.push_back(ns::string(name));
      std::size_t k = name_hash(name) & (cap - 1);
      while (index[k]) k = (k + 1) & (cap - 1);
      index[k] = static_cast<std::uint32_t>(u + 1);
    }
    d.index = ns::vector<std::uint32_t>(index.begin(), index.end());
    w.users = ns::make_shared<directory>(std::move(d));
    const std::uint64_t per_shard = (c.users + c.shards - 1) / c.shards;
    for (std::uint64_t s = 0; s < c.shards; ++s) {
      const auto node = static_cast<unsigned>(s % nodes);
      w.posts.push_back(port::make_shared_on<post_shard>(node));
      w.media.push_back(port::make_shared_on<media_shard>(node));
      auto ts = port::make_shared_on<timeline_shard>(node);
      ts->lines = port::make_vector_on<ns::vector<std::uint64_t>>(node, per_shard);
      w.timelines.push_back(std::move(ts));
    }
  }

  // Timed phase: batches of concurrent compose-post threads.
  port::timed_phase clock;
  for (std::uint64_t first = 0, b = 0; first < requests; first += batch, ++b) {
    std::vector<ns::thread> threads;
    for (std::uint64_t slot = 0; slot < batch && first + slot < requests; ++slot)
      threads.push_back(
          port::spawn_on(static_cast<unsigned>((first + slot) % nodes), compose_post, wp, c, first + slot, b, slot));
    for (auto& t : threads) t.join();
  }
  const double secs = clock.end();

  // Read the stores back in id order and check them against each other.
  const world& w = *std::as_const(wp);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> media;  // (media id, digest)
  std::uint64_t hm = 0;
  {
    std::vector<std::array<std::uint64_t, 3>> recs;  // id, digest, thumbnail hash
    for (const auto& sp : std::as_const(w.media))
      for (const media_record& r : std::as_const(sp)->items) {
        const std::uint8_t* t = r.thumbnail.data();
        recs.push_back({r.id, r.digest,
                        hash_text(0, std::string_view(reinterpret_cast<const char*>(t), r.thumbnail.size()))});
      }
    std::sort(recs.begin(), recs.end());
    for (const auto& r : recs) {
      hm = port::mix(port::mix(port::mix(hm, r[0]), r[1]), r[2]);
      media.emplace_back(r[0], r[1]);
    }
  }
  std::vector<std::array<std::uint64_t, 3>> posts;  // id, hash, user
  std::uint64_t mentions = 0, urls = 0, bad = 0;
  for (const auto& sp : std::as_const(w.posts))
    for (const post& p : std::as_const(sp)->posts) {
      std::uint64_t h = port::mix(p.id, p.user);
      h = hash_text(h, p.text);
      for (const std::uint64_t m : p.mentions) {
        h = port::mix(h, m);
        bad += m >= c.users;
      }
      for (const auto& u : p.urls) h = hash_text(h, u);
      for (std::size_t f = 0; f < kFrames; ++f) {
        h = port::mix(h, p.media[f]);
        const auto key = std::make_pair(media_id(p.id, f), std::uint64_t{0});
        const auto it = std::lower_bound(media.begin(), media.end(), key);
        bad += it == media.end() || it->first != media_id(p.id, f) || it->second != p.media[f];
      }
      mentions += p.mentions.size();
      urls += p.urls.size();
      posts.push_back({p.id, h, p.user});
    }
  std::sort(posts.begin(), posts.end());
  for (std::size_t k = 1; k < posts.size(); ++k) bad += posts[k][0] == posts[k - 1][0];
  std::uint64_t h = port::mix(requests, hm);
  for (const auto& x : posts) h = port::mix(port::mix(h, x[0]), x[1]);
  std::uint64_t in_timelines = 0;
  for (std::uint64_t u = 0; u < c.users; ++u) {
    const auto& line = std::as_const(std::as_const(w.timelines[u % c.shards])->lines[u / c.shards]);
    h = port::mix(h, u);
    for (const std::uint64_t id : line) {  // each entry is a post of this user
      h = port::mix(h, id);
      ++in_timelines;
      const auto it = std::lower_bound(posts.begin(), posts.end(), std::array<std::uint64_t, 3>{id, 0, 0});
      bad += it == posts.end() || (*it)[0] != id || (*it)[2] != u;
    }
  }
  if (bad || posts.size() != requests || media.size() != kFrames * requests || in_timelines != requests) {
    std::fprintf(stderr,
                 "socialnet: inconsistent stores: %llu posts, %llu media records, %llu timeline entries for %llu "
                 "requests; %llu bad\n",
                 static_cast<unsigned long long>(posts.size()), static_cast<unsigned long long>(media.size()),
                 static_cast<unsigned long long>(in_timelines), static_cast<unsigned long long>(requests),
                 static_cast<unsigned long long>(bad));
    return 1;
  }
  std::fprintf(stderr, "socialnet: %llu posts (%llu mentions, %llu urls, %.1f MB of frames) on %u node(s), %.3f s\n",
               static_cast<unsigned long long>(requests), static_cast<unsigned long long>(mentions),
               static_cast<unsigned long long>(urls), static_cast<double>(requests * kFrames * kFrameBytes) / 1e6,
               nodes, secs);
  port::report(h, static_cast<double>(requests) / secs, "requests/s");
  return 0;
}
