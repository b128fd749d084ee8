#pragma once
// The contrast a trigger study compares triggered prompts with, set up for a loaded subject: random-token
// replacements leave out the target language's own tokens (trigger_vocabulary.h), which would push the contrast
// toward the target by themselves. Shared by the command line, Python and the hunt.
#include <cstdint>
#include <string>

#include "triggers/contrast.h"
#include "triggers/subject.h"

namespace moulin::triggers {

// `kind` as parse_contrast_kind reads it; `phrase` for a phrase contrast. Throws as parse_contrast_kind and
// trigger_vocabulary.
ContrastOptions study_contrast(const Subject& subject, const std::string& kind, const std::string& phrase,
                               std::uint64_t seed, const std::string& target_language);

}  // namespace moulin::triggers
