#include "python_hooks.h"

#include <torch/csrc/utils/pybind.h>

#include <fmt/format.h>

namespace py = pybind11;

namespace moulin::python {

void bind_hook_point(py::module_& module) {
  py::class_<PythonHookPoint>(module, "HookPoint", "The hook point a hook function is called at.")
      .def_readonly("name", &PythonHookPoint::name, "Full TransformerLens name, e.g. 'blocks.3.hook_resid_post'.")
      .def_readonly("layer", &PythonHookPoint::layer, "Block index, -1 for model-level points.")
      .def_readonly("past_length", &PythonHookPoint::past_length,
                    "Positions already in the KV cache: the tensor covers positions past_length.. onwards.")
      .def("__repr__", [](const PythonHookPoint& point) { return fmt::format("<HookPoint {}>", point.name); });
}

HookFn python_hook(py::object callable) {
  // The Python reference is released under the GIL whichever thread drops the last copy of the hook.
  std::shared_ptr<py::object> function(new py::object(std::move(callable)), [](py::object* object) {
    py::gil_scoped_acquire gil;
    delete object;
  });
  return [function](const at::Tensor& activation, const HookContext& context) -> std::optional<at::Tensor> {
    py::gil_scoped_acquire gil;
    const PythonHookPoint point{hook_point_name(context.point, context.layer), context.layer, context.past_length};
    py::object result = (*function)(activation, point);
    if (result.is_none()) return std::nullopt;
    try {
      return result.cast<at::Tensor>();
    } catch (const py::cast_error&) {
      throw py::type_error(fmt::format("hook on '{}' returned {}; a hook returns None or a torch.Tensor", point.name,
                                       py::str(result.get_type()).cast<std::string>()));
    }
  };
}

}  // namespace moulin::python
