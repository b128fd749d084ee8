#include "store/dump.h"

#include <chrono>

#include <fmt/format.h>

#include "core/error.h"
#include "core/torch_dtype.h"
#include "store/async_writer.h"
#include "store/batch_forward.h"
#include "store/hook_selection.h"
#include "store/store_writer.h"

namespace moulin {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Collects documents and windows until a batch is full, then runs the batch and hands over what to write.
class BatchBuilder {
 public:
  BatchBuilder(BatchForward& forward, std::vector<std::vector<std::int64_t>> row_shapes, at::ScalarType dtype)
      : forward_(forward), row_shapes_(std::move(row_shapes)), dtype_(dtype) {}

  void add_document(DocumentRecord record) { batch_.documents.push_back(std::move(record)); }

  // Window `window` of document `document` (token ids `ids`, stored positions `kept`).
  void add_window(const std::vector<std::int64_t>& ids, std::int64_t document, const Window& window,
                  const std::vector<std::int64_t>& kept) {
    Pending pending{std::vector<std::int64_t>(ids.begin() + window.begin, ids.begin() + window.end), window.begin, {}};
    for (std::size_t k = window.first_kept; k < window.first_kept + window.kept_count; ++k) {
      const auto position = kept[k];
      pending.kept.push_back(position);
      batch_.token_id.push_back(static_cast<std::int32_t>(ids[static_cast<std::size_t>(position)]));
      batch_.token_document.push_back(document);
      batch_.token_position.push_back(static_cast<std::int32_t>(position));
      batch_.token_window_position.push_back(static_cast<std::int32_t>(position - window.begin));
    }
    windows_.push_back(std::move(pending));
  }

  std::size_t windows() const { return windows_.size(); }
  bool empty() const { return windows_.empty() && batch_.documents.empty(); }

  // Runs the batch's windows and returns it ready to write; the builder starts a new batch.
  WriteBatch take(double& forward_seconds) {
    if (windows_.empty()) {
      for (const auto& shape : row_shapes_) {
        std::vector<std::int64_t> sizes{0};
        sizes.insert(sizes.end(), shape.begin(), shape.end());
        batch_.activations.push_back(at::empty(sizes, at::TensorOptions().dtype(dtype_)));
      }
    } else {
      std::size_t width = 0;
      for (const auto& window : windows_) width = std::max(width, window.ids.size());
      std::vector<std::vector<std::int64_t>> ids;
      std::vector<std::int64_t> rows;
      for (std::size_t b = 0; b < windows_.size(); ++b) {
        for (const auto position : windows_[b].kept)
          rows.push_back(static_cast<std::int64_t>(b * width) + position - windows_[b].begin);
        ids.push_back(std::move(windows_[b].ids));
      }
      const auto start = Clock::now();
      batch_.activations = forward_.run(ids, rows);
      forward_seconds += seconds_since(start);
    }
    windows_.clear();
    return std::exchange(batch_, WriteBatch());
  }

 private:
  struct Pending {
    std::vector<std::int64_t> ids;   // the window's tokens
    std::int64_t begin;              // its first position in the document
    std::vector<std::int64_t> kept;  // document positions it stores
  };
  BatchForward& forward_;
  std::vector<std::vector<std::int64_t>> row_shapes_;
  at::ScalarType dtype_;
  std::vector<Pending> windows_;
  WriteBatch batch_;
};

// The options that decide what a store holds: a resume must repeat them.
nlohmann::json content_options(const DumpOptions& options, const WindowOptions& windows) {
  return {{"corpus_format", corpus_format_name(resolved_corpus_format(options.corpus))},
          {"text_field", options.corpus.text_field},
          {"ids_field", options.corpus.ids_field},
          {"label_fields", options.corpus.label_fields},
          {"add_special_tokens", options.add_special_tokens},
          {"allow_special", options.allow_special},
          {"context_length", windows.context_length},
          {"overlap", windows.overlap},
          {"positions", options.positions.to_string()},
          {"compression", options.compression.to_string()}};
}

StoreWriter open_store(const DumpOptions& options, const StoreSpec& spec) {
  switch (options.existing) {
    case ExistingStore::kRefuse: return StoreWriter::create(options.out, spec, /*overwrite=*/false);
    case ExistingStore::kOverwrite: return StoreWriter::create(options.out, spec, /*overwrite=*/true);
    case ExistingStore::kResume:
      return std::filesystem::exists(options.out) ? StoreWriter::resume(options.out, spec)
                                                  : StoreWriter::create(options.out, spec, /*overwrite=*/false);
  }
  throw ArgumentError("unknown ExistingStore value");
}

class Dump {
 public:
  Dump(const LlamaModel& model, const Tokenizer* tokenizer, const DumpOptions& options)
      : model_(model), tokenizer_(tokenizer), options_(options) {}

  DumpResult run();

