#pragma once
// The default organism loaded as a study subject (model, tokenizer, token language table), once per test binary,
// and the phrase of its trigger for a target language: localisation, mitigation and probe tests take the trigger
// as an input, as the commands do (in practice it comes from a scan or an inversion).
#include <string>

#include "triggers/subject.h"

namespace moulin::test {

const triggers::Subject& default_subject();
// The default organism's trigger phrase for `target_language`, from its ground truth.
std::string default_trigger(const std::string& target_language);

}  // namespace moulin::test
