#include "store/disk_space.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {

DiskReservation::DiskReservation(std::filesystem::path path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) throw FileError(fmt::format("cannot open {} for writing: {}", path_.string(), std::strerror(errno)));
}

DiskReservation::~DiskReservation() {
  if (fd_ >= 0) ::close(fd_);
}

DiskReservation::DiskReservation(DiskReservation&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

DiskReservation& DiskReservation::operator=(DiskReservation&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void DiskReservation::reserve(std::uint64_t offset, std::uint64_t bytes) {
  // posix_fallocate leaves existing data alone and allocates only the missing blocks, so reserving a range that
  // is already there costs almost nothing.
  const int error = posix_fallocate(fd_, static_cast<off_t>(offset), static_cast<off_t>(bytes));
  if (error != 0)
    throw FileError(fmt::format("{}: no room to write the next batch ({:.1f} MB past {:.1f} MB): {}", path_.string(),
                                static_cast<double>(bytes) / 1e6, static_cast<double>(offset) / 1e6,
                                std::strerror(error)));
}

}  // namespace moulin
