// moulin._moulin: the C++ workbench from Python. Tensors cross as torch.Tensor without copies.
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "errors.h"
#include "python_hooks.h"

PYBIND11_MODULE(_moulin, module) {
  // torch's own module must be initialised before any torch.Tensor crosses the boundary, or the first
  // conversion dereferences uninitialised type objects.
  pybind11::module_::import("torch");
  module.doc() = "moulin: a Llama 3 workbench for data poisoning and interpretability research (C++ core)";
  moulin::python::register_error_translation(module);
  moulin::python::bind_hook_point(module);
  moulin::python::bind_tokenizer(module);
  moulin::python::bind_model(module);
  moulin::python::bind_store(module);
  moulin::python::bind_organism(module);
  moulin::python::bind_language(module);
  moulin::python::bind_scan(module);
  moulin::python::bind_invert(module);
  moulin::python::bind_hunt(module);
  moulin::python::bind_localise(module);
}
