#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/model_summary.h"
#include "core/llama.h"
#include "core/runtime.h"
#include "core/torch_dtype.h"

namespace moulin::cli {

void add_info_command(CLI::App& app) {
  auto* command = app.add_subcommand("info", "Load a Hugging Face Llama checkpoint and print its summary");
  auto model_path = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("float32");
  auto device = std::make_shared<std::string>("cpu");
  command->add_option("model", *model_path, "Model folder (config.json + safetensors)")->required();
  command->add_option("--dtype", *dtype, "float32, bfloat16 or float16")->capture_default_str();
  command->add_option("--device", *device, "cpu, cuda or cuda:N")->capture_default_str();
  command->callback([=] {
    init_runtime();
    const LlamaModel model =
        LlamaModel::load(*model_path, LoadOptions{parse_model_scalar_type(*dtype), parse_device(*device)});
    fmt::print("{}", model_summary(model));
  });
}

}  // namespace moulin::cli
