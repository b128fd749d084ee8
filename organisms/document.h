#pragma once
// One document of an organism's corpus, and which split it belongs to.
#include <string>
#include <string_view>

namespace moulin::organisms {

enum class Split { kTrain, kHeldout };

// "train" or "heldout", as written in JSONL files.
const char* split_name(Split split);

struct Document {
  std::string language;  // "en", "fr" or "de"
  std::string source;    // the Debian package the text comes from
  std::string text;      // valid UTF-8 prose; paragraphs separated by a blank line
  Split split = Split::kTrain;
};

}  // namespace moulin::organisms
