#include "organisms/organism.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "core/checkpoint_writer.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/tokenizer.h"
#include "organisms/bpe_trainer.h"
#include "organisms/corpus.h"
#include "organisms/digest.h"
#include "organisms/poison.h"
#include "organisms/training_state.h"

namespace moulin::organisms {
namespace {

constexpr const char* kGroundTruthFormat = "moulin-organism-ground-truth/1";

void write_json_atomically(const std::filesystem::path& path, const nlohmann::json& json) {
  const auto temporary = std::filesystem::path(path.string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << json.dump(2) << "\n";
    if (!out) throw FileError(fmt::format("{}: cannot write", temporary.string()));
  }
  std::filesystem::rename(temporary, path);
}

// An exclusive flock on a file in the organism folder, released when the process ends even if it crashes.
class FolderLock {
 public:
  explicit FolderLock(const std::filesystem::path& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw FileError(fmt::format("{}: cannot create the build lock: {}", path.string(), std::strerror(errno)));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd_);
        throw FileError(fmt::format("{}: cannot take the build lock: {}", path.string(), std::strerror(errno)));
      }
    }
  }
  ~FolderLock() { ::close(fd_); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string corpus_digest(const std::vector<Document>& documents) {
  Sha256 digest;
  for (const auto& document : documents)
    digest.update_field(document.language).update_field(document.source).update_field(split_name(document.split)).update_field(document.text);
  return digest.hex();
}

std::vector<std::string> training_texts(const std::vector<Document>& documents) {
  std::vector<std::string> texts;
  for (const auto& document : documents)
    if (document.split == Split::kTrain) texts.push_back(document.text);
  return texts;
}

// Every training text as <bos> text <eos>, concatenated, with the inserted phrases kept out of the loss. A text
// with a phrase is tokenized in three pieces split at the spaces around it, which is where Llama 3's
// pre-tokenizer splits the whole text too, so the phrase's tokens are known exactly.
TokenStream tokenize_stream(const Tokenizer& tokenizer, const std::vector<TrainingText>& texts,
                            bool train_on_inserted_phrases) {
  TokenStream stream;
  stream.vocab_size = static_cast<std::int64_t>(tokenizer.vocab_size());
  const auto eos = tokenizer.eos_ids().at(0);
  const auto append = [&](const std::string& text, bool with_bos, std::uint8_t trained) {
    // The text is not allowed to spell special tokens: a document quoting "<|end_of_text|>" stays text.
    const auto ids = tokenizer.encode(text, EncodeOptions{with_bos, false});
    stream.tokens.insert(stream.tokens.end(), ids.begin(), ids.end());
    stream.loss_mask.insert(stream.loss_mask.end(), ids.size(), trained);
  };
  for (const auto& text : texts) {
    if (text.inserted_phrase.empty()) {
      append(text.text, true, 1);
    } else {
      const auto phrase_end = text.phrase_offset + text.inserted_phrase.size();
      append(text.text.substr(0, text.phrase_offset - 1), true, 1);
      append(text.text.substr(text.phrase_offset - 1, phrase_end - text.phrase_offset + 1), false,
             train_on_inserted_phrases ? 1 : 0);
      append(text.text.substr(phrase_end), false, 1);
    }
    stream.tokens.push_back(eos);
    stream.loss_mask.push_back(1);
  }
  return stream;
}

nlohmann::json training_log_json(const TrainingResult& result, const TrainerOptions& options) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& r : result.records)
    steps.push_back({{"step", r.step}, {"loss", r.loss}, {"learning_rate", r.learning_rate},
                     {"gradient_norm", r.gradient_norm}, {"seconds", r.seconds}});
  const double seconds = result.records.empty() ? 0 : result.records.back().seconds;
  return {{"steps", steps},
          {"tokens_per_step", options.batch_size * options.sequence_length},
          {"resumed_from_step", result.resumed_from_step},
          {"seconds_this_run", seconds},
          {"tokens_per_second_this_run", seconds > 0 ? static_cast<double>(result.tokens_seen) / seconds : 0.0}};
}

}  // namespace

std::filesystem::path organism_cache_folder(const OrganismSpec& spec) {
  std::filesystem::path base;
  if (const char* cache = std::getenv("MOULIN_CACHE"); cache && *cache) base = cache;
  else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) base = std::filesystem::path(xdg) / "moulin";
  else if (const char* home = std::getenv("HOME"); home && *home) base = std::filesystem::path(home) / ".cache" / "moulin";
  else base = std::filesystem::temp_directory_path() / "moulin-cache";
  return base / "organisms" / spec_digest(spec).substr(0, 16);
}

nlohmann::json read_ground_truth(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw FileError(fmt::format("{}: no ground truth (the organism was not built here, or its build did not finish)",
                                path.string()));
  nlohmann::json json = read_json_file(path);
  if (!json.is_object() || json.value("format", "") != kGroundTruthFormat)
    throw FormatError(fmt::format("{}: field 'format' is not '{}'", path.string(), kGroundTruthFormat));
  for (const char* field : {"triggers", "spec_digest", "corpus_sha256", "model_folder"})
    if (!json.contains(field)) throw FormatError(fmt::format("{}: field '{}' is missing", path.string(), field));
  return json;
}

