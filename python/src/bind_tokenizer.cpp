#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.h"
#include "core/chat_format.h"
#include "core/tokenizer.h"

namespace py = pybind11;

namespace moulin::python {
namespace {

Tokenizer tokenizer_from_pretrained(const std::filesystem::path& path) {
  return std::filesystem::is_directory(path) ? Tokenizer::from_folder(path) : Tokenizer::from_file(path);
}

std::string apply_chat_template(const Tokenizer& tokenizer, const std::vector<std::pair<std::string, std::string>>& messages,
                                bool add_generation_prompt, const std::optional<std::string>& format_name) {
  std::vector<ChatMessage> conversation;
  for (const auto& [role, content] : messages) conversation.push_back({role, content});
  ChatFormat format;
  if (format_name) {
    format = chat_format_from_name(*format_name);
  } else {
    format = detect_chat_format(tokenizer.chat_template().value_or(""), tokenizer.path().string());
  }
  return render_chat(format, conversation, add_generation_prompt,
                     {tokenizer.bos_token().value_or(""), tokenizer.eos_token().value_or("")});
}

}  // namespace

void bind_tokenizer(py::module_& module) {
  py::class_<Tokenizer>(module, "Tokenizer", "A Hugging Face tokenizer.json of the Llama 3 kind (byte-level BPE).")
      .def_static("from_pretrained", &tokenizer_from_pretrained, py::arg("path"),
                  "Loads a model folder's tokenizer.json (and tokenizer_config.json), or a tokenizer.json file.")
      .def(
          "encode",
          [](const Tokenizer& tokenizer, const std::string& text, bool add_special_tokens, bool allow_special) {
            py::gil_scoped_release release;
            return tokenizer.encode(text, EncodeOptions{add_special_tokens, allow_special});
          },
          py::arg("text"), py::arg("add_special_tokens") = true, py::arg("allow_special") = true,
          "Token ids of `text`. allow_special=False tokenizes special-token strings as plain text.")
      .def("decode", &Tokenizer::decode, py::arg("ids"), py::arg("skip_special_tokens") = false,
           py::call_guard<py::gil_scoped_release>())
      .def("token_to_id", &Tokenizer::token_to_id, py::arg("token"))
      .def("id_to_token", &Tokenizer::id_to_token, py::arg("id"))
      .def_property_readonly("vocab_size", &Tokenizer::vocab_size)
      .def_property_readonly("bos_id", &Tokenizer::bos_id)
      .def_property_readonly("eos_ids", &Tokenizer::eos_ids)
      .def_property_readonly("chat_template", &Tokenizer::chat_template)
      .def("apply_chat_template", &apply_chat_template, py::arg("messages"), py::arg("add_generation_prompt") = true,
           py::arg("format") = py::none(),
           "Renders [(role, content), ...] as the model's chat template does (format: None to detect it from "
           "tokenizer_config.json, or 'llama3', 'tulu', 'tulu-bos').");
}

}  // namespace moulin::python
