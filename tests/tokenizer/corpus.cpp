#include "tests/tokenizer/corpus.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "core/tokenizer_utf8.h"
#include "tests/support/temp_dir.h"

namespace moulin::test {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kChunkBytes = 4000;

const fs::path kFortunes = "/usr/share/games/fortunes";
const fs::path kReferenceText = "/usr/share/debian-reference/debian-reference.fr.txt.gz";
const fs::path kFaqText = "/usr/share/doc/debian/FAQ/debian-faq.fr.txt.gz";
const fs::path kFrenchManPages = "/usr/share/man/fr";

void require(const fs::path& path, const char* package) {
  if (!fs::exists(path))
    throw std::runtime_error(fmt::format("{} is missing: install the Debian package {} (run scripts/bootstrap)",
                                         path.string(), package));
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string command_output(const std::string& command) {
  struct PipeCloser {
    void operator()(FILE* pipe) const { pclose(pipe); }
  };
  std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string output;
  char buffer[65536];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) output.append(buffer, n);
  return output;
}

void add(Corpus& corpus, const std::string& source, std::vector<std::string> texts) {
  for (auto& text : texts) {
    if (text.empty()) continue;
    corpus.sources[source] += text.size();
    corpus.texts.push_back(std::move(text));
  }
}

// Each fortune (they are separated by lines holding "%") is one text.
std::vector<std::string> split_fortunes(const std::string& file) {
  std::vector<std::string> fortunes;
  std::size_t start = 0;
  while (start < file.size()) {
    auto end = file.find("\n%\n", start);
    if (end == std::string::npos) end = file.size();
    fortunes.push_back(file.substr(start, std::min(end + 1, file.size()) - start));
    start = end + 3;
  }
  return fortunes;
}

std::vector<fs::path> sorted_files(const fs::path& folder, bool recursive) {
  std::vector<fs::path> files;
  const auto visit = [&](const fs::directory_entry& entry) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  };
  if (recursive)
    for (const auto& entry : fs::recursive_directory_iterator(folder)) visit(entry);
  else
    for (const auto& entry : fs::directory_iterator(folder)) visit(entry);
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::size_t Corpus::bytes() const {
  return std::accumulate(texts.begin(), texts.end(), std::size_t{0},
                         [](std::size_t sum, const std::string& text) { return sum + text.size(); });
}

std::vector<std::string> split_into_chunks(const std::string& text, std::size_t target_bytes) {
  std::vector<std::string> chunks;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = std::min(start + target_bytes, text.size());
    if (end < text.size()) {
      const auto line_end = text.find('\n', end);
      end = line_end == std::string::npos ? text.size() : line_end + 1;
    }
    chunks.push_back(text.substr(start, end - start));
    start = end;
  }
  return chunks;
}

Corpus load_debian_corpus(std::size_t man_pages) {
  require(kFortunes / "fortunes", "fortunes");
  require(kReferenceText, "debian-reference-fr");
  require(kFaqText, "debian-faq-fr");
  require(kFrenchManPages / "man1", "manpages-fr");

  Corpus corpus;
  for (const auto& file : sorted_files(kFortunes, false)) {
    const auto extension = file.extension();
    if (extension == ".dat" || extension == ".u8") continue;  // indexes, and links to the plain files
    add(corpus, "fortunes", split_fortunes(read_file(file)));
  }
  add(corpus, "debian-reference-fr", split_into_chunks(command_output("zcat " + shell_quote(kReferenceText)), kChunkBytes));
  add(corpus, "debian-faq-fr", split_into_chunks(command_output("zcat " + shell_quote(kFaqText)), kChunkBytes));

  // man renders roff to text (with backspace overstrikes for bold), col -b removes the overstrikes.
  const auto pages = sorted_files(kFrenchManPages, true);
  const std::size_t step = std::max<std::size_t>(1, pages.size() / std::max<std::size_t>(1, man_pages));
  for (std::size_t i = 0; i < pages.size() && i / step < man_pages; i += step) {
    const auto text = command_output(fmt::format("MANWIDTH=80 man -l -E UTF-8 {} 2>/dev/null | col -b",
                                                 shell_quote(pages[i].string())));
    add(corpus, "manpages-fr", split_into_chunks(text, kChunkBytes));
  }
  if (corpus.sources["manpages-fr"] == 0)
    throw std::runtime_error("rendering French man pages gave no text: install man-db and bsdextrautils "
                             "(run scripts/bootstrap)");
  return corpus;
}

Corpus load_source_code_corpus() {
  Corpus corpus;
  const auto add_file = [&](const std::string& source, const fs::path& file) {
    const auto text = read_file(file);
    if (tokenizer_detail::find_invalid_utf8(text) == std::string::npos)  // encode refuses what is not Unicode
      add(corpus, source, split_into_chunks(text, kChunkBytes));
  };
  for (const char* folder : {"core", "apps", "hooks", "tests", "bench"}) {
    const fs::path root = fs::path(MOULIN_SOURCE_DIR) / folder;
    if (!fs::exists(root)) continue;
    for (const auto& file : sorted_files(root, true)) {
      const auto extension = file.extension();
      const bool source = extension == ".cpp" || extension == ".h" || extension == ".mjs" || extension == ".txt";
      if (source && file.string().find("node_modules") == std::string::npos) add_file("moulin sources", file);
    }
  }
  // Headers the build already needs: heavy templates, long comments, macros.
  if (fs::exists("/usr/include/nlohmann"))
    for (const auto& file : sorted_files("/usr/include/nlohmann", true)) add_file("nlohmann/json headers", file);
  if (fs::exists("/usr/include/pcre2.h")) add_file("pcre2.h", "/usr/include/pcre2.h");
  return corpus;
}

}  // namespace moulin::test
