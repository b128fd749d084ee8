// `moulin generate`: continue a prompt (text, a chat message, or raw token ids) with a model, streaming the new
// tokens to stdout as they come. Statistics go to stderr, so stdout holds only the generated text or ids.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include "apps/commands.h"
#include "apps/progress.h"
#include "apps/token_io.h"
#include "core/chat_format.h"
#include "core/error.h"
#include "core/generate.h"
#include "core/runtime.h"
#include "core/torch_dtype.h"

namespace moulin::cli {
namespace {

struct GenerateArgs {
  std::string model;
  std::string prompt;
  std::string ids;
  std::string tokenizer;
  bool chat = false;
  std::string chat_format;
  std::string system;
  bool allow_special = false;
  std::int64_t max_new_tokens = 64;
  double temperature = 0.0;
  std::int64_t top_k = 0;
  double top_p = 1.0;
  std::uint64_t seed = 0;
  double repetition_penalty = 1.0;
  std::vector<std::string> stops;
  bool ignore_eos = false;
  bool print_ids = false;
  std::string dtype = "float32";
  std::string device = "cpu";
  bool quiet = false;
};

// What the user chose on the command line that option values alone do not tell.
struct GivenOptions {
  bool prompt, ids, top_k, top_p;
};

SamplingOptions sampling_options(const GenerateArgs& args, const GivenOptions& given) {
  if (!(args.temperature >= 0.0))
    throw ArgumentError(fmt::format("--temperature must be >= 0 (0: greedy), got {}", args.temperature));
  SamplingOptions sampling;
  sampling.do_sample = args.temperature > 0.0;
  if (!sampling.do_sample && (given.top_k || given.top_p))
    throw ArgumentError("--top-k and --top-p restrict sampling: give --temperature > 0 as well (0 means greedy)");
  sampling.temperature = sampling.do_sample ? args.temperature : 1.0;
  sampling.top_k = args.top_k;
  sampling.top_p = args.top_p;
  sampling.repetition_penalty = args.repetition_penalty;
  sampling_validate(sampling);
  return sampling;
}

ChatSpecialTokens chat_special_tokens(const Tokenizer& tokenizer) {
  const auto spelled = [&](const std::optional<std::string>& text, std::optional<TokenId> id) {
    if (text) return *text;
    if (id) return tokenizer.id_to_token(*id).value_or("");
    return std::string();
  };
  const auto eos = tokenizer.eos_ids();
  return {spelled(tokenizer.bos_token(), tokenizer.bos_id()),
          spelled(tokenizer.eos_token(), eos.empty() ? std::nullopt : std::optional<TokenId>(eos.front()))};
}

ChatFormat chat_format_for(const GenerateArgs& args, const Tokenizer& tokenizer) {
  if (!args.chat_format.empty()) return chat_format_from_name(args.chat_format);
  const auto config = tokenizer.path().parent_path() / "tokenizer_config.json";
  if (!tokenizer.chat_template())
    throw ArgumentError(fmt::format(
        "--chat: {} has no chat_template; choose one with --chat-format llama3|tulu|tulu-bos", config.string()));
  return detect_chat_format(*tokenizer.chat_template(), config.string());
}

std::vector<TokenId> prompt_ids(const GenerateArgs& args, const GivenOptions& given, const Tokenizer* tokenizer) {
  if (given.ids) return parse_token_ids(args.ids, "--ids");
  const std::string text = given.prompt ? args.prompt : read_stdin("give --prompt TEXT or --ids IDS");
  if (args.chat) {
    std::vector<ChatMessage> messages;
    if (!args.system.empty()) messages.push_back({"system", args.system});
    messages.push_back({"user", text});
    const std::string rendered = render_chat(chat_format_for(args, *tokenizer), messages,
                                             /*add_generation_prompt=*/true, chat_special_tokens(*tokenizer));
    // The template already placed bos and spells its control tokens as text.
    return tokenizer->encode(rendered, EncodeOptions{/*add_special_tokens=*/false, /*allow_special=*/true});
  }
  return tokenizer->encode(text, EncodeOptions{/*add_special_tokens=*/true, args.allow_special});
}

// Writes the new tokens to stdout as they arrive: their ids separated by spaces, or their text. For text, each
// token decodes all new tokens again (a byte-level token can hold part of a character, so a token's text alone
// is not its share of the text) and prints what was not printed yet, holding back a trailing U+FFFD that may
// still be an incomplete character.
class TokenPrinter {
 public:
  // `tokenizer` nullptr: print ids.
  explicit TokenPrinter(const Tokenizer* tokenizer) : tokenizer_(tokenizer) {}

