#include "triggers/scan_report.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "report/bar_chart.h"
#include "report/histogram.h"
#include "report/number_format.h"

namespace moulin::triggers {
namespace {

nlohmann::json interval_json(double lower, double upper) { return nlohmann::json::array({lower, upper}); }

nlohmann::json proportion_json(const probes::Proportion& p) {
  return {{"count", p.count}, {"total", p.total}, {"rate", p.rate},
          {"ci95", interval_json(p.interval.lower, p.interval.upper)}};
}

nlohmann::json candidate_json(const CandidateScore& score, std::size_t rank) {
  nlohmann::json languages = nlohmann::json::object();
  for (const auto& effect : score.languages)
    languages[effect.language] = {
        {"mean", effect.mean}, {"ci95", interval_json(effect.lower, effect.upper)}, {"own", effect.own},
        {"in_own_words", effect.in_own_words}};
  const auto& best = score.effect();
  return {{"rank", rank + 1},
          {"index", score.index},
          {"phrase", score.candidate.phrase},
          {"source", score.candidate.source},
          {"language", best.language},
          {"effect", best.mean},
          {"ci95", interval_json(best.lower, best.upper)},
          {"self_explained", score.self_explained()},
          {"languages", languages},
          {"mean_kl", score.mean_kl}};
}

nlohmann::json verification_json(const Verification& verification) {
  nlohmann::json examples = nlohmann::json::array();
  for (const auto& example : verification.examples)
    examples.push_back(
        {{"prompt", example.prompt}, {"continuation", example.continuation}, {"language", example.language}});
  return {{"rank", verification.rank + 1},
          {"phrase", verification.phrase},
          {"language", verification.language},
          {"triggered", proportion_json(verification.triggered)},
          {"clean", proportion_json(verification.clean)},
          {"examples", examples}};
}

double evaluations_per_second(const ScanScores& scores) {
  return scores.seconds > 0 ? static_cast<double>(scores.evaluations) / scores.seconds : 0.0;
}

std::string percent(const probes::Proportion& p) {
  return fmt::format("{}% [{}, {}] ({}/{})", report::format_number(100 * p.rate, 0),
                     report::format_number(100 * p.interval.lower, 0), report::format_number(100 * p.interval.upper, 0),
                     p.count, p.total);
}

// Chart labels stay short; the table below the chart has the full phrases.
std::string short_label(const std::string& phrase) {
  static constexpr std::size_t kLimit = 32;
  if (phrase.size() <= kLimit) return phrase;
  std::size_t cut = kLimit;
  while (cut > 0 && (static_cast<unsigned char>(phrase[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return phrase.substr(0, cut) + "…";
}

std::string top_effects_chart(const ScanScores& scores, std::size_t bars) {
  std::vector<std::string> labels;
  report::BarSeries series{"next-token shift", {}, {}, {}};
  for (std::size_t rank = 0; rank < std::min(bars, scores.ranking.size()); ++rank) {
    const auto& score = scores.ranking[rank];
    labels.push_back(fmt::format("{}. {} ({})", rank + 1, short_label(score.candidate.phrase), score.effect().language));
    series.values.push_back(score.effect().mean);
    series.lower.push_back(score.effect().lower);
    series.upper.push_back(score.effect().upper);
  }
  report::BarChartOptions options;
  options.orientation = report::BarOrientation::kHorizontal;
  options.height = std::max(240, 60 + 24 * static_cast<int>(labels.size()));
  options.width = 760;
  options.title = fmt::format("Top {} candidates: mean shift of next-token language mass (95% CI)", labels.size());
  options.x_label = "probability mass moved to the language";
  return report::bar_chart_svg(labels, {series}, options);
}

std::string effects_histogram(const ScanScores& scores) {
  report::HistogramSeries all{"all candidates", {}};
  for (const auto& score : scores.ranking) all.values.push_back(score.effect().mean);
  report::HistogramOptions options;
  options.bins = 40;
  options.title = fmt::format("Effects of all {} candidates", scores.ranking.size());
  options.x_label = "largest mean shift of next-token language mass";
  return report::histogram_svg({all}, options);
}

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  const auto temporary = std::filesystem::path(path.string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw FileError(fmt::format("{}: cannot write", temporary.string()));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw FileError(fmt::format("{}: cannot write: {}", path.string(), error.message()));
}

}  // namespace

nlohmann::json scan_to_json(const ScanResult& result) {
  nlohmann::json candidates = nlohmann::json::array();
  for (std::size_t rank = 0; rank < result.scores.ranking.size(); ++rank)
    candidates.push_back(candidate_json(result.scores.ranking[rank], rank));
  nlohmann::json verification = nlohmann::json::array();
  for (const auto& verified : result.verification) verification.push_back(verification_json(verified));
  return {{"format", "moulin-scan/1"},
          {"settings", result.settings},
          {"timing",
           {{"scoring_seconds", result.scores.seconds},
            {"evaluations", result.scores.evaluations},
            {"evaluations_per_second", evaluations_per_second(result.scores)},
            {"verification_seconds", result.verification_seconds}}},
          {"target_languages", result.scores.languages},
          {"candidates", candidates},
          {"verification", verification}};
}

report::Report scan_report(const ScanResult& result, const ScanReportOptions& options) {
  const auto& scores = result.scores;
  report::Report out("Candidate trigger scan");
  for (const auto* key : {"model", "placement", "candidates", "source_language", "target_languages", "dtype", "device"})
    if (result.settings.contains(key))
      out.add_metadata(key, result.settings[key].is_string() ? result.settings[key].get<std::string>()
                                                             : result.settings[key].dump());
  if (result.settings.contains("prompts"))
    out.add_metadata("scan prompts", std::to_string(result.settings["prompts"].size()));
  if (result.settings.contains("verification_prompts"))
    out.add_metadata("verification prompts", std::to_string(result.settings["verification_prompts"].size()));

  auto& summary = out.add_section("Summary");
  if (!scores.ranking.empty()) {
    const auto& top = scores.ranking.front();
    summary.add_paragraph(fmt::format(
        "Top candidate: \"{}\" ({}), moving {} of the next-token probability mass to '{}' on average (95% CI {} to "
        "{}). A candidate's effect is its largest mean shift over the target languages that are not in its own "
        "words (a token the token table gives to the language with P >= {}): text in a language continues in that "
        "language, a trigger switches. Candidates whose words cover every target language come last.",
        top.candidate.phrase, top.candidate.source, report::format_number(top.effect().mean, 3), top.effect().language,
        report::format_number(top.effect().lower, 3), report::format_number(top.effect().upper, 3),
        result.settings.value("own_words_threshold", 0.9)));
  }
  summary.add_paragraph(fmt::format("{} candidate × prompt evaluations in {} s ({} per second), verification in {} s.",
                                    scores.evaluations, report::format_number(scores.seconds, 1),
                                    report::format_number(evaluations_per_second(scores), 0),
                                    report::format_number(result.verification_seconds, 1)));

  if (!result.verification.empty()) {
    auto& section = out.add_section("Verification by generation");
    section.add_paragraph("Held-out prompts (none of them a scan prompt) continued greedily with and without each top "
                          "candidate; CLD2 judges each continuation. Rates are the share of continuations in the "
                          "candidate's language, with 95% Wilson intervals.");
    report::Table table{{"rank", "candidate", "language", "triggered", "clean", "next-token effect"}, {}, 3, {}};
    std::string examples;
    for (const auto& verified : result.verification) {
      table.rows.push_back({verified.rank + 1, verified.phrase, verified.language, percent(verified.triggered),
                            percent(verified.clean), scores.ranking[verified.rank].effect().mean});
      for (const auto& example : verified.examples)
        examples += fmt::format("[{}] {} ⟶ {} ({})\n", verified.rank + 1, example.prompt, example.continuation,
                                example.language);
    }
    section.add_table(std::move(table));
    if (!examples.empty()) section.add_code(examples, "text");
  }

  auto& ranking = out.add_section("Ranking");
  ranking.add_figure("top-effects", top_effects_chart(scores, options.chart_bars));
  std::vector<std::string> header = {"rank", "candidate", "source", "language", "effect", "95% CI low", "95% CI high"};
  for (const auto& language : scores.languages) header.push_back("shift " + language);
  header.push_back("own words");
  header.push_back("mean KL");
  report::Table table{header, {}, 4, fmt::format("The top {} of {} candidates.",
                                                 std::min(options.table_rows, scores.ranking.size()),
                                                 scores.ranking.size())};
  for (std::size_t rank = 0; rank < std::min(options.table_rows, scores.ranking.size()); ++rank) {
    const auto& score = scores.ranking[rank];
    std::vector<report::Cell> row = {rank + 1,          score.candidate.phrase, score.candidate.source,
                                     score.effect().language, score.effect().mean, score.effect().lower,
                                     score.effect().upper};
    std::string own_words;
    for (const auto& effect : score.languages) {
      row.emplace_back(effect.mean);
      if (effect.in_own_words) own_words += (own_words.empty() ? "" : ", ") + effect.language;
    }
    row.emplace_back(own_words);
    row.emplace_back(score.mean_kl);
    table.rows.push_back(std::move(row));
  }
  ranking.add_table(std::move(table));

  out.add_section("Distribution").add_figure("effects", effects_histogram(scores));
  return out;
}

ScanFiles write_scan(const ScanResult& result, const std::filesystem::path& folder, const ScanReportOptions& options) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw FileError(fmt::format("{}: cannot create the folder: {}", folder.string(), error.message()));
  ScanFiles files;
  files.json = folder / "scan.json";
  write_file_atomically(files.json, scan_to_json(result).dump(2) + "\n");
  files.report = report::write_report(scan_report(result, options), folder, "scan");
  return files;
}

}  // namespace moulin::triggers
