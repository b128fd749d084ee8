#pragma once
// Where organisms' training text comes from: documentation and fortunes that Debian packages install, in English,
// French and German. Each source is one package; it knows its folder, which files are its own, and how to turn
// a file into prose (fortune cookies, DocBook HTML, roff man pages). A missing package is reported with the path
// looked at and the apt-get command that installs it.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace moulin::organisms {

enum class TextFormat {
  kFortunes,  // fortune files: entries separated by lines holding only "%"
  kHtml,      // HTML pages (Debian's DocBook output)
  kManPages,  // roff man pages, gzip-compressed or not
};

struct TextSource {
  std::string package;   // the Debian package, also Document::source
  std::string language;  // "en", "fr" or "de"
  std::string folder;    // relative to the file system root, e.g. "usr/share/games/fortunes"
  std::string suffix;    // file names end with this ("" for fortune files, which have no extension)
  TextFormat format = TextFormat::kHtml;
  bool recursive = false;                   // look in sub-folders (man1, man5, ...)
  std::vector<std::string> excluded_files;  // file names that are not prose (ASCII art)
};

// Every source, English first, then French, then German.
const std::vector<TextSource>& debian_text_sources();

// The sources of `language` in catalogue order. Throws ArgumentError for a language without sources.
std::vector<TextSource> text_sources_for_language(std::string_view language);

// "English", "French", "German" for the codes the catalogue knows; the code itself otherwise.
std::string language_name(std::string_view language);

// The source's files under `root`, sorted by path. Symbolic links are skipped (man page aliases would repeat a
// page). Throws FileError naming the package, the folder looked at and `apt-get install <package>` when the
// folder is missing or holds none of the source's files.
std::vector<std::filesystem::path> list_source_files(const TextSource& source,
                                                     const std::filesystem::path& root = "/");

// The prose units of one file, each with its paragraphs separated by a blank line: each fortune, an HTML page's
// prose, a man page's text. Not yet cleaned (see clean_paragraphs). Invalid UTF-8 is read as Latin-1.
std::vector<std::string> read_source_file(const TextSource& source, const std::filesystem::path& file);

// The entries of a fortune file, in file order, without their "%" separators.
std::vector<std::string> split_fortunes(std::string_view file_text);

}  // namespace moulin::organisms
