#include "triggers/study_contrast.h"

#include "triggers/trigger_vocabulary.h"

namespace moulin::triggers {

ContrastOptions study_contrast(const Subject& subject, const std::string& kind, const std::string& phrase,
                               std::uint64_t seed, const std::string& target_language) {
  ContrastOptions contrast;
  contrast.kind = parse_contrast_kind(kind);
  contrast.phrase = phrase;
  contrast.seed = seed;
  if (contrast.kind == ContrastKind::kRandomTokens) {
    TriggerVocabularyOptions vocabulary;
    vocabulary.excluded_languages = {target_language};
    contrast.replacement_tokens =
        trigger_vocabulary(subject.tokenizer, subject.languages, subject.model.config().vocab_size, vocabulary).allowed;
  }
  return contrast;
}

}  // namespace moulin::triggers
