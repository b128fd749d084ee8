// Trigger inversion from Python: moulin.invert(model_folder, target="fr", ...) runs a GCG search and validates
// what it finds; moulin.target_first_scan(model_folder, ...) asks every target language whether a trigger hides
// behind it. Both return the same dicts as inversion.json / target-scan.json.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.h"
#include "core/runtime.h"
#include "json_convert.h"
#include "subject_options.h"
#include "triggers/inversion_report.h"
#include "triggers/inversion_study.h"
#include "triggers/target_scan.h"

namespace py = pybind11;

namespace moulin::python {
namespace {

// The arguments both functions share.
struct SearchArguments {
  std::int64_t length;
  std::optional<std::int64_t> steps;
  std::int64_t top_k;
  std::int64_t candidates;
  std::int64_t restarts;
  std::optional<std::int64_t> patience;
  double max_target_probability;
  std::uint64_t seed;

  void apply(triggers::InversionOptions& search) const {
    search.trigger_length = length;
    if (steps) search.steps = *steps;
    if (patience) search.patience = *patience;
    search.top_k = top_k;
    search.candidates = candidates;
    search.restarts = restarts;
    search.max_target_probability = max_target_probability;
    search.seed = seed;
  }
};

triggers::Subject load(const std::filesystem::path& model, const std::string& dtype, const std::string& device,
                       const std::string& source_language, const std::vector<std::string>& languages,
                       const std::optional<std::filesystem::path>& token_table) {
  return triggers::load_subject(model, subject_options(dtype, device, source_language, languages, token_table));
}

// Python callbacks run with the GIL held; the search itself runs without it.
triggers::InversionProgress progress_callbacks(const py::object& on_stage, const py::object& on_step) {
  triggers::InversionProgress progress;
  if (!on_stage.is_none())
    progress.on_stage = [on_stage](const std::string& stage) {
      py::gil_scoped_acquire gil;
      on_stage(stage);
    };
  if (!on_step.is_none())
    progress.on_step = [on_step](const triggers::InversionStep& step) {
      py::gil_scoped_acquire gil;
      py::dict record;
      record["restart"] = step.restart;
      record["step"] = step.step;
      record["objective"] = step.objective;
      record["best_objective"] = step.best_objective;
      record["seconds"] = step.seconds;
      record["trigger"] = step.trigger;
      on_step(record);
    };
  return progress;
}

py::dict with_files(nlohmann::json json, const std::optional<triggers::InversionFiles>& files) {
  py::dict out = to_python(json);
  if (files) {
    out["json_file"] = files->json;
    out["report_html"] = files->report.html;
    out["report_markdown"] = files->report.markdown;
  }
  return out;
}

}  // namespace

void bind_invert(py::module_& module) {
  module.def(
      "invert",
      [](const std::filesystem::path& model, const std::string& target, std::int64_t length,
         std::optional<std::int64_t> steps, std::int64_t top_k, std::int64_t candidates, std::int64_t restarts,
         std::optional<std::int64_t> patience, double max_target_probability, std::size_t search_prompts,
         std::size_t validation_prompts, std::uint64_t seed, const std::string& source_language,
         const std::vector<std::string>& languages, const std::optional<std::filesystem::path>& token_table,
         const std::string& dtype, const std::string& device, const std::optional<std::filesystem::path>& out,
         const py::object& on_stage, const py::object& on_step) {
        init_runtime();
        triggers::InversionStudyOptions options;
        options.search.target_language = target;
        SearchArguments{length, steps, top_k, candidates, restarts, patience, max_target_probability, seed}.apply(
            options.search);
        options.search_prompts = search_prompts;
        options.validation_prompts = validation_prompts;
        const auto progress = progress_callbacks(on_stage, on_step);
        nlohmann::json json;
        std::optional<triggers::InversionFiles> files;
        {
          py::gil_scoped_release release;
          const auto subject = load(model, dtype, device, source_language, languages, token_table);
          const auto study = triggers::run_inversion_study(subject, options, progress);
          json = triggers::inversion_study_json(study);
          if (out) files = triggers::write_inversion_study(study, *out);
        }
        return with_files(std::move(json), files);
      },
      py::arg("model"), py::arg("target") = "fr", py::arg("length") = 8, py::arg("steps") = py::none(),
      py::arg("top_k") = 64, py::arg("candidates") = 128, py::arg("restarts") = 1, py::arg("patience") = py::none(),
      py::arg("max_target_probability") = 0.5, py::arg("search_prompts") = 16, py::arg("validation_prompts") = 60,
      py::arg("seed") = 0, py::arg("source_language") = "en",
      py::arg("languages") = std::vector<std::string>{"en", "fr", "de"}, py::arg("token_table") = py::none(),
      py::arg("dtype") = "bfloat16", py::arg("device") = "cpu", py::arg("out") = py::none(),
      py::arg("on_stage") = py::none(), py::arg("on_step") = py::none(),
      "Searches a trigger from scratch (GCG) that switches source-language prompts to `target`, without "
      "target-language tokens, and measures its switch rate on held-out prompts. Returns the inversion.json dict; "
      "with `out`, also writes it and the report there. on_stage(str) is called as each stage starts and "
      "on_step(dict) after every search step.");

  module.def(
      "target_first_scan",
      [](const std::filesystem::path& model, std::int64_t length, std::optional<std::int64_t> steps, std::int64_t top_k,
         std::int64_t candidates, std::int64_t restarts, std::optional<std::int64_t> patience,
         double max_target_probability, std::size_t search_prompts, std::size_t validation_prompts,
         std::size_t random_baselines, double min_switch_rate, std::uint64_t seed, const std::string& source_language,
         const std::vector<std::string>& languages, const std::optional<std::filesystem::path>& token_table,
         const std::string& dtype, const std::string& device, const std::optional<std::filesystem::path>& out,
         const py::object& on_stage, const py::object& on_step) {
        init_runtime();
        triggers::TargetScanOptions options;
        SearchArguments{length, steps, top_k, candidates, restarts, patience, max_target_probability, seed}.apply(
            options.search);
        options.search_prompts = search_prompts;
        options.validation_prompts = validation_prompts;
        options.random_baselines = random_baselines;
        options.min_switch_rate = min_switch_rate;
        const auto progress = progress_callbacks(on_stage, on_step);
        nlohmann::json json;
        std::optional<triggers::InversionFiles> files;
        {
          py::gil_scoped_release release;
          const auto subject = load(model, dtype, device, source_language, languages, token_table);
          const auto scan = triggers::run_target_scan(subject, options, progress);
          json = triggers::target_scan_json(scan);
          if (out) files = triggers::write_target_scan(scan, *out);
        }
        return with_files(std::move(json), files);
      },
      py::arg("model"), py::arg("length") = 8, py::arg("steps") = py::none(), py::arg("top_k") = 64,
      py::arg("candidates") = 128, py::arg("restarts") = 1, py::arg("patience") = py::none(),
      py::arg("max_target_probability") = 0.5, py::arg("search_prompts") = 16, py::arg("validation_prompts") = 40,
      py::arg("random_baselines") = 4, py::arg("min_switch_rate") = triggers::TargetScanOptions{}.min_switch_rate, py::arg("seed") = 0,
      py::arg("source_language") = "en", py::arg("languages") = std::vector<std::string>{"en", "fr", "de"},
      py::arg("token_table") = py::none(), py::arg("dtype") = "bfloat16", py::arg("device") = "cpu",
      py::arg("out") = py::none(), py::arg("on_stage") = py::none(), py::arg("on_step") = py::none(),
      "Target-first scan (BAIT-like): a budgeted inversion per language of the token table other than the source, "
      "each judged against random sequences and the prompts alone. Returns the target-scan.json dict, whose "
      "'verdict' is 'trigger hiding, target L' or 'no trigger'; with `out`, also writes it and the report there. "
      "on_stage(str) and on_step(dict) report progress as in invert().");
}

}  // namespace moulin::python
