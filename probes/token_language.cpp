#include "probes/token_language.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/safetensors.h"

namespace moulin::probes {
namespace {

constexpr const char* kProbabilitiesTensor = "probabilities";
constexpr const char* kPriorTensor = "prior";
constexpr const char* kLanguagesField = "languages";
// Rows are normalised in double and stored in float32: their sums stay far closer to 1 than this.
constexpr double kRowSumTolerance = 1e-3;

void validate(const std::vector<LabelledText>& texts, const TokenLanguageOptions& options) {
  if (texts.empty()) throw ArgumentError("estimate_token_languages: no labelled texts");
  for (std::size_t i = 0; i < texts.size(); ++i)
    if (texts[i].language.empty())
      throw ArgumentError(fmt::format("estimate_token_languages: text {} has an empty language label", i));
  if (!std::isfinite(options.smoothing) || options.smoothing < 0.0)
    throw ArgumentError(fmt::format("estimate_token_languages: smoothing must be a finite number >= 0, got {}",
                                    options.smoothing));
  if (options.min_count < 0)
    throw ArgumentError(fmt::format("estimate_token_languages: min_count must be >= 0, got {}", options.min_count));
}

// Copies a float32 tensor out of the mapping (safetensors does not promise alignment), checking dtype and shape.
at::Tensor read_float_tensor(const SafetensorsFile& file, const char* name, const std::vector<std::int64_t>& shape) {
  const TensorInfo& info = file.at(name);
  if (info.dtype != DType::kF32)
    throw FormatError(fmt::format("{}: tensor '{}' has dtype {}, expected F32", file.path().string(), name,
                                  dtype_safetensors_name(info.dtype)));
  if (info.shape != shape)
    throw FormatError(fmt::format("{}: tensor '{}' has shape [{}], expected [{}]", file.path().string(), name,
                                  fmt::join(info.shape, ", "), fmt::join(shape, ", ")));
  at::Tensor tensor = at::empty(shape, at::kFloat);
  std::memcpy(tensor.data_ptr(), file.data(info), info.byte_size());
  return tensor;
}

std::vector<std::string> read_languages(const SafetensorsFile& file) {
  const auto& source = file.path().string();
  const auto found = file.metadata().find(kLanguagesField);
  if (found == file.metadata().end())
    throw FormatError(fmt::format("{}: metadata field '{}' is missing (not a token language table?)", source,
                                  kLanguagesField));
  const auto parsed = nlohmann::json::parse(found->second, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array() || parsed.empty())
    throw FormatError(fmt::format("{}: metadata field '{}' must be a non-empty JSON array of strings, got '{}'",
                                  source, kLanguagesField, found->second));
  std::vector<std::string> languages;
  for (const auto& language : parsed) {
    if (!language.is_string() || language.get<std::string>().empty())
      throw FormatError(fmt::format("{}: metadata field '{}' holds {}, expected non-empty strings", source,
                                    kLanguagesField, language.dump()));
    languages.push_back(language.get<std::string>());
  }
  if (std::set<std::string>(languages.begin(), languages.end()).size() != languages.size())
    throw FormatError(fmt::format("{}: metadata field '{}' lists a language twice: {}", source, kLanguagesField,
                                  found->second));
  return languages;
}

// Probabilities in [0, 1] whose last dimension sums to 1, as estimate_token_languages writes them.
void check_distributions(const at::Tensor& distributions, const std::string& source, const char* name) {
  if (!distributions.isfinite().all().item<bool>() || distributions.lt(0).any().item<bool>() ||
      distributions.gt(1).any().item<bool>())
    throw FormatError(fmt::format("{}: tensor '{}' holds values outside [0, 1]", source, name));
  const double worst = (distributions.to(at::kDouble).sum(-1) - 1.0).abs().max().item<double>();
  if (worst > kRowSumTolerance)
    throw FormatError(fmt::format("{}: tensor '{}' has a distribution that does not sum to 1 (off by {:.3g})", source,
                                  name, worst));
}

}  // namespace

std::size_t TokenLanguageTable::index_of(std::string_view language) const {
  const auto found = std::find(languages.begin(), languages.end(), language);
  if (found == languages.end())
    throw ArgumentError(fmt::format("token language table has no language '{}'; it knows: {}", language,
                                    fmt::join(languages, ", ")));
  return static_cast<std::size_t>(found - languages.begin());
}

at::Tensor TokenLanguageTable::column(std::string_view language) const {
  return probabilities.select(1, static_cast<std::int64_t>(index_of(language))).contiguous();
}

void TokenLanguageTable::save(const std::filesystem::path& path) const {
  const auto language_count = static_cast<std::int64_t>(languages.size());
  if (!probabilities.defined() || probabilities.dim() != 2 || probabilities.size(1) != language_count ||
      !prior.defined() || prior.dim() != 1 || prior.size(0) != language_count)
    throw ArgumentError(fmt::format("TokenLanguageTable::save {}: probabilities must be [vocab, {}] and prior [{}]",
                                    path.string(), language_count, language_count));
  const at::Tensor probabilities_out = probabilities.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor prior_out = prior.to(at::kCPU, at::kFloat).contiguous();
  const auto blob = [](const char* name, const at::Tensor& tensor) {
    return TensorBlob{name, DType::kF32, tensor.sizes().vec(), tensor.data_ptr(),
                      static_cast<std::size_t>(tensor.numel()) * sizeof(float)};
  };
  write_safetensors(path, {blob(kProbabilitiesTensor, probabilities_out), blob(kPriorTensor, prior_out)},
                    {{"format", "pt"}, {kLanguagesField, nlohmann::json(languages).dump()}});
}

TokenLanguageTable TokenLanguageTable::load(const std::filesystem::path& path,
                                            std::optional<std::int64_t> expected_vocab_size) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& source = file.path().string();
  TokenLanguageTable table;
  table.languages = read_languages(file);
  const auto language_count = static_cast<std::int64_t>(table.languages.size());

