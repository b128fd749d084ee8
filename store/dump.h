#pragma once
// Dumping activations of a whole corpus to an HDF5 activation store (layout: docs/hdf5-layout.md):
//
//   DumpOptions options;
//   options.out = "acts.h5";
//   options.corpus.path = "corpus.jsonl";
//   options.hooks = {"blocks.*.hook_resid_post"};
//   DumpResult result = dump_activations(model, &tokenizer, options);
//
// Documents are read, tokenized and windowed one at a time (store/windows.h), batches of windows run through the
// model while the previous batch is written on another thread, and each written batch is committed, so a killed
// dump keeps everything it reported and `existing = kResume` continues it with no gap and no repeated token.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/llama.h"
#include "core/tokenizer.h"
#include "store/compression.h"
#include "store/corpus.h"
#include "store/windows.h"

namespace moulin {

// What to do when the output file exists.
enum class ExistingStore {
  kRefuse,     // FileError naming --resume and --overwrite
  kOverwrite,  // replace it (atomically: the old file stays until the new one is created)
  kResume,     // continue it from its last commit (a missing file is created)
};

// Reported after each commit (of one batch, or several when the disk lags), from the writer thread.
struct DumpProgress {
  std::int64_t tokens = 0;           // rows in the store
  std::int64_t documents = 0;        // documents in the store
  std::int64_t documents_total = -1;  // documents in the corpus (-1: not counted)
  std::int64_t bytes = 0;            // bytes this run has written (uncompressed)
};

struct DumpOptions {
  std::filesystem::path out;
  CorpusOptions corpus;
  std::vector<std::string> hooks;      // full names or patterns: "blocks.*.hook_resid_post" (store/hook_selection.h)
  std::optional<at::ScalarType> dtype;  // stored values: float32, float16 or bfloat16; default: the model's dtype
  bool add_special_tokens = true;       // text documents get the tokenizer's prefix (<|begin_of_text|> for Llama 3)
  bool allow_special = true;            // special-token strings in texts become special tokens, as HF tokenizes
  std::int64_t context_length = 0;      // tokens per window; 0: the model's max_position_embeddings, at most 2048
  std::int64_t overlap = 0;             // context carried into the next window of a long document (store/windows.h)
  PositionSelection positions;          // all, last, or a list
  std::int64_t batch_size = 8;          // windows per forward pass
  std::int64_t max_tokens = 0;          // > 0: stop before the first document that would take the store past it
  Compression compression;
  ExistingStore existing = ExistingStore::kRefuse;
  std::string tokenizer_path;           // recorded in the store (the caller loads the tokenizer)
  std::string command;                  // recorded in the store: the CLI passes its command line
  std::int64_t max_queued_bytes = std::int64_t{1} << 30;  // computed batches waiting for the disk
  // The longest a written batch waits to be committed (0: every batch at once). Default: 1 s, and uncompressed
  // stores also commit whenever the writer is idle; compressed stores 60 s, as each commit stores the last,
  // partly filled chunk of every dataset anew (docs/hdf5-layout.md).
  std::optional<double> commit_seconds;
  std::function<void(const DumpProgress&)> on_progress;   // also makes the dump count the corpus's documents
};

struct DumpResult {
  std::int64_t tokens = 0;         // rows in the store at the end
  std::int64_t documents = 0;      // documents in the store at the end
  std::int64_t resumed_tokens = 0;  // rows that were already there (resume)
  std::int64_t windows = 0;        // forward windows this run
  std::int64_t batches = 0;        // forward passes this run
  std::int64_t bytes = 0;          // bytes this run wrote (uncompressed: activations, tokens, texts)
  double seconds = 0;
  double forward_seconds = 0;      // in the model's forward passes
  double queue_wait_seconds = 0;   // waiting for the writer: the disk was the limit
  bool complete = false;           // the whole corpus is in (or max_tokens was reached)
  bool stopped_at_max_tokens = false;
};

// Runs the dump. `tokenizer` may be null when every document is pre-tokenized (JSONL "ids"). Sets InferenceMode.
// Throws ArgumentError for bad options or a resume that disagrees with the file, FileError for I/O (naming the
// file), FormatError for corpus errors ("corpus.jsonl:17: not valid JSON: ..."). After a corpus error or a failed
// write, everything committed before stays readable (and the dump can be resumed).
DumpResult dump_activations(const LlamaModel& model, const Tokenizer* tokenizer, const DumpOptions& options);

// Makes a killed dump readable by plain h5py: trims rows past its last commit and clears the open-for-writing mark
// a killed HDF5 writer leaves. Returns the committed token count. (Resuming does the same, then continues.)
std::int64_t repair_store(const std::filesystem::path& path);

}  // namespace moulin
