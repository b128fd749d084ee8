#include "triggers/localise.h"

#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "hooks/activation_cache.h"
#include "hooks/analysis.h"
#include "probes/behaviour.h"
#include "triggers/trigger_vocabulary.h"

namespace moulin::triggers {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::int64_t> position_range(std::int64_t first, std::int64_t end) {
  std::vector<std::int64_t> positions;
  for (auto position = first; position < end; ++position) positions.push_back(position);
  return positions;
}

at::Tensor as_run(const std::vector<TokenId>& ids, c10::Device device) {
  std::vector<std::int64_t> wide(ids.begin(), ids.end());
  return at::tensor(wide, at::kLong).view({1, -1}).to(device);
}

// The residual rows: entering each block, then the stream leaving the last one.
HookAddress residual_row(int row, int layers) {
  return row < layers ? HookAddress{HookPoint::kResidPre, row} : HookAddress{HookPoint::kResidPost, layers - 1};
}

// A patch of `positions`; none at all for an empty group (an empty position list would mean every position).
PatchVariant patch_positions(HookAddress address, std::vector<std::int64_t> positions) {
  if (positions.empty()) return {};
  return {ActivationPatch{address, std::move(positions), {}}};
}

// Every run one prompt needs, in the order the accumulators read them back.
struct PromptPlan {
  std::vector<PatchVariant> variants;
  std::vector<std::string> cached_names;
};

constexpr std::size_t kContrastVariant = 0;
constexpr std::size_t kTriggeredVariant = 1;
constexpr std::size_t kFirstStudyVariant = 2;

PromptPlan plan_prompt(const PromptPair& pair, Placement placement, int layers, std::int64_t heads,
                       const LocaliseOptions& options) {
  PromptPlan plan;
  const auto all = position_range(0, pair.length());
  const auto last = pair.length() - 1;
  plan.variants.push_back({});  // the contrast run
  // The embedding at every position is all the token ids decide, so patching it is the triggered run.
  plan.variants.push_back({ActivationPatch{{HookPoint::kEmbed, -1}, all, {}}});
  plan.cached_names.push_back(hook_point_name(HookPoint::kEmbed, -1));

  const auto groups = group_positions(pair, placement);
  for (int row = 0; row <= layers; ++row) {
    const HookAddress address = residual_row(row, layers);
    plan.cached_names.push_back(hook_point_name(address.point, address.layer));
    for (const auto& positions : groups) plan.variants.push_back(patch_positions(address, positions));
  }
  if (options.heads)
    for (int layer = 0; layer < layers; ++layer) {
      plan.cached_names.push_back(hook_point_name(HookPoint::kAttnZ, layer));
      for (std::int64_t head = 0; head < heads; ++head)
        plan.variants.push_back({ActivationPatch{{HookPoint::kAttnZ, layer}, {}, {head}}});
    }
  if (options.components)
    for (int layer = 0; layer < layers; ++layer)
      for (const auto point : {HookPoint::kAttnOut, HookPoint::kMlpOut}) {
        plan.cached_names.push_back(hook_point_name(point, layer));
        plan.variants.push_back(patch_positions({point, layer}, all));
        plan.variants.push_back(patch_positions({point, layer}, {last}));
      }
  return plan;
}

// Restoration from summed raw scores: (patched - contrast) / (triggered - contrast) of the means.
at::Tensor restoration(const at::Tensor& patched_sum, double triggered_sum, double contrast_sum) {
  return (patched_sum.to(at::kDouble) - contrast_sum) / (triggered_sum - contrast_sum);
}

double depth_of(const std::optional<int>& row, int layers) {
  return row ? static_cast<double>(*row) / layers : kNaN;
}

}  // namespace

PositionGroups position_groups(Placement placement, std::int64_t trigger_tokens) {
  PositionGroups groups;
  groups.labels.push_back("BOS");
  if (placement != Placement::kPrefix) groups.labels.push_back("before trigger");
  // A suffix trigger ends the prompt: its last token is the last position, which has its own column.
  const auto own_columns = placement == Placement::kSuffix ? trigger_tokens - 1 : trigger_tokens;
  for (std::int64_t token = 0; token < own_columns; ++token) groups.labels.push_back(fmt::format("trigger {}", token + 1));
  if (placement != Placement::kSuffix) groups.labels.push_back("after trigger");
  groups.last = groups.labels.size();
  groups.labels.push_back(placement == Placement::kSuffix ? fmt::format("last (trigger {})", trigger_tokens) : "last");
  groups.trigger_span = groups.labels.size();
  groups.labels.push_back("trigger span");
  groups.all = groups.labels.size();
  groups.labels.push_back("all positions");
  return groups;
}

std::vector<std::vector<std::int64_t>> group_positions(const PromptPair& pair, Placement placement) {
  const auto last = pair.length() - 1;
  const bool ends_prompt = pair.trigger_end == pair.length();
  if (ends_prompt != (placement == Placement::kSuffix))
    throw ArgumentError(fmt::format("the trigger {} the prompt '{}', which a {} placement does not allow",
                                    ends_prompt ? "ends" : "does not end", pair.prompt, placement_name(placement)));
  std::vector<std::vector<std::int64_t>> groups;
  groups.push_back({0});
  if (placement != Placement::kPrefix) groups.push_back(position_range(1, pair.trigger_begin));
  for (auto position = pair.trigger_begin; position < pair.trigger_end; ++position)
    if (position != last) groups.push_back({position});
  if (placement != Placement::kSuffix) groups.push_back(position_range(pair.trigger_end, last));
  groups.push_back({last});
  groups.push_back(position_range(pair.trigger_begin, std::min(pair.trigger_end, last)));
  groups.push_back(position_range(0, pair.length()));
  return groups;
}

