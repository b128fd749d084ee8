#include "organisms/digest.h"

#include <cstdint>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "core/error.h"

namespace moulin::organisms {

struct Sha256::Context {
  EVP_MD_CTX* handle = EVP_MD_CTX_new();
  bool finished = false;
  ~Context() { EVP_MD_CTX_free(handle); }
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  if (!context_->handle || EVP_DigestInit_ex(context_->handle, EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256: OpenSSL could not initialise a digest context");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

Sha256& Sha256::update(const void* bytes, std::size_t size) {
  if (context_->finished) throw Error("SHA-256: update after hex()");
  if (size > 0 && EVP_DigestUpdate(context_->handle, bytes, size) != 1) throw Error("SHA-256: OpenSSL update failed");
  return *this;
}

Sha256& Sha256::update_field(std::string_view text) {
  const auto size = static_cast<std::uint64_t>(text.size());
  update(&size, sizeof size);
  return update(text);
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->handle, digest, &length) != 1) throw Error("SHA-256: OpenSSL final failed");
  context_->finished = true;
  std::string out;
  for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

std::string sha256_hex(std::string_view text) { return Sha256().update(text).hex(); }

}  // namespace moulin::organisms
