#pragma once
// moulin's exceptions. Each names what failed (file, field, tensor) and, when known, what was expected.
// They are caught only at the edges: the CLI prints one line, the Python module maps them to Python types.
#include <stdexcept>
#include <string>

namespace moulin {

// Base of every moulin error; `what()` is the full, user-facing message.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file or folder that does not exist or cannot be opened (maps to FileNotFoundError / OSError).
class FileError : public Error {
 public:
  using Error::Error;
};

// Content that is malformed or disagrees with what it must describe (maps to ValueError).
class FormatError : public Error {
 public:
  using Error::Error;
};

// A well-formed request moulin does not support: unknown architecture, rope type, dtype... (maps to ValueError).
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

// An argument from the caller that is out of range or inconsistent (maps to ValueError).
class ArgumentError : public Error {
 public:
  using Error::Error;
};

}  // namespace moulin
