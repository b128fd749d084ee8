#include "json_convert.h"

namespace py = pybind11;

namespace moulin::python {

py::object to_python(const nlohmann::json& value) { return py::module_::import("json").attr("loads")(value.dump()); }

nlohmann::json from_python(const py::handle& value) {
  return nlohmann::json::parse(py::module_::import("json").attr("dumps")(value).cast<std::string>());
}

}  // namespace moulin::python
