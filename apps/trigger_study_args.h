#pragma once
// What `moulin patch`, `moulin mitigate` and `moulin probe` share: the model and its token language table, the
// trigger (found by a scan or an inversion: these commands never read an organism's ground truth), where it goes,
// what it is contrasted with, the prompts and the output folder.
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "triggers/contrast.h"
#include "triggers/insertion.h"
#include "triggers/subject.h"

namespace moulin::cli {

struct TriggerStudyArgs {
  std::string model;
  std::string trigger;
  std::string target = "fr";
  std::string placement = "suffix";
  std::string contrast;  // empty: the command's default
  std::string contrast_phrase;
  std::uint64_t seed = 0;
  std::string prompt_file;  // prompts from a file instead of held-out Debian text
  std::string languages = "en,fr,de";
  std::string source = "en";
  std::string token_table;
  std::string out;
  std::string dtype = "float32";
  std::string device = "cpu";
  std::int64_t batch_size = 16;
};

// Registers the shared options; `out` is the default output folder and `contrast` the default contrast. The
// model and the trigger are required unless the command can do without them (`probe --store`).
void add_trigger_study_options(CLI::App& command, TriggerStudyArgs& args, const std::string& out,
                               const std::string& contrast, bool model_required = true);

// Initialises the runtime and loads the model with its token language table, saying so on stderr.
triggers::Subject load_study_subject(const TriggerStudyArgs& args);
triggers::Placement study_placement(const TriggerStudyArgs& args);
// The contrast; random replacements leave out tokens of the target language (triggers/trigger_vocabulary.h).
triggers::ContrastOptions study_contrast(const TriggerStudyArgs& args, const triggers::Subject& subject);
// `count` held-out Debian prompts in the source language after skipping `skip`, or the prompt file's.
std::vector<std::string> study_prompts(const TriggerStudyArgs& args, std::size_t count, std::size_t skip = 0);
// The arguments as JSON, for the report's metadata and the JSON file's "settings".
nlohmann::json study_settings(const TriggerStudyArgs& args);

}  // namespace moulin::cli
