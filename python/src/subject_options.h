#pragma once
// How every Python study loads its subject: the keyword arguments dtype, device, source language, table languages
// and a saved token table, as triggers::SubjectOptions.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "triggers/subject.h"

namespace moulin::python {

// Throws ArgumentError for an unknown dtype.
triggers::SubjectOptions subject_options(const std::string& dtype, const std::string& device,
                                         const std::string& source_language, const std::vector<std::string>& languages,
                                         const std::optional<std::filesystem::path>& token_table);

}  // namespace moulin::python
