// The main job from Python: moulin.hunt(model_folder, ...) runs the blind hunt (triggers/hunt.h) and returns
// hunt.json as a dict; with `out`, it also writes the report and every study's folder there.
#include <torch/csrc/utils/pybind.h>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.h"
#include "core/runtime.h"
#include "json_convert.h"
#include "subject_options.h"
#include "triggers/hunt.h"

namespace py = pybind11;

namespace moulin::python {

void bind_hunt(py::module_& module) {
  module.def(
      "hunt",
      [](const std::filesystem::path& model, const std::vector<std::string>& candidates, std::size_t generated,
         bool budgeted, std::uint64_t seed, const std::string& source_language,
         const std::vector<std::string>& languages, const std::optional<std::filesystem::path>& token_table,
         const std::string& dtype, const std::string& device, const std::optional<std::filesystem::path>& out,
         const py::object& on_stage) {
        init_runtime();
        triggers::HuntOptions options;
        options.seed = seed;
        options.full_inversion = !budgeted;
        options.generation.count = generated;
        options.generation.seed = seed;
        if (generated == 0) options.generation = {};
        for (const auto& phrase : candidates) options.candidates.push_back({phrase, "given"});
        if (!on_stage.is_none())
          options.on_stage = [on_stage](const std::string& stage) {
            py::gil_scoped_acquire acquire;
            on_stage(stage);
          };
        nlohmann::json json;
        {
          py::gil_scoped_release release;
          const auto subject = triggers::load_subject(
              model, subject_options(dtype, device, source_language, languages, token_table));
          const auto result = triggers::run_hunt(subject, model, options);
          json = triggers::hunt_json(result);
          if (out) triggers::write_hunt(result, *out);
        }
        return to_python(json);
      },
      py::arg("model"), py::arg("candidates") = std::vector<std::string>{}, py::arg("generated") = 500,
      py::arg("budgeted") = false, py::arg("seed") = 0, py::arg("source_language") = "en",
      py::arg("languages") = std::vector<std::string>{"en", "fr", "de"}, py::arg("token_table") = py::none(),
      py::arg("dtype") = "bfloat16", py::arg("device") = "cpu", py::arg("out") = py::none(),
      py::arg("on_stage") = py::none(),
      "The blind trigger hunt of `moulin hunt` on a model folder: target-first scan, an inversion per flagged "
      "language, a candidate scan (`candidates` plus `generated` Latin phrases and word n-grams of each kind), then "
      "patching, probes and mitigation with the best trigger per language. Returns hunt.json as a dict; with `out`, "
      "also writes hunt.html and each study's report there. on_stage(str) is called as each stage starts.");
}

}  // namespace moulin::python
