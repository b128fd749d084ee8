#include <torch/csrc/utils/pybind.h>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.h"
#include "json_convert.h"
#include "core/torch_dtype.h"
#include "store/activation_store.h"

namespace py = pybind11;

namespace moulin::python {
namespace {

// rows: None (every committed row), a (first, count) pair, or a list of row indices.
at::Tensor read_rows(const ActivationStore& store, const std::string& hook, const py::object& rows) {
  if (rows.is_none()) return store.read(hook);
  if (py::isinstance<py::tuple>(rows) && py::len(rows) == 2) {
    const auto range = rows.cast<std::pair<std::int64_t, std::int64_t>>();
    return store.read(hook, range.first, range.second);
  }
  return store.read(hook, rows.cast<std::vector<std::int64_t>>());
}

}  // namespace

void bind_store(py::module_& module) {
  py::class_<ActivationStore>(module, "ActivationStore",
                              "An HDF5 activation dump (docs/hdf5-layout.md), opened lazily: each read loads only the "
                              "rows it returns.")
      .def_static("open", &ActivationStore::open, py::arg("path"))
      .def_property_readonly("path", &ActivationStore::path)
      .def_property_readonly("tokens", &ActivationStore::tokens, "Committed rows (tokens).")
      .def_property_readonly("documents", &ActivationStore::documents)
      .def_property_readonly("complete", &ActivationStore::complete, "The dump reached the end of its corpus.")
      .def_property_readonly("hooks", &ActivationStore::hooks)
      .def_property_readonly("dtype", [](const ActivationStore& store) { return std::string(scalar_type_name(store.dtype())); })
      .def("row_shape", &ActivationStore::row_shape, py::arg("hook"))
      .def("attribute", &ActivationStore::attribute, py::arg("name"))
      .def_property_readonly("model_config", [](const ActivationStore& store) { return to_python(store.model_config()); })
      .def("read", &read_rows, py::arg("hook"), py::arg("rows") = py::none(),
           "Activations [rows, ...] of a hook: rows None (all), (first, count), or a list of row indices.")
      .def("token_ids", &ActivationStore::token_ids, py::arg("rows"))
      .def("token_documents", &ActivationStore::token_documents, py::arg("rows"))
      .def("token_positions", &ActivationStore::token_positions, py::arg("rows"))
      .def("document",
           [](const ActivationStore& store, std::int64_t index) {
             const StoredDocument document = store.document(index);
             py::dict result;
             result["index"] = document.index;
             result["first_token"] = document.first_token;
             result["stored"] = document.stored;
             result["length"] = document.length;
             result["line"] = document.line;
             result["text"] = document.text;
             result["labels"] = to_python(document.labels);
             return result;
           },
           py::arg("index"))
      .def("documents_where",
           [](const ActivationStore& store, const std::string& key, const py::object& value) {
             return store.documents_where(key, from_python(value));
           },
           py::arg("key"), py::arg("value"), "Documents whose label `key` equals `value` (JSON equality).")
      .def("rows_of_documents", &ActivationStore::rows_of_documents, py::arg("documents"), py::arg("last_only") = false);
}

}  // namespace moulin::python
