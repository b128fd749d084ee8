#include "apps/subject_args.h"

#include "core/torch_dtype.h"

namespace moulin::cli {

void add_subject_options(CLI::App& command, SubjectArgs& args) {
  command.add_option("--dtype", args.dtype, "float32, bfloat16 or float16")->capture_default_str();
  command.add_option("--device", args.device, "cpu, cuda or cuda:N")->capture_default_str();
  command.add_option("--source-language", args.source_language, "Language of the prompts")->capture_default_str();
  command.add_option("--languages", args.languages, "Languages of the token table (the source and the targets)")
      ->delimiter(',')
      ->capture_default_str();
  command.add_option("--token-table", args.token_table, "A saved token language table instead of estimating one")
      ->check(CLI::ExistingFile);
}

triggers::SubjectOptions subject_options(const SubjectArgs& args) {
  triggers::SubjectOptions options;
  options.dtype = parse_model_scalar_type(args.dtype);
  options.device = args.device;
  options.source_language = args.source_language;
  options.languages = args.languages;
  options.token_language_table = args.token_table;
  return options;
}

}  // namespace moulin::cli
