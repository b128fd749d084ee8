// Dumps read back: every stored row equals the activation of its window computed alone, for every kind of hook
// point, windowing, position choice, stored dtype and compression; text corpora go through the real Llama 3
// tokenizer.
#include <numeric>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/runtime.h"
#include "core/tokenizer.h"
#include "store/activation_store.h"
#include "store/dump.h"
#include "store/hdf5.h"
#include "tests/store/store_support.h"
#include "tests/support/golden.h"
#include "tests/support/temp_dir.h"

namespace moulin {
namespace {

using test::TempDir;

const LlamaModel& tiny_model() {
  static const LlamaModel model = [] {
    init_runtime();
    return LlamaModel::load(test::golden_model("tiny-gqa"));
  }();
  return model;
}

DumpOptions ids_dump(const TempDir& dir, const std::vector<std::vector<std::int64_t>>& documents, const std::string& out) {
  test::write_ids_corpus(dir / "corpus.jsonl", documents);
  DumpOptions options;
  options.out = dir / out;
  options.corpus.path = dir / "corpus.jsonl";
  options.hooks = {"hook_embed", "blocks.*.hook_resid_post", "blocks.1.attn.hook_z", "ln_final.hook_normalized"};
  options.batch_size = 3;
  options.context_length = 16;
  options.overlap = 5;
  return options;
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t count) {
  std::vector<std::int64_t> rows(static_cast<std::size_t>(count));
  std::iota(rows.begin(), rows.end(), first);
  return rows;
}

std::vector<std::int64_t> as_vector(const at::Tensor& tensor) {
  const at::Tensor values = tensor.to(at::kLong).contiguous();
  return {values.data_ptr<std::int64_t>(), values.data_ptr<std::int64_t>() + values.numel()};
}

// Every stored row of every document equals its window's activation computed alone (the batch pads windows to a
// common length, so equality holds to float rounding, not bit for bit).
void expect_rows_match_windows(const LlamaModel& model, const ActivationStore& store,
                               const std::vector<std::vector<std::int64_t>>& documents, const DumpOptions& options) {
  const WindowOptions windows{options.context_length, options.overlap};
  for (std::size_t d = 0; d < documents.size(); ++d) {
    const auto& ids = documents[d];
    const auto record = store.document(static_cast<std::int64_t>(d));
    const auto kept = kept_positions(static_cast<std::int64_t>(ids.size()), options.positions);
    ASSERT_EQ(record.length, static_cast<std::int64_t>(ids.size()));
    ASSERT_EQ(record.stored, static_cast<std::int64_t>(kept.size()));
    const auto rows = store.rows_of_documents({static_cast<std::int64_t>(d)});
    ASSERT_EQ(as_vector(store.token_positions(rows)), kept);
    ASSERT_EQ(as_vector(store.token_documents(rows)), std::vector<std::int64_t>(kept.size(), static_cast<std::int64_t>(d)));
    for (std::size_t k = 0; k < kept.size(); ++k)
      ASSERT_EQ(as_vector(store.token_ids({rows[k]}))[0], ids[static_cast<std::size_t>(kept[k])]);
    for (const auto& window : plan_windows(static_cast<std::int64_t>(ids.size()), kept, windows)) {
      for (const auto& hook : store.hooks()) {
        const at::Tensor reference = test::window_activation(model, ids, window.begin, window.end, hook);
        std::vector<std::int64_t> stored_rows, local;
        for (std::size_t k = window.first_kept; k < window.first_kept + window.kept_count; ++k) {
          stored_rows.push_back(record.first_token + static_cast<std::int64_t>(k));
          local.push_back(kept[k] - window.begin);
        }
        const at::Tensor stored = store.read(hook, stored_rows).to(at::kFloat);
        const at::Tensor expected = reference.index_select(0, at::tensor(local, at::kLong));
        ASSERT_EQ(stored.sizes(), expected.sizes()) << hook;
        EXPECT_LE((stored - expected).abs().max().item<double>(), 1e-5) << hook << ", document " << d;
      }
    }
  }
}

TEST(StoreDump, EveryRowEqualsItsWindowComputedAlone) {
  TempDir dir;
  const auto documents = test::random_documents(9, 1, 40, 512, 1);
  const DumpOptions options = ids_dump(dir, documents, "acts.h5");
  const DumpResult result = dump_activations(tiny_model(), nullptr, options);
  std::int64_t total = 0;
  for (const auto& document : documents) total += static_cast<std::int64_t>(document.size());
  EXPECT_EQ(result.tokens, total);
  EXPECT_EQ(result.documents, 9);
  EXPECT_TRUE(result.complete);
  EXPECT_GT(result.bytes, 0);

  const ActivationStore store = ActivationStore::open(options.out);
  EXPECT_EQ(store.tokens(), total);
  EXPECT_TRUE(store.complete());
  EXPECT_EQ(store.hooks(), (std::vector<std::string>{"hook_embed", "blocks.0.hook_resid_post", "blocks.1.attn.hook_z",
                                                     "blocks.1.hook_resid_post", "ln_final.hook_normalized"}));
  EXPECT_EQ(store.row_shape("blocks.1.attn.hook_z"), (std::vector<std::int64_t>{4, 16}));
  EXPECT_EQ(store.row_shape("hook_embed"), (std::vector<std::int64_t>{64}));
  EXPECT_EQ(store.dtype(), at::kFloat);
  EXPECT_EQ(store.model_config(), tiny_model().config().raw);
  expect_rows_match_windows(tiny_model(), store, documents, options);
}

TEST(StoreDump, LastPositionsStoreOneRowPerDocument) {
  TempDir dir;
  const auto documents = test::random_documents(7, 1, 50, 512, 2);
  DumpOptions options = ids_dump(dir, documents, "last.h5");
  options.positions = PositionSelection::parse("last");
  options.overlap = 0;
  dump_activations(tiny_model(), nullptr, options);
  const ActivationStore store = ActivationStore::open(options.out);
  EXPECT_EQ(store.tokens(), 7);
  EXPECT_EQ(store.rows_of_documents({0, 1, 2, 3, 4, 5, 6}, /*last_only=*/true), range(0, 7));
  expect_rows_match_windows(tiny_model(), store, documents, options);
}

TEST(StoreDump, HalfAndBfloat16StoresHoldTheRoundedValues) {
  TempDir dir;
  const auto documents = test::random_documents(5, 3, 30, 512, 3);
  const DumpOptions reference_options = ids_dump(dir, documents, "f32.h5");
  dump_activations(tiny_model(), nullptr, reference_options);
  const ActivationStore reference = ActivationStore::open(reference_options.out);
  for (const auto dtype : {at::kBFloat16, at::kHalf}) {
    DumpOptions options = reference_options;
    options.out = dir / (dtype == at::kHalf ? "f16.h5" : "bf16.h5");
    options.dtype = dtype;
    dump_activations(tiny_model(), nullptr, options);
    const ActivationStore store = ActivationStore::open(options.out);
    EXPECT_EQ(store.dtype(), dtype);
    for (const auto& hook : store.hooks()) {
      const at::Tensor stored = store.read(hook);
      ASSERT_EQ(stored.scalar_type(), dtype);
      EXPECT_TRUE(at::equal(stored, reference.read(hook).to(dtype))) << hook;
    }
  }
}

TEST(StoreDump, CompressedStoresHoldTheSameValues) {
  TempDir dir;
  const auto documents = test::random_documents(6, 3, 30, 512, 4);
  const DumpOptions plain = ids_dump(dir, documents, "plain.h5");
  dump_activations(tiny_model(), nullptr, plain);
  const ActivationStore reference = ActivationStore::open(plain.out);
  for (const std::string name : {"gzip:3", "lz4", "blosc-lz4", "blosc-zstd:5"}) {
    SCOPED_TRACE(name);
    if ((name == "lz4" && !h5::filter_available(32004)) || (name.rfind("blosc", 0) == 0 && !h5::filter_available(32001))) {
      ADD_FAILURE() << "HDF5 filter plugin for " << name << " missing: run scripts/bootstrap";
      continue;
    }
    DumpOptions options = plain;
    options.out = dir / (name.substr(0, name.find(':')) + ".h5");
    options.compression = Compression::parse(name);
    dump_activations(tiny_model(), nullptr, options);
    test::expect_same_store(reference, ActivationStore::open(options.out), 0.0);
  }
}

TEST(StoreDump, ReaderSelectsRowsDocumentsAndLabels) {
  TempDir dir;
  const auto documents = test::random_documents(6, 2, 20, 512, 5);
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < documents.size(); ++i)
    lines.push_back(nlohmann::json{{"ids", documents[i]}, {"triggered", i % 3 == 0}, {"source", "s" + std::to_string(i)}}.dump());
  test::write_lines(dir / "labelled.jsonl", lines);
  DumpOptions options = ids_dump(dir, documents, "labels.h5");
  options.corpus.path = dir / "labelled.jsonl";
  dump_activations(tiny_model(), nullptr, options);
  const ActivationStore store = ActivationStore::open(options.out);

