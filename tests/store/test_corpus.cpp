#include <gtest/gtest.h>

#include "core/error.h"
#include "store/corpus.h"
#include "tests/store/store_support.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace moulin {
namespace {

using test::expect_error;
using test::TempDir;

std::vector<CorpusDocument> read_all(const CorpusOptions& options) {
  CorpusReader reader(options);
  std::vector<CorpusDocument> documents;
  while (auto document = reader.next()) documents.push_back(std::move(*document));
  EXPECT_EQ(count_documents(options), static_cast<std::int64_t>(documents.size()));
  return documents;
}

TEST(StoreCorpus, LinesAreDocumentsAndBlankLinesAreSkipped) {
  TempDir dir;
  test::write_file(dir / "c.txt", "first line\r\n\n   \nsecond\tline\nlast without newline");
  const auto documents = read_all({dir / "c.txt"});
  ASSERT_EQ(documents.size(), 3u);
  EXPECT_EQ(documents[0].text, "first line");
  EXPECT_EQ(documents[1].text, "second\tline");
  EXPECT_EQ(documents[1].line, 4);
  EXPECT_EQ(documents[2].text, "last without newline");
  EXPECT_TRUE(documents[2].labels.empty());
}

TEST(StoreCorpus, ParagraphsAreSeparatedByBlankLines) {
  TempDir dir;
  test::write_file(dir / "c.txt", "\nA one\nA two\n\n\nB one\n  \nC\n");
  const auto documents = read_all({dir / "c.txt", CorpusFormat::kParagraphs});
  ASSERT_EQ(documents.size(), 3u);
  EXPECT_EQ(documents[0].text, "A one\nA two");
  EXPECT_EQ(documents[0].line, 2);
  EXPECT_EQ(documents[1].text, "B one");
  EXPECT_EQ(documents[2].line, 8);
}

TEST(StoreCorpus, JsonlKeepsTextIdsAndLabels) {
  TempDir dir;
  test::write_file(dir / "c.jsonl",
                   "{\"text\": \"hello\", \"triggered\": true, \"source\": \"web\"}\n"
                   "{\"ids\": [5, 6, 7], \"triggered\": false}\n"
                   "{\"body\": \"x\", \"text\": \"with other field\"}\n");
  auto documents = read_all({dir / "c.jsonl"});  // .jsonl: format auto-detected
  ASSERT_EQ(documents.size(), 3u);
  EXPECT_EQ(documents[0].text, "hello");
  EXPECT_FALSE(documents[0].ids);
  EXPECT_EQ(documents[0].labels, (nlohmann::json{{"triggered", true}, {"source", "web"}}));
  EXPECT_EQ(*documents[1].ids, (std::vector<std::int64_t>{5, 6, 7}));
  EXPECT_EQ(documents[1].labels, (nlohmann::json{{"triggered", false}}));

  CorpusOptions only_triggered{dir / "c.jsonl"};
  only_triggered.label_fields = {"triggered"};
  documents = read_all(only_triggered);
  EXPECT_EQ(documents[0].labels, (nlohmann::json{{"triggered", true}}));
  EXPECT_TRUE(documents[2].labels.empty());
}

TEST(StoreCorpus, JsonlErrorsNameTheFileLineAndField) {
  TempDir dir;
  const auto expect_line_error = [&](const std::string& line, std::initializer_list<const char*> fragments) {
    test::write_file(dir / "bad.jsonl", "{\"text\": \"fine\"}\n\n" + line + "\n");
    CorpusReader reader({dir / "bad.jsonl"});
    ASSERT_TRUE(reader.next());
    expect_error<FormatError>([&] { reader.next(); }, fragments);
  };
  const std::string where = (dir / "bad.jsonl").string() + ":3";
  expect_line_error("{\"text\": \"unterminated}", {where.c_str(), "not valid JSON"});
  expect_line_error("[1, 2]", {where.c_str(), "expected a JSON object, got array"});
  expect_line_error("{\"text\": 12}", {where.c_str(), "\"text\"", "must be a string, got number"});
  expect_line_error("{\"ids\": [1, -2]}", {where.c_str(), "\"ids\" item 1", "-2"});
  expect_line_error("{\"ids\": \"1 2\"}", {where.c_str(), "list of token ids"});
  expect_line_error("{\"label\": 1}", {where.c_str(), "no \"text\" field"});
}

TEST(StoreCorpus, UnreadableCorpusAndUnknownFormatAreReported) {
  expect_error<FileError>([] { CorpusReader({"/nonexistent/corpus.txt"}); }, {"/nonexistent/corpus.txt", "cannot open"});
  expect_error<ArgumentError>([] { parse_corpus_format("csv"); }, {"csv", "jsonl"});
}

}  // namespace
}  // namespace moulin
