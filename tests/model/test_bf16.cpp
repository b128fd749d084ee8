// bf16 and fp16 runs against HF's bf16 golden (tiny-gqa), at the README's bf16 tolerances.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/llama.h"
#include "core/runtime.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"

namespace moulin {
namespace {

using test::golden_json;
using test::golden_model;
using test::test_device;
using test::golden_tensor;

at::Tensor case1_ids() {
  std::vector<std::int64_t> ids;
  const auto inputs = golden_json("tiny-gqa", "inputs.json");
  for (const auto& id : inputs["case1"]["input_ids"][0]) ids.push_back(id.get<std::int64_t>());
  return at::tensor(ids, at::kLong).unsqueeze(0);
}

void expect_bf16_close(const at::Tensor& logits, const at::Tensor& expected) {
  const at::Tensor difference = (logits.cpu() - expected).abs();
  EXPECT_LE(difference.max().item<double>(), 1e-2);
  EXPECT_LE(difference.mean().item<double>(), 2e-3);
}

// fp32 weights converted to bf16 at load: HF's from_pretrained(torch_dtype=bfloat16) path (fp32 inv_freq).
TEST(Bf16, ConvertedAtLoadMatchesHf) {
  init_runtime();
  const LlamaModel model = LlamaModel::load(golden_model("tiny-gqa"), LoadOptions{at::kBFloat16, test_device()});
  const at::Tensor logits = model.forward(case1_ids());
  EXPECT_EQ(logits.scalar_type(), at::kFloat);
  expect_bf16_close(logits, golden_tensor("tiny-gqa", "case1_logits_bf16_fp32rope.npy"));
  EXPECT_LE((logits.cpu() - golden_tensor("tiny-gqa", "case1_logits_fp64.npy")).abs().max().item<double>(), 1e-2);
  // bf16 argmax agrees with the fp32 golden at every position, as it does in HF.
  EXPECT_TRUE(at::equal(logits.argmax(-1).cpu(), golden_tensor("tiny-gqa", "case1_logits.npy").argmax(-1)));
}

// Weights stored as BF16 and loaded as bf16: no conversion, the same numbers.
TEST(Bf16, StoredBf16Checkpoint) {
  const auto folder = golden_model("tiny-gqa");
  const Checkpoint checkpoint = Checkpoint::open(folder / "model.bf16.safetensors");
  const LoadOptions options{at::kBFloat16, test_device()};
  const LlamaModel model(load_llama_config(folder), load_weights(checkpoint, load_llama_config(folder), options), options);
  const at::Tensor logits = model.forward(case1_ids());
  expect_bf16_close(logits, golden_tensor("tiny-gqa", "case1_logits_bf16_fp32rope.npy"));
  const LlamaModel converted = LlamaModel::load(folder, options);
  EXPECT_TRUE(at::equal(converted.forward(case1_ids()), logits)) << "converting at load must give the stored bf16 weights";
}

// fp16 has a finer mantissa than bf16; the same bound holds against the fp64 reference. Where this LibTorch has
// no fp16 matmul on the device (1.13 on CPU), loading must refuse clearly instead.
TEST(Fp16, CloseToFp64ReferenceOrClearlyRefused) {
  bool supported = true;
  try {
    const auto options = at::TensorOptions().dtype(at::kHalf).device(test_device());
    at::mm(at::ones({2, 2}, options), at::ones({2, 2}, options));
  } catch (const c10::Error&) {
    supported = false;
  }
  if (!supported) {
    test::expect_error<UnsupportedError>(
        [] { LlamaModel::load(golden_model("tiny-gqa"), LoadOptions{at::kHalf, test_device()}); },
        {"cannot run Half", "bfloat16 or float32"});
    return;
  }
  const LlamaModel model = LlamaModel::load(golden_model("tiny-gqa"), LoadOptions{at::kHalf, test_device()});
  const at::Tensor logits = model.forward(case1_ids());
  EXPECT_LE((logits.cpu() - golden_tensor("tiny-gqa", "case1_logits_fp64.npy")).abs().max().item<double>(), 1e-2);
}

}  // namespace
}  // namespace moulin
