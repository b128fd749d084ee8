#include <torch/csrc/utils/pybind.h>

#include <algorithm>
#include <chrono>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.h"
#include "core/error.h"
#include "core/generate.h"
#include "core/llama.h"
#include "core/runtime.h"
#include "core/tokenizer.h"
#include "core/torch_dtype.h"
#include "hooks/activation_cache.h"
#include "hooks/hook_chain.h"
#include "hooks/hook_names.h"
#include "store/dump.h"
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

// generate() from Python: rows of `input_ids` (left padding marked by `attention_mask`) -> [batch, width + new]
// holding each row as given followed by its new tokens, padded with the pad id after rows that stopped early.
py::tuple generate_ids(PythonModel& self, const at::Tensor& input_ids, const std::optional<at::Tensor>& attention_mask,
                       GenerateOptions options, const std::vector<std::string>& stop, const PythonHooks& hooks,
                       const std::optional<py::function>& on_token) {
  if (input_ids.dim() != 2) throw ArgumentError("input_ids must be [batch, pos]");
  const at::Tensor ids = input_ids.to(at::kLong).cpu();
  const at::Tensor mask = attention_mask ? attention_mask->cpu().ne(0) : at::ones_like(ids, at::kBool);
  std::vector<std::vector<TokenId>> prompts(static_cast<std::size_t>(ids.size(0)));
  for (std::int64_t row = 0; row < ids.size(0); ++row)
    for (std::int64_t column = 0; column < ids.size(1); ++column)
      if (mask[row][column].item<bool>()) prompts[static_cast<std::size_t>(row)].push_back(static_cast<TokenId>(ids[row][column].item<std::int64_t>()));
  options.stop_strings = stop;
  if (!stop.empty()) {
    if (!self.tokenizer()) throw ArgumentError("stop strings need a tokenizer: load the model with tokenizer=...");
    options.decode = token_decoder(*self.tokenizer());
  }
  if (options.eos_ids.empty()) {
    for (const auto id : self.model().config().eos_token_ids) options.eos_ids.push_back(static_cast<TokenId>(id));
    if (self.tokenizer())
      for (const auto id : self.tokenizer()->eos_ids()) options.eos_ids.push_back(id);
  }
  if (on_token) {
    options.on_token = [callback = *on_token](std::size_t row, TokenId token) {
      py::gil_scoped_acquire gil;
      const py::object keep_going = callback(row, token);
      return keep_going.is_none() || keep_going.cast<bool>();
    };
  }
  const auto sequences = self.run(hooks, ForwardOptions{}, [&](const ForwardOptions& forward) {
    options.hooks = forward.hooks;
    return generate(self.model(), prompts, options);
  });
  std::size_t most_new = 0;
  std::vector<std::string> reasons;
  for (const auto& sequence : sequences) {
    most_new = std::max(most_new, sequence.new_token_count());
    reasons.emplace_back(stop_reason_name(sequence.stop_reason));
  }
  const TokenId pad = options.pad_id.value_or(options.eos_ids.empty() ? 0 : options.eos_ids.front());
  at::Tensor output = at::full({ids.size(0), ids.size(1) + static_cast<std::int64_t>(most_new)}, pad, at::kLong);
  output.narrow(1, 0, ids.size(1)).copy_(ids);
  for (std::size_t row = 0; row < sequences.size(); ++row) {
    const auto fresh = sequences[row].new_ids();
    for (std::size_t i = 0; i < fresh.size(); ++i) output[static_cast<std::int64_t>(row)][ids.size(1) + static_cast<std::int64_t>(i)] = fresh[i];
  }
  return py::make_tuple(output, reasons);
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
      // For bench/bench_python.py: the same run_with_cache timed entirely in C++ (median seconds of `repeats`),
      // so the Python binding's overhead is measured side by side in one process.
      .def("_time_run_with_cache_native",
           [](const PythonModel& self, const at::Tensor& input_ids, int repeats) {
             py::gil_scoped_release release;
             std::vector<double> seconds;
             for (int i = 0; i <= repeats; ++i) {
               const auto start = std::chrono::steady_clock::now();
               run_with_cache(self.model(), input_ids);
               if (i > 0) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
             }
             std::sort(seconds.begin(), seconds.end());
             return seconds[seconds.size() / 2];
           },
           py::arg("input_ids"), py::arg("repeats") = 5)
      .def("generate",
           [](PythonModel& self, const at::Tensor& input_ids, const std::optional<at::Tensor>& attention_mask,
              std::int64_t max_new_tokens, bool do_sample, double temperature, std::int64_t top_k, double top_p,
              double repetition_penalty, std::uint64_t seed, const std::vector<std::string>& stop,
              const std::vector<TokenId>& eos_ids, const std::optional<TokenId>& pad_id, const PythonHooks& hooks,
              const std::optional<py::function>& on_token) {
             GenerateOptions options;
             options.max_new_tokens = max_new_tokens;
             options.sampling = SamplingOptions{do_sample, temperature, top_k, top_p, repetition_penalty};
             options.seed = seed;
             options.eos_ids = eos_ids;
             options.pad_id = pad_id;
             return generate_ids(self, input_ids, attention_mask, options, stop, hooks, on_token);
           },
           py::arg("input_ids"), py::arg("attention_mask") = py::none(), py::arg("max_new_tokens") = 32,
           py::arg("do_sample") = false, py::arg("temperature") = 1.0, py::arg("top_k") = 0, py::arg("top_p") = 1.0,
           py::arg("repetition_penalty") = 1.0, py::arg("seed") = 0, py::arg("stop") = std::vector<std::string>{},
           py::arg("eos_ids") = std::vector<TokenId>{}, py::arg("pad_id") = py::none(), py::arg("hooks") = PythonHooks{},
           py::arg("on_token") = py::none())
      .def("dump",
           [](PythonModel& self, const std::filesystem::path& out, const std::filesystem::path& corpus,
              const std::vector<std::string>& hooks, const std::optional<std::string>& dtype, std::int64_t batch_size,
              std::int64_t context_length, std::int64_t overlap, const std::string& positions, std::int64_t max_tokens,
              const std::string& existing, const std::string& corpus_format, const std::string& text_field,
              const std::vector<std::string>& label_fields, const std::string& compression) {
             DumpOptions options;
             options.out = out;
             options.corpus.path = corpus;
             options.corpus.format = parse_corpus_format(corpus_format);
             options.corpus.text_field = text_field;
             options.corpus.label_fields = label_fields;
             options.hooks = hooks;
             if (dtype) options.dtype = parse_model_scalar_type(*dtype);
             options.batch_size = batch_size;
             options.context_length = context_length;
             options.overlap = overlap;
             options.positions = PositionSelection::parse(positions);
             options.max_tokens = max_tokens;
             options.compression = Compression::parse(compression);
             if (existing == "refuse") options.existing = ExistingStore::kRefuse;
             else if (existing == "overwrite") options.existing = ExistingStore::kOverwrite;
             else if (existing == "resume") options.existing = ExistingStore::kResume;
             else throw ArgumentError("existing must be 'refuse', 'overwrite' or 'resume', got '" + existing + "'");
             options.command = "moulin.Model.dump (Python)";
             const Tokenizer* tokenizer = self.tokenizer() ? &*self.tokenizer() : nullptr;
             DumpResult result;
             {
               py::gil_scoped_release release;
               result = dump_activations(self.model(), tokenizer, options);
             }
             py::dict summary;
             summary["tokens"] = result.tokens;
             summary["documents"] = result.documents;
             summary["resumed_tokens"] = result.resumed_tokens;
             summary["bytes"] = result.bytes;
             summary["seconds"] = result.seconds;
             summary["complete"] = result.complete;
             return summary;
           },
           py::arg("out"), py::arg("corpus"), py::arg("hooks"), py::arg("dtype") = py::none(), py::arg("batch_size") = 8,
           py::arg("context_length") = 0, py::arg("overlap") = 0, py::arg("positions") = "all",
           py::arg("max_tokens") = 0, py::arg("existing") = "refuse", py::arg("corpus_format") = "auto",
           py::arg("text_field") = "text", py::arg("label_fields") = std::vector<std::string>{},
           py::arg("compression") = "none")
      .def("add_hook", &PythonModel::attach, py::arg("names"), py::arg("function"))
      .def("remove_hook", &PythonModel::detach, py::arg("handle"))
      .def("reset_hooks", &PythonModel::detach_all);
}

}  // namespace moulin::python
