// wordcount — the Transparent DSM Library paper's word count over a generated text
// whose words follow a Zipf distribution. The text is generated in chunks, each
// placed on node (chunk % nodes); workers count the words of their chunks into a
// local hash table of strings, then main merges the per-worker tables.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "../common/port.hpp"
#include "../common/zipf.hpp"

namespace {

// The word with id `i`: letters in base 26, at least two of them.
ns::string word_of(std::uint64_t i) {
  ns::string w;
  do {
    w.push_back(static_cast<char>('a' + i % 26));
    i /= 26;
  } while (i);
  if (w.size() < 2) w.push_back('x');
  return w;
}

struct count_entry {
  using dstd_relocatable = std::true_type;
  ns::string word;
  std::uint64_t count = 0;
};

// Open addressing over ns::vector, keyed by ns::string: the same code in both builds.
class counter {
 public:
  explicit counter(std::size_t capacity) : slots_(capacity) {}
  void add(std::string_view w) {
    std::size_t i = std::hash<std::string_view>{}(w) & (slots_.size() - 1);
    for (;;) {
      count_entry& e = slots_[i];
      if (e.count == 0) {
        e.word = ns::string(w);
        e.count = 1;
        if (++used_ * 2 > slots_.size()) grow();
        return;
      }
      if (std::string_view(e.word) == w) {
        ++e.count;
        return;
      }
      i = (i + 1) & (slots_.size() - 1);
    }
  }
  ns::vector<count_entry> take() {
    ns::vector<count_entry> out;
    for (auto& e : slots_)
      if (e.count) out.push_back(std::move(e));
    return out;
  }

 private:
  void grow() {
    ns::vector<count_entry> old(slots_.size() * 2);
    old.swap(slots_);
    used_ = 0;
    for (auto& e : old)
      if (e.count) {
        std::size_t i = std::hash<std::string_view>{}(std::string_view(e.word)) & (slots_.size() - 1);
        while (slots_[i].count) i = (i + 1) & (slots_.size() - 1);
        slots_[i] = std::move(e);
        ++used_;
      }
  }
  ns::vector<count_entry> slots_;
  std::size_t used_ = 0;
};

void worker(ns::shared_ptr<ns::vector<ns::string>> chunks, std::uint64_t first, std::uint64_t step,
            ns::shared_ptr<ns::vector<count_entry>> out) {
  counter c(1 << 12);
  const auto& all = *std::as_const(chunks);
  for (std::uint64_t i = first; i < all.size(); i += step) {
    const std::string_view text = all[i];  // const: a read copy where the chunk is remote
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t end = std::min(text.find(' ', pos), text.size());
      if (end > pos) c.add(text.substr(pos, end - pos));
      pos = end + 1;
    }
  }
  *out = c.take();
}

}  // namespace

int main(int argc, char** argv) {
  port::options o(argc, argv, argv[0], "wordcount: counts the words of a generated Zipf text, chunks over workers");
  const std::uint64_t words = o.get("words", 8 << 20, 1 << 18, "words in the text");
  const std::uint64_t vocab = o.get("vocab", 100000, 5000, "distinct words to draw from");
  const std::uint64_t chunk_words = o.get("chunk", 1 << 16, 1 << 13, "words per chunk");
  const std::uint64_t workers = o.get("workers", 8, 4, "worker threads, spread over the nodes");
  const std::uint64_t seed = o.get("seed", 11, 11, "seed of the text");
  o.done();
  if (!words || !vocab || !chunk_words || !workers) {
    std::fprintf(stderr, "wordcount: every size must be positive\n");
    return 2;
  }
  const unsigned nodes = port::nodes();

  // Generate the text, chunk by chunk; chunk c is placed on node c % nodes.
  std::vector<ns::string> dictionary;
  for (std::uint64_t i = 0; i < vocab; ++i) dictionary.push_back(word_of(i));
  const port::zipf z(vocab, 0.99, port::zeta(vocab, 0.99));
  port::rng64 r(seed);
  auto chunks = ns::make_shared<ns::vector<ns::string>>();
  std::uint64_t bytes = 0;
  for (std::uint64_t done = 0; done < words; done += chunk_words) {
    ns::string text;
    for (std::uint64_t k = 0; k < chunk_words && done + k < words; ++k) {
      text += dictionary[z(r)];
      text.push_back(' ');
    }
    bytes += text.size();
    chunks->push_back(std::move(text));
    port::place_on(chunks->back(), static_cast<unsigned>((chunks->size() - 1) % nodes));
  }

  std::vector<ns::shared_ptr<ns::vector<count_entry>>> results;
  for (std::uint64_t w = 0; w < workers; ++w) results.push_back(port::make_shared_on<ns::vector<count_entry>>(static_cast<unsigned>(w % nodes)));
  port::timed_phase clock;
  std::vector<ns::thread> threads;
  // Worker w takes chunks w, w + workers, ...: with workers a multiple of the node
  // count, it runs on the node that holds them.
  for (std::uint64_t w = 0; w < workers; ++w)
    threads.push_back(port::spawn_on(static_cast<unsigned>(w % nodes), worker, chunks, w, workers, results[w]));
  for (auto& t : threads) t.join();

  // Merge: sort every (word, count) pair by word and add up equal words.
  std::vector<std::pair<std::string, std::uint64_t>> all;
  for (const auto& res : results)
    for (const auto& e : *std::as_const(res)) all.emplace_back(std::string(std::string_view(e.word)), e.count);
  std::sort(all.begin(), all.end());
  const double secs = clock.end();
  std::uint64_t h = 0, total = 0, distinct = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::uint64_t n = 0;
    std::size_t j = i;
    for (; j < all.size() && all[j].first == all[i].first; ++j) n += all[j].second;
    for (char ch : all[i].first) h = port::mix(h, static_cast<unsigned char>(ch));
    h = port::mix(h, n);
    total += n;
    ++distinct;
    i = j;
  }
  if (total != words) {
    std::fprintf(stderr, "wordcount: counted %llu words, generated %llu\n", static_cast<unsigned long long>(total),
                 static_cast<unsigned long long>(words));
    return 1;
  }
  std::fprintf(stderr, "wordcount: %llu words, %llu distinct, %.1f MB\n", static_cast<unsigned long long>(total),
               static_cast<unsigned long long>(distinct), static_cast<double>(bytes) / 1e6);
  port::report(h, static_cast<double>(bytes) / secs / 1e6, "MB/s");
  return 0;
}
