#pragma once
// Compression of stored activations. None by default: it keeps a dump fastest (the forward pass, not the disk, is
// then the limit). The others go through Debian's HDF5 filter plugins (scripts/bootstrap installs them), which
// h5py loads too, so compressed stores stay readable without moulin.
#include <string>
#include <string_view>

namespace moulin {

enum class CompressionKind {
  kNone,
  kGzip,       // built into HDF5 (deflate after byte shuffling); slow to write
  kLz4,        // plugin 32004, package hdf5-filter-plugin
  kBloscLz4,   // plugin 32001, package hdf5-filter-plugin-blosc-serial
  kBloscZstd,  // the same plugin, zstd inside blosc
};

struct Compression {
  CompressionKind kind = CompressionKind::kNone;
  int level = 0;  // gzip 1-9 (default 4), blosc 1-9 (default 5); unused otherwise

  // "none", "gzip", "gzip:6", "lz4", "blosc-lz4", "blosc-zstd", "blosc-zstd:3". Throws ArgumentError otherwise.
  static Compression parse(std::string_view text);
  std::string to_string() const;
};

}  // namespace moulin
