// `moulin dump`: activations of chosen hook points over a whole corpus, into an HDF5 activation store
// (docs/hdf5-layout.md). Thin: store/dump.h does the work; this file maps options and renders progress.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/progress.h"
#include "apps/token_io.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/torch_dtype.h"
#include "store/dump.h"

namespace moulin::cli {
namespace {

struct DumpArgs {
  std::string model;
  std::string corpus;
  std::vector<std::string> hooks;
  std::string out;
  std::string tokenizer;
  std::string corpus_format = "auto";
  std::string text_field = "text";
  std::string ids_field = "ids";
  std::vector<std::string> label_fields;
  bool no_bos = false;
  bool special_as_text = false;
  std::string store_dtype;
  std::string dtype = "float32";
  std::string device = "cpu";
  std::int64_t batch_size = 8;
  std::int64_t context_length = 0;
  std::int64_t overlap = 0;
  std::int64_t max_tokens = 0;
  std::string positions = "all";
  std::string compression = "none";
  bool resume = false;
  bool overwrite = false;
  bool repair = false;
  bool quiet = false;
};

// This process's command line, shell-quoted where needed, as the store records it.
std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string line;
  std::size_t start = 0;
  while (start < raw.size()) {
    const auto end = raw.find('\0', start);
    const std::string arg = raw.substr(start, end - start);
    if (!line.empty()) line += ' ';
    const bool plain = !arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789-_=.,/:+@") == std::string::npos;
    if (plain) {
      line += arg;
    } else {
      line += '\'';
      for (const char c : arg) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
      line += '\'';
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return line;
}

std::optional<Tokenizer> tokenizer_for(const DumpArgs& args) {
  if (args.tokenizer.empty() && !std::filesystem::exists(std::filesystem::path(args.model) / "tokenizer.json"))
    return std::nullopt;  // fine for pre-tokenized corpora; a text document will say what is missing
  return load_tokenizer(args.tokenizer, args.model);
}

void run_dump(const DumpArgs& args) {
  if (args.repair) {
    const auto tokens = repair_store(args.out);
    fmt::print("{}: trimmed to its {} committed tokens and closed; plain h5py opens it now\n", args.out, tokens);
    return;
  }
  if (args.model.empty() || args.corpus.empty() || args.hooks.empty())
    throw ArgumentError("dump needs --model, --corpus and --hooks (or --repair)");
  DumpOptions options;
  options.out = args.out;
  options.corpus.path = args.corpus;
  options.corpus.format = parse_corpus_format(args.corpus_format);
  options.corpus.text_field = args.text_field;
  options.corpus.ids_field = args.ids_field;
  options.corpus.label_fields = args.label_fields;
  options.hooks = args.hooks;
  if (!args.store_dtype.empty()) options.dtype = parse_model_scalar_type(args.store_dtype);
  options.add_special_tokens = !args.no_bos;
  options.allow_special = !args.special_as_text;
  options.context_length = args.context_length;
  options.overlap = args.overlap;
  options.positions = PositionSelection::parse(args.positions);
  options.batch_size = args.batch_size;
  options.max_tokens = args.max_tokens;
  options.compression = Compression::parse(args.compression);
  options.existing = args.resume ? ExistingStore::kResume : args.overwrite ? ExistingStore::kOverwrite : ExistingStore::kRefuse;
  options.command = command_line();

  const std::optional<Tokenizer> tokenizer = tokenizer_for(args);
  if (tokenizer) options.tokenizer_path = tokenizer->path().string();
  init_runtime();
  const LlamaModel model =
      LlamaModel::load(args.model, LoadOptions{parse_model_scalar_type(args.dtype), parse_device(args.device)});

  std::optional<Progress> progress;
  std::int64_t reported_documents = -1;
  if (!args.quiet) {
    // Progress counts documents: their total is known up front (the corpus is counted), tokens' is not.
    options.on_progress = [&](const DumpProgress& report) {
      if (!progress) {
        progress.emplace("dump", report.documents_total, "documents");
        reported_documents = 0;
      }
      progress->advance(report.documents - reported_documents);
      reported_documents = report.documents;
    };
  }
  const DumpResult result = dump_activations(model, tokenizer ? &*tokenizer : nullptr, options);
  const double megabytes = static_cast<double>(result.bytes) / 1e6;
  if (progress)
    progress->finish(fmt::format(", {} tokens, {:.1f} MB written ({:.1f} MB/s), waited {:.2f} s for the disk",
                                 result.tokens - result.resumed_tokens, megabytes,
                                 result.seconds > 0 ? megabytes / result.seconds : 0.0, result.queue_wait_seconds));
  fmt::print("{}: {} tokens of {} documents{}{}\n", args.out, result.tokens, result.documents,
             result.resumed_tokens > 0 ? fmt::format(" ({} were already there)", result.resumed_tokens) : "",
             result.stopped_at_max_tokens ? ", stopped at --max-tokens" : "");
}

}  // namespace

void add_dump_command(CLI::App& app) {
  auto* command = app.add_subcommand("dump", "Store hook point activations of a whole corpus in an HDF5 file");
  command->footer(
      "Corpus: one document per line, blank-line separated paragraphs (--corpus-format paragraphs), or JSONL with a\n"
      "text field (other fields are kept as labels) or pre-tokenized \"ids\". Long documents are split into windows\n"
      "of --context-length tokens; --overlap carries context into the next window without storing tokens twice.\n"
      "A killed dump keeps every committed batch: rerun with --resume to continue. Layout: docs/hdf5-layout.md.");
  auto args = std::make_shared<DumpArgs>();
  command->add_option("--model", args->model, "Model folder (config.json + safetensors)");
  command->add_option("--corpus", args->corpus, "Corpus file (text or JSONL)");
  command->add_option("--hooks", args->hooks, "Hook names or patterns, e.g. 'blocks.*.hook_resid_post'");
  command->add_option("--out", args->out, "Output HDF5 file")->required();
  command->add_option("--tokenizer", args->tokenizer, "tokenizer.json (or its folder) when the model folder has none");
  command->add_option("--corpus-format", args->corpus_format, "auto, lines, paragraphs or jsonl")->capture_default_str();
  command->add_option("--text-field", args->text_field, "JSONL field holding the text")->capture_default_str();
  command->add_option("--ids-field", args->ids_field, "JSONL field holding pre-tokenized ids")->capture_default_str();
  command->add_option("--label-field", args->label_fields, "JSONL field kept as a label (repeatable; default: all others)");
  command->add_flag("--no-bos", args->no_bos, "Do not add the tokenizer's prefix (<|begin_of_text|>) to text documents");
  command->add_flag("--special-as-text", args->special_as_text, "Tokenize special-token strings in texts as plain text");
  command->add_option("--store-dtype", args->store_dtype, "Stored values: float32, float16 or bfloat16 (default: --dtype)");
  command->add_option("--dtype", args->dtype, "Model dtype: float32, bfloat16 or float16")->capture_default_str();
  command->add_option("--device", args->device, "cpu, cuda or cuda:N")->capture_default_str();
  command->add_option("--batch-size", args->batch_size, "Windows per forward pass")->capture_default_str();
  command->add_option("--context-length", args->context_length,
                      "Tokens per window (default: max_position_embeddings, at most 2048)");
  command->add_option("--overlap", args->overlap, "Context tokens carried into the next window")->capture_default_str();
  command->add_option("--max-tokens", args->max_tokens, "Stop before the document that would pass this many stored tokens");
  command->add_option("--positions", args->positions, "Positions to store: all, last, or a list like 0,5,-1")
      ->capture_default_str();
  command->add_option("--compression", args->compression, "none, gzip[:1-9], lz4, blosc-lz4[:1-9], blosc-zstd[:1-9]")
      ->capture_default_str();
  auto* resume = command->add_flag("--resume", args->resume, "Continue the dump in --out from its last commit");
  command->add_flag("--overwrite", args->overwrite, "Replace --out if it exists")->excludes(resume);
  command->add_flag("--repair", args->repair, "Only trim a killed dump to its last commit so plain h5py opens it");
  command->add_flag("--quiet,-q", args->quiet, "No progress on stderr");
  command->callback([args] { run_dump(*args); });
}

}  // namespace moulin::cli
