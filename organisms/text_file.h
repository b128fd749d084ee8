#pragma once
// Reading a whole text file, gzip-compressed or not (man pages and some Debian documentation ship as .gz).
#include <filesystem>
#include <string>

namespace moulin::organisms {

// The file's bytes, decompressed when it is gzip data (recognised by its magic bytes, whatever its name).
// Throws FileError naming the file when it cannot be opened, FormatError when its gzip data is corrupt.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace moulin::organisms
