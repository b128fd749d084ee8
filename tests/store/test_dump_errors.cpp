// What goes wrong in a dump is reported with the file and the line or field, and never costs data already stored.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/runtime.h"
#include "store/activation_store.h"
#include "store/dump.h"
#include "store/hdf5.h"
#include "tests/store/store_support.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/temp_dir.h"

namespace moulin {
namespace {

using test::expect_error;
using test::TempDir;

const LlamaModel& tiny_model() {
  static const LlamaModel model = [] {
    init_runtime();
    return LlamaModel::load(test::golden_model("tiny-gqa"));
  }();
  return model;
}

DumpOptions small_dump(const std::filesystem::path& corpus, const std::filesystem::path& out) {
  DumpOptions options;
  options.out = out;
  options.corpus.path = corpus;
  options.hooks = {"blocks.*.hook_resid_post"};
  options.batch_size = 3;
  options.context_length = 16;
  options.overlap = 4;
  return options;
}

std::vector<std::string> json_lines(const std::vector<std::vector<std::int64_t>>& documents) {
  std::vector<std::string> lines;
  for (const auto& document : documents) lines.push_back(nlohmann::json{{"ids", document}}.dump());
  return lines;
}

TEST(StoreDumpErrors, AnExistingFileIsOnlyReplacedWhenAsked) {
  TempDir dir;
  test::write_ids_corpus(dir / "c.jsonl", test::random_documents(5, 2, 20, 512, 11));
  const DumpOptions options = small_dump(dir / "c.jsonl", dir / "a.h5");
  const auto first = dump_activations(tiny_model(), nullptr, options);
  expect_error<FileError>([&] { dump_activations(tiny_model(), nullptr, options); },
                          {(dir / "a.h5").c_str(), "already exists", "--resume", "--overwrite"});
  EXPECT_EQ(ActivationStore::open(dir / "a.h5").tokens(), first.tokens);

  test::write_ids_corpus(dir / "short.jsonl", test::random_documents(1, 3, 3, 512, 12));
  DumpOptions overwrite = small_dump(dir / "short.jsonl", dir / "a.h5");
  overwrite.existing = ExistingStore::kOverwrite;
  dump_activations(tiny_model(), nullptr, overwrite);
  EXPECT_EQ(ActivationStore::open(dir / "a.h5").tokens(), 3);
}

TEST(StoreDumpErrors, AnUnwritableOutputIsReportedBeforeAnyWork) {
  TempDir dir;
  test::write_ids_corpus(dir / "c.jsonl", test::random_documents(2, 2, 5, 512, 13));
  expect_error<FileError>([&] { dump_activations(tiny_model(), nullptr, small_dump(dir / "c.jsonl", dir / "no/a.h5")); },
                          {(dir / "no/a.h5").c_str(), "is not a folder"});
  test::write_file(dir / "plain", "a file, not a folder");
  expect_error<FileError>([&] { dump_activations(tiny_model(), nullptr, small_dump(dir / "c.jsonl", dir / "plain/a.h5")); },
                          {(dir / "plain/a.h5").c_str(), "is not a folder"});
  EXPECT_FALSE(std::filesystem::exists(dir / "plain.h5"));
}

TEST(StoreDumpErrors, AnInvalidJsonLineStopsTheDumpAfterStoringEverythingBeforeIt) {
  TempDir dir;
  const auto documents = test::random_documents(7, 2, 30, 512, 14);
  auto lines = json_lines(documents);
  test::write_lines(dir / "good.jsonl", lines);
  test::write_lines(dir / "first4.jsonl", {lines.begin(), lines.begin() + 4});
  lines[4] = "{\"ids\": [1, 2,";
  test::write_lines(dir / "corpus.jsonl", lines);

  const DumpOptions options = small_dump(dir / "corpus.jsonl", dir / "a.h5");
  expect_error<FormatError>([&] { dump_activations(tiny_model(), nullptr, options); },
                            {(dir / "corpus.jsonl:5").c_str(), "not valid JSON"});
  const DumpOptions first4 = small_dump(dir / "first4.jsonl", dir / "first4.h5");
  dump_activations(tiny_model(), nullptr, first4);
  {
    const ActivationStore partial = ActivationStore::open(options.out);
    EXPECT_EQ(partial.documents(), 4);
    EXPECT_FALSE(partial.complete());
    test::expect_same_store(ActivationStore::open(first4.out), partial, 0.0);
  }

  // Fixed, the corpus resumes where the dump stopped.
  test::write_lines(dir / "corpus.jsonl", json_lines(documents));
  DumpOptions resume = options;
  resume.existing = ExistingStore::kResume;
  const auto result = dump_activations(tiny_model(), nullptr, resume);
  EXPECT_GT(result.resumed_tokens, 0);
  const DumpOptions good = small_dump(dir / "good.jsonl", dir / "good.h5");
  dump_activations(tiny_model(), nullptr, good);
  const ActivationStore resumed = ActivationStore::open(options.out), reference = ActivationStore::open(good.out);
  EXPECT_TRUE(resumed.complete());
  EXPECT_EQ(resumed.tokens(), reference.tokens());
  test::expect_same_store(reference, resumed, 1e-5);
}

TEST(StoreDumpErrors, DocumentsTheModelCannotReadNameTheirLine) {
  TempDir dir;
  test::write_lines(dir / "c.txt", {"some text"});
  expect_error<ArgumentError>([&] { dump_activations(tiny_model(), nullptr, small_dump(dir / "c.txt", dir / "a.h5")); },
                              {(dir / "c.txt:1").c_str(), "needs a tokenizer", "--tokenizer"});
  test::write_lines(dir / "ids.jsonl", {"{\"ids\": [1, 2]}", "{\"ids\": [3, 512]}"});
  expect_error<FormatError>([&] { dump_activations(tiny_model(), nullptr, small_dump(dir / "ids.jsonl", dir / "b.h5")); },
                            {(dir / "ids.jsonl:2").c_str(), "token id 512", "vocabulary of 512"});
  EXPECT_EQ(ActivationStore::open(dir / "b.h5").documents(), 1);
}

TEST(StoreDumpErrors, ResumeRefusesAnotherDumpOrAnotherCorpus) {
  TempDir dir;
  const auto documents = test::random_documents(4, 2, 20, 512, 15);
  test::write_ids_corpus(dir / "c.jsonl", documents);
  DumpOptions options = small_dump(dir / "c.jsonl", dir / "a.h5");
  dump_activations(tiny_model(), nullptr, options);
  options.existing = ExistingStore::kResume;

  DumpOptions other_hooks = options;
  other_hooks.hooks = {"blocks.0.hook_resid_post"};
  expect_error<ArgumentError>([&] { dump_activations(tiny_model(), nullptr, other_hooks); },
                              {"cannot resume", "hooks", "blocks.1.hook_resid_post"});
  DumpOptions other_positions = options;
  other_positions.positions = PositionSelection::parse("last");
  expect_error<ArgumentError>([&] { dump_activations(tiny_model(), nullptr, other_positions); },
                              {"option positions", "\"all\"", "\"last\""});
  DumpOptions other_dtype = options;
  other_dtype.dtype = at::kBFloat16;
  expect_error<ArgumentError>([&] { dump_activations(tiny_model(), nullptr, other_dtype); }, {"stored dtype"});

  auto changed = documents;
  changed.back().push_back(7);
  test::write_ids_corpus(dir / "c.jsonl", changed);
  expect_error<FormatError>([&] { dump_activations(tiny_model(), nullptr, options); },
                            {(dir / "c.jsonl:4").c_str(), "corpus changed"});
  // A resume of a finished dump over the same corpus adds nothing.
  test::write_ids_corpus(dir / "c.jsonl", documents);
  const auto before = ActivationStore::open(options.out).tokens();
  const auto result = dump_activations(tiny_model(), nullptr, options);
  EXPECT_EQ(result.tokens, before);
  EXPECT_EQ(result.windows, 0);
}

TEST(StoreDumpErrors, MaxTokensStopsBeforeTheDocumentThatWouldPassIt) {
  TempDir dir;
  test::write_ids_corpus(dir / "c.jsonl", {{1, 2, 3}, {4, 5, 6, 7}, {8, 9}, {10}});
  DumpOptions options = small_dump(dir / "c.jsonl", dir / "a.h5");
  options.max_tokens = 8;
  const auto result = dump_activations(tiny_model(), nullptr, options);
  EXPECT_TRUE(result.stopped_at_max_tokens);
  EXPECT_EQ(result.tokens, 7);
  EXPECT_EQ(result.documents, 2);
  EXPECT_TRUE(ActivationStore::open(options.out).complete());
}

TEST(StoreDumpErrors, ReadersRefuseWhatIsNotAStore) {
  TempDir dir;
  expect_error<FileError>([&] { ActivationStore::open(dir / "none.h5"); }, {(dir / "none.h5").c_str(), "no such file"});
  test::write_file(dir / "text.h5", "not HDF5");
  expect_error<FileError>([&] { ActivationStore::open(dir / "text.h5"); }, {(dir / "text.h5").c_str(), "HDF5"});
  h5::create_file(dir / "plain.h5");  // an empty HDF5 file, closed at once
  expect_error<FormatError>([&] { ActivationStore::open(dir / "plain.h5"); },
                            {(dir / "plain.h5").c_str(), "not a moulin activation store"});
}

TEST(StoreDumpErrors, AFullDiskKeepsEveryCommittedBatchReadable) {
  TempDir dir;
  test::write_ids_corpus(dir / "c.jsonl", test::random_documents(400, 10, 50, 512, 16));
  test::ChildDump child{test::golden_model("tiny-gqa"), dir / "c.jsonl", dir / "full.h5", 2,
                        {"hook_embed", "blocks.*.hook_resid_post"}};
  DumpOptions reference_options = test::child_dump_options(child);
  reference_options.out = dir / "reference.h5";
  reference_options.commit_seconds = 1;  // the same content, fewer flushes
  dump_activations(tiny_model(), nullptr, reference_options);
  const ActivationStore reference = ActivationStore::open(reference_options.out);

  child.file_size_limit = 12 << 20;  // a few committed batches fit, the whole dump does not
  test::ChildProcess process(child);
  std::int64_t reported = 0;
  for (std::int64_t tokens; (tokens = process.next_commit()) >= 0;) reported = tokens;
  EXPECT_EQ(process.wait(), 1);
  EXPECT_NE(process.stderr_text().find(child.out.string()), std::string::npos) << process.stderr_text();
  EXPECT_NE(process.stderr_text().find("no room to write the next batch"), std::string::npos) << process.stderr_text();

  {
    const ActivationStore full = ActivationStore::open(child.out);
    EXPECT_GT(reported, 0);
    EXPECT_GE(full.tokens(), reported);
    EXPECT_LT(full.tokens(), reference.tokens());
    // The child runs one thread, this process two: matrix products may round differently.
    test::expect_same_store(reference, full, 1e-5, full.tokens(), full.documents());
    EXPECT_EQ(test::h5py_summary(child.out)["committed"]["tokens"].get<std::int64_t>(), full.tokens());
  }

  child.file_size_limit = 0;
  child.resume = true;
  test::ChildProcess resume(child);
  while (resume.next_commit() >= 0) {
  }
  ASSERT_EQ(resume.wait(), 0) << resume.stderr_text();
  test::expect_same_store(reference, ActivationStore::open(child.out), 1e-5);
  EXPECT_EQ(ActivationStore::open(child.out).tokens(), reference.tokens());
}

}  // namespace
}  // namespace moulin
