#pragma once
// SHA-256 digests (OpenSSL) that name corpora, token streams and training runs: the ground truth records the
// corpus digest, and caches and checkpoints are keyed by them.
#include <memory>
#include <string>
#include <string_view>

namespace moulin::organisms {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  Sha256& update(const void* bytes, std::size_t size);
  Sha256& update(std::string_view text) { return update(text.data(), text.size()); }
  // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
  Sha256& update_field(std::string_view text);
  // Lower-case hex of the digest; the object cannot be updated afterwards.
  std::string hex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

std::string sha256_hex(std::string_view text);

}  // namespace moulin::organisms
