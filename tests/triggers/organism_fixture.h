#pragma once
// The organisms trigger tests run against: the default organism (built once into the cache, keyed by its spec,
// about 5 minutes on 2 cores; later runs reuse it) and its clean control. Only tests read the ground truth, to
// check what the blind detectors report.
#include <nlohmann/json.hpp>

#include "organisms/organism.h"

namespace moulin::test {

const organisms::OrganismPaths& default_organism();
const organisms::OrganismPaths& clean_organism();
// The default organism's ground truth (for assertions only; detectors never see it).
const nlohmann::json& default_ground_truth();

}  // namespace moulin::test