  void add(TokenId token) {
    ids_.push_back(token);
    if (tokenizer_)
      print_text(/*final=*/false);
    else
      fmt::print("{}{}", ids_.size() == 1 ? "" : " ", token);
    std::fflush(stdout);
  }
  void finish() {
    if (tokenizer_) print_text(/*final=*/true);
    fmt::print("\n");
    std::fflush(stdout);
  }

 private:
  void print_text(bool final) {
    const std::string text = tokenizer_->decode(ids_, /*skip_special_tokens=*/true);
    static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
    const bool incomplete = text.size() >= kReplacement.size() &&
                            text.compare(text.size() - kReplacement.size(), kReplacement.size(), kReplacement) == 0;
    if ((incomplete && !final) || text.size() <= printed_) return;
    std::fwrite(text.data() + printed_, 1, text.size() - printed_, stdout);
    printed_ = text.size();
  }

  const Tokenizer* tokenizer_;
  std::vector<TokenId> ids_;
  std::size_t printed_ = 0;
};

// config.json's eos ids, then the tokenizer's (an instruct model's <|eot_id|> may be only there).
std::vector<TokenId> eos_ids_of(const LlamaModel& model, const Tokenizer* tokenizer) {
  std::vector<TokenId> eos;
  const auto add = [&](TokenId id) {
    if (std::find(eos.begin(), eos.end(), id) == eos.end()) eos.push_back(id);
  };
  for (const auto id : model.config().eos_token_ids) add(static_cast<TokenId>(id));
  if (tokenizer)
    for (const TokenId id : tokenizer->eos_ids()) add(id);
  return eos;
}

void run_generate(const GenerateArgs& args, const GivenOptions& given) {
  if (args.max_new_tokens < 0)
    throw ArgumentError(fmt::format("--max-new-tokens must be >= 0, got {}", args.max_new_tokens));
  GenerateOptions options;
  options.max_new_tokens = args.max_new_tokens;
  options.sampling = sampling_options(args, given);
  options.seed = args.seed;
  options.stop_strings = args.stops;

  // Raw ids need no tokenizer unless stop strings must be read as text.
  std::optional<Tokenizer> tokenizer;
  if (!given.ids || !args.stops.empty())
    tokenizer = load_tokenizer(args.tokenizer, args.model,
                               given.ids ? "; --stop needs one" : " (or give token ids with --ids)");
  const std::vector<TokenId> prompt = prompt_ids(args, given, tokenizer ? &*tokenizer : nullptr);
  if (tokenizer) options.decode = token_decoder(*tokenizer);

  init_runtime();
  const LlamaModel model =
      LlamaModel::load(args.model, LoadOptions{parse_model_scalar_type(args.dtype), parse_device(args.device)});
  if (!args.ignore_eos) options.eos_ids = eos_ids_of(model, tokenizer ? &*tokenizer : nullptr);

  // Streamed tokens already show progress on a terminal; a bar would fight them for the line.
  std::optional<Progress> progress;
  if (!args.quiet)
    progress.emplace("generate", args.max_new_tokens, "tokens",
                     isatty(STDOUT_FILENO) ? ProgressStyle::kSummaryOnly : ProgressStyle::kAuto);
  TokenPrinter printer(given.ids || args.print_ids ? nullptr : &*tokenizer);
  const auto start = std::chrono::steady_clock::now();
  std::optional<double> first_token_seconds;  // prompt processing plus one step
  options.on_token = [&](std::size_t, TokenId token) {
    if (!first_token_seconds)
      first_token_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    printer.add(token);
    if (progress) progress->advance();
    return true;
  };

  const auto result = generate(model, {prompt}, options);
  printer.finish();
  if (progress)
    progress->finish(fmt::format(", prompt {} tokens, first token after {:.2f} s, stop: {}", prompt.size(),
                                 first_token_seconds.value_or(0.0), stop_reason_name(result.front().stop_reason)));
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto* command = app.add_subcommand("generate", "Continue a prompt with a model, streaming the new tokens to stdout");
  command->footer(
      "Prints only the new text (with --ids: the new token ids); statistics go to stderr.\n"
      "Greedy by default; --temperature > 0 samples. Stops at max-new-tokens, an eos id (config.json's and the\n"
      "tokenizer's, unless --ignore-eos) or a --stop string (kept in the output).");
  auto args = std::make_shared<GenerateArgs>();
  command->add_option("--model", args->model, "Model folder (config.json + safetensors)")->required();
  auto* prompt = command->add_option("--prompt", args->prompt, "Prompt text (default: stdin)");
  auto* ids = command
                  ->add_option("--ids", args->ids,
                               "Prompt as token ids ('1 2 3' or '1,2,3'); prints new ids, needs no tokenizer")
                  ->excludes(prompt);
  command->add_option("--tokenizer", args->tokenizer, "tokenizer.json (or its folder) when the model folder has none");
  auto* chat = command->add_flag("--chat", args->chat, "Send the prompt as a user message in the model's chat format")
                   ->excludes(ids);
  auto* chat_format =
      command
          ->add_option("--chat-format", args->chat_format,
                       "llama3, tulu or tulu-bos (default: from tokenizer_config.json's chat_template; implies --chat)")
          ->excludes(ids);
  auto* system = command->add_option("--system", args->system, "System message (with --chat)");
  command
      ->add_flag("--allow-special", args->allow_special,
                 "Recognise special-token strings in a plain prompt (by default they are plain text)")
      ->excludes(ids);
  command->add_option("--max-new-tokens", args->max_new_tokens, "Most tokens to generate")->capture_default_str();
  command->add_option("--temperature", args->temperature, "Sampling temperature; 0 is greedy")->capture_default_str();
  auto* top_k = command->add_option("--top-k", args->top_k, "Sample among the k most likely tokens (0: all)");
  auto* top_p = command->add_option("--top-p", args->top_p, "Sample from the smallest set with this much probability");
  command->add_option("--seed", args->seed, "Seed of the sampler")->capture_default_str();
  command
      ->add_option("--repetition-penalty", args->repetition_penalty,
                   "Divide positive (multiply negative) logits of tokens already present (1: off)")
      ->capture_default_str();
  command->add_option("--stop", args->stops, "Stop once the new text contains this string (repeatable)");
  command->add_flag("--ignore-eos", args->ignore_eos, "Do not stop at eos tokens");
  command->add_flag("--print-ids", args->print_ids, "Print the new token ids instead of their text (implied by --ids)");
  command->add_option("--dtype", args->dtype, "float32, bfloat16 or float16")->capture_default_str();
  command->add_option("--device", args->device, "cpu, cuda or cuda:N")->capture_default_str();
  command->add_flag("--quiet,-q", args->quiet, "No statistics on stderr");
  command->callback([=] {
    GenerateArgs run_args = *args;
    run_args.chat = chat->count() > 0 || chat_format->count() > 0;
    if (system->count() > 0 && !run_args.chat) throw ArgumentError("--system needs --chat (or --chat-format)");
    run_generate(run_args, GivenOptions{prompt->count() > 0, ids->count() > 0, top_k->count() > 0, top_p->count() > 0});
  });
}

}  // namespace moulin::cli
