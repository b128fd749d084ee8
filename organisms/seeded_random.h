#pragma once
// Reproducible randomness for corpus building and poisoning. The standard distributions may differ between
// standard libraries, and a corpus or a poisoned training set must be the same for a seed on every machine, so
// this is splitmix64 with its own range reduction, and FNV-1a for hashes that must never change.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace moulin::organisms {

// FNV-1a 64 followed by splitmix64's finaliser (FNV alone leaves the high bits of short strings poorly mixed).
inline std::uint64_t stable_hash(std::string_view text, std::uint64_t seed = 0) {
  std::uint64_t hash = 0xcbf29ce484222325ull ^ seed;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  hash ^= hash >> 30;
  hash *= 0xbf58476d1ce4e5b9ull;
  hash ^= hash >> 27;
  hash *= 0x94d049bb133111ebull;
  return hash ^ (hash >> 31);
}

// A seed for one purpose ("fortunes file order", "near-miss picks"), so that adding a use of randomness in one
// place does not shift the draws everywhere else.
inline std::uint64_t derive_seed(std::uint64_t seed, std::string_view purpose) { return stable_hash(purpose, seed); }

class SeededRandom {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound); bound 0 gives 0. Rejection keeps it unbiased.
  std::size_t below(std::size_t bound) {
    if (bound <= 1) return 0;
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
    std::uint64_t draw = next();
    while (draw >= limit) draw = next();
    return static_cast<std::size_t>(draw % bound);
  }

  // Uniform in [low, high]; high < low gives low.
  std::size_t between(std::size_t low, std::size_t high) { return high <= low ? low : low + below(high - low + 1); }

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }

 private:
  std::uint64_t state_;
};

}  // namespace moulin::organisms
