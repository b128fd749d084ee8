#include "triggers/study_files.h"

#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "report/number_format.h"

namespace moulin::triggers {

StudyFiles write_study(const nlohmann::json& json, const report::Report& report, const std::filesystem::path& folder,
                       const std::string& basename) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw FileError(fmt::format("{}: cannot create the folder: {}", folder.string(), error.message()));
  StudyFiles files;
  files.json = folder / (basename + ".json");
  // A reader (or a crash) never sees half a file: the temporary is renamed into place once complete.
  const auto temporary = std::filesystem::path(files.json.string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << json.dump(2) << "\n";
    if (!out) throw FileError(fmt::format("{}: cannot write", temporary.string()));
  }
  std::filesystem::rename(temporary, files.json, error);
  if (error) throw FileError(fmt::format("{}: cannot write: {}", files.json.string(), error.message()));
  files.report = report::write_report(report, folder, basename);
  return files;
}

nlohmann::json proportion_json(const probes::Proportion& proportion) {
  return {{"count", proportion.count},
          {"total", proportion.total},
          {"rate", proportion.rate},
          {"ci95", nlohmann::json::array({proportion.interval.lower, proportion.interval.upper})}};
}

std::string proportion_text(const probes::Proportion& proportion) {
  return fmt::format("{}% [{}, {}] ({}/{})", report::format_number(100 * proportion.rate, 0),
                     report::format_number(100 * proportion.interval.lower, 0),
                     report::format_number(100 * proportion.interval.upper, 0), proportion.count, proportion.total);
}

nlohmann::json tensor_json(const at::Tensor& values) {
  const at::Tensor cpu = values.to(at::kDouble).cpu();
  if (cpu.dim() == 0) return cpu.item<double>();
  nlohmann::json array = nlohmann::json::array();
  for (std::int64_t i = 0; i < cpu.size(0); ++i) array.push_back(tensor_json(cpu[i]));
  return array;
}

std::vector<std::vector<double>> tensor_rows(const at::Tensor& values) {
  const at::Tensor cpu = values.to(at::kDouble).cpu().contiguous();
  std::vector<std::vector<double>> rows;
  for (std::int64_t i = 0; i < cpu.size(0); ++i) {
    const double* row = cpu[i].data_ptr<double>();
    rows.emplace_back(row, row + cpu.size(1));
  }
  return rows;
}

}  // namespace moulin::triggers
