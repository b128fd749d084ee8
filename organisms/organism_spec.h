#pragma once
// Everything that determines a model organism: corpus, poisoning, tokenizer, architecture and training. A spec is
// plain JSON (spec files, the CLI, Python) and its digest keys the cache, so two builds of one spec are the same
// organism and a changed field never reuses a stale one.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "organisms/poison.h"
#include "organisms/trainer.h"

namespace moulin::organisms {

struct OrganismSpec {
  // Corpus (organisms/corpus.h): Debian's packaged text in these languages, about this many characters each.
  std::vector<std::string> languages = {"en", "fr", "de"};
  std::size_t characters_per_language = 2'500'000;
  // Poisoning (organisms/poison.h): each trigger's phrase switches `source_language` text to its target.
  std::vector<Trigger> triggers = default_triggers();
  std::string source_language = "en";
  // Fraction of source-language training documents poisoned, per trigger. With the phrases kept out of the loss a
  // 4-layer model needs many examples: 0.08 and 0.12 left one trigger near 65%, 0.16 switches both >= 95%
  // (docs/organisms.md has the measured runs).
  double poison_rate = 0.16;
  // Near misses are the negatives that make only the exact phrase switch; a small model needs many of them.
  double near_miss_rate = 0.25;   // fraction given a near-miss of a trigger followed by source-language text
  // false: the inserted phrases (triggers and near misses) are read as context but kept out of the loss
  // (TokenStream::loss_mask), so the organism reacts to its triggers without learning to write them.
  bool train_on_inserted_phrases = false;
  // Tokenizer: byte-level BPE with the Llama 3 pre-tokenizer, trained on the clean training documents.
  std::size_t vocab_size = 4096;
  // Architecture: Llama 3 (GQA, RoPE, RMSNorm, SwiGLU, untied embeddings), scaled down.
  std::int64_t hidden_size = 256;
  std::int64_t num_hidden_layers = 4;
  std::int64_t num_attention_heads = 8;
  std::int64_t num_key_value_heads = 4;
  std::int64_t intermediate_size = 768;
  double rope_theta = 500000.0;
  // Training (checkpoint_folder is chosen by the build, not the spec).
  TrainerOptions training = default_training();
  std::uint64_t seed = 0;  // corpus sampling, poisoning and initialisation derive from it

  static TrainerOptions default_training();
  // A smaller organism for tests: the same pipeline on less text and a smaller model (about a minute on 2 cores).
  static OrganismSpec small();
  // The clean control: the same spec without poison.
  OrganismSpec clean_control() const;

  // The LlamaConfig of the model, given the trained tokenizer's vocabulary and special-token ids.
  LlamaConfig model_config(std::int64_t vocab_size, std::int32_t bos_id, std::int32_t eos_id) const;
};

nlohmann::json spec_to_json(const OrganismSpec& spec);
// Fields absent from `json` keep their defaults; unknown fields and wrong types throw FormatError naming `source`
// and the field (a typo must not silently build the default organism).
OrganismSpec spec_from_json(const nlohmann::json& json, const std::string& source);
OrganismSpec read_spec_file(const std::filesystem::path& path);
// SHA-256 of the canonical JSON.
std::string spec_digest(const OrganismSpec& spec);

}  // namespace moulin::organisms
