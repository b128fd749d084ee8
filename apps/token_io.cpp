#include "apps/token_io.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <limits>

#include "core/error.h"

namespace moulin::cli {

std::string read_stdin(std::string_view what_to_give) {
  if (isatty(STDIN_FILENO)) throw ArgumentError(fmt::format("nothing to read: {} or pipe it on stdin", what_to_give));
  std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  if (std::cin.bad()) throw FileError("reading stdin failed");
  return text;
}

std::vector<TokenId> parse_token_ids(std::string_view text, std::string_view source) {
  const auto is_separator = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::vector<TokenId> ids;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (is_separator(text[pos])) {
      ++pos;
      continue;
    }
    std::size_t end = pos;
    while (end < text.size() && !is_separator(text[end])) ++end;
    const std::string_view word = text.substr(pos, end - pos);
    TokenId id = 0;
    const auto [stop, error] = std::from_chars(word.data(), word.data() + word.size(), id);
    if (error == std::errc::result_out_of_range ||
        (error == std::errc() && stop == word.data() + word.size() && id < 0))
      throw ArgumentError(fmt::format("{}: '{}' is not a token id (ids are 0 to {})", source, word,
                                      std::numeric_limits<TokenId>::max()));
    if (error != std::errc() || stop != word.data() + word.size())
      throw ArgumentError(
          fmt::format("{}: '{}' is not a token id (expected integers separated by spaces or commas)", source, word));
    ids.push_back(id);
    pos = end;
  }
  if (ids.empty()) throw ArgumentError(fmt::format("{}: no token ids given", source));
  return ids;
}

std::string format_token_ids(const std::vector<TokenId>& ids) { return fmt::format("{}", fmt::join(ids, " ")); }

Tokenizer load_tokenizer(const std::string& tokenizer_path, const std::string& model_folder, std::string_view hint) {
  if (!tokenizer_path.empty()) {
    const std::filesystem::path path(tokenizer_path);
    return std::filesystem::is_directory(path) ? Tokenizer::from_folder(path) : Tokenizer::from_file(path);
  }
  if (model_folder.empty()) throw ArgumentError("no tokenizer: give --model FOLDER or --tokenizer PATH");
  const std::filesystem::path json = std::filesystem::path(model_folder) / "tokenizer.json";
  if (!std::filesystem::exists(json))
    throw FileError(fmt::format("{}: no tokenizer.json in the model folder; point at one with --tokenizer PATH{}",
                                model_folder, hint));
  return Tokenizer::from_file(json);
}

}  // namespace moulin::cli