LocalisationSummary summarise_residual(const at::Tensor& residual, const PositionGroups& groups, int layers,
                                       double threshold) {
  LocalisationSummary summary;
  const at::Tensor values = residual.to(at::kDouble).cpu().contiguous();
  const auto value = [&](int row, std::size_t column) {
    return values[row][static_cast<std::int64_t>(column)].item<double>();
  };
  for (int row = 0; row <= layers; ++row) {
    const double last = value(row, groups.last);
    const double span = value(row, groups.trigger_span);
    if (!summary.formation_row && last >= threshold) summary.formation_row = row;
    if (span >= threshold) summary.trigger_span_row = row;
    if (!summary.handover_row && last > span) summary.handover_row = row;
  }
  summary.formation_depth = depth_of(summary.formation_row, layers);
  summary.trigger_span_depth = depth_of(summary.trigger_span_row, layers);
  summary.handover_depth = depth_of(summary.handover_row, layers);
  summary.final_last_restoration = value(layers, groups.last);
  return summary;
}

LocalisationResult localise_trigger(const Subject& subject, const std::vector<std::string>& prompts,
                                    const std::string& trigger, const LocaliseOptions& options) {
  if (prompts.empty()) throw ArgumentError("localisation needs at least one prompt");
  const LlamaModel& model = subject.model;
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  const std::int64_t heads = model.config().num_attention_heads;
  const at::Tensor target =
      language_column(subject.languages, options.target_language, model.config().vocab_size).to(model.device());
  const PatchMetric metric = [&target](const at::Tensor& logits) {
    return probes::target_language_mass(logits.select(1, -1), target);
  };

  const auto pairs = prompt_pairs(subject.tokenizer, prompts, trigger, options.placement, options.contrast);
  require_aligned(pairs, "activation patching");

  LocalisationResult result;
  result.trigger = trigger;
  result.target_language = options.target_language;
  result.placement = options.placement;
  result.contrast = options.contrast.kind;
  result.layers = layers;
  result.heads = heads;
  result.prompts = pairs.size();
  result.trigger_tokens = pairs.front().trigger_end - pairs.front().trigger_begin;
  result.groups = position_groups(options.placement, result.trigger_tokens);

  // A trigger without effect would make every restoration noise over noise: check before the long part.
  {
    ForwardOptions last_only;
    last_only.logits = LogitsFor::kLast;
    double rise = 0;
    for (const auto& pair : pairs)
      rise += (metric(model.forward(as_run(pair.triggered, model.device()), last_only)) -
               metric(model.forward(as_run(pair.contrast, model.device()), last_only)))
                  .item<double>();
    rise /= static_cast<double>(pairs.size());
    if (rise < options.min_effect)
      throw ArgumentError(fmt::format("the trigger '{}' raises the mean '{}' mass at the last position by {:.4g} over the "
                                      "{} contrast, less than the {:.4g} localisation needs",
                                      trigger, options.target_language, rise, contrast_kind_name(options.contrast.kind),
                                      options.min_effect));
  }

  PatchingOptions patching;
  patching.batch_size = options.batch_size;
  patching.logits = LogitsFor::kLast;
  at::Tensor sums;  // summed raw scores of every study variant, in plan order
  double triggered_sum = 0, contrast_sum = 0;
  for (std::size_t index = 0; index < pairs.size(); ++index) {
    const auto& pair = pairs[index];
    const PromptPlan plan = plan_prompt(pair, options.placement, layers, heads, options);
    if (plan.variants.size() - kFirstStudyVariant !=
        (static_cast<std::size_t>(layers) + 1) * result.groups.labels.size() +
            (options.heads ? static_cast<std::size_t>(layers * heads) : 0) +
            (options.components ? static_cast<std::size_t>(4 * layers) : 0))
      throw ArgumentError(fmt::format("the prompt '{}' does not split into the position groups of the others", pair.prompt));
    CacheOptions cache_options;
    cache_options.names = NameFilter::names(plan.cached_names);
    ForwardOptions forward;
    forward.logits = LogitsFor::kNone;
    const ActivationCache cache = run_with_cache(model, as_run(pair.triggered, model.device()), cache_options, forward).second;
    const at::Tensor scores =
        run_patch_variants(model, as_run(pair.contrast, model.device()), cache, plan.variants, metric, patching)
            .to(at::kDouble);
    const double triggered = scores[kTriggeredVariant].item<double>();
    const double contrast = scores[kContrastVariant].item<double>();
    result.triggered_masses.push_back(triggered);
    result.contrast_masses.push_back(contrast);
    triggered_sum += triggered;
    contrast_sum += contrast;
    const at::Tensor study = scores.narrow(0, kFirstStudyVariant, scores.size(0) - kFirstStudyVariant);
    sums = sums.defined() ? sums + study : study;
    if (options.on_prompt) options.on_prompt(index + 1, pairs.size());
  }
  const auto count = static_cast<double>(pairs.size());
  result.triggered_mass = triggered_sum / count;
  result.contrast_mass = contrast_sum / count;

  const at::Tensor restored = restoration(sums, triggered_sum, contrast_sum).to(at::kFloat);
  const auto columns = static_cast<std::int64_t>(result.groups.labels.size());
  std::int64_t offset = 0;
  const auto take = [&](std::int64_t rows, std::int64_t width) {
    const at::Tensor part = restored.narrow(0, offset, rows * width).view({rows, width});
    offset += rows * width;
    return part;
  };
  result.residual = take(layers + 1, columns);
  if (options.heads) result.head_restoration = take(layers, heads);
  if (options.components) result.component_restoration = take(layers, 4);
  result.summary = summarise_residual(result.residual, result.groups, layers, options.threshold);
  return result;
}

}  // namespace moulin::triggers