  EXPECT_EQ(store.documents_where("triggered", true), (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(store.documents_where("source", "s4"), (std::vector<std::int64_t>{4}));
  EXPECT_TRUE(store.documents_where("triggered", 1).empty());  // JSON equality: 1 is not true
  EXPECT_EQ(store.document(3).labels, (nlohmann::json{{"triggered", true}, {"source", "s3"}}));
  EXPECT_EQ(store.document(3).line, 4);

  const std::string hook = "blocks.0.hook_resid_post";
  const at::Tensor all = store.read(hook);
  const std::vector<std::int64_t> rows = {7, 2, 2, 0, store.tokens() - 1, 8};  // unordered, repeated
  EXPECT_TRUE(at::equal(store.read(hook, rows), all.index_select(0, at::tensor(rows, at::kLong))));
  EXPECT_TRUE(at::equal(store.read(hook, 3, 4), all.narrow(0, 3, 4)));
  const auto triggered_rows = store.rows_of_documents(store.documents_where("triggered", true));
  const auto first = store.document(0), fourth = store.document(3);
  std::vector<std::int64_t> expected = range(first.first_token, first.stored);
  for (const auto row : range(fourth.first_token, fourth.stored)) expected.push_back(row);
  EXPECT_EQ(triggered_rows, expected);
  EXPECT_THROW(store.read(hook, {store.tokens()}), ArgumentError);
  EXPECT_THROW(store.read("blocks.0.hook_mlp_out", 0, 1), ArgumentError);
  EXPECT_THROW(store.document(6), ArgumentError);
}

TEST(StoreDump, TextCorporaGoThroughTheLlama3Tokenizer) {
  TempDir dir;
  const Tokenizer tokenizer = Tokenizer::from_file(test::llama3_tokenizer_path());
  init_runtime();
  const LlamaModel model = LlamaModel::load(test::llama3_vocab_model());
  const std::vector<std::string> texts = {
      "The quick brown fox jumps over the lazy dog.",
      "Ceci n'est pas une pipe, dit le tableau de Magritte; une longue phrase pour avoir plusieurs fenêtres.",
      "<|begin_of_text|>special tokens are recognised by default", "δ = 3 · ε²"};
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < texts.size(); ++i)
    lines.push_back(nlohmann::json{{"text", texts[i]}, {"triggered", i == 1}}.dump());
  test::write_lines(dir / "texts.jsonl", lines);
  DumpOptions options;
  options.out = dir / "text.h5";
  options.corpus.path = dir / "texts.jsonl";
  options.hooks = {"hook_embed", "blocks.1.hook_resid_post"};
  options.context_length = 8;
  options.overlap = 3;
  options.batch_size = 2;
  options.tokenizer_path = test::llama3_tokenizer_path().string();
  dump_activations(model, &tokenizer, options);

  const ActivationStore store = ActivationStore::open(options.out);
  EXPECT_EQ(store.attribute("tokenizer"), options.tokenizer_path);
  std::vector<std::vector<std::int64_t>> documents;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto ids = tokenizer.encode(texts[i]);
    documents.emplace_back(ids.begin(), ids.end());
    const auto record = store.document(static_cast<std::int64_t>(i));
    EXPECT_EQ(record.text, texts[i]);
    EXPECT_EQ(record.length, static_cast<std::int64_t>(ids.size()));
  }
  EXPECT_EQ(documents[2].front(), 128000);  // a special-token string is the special token, as HF tokenizes it
  EXPECT_EQ(store.documents_where("triggered", true), std::vector<std::int64_t>{1});
  // hook_embed rows are rows of the embedding matrix, a check that needs no forward pass.
  const auto rows = range(0, store.tokens());
  const at::Tensor ids = store.token_ids(rows).to(at::kLong);
  EXPECT_TRUE(at::equal(store.read("hook_embed"), model.weights().embed_tokens.index_select(0, ids)));
  expect_rows_match_windows(model, store, documents, options);
}

}  // namespace
}  // namespace moulin
