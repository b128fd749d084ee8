// The fused CPU kernel against the plain torch ops it replaces, on the layouts the forward pass gives it (column
// blocks of larger matrices), in float32 and bfloat16, and the whole model on both paths.
#include <gtest/gtest.h>

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
