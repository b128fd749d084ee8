#pragma once
// Python callables as moulin hooks. A hook receives (tensor, hook) like a TransformerLens hook function, where
// `hook` carries .name, .layer and .past_length, and returns None (observe) or a replacement tensor. The forward
// pass runs without the GIL; each hook call takes it, so Python threads keep running during long passes.
#include <pybind11/pybind11.h>

#include "hooks/hook_set.h"

namespace moulin::python {

// What a Python hook function receives as its second argument.
struct PythonHookPoint {
  std::string name;
  int layer;
  std::int64_t past_length;
};

void bind_hook_point(pybind11::module_& module);
// Wraps `callable`; safe to copy and destroy without the GIL. Exceptions raised by the callable propagate through
// the forward pass to the Python caller with their traceback.
HookFn python_hook(pybind11::object callable);

}  // namespace moulin::python
