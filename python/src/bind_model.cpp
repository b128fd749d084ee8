#include <torch/csrc/utils/pybind.h>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.h"
#include "core/error.h"
#include "core/llama.h"
#include "core/runtime.h"
#include "core/tokenizer.h"
#include "core/torch_dtype.h"
#include "hooks/activation_cache.h"
#include "hooks/hook_chain.h"
#include "hooks/hook_names.h"
#include "python_hooks.h"

namespace py = pybind11;

namespace moulin::python {
namespace {

// (hook point names, function): the Python package resolves names, lists and predicates to explicit names.
using PythonHooks = std::vector<std::pair<std::vector<std::string>, py::object>>;

// A loaded model with its tokenizer and the hooks attached to it until removed (the `with model.hooks(...)`
// context); hooks given to one call live only for that call.
class PythonModel {
 public:
  PythonModel(LlamaModel model, std::optional<Tokenizer> tokenizer)
      : model_(std::move(model)),
        tokenizer_(std::move(tokenizer)),
        attached_(static_cast<int>(model_.config().num_hidden_layers)) {}

  const LlamaModel& model() const { return model_; }
  const std::optional<Tokenizer>& tokenizer() const { return tokenizer_; }
  int layers() const { return static_cast<int>(model_.config().num_hidden_layers); }

  HookSet::Handle attach(const std::vector<std::string>& names, py::object function) {
    return attached_.add(NameFilter::names(names), python_hook(std::move(function)));
  }
  void detach(HookSet::Handle handle) { attached_.remove(handle); }
  void detach_all() { attached_.clear(); }

  // Runs `body` with ForwardOptions carrying the attached hooks, then the call's own hooks, without the GIL.
  template <typename Body>
  auto run(const PythonHooks& call_hooks, ForwardOptions options, Body body) {
    HookSet call_set(layers());
    for (const auto& [names, function] : call_hooks) call_set.add(NameFilter::names(names), python_hook(function));
    HookChain chain({attached_.empty() ? nullptr : &attached_, call_set.empty() ? nullptr : &call_set});
    options.hooks = chain.as_forward_hooks();
    py::gil_scoped_release release;
    return body(options);
  }

