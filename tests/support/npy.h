#pragma once
// Reader for NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order), for the golden reference data.
// Hand-written because Debian packages no C++ npy reader; the format is one header line and raw bytes.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace moulin::test {

struct NpyArray {
  std::string descr;                 // numpy dtype string, e.g. "<f4", "<f8", "<i8"
  std::vector<std::int64_t> shape;
  std::vector<char> bytes;           // raw element bytes, C order
};

// Throws std::runtime_error naming the file for anything unexpected (Fortran order, big-endian, truncation).
NpyArray read_npy(const std::filesystem::path& path);

}  // namespace moulin::test
