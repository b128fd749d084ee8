#include "core/tokenizer_hash_tables.h"

namespace moulin::tokenizer_detail {

MergeTable::MergeTable(std::size_t expected_size) {
  std::size_t capacity = 16;
  while (capacity < expected_size * 2) capacity *= 2;
  rehash(capacity);
}

void MergeTable::insert(std::int32_t left, std::int32_t right, Merge merge) {
  if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
  const std::uint64_t key = pack(left, right);
  std::size_t slot = mix64(key) & mask_;
  while (slots_[slot].key != kEmpty && slots_[slot].key != key) slot = (slot + 1) & mask_;
  if (slots_[slot].key == kEmpty) ++size_;
  slots_[slot] = Slot{key, merge};
}

void MergeTable::rehash(std::size_t capacity) {
  std::vector<Slot> old(capacity);
  old.swap(slots_);
  mask_ = capacity - 1;
  for (const Slot& entry : old) {
    if (entry.key == kEmpty) continue;
    std::size_t slot = mix64(entry.key) & mask_;
    while (slots_[slot].key != kEmpty) slot = (slot + 1) & mask_;
    slots_[slot] = entry;
  }
}

}  // namespace moulin::tokenizer_detail
