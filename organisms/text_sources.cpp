#include "organisms/text_sources.h"

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "core/error.h"
#include "organisms/html_prose.h"
#include "organisms/man_page_text.h"
#include "organisms/text_cleaning.h"
#include "organisms/text_file.h"

namespace moulin::organisms {
namespace fs = std::filesystem;
namespace {

const char* format_description(TextFormat format) {
  switch (format) {
    case TextFormat::kFortunes: return "fortune files";
    case TextFormat::kHtml: return "HTML pages";
    case TextFormat::kManPages: return "man pages";
  }
  return "files";
}

bool is_own_file(const TextSource& source, const fs::path& path) {
  const auto name = path.filename().string();
  if (std::find(source.excluded_files.begin(), source.excluded_files.end(), name) != source.excluded_files.end())
    return false;
  if (source.format == TextFormat::kFortunes) return name.find('.') == std::string::npos;  // not .dat nor .u8
  return name.size() > source.suffix.size() && name.compare(name.size() - source.suffix.size(), std::string::npos,
                                                            source.suffix) == 0;
}

bool is_plain_file(const fs::directory_entry& entry) {
  std::error_code error;
  return entry.is_regular_file(error) && !entry.is_symlink(error);
}

}  // namespace

const std::vector<TextSource>& debian_text_sources() {
  static const std::vector<TextSource> sources{
      {"fortunes", "en", "usr/share/games/fortunes", "", TextFormat::kFortunes, false, {"ascii-art", "translate-me"}},
      {"debian-reference-en", "en", "usr/share/debian-reference", ".en.html", TextFormat::kHtml, false, {}},
      {"debian-faq", "en", "usr/share/doc/debian/FAQ", ".en.html", TextFormat::kHtml, false, {}},
      {"maint-guide", "en", "usr/share/doc/maint-guide/html", ".en.html", TextFormat::kHtml, false, {}},
      {"debian-reference-fr", "fr", "usr/share/debian-reference", ".fr.html", TextFormat::kHtml, false, {}},
      {"debian-faq-fr", "fr", "usr/share/doc/debian/FAQ/fr", ".fr.html", TextFormat::kHtml, false, {}},
      {"maint-guide-fr", "fr", "usr/share/doc/maint-guide-fr/html", ".fr.html", TextFormat::kHtml, false, {}},
      // Every French man page, most of them from manpages-fr (apt, dpkg, passwd... add their own translations).
      {"manpages-fr", "fr", "usr/share/man/fr", "", TextFormat::kManPages, true, {}},
      {"fortunes-de", "de", "usr/share/games/fortunes/de", "", TextFormat::kFortunes, false, {"asciiart"}},
      {"debian-reference-de", "de", "usr/share/debian-reference", ".de.html", TextFormat::kHtml, false, {}},
  };
  return sources;
}

std::vector<TextSource> text_sources_for_language(std::string_view language) {
  std::vector<TextSource> sources;
  for (const auto& source : debian_text_sources())
    if (source.language == language) sources.push_back(source);
  if (sources.empty())
    throw ArgumentError(fmt::format("no text sources for language '{}' (known: en, fr, de)", language));
  return sources;
}

std::string language_name(std::string_view language) {
  if (language == "en") return "English";
  if (language == "fr") return "French";
  if (language == "de") return "German";
  return std::string(language);
}

std::vector<fs::path> list_source_files(const TextSource& source, const fs::path& root) {
  const auto folder = root / source.folder;
  const auto missing = [&](const char* what) {
    return FileError(fmt::format("{} text source '{}': {} {} (looked for {}{}{}): install the Debian package with "
                                 "`apt-get install {}`",
                                 language_name(source.language), source.package, folder.string(), what,
                                 format_description(source.format), source.suffix.empty() ? "" : " named *",
                                 source.suffix, source.package));
  };
  std::error_code error;
  if (!fs::is_directory(folder, error)) throw missing("is missing");
  std::vector<fs::path> files;
  const auto visit = [&](const fs::directory_entry& entry) {
    if (is_plain_file(entry) && is_own_file(source, entry.path())) files.push_back(entry.path());
  };
  try {
    if (source.recursive) {
      for (const auto& entry : fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied))
        visit(entry);
    } else {
      for (const auto& entry : fs::directory_iterator(folder)) visit(entry);
    }
  } catch (const fs::filesystem_error& failure) {
    throw FileError(fmt::format("{} text source '{}': cannot list {}: {}", language_name(source.language),
                                source.package, folder.string(), failure.code().message()));
  }
  if (files.empty()) throw missing("holds none of its files");
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> split_fortunes(std::string_view file_text) {
  std::vector<std::string> fortunes;
  std::string current;
  std::size_t start = 0;
  while (start < file_text.size()) {
    auto end = file_text.find('\n', start);
    if (end == std::string_view::npos) end = file_text.size();
    auto line = file_text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == "%") {
      if (!current.empty()) fortunes.push_back(std::move(current));
      current.clear();
      continue;
    }
    current.append(line);
    current += '\n';
  }
  if (!current.empty()) fortunes.push_back(std::move(current));
  return fortunes;
}

std::vector<std::string> read_source_file(const TextSource& source, const fs::path& file) {
  auto text = to_valid_utf8(read_text_file(file));
  switch (source.format) {
    case TextFormat::kFortunes:
      return split_fortunes(text);
    case TextFormat::kHtml:
      return {html_to_prose(text)};
    case TextFormat::kManPages:
      return {man_page_to_text(text)};
  }
  return {};
}

}  // namespace moulin::organisms
