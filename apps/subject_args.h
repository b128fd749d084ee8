#pragma once
// The options that say how a command loads its study subject (triggers/subject.h): dtype, device, the prompts'
// language and the token language table. Shared by `moulin scan` and `moulin hunt`.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "triggers/subject.h"

namespace moulin::cli {

struct SubjectArgs {
  std::string dtype = "float32";
  std::string device = "cpu";
  std::string source_language = "en";
  std::vector<std::string> languages = {"en", "fr", "de"};
  std::string token_table;
};

// --dtype, --device, --source-language, --languages, --token-table.
void add_subject_options(CLI::App& command, SubjectArgs& args);
// Throws ArgumentError for an unknown dtype.
triggers::SubjectOptions subject_options(const SubjectArgs& args);

}  // namespace moulin::cli
