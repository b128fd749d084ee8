// Safetensors parsing and validation: every malformed input gets a FormatError naming the file and tensor.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "core/safetensors.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace moulin {
namespace {

using test::expect_error;
using test::TempDir;

std::string with_length_prefix(const std::string& header, const std::string& data = "") {
  std::string bytes(8, '\0');
  std::uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xFF);
  return bytes + header + data;
}

void expect_header_error(const std::string& file_bytes, std::initializer_list<const char*> fragments) {
  expect_error<FormatError>([&] { parse_safetensors_header(file_bytes, file_bytes.size(), "w.safetensors"); },
                            fragments);
}

TEST(Safetensors, RoundTripsWrittenFile) {
  TempDir dir;
  const std::vector<float> a{1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
  const std::vector<std::uint16_t> b{0x3f80, 0x4000};
  write_safetensors(dir / "m.safetensors", {{"b", DType::kBF16, {2}, b.data(), 4}, {"a", DType::kF32, {2, 3}, a.data(), 24}});
  const auto file = SafetensorsFile::open(dir / "m.safetensors");
  ASSERT_EQ(file.tensors().size(), 2u);
  const auto& info = file.at("a");
  EXPECT_EQ(info.dtype, DType::kF32);
  EXPECT_EQ(info.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(info.numel(), 6);
  EXPECT_EQ(std::memcmp(file.data(info), a.data(), 24), 0);
  EXPECT_EQ(file.at("b").dtype, DType::kBF16);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.find("c"), nullptr);
  // Header space-padded to a multiple of 8, as the reference writer does.
  const auto bytes = test::read_file(dir / "m.safetensors");
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  EXPECT_EQ(header_length % 8, 0u);
  EXPECT_FALSE(std::filesystem::exists(dir / "m.safetensors.tmp"));
}

TEST(Safetensors, EmptyTensorsAndZeroSizedFileData) {
  const auto bytes = with_length_prefix(R"({"e":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]}})");
  const auto header = parse_safetensors_header(bytes, bytes.size(), "w");
  ASSERT_EQ(header.tensors.size(), 1u);
  EXPECT_EQ(header.tensors[0].numel(), 0);
}

TEST(Safetensors, TruncatedBeforeHeaderLength) {
  expect_header_error(std::string("\x10\x00\x00", 3), {"w.safetensors", "truncated", "3 bytes"});
}

TEST(Safetensors, HeaderLengthBeyondFile) {
  auto bytes = with_length_prefix(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "abcd");
  bytes.resize(bytes.size() - 30);
  expect_header_error(bytes, {"w.safetensors", "header length", "beyond the end of the file"});
}

TEST(Safetensors, AbsurdHeaderLengthIsRefused) {
  std::string bytes(16, '\xff');
  expect_error<UnsupportedError>([&] { parse_safetensors_header(bytes, bytes.size(), "w.safetensors"); },
                                 {"w.safetensors", "100 MB"});
}

TEST(Safetensors, MalformedJson) {
  expect_header_error(with_length_prefix(R"({"a":{"dtype":"F32",)"), {"w.safetensors", "not valid JSON"});
  expect_header_error(with_length_prefix("[1,2]"), {"w.safetensors", "must be a JSON object"});
}

TEST(Safetensors, UnknownDtype) {
  expect_header_error(with_length_prefix(R"({"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}})", "abcd"),
                      {"w.safetensors", "tensor 'w'", "unknown dtype 'F17'"});
}