 private:
  LlamaModel model_;
  std::optional<Tokenizer> tokenizer_;
  HookSet attached_;
};

PythonModel from_pretrained(const std::filesystem::path& path, const std::string& dtype, const std::string& device,
                            const std::optional<std::filesystem::path>& tokenizer_path) {
  init_runtime();
  LoadOptions options{parse_model_scalar_type(dtype), parse_device(device)};
  std::optional<Tokenizer> tokenizer;
  if (tokenizer_path) {
    tokenizer = std::filesystem::is_directory(*tokenizer_path) ? Tokenizer::from_folder(*tokenizer_path)
                                                               : Tokenizer::from_file(*tokenizer_path);
  } else if (std::filesystem::exists(path / "tokenizer.json")) {
    tokenizer = Tokenizer::from_folder(path);
  }
  py::gil_scoped_release release;
  return PythonModel(LlamaModel::load(path, options), std::move(tokenizer));
}

ForwardOptions forward_options(const std::optional<at::Tensor>& attention_mask, const std::optional<at::Tensor>& position_ids,
                               const std::string& logits, std::optional<int> stop_at_layer) {
  ForwardOptions options;
  if (attention_mask) options.attention_mask = *attention_mask;
  if (position_ids) options.position_ids = *position_ids;
  if (logits == "all") options.logits = LogitsFor::kAll;
  else if (logits == "last") options.logits = LogitsFor::kLast;
  else if (logits == "none") options.logits = LogitsFor::kNone;
  else throw ArgumentError("logits must be 'all', 'last' or 'none', got '" + logits + "'");
  if (stop_at_layer) options.stop_at_layer = *stop_at_layer;
  return options;
}

py::dict to_dict(const ActivationCache& cache) {
  py::dict result;
  for (const auto& name : cache.names()) result[py::str(name)] = cache.at(name);
  return result;
}

py::object config_dict(const LlamaConfig& config) {
  const auto json = config.raw.is_null() ? llama_config_to_json(config) : config.raw;
  return py::module_::import("json").attr("loads")(json.dump());
}

}  // namespace

void bind_model(py::module_& module) {
  py::class_<PythonModel>(module, "_Model")
      .def_static("from_pretrained", &from_pretrained, py::arg("path"), py::arg("dtype") = "float32",
                  py::arg("device") = "cpu", py::arg("tokenizer") = py::none())
      .def_property_readonly("config", [](const PythonModel& self) { return config_dict(self.model().config()); })
      .def_property_readonly("dtype", [](const PythonModel& self) { return std::string(scalar_type_name(self.model().dtype())); })
      .def_property_readonly("device", [](const PythonModel& self) { return self.model().device().str(); })
      .def_property_readonly("tokenizer", [](const PythonModel& self) -> const Tokenizer* {
        return self.tokenizer() ? &*self.tokenizer() : nullptr;
      }, py::return_value_policy::reference_internal)
      .def_property_readonly("n_layers", &PythonModel::layers)
      .def("hook_names", [](const PythonModel& self) { return all_hook_names(self.layers()); })
      .def("act_name", [](const PythonModel& self, const std::string& name, int layer) { return act_name(name, layer, self.layers()); },
           py::arg("name"), py::arg("layer") = 0)
      .def("forward",
           [](PythonModel& self, const at::Tensor& input_ids, const std::optional<at::Tensor>& attention_mask,
              const std::optional<at::Tensor>& position_ids, const PythonHooks& hooks, const std::string& logits,
              std::optional<int> stop_at_layer) {
             return self.run(hooks, forward_options(attention_mask, position_ids, logits, stop_at_layer),
                             [&](const ForwardOptions& options) { return self.model().forward(input_ids, options); });
           },
           py::arg("input_ids"), py::arg("attention_mask") = py::none(), py::arg("position_ids") = py::none(),
           py::arg("hooks") = PythonHooks{}, py::arg("logits") = "all", py::arg("stop_at_layer") = py::none())
      .def("forward_residual",
           [](PythonModel& self, const at::Tensor& residual, int start_at_layer, const std::optional<at::Tensor>& attention_mask,
              const PythonHooks& hooks, const std::string& logits, std::optional<int> stop_at_layer) {
             return self.run(hooks, forward_options(attention_mask, std::nullopt, logits, stop_at_layer),
                             [&](const ForwardOptions& options) {
                               return self.model().forward_residual(residual, start_at_layer, options);
                             });
           },
           py::arg("residual"), py::arg("start_at_layer"), py::arg("attention_mask") = py::none(),
           py::arg("hooks") = PythonHooks{}, py::arg("logits") = "all", py::arg("stop_at_layer") = py::none())
      .def("run_with_cache",
           [](PythonModel& self, const at::Tensor& input_ids, const std::optional<std::vector<std::string>>& names,
              const std::optional<std::pair<std::int64_t, std::int64_t>>& positions, const std::optional<std::string>& cache_dtype,
              const std::optional<std::string>& cache_device, const std::optional<at::Tensor>& attention_mask,
              const std::optional<at::Tensor>& position_ids, const PythonHooks& hooks, const std::string& logits) {
             CacheOptions cache_options;
             if (names) cache_options.names = NameFilter::names(*names);
             cache_options.positions = positions;
             if (cache_dtype) cache_options.dtype = parse_model_scalar_type(*cache_dtype);
             if (cache_device) cache_options.device = parse_device(*cache_device);
             auto [output, cache] = self.run(hooks, forward_options(attention_mask, position_ids, logits, std::nullopt),
                                             [&](const ForwardOptions& options) {
                                               return run_with_cache(self.model(), input_ids, cache_options, options);
                                             });
             return py::make_tuple(output, to_dict(cache));
           },
           py::arg("input_ids"), py::arg("names") = py::none(), py::arg("positions") = py::none(),
           py::arg("cache_dtype") = py::none(), py::arg("cache_device") = py::none(),
           py::arg("attention_mask") = py::none(), py::arg("position_ids") = py::none(),
           py::arg("hooks") = PythonHooks{}, py::arg("logits") = "all")
      .def("embed", [](const PythonModel& self, const at::Tensor& ids) { return self.model().embed(ids); })
      .def("add_hook", &PythonModel::attach, py::arg("names"), py::arg("function"))
      .def("remove_hook", &PythonModel::detach, py::arg("handle"))
      .def("reset_hooks", &PythonModel::detach_all);
}

}  // namespace moulin::python
