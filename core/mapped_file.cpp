#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {
namespace {

// Closes a file descriptor on scope exit; the mapping outlives it.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

MappedFile MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw FileError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  FdCloser closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0)
    throw FileError(fmt::format("{}: cannot stat: {}", path.string(), std::strerror(errno)));
  if (!S_ISREG(info.st_mode)) throw FileError(fmt::format("{}: not a regular file", path.string()));

  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<std::size_t>(info.st_size);
  if (file.size_ == 0) return file;  // mmap refuses length 0; an empty file simply has no bytes
  void* address = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (address == MAP_FAILED)
    throw FileError(fmt::format("{}: cannot memory-map {} bytes: {}", path.string(), file.size_, std::strerror(errno)));
  file.data_ = static_cast<const std::byte*>(address);
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

namespace {
// madvise needs page-aligned ranges: widen [offset, offset+length) outward for WILLNEED, inward for DONTNEED
// (never dropping a page that also holds bytes outside the range someone may still read).
void advise(const std::byte* base, std::size_t file_size, std::size_t offset, std::size_t length, int advice,
            bool inward) {
  if (!base || length == 0 || offset >= file_size) return;
  const std::size_t page = page_size();
  std::size_t begin = offset, end = std::min(file_size, offset + length);
  if (inward) {
    begin = (begin + page - 1) / page * page;
    end = end / page * page;
  } else {
    begin = begin / page * page;
  }
  if (end <= begin) return;
  ::madvise(const_cast<std::byte*>(base) + begin, end - begin, advice);  // advisory: failure is harmless
}
}  // namespace

void MappedFile::will_read(std::size_t offset, std::size_t length) const {
  advise(data_, size_, offset, length, MADV_WILLNEED, false);
}

void MappedFile::release(std::size_t offset, std::size_t length) const {
  advise(data_, size_, offset, length, MADV_DONTNEED, true);
}

}  // namespace moulin
