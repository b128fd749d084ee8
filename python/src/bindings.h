#pragma once
// The parts of the _moulin extension module, each registered by its own file.
#include <pybind11/pybind11.h>

namespace moulin::python {

void bind_tokenizer(pybind11::module_& module);
void bind_model(pybind11::module_& module);
void bind_store(pybind11::module_& module);
void bind_organism(pybind11::module_& module);
void bind_language(pybind11::module_& module);
void bind_localise(pybind11::module_& module);
void bind_scan(pybind11::module_& module);
void bind_invert(pybind11::module_& module);
void bind_hunt(pybind11::module_& module);

}  // namespace moulin::python
