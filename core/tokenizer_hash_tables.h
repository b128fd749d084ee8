#pragma once
// Open-addressing hash tables for the tokenizer's hot lookups: vocabulary bytes -> id, (left, right) -> merge, and
// the per-thread cache of pre-token bytes -> ids. std::unordered_map would allocate a node per entry and, in C++17,
// cannot be probed with a string_view without building a std::string, which the encoder would do per pre-token.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace moulin::tokenizer_detail {

// A fast non-cryptographic hash of a byte string (8 bytes per step, murmur3's finaliser to mix).
inline std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

inline std::uint64_t hash_bytes(std::string_view bytes) {
  std::uint64_t hash = 0x9E3779B97F4A7C15ull ^ (bytes.size() * 0xC2B2AE3D27D4EB4Full);
  const char* data = bytes.data();
  std::size_t left = bytes.size();
  for (; left >= 8; left -= 8, data += 8) {
    std::uint64_t chunk;
    std::memcpy(&chunk, data, 8);
    hash = (hash ^ mix64(chunk)) * 0x9E3779B97F4A7C15ull;
  }
  if (left > 0) {
    std::uint64_t chunk = 0;
    std::memcpy(&chunk, data, left);
    hash = (hash ^ mix64(chunk)) * 0x9E3779B97F4A7C15ull;
  }
  return mix64(hash);
}

// Byte-string keys (copied into one arena) to small trivially copyable values. Never shrinks; `clear` empties it.
template <typename Value>
class BytesKeyedTable {
 public:
  explicit BytesKeyedTable(std::size_t expected_size = 16) { rehash(capacity_for(expected_size)); }

  const Value* find(std::string_view key) const { return find(key, hash_bytes(key)); }

  const Value* find(std::string_view key, std::uint64_t hash) const {
    for (std::size_t slot = hash & mask_;; slot = (slot + 1) & mask_) {
      const Slot& entry = slots_[slot];
      if (entry.key_length == kEmpty) return nullptr;
      if (entry.hash == hash && entry.key_length == key.size() &&
          std::memcmp(arena_.data() + entry.key_offset, key.data(), key.size()) == 0)
        return &entry.value;
    }
  }

  // Inserts or overwrites.
  void insert(std::string_view key, const Value& value) { insert(key, hash_bytes(key), value); }

  void insert(std::string_view key, std::uint64_t hash, const Value& value) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
    for (std::size_t slot = hash & mask_;; slot = (slot + 1) & mask_) {
      Slot& entry = slots_[slot];
      if (entry.key_length == kEmpty) {
        entry = Slot{hash, static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(key.size()), value};
        arena_.append(key.data(), key.size());
        ++size_;
        return;
      }
      if (entry.hash == hash && entry.key_length == key.size() &&
          std::memcmp(arena_.data() + entry.key_offset, key.data(), key.size()) == 0) {
        entry.value = value;
        return;
      }
    }
  }

  std::size_t size() const { return size_; }
  std::size_t arena_bytes() const { return arena_.size(); }

  void clear() {
    for (Slot& entry : slots_) entry.key_length = kEmpty;
    arena_.clear();
    size_ = 0;
  }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t key_offset = 0;
    std::uint32_t key_length = kEmpty;
    Value value{};
  };

  static std::size_t capacity_for(std::size_t size) {
    std::size_t capacity = 16;
    while (capacity < size * 2) capacity *= 2;
    return capacity;
  }

  void rehash(std::size_t capacity) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    for (const Slot& entry : old) {
      if (entry.key_length == kEmpty) continue;
      std::size_t slot = entry.hash & mask_;
      while (slots_[slot].key_length != kEmpty) slot = (slot + 1) & mask_;
      slots_[slot] = entry;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// What merging a pair of adjacent tokens gives: its priority (the line number in "merges") and the merged token.
struct Merge {
  std::uint32_t rank = 0;
  std::int32_t merged_id = -1;
};

// (left id, right id) -> Merge. Built once when loading; read-only afterwards.
class MergeTable {
 public:
  explicit MergeTable(std::size_t expected_size = 0);
  // Inserts or overwrites: HF collects the merges into a map, so a repeated pair keeps its last rank.
  void insert(std::int32_t left, std::int32_t right, Merge merge);

  const Merge* find(std::int32_t left, std::int32_t right) const {
    const std::uint64_t key = pack(left, right);
    for (std::size_t slot = mix64(key) & mask_;; slot = (slot + 1) & mask_) {
      const Slot& entry = slots_[slot];
      if (entry.key == key) return &entry.merge;
      if (entry.key == kEmpty) return nullptr;
    }
  }

  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint64_t kEmpty = ~0ull;
  struct Slot {
    std::uint64_t key = kEmpty;
    Merge merge;
  };
  static std::uint64_t pack(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
  }
  void rehash(std::size_t capacity);

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace moulin::tokenizer_detail
