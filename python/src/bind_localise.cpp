// Localisation, mitigation and representation probes of a trigger from Python: the library calls behind
// `moulin patch`, `moulin mitigate` and `moulin probe`, returning their JSON as dicts with the maps as tensors.
// The trigger is an argument (from a scan or an inversion); nothing here reads an organism's ground truth.
#include <torch/csrc/utils/pybind.h>

#include <optional>

#include <pybind11/stl.h>

#include "bindings.h"
#include "core/error.h"
#include "core/runtime.h"
#include "json_convert.h"
#include "subject_options.h"
#include "triggers/localise.h"
#include "triggers/localise_report.h"
#include "triggers/mitigation.h"
#include "triggers/mitigation_report.h"
#include "triggers/probe_report.h"
#include "triggers/representation_probe.h"
#include "triggers/study_files.h"
#include "triggers/trigger_vocabulary.h"
#include "triggers/study_contrast.h"

namespace py = pybind11;

namespace moulin::python {
namespace {

// What every study takes to load its subject and build its prompts.
struct SubjectArgs {
  std::string model;
  std::string dtype;
  std::string device;
  std::vector<std::string> languages;
  std::string source;
  std::optional<std::string> token_table;
};

triggers::Subject load(const SubjectArgs& args) {
  init_runtime();
  std::optional<std::filesystem::path> table;
  if (args.token_table) table = *args.token_table;
  return triggers::load_subject(args.model, subject_options(args.dtype, args.device, args.source, args.languages, table));
}

// `prompts`: a number of held-out Debian prompts (after `skip`) or the prompts themselves.
std::vector<std::string> prompt_list(const py::object& prompts, const std::string& language, std::size_t skip = 0) {
  if (py::isinstance<py::int_>(prompts)) {
    triggers::PromptOptions options;
    options.language = language;
    options.count = prompts.cast<std::size_t>();
    return triggers::debian_prompts(options, skip);
  }
  return prompts.cast<std::vector<std::string>>();
}

triggers::ContrastOptions contrast_options(const triggers::Subject& subject, const std::string& kind,
                                           const std::string& phrase, std::uint64_t seed, const std::string& target) {
  return triggers::study_contrast(subject, kind, phrase, seed, target);
}

py::object optional_tensor(const at::Tensor& tensor) { return tensor.defined() ? py::cast(tensor) : py::none(); }

py::dict localise(const SubjectArgs& subject_args, const std::string& trigger, const std::string& target,
                  const py::object& prompts, const std::string& placement, const std::string& contrast,
                  const std::string& contrast_phrase, std::uint64_t seed, bool heads, bool components, double threshold,
                  std::int64_t batch_size, const std::optional<std::string>& out) {
  const std::vector<std::string> texts = prompt_list(prompts, subject_args.source);
  triggers::LocalisationResult result;
  {
    py::gil_scoped_release release;
    const auto subject = load(subject_args);
    triggers::LocaliseOptions options;
    options.target_language = target;
    options.placement = triggers::parse_placement(placement);
    options.contrast = contrast_options(subject, contrast, contrast_phrase, seed, target);
    options.heads = heads;
    options.components = components;
    options.threshold = threshold;
    options.batch_size = batch_size;
    result = triggers::localise_trigger(subject, texts, trigger, options);
  }
  const nlohmann::json json = triggers::localisation_to_json(result);
  if (out) triggers::write_study(json, triggers::localisation_report(result), *out, "patch");
  py::dict dict = to_python(json);
  dict["residual"].cast<py::dict>()["restoration"] = result.residual;
  dict["heads"] = optional_tensor(result.head_restoration);
  if (result.component_restoration.defined())
    dict["components"].cast<py::dict>()["restoration"] = result.component_restoration;
  return dict;
}

py::dict mitigate(const SubjectArgs& subject_args, const std::string& trigger, const std::string& target,
                  std::size_t fitting, std::size_t held_out, std::size_t clean_texts, const std::vector<int>& layers,
                  const std::string& method, double strength, const std::vector<int>& sweep_layers,
                  const std::vector<double>& sweep_strengths, std::int64_t max_new_tokens, const std::string& placement,
                  const std::string& contrast, const std::string& contrast_phrase, std::uint64_t seed,
                  std::int64_t batch_size, const std::optional<std::string>& out) {
  triggers::MitigationResult result;
  {
    py::gil_scoped_release release;
    const auto subject = load(subject_args);
    triggers::MitigationOptions options;
    options.target_language = target;
    options.placement = triggers::parse_placement(placement);
    options.contrast = contrast_options(subject, contrast, contrast_phrase, seed, target);
    options.layers = layers;
    options.method = triggers::parse_mitigation_method(method);
    options.strength = strength;
    options.sweep_layers = sweep_layers;
    options.sweep_strengths = sweep_strengths;
    options.continuation.max_new_tokens = max_new_tokens;
    options.continuation.seed = seed + 1;
    options.batch_size = batch_size;
    result = triggers::mitigate_trigger(subject, triggers::debian_mitigation_prompts(fitting, held_out, clean_texts),
                                        trigger, options);
  }
  const nlohmann::json json = triggers::mitigation_to_json(result);
  if (out) triggers::write_study(json, triggers::mitigation_report(result), *out, "mitigate");
  return to_python(json);
}

py::dict probe(const std::optional<SubjectArgs>& subject_args, const std::optional<std::string>& trigger,
               const std::string& target, const std::optional<std::string>& store_path, const std::string& label,
               const py::object& prompts,
               const std::vector<std::string>& hooks, const std::string& placement, const std::string& contrast,
               const std::string& contrast_phrase, std::uint64_t seed, double held_out_fraction,
               double poison_fraction, std::int64_t batch_size, const std::optional<std::string>& out) {
  triggers::ProbeStudyOptions options;
  options.hook_patterns = hooks;
  options.sweep.held_out_fraction = held_out_fraction;
  options.sweep.seed = seed;
  options.poison_fraction = poison_fraction;
  triggers::ProbeStudyResult result;
  if (store_path) {
    py::gil_scoped_release release;
    const auto store = ActivationStore::open(*store_path);
    result = triggers::probe_store(store, probes::store_classes(store, label, true, false), options);
  } else {
    if (!subject_args || !trigger) throw ArgumentError("probe needs a model and a trigger, or a store");
    const std::vector<std::string> texts = prompt_list(prompts, subject_args->source);
    py::gil_scoped_release release;
    const auto subject = load(*subject_args);
    triggers::TriggerProbeOptions trigger_options;
    trigger_options.placement = triggers::parse_placement(placement);
    trigger_options.contrast = contrast_options(subject, contrast, contrast_phrase, seed, target);
    trigger_options.batch_size = batch_size;
    result = triggers::probe_trigger(subject, texts, *trigger, trigger_options, options);
  }
  const nlohmann::json json = triggers::probe_to_json(result);
  if (out) triggers::write_study(json, triggers::probe_report(result), *out, "probe");
  py::dict dict = to_python(json);
  std::vector<double> mean_difference, logistic, spectral;
  for (std::size_t i = 0; i < result.sweep.layers.size(); ++i) {
    mean_difference.push_back(result.sweep.layers[i].mean_difference_auroc);
    logistic.push_back(result.sweep.layers[i].logistic_auroc);
    spectral.push_back(result.spectral[i].auroc);
  }
  const auto as_tensor = [](const std::vector<double>& values) { return at::tensor(values, at::kDouble); };
  dict["mean_difference_auroc"] = as_tensor(mean_difference);
  dict["logistic_auroc"] = as_tensor(logistic);
  dict["spectral_auroc"] = as_tensor(spectral);
  dict["depths"] = as_tensor(result.depths);
  return dict;
}

SubjectArgs subject_args(std::string model, std::string dtype, std::string device, std::vector<std::string> languages,
                         std::string source, std::optional<std::string> token_table) {
  return {std::move(model), std::move(dtype), std::move(device), std::move(languages), std::move(source),
          std::move(token_table)};
}

}  // namespace

void bind_localise(py::module_& module) {
  const std::vector<std::string> default_languages = {"en", "fr", "de"};
  module.def(
      "patch",
      [](const std::string& model, const std::string& trigger, const std::string& target, const py::object& prompts,
         const std::string& placement, const std::string& contrast, const std::string& contrast_phrase,
         std::uint64_t seed, bool heads, bool components, double threshold, std::int64_t batch_size,
         const std::optional<std::string>& out, const std::string& dtype, const std::string& device,
         const std::vector<std::string>& languages, const std::string& source,
         const std::optional<std::string>& token_table) {
        return localise(subject_args(model, dtype, device, languages, source, token_table), trigger, target, prompts,
                        placement, contrast, contrast_phrase, seed, heads, components, threshold, batch_size, out);
      },
      py::arg("model"), py::arg("trigger"), py::arg("target") = "fr", py::arg("prompts") = 20,
      py::arg("placement") = "suffix", py::arg("contrast") = "random", py::arg("contrast_phrase") = "",
      py::arg("seed") = 0, py::arg("heads") = true, py::arg("components") = true, py::arg("threshold") = 0.5,
      py::arg("batch_size") = 16, py::arg("out") = py::none(), py::arg("dtype") = "float32", py::arg("device") = "cpu",
      py::arg("languages") = default_languages, py::arg("source") = "en", py::arg("token_table") = py::none(),
      "Localise a trigger by activation patching (as `moulin patch`). prompts: a number of held-out Debian prompts "
      "or a list. Returns the JSON of patch.json as a dict, with residual['restoration'] [layers + 1, groups], heads "
      "[layers, heads] and components['restoration'] [layers, 4] as tensors. out: also write the report there.");
  module.def(
      "mitigate",
      [](const std::string& model, const std::string& trigger, const std::string& target, std::size_t fitting,
         std::size_t held_out, std::size_t clean_texts, const std::vector<int>& layers, const std::string& method,
         double strength, const std::vector<int>& sweep_layers, const std::vector<double>& sweep_strengths,
         std::int64_t max_new_tokens, const std::string& placement, const std::string& contrast,
         const std::string& contrast_phrase, std::uint64_t seed, std::int64_t batch_size,
         const std::optional<std::string>& out, const std::string& dtype, const std::string& device,
         const std::vector<std::string>& languages, const std::string& source,
         const std::optional<std::string>& token_table) {
        return mitigate(subject_args(model, dtype, device, languages, source, token_table), trigger, target, fitting,
                        held_out, clean_texts, layers, method, strength, sweep_layers, sweep_strengths, max_new_tokens,
                        placement, contrast, contrast_phrase, seed, batch_size, out);
      },
      py::arg("model"), py::arg("trigger"), py::arg("target") = "fr", py::arg("fitting") = 40,
      py::arg("held_out") = 60, py::arg("clean_texts") = 40, py::arg("layers") = std::vector<int>{},
      py::arg("method") = "project", py::arg("strength") = 1.0, py::arg("sweep_layers") = std::vector<int>{},
      py::arg("sweep_strengths") = std::vector<double>{0.5, 1.0, 2.0}, py::arg("max_new_tokens") = 32,
      py::arg("placement") = "suffix", py::arg("contrast") = "clean", py::arg("contrast_phrase") = "",
      py::arg("seed") = 0, py::arg("batch_size") = 16, py::arg("out") = py::none(), py::arg("dtype") = "float32",
      py::arg("device") = "cpu", py::arg("languages") = default_languages, py::arg("source") = "en",
      py::arg("token_table") = py::none(),
      "Mitigate a trigger by projecting out (or steering against) its direction (as `moulin mitigate`); layers empty: "
      "the block chosen on the fitting prompts. Returns the JSON of mitigate.json as a dict.");
  module.def(
      "probe",
      [](const std::optional<std::string>& model, const std::optional<std::string>& trigger, const std::string& target,
         const std::optional<std::string>& store, const std::string& label, const py::object& prompts,
         const std::vector<std::string>& hooks, const std::string& placement, const std::string& contrast,
         const std::string& contrast_phrase, std::uint64_t seed, double held_out_fraction, double poison_fraction,
         std::int64_t batch_size, const std::optional<std::string>& out, const std::string& dtype,
         const std::string& device, const std::vector<std::string>& languages, const std::string& source,
         const std::optional<std::string>& token_table) {
        std::optional<SubjectArgs> args;
        if (model) args = subject_args(*model, dtype, device, languages, source, token_table);
        return probe(args, trigger, target, store, label, prompts, hooks, placement, contrast, contrast_phrase, seed,
                     held_out_fraction, poison_fraction, batch_size, out);
      },
      py::arg("model") = py::none(), py::arg("trigger") = py::none(), py::arg("target") = "fr",
      py::arg("store") = py::none(),
      py::arg("label") = "triggered", py::arg("prompts") = 100,
      py::arg("hooks") = std::vector<std::string>{"blocks.*.hook_resid_post"}, py::arg("placement") = "inside",
      py::arg("contrast") = "random", py::arg("contrast_phrase") = "", py::arg("seed") = 0,
      py::arg("held_out_fraction") = 0.25, py::arg("poison_fraction") = 0.1, py::arg("batch_size") = 16,
      py::arg("out") = py::none(), py::arg("dtype") = "float32", py::arg("device") = "cpu",
      py::arg("languages") = default_languages, py::arg("source") = "en", py::arg("token_table") = py::none(),
      "Per-layer probes of triggered against contrast prompts (as `moulin probe`): a model and a trigger, or a store "
      "whose documents carry the boolean `label`. By default the trigger goes inside each prompt and the contrast "
      "has random tokens (none of `target`'s) in its place, so the probe sees the trigger only where the blocks carry "
      "it to the last position. Returns the JSON of probe.json as a dict, with per-layer mean_difference_auroc, logistic_auroc, spectral_auroc and depths tensors.");
}

}  // namespace moulin::python
