#include "subject_options.h"

#include "core/torch_dtype.h"

namespace moulin::python {

triggers::SubjectOptions subject_options(const std::string& dtype, const std::string& device,
                                         const std::string& source_language, const std::vector<std::string>& languages,
                                         const std::optional<std::filesystem::path>& token_table) {
  triggers::SubjectOptions options;
  options.dtype = parse_model_scalar_type(dtype);
  options.device = device;
  options.source_language = source_language;
  options.languages = languages;
  if (token_table) options.token_language_table = *token_table;
  return options;
}

}  // namespace moulin::python
