// The fused CPU kernels against the plain torch ops they replace, on the layouts the forward pass gives them
// (column blocks of fused projections), in float32 and bfloat16.
#include <gtest/gtest.h>

#include "core/cpu_kernels.h"
#include "core/llama.h"
#include "core/rope.h"
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

TEST_P(CpuKernels, SiluMulOnFusedGateUp) {
  const at::Tensor gate_up = (3 * at::randn({2, 9, 2 * 200})).to(dtype());
  const at::Tensor gate = gate_up.narrow(-1, 0, 200), up = gate_up.narrow(-1, 200, 200);
  const at::Tensor fused = cpu::silu_mul(gate, up);
  ASSERT_TRUE(fused.defined());
  const at::Tensor reference = at::silu(gate) * up;
  EXPECT_LE(max_abs_diff(fused, reference), dtype() == at::kFloat ? 1e-5 : 6e-2);
  if (dtype() == at::kBFloat16) EXPECT_LE(fraction_differing(fused, reference), 0.02);
  // Extreme gates: exp under- and overflow give silu's limits, never NaN.
  const at::Tensor extreme = at::tensor({-200.f, -90.f, -20.f, 0.f, 20.f, 90.f, 200.f}).to(dtype()).unsqueeze(0);
  EXPECT_LE(max_abs_diff(cpu::silu_mul(extreme, at::ones_like(extreme)), at::silu(extreme)), 1e-3);
}

TEST_P(CpuKernels, RopeOnQkvView) {
  LlamaConfig config;
  config.head_dim = 16;
  config.rope_theta = 500000;
  const at::Tensor qkv = at::randn({2, 11, 8 * 16}).to(dtype());
  const at::Tensor q = qkv.narrow(-1, 0, 6 * 16).view({2, 11, 6, 16});
  const at::Tensor positions = at::arange(3, 14, at::kLong).expand({2, 11});
  const RopeTables tables = rope_tables(rope_inv_freq(config), positions, dtype());
  const at::Tensor fused = cpu::rope(q, tables.cos, tables.sin);
  ASSERT_TRUE(fused.defined());
  const at::Tensor reference = unfused([&] { return apply_rope(q, tables); });
  EXPECT_LE(max_abs_diff(fused, reference), dtype() == at::kFloat ? 1e-6 : 1.6e-2);
  if (dtype() == at::kBFloat16) EXPECT_LE(fraction_differing(fused, reference), 0.01);
}

TEST_P(CpuKernels, ScaledMaskedSoftmax) {
  const at::Tensor scores = (4 * at::randn({2, 3, 5, 9})).to(dtype());
  const double lowest = dtype() == at::kFloat ? -3.4028234663852886e38 : -3.3895313892515355e38;
  at::Tensor bias = at::zeros({2, 1, 5, 9}).to(dtype());
  bias.narrow(-1, 6, 3).fill_(lowest);
  bias[1].narrow(-1, 0, 9).narrow(1, 0, 1).fill_(lowest);  // a fully masked row: uniform, as transformers gives
  const at::Tensor fused = cpu::scaled_masked_softmax(scores, 8.0, bias);
  ASSERT_TRUE(fused.defined());
  const at::Tensor reference = at::softmax((scores / 8.0) + bias, -1, at::kFloat).to(dtype());
  EXPECT_LE(max_abs_diff(fused, reference), dtype() == at::kFloat ? 1e-6 : 4e-3);
  EXPECT_EQ(fused.narrow(-1, 6, 3)[0].abs().max().item<float>(), 0.f) << "masked keys get exactly zero";
  EXPECT_LE(max_abs_diff(fused[1][0][0], at::full({9}, 1.0 / 9)), dtype() == at::kFloat ? 1e-6 : 4e-3);
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
