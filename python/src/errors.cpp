#include "errors.h"

#include "core/error.h"

namespace moulin::python {

void register_error_translation(pybind11::module_& module) {
  (void)module;
  pybind11::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const FileError& error) {
      PyErr_SetString(PyExc_FileNotFoundError, error.what());
    } catch (const FormatError& error) {
      PyErr_SetString(PyExc_ValueError, error.what());
    } catch (const UnsupportedError& error) {
      PyErr_SetString(PyExc_ValueError, error.what());
    } catch (const ArgumentError& error) {
      PyErr_SetString(PyExc_ValueError, error.what());
    } catch (const Error& error) {
      PyErr_SetString(PyExc_RuntimeError, error.what());
    }
  });
}

}  // namespace moulin::python
