#pragma once
#include <pybind11/pybind11.h>

namespace moulin::python {

// Maps moulin's C++ exceptions to Python ones with the same message: FileError -> FileNotFoundError,
// FormatError / UnsupportedError / ArgumentError -> ValueError, any other moulin::Error -> RuntimeError.
void register_error_translation(pybind11::module_& module);

}  // namespace moulin::python
