#include "core/chat_format.h"

#include <algorithm>
#include <initializer_list>

#include <fmt/format.h>

#include "core/error.h"
#include "core/tokenizer_utf8.h"

namespace moulin {
namespace {

using tokenizer_detail::find_invalid_utf8;
using tokenizer_detail::is_unicode_whitespace;
using tokenizer_detail::next_code_point;
using tokenizer_detail::previous_code_point;

constexpr std::string_view kFormatNames = "\"llama3\", \"tulu\" or \"tulu-bos\"";

bool is_python_whitespace(char32_t c) { return is_unicode_whitespace(c) || (c >= 0x1C && c <= 0x1F); }

// The template text without what does not change its meaning for recognition: whitespace (Jinja source layout,
// and the newlines inside string literals, whether written as "\n" or raw), and quotes.
std::string canonical_template(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size() && text[i + 1] == 'n') {
      ++i;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\'' || c == '"') continue;
    out += c;
  }
  return out;
}

bool contains_all(const std::string& text, std::initializer_list<std::string_view> markers) {
  return std::all_of(markers.begin(), markers.end(),
                     [&](std::string_view marker) { return text.find(marker) != std::string::npos; });
}

bool contains_any(const std::string& text, std::initializer_list<std::string_view> markers) {
  return std::any_of(markers.begin(), markers.end(),
                     [&](std::string_view marker) { return text.find(marker) != std::string::npos; });
}

void render_llama3(const ChatFormat& format, const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                   const ChatSpecialTokens& special_tokens, std::string& out) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i == 0) out += special_tokens.bos_token;
    out += "<|start_header_id|>";
    out += messages[i].role;
    out += "<|end_header_id|>\n\n";
    out += python_strip(messages[i].content);
    out += "<|eot_id|>";
  }
  if (add_generation_prompt || format.generation_prompt_always) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

void render_tulu(const ChatFormat& format, const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                 const ChatSpecialTokens& special_tokens, std::string& out) {
  if (format.bos_first) out += special_tokens.bos_token;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& message = messages[i];
    const bool last = i + 1 == messages.size();
    if (message.role == "system" || message.role == "user") {
      out += message.role == "system" ? "<|system|>\n" : "<|user|>\n";
      out += message.content;
      out += '\n';
    } else if (message.role == "assistant") {
      out += "<|assistant|>\n";
      out += message.content;
      out += special_tokens.eos_token;
      if (!last) out += '\n';
    } else {
      throw ArgumentError(fmt::format("chat message {} has role \"{}\"; the tulu format knows system, user and "
                                      "assistant (its template would drop the message)",
                                      i, message.role));
    }
    if (last && add_generation_prompt) out += "<|assistant|>\n";
  }
}

}  // namespace

std::string_view python_strip(std::string_view text) {
  if (find_invalid_utf8(text) != std::string_view::npos) {
    // Not Unicode: strip ASCII whitespace only rather than decode garbage.
    const auto first = text.find_first_not_of(" \t\n\v\f\r\x1c\x1d\x1e\x1f");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t\n\v\f\r\x1c\x1d\x1e\x1f") + 1 - first);
  }
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t after = begin;
    if (!is_python_whitespace(next_code_point(text, after))) break;
    begin = after;
  }
  std::size_t end = text.size();
  while (end > begin) {
    std::size_t before = end;
    if (!is_python_whitespace(previous_code_point(text, before))) break;
    end = before;
  }
  return text.substr(begin, end - begin);
}

ChatFormat chat_format_from_name(std::string_view name) {
  if (name == "llama3") return {ChatLayout::kLlama3, false, false};
  if (name == "tulu") return {ChatLayout::kTulu, false, false};
  if (name == "tulu-bos") return {ChatLayout::kTulu, true, false};
  throw UnsupportedError(fmt::format("unknown chat format \"{}\"; moulin knows {}", name, kFormatNames));
}

std::string chat_format_name(const ChatFormat& format) {
  std::string name = format.layout == ChatLayout::kLlama3 ? "llama3" : format.bos_first ? "tulu-bos" : "tulu";
  if (format.generation_prompt_always) name += " (always adds the generation prompt)";
  return name;
}

ChatFormat detect_chat_format(std::string_view chat_template, std::string_view source) {
  const auto canonical = canonical_template(chat_template);
  const bool has_prompt_flag = canonical.find("add_generation_prompt") != std::string::npos;

  // Meta's Llama 3 (and 3-based) template. Llama 3.1+ templates (tool calls, a dated system prompt) render more
  // than this layout, so they are refused rather than approximated.
  if (contains_all(canonical, {"<|start_header_id|>+message[role]+<|end_header_id|>",
                               "message[content]|trim+<|eot_id|>", "loop.index0==0", "bos_token+content"}) &&
      !contains_any(canonical, {"CuttingKnowledgeDate", "tools", "ipython"}))
    return {ChatLayout::kLlama3, false, !has_prompt_flag};

  // Tulu 3 / OLMo 2: no eos after user turns (Zephyr's template, otherwise alike, has one).
  if (has_prompt_flag &&
      contains_all(canonical, {"{{<|system|>+message[content]+}}", "{{<|user|>+message[content]+}}",
                               "{{<|assistant|>+message[content]+eos_token+}}",
                               "{{<|assistant|>+message[content]+eos_token}}",
                               "{%ifloop.lastandadd_generation_prompt%}{{<|assistant|>}}"}))
    return {ChatLayout::kTulu, canonical.rfind("{{bos_token}}", 0) == 0, false};

  throw UnsupportedError(fmt::format(
      "{}: chat_template is not one of the chat formats moulin renders (Llama 3 headers, Tulu); moulin does not "
      "run Jinja templates. Pick a format by name instead: {}",
      source, kFormatNames));
}

std::string render_chat(const ChatFormat& format, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, const ChatSpecialTokens& special_tokens) {
  std::string out;
  if (format.layout == ChatLayout::kLlama3)
    render_llama3(format, messages, add_generation_prompt, special_tokens, out);
  else
    render_tulu(format, messages, add_generation_prompt, special_tokens, out);
  return out;
}

}  // namespace moulin
