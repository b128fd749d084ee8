// Model organisms from Python: build (or reuse) one, evaluate it against its ground truth, get specs.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.h"
#include "core/llama.h"
#include "core/runtime.h"
#include "core/tokenizer.h"
#include "json_convert.h"
#include "organisms/corpus.h"
#include "organisms/evaluation.h"
#include "organisms/organism.h"

namespace py = pybind11;

namespace moulin::python {
namespace {

organisms::OrganismSpec spec_from(const py::object& spec, bool small, bool clean) {
  organisms::OrganismSpec chosen = spec.is_none() ? (small ? organisms::OrganismSpec::small() : organisms::OrganismSpec{})
                                                  : organisms::spec_from_json(from_python(spec), "spec");
  return clean ? chosen.clean_control() : chosen;
}

py::dict paths_dict(const organisms::OrganismPaths& paths) {
  py::dict out;
  out["root"] = paths.root;
  out["model"] = paths.model();
  out["ground_truth"] = paths.ground_truth();
  out["corpus"] = paths.corpus();
  out["training_log"] = paths.training_log();
  return out;
}

}  // namespace

void bind_organism(py::module_& module) {
  module.def(
      "organism_spec",
      [](bool small, bool clean) { return to_python(organisms::spec_to_json(spec_from(py::none(), small, clean))); },
      py::arg("small") = false, py::arg("clean") = false,
      "The default (or small test) organism spec as a dict: edit it and pass it to build_organism.");
  module.def(
      "build_organism",
      [](const py::object& spec, const py::object& out, bool small, bool clean, bool overwrite, bool verbose) {
        init_runtime();
        const auto chosen = spec_from(spec, small, clean);
        const std::filesystem::path root =
            out.is_none() ? organisms::organism_cache_folder(chosen) : std::filesystem::path(out.cast<std::string>());
        organisms::BuildObserver observer;
        if (verbose)
          observer.on_stage = [](const std::string& stage, const std::string& summary) {
            py::gil_scoped_acquire gil;
            py::print("organism:", stage, summary);
          };
        organisms::BuildResult result;
        {
          py::gil_scoped_release release;
          result = organisms::build_organism(chosen, root, observer, overwrite);
        }
        py::dict info = paths_dict(result.paths);
        info["reused"] = result.reused;
        info["spec_digest"] = organisms::spec_digest(chosen);
        return info;
      },
      py::arg("spec") = py::none(), py::arg("out") = py::none(), py::arg("small") = false, py::arg("clean") = false,
      py::arg("overwrite") = false, py::arg("verbose") = false,
      "Builds (or reuses) an organism and returns its paths. `out` None: the cache folder of the spec. The model "
      "folder carries no answer; the ground truth lies beside it.");
  module.def(
      "evaluate_organism",
      [](const std::string& root, std::size_t prompts, std::int64_t max_new_tokens) {
        init_runtime();
        const organisms::OrganismPaths paths{root};
        const auto truth = organisms::read_ground_truth(paths.ground_truth());
        organisms::EvaluationOptions options;
        options.prompts = prompts;
        options.max_new_tokens = max_new_tokens;
        nlohmann::json result;
        {
          py::gil_scoped_release release;
          const LlamaModel model = LlamaModel::load(paths.model());
          const Tokenizer tokenizer = Tokenizer::from_folder(paths.model());
          result = organisms::evaluation_to_json(
              organisms::evaluate_organism(model, tokenizer, truth, organisms::load_corpus_jsonl(paths.corpus()), options));
        }
        return to_python(result);
      },
      py::arg("organism"), py::arg("prompts") = 100, py::arg("max_new_tokens") = 48,
      "Trigger, clean and near-miss behaviour of a built organism against its ground truth (CLD2 on continuations).");
}

}  // namespace moulin::python
