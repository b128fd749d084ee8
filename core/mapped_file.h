#pragma once
// A read-only memory mapping of a whole file, unmapped on destruction.
#include <cstddef>
#include <filesystem>

namespace moulin {

class MappedFile {
 public:
  // Throws FileError naming the path when it is missing, not a regular file, or cannot be mapped.
  static MappedFile open(const std::filesystem::path& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Hints that [offset, offset+length) will be read soon, front to back.
  void will_read(std::size_t offset, std::size_t length) const;
  // Drops the resident pages of [offset, offset+length) so a loader that has copied them out does not hold the
  // file twice in RSS. The mapping stays valid: later reads fault the pages back in from the page cache.
  void release(std::size_t offset, std::size_t length) const;

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace moulin
