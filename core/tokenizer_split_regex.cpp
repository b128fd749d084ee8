#include "core/tokenizer_split_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/tokenizer_utf8.h"

namespace moulin::tokenizer_detail {
namespace {

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
struct MatchContextDeleter {
  void operator()(pcre2_match_context* context) const { pcre2_match_context_free(context); }
};
struct JitStackDeleter {
  void operator()(pcre2_jit_stack* stack) const { pcre2_jit_stack_free(stack); }
};

// JIT frames for patterns with backtracking over long runs (megabytes of spaces) outgrow PCRE2's 32 KiB default.
constexpr std::size_t kJitStackStart = 32 * 1024;
constexpr std::size_t kJitStackMax = 8 * 1024 * 1024;

std::string pcre2_message(int error_code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(error_code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

std::string translate_oniguruma_pattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '\\' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    const char escaped = pattern[++i];
    if (escaped == 's') {
      out += "\\p{White_Space}";
    } else if (escaped == 'S') {
      out += "\\P{White_Space}";
    } else {
      out += '\\';
      out += escaped;
    }
  }
  return out;
}

struct SplitRegex::Compiled {
  std::unique_ptr<pcre2_code, CodeDeleter> code;
};

SplitRegex::SplitRegex(const std::string& pattern, const std::string& source, const std::string& field)
    : pattern_(pattern), compiled_(std::make_unique<Compiled>()) {
  const auto translated = translate_oniguruma_pattern(pattern);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  compiled_->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                      PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr));
  if (!compiled_->code)
    throw FormatError(fmt::format("{}: field '{}' is not a valid regex ({} at offset {} of \"{}\")", source, field,
                                  pcre2_message(error_code), error_offset, translated));
  // Without JIT support (some architectures) the interpreter gives the same matches, only slower.
  jit_compiled_ = pcre2_jit_compile(compiled_->code.get(), PCRE2_JIT_COMPLETE) == 0;
}

SplitRegex::~SplitRegex() = default;
SplitRegex::SplitRegex(SplitRegex&&) noexcept = default;
SplitRegex& SplitRegex::operator=(SplitRegex&&) noexcept = default;

struct SplitRegex::Matcher::State {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match_data;
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> context;
  std::unique_ptr<pcre2_jit_stack, JitStackDeleter> jit_stack;
};

SplitRegex::Matcher::Matcher(const SplitRegex& regex) : regex_(&regex), state_(std::make_unique<State>()) {
  state_->match_data.reset(pcre2_match_data_create_from_pattern(regex.compiled_->code.get(), nullptr));
  state_->context.reset(pcre2_match_context_create(nullptr));
  if (!state_->match_data || !state_->context) throw std::bad_alloc();
  if (regex.jit_compiled_) {
    state_->jit_stack.reset(pcre2_jit_stack_create(kJitStackStart, kJitStackMax, nullptr));
    if (!state_->jit_stack) throw std::bad_alloc();
    pcre2_jit_stack_assign(state_->context.get(), nullptr, state_->jit_stack.get());
  }
}

SplitRegex::Matcher::~Matcher() = default;
SplitRegex::Matcher::Matcher(Matcher&&) noexcept = default;
SplitRegex::Matcher& SplitRegex::Matcher::operator=(Matcher&&) noexcept = default;

void SplitRegex::Matcher::split(std::string_view text, std::vector<ByteSpan>& pieces) {
  pieces.clear();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const auto* code = regex_->compiled_->code.get();
  auto* match_data = state_->match_data.get();
  const PCRE2_SIZE* offsets = pcre2_get_ovector_pointer(match_data);
  std::size_t gap_start = 0;  // end of the previous match: the text after it up to the next match is a pre-token too
  std::size_t search_from = 0;
  bool matched_before = false;
  while (search_from <= text.size()) {
    const int result =
        regex_->jit_compiled_
            ? pcre2_jit_match(code, subject, text.size(), search_from, PCRE2_NO_UTF_CHECK, match_data,
                              state_->context.get())
            : pcre2_match(code, subject, text.size(), search_from, PCRE2_NO_UTF_CHECK, match_data, state_->context.get());
    if (result == PCRE2_ERROR_NOMATCH) break;
    if (result < 0)
      throw UnsupportedError(fmt::format("pre-tokenizer regex failed on a {}-byte text: {}", text.size(),
                                         pcre2_message(result)));
    const std::size_t begin = offsets[0], end = offsets[1];
    // Empty matches (impossible with Llama 3's pattern) split the text but add no pre-token. Like Oniguruma's
    // iterator, skip one right after the previous match and step over a character after each, to make progress.
    const bool empty = begin == end;
    if (!(empty && matched_before && begin == gap_start)) {
      if (begin > gap_start) pieces.emplace_back(gap_start, begin);
      if (!empty) pieces.emplace_back(begin, end);
      gap_start = end;
      matched_before = true;
    }
    search_from = end;
    if (empty) {
      if (search_from == text.size()) break;
      next_code_point(text, search_from);
    }
  }
  if (gap_start < text.size()) pieces.emplace_back(gap_start, text.size());
}

bool SplitRegex::Matcher::matches_whole(std::string_view text) {
  const int result = pcre2_match(regex_->compiled_->code.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                                 0, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, state_->match_data.get(), state_->context.get());
  return result >= 0 && pcre2_get_ovector_pointer(state_->match_data.get())[1] == text.size();
}

bool is_word_character(char32_t code_point) {
  if (code_point < 0x80)
    return (code_point >= '0' && code_point <= '9') || (code_point >= 'a' && code_point <= 'z') ||
           (code_point >= 'A' && code_point <= 'Z') || code_point == '_';
  static const SplitRegex word_class(R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}])", "moulin", "word class");
  static thread_local SplitRegex::Matcher matcher(word_class);
  std::string encoded;
  append_utf8(encoded, code_point);
  return matcher.matches_whole(encoded);
}

}  // namespace moulin::tokenizer_detail
