#include "store/batch_forward.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {

BatchForward::BatchForward(const LlamaModel& model, std::vector<HookAddress> hooks, at::ScalarType dtype)
    : model_(model), hooks_(std::move(hooks)), dtype_(dtype), capture_(std::make_unique<Capture>()),
      hook_set_(static_cast<int>(model.config().num_hidden_layers)) {
  capture_->outputs.resize(hooks_.size());
  int deepest = -1;
  bool final_points = false;
  for (std::size_t i = 0; i < hooks_.size(); ++i) {
    const HookAddress address = hooks_[i];
    if (address.layer >= 0) deepest = std::max(deepest, address.layer);
    if (address.layer < 0 && address.point != HookPoint::kEmbed) final_points = true;
    if (position_dim(address.point) != 1)
      throw ArgumentError(fmt::format("{} has no per-token rows", hook_point_name(address.point, address.layer)));
    Capture* capture = capture_.get();
    const c10::Device cpu(c10::kCPU);
    hook_set_.add(address, [capture, i, dtype, cpu](const at::Tensor& activation, const HookContext&) -> std::optional<at::Tensor> {
      // index_select copies, so later in-place work on the activation cannot reach the stored rows.
      capture->outputs[i] = activation.flatten(0, 1).index_select(0, capture->rows).to(cpu, dtype).contiguous();
      return std::nullopt;
    });
  }
  forward_.hooks = &hook_set_;
  if (final_points) {
    forward_.logits = LogitsFor::kAll;
  } else {
    forward_.stop_at_layer = deepest + 1;  // 0 when only hook_embed is wanted
  }
}

std::vector<at::Tensor> BatchForward::run(const std::vector<std::vector<std::int64_t>>& windows,
                                          const std::vector<std::int64_t>& rows) {
  std::size_t longest = 0;
  for (const auto& window : windows) longest = std::max(longest, window.size());
  const auto batch = static_cast<std::int64_t>(windows.size()), width = static_cast<std::int64_t>(longest);
  at::Tensor ids = at::zeros({batch, width}, at::kLong);
  at::Tensor mask = at::ones({batch, width}, at::kLong);
  bool padded = false;
  auto ids_rows = ids.accessor<std::int64_t, 2>();
  auto mask_rows = mask.accessor<std::int64_t, 2>();
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto& window = windows[static_cast<std::size_t>(b)];
    for (std::size_t p = 0; p < longest; ++p) {
      if (p < window.size()) {
        ids_rows[b][static_cast<std::int64_t>(p)] = window[p];
      } else {
        mask_rows[b][static_cast<std::int64_t>(p)] = 0;
        padded = true;
      }
    }
  }
  ForwardOptions options = forward_;
  if (padded) options.attention_mask = mask.to(model_.device());
  capture_->rows = at::tensor(rows, at::kLong).to(model_.device());
  model_.forward(ids.to(model_.device()), options);
  std::vector<at::Tensor> outputs = std::move(capture_->outputs);
  capture_->outputs.assign(hooks_.size(), at::Tensor());
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (!outputs[i].defined())
      throw ArgumentError(fmt::format("the forward pass never reached {}",
                                      hook_point_name(hooks_[i].point, hooks_[i].layer)));
  return outputs;
}

std::vector<std::vector<std::int64_t>> BatchForward::row_shapes() {
  const auto outputs = run({{0}}, {0});
  std::vector<std::vector<std::int64_t>> shapes;
  for (const auto& output : outputs) shapes.emplace_back(output.sizes().begin() + 1, output.sizes().end());
  return shapes;
}

}  // namespace moulin
