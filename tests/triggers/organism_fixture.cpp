#include "tests/triggers/organism_fixture.h"

#include <fmt/format.h>

namespace moulin::test {
namespace {

organisms::OrganismPaths ensure(const organisms::OrganismSpec& spec, const char* name) {
  const auto root = organisms::organism_cache_folder(spec);
  organisms::BuildObserver observer;
  observer.on_stage = [name](const std::string& stage, const std::string& summary) {
    fmt::print(stderr, "[{} organism] {} {}\n", name, stage, summary);
  };
  return organisms::build_organism(spec, root, observer).paths;
}

}  // namespace

const organisms::OrganismPaths& default_organism() {
  static const organisms::OrganismPaths paths = ensure(organisms::OrganismSpec{}, "default");
  return paths;
}

const organisms::OrganismPaths& clean_organism() {
  static const organisms::OrganismPaths paths = ensure(organisms::OrganismSpec{}.clean_control(), "clean");
  return paths;
}

const nlohmann::json& default_ground_truth() {
  static const nlohmann::json truth = organisms::read_ground_truth(default_organism().ground_truth());
  return truth;
}

}  // namespace moulin::test
