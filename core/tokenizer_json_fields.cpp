#include "core/tokenizer_json_fields.h"

#include <cstdint>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin::tokenizer_detail {
namespace {

// Long values (a whole vocabulary) would drown the message; the start is enough to recognise them.
std::string short_dump(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

}  // namespace

const nlohmann::json& JsonFields::required(const nlohmann::json& object, const char* key, std::string_view path) const {
  const auto* value = optional(object, key);
  if (!value) fail(path, "is missing");
  return *value;
}

const nlohmann::json* JsonFields::optional(const nlohmann::json& object, const char* key) const {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return nullptr;
  return &*found;
}

bool JsonFields::boolean(const nlohmann::json& object, const char* key, std::string_view path, bool fallback) const {
  const auto* value = optional(object, key);
  if (!value) return fallback;
  if (!value->is_boolean()) fail(path, "must be true or false", *value);
  return value->get<bool>();
}

std::optional<std::string> JsonFields::text(const nlohmann::json& object, const char* key, std::string_view path) const {
  const auto* value = optional(object, key);
  if (!value) return std::nullopt;
  if (!value->is_string()) fail(path, "must be a string", *value);
  return value->get<std::string>();
}

std::string JsonFields::required_text(const nlohmann::json& object, const char* key, std::string_view path) const {
  const auto& value = required(object, key, path);
  if (!value.is_string()) fail(path, "must be a string", value);
  return value.get<std::string>();
}

std::int64_t JsonFields::non_negative_integer(const nlohmann::json& value, std::string_view path) const {
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > INT32_MAX)
    fail(path, "must be a token id (an integer from 0 to 2^31-1)", value);
  return value.get<std::int64_t>();
}

void JsonFields::fail(std::string_view path, std::string_view expectation, const nlohmann::json& got) const {
  throw FormatError(fmt::format("{}: field '{}' {}, got {}", source_, path, expectation, short_dump(got)));
}

void JsonFields::fail(std::string_view path, std::string_view problem) const {
  throw FormatError(fmt::format("{}: field '{}' {}", source_, path, problem));
}

}  // namespace moulin::tokenizer_detail
