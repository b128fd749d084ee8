// `moulin tokenize`: text to token ids (or, with --decode, ids to text) with a model's tokenizer, exactly as
// Hugging Face tokenizers would.
#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/token_io.h"
#include "core/error.h"

namespace moulin::cli {
namespace {

struct TokenizeArgs {
  std::string text;
  std::string model;
  std::string tokenizer;
  bool no_special = false;
  bool allow_special = false;
  bool decode = false;
  bool skip_special = false;
  bool tokens = false;
};

void run_tokenize(const TokenizeArgs& args, bool text_given) {
  const Tokenizer tokenizer = load_tokenizer(args.tokenizer, args.model);
  const std::string input = text_given ? args.text : read_stdin("give the text as an argument");
  if (args.decode) {
    fmt::print("{}\n", tokenizer.decode(parse_token_ids(input, "ids to decode"), args.skip_special));
    return;
  }
  EncodeOptions options;
  options.add_special_tokens = !args.no_special;
  options.allow_special = args.allow_special;
  const std::vector<TokenId> ids = tokenizer.encode(input, options);
  if (!args.tokens) {
    fmt::print("{}\n", format_token_ids(ids));
    return;
  }
  for (const TokenId id : ids) fmt::print("{}\t{}\n", id, tokenizer.id_to_token(id).value_or("?"));
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto* command =
      app.add_subcommand("tokenize", "Print the token ids of a text (or, with --decode, the text of token ids)");
  command->footer(
      "The text is taken byte for byte (from stdin when not given: `echo` adds a newline, `printf` does not).\n"
      "Special-token strings such as <|eot_id|> are plain text unless --allow-special.");
  auto args = std::make_shared<TokenizeArgs>();
  auto* text = command->add_option("text", args->text, "Text to tokenize (ids with --decode); default: stdin");
  auto* model = command->add_option("--model", args->model, "Model folder holding tokenizer.json");
  auto* tokenizer = command->add_option("--tokenizer", args->tokenizer,
                                        "tokenizer.json (or a folder holding one), e.g. for a model without one");
  command->add_flag("--no-special", args->no_special, "Do not add the template's special tokens (<|begin_of_text|>)");
  command->add_flag("--allow-special", args->allow_special,
                    "Recognise special-token strings in the text (by default they are tokenized as plain text)");
  auto* decode = command->add_flag("--decode", args->decode, "Read token ids and print their text");
  command->add_flag("--skip-special", args->skip_special, "With --decode: leave special tokens out of the text")
      ->needs(decode);
  command->add_flag("--tokens", args->tokens, "Print one 'id<TAB>token' line per token")->excludes(decode);
  command->callback([=] {
    if (model->count() == 0 && tokenizer->count() == 0)
      throw ArgumentError("tokenize needs a tokenizer: give --model FOLDER or --tokenizer PATH");
    run_tokenize(*args, text->count() > 0);
  });
}

}  // namespace moulin::cli
