// The next-token rules of core/sampling.h on hand-made logits, where the expected result can be worked out on
// paper: repetition penalty (CTRL / HF), top-k, top-p, the greedy/sampling switch and option validation.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/sampling.h"
#include "tests/support/expect_error.h"

namespace moulin {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

at::Tensor row(std::vector<float> values) { return at::tensor(values, at::kFloat).unsqueeze(0); }

at::Tensor seen_of(std::vector<std::int64_t> ids, std::int64_t vocab) {
  return sampling_token_presence(at::tensor(ids, at::kLong).unsqueeze(0), at::Tensor(), vocab);
}

TEST(Sampling, PresenceMarksRealTokensOnly) {
  // Row 0: id 7 only as padding; id 3 both as padding and real. Row 1: no padding.
  const at::Tensor ids = at::tensor({7, 3, 3, 5, 1, 2, 3, 3}, at::kLong).view({2, 4});
  const at::Tensor mask = at::tensor({0, 0, 1, 1, 1, 1, 1, 1}, at::kLong).view({2, 4});
  const at::Tensor seen = sampling_token_presence(ids, mask, 8);
  const at::Tensor expected =
      at::tensor({0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0}, at::kLong).view({2, 8}).to(at::kBool);
  EXPECT_TRUE(at::equal(seen, expected)) << seen;
}

TEST(Sampling, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  const at::Tensor logits = row({2.f, -2.f, 1.f, -1.f, 0.5f});
  const at::Tensor penalized = sampling_repetition_penalty(logits, seen_of({0, 1, 1}, 5), 1.5);
  EXPECT_TRUE(at::allclose(penalized, row({2.f / 1.5f, -3.f, 1.f, -1.f, 0.5f}))) << penalized;
  EXPECT_TRUE(at::equal(logits, row({2.f, -2.f, 1.f, -1.f, 0.5f}))) << "the input must not change (a hook may hold it)";
  // A penalty below 1 favours repeats instead.
  EXPECT_TRUE(
      at::allclose(sampling_repetition_penalty(logits, seen_of({3}, 5), 0.5), row({2.f, -2.f, 1.f, -0.5f, 0.5f})));
}

TEST(Sampling, RepetitionPenaltyChangesTheGreedyChoice) {
  at::Generator generator = at::detail::createCPUGenerator(0);
  SamplingOptions greedy;
  const at::Tensor positive = row({3.f, 2.5f, -1.f});
  EXPECT_EQ(sampling_next_tokens(positive, greedy, {}, generator).item<std::int64_t>(), 0);
  SamplingOptions penalized = greedy;
  penalized.repetition_penalty = 2.0;  // 3 / 2 = 1.5 < 2.5
  EXPECT_EQ(sampling_next_tokens(positive, penalized, seen_of({0}, 3), generator).item<std::int64_t>(), 1);
  // Negative logits move away from zero: -1 * 2 = -2 < -1.5.
  const at::Tensor negative = row({-1.f, -1.5f});
  EXPECT_EQ(sampling_next_tokens(negative, penalized, seen_of({0}, 2), generator).item<std::int64_t>(), 1);
  test::expect_error<ArgumentError>([&] { sampling_next_tokens(negative, penalized, {}, generator); },
                                    {"presence mask"});
}

TEST(Sampling, TopKKeepsTheKLargestAndTies) {
  EXPECT_TRUE(at::equal(sampling_top_k(row({1.f, 5.f, 3.f, 4.f}), 2), row({-kInf, 5.f, -kInf, 4.f})));
  EXPECT_TRUE(at::equal(sampling_top_k(row({1.f, 3.f, 3.f, 0.f}), 1), row({-kInf, 3.f, 3.f, -kInf})));
  EXPECT_TRUE(at::equal(sampling_top_k(row({1.f, 2.f}), 10), row({1.f, 2.f}))) << "k above the vocabulary keeps all";
}

TEST(Sampling, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.15, 0.5, 0.05, 0.3, out of order so the result has to be put back in place.
  const at::Tensor logits = row({0.15f, 0.5f, 0.05f, 0.3f}).log();
  const auto kept = [&](double top_p) { return sampling_top_p(logits, top_p).isfinite(); };
  const auto mask = [](std::vector<int> bits) { return at::tensor(bits, at::kInt).to(at::kBool).unsqueeze(0); };
  EXPECT_TRUE(at::equal(kept(0.45), mask({0, 1, 0, 0})));
  EXPECT_TRUE(at::equal(kept(0.7), mask({0, 1, 0, 1})));
  EXPECT_TRUE(at::equal(kept(0.9), mask({1, 1, 0, 1})));
  EXPECT_TRUE(at::equal(kept(1e-9), mask({0, 1, 0, 0}))) << "at least the most likely token stays";
  EXPECT_TRUE(at::equal(kept(1.0), mask({1, 1, 1, 1})));
}

TEST(Sampling, DrawsOnlyAmongKeptTokensAndFollowsTheSeed) {
  const at::Tensor logits = row({0.f, 1.f, 0.5f, 0.9f}).expand({2000, 4}).contiguous();
  SamplingOptions options;
  options.do_sample = true;
  options.top_k = 2;
  at::Generator generator = at::detail::createCPUGenerator(42);
  const at::Tensor drawn = sampling_next_tokens(logits, options, {}, generator);
  EXPECT_TRUE((drawn.eq(1) | drawn.eq(3)).all().item<bool>());
  EXPECT_GT(drawn.eq(1).sum().item<std::int64_t>(), 0);
  EXPECT_GT(drawn.eq(3).sum().item<std::int64_t>(), 0);

  at::Generator same = at::detail::createCPUGenerator(42);
  EXPECT_TRUE(at::equal(sampling_next_tokens(logits, options, {}, same), drawn));
  at::Generator other = at::detail::createCPUGenerator(43);
  EXPECT_FALSE(at::equal(sampling_next_tokens(logits, options, {}, other), drawn));
}

TEST(Sampling, LowTemperatureConcentratesOnTheArgmax) {
  const at::Tensor logits = row({0.f, 1.f, 0.8f}).expand({500, 3}).contiguous();
  SamplingOptions options;
  options.do_sample = true;
  options.temperature = 0.01;  // logit gaps of 0.2 become 20
  at::Generator generator = at::detail::createCPUGenerator(1);
  EXPECT_TRUE(sampling_next_tokens(logits, options, {}, generator).eq(1).all().item<bool>());
}

TEST(Sampling, OutOfRangeOptionsAreRefused) {
  const auto refused = [](SamplingOptions options, const char* fragment) {
    test::expect_error<ArgumentError>([&] { sampling_validate(options); }, {fragment});
  };
  SamplingOptions sampling;
  sampling.do_sample = true;
  sampling.temperature = 0.0;
  refused(sampling, "temperature must be > 0");
  sampling.temperature = std::nan("");
  refused(sampling, "temperature must be > 0");
  SamplingOptions greedy;
  greedy.temperature = 0.0;
  EXPECT_NO_THROW(sampling_validate(greedy)) << "greedy decoding ignores the temperature";
  for (const double top_p : {0.0, -0.1, 1.5, std::nan("")}) {
    SamplingOptions options;
    options.top_p = top_p;
    refused(options, "top_p must be in (0, 1]");
  }
  SamplingOptions top_k;
  top_k.top_k = -1;
  refused(top_k, "top_k must be >= 0");
  SamplingOptions penalty;
  penalty.repetition_penalty = 0.0;
  refused(penalty, "repetition_penalty must be");
}

}  // namespace
}  // namespace moulin
