#pragma once
// JSON values cross the boundary as Python objects through the json module: configs, labels, specs and the
// results of scans, inversions and evaluations.
#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>

namespace moulin::python {

pybind11::object to_python(const nlohmann::json& value);
nlohmann::json from_python(const pybind11::handle& value);

}  // namespace moulin::python
