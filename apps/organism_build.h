#pragma once
// Building (or reusing) an organism from the command line, with its progress on stderr: shared by `moulin
// organism build` and `moulin hunt`, which builds the default organism when it is given no model.
#include <filesystem>

#include "organisms/organism.h"
#include "organisms/organism_spec.h"

namespace moulin::cli {

// build_organism with a stage line per stage, a progress bar over the training steps and the loss every 50 steps;
// prints where the model and the ground truth are. Throws as build_organism.
organisms::BuildResult build_organism_with_progress(const organisms::OrganismSpec& spec,
                                                    const std::filesystem::path& root, bool overwrite = false);

}  // namespace moulin::cli