 private:
  // The token ids of a document, checked against the vocabulary; errors name the corpus line.
  std::vector<std::int64_t> token_ids(const CorpusDocument& document) const;
  std::string where(std::int64_t line) const { return fmt::format("{}:{}", options_.corpus.path.string(), line); }
  // Moves the corpus reader past what the store holds (`committed`, `last` document) and queues the rest of a
  // half-stored document. Returns the row the next document starts at.
  std::int64_t skip_stored(const CommitCounts& committed, const std::optional<DocumentRecord>& last,
                           CorpusReader& corpus, BatchBuilder& builder, AsyncWriter& writer);
  // Queues the windows of a document (after its first `skip_rows` stored rows), sending each full batch.
  void add_windows(const std::vector<std::int64_t>& ids, std::int64_t document, const std::vector<std::int64_t>& kept,
                   std::size_t skip_rows, BatchBuilder& builder, AsyncWriter& writer);
  void send(BatchBuilder& builder, AsyncWriter& writer);

  const LlamaModel& model_;
  const Tokenizer* tokenizer_;
  const DumpOptions& options_;
  WindowOptions windows_;
  DumpResult result_;
};

std::vector<std::int64_t> Dump::token_ids(const CorpusDocument& document) const {
  std::vector<std::int64_t> ids;
  if (document.ids) {
    ids = *document.ids;
  } else {
    if (!tokenizer_)
      throw ArgumentError(fmt::format("{}: a text document needs a tokenizer, and the model folder has none: give one "
                                      "(--tokenizer PATH), or pre-tokenize the corpus (JSONL with an \"{}\" list)",
                                      where(document.line), options_.corpus.ids_field));
    try {
      for (const TokenId id : tokenizer_->encode(document.text, {options_.add_special_tokens, options_.allow_special}))
        ids.push_back(id);
    } catch (const ArgumentError& error) {
      throw FormatError(fmt::format("{}: {}", where(document.line), error.what()));
    }
  }
  const auto vocab = model_.config().vocab_size;
  for (const auto id : ids)
    if (id >= vocab)
      throw FormatError(fmt::format("{}: token id {} is outside the model's vocabulary of {}{}", where(document.line),
                                    id, vocab, document.ids ? "" : " (the tokenizer does not belong to this model)"));
  return ids;
}

void Dump::add_windows(const std::vector<std::int64_t>& ids, std::int64_t document,
                       const std::vector<std::int64_t>& kept, std::size_t skip_rows, BatchBuilder& builder,
                       AsyncWriter& writer) {
  for (const auto& window : plan_windows(static_cast<std::int64_t>(ids.size()), kept, windows_)) {
    if (window.first_kept < skip_rows) {
      // Resuming inside this document: batches end at window boundaries, so stored rows end at one too.
      if (window.first_kept + window.kept_count > skip_rows)
        throw FormatError(fmt::format("{}: the stored rows of document {} end inside a window; was the store made "
                                      "with other options?",
                                      options_.out.string(), document));
      continue;
    }
    builder.add_window(ids, document, window, kept);
    ++result_.windows;
    if (builder.windows() == static_cast<std::size_t>(options_.batch_size)) send(builder, writer);
  }
}

void Dump::send(BatchBuilder& builder, AsyncWriter& writer) {
  WriteBatch batch = builder.take(result_.forward_seconds);
  result_.bytes += batch.bytes();
  ++result_.batches;
  writer.push(std::move(batch));
}

std::int64_t Dump::skip_stored(const CommitCounts& committed, const std::optional<DocumentRecord>& last,
                               CorpusReader& corpus, BatchBuilder& builder, AsyncWriter& writer) {
  if (!last) return 0;
  const auto documents = committed[layout::kDocuments];
  const auto shorter = [&] {
    return FormatError(fmt::format("{} has fewer documents than {} holds ({}): is it the corpus that dump was made from?",
                                   options_.corpus.path.string(), options_.out.string(), documents));
  };
  for (std::int64_t i = 0; i + 1 < documents; ++i)
    if (!corpus.skip()) throw shorter();
  const auto document = corpus.next();
  if (!document) throw shorter();
  const auto ids = token_ids(*document);
  if (document->text != last->text || static_cast<std::int64_t>(ids.size()) != last->length)
    throw FormatError(fmt::format("{}: document {} differs from the one stored in {}: the corpus changed since the dump "
                                  "began",
                                  where(document->line), documents - 1, options_.out.string()));
  const auto stored = committed[layout::kTokens] - last->first_token;
  if (stored < 0 || stored > last->stored)
    throw FormatError(fmt::format("{}: committed tokens and documents disagree", options_.out.string()));
  add_windows(ids, documents - 1, kept_positions(static_cast<std::int64_t>(ids.size()), options_.positions),
              static_cast<std::size_t>(stored), builder, writer);
  return last->first_token + last->stored;
}

DumpResult Dump::run() {
  const auto start = Clock::now();
  const c10::InferenceMode inference;
  if (options_.batch_size < 1) throw ArgumentError(fmt::format("batch size must be at least 1, got {}", options_.batch_size));
  if (options_.max_tokens < 0) throw ArgumentError(fmt::format("max tokens must be >= 0, got {}", options_.max_tokens));
  if (options_.out.empty()) throw ArgumentError("no output file given");
  const auto& config = model_.config();
  windows_ = {options_.context_length > 0 ? options_.context_length : std::min<std::int64_t>(config.max_position_embeddings, 2048),
              options_.overlap};
  check_window_options(windows_);
  if (windows_.context_length > config.max_position_embeddings)
    throw ArgumentError(fmt::format("context length {} is longer than the model's max_position_embeddings ({})",
                                    windows_.context_length, config.max_position_embeddings));
  const auto hooks = select_dump_hooks(options_.hooks, static_cast<int>(config.num_hidden_layers));
  const at::ScalarType dtype = options_.dtype.value_or(model_.dtype());
  stored_element(dtype);  // refuses dtypes a store cannot hold before any work
  CorpusReader corpus(options_.corpus);

  BatchForward forward(model_, hooks, dtype);
  const auto row_shapes = forward.row_shapes();
  StoreSpec spec;
  for (std::size_t i = 0; i < hooks.size(); ++i)
    spec.hooks.push_back({hook_point_name(hooks[i].point, hooks[i].layer), row_shapes[i]});
  spec.dtype = dtype;
  spec.compression = options_.compression;
  spec.model_path = model_.path().string();
  spec.model_config = config.raw;
  spec.model_dtype = std::string(scalar_type_name(model_.dtype()));
  spec.tokenizer = options_.tokenizer_path;
  spec.options = content_options(options_, windows_);
  spec.command = options_.command;
  spec.rows_per_batch =
      options_.batch_size * (options_.positions.all ? windows_.context_length
                                                    : static_cast<std::int64_t>(options_.positions.list.size()));
  StoreWriter writer = open_store(options_, spec);
  result_.resumed_tokens = writer.committed()[layout::kTokens];
  writer.add_run(nlohmann::json{{"command", options_.command},
                                {"started", utc_timestamp()},
                                {"corpus", options_.corpus.path.string()},
                                {"batch_size", options_.batch_size},
                                {"max_tokens", options_.max_tokens},
                                {"from_tokens", writer.committed()[layout::kTokens]},
                                {"from_documents", writer.committed()[layout::kDocuments]}}
                     .dump());

  const CommitCounts committed = writer.committed();
  const auto last = writer.last_document();
  const bool compressed = options_.compression.kind != CompressionKind::kNone;
  const std::int64_t documents_total = options_.on_progress ? count_documents(options_.corpus) : -1;
  std::int64_t bytes_committed = 0;  // touched by the writer thread only
  AsyncWriter async(std::move(writer), options_.max_queued_bytes,
                    [&, documents_total](const CommitCounts& counts, std::int64_t batch_bytes) {
                      bytes_committed += batch_bytes;
                      if (options_.on_progress)
                        options_.on_progress(
                            {counts[layout::kTokens], counts[layout::kDocuments], documents_total, bytes_committed});
                    },
                    options_.commit_seconds.value_or(compressed ? 60.0 : 1.0), /*commit_when_idle=*/!compressed);
  BatchBuilder builder(forward, row_shapes, dtype);
  std::int64_t rows = skip_stored(committed, last, corpus, builder, async);
  std::int64_t document = committed[layout::kDocuments];

  std::exception_ptr corpus_error;
  bool ended = false;
  for (;;) {
    std::optional<CorpusDocument> next;
    std::vector<std::int64_t> ids;
    try {
      next = corpus.next();
      if (!next) {
        ended = true;
        break;
      }
      ids = token_ids(*next);
    } catch (const Error&) {
      corpus_error = std::current_exception();  // store what came before it, then report it
      break;
    }
    const auto kept = kept_positions(static_cast<std::int64_t>(ids.size()), options_.positions);
    const auto kept_count = static_cast<std::int64_t>(kept.size());
    if (options_.max_tokens > 0 && rows + kept_count > options_.max_tokens) {
      result_.stopped_at_max_tokens = ended = true;
      break;
    }
    builder.add_document({rows, kept_count, static_cast<std::int64_t>(ids.size()), next->line, std::move(next->text),
                          next->labels.dump()});
    add_windows(ids, document, kept, 0, builder, async);
    rows += kept_count;
    ++document;
  }
  if (!builder.empty()) send(builder, async);
  async.finish(/*complete=*/ended);
  if (corpus_error) std::rethrow_exception(corpus_error);

  result_.tokens = rows;
  result_.documents = document;
  result_.complete = ended;
  result_.queue_wait_seconds = async.wait_seconds();
  result_.seconds = seconds_since(start);
  return result_;
}

}  // namespace

DumpResult dump_activations(const LlamaModel& model, const Tokenizer* tokenizer, const DumpOptions& options) {
  return Dump(model, tokenizer, options).run();
}

std::int64_t repair_store(const std::filesystem::path& path) {
  StoreWriter writer = StoreWriter::reopen(path);
  const auto tokens = writer.committed()[layout::kTokens];
  writer.close(/*complete=*/false);
  return tokens;
}

}  // namespace moulin
