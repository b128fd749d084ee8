// Language identification (CLD2) and rates with Wilson intervals, for judging continuations from Python.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "probes/language_id.h"

namespace py = pybind11;

namespace moulin::python {
namespace {

py::dict proportion_dict(const probes::Proportion& p) {
  py::dict out;
  out["count"] = p.count;
  out["total"] = p.total;
  out["rate"] = p.rate;
  out["ci95"] = py::make_tuple(p.interval.lower, p.interval.upper);
  return out;
}

}  // namespace

void bind_language(py::module_& module) {
  module.def(
      "detect_language",
      [](const std::string& text) {
        const auto guess = probes::detect_language(text);
        py::dict out;
        out["language"] = guess.language;
        out["reliable"] = guess.is_reliable;
        out["percent"] = guess.percent;
        return out;
      },
      py::arg("text"), "CLD2's language of `text`: {'language': 'fr', 'reliable': bool, 'percent': int}; 'un' if unknown.");
  module.def(
      "switch_rate",
      [](const std::vector<std::string>& languages, const std::string& target) {
        return proportion_dict(probes::switch_rate(languages, target));
      },
      py::arg("languages"), py::arg("target"),
      "Share of `languages` equal to `target`, with its 95% Wilson interval: {'count', 'total', 'rate', 'ci95'}.");
}

}  // namespace moulin::python
