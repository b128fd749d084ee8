#pragma once
// The Split pre-tokenizer: a regex whose matches become the pre-tokens (behaviour "Isolated": the text between
// matches is kept as pre-tokens too). Compiled with PCRE2 in UTF + UCP mode, JIT-compiled when the library can.
//
// HF tokenizers runs the pattern with Oniguruma, whose \s is the Unicode White_Space property; PCRE2's UCP \s
// differs (it also matches U+180E). The only rewrite moulin makes is \s -> \p{White_Space} and \S ->
// \P{White_Space}, so that both engines see the same classes; the rest of the pattern is used as written.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moulin::tokenizer_detail {

// [begin, end) byte offsets of a pre-token inside the text given to `split`.
using ByteSpan = std::pair<std::uint32_t, std::uint32_t>;

class SplitRegex {
 public:
  // Throws FormatError naming `source` and `field` when the pattern does not compile.
  SplitRegex(const std::string& pattern, const std::string& source, const std::string& field);
  ~SplitRegex();
  SplitRegex(SplitRegex&&) noexcept;
  SplitRegex& operator=(SplitRegex&&) noexcept;

  const std::string& pattern() const { return pattern_; }
  bool jit_compiled() const { return jit_compiled_; }

  // Per-thread matching state (PCRE2 match data and JIT stack); create one per thread and reuse it.
  class Matcher {
   public:
    explicit Matcher(const SplitRegex& regex);
    ~Matcher();
    Matcher(Matcher&&) noexcept;
    Matcher& operator=(Matcher&&) noexcept;
    // Replaces `pieces` with the pre-tokens of `text`, which must be valid UTF-8 (the caller checks it once for
    // the whole input, so PCRE2 is told not to re-check it at every match).
    void split(std::string_view text, std::vector<ByteSpan>& pieces);
    // Whether the pattern, anchored at the start, matches all of `text` (valid UTF-8).
    bool matches_whole(std::string_view text);

   private:
    struct State;
    const SplitRegex* regex_;
    std::unique_ptr<State> state_;
  };

 private:
  struct Compiled;
  std::string pattern_;
  std::unique_ptr<Compiled> compiled_;
  bool jit_compiled_ = false;
};

// The Oniguruma-compatible rewrite described above (exposed for tests).
std::string translate_oniguruma_pattern(std::string_view pattern);

// Whether Rust's regex crate counts the character as \w (Alphabetic, marks, decimal digits, connector
// punctuation, joiners): the test behind added tokens' single_word flag.
bool is_word_character(char32_t code_point);

}  // namespace moulin::tokenizer_detail
