#pragma once
// The Llama 3 tokenizer, read from a Hugging Face tokenizer.json (byte-level BPE with ignore_merges, a Split
// pre-tokenizer regex, added/special tokens, a TemplateProcessing post-processor) and, when present, the
// tokenizer_config.json beside it (bos_token, eos_token, add_bos_token, chat_template).
//
// encode and decode give exactly the ids and text of Hugging Face tokenizers (the Rust library behind
// transformers' fast tokenizers); tests/tokenizer checks this against it on megabytes of text. Torch-free.
// What it refuses (normalizers, Unigram/WordPiece models, BPE dropout, ...) throws UnsupportedError at load.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moulin {

using TokenId = std::int32_t;

struct EncodeOptions {
  // Apply the post-processor's template: for Llama 3, <|begin_of_text|> first. As HF's add_special_tokens.
  bool add_special_tokens = true;
  // Recognise special-token strings ("<|eot_id|>") in the text. false tokenizes them as plain text, as
  // transformers' split_special_tokens=True does: use it for text that must not inject control tokens.
  bool allow_special = true;
};

class Tokenizer {
 public:
  // Reads `tokenizer_json` and the tokenizer_config.json in the same folder, when there is one.
  // Throws FileError (missing or unreadable file), FormatError (malformed JSON, missing or mistyped field,
  // merge of tokens absent from the vocabulary, ...) and UnsupportedError; each names the file and the field.
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  // `folder`/tokenizer.json and `folder`/tokenizer_config.json.
  static Tokenizer from_folder(const std::filesystem::path& folder);

  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Thread-safe: concurrent calls each get their own working memory (regex state, word cache).
  // Throws ArgumentError when `text` is not valid UTF-8 (HF only accepts Unicode strings).
  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const;
  // Bytes of the tokens, ill-formed UTF-8 replaced by U+FFFD as HF does (each run between two added tokens on
  // its own). Ids outside the vocabulary are skipped, as in HF.
  std::string decode(const std::vector<TokenId>& ids, bool skip_special_tokens = false) const;

  // Tokens are spelled as in tokenizer.json: byte-level ("Ġworld" for " world") or an added token's content.
  std::optional<TokenId> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(TokenId id) const;
  bool is_special(TokenId id) const;
  // One past the largest id (128256 for Llama 3): the size an embedding matrix needs.
  std::size_t vocab_size() const;

  // From tokenizer_config.json's bos_token, or else the one special token the post-processor puts first.
  std::optional<TokenId> bos_id() const;
  // From tokenizer_config.json's eos_token (empty without one).
  std::vector<TokenId> eos_ids() const;
  // The ids encode adds around the text when add_special_tokens is true.
  const std::vector<TokenId>& prefix_ids() const;
  const std::vector<TokenId>& suffix_ids() const;

  // tokenizer_config.json's strings (nullopt without the file or the field). chat_template feeds
  // detect_chat_format (core/chat_format.h).
  const std::optional<std::string>& bos_token() const;
  const std::optional<std::string>& eos_token() const;
  const std::optional<std::string>& chat_template() const;

  const std::filesystem::path& path() const;

  struct Impl;  // opaque here; core/tokenizer_impl.h defines it for the loader and the encoder

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace moulin
