#pragma once
// Disk space taken ahead of HDF5's writes. HDF5 cannot recover a file whose flush failed halfway (a full disk in
// the middle of a batch leaves its metadata half written, and closing it fails), so the store reserves the blocks a
// batch may need before writing it: a full disk then stops the dump between batches, with the file intact.
#include <cstdint>
#include <filesystem>

namespace moulin {

class DiskReservation {
 public:
  // Opens `path` for writing (the file HDF5 also has open).
  explicit DiskReservation(std::filesystem::path path);
  ~DiskReservation();
  DiskReservation(DiskReservation&& other) noexcept;
  DiskReservation& operator=(DiskReservation&& other) noexcept;
  DiskReservation(const DiskReservation&) = delete;
  DiskReservation& operator=(const DiskReservation&) = delete;

  // Makes sure bytes [offset, offset + bytes) of the file have disk blocks (the file grows when needed; HDF5 trims it
  // back to its end of data on close). Throws FileError naming the file and the cause (no space, file too large).
  void reserve(std::uint64_t offset, std::uint64_t bytes);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace moulin
