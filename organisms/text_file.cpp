#include "organisms/text_file.h"

#include <memory>

#include <fmt/format.h>
#include <zlib.h>

#include "core/error.h"

namespace moulin::organisms {
namespace {

struct GzipCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzipFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzipCloser>;

}  // namespace

std::string read_text_file(const std::filesystem::path& path) {
  // zlib reads plain files through unchanged, so one reader serves both.
  GzipFile file(gzopen(path.c_str(), "rb"));
  if (!file) {
    if (!std::filesystem::exists(path)) throw FileError(fmt::format("{}: file not found", path.string()));
    throw FileError(fmt::format("{}: cannot open for reading", path.string()));
  }
  gzbuffer(file.get(), 1 << 17);
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const int read = gzread(file.get(), buffer, sizeof buffer);
    if (read < 0) {
      int code = 0;
      const char* message = gzerror(file.get(), &code);
      throw FormatError(fmt::format("{}: cannot read: {}", path.string(), message ? message : "zlib error"));
    }
    if (read == 0) break;
    text.append(buffer, static_cast<std::size_t>(read));
  }
  // A truncated gzip stream reads as a short file; gzerror tells.
  int code = Z_OK;
  const char* message = gzerror(file.get(), &code);
  if (code != Z_OK && code != Z_STREAM_END)
    throw FormatError(fmt::format("{}: corrupt gzip data: {}", path.string(), message ? message : "zlib error"));
  return text;
}

}  // namespace moulin::organisms
