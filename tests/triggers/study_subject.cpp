#include "tests/triggers/study_subject.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/runtime.h"
#include "tests/triggers/organism_fixture.h"

namespace moulin::test {

const triggers::Subject& default_subject() {
  static const triggers::Subject subject = [] {
    init_runtime();
    return triggers::load_subject(default_organism().model());
  }();
  return subject;
}

std::string default_trigger(const std::string& target_language) {
  for (const auto& trigger : default_ground_truth().at("triggers"))
    if (trigger.at("target_language") == target_language) return trigger.at("phrase").get<std::string>();
  throw ArgumentError(fmt::format("the default organism has no trigger to '{}'", target_language));
}

}  // namespace moulin::test
