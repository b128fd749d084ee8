#pragma once
// Input and output shared by the subcommands that deal in text and token ids: reading stdin, parsing and
// printing id lists, and finding the tokenizer of a model folder.
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer.h"

namespace moulin::cli {

// Everything on stdin, byte for byte. Throws ArgumentError when stdin is a terminal (nothing piped), naming
// `what_to_give` ("give the text as an argument") so the command does not sit waiting.
std::string read_stdin(std::string_view what_to_give);

// "128000, 9906 1917": non-negative integers separated by commas and/or whitespace. Throws ArgumentError naming
// `source` ("--ids") and the offending word.
std::vector<TokenId> parse_token_ids(std::string_view text, std::string_view source);
// "128000 9906 1917"
std::string format_token_ids(const std::vector<TokenId>& ids);

// `tokenizer_path` (a tokenizer.json, or a folder holding one) when given, else `model_folder`/tokenizer.json.
// Throws FileError saying how to point at a tokenizer when neither has one, followed by `hint`.
Tokenizer load_tokenizer(const std::string& tokenizer_path, const std::string& model_folder,
                         std::string_view hint = {});

}  // namespace moulin::cli
