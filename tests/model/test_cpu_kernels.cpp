// The fused CPU kernels against the plain torch ops they replace, on the layouts the forward pass gives them
// (column blocks of larger matrices, views of the cache), in float32 and bfloat16, and the whole model on both
// paths, prefill and cached decoding.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/cpu_kernels.h"
#include "core/llama.h"
#include "core/runtime.h"
#include "tests/support/golden.h"

namespace moulin {
namespace {

using test::max_abs_diff;

// Runs `body` with the fused kernels switched off: the reference torch path.
template <typename Body>
auto unfused(Body body) {
  cpu::set_kernels_enabled(false);
  auto result = body();
  cpu::set_kernels_enabled(true);
  return result;
}

// bfloat16 results may differ in the last bit where an intermediate lands on a rounding tie; count those.
double fraction_differing(const at::Tensor& a, const at::Tensor& b) {
  return a.ne(b).to(at::kFloat).mean().item<double>();
}

class CpuKernels : public ::testing::TestWithParam<at::ScalarType> {
 protected:
  static void SetUpTestSuite() { init_runtime(); }
  void SetUp() override { at::manual_seed(11); }
  at::ScalarType dtype() const { return GetParam(); }
  double tolerance() const { return dtype() == at::kFloat ? 2e-6 : 1.6e-2; }
};

TEST_P(CpuKernels, RmsNormOnAColumnBlock) {
  const at::Tensor wide = at::randn({3, 7, 160}).to(dtype());
  const at::Tensor x = wide.narrow(-1, 16, 96);  // rows 160 apart, as a view into a larger matrix
  const at::Tensor weight = (1 + 0.1 * at::randn({96})).to(dtype());
  const at::Tensor fused = cpu::rms_norm(x, weight, 1e-5);
  ASSERT_TRUE(fused.defined());
  const at::Tensor reference = unfused([&] { return rms_norm(x, weight, 1e-5); });
  EXPECT_LE(max_abs_diff(fused, reference), tolerance());
  if (dtype() == at::kBFloat16) EXPECT_LE(fraction_differing(fused, reference), 0.01);
  at::Tensor inverse;
  cpu::rms_norm(x, weight, 1e-5, &inverse);
  EXPECT_LE(max_abs_diff(inverse, at::rsqrt(x.to(at::kFloat).pow(2).mean(-1, true) + 1e-5)), 1e-5);
}

// The kernels below return undefined where the CPU lacks AVX-512; the tests then have nothing to compare.
#define REQUIRE_KERNEL(tensor)                                       \
  if (!(tensor).defined()) GTEST_SKIP() << "no AVX-512 on this CPU"

TEST_P(CpuKernels, MatrixVectorMatchesMv) {
  for (const std::int64_t cols : {768, 100, 7}) {  // whole 128-blocks, a 32-block tail, a masked tail
    const at::Tensor weight = at::randn({300, cols}).to(dtype()), x = at::randn({cols}).to(dtype());
    const at::Tensor fused = cpu::matrix_vector(weight, x);
    REQUIRE_KERNEL(fused);
    const at::Tensor reference = at::mv(weight.to(at::kDouble), x.to(at::kDouble));
    EXPECT_EQ(fused.scalar_type(), dtype());
    // Both round a float32 sum once; only the order of the additions differs.
    EXPECT_LE(max_abs_diff(fused.to(at::kDouble), reference), dtype() == at::kFloat ? 1e-4 : 0.02 * reference.abs().max().item<double>()) << cols;
  }
  EXPECT_FALSE(cpu::matrix_vector(at::randn({4, 6}).to(dtype()).t(), at::randn({4}).to(dtype())).defined())
      << "a transposed weight is left to LibTorch";
}

TEST_P(CpuKernels, SiluMulMatchesTorchOnAColumnBlock) {
  const at::Tensor gate_up = (3 * at::randn({2, 5, 2 * 200})).to(dtype());
  const at::Tensor gate = gate_up.narrow(-1, 0, 200), up = gate_up.narrow(-1, 200, 200);
  const at::Tensor fused = cpu::silu_mul(gate, up);
  REQUIRE_KERNEL(fused);
  // silu in float32, rounded once, then the product rounded: transformers' roundings under PyTorch 2.x (LibTorch
  // 1.13's bfloat16 silu also rounds exp(-x) and 1 + exp(-x), and differs from both in about a quarter of values).
  const at::Tensor silu = at::silu(gate.to(at::kFloat)).to(dtype());
  const at::Tensor reference = (silu.to(at::kFloat) * up.to(at::kFloat)).to(dtype());
  EXPECT_LE(max_abs_diff(fused, reference), tolerance());
  if (dtype() == at::kBFloat16) EXPECT_LE(fraction_differing(fused, reference), 0.01);
  // Extreme gates: silu(-100) is -0 and silu(100) is 100, as in torch; NaN stays NaN.
  const at::Tensor extremes = at::tensor({-100.0f, 100.0f, 0.0f, std::nanf("")}).to(dtype());
  const at::Tensor ones = at::ones({4}).to(dtype());
  const at::Tensor out = cpu::silu_mul(extremes, ones).to(at::kFloat);
  EXPECT_EQ(out[0].item<float>(), 0.0f);
  EXPECT_EQ(out[1].item<float>(), 100.0f);
  EXPECT_EQ(out[2].item<float>(), 0.0f);
  EXPECT_TRUE(std::isnan(out[3].item<float>()));
}

TEST_P(CpuKernels, AttentionSoftmaxMatchesTorch) {
  at::Tensor scores = (4 * at::randn({2, 3, 5, 37})).to(dtype());
  scores.select(3, 0).fill_(dtype() == at::kFloat ? std::numeric_limits<float>::lowest() : -3.3895313892515355e38);
  const at::Tensor fused = cpu::attention_softmax(scores);
  REQUIRE_KERNEL(fused);
  const at::Tensor reference = at::softmax(scores, -1, at::kFloat).to(dtype());
  EXPECT_LE(max_abs_diff(fused, reference), dtype() == at::kFloat ? 1e-6 : 4e-3);
  EXPECT_LE(max_abs_diff(fused.to(at::kFloat).sum(-1), at::ones({2, 3, 5})), dtype() == at::kFloat ? 1e-5 : 3e-2);
}

TEST_P(CpuKernels, RopeMatchesRotateHalfOnAStridedView) {
  const at::Tensor qkv = at::randn({2, 6, 3 * 4 * 32}).to(dtype());
  const at::Tensor x = qkv.narrow(-1, 32, 4 * 32).view({2, 6, 4, 32});  // rows 384 apart
  const at::Tensor angles = at::rand({2, 6, 1, 32}) * 100;
  const at::Tensor cos = angles.cos().to(dtype()), sin = angles.sin().to(dtype());
  const at::Tensor fused = cpu::rope(x, cos, sin);
  REQUIRE_KERNEL(fused);
  const at::Tensor rotated = at::cat({-x.narrow(-1, 16, 16), x.narrow(-1, 0, 16)}, -1);
  const at::Tensor reference = x * cos + rotated * sin;
  EXPECT_LE(max_abs_diff(fused, reference), tolerance());
  if (dtype() == at::kBFloat16) EXPECT_LE(fraction_differing(fused, reference), 0.01);
}

TEST(CpuKernelsBf16, LogitsWidenExactly) {
  const at::Tensor logits = at::randn({3, 1000}).to(at::kBFloat16);
  const at::Tensor wide = cpu::to_float32(logits);
  REQUIRE_KERNEL(wide);
  EXPECT_TRUE(at::equal(wide, logits.to(at::kFloat)));
}

// The logits of a cached prefill of `ids` (left-padded by `mask`) and of each token of `next` after it.
at::Tensor cached_decoding_logits(const LlamaModel& model, const at::Tensor& ids, const at::Tensor& mask,
                                  const at::Tensor& next) {
  KVCache cache = model.new_cache(ids.size(0), ids.size(1) + next.size(1));
  ForwardOptions options;
  options.cache = &cache;
  options.attention_mask = mask;
  options.logits = LogitsFor::kLast;
  at::Tensor full_mask = mask;
  std::vector<at::Tensor> steps{model.forward(ids, options)};
  for (std::int64_t step = 0; step < next.size(1); ++step) {
    full_mask = at::cat({full_mask, at::ones({ids.size(0), 1}, at::kLong)}, 1);
    options.attention_mask = full_mask;
    steps.push_back(model.forward(next.narrow(1, step, 1), options));
  }
  return at::stack(steps);
}

// Decoding with the cache through the single-position attention kernels, against LibTorch's batched matmuls: a
// left-padded batch, so the padding bias is exercised, and the same tokens fed to both paths.
TEST_P(CpuKernels, CachedDecodingMatchesTheTorchPath) {
  const auto golden = test::golden_model("tiny-gqa");
  const LlamaModel model = LlamaModel::load(golden, LoadOptions{dtype(), c10::kCPU});
  const at::Tensor ids = at::randint(1, model.config().vocab_size, {2, 9}, at::kLong);
  const at::Tensor next = at::randint(1, model.config().vocab_size, {2, 6}, at::kLong);
  at::Tensor mask = at::ones({2, 9}, at::kLong);
  mask[1].narrow(0, 0, 4).zero_();
  const at::Tensor fused = cached_decoding_logits(model, ids, mask, next);
  const at::Tensor reference = unfused([&] { return cached_decoding_logits(model, ids, mask, next); });
  if (dtype() == at::kFloat) {
    EXPECT_LE(max_abs_diff(fused, reference), 1e-5);
    return;
  }
  // Both bfloat16 paths against float32 (where they agree to 1e-5): the fused kernels round once where
  // transformers does, LibTorch 1.13's bfloat16 ops more often, so they can only be as close or closer.
  const LlamaModel wide = LlamaModel::load(golden, LoadOptions{at::kFloat, c10::kCPU});
  const at::Tensor exact = cached_decoding_logits(wide, ids, mask, next);
  const double fused_error = max_abs_diff(fused, exact), torch_error = max_abs_diff(reference, exact);
  std::printf("bfloat16 decoding, max |logit error| against float32: fused %.4f, LibTorch ops %.4f\n", fused_error,
              torch_error);
  EXPECT_LE(fused_error, 1.25 * torch_error + 1e-3);
}

TEST_P(CpuKernels, WholeModelMatchesTheTorchPath) {
  const LlamaModel model = LlamaModel::load(test::golden_model("tiny-llama3rope"), LoadOptions{dtype(), c10::kCPU});
  const at::Tensor ids = at::randint(1, 1000, {2, 33}, at::kLong);
  at::Tensor mask = at::ones({2, 33}, at::kLong);
  mask[0].narrow(0, 0, 7).zero_();
  ForwardOptions options;
  options.attention_mask = mask;
  const at::Tensor fused = model.forward(ids, options);
  const at::Tensor reference = unfused([&] { return model.forward(ids, options); });
  const at::Tensor valid = mask.to(at::kBool);
  EXPECT_LE(max_abs_diff(fused.index({valid}), reference.index({valid})), dtype() == at::kFloat ? 1e-5 : 2e-2);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CpuKernels, ::testing::Values(at::kFloat, at::kBFloat16));

}  // namespace
}  // namespace moulin
