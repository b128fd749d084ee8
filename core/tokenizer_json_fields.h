#pragma once
// Typed access to tokenizer.json / tokenizer_config.json fields. Every error is a FormatError naming the file and
// the field's full path ("model.merges", "added_tokens[3].content").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace moulin::tokenizer_detail {

class JsonFields {
 public:
  explicit JsonFields(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }

  // `object[key]`; throws when absent or null.
  const nlohmann::json& required(const nlohmann::json& object, const char* key, std::string_view path) const;
  // `object[key]` or nullptr when absent or null.
  const nlohmann::json* optional(const nlohmann::json& object, const char* key) const;

  bool boolean(const nlohmann::json& object, const char* key, std::string_view path, bool fallback) const;
  std::optional<std::string> text(const nlohmann::json& object, const char* key, std::string_view path) const;
  std::string required_text(const nlohmann::json& object, const char* key, std::string_view path) const;
  std::int64_t non_negative_integer(const nlohmann::json& value, std::string_view path) const;

  [[noreturn]] void fail(std::string_view path, std::string_view expectation, const nlohmann::json& got) const;
  [[noreturn]] void fail(std::string_view path, std::string_view problem) const;

 private:
  std::string source_;
};

}  // namespace moulin::tokenizer_detail