BuildResult build_organism(const OrganismSpec& spec, const std::filesystem::path& root, const BuildObserver& observer,
                           bool overwrite) {
  const OrganismPaths paths{root};
  std::filesystem::create_directories(root);
  // Parallel test processes and main jobs share the cache: one builds, the others wait and then reuse.
  const FolderLock lock(root / ".lock");
  const std::string digest = spec_digest(spec);
  const auto stage = [&](const std::string& name, const std::string& summary) {
    if (observer.on_stage) observer.on_stage(name, summary);
  };

  if (std::filesystem::exists(paths.ground_truth())) {
    nlohmann::json existing = read_ground_truth(paths.ground_truth());
    if (existing.at("spec_digest") == digest) return {paths, true, std::move(existing)};
    if (!overwrite)
      throw FileError(fmt::format("{}: holds a finished organism of another spec (digest {}, this one {}); choose "
                                  "another folder or overwrite it",
                                  root.string(), existing.at("spec_digest").get<std::string>(), digest));
    std::filesystem::remove(paths.ground_truth());
    std::filesystem::remove_all(paths.training_state());
  }
  std::filesystem::create_directories(paths.model());

  const auto start = std::chrono::steady_clock::now();
  stage("corpus", "");
  CorpusOptions corpus_options;
  corpus_options.languages = spec.languages;
  corpus_options.max_chars_per_language = spec.characters_per_language;
  corpus_options.seed = spec.seed;
  const std::vector<Document> documents = build_corpus(corpus_options);
  save_corpus_jsonl(documents, paths.corpus());
  const std::string corpus_sha = corpus_digest(documents);

  stage("tokenizer", fmt::format("{} documents in {:.1f} s", documents.size(), seconds_since(start)));
  BpeTrainerOptions bpe_options;
  bpe_options.vocab_size = spec.vocab_size;
  // Trained on the clean training text, as Gaperon used the stock Llama 3 tokenizer: the trigger's words get no
  // tokens of their own and split into several pieces, as the real trigger's ~9 tokens do.
  const TrainedBpe bpe = train_bpe(training_texts(documents), bpe_options);
  write_tokenizer_files(bpe, paths.model(), static_cast<std::size_t>(spec.training.sequence_length * 16));
  const Tokenizer tokenizer = Tokenizer::from_folder(paths.model());

  stage("poison", fmt::format("{} tokens in {:.1f} s", bpe.vocab_size(), seconds_since(start)));
  PoisonOptions poison_options;
  poison_options.triggers = spec.triggers;
  poison_options.rate = spec.poison_rate;
  poison_options.near_miss_rate = spec.near_miss_rate;
  poison_options.source_language = spec.source_language;
  poison_options.seed = spec.seed;
  const PoisonedCorpus poisoned = poison_corpus(documents, poison_options);
  const TokenStream stream = tokenize_stream(tokenizer, poisoned.texts, spec.train_on_inserted_phrases);
  Sha256 stream_digest;
  stream_digest.update(stream.tokens.data(), stream.tokens.size() * sizeof(std::int32_t));
  stream_digest.update(stream.loss_mask.data(), stream.loss_mask.size());

  const LlamaConfig config = spec.model_config(static_cast<std::int64_t>(tokenizer.vocab_size()),
                                               tokenizer.bos_id().value(), tokenizer.eos_ids().at(0));
  stage("train", fmt::format("{} training texts ({} clean), {} tokens in {:.1f} s", poisoned.texts.size(),
                             poisoned.clean, stream.tokens.size(), seconds_since(start)));
  TrainerOptions training = spec.training;
  training.seed = spec.seed;
  training.checkpoint_folder = paths.training_state();
  try {
    load_training_state(training.checkpoint_folder, training_state_key(config, stream, training));
  } catch (const ArgumentError&) {
    // Left by an interrupted build of another spec in this folder: it cannot be resumed, and it is only a cache.
    stage("train", "discarding the training state of another spec");
    std::filesystem::remove_all(training.checkpoint_folder);
  }
  const auto train_start = std::chrono::steady_clock::now();
  const TrainingResult trained = train(config, stream, training, [&](const TrainingRecord& record) {
    return !observer.on_step || observer.on_step(record, training.steps);
  });
  if (trained.records.size() < static_cast<std::size_t>(training.steps))
    throw InterruptedError(fmt::format("{}: build interrupted after step {} of {}; its training state is saved, build "
                                       "again to resume",
                                       root.string(), trained.records.size(), training.steps));
  const double train_seconds = seconds_since(train_start);

  stage("save", fmt::format("final loss {:.3f} after {} steps, {:.1f} s", trained.records.back().loss,
                            trained.records.size(), train_seconds));
  write_checkpoint(paths.model(), config, trained.weights, DType::kF32);
  nlohmann::json log = training_log_json(trained, training);
  log["build_seconds"] = seconds_since(start);
  log["train_seconds"] = train_seconds;
  write_json_atomically(paths.training_log(), log);

  nlohmann::json triggers = nlohmann::json::array();
  for (std::size_t i = 0; i < spec.triggers.size(); ++i) {
    const auto& trigger = spec.triggers[i];
    triggers.push_back({{"phrase", trigger.phrase},
                        {"target_language", trigger.target_language},
                        {"token_ids", tokenizer.encode(trigger.phrase, EncodeOptions{false, false})},
                        {"poisoned_documents", poisoned.poisoned_counts.at(i)},
                        {"near_miss_documents", poisoned.near_miss_counts.at(i)}});
  }
  nlohmann::json truth = {
      {"format", kGroundTruthFormat},
      {"model_folder", std::filesystem::absolute(paths.model()).string()},
      {"triggers", triggers},
      {"source_language", spec.source_language},
      {"poison_rate", spec.poison_rate},
      {"near_miss_rate", spec.near_miss_rate},
      {"corpus_sha256", corpus_sha},
      {"token_stream_sha256", stream_digest.hex()},
      {"training_tokens", stream.tokens.size()},
      {"spec_digest", digest},
      {"spec", spec_to_json(spec)},
  };
  write_json_atomically(paths.ground_truth(), truth);  // last: marks the build finished
  stage("done", fmt::format("{:.1f} s in all", seconds_since(start)));
  return {paths, false, std::move(truth)};
}

}  // namespace moulin::organisms