TEST(Safetensors, MissingOrMistypedFields) {
  expect_header_error(with_length_prefix(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "abcd"), {"'w'", "dtype"});
  expect_header_error(with_length_prefix(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", "abcd"), {"'w'", "shape"});
  expect_header_error(with_length_prefix(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "abcd"),
                      {"'w'", "non-negative"});
  expect_header_error(with_length_prefix(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "abcd"),
                      {"'w'", "data_offsets"});
  expect_header_error(with_length_prefix(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", "abcd"),
                      {"'w'", "end before they begin"});
  expect_header_error(with_length_prefix(R"({"w":7})"), {"'w'", "must be an object"});
  expect_header_error(with_length_prefix(R"({"__metadata__":{"format":1}})"), {"__metadata__", "format"});
}

TEST(Safetensors, ShapeDisagreesWithByteRange) {
  expect_header_error(with_length_prefix(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd"),
                      {"'w'", "needs 8 bytes", "hold 4"});
}

TEST(Safetensors, ShapeOverflowIsCaught) {
  expect_header_error(
      with_length_prefix(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", "abcdefgh"),
      {"'w'", "overflows"});
}

TEST(Safetensors, OffsetsPastTheData) {
  expect_header_error(with_length_prefix(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "abcd"),
                      {"'w'", "run past the data section", "truncated"});
}

TEST(Safetensors, OverlappingTensors) {
  expect_header_error(with_length_prefix(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                         std::string(12, 'x')),
                      {"'a'", "'b'", "overlap"});
}

TEST(Safetensors, DuplicateTensorNames) {
  expect_header_error(with_length_prefix(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                         R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                         std::string(8, 'x')),
                      {"'a'", "twice"});
}

TEST(Safetensors, TruncatedFileOnDisk) {
  TempDir dir;
  const std::vector<float> values(64, 1.f);
  write_safetensors(dir / "m.safetensors", {{"w", DType::kF32, {64}, values.data(), 256}});
  auto bytes = test::read_file(dir / "m.safetensors");
  bytes.resize(bytes.size() - 100);
  test::write_file(dir / "cut.safetensors", bytes);
  expect_error<FormatError>([&] { SafetensorsFile::open(dir / "cut.safetensors"); },
                            {"cut.safetensors", "tensor 'w'", "truncated"});
}

TEST(Safetensors, MissingFileAndFolder) {
  TempDir dir;
  expect_error<FileError>([&] { SafetensorsFile::open(dir / "absent.safetensors"); }, {"absent.safetensors", "cannot open"});
  expect_error<FileError>([&] { SafetensorsFile::open(dir.path()); }, {"not a regular file"});
  test::write_file(dir / "empty.safetensors", "");
  expect_error<FormatError>([&] { SafetensorsFile::open(dir / "empty.safetensors"); }, {"empty.safetensors", "truncated"});
}

TEST(Safetensors, WriterRefusesInconsistentBlob) {
  TempDir dir;
  const std::vector<float> values(3, 1.f);
  expect_error<ArgumentError>([&] { write_safetensors(dir / "m.safetensors", {{"w", DType::kF32, {4}, values.data(), 12}}); },
                              {"'w'", "12 bytes"});
}

// Random corruption of a valid file must produce an error or a valid parse, never a crash (ASan/UBSan run this).
TEST(Safetensors, RandomCorruptionNeverCrashes) {
  const std::string valid = with_length_prefix(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                               R"("b":{"dtype":"BF16","shape":[2,2],"data_offsets":[8,16]}})",
                                               std::string(16, 'x'));
  std::uint64_t state = 12345;
  const auto next = [&] { return state = state * 6364136223846793005ULL + 1442695040888963407ULL; };
  int parsed = 0, refused = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = valid;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int f = 0; f < flips; ++f) bytes[(next() >> 16) % bytes.size()] = static_cast<char>(next() >> 40);
    if (next() % 5 == 0) bytes.resize((next() >> 20) % bytes.size());
    try {
      const auto header = parse_safetensors_header(bytes, bytes.size(), "fuzz");
      for (const auto& tensor : header.tensors) ASSERT_LE(header.data_start + tensor.end, bytes.size());
      ++parsed;
    } catch (const Error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_EQ(parsed + refused, 3000);
}

}  // namespace
}  // namespace moulin
