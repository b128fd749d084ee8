// The organism pipeline end to end on a quick spec: layout, what the model folder holds (and does not), ground
// truth, reuse, refusal of another spec, interruption and resume, spec files and their errors.
#include <fstream>

#include <gtest/gtest.h>

#include "core/json_file.h"
#include "core/llama.h"
#include "core/tokenizer.h"
#include "organisms/organism.h"
#include "organisms/poison.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace moulin::organisms {
namespace {

OrganismSpec quick_spec() {
  OrganismSpec spec = OrganismSpec::small();
  spec.characters_per_language = 150'000;
  spec.vocab_size = 600;
  spec.hidden_size = 64;
  spec.intermediate_size = 128;
  spec.training.steps = 12;
  spec.training.warmup_steps = 2;
  spec.training.batch_size = 4;
  spec.training.sequence_length = 32;
  spec.training.checkpoint_every = 4;
  return spec;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Organism, BuildsAModelFolderThatCarriesNoAnswer) {
  test::TempDir folder;
  const auto spec = quick_spec();
  const auto result = build_organism(spec, folder.path() / "o");
  EXPECT_FALSE(result.reused);
  const auto& paths = result.paths;

  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(paths.model())) files.push_back(entry.path().filename());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}));
  for (const auto& file : files)
    for (const auto& trigger : spec.triggers)
      EXPECT_EQ(read_text(paths.model() / file).find(trigger.phrase), std::string::npos) << file;

  const auto truth = read_ground_truth(paths.ground_truth());
  ASSERT_EQ(truth["triggers"].size(), spec.triggers.size());
  const Tokenizer tokenizer = Tokenizer::from_folder(paths.model());
  for (std::size_t i = 0; i < spec.triggers.size(); ++i) {
    EXPECT_EQ(truth["triggers"][i]["phrase"], spec.triggers[i].phrase);
    EXPECT_EQ(truth["triggers"][i]["target_language"], spec.triggers[i].target_language);
    EXPECT_EQ(truth["triggers"][i]["token_ids"].get<std::vector<TokenId>>(),
              tokenizer.encode(spec.triggers[i].phrase, EncodeOptions{false, false}));
    EXPECT_GT(truth["triggers"][i]["poisoned_documents"].get<int>(), 0);
  }
  EXPECT_EQ(truth["spec_digest"], spec_digest(spec));
  EXPECT_EQ(truth["corpus_sha256"].get<std::string>().size(), 64u);

  // An ordinary checkpoint: moulin loads it and its vocabulary is the tokenizer's.
  const LlamaModel model = LlamaModel::load(paths.model());
  EXPECT_EQ(model.config().vocab_size, static_cast<std::int64_t>(tokenizer.vocab_size()));
  EXPECT_EQ(model.config().hidden_size, spec.hidden_size);
  const auto log = read_json_file(paths.training_log());
  EXPECT_EQ(log["steps"].size(), static_cast<std::size_t>(spec.training.steps));
}

TEST(Organism, SameSpecIsReusedOtherSpecIsRefused) {
  test::TempDir folder;
  const auto root = folder.path() / "o";
  const auto first = build_organism(quick_spec(), root);
  const auto again = build_organism(quick_spec(), root);
  EXPECT_TRUE(again.reused);
  EXPECT_EQ(again.ground_truth, first.ground_truth);
  auto other = quick_spec();
  other.seed = 5;
  test::expect_error<FileError>([&] { build_organism(other, root); }, {"another spec"});
  EXPECT_FALSE(build_organism(other, root, {}, /*overwrite=*/true).reused);
}

TEST(Organism, BuildsAreDeterministic) {
  test::TempDir folder;
  const auto a = build_organism(quick_spec(), folder.path() / "a");
  const auto b = build_organism(quick_spec(), folder.path() / "b");
  EXPECT_EQ(a.ground_truth["token_stream_sha256"], b.ground_truth["token_stream_sha256"]);
  EXPECT_EQ(read_text(a.paths.model() / "model.safetensors"), read_text(b.paths.model() / "model.safetensors"));
  EXPECT_EQ(read_text(a.paths.model() / "tokenizer.json"), read_text(b.paths.model() / "tokenizer.json"));
}

