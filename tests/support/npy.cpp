#include "tests/support/npy.h"

#include <fstream>
#include <regex>
#include <stdexcept>

namespace moulin::test {

NpyArray read_npy(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  char magic[8];
  in.read(magic, 8);
  if (!in || std::string(magic, 6) != "\x93NUMPY") throw std::runtime_error(path.string() + ": not a .npy file");
  const int major = static_cast<unsigned char>(magic[6]);
  std::uint32_t header_length = 0;
  if (major == 1) {
    unsigned char length[2];
    in.read(reinterpret_cast<char*>(length), 2);
    header_length = length[0] | (length[1] << 8);
  } else {
    unsigned char length[4];
    in.read(reinterpret_cast<char*>(length), 4);
    header_length = length[0] | (length[1] << 8) | (length[2] << 16) | (static_cast<std::uint32_t>(length[3]) << 24);
  }
  std::string header(header_length, '\0');
  in.read(header.data(), header_length);
  if (!in) throw std::runtime_error(path.string() + ": truncated header");

  NpyArray array;
  std::smatch match;
  if (!std::regex_search(header, match, std::regex("'descr':\\s*'([^']+)'")))
    throw std::runtime_error(path.string() + ": no descr in header");
  array.descr = match[1];
  if (array.descr[0] == '>') throw std::runtime_error(path.string() + ": big-endian data is not supported");
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True")))
    throw std::runtime_error(path.string() + ": Fortran order is not supported");
  if (!std::regex_search(header, match, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    throw std::runtime_error(path.string() + ": no shape in header");
  const std::string dims = match[1];
  const std::regex digits("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), digits), end; it != end; ++it)
    array.shape.push_back(std::stoll(it->str()));

  std::int64_t count = 1;
  for (const auto dim : array.shape) count *= dim;
  const auto element_size = std::stoi(array.descr.substr(2));
  array.bytes.resize(static_cast<std::size_t>(count * element_size));
  in.read(array.bytes.data(), static_cast<std::streamsize>(array.bytes.size()));
  if (!in) throw std::runtime_error(path.string() + ": truncated data");
  return array;
}

}  // namespace moulin::test
