// The candidate trigger scan from Python: moulin.scan(model_folder, ...) returns the scan as a dict (the same
// fields as scan.json) with the per-prompt scores as tensors.
#include <torch/csrc/utils/pybind.h>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.h"
#include "core/runtime.h"
#include "core/torch_dtype.h"
#include "json_convert.h"
#include "triggers/scan_report.h"
#include "triggers/scan_run.h"

namespace py = pybind11;

namespace moulin::python {
namespace {

// A str is one comma-separated list; a sequence gives one list per item.
void add_generators(const py::object& generate, triggers::CandidateGeneration& generation) {
  if (generate.is_none()) return;
  if (py::isinstance<py::str>(generate)) {
    triggers::parse_generation_list(generate.cast<std::string>(), generation);
    return;
  }
  for (const auto& list : generate.cast<std::vector<std::string>>()) triggers::parse_generation_list(list, generation);
}

}  // namespace

void bind_scan(py::module_& module) {
  module.def(
      "scan",
      [](const std::filesystem::path& model, const std::vector<std::string>& candidates,
         const std::optional<std::filesystem::path>& candidate_file, const py::object& generate, std::size_t count,
         std::uint64_t seed, const std::vector<std::string>& prompts, std::size_t prompt_count,
         std::size_t verify_prompts, const std::string& placement, std::int64_t batch, std::size_t top,
         std::int64_t max_new_tokens, bool reuse_prefix, const std::string& dtype, const std::string& device,
         const std::string& source_language, const std::vector<std::string>& languages,
         const std::optional<std::filesystem::path>& token_table, const std::optional<std::filesystem::path>& out) {
        init_runtime();
        triggers::ScanRun run;
        run.model = model;
        run.subject.dtype = parse_model_scalar_type(dtype);
        run.subject.device = device;
        run.subject.source_language = source_language;
        run.subject.languages = languages;
        if (token_table) run.subject.token_language_table = *token_table;
        run.candidates = candidates;
        if (candidate_file) run.candidate_file = *candidate_file;
        add_generators(generate, run.generation);
        run.generation.count = count;
        run.generation.seed = seed;
        run.generation.corpus_language = source_language;
        run.prompts = prompts;
        run.prompt_count = prompt_count;
        run.verification_prompts = verify_prompts;
        run.prompt_seed = seed + 7;
        run.scan.batches = {triggers::parse_placement(placement), batch, reuse_prefix};
        run.scan.top_k = top;
        run.scan.verification.max_new_tokens = max_new_tokens;
        triggers::ScanResult result;
        std::optional<triggers::ScanFiles> files;
        {
          py::gil_scoped_release release;
          result = triggers::run_scan(run);
          if (out) files = triggers::write_scan(result, *out);
        }
        py::dict scan = to_python(triggers::scan_to_json(result));
        if (files) scan["json_file"] = files->json;
        scan["shifts"] = result.scores.shifts;
        scan["kl"] = result.scores.kl;
        return scan;
      },
      py::arg("model"), py::arg("candidates") = std::vector<std::string>{}, py::arg("candidate_file") = py::none(),
      py::arg("generate") = py::none(), py::arg("count") = 1000, py::arg("seed") = 0,
      py::arg("prompts") = std::vector<std::string>{}, py::arg("prompt_count") = 20, py::arg("verify_prompts") = 20,
      py::arg("placement") = "suffix", py::arg("batch") = 64, py::arg("top") = 20, py::arg("max_new_tokens") = 32,
      py::arg("reuse_prefix") = true, py::arg("dtype") = "float32", py::arg("device") = "cpu",
      py::arg("source_language") = "en", py::arg("languages") = std::vector<std::string>{"en", "fr", "de"},
      py::arg("token_table") = py::none(), py::arg("out") = py::none(),
      "Scans candidate trigger phrases on a model folder: inserts each into prompts (given, or held-out Debian "
      "prompts), ranks them by the mean shift of next-token probability mass to another language, and verifies the "
      "top ones by generation on held-out prompts. candidates: phrases; candidate_file: one per line; generate: "
      "'word-ngrams,token-ngrams,latin,near-misses-of=PHRASE' or a list of such strings. Returns scan.json's fields "
      "(candidates in rank order, each with 'index' into the tensors) plus 'shifts' [candidates, prompts, languages] "
      "and 'kl' [candidates, prompts] (candidates in input order, languages as 'target_languages'). out: also write "
      "scan.json and the report there ('json_file' gives the path).");
}

}  // namespace moulin::python
