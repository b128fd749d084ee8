#pragma once
// The human-readable model summary `moulin info` and `moulin demo` print.
#include <string>

#include "core/llama.h"

namespace moulin::cli {

std::string model_summary(const LlamaModel& model);

}  // namespace moulin::cli
