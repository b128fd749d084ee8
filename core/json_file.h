#pragma once
// Reading a JSON file with errors that name the file, the line and the column.
#include <filesystem>

#include <nlohmann/json.hpp>

namespace moulin {

// Throws FileError when unreadable, FormatError (with line and column) when malformed.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace moulin