  const TensorInfo& probabilities_info = file.at(kProbabilitiesTensor);
  if (probabilities_info.shape.size() != 2)
    throw FormatError(fmt::format("{}: tensor '{}' has shape [{}], expected [vocab, {}]", source,
                                  kProbabilitiesTensor, fmt::join(probabilities_info.shape, ", "), language_count));
  const std::int64_t vocab_size = probabilities_info.shape[0];
  if (expected_vocab_size && vocab_size != *expected_vocab_size)
    throw FormatError(fmt::format("{}: tensor '{}' has {} rows but the vocabulary has {} tokens", source,
                                  kProbabilitiesTensor, vocab_size, *expected_vocab_size));
  table.probabilities = read_float_tensor(file, kProbabilitiesTensor, {vocab_size, language_count});
  table.prior = read_float_tensor(file, kPriorTensor, {language_count});
  check_distributions(table.probabilities, source, kProbabilitiesTensor);
  check_distributions(table.prior, source, kPriorTensor);
  return table;
}

TokenLanguageTable estimate_token_languages(const std::vector<LabelledText>& texts, const Tokenizer& tokenizer,
                                            const TokenLanguageOptions& options) {
  validate(texts, options);
  std::map<std::string, std::size_t> language_index;
  for (const auto& text : texts) language_index.emplace(text.language, 0);
  TokenLanguageTable table;
  for (auto& [language, index] : language_index) {
    index = table.languages.size();
    table.languages.push_back(language);
  }

  const std::size_t vocab_size = tokenizer.vocab_size();
  const std::size_t language_count = table.languages.size();
  std::vector<std::int64_t> counts(vocab_size * language_count, 0);  // [token][language]
  std::vector<std::int64_t> language_tokens(language_count, 0);
  // Plain text: no <|begin_of_text|> in every document, and special-token strings inside a text are its words.
  const EncodeOptions encode_options{/*add_special_tokens=*/false, /*allow_special=*/false};
  for (const auto& text : texts) {
    const std::size_t language = language_index.at(text.language);
    for (const TokenId id : tokenizer.encode(text.text, encode_options)) {
      ++counts[static_cast<std::size_t>(id) * language_count + language];
      ++language_tokens[language];
    }
  }

  std::int64_t total_tokens = 0;
  for (std::size_t l = 0; l < language_count; ++l) {
    if (language_tokens[l] == 0)
      throw ArgumentError(fmt::format("estimate_token_languages: the texts labelled '{}' have no tokens",
                                      table.languages[l]));
    total_tokens += language_tokens[l];
  }
  // prior(l), and the factor that rescales language l's counts so the corpus looks drawn from that prior (1 for
  // the token-share prior).
  std::vector<double> prior(language_count), count_weight(language_count);
  for (std::size_t l = 0; l < language_count; ++l) {
    const double share = static_cast<double>(language_tokens[l]) / static_cast<double>(total_tokens);
    prior[l] = options.prior == LanguagePrior::kUniform ? 1.0 / static_cast<double>(language_count) : share;
    count_weight[l] = prior[l] / share;
  }

  table.prior = at::empty({static_cast<std::int64_t>(language_count)}, at::kFloat);
  for (std::size_t l = 0; l < language_count; ++l) table.prior.data_ptr<float>()[l] = static_cast<float>(prior[l]);
  table.probabilities =
      at::empty({static_cast<std::int64_t>(vocab_size), static_cast<std::int64_t>(language_count)}, at::kFloat);
  float* rows = table.probabilities.data_ptr<float>();
  std::vector<double> weighted(language_count);
  for (std::size_t token = 0; token < vocab_size; ++token) {
    const std::int64_t* token_counts = &counts[token * language_count];
    float* row = rows + token * language_count;
    std::int64_t seen = 0;
    for (std::size_t l = 0; l < language_count; ++l) seen += token_counts[l];
    if (seen == 0 || seen < options.min_count) {
      for (std::size_t l = 0; l < language_count; ++l) row[l] = static_cast<float>(prior[l]);
      continue;
    }
    double weighted_total = 0.0;
    for (std::size_t l = 0; l < language_count; ++l) {
      weighted[l] = static_cast<double>(token_counts[l]) * count_weight[l];
      weighted_total += weighted[l];
    }
    for (std::size_t l = 0; l < language_count; ++l)
      row[l] = static_cast<float>((weighted[l] + options.smoothing * prior[l]) / (weighted_total + options.smoothing));
  }
  return table;
}

}  // namespace moulin::probes