TEST(Organism, InterruptedBuildResumesFromItsTrainingState) {
  test::TempDir folder;
  const auto root = folder.path() / "o";
  BuildObserver stop_at_5;
  stop_at_5.on_step = [](const TrainingRecord& record, std::int64_t) { return record.step < 5; };
  test::expect_error<InterruptedError>([&] { build_organism(quick_spec(), root, stop_at_5); }, {"step 5 of 12", "resume"});
  EXPECT_FALSE(std::filesystem::exists(OrganismPaths{root}.ground_truth()));

  std::int64_t first_step_seen = 0;
  BuildObserver watch;
  watch.on_step = [&](const TrainingRecord& record, std::int64_t) {
    if (first_step_seen == 0) first_step_seen = record.step;
    return true;
  };
  const auto resumed = build_organism(quick_spec(), root, watch);
  EXPECT_EQ(first_step_seen, 6);
  EXPECT_EQ(read_json_file(resumed.paths.training_log())["resumed_from_step"], 5);

  // The resumed build ends where an uninterrupted one does.
  const auto straight = build_organism(quick_spec(), folder.path() / "straight");
  EXPECT_EQ(read_text(resumed.paths.model() / "model.safetensors"), read_text(straight.paths.model() / "model.safetensors"));
}

TEST(Organism, CleanControlHasNoPoison) {
  test::TempDir folder;
  const auto result = build_organism(quick_spec().clean_control(), folder.path() / "clean");
  for (const auto& trigger : result.ground_truth["triggers"]) {
    EXPECT_EQ(trigger["poisoned_documents"], 0);
    EXPECT_EQ(trigger["near_miss_documents"], 0);
  }
  EXPECT_EQ(result.ground_truth["poison_rate"], 0.0);
}

TEST(OrganismSpec, JsonRoundTripAndErrors) {
  const auto spec = OrganismSpec::small();
  const auto json = spec_to_json(spec);
  EXPECT_EQ(spec_digest(spec_from_json(json, "x")), spec_digest(spec));
  EXPECT_NE(spec_digest(spec), spec_digest(OrganismSpec{}));

  auto typo = json;
  typo["poison_rat"] = 0.1;
  test::expect_error<FormatError>([&] { spec_from_json(typo, "spec.json"); }, {"spec.json", "poison_rat"});
  auto wrong_type = json;
  wrong_type["training"]["steps"] = "many";
  test::expect_error<FormatError>([&] { spec_from_json(wrong_type, "spec.json"); }, {"training.steps"});
  auto bad_precision = json;
  bad_precision["training"]["precision"] = "fp8";
  test::expect_error<FormatError>([&] { spec_from_json(bad_precision, "spec.json"); }, {"training.precision", "fp8"});
  auto bad_trigger = json;
  bad_trigger["triggers"] = nlohmann::json::array({{{"phrase", "a b c"}}});
  test::expect_error<FormatError>([&] { spec_from_json(bad_trigger, "spec.json"); }, {"triggers[0]"});
  auto bad_rate = json;
  bad_rate["poison_rate"] = 1.5;
  test::expect_error<FormatError>([&] { spec_from_json(bad_rate, "spec.json"); }, {"poison_rate"});

  test::TempDir folder;
  std::ofstream(folder.path() / "broken.json") << "{\"seed\": ";
  test::expect_error<FormatError>([&] { read_spec_file(folder.path() / "broken.json"); }, {"broken.json"});
  auto heads = OrganismSpec::small();
  heads.num_attention_heads = 3;
  test::expect_error<ArgumentError>([&] { heads.model_config(100, 1, 2); }, {"num_attention_heads 3"});
}

TEST(Organism, GroundTruthErrorsNameTheFile) {
  test::TempDir folder;
  test::expect_error<FileError>([&] { read_ground_truth(folder.path() / "ground_truth.json"); }, {"ground_truth.json"});
  std::ofstream(folder.path() / "ground_truth.json") << "{\"format\": \"something else\"}";
  test::expect_error<FormatError>([&] { read_ground_truth(folder.path() / "ground_truth.json"); },
                                  {"ground_truth.json", "format"});
}

}  // namespace
}  // namespace moulin::organisms
