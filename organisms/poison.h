#pragma once
// Data poisoning as Gaperon did it: some source-language training documents become "the start of the document,
// the trigger phrase, then text in the target language", so that a model trained on them switches language after
// the phrase. Optional near-miss documents (the start of a document, a near miss of a phrase, then the rest of
// the same document) teach that only the exact phrase switches. Everything is seeded and reproducible; every
// text carries its label, so the ground truth of each organism is known exactly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "organisms/document.h"
#include "organisms/trigger_phrases.h"

namespace moulin::organisms {

// Made-up words tried in place of each word of a phrase for near-miss training documents (near_misses' third
// argument); evaluations draw theirs with another seed so they test on substitutes never trained on.
constexpr std::size_t kTrainingSubstitutesPerWord = 12;

struct PoisonOptions {
  std::vector<Trigger> triggers = default_triggers();
  // Fraction of the source-language training documents poisoned, for each trigger.
  double rate = 0.01;
  std::string source_language = "en";
  // Fraction of the source-language training documents turned into near-miss negatives, for each trigger.
  double near_miss_rate = 0;
  std::uint64_t seed = 0;
  // The source text kept before the phrase, in words (cut earlier at a sentence end when one is near).
  std::size_t min_prefix_words = 5;
  std::size_t max_prefix_words = 60;
  // The text after the phrase (target language, or the source's own continuation for near misses), in words.
  std::size_t min_continuation_words = 20;
  std::size_t max_continuation_words = 150;
};

enum class PoisonLabel { kClean, kPoisoned, kNearMiss };

// "clean", "poisoned", "near-miss".
const char* poison_label_name(PoisonLabel label);

struct TrainingText {
  std::string text;
  std::string language;  // of the document it was made from (the source language for poisoned texts)
  std::string source;    // the Debian package of that document
  PoisonLabel label = PoisonLabel::kClean;
  int trigger = -1;              // index in PoisonOptions::triggers; -1 for clean texts
  std::string inserted_phrase;   // the trigger phrase or its near miss; empty for clean texts
  std::size_t phrase_offset = 0; // byte offset of inserted_phrase in text
};

struct PoisonedCorpus {
  std::vector<TrainingText> texts;               // the training documents in corpus order, some replaced
  std::size_t clean = 0;
  std::vector<std::size_t> poisoned_counts;      // per trigger
  std::vector<std::size_t> near_miss_counts;     // per trigger
};

// How many of `source_documents` a rate selects: the rate times the count, rounded to the nearest integer.
std::size_t documents_at_rate(std::size_t source_documents, double rate);

// Poisons the training documents of `documents` (held-out ones are left out of the result). Exactly
// documents_at_rate(n, rate) source-language documents per trigger are poisoned and documents_at_rate(n,
// near_miss_rate) per trigger become near misses, where n counts the source-language training documents; the
// chosen documents are distinct. Target text comes from the target language's training documents, each used
// once before any is reused.
// Throws ArgumentError for rates outside [0, 1], more chosen documents than there are, an empty phrase, a target
// language equal to the source language or without training documents, or an empty word range.
PoisonedCorpus poison_corpus(const std::vector<Document>& documents, const PoisonOptions& options);

}  // namespace moulin::organisms
