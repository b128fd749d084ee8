#include "triggers/mitigation.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "hooks/hook_names.h"
#include "hooks/interventions.h"
#include "probes/behaviour.h"
#include "probes/last_token_activations.h"
#include "triggers/trigger_vocabulary.h"

namespace moulin::triggers {
namespace {

void check_layers(const std::vector<int>& layers, int model_layers, const char* what) {
  std::set<int> seen;
  for (const auto layer : layers) {
    if (layer < 0 || layer >= model_layers)
      throw ArgumentError(fmt::format("{}: layer {} is outside the model's blocks 0..{}", what, layer, model_layers - 1));
    if (!seen.insert(layer).second) throw ArgumentError(fmt::format("{}: layer {} is listed twice", what, layer));
  }
}

std::vector<std::string> triggered_texts(const Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                         const std::string& trigger, Placement placement) {
  std::vector<std::string> texts;
  for (const auto& prompt : prompts) texts.push_back(insert_phrase(tokenizer, prompt, trigger, placement).text);
  return texts;
}

// Each clean text as (first token, the rest): with a BOS the whole text is scored; without one the first token
// is the context the others are scored in.
struct ScoredTexts {
  std::vector<std::vector<TokenId>> contexts;
  std::vector<std::vector<TokenId>> targets;
  std::int64_t tokens = 0;
};

ScoredTexts scored_texts(const Tokenizer& tokenizer, const std::vector<std::string>& texts) {
  ScoredTexts scored;
  for (const auto& text : texts) {
    const auto ids = tokenizer.encode(text, EncodeOptions{/*add_bos=*/true, /*allow_special=*/false});
    if (ids.size() < 2) continue;  // nothing to score after the context
    scored.contexts.push_back({ids.front()});
    scored.targets.emplace_back(ids.begin() + 1, ids.end());
    scored.tokens += static_cast<std::int64_t>(ids.size()) - 1;
  }
  if (scored.tokens == 0) throw ArgumentError("the clean texts hold no token to score perplexity on");
  return scored;
}

double perplexity(const LlamaModel& model, const ScoredTexts& texts, ForwardHooks* hooks, std::int64_t batch_size) {
  double log_likelihood = 0;
  const auto count = texts.contexts.size();
  for (std::size_t first = 0; first < count; first += static_cast<std::size_t>(batch_size)) {
    const auto end = std::min(count, first + static_cast<std::size_t>(batch_size));
    const std::vector<std::vector<TokenId>> contexts(texts.contexts.begin() + first, texts.contexts.begin() + end);
    const std::vector<std::vector<TokenId>> targets(texts.targets.begin() + first, texts.targets.begin() + end);
    for (const double value : probes::target_log_probabilities(model, contexts, targets, hooks)) log_likelihood += value;
  }
  return std::exp(-log_likelihood / static_cast<double>(texts.tokens));
}

// Mean next-token target mass of the prompts, with `hooks` active.
double mean_target_mass(const LlamaModel& model, const std::vector<std::vector<TokenId>>& prompts,
                        const at::Tensor& target, ForwardHooks* hooks, std::int64_t batch_size) {
  probes::LastTokenOptions options;
  options.batch_size = batch_size;
  options.hooks = hooks;
  const at::Tensor logits = probes::last_token_activations(model, prompts, {"unembed.hook_out"}, options).front();
  return probes::target_language_mass(logits, target.cpu()).mean().item<double>();
}

void report_progress(const MitigationOptions& options, const std::string& stage, std::size_t done, std::size_t total) {
  if (options.on_progress) options.on_progress(stage, done, total);
}

}  // namespace

const char* mitigation_method_name(MitigationMethod method) {
  switch (method) {
    case MitigationMethod::kProject: return "project";
    case MitigationMethod::kSteer: return "steer";
  }
  return "?";
}

MitigationMethod parse_mitigation_method(std::string_view name) {
  for (const auto method : {MitigationMethod::kProject, MitigationMethod::kSteer})
    if (name == mitigation_method_name(method)) return method;
  throw ArgumentError(fmt::format("unknown mitigation method '{}' (use project or steer)", name));
}

std::vector<LayerDirection> fit_directions(const LlamaModel& model, const std::vector<PromptPair>& pairs,
                                           const std::vector<int>& layers, std::int64_t batch_size) {
  if (pairs.empty()) throw ArgumentError("fitting a mitigation direction needs at least one prompt");
  check_layers(layers, static_cast<int>(model.config().num_hidden_layers), "mitigation directions");
  std::vector<std::string> names;
  for (const auto layer : layers) names.push_back(hook_point_name(HookPoint::kResidPre, layer));
  probes::LastTokenOptions options;
  options.batch_size = batch_size;
  const auto triggered = probes::last_token_activations(model, triggered_ids(pairs), names, options);
  const auto contrast = probes::last_token_activations(model, contrast_ids(pairs), names, options);
  std::vector<LayerDirection> directions;
  for (std::size_t i = 0; i < layers.size(); ++i)
    directions.push_back({layers[i], (triggered[i].mean(0) - contrast[i].mean(0)).to(at::kFloat),
                          contrast[i].mean(0).to(at::kFloat)});
  return directions;
}

std::string setting_label(const MitigationSetting& setting) {
  const std::string method = setting.method == MitigationMethod::kSteer
                                 ? fmt::format("steer x{:g}", setting.strength)
                                 : std::string(mitigation_method_name(setting.method));
  return fmt::format("{} @ {}", method, fmt::join(setting.layers, ","));
}

void add_mitigation_hooks(HookSet& hooks, const std::vector<LayerDirection>& directions, const MitigationSetting& setting) {
  for (const auto layer : setting.layers) {
    const auto found = std::find_if(directions.begin(), directions.end(),
                                    [layer](const LayerDirection& direction) { return direction.layer == layer; });
    if (found == directions.end())
      throw ArgumentError(fmt::format("mitigation at layer {}: no direction was fitted there", layer));
    const std::string name = hook_point_name(HookPoint::kResidPre, layer);
    if (setting.method == MitigationMethod::kProject) {
      // The component goes to the contrast mean's level, not to 0: the residual stream is far from 0 along the
      // direction even in clean text. On a development organism zeroing it cost 8% clean perplexity and left 17%
      // of the switches; moving it to the contrast level cost under 1% and left none.
      const at::Tensor unit = found->direction / found->direction.norm();
      hooks.add(name, project_out(found->direction));
      hooks.add(name, steering(unit, (found->contrast_mean * unit).sum().item<double>()));
    } else {
      hooks.add(name, steering(found->direction, -setting.strength));
    }
  }
}

MitigationPrompts debian_mitigation_prompts(std::size_t fitting, std::size_t held_out, std::size_t clean_texts,
                                            std::size_t clean_max_words, std::uint64_t seed) {
  PromptOptions options;
  options.seed = seed;
  options.count = fitting;
  MitigationPrompts prompts;
  prompts.fitting = debian_prompts(options, 0);
  options.count = held_out;
  prompts.held_out = debian_prompts(options, fitting);
  // With the same seed and minimum length the held-out paragraphs come in the same order whatever the maximum
  // length, so skipping past the prompts keeps the longer clean texts disjoint from them.
  options.count = clean_texts;
  options.max_words = std::max(clean_max_words, options.min_words);
  prompts.clean_texts = debian_prompts(options, fitting + held_out);
  return prompts;
}

probes::ContinuationOptions MitigationOptions::default_continuation() {
  probes::ContinuationOptions options;
  options.max_new_tokens = 32;
  options.sampling.do_sample = true;
  options.sampling.temperature = 0.7;
  options.sampling.top_k = 40;
  options.seed = 1;
  return options;
}

MitigationResult mitigate_trigger(const Subject& subject, const MitigationPrompts& prompts, const std::string& trigger,
                                  const MitigationOptions& options) {
  if (prompts.fitting.empty() || prompts.held_out.empty() || prompts.clean_texts.empty())
    throw ArgumentError(fmt::format("mitigation needs fitting, held-out and clean prompts (got {}, {} and {})",
                                    prompts.fitting.size(), prompts.held_out.size(), prompts.clean_texts.size()));
  const std::set<std::string> fitting(prompts.fitting.begin(), prompts.fitting.end());
  for (const auto& prompt : prompts.held_out)
    if (fitting.count(prompt) != 0)
      throw ArgumentError(fmt::format("the held-out prompt '{}' is also a fitting prompt: the measure would not be held "
                                      "out",
                                      prompt));
  if (!(options.strength > 0) || std::any_of(options.sweep_strengths.begin(), options.sweep_strengths.end(),
                                             [](double strength) { return !(strength > 0); }))
    throw ArgumentError("mitigation strengths must be positive");
  const LlamaModel& model = subject.model;
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  check_layers(options.layers, layers, "--layers");
  check_layers(options.sweep_layers, layers, "--sweep-layers");
  const at::Tensor target = language_column(subject.languages, options.target_language, model.config().vocab_size);

  MitigationResult result;
  result.trigger = trigger;
  result.target_language = options.target_language;
  result.placement = options.placement;
  result.contrast = options.contrast.kind;
  result.layers = layers;
  result.fitting_prompts = prompts.fitting.size();
  result.held_out_prompts = prompts.held_out.size();

  // Directions at every block: the selection and the sweep may look at any of them.
  report_progress(options, "fitting directions", 0, 1);
  const auto pairs = prompt_pairs(subject.tokenizer, prompts.fitting, trigger, options.placement, options.contrast);
  std::vector<int> every_layer(static_cast<std::size_t>(layers));
  for (int layer = 0; layer < layers; ++layer) every_layer[static_cast<std::size_t>(layer)] = layer;
  const auto directions = fit_directions(model, pairs, every_layer, options.batch_size);
  for (const auto& direction : directions) result.direction_norms.push_back(direction.direction.norm().item<double>());
  report_progress(options, "fitting directions", 1, 1);

  MitigationSetting chosen{options.layers, options.method, options.strength};
  if (chosen.layers.empty()) {
    const auto fitting_triggered = triggered_ids(pairs);
    result.fitting_triggered_mass = mean_target_mass(model, fitting_triggered, target, nullptr, options.batch_size);
    for (int layer = 0; layer < layers; ++layer) {
      report_progress(options, "choosing the layer", static_cast<std::size_t>(layer), static_cast<std::size_t>(layers));
      HookSet hooks(layers);
      add_mitigation_hooks(hooks, directions, {{layer}, options.method, options.strength});
      result.selection_masses.push_back(mean_target_mass(model, fitting_triggered, target, &hooks, options.batch_size));
    }
    report_progress(options, "choosing the layer", static_cast<std::size_t>(layers), static_cast<std::size_t>(layers));
    const auto best = std::min_element(result.selection_masses.begin(), result.selection_masses.end());
    chosen.layers = {static_cast<int>(best - result.selection_masses.begin())};
    result.layers_chosen = true;
  }

  std::vector<MitigationSetting> sweep;
  for (const auto layer : options.sweep_layers) {
    if (options.method == MitigationMethod::kSteer) {
      for (const auto strength : options.sweep_strengths) sweep.push_back({{layer}, MitigationMethod::kSteer, strength});
    } else {
      sweep.push_back({{layer}, MitigationMethod::kProject, 1.0});
    }
  }

  const auto held_out_texts = triggered_texts(subject.tokenizer, prompts.held_out, trigger, options.placement);
  const ScoredTexts clean = scored_texts(subject.tokenizer, prompts.clean_texts);
  result.clean_texts = clean.contexts.size();
  result.clean_tokens = clean.tokens;
  const std::size_t measures = 2 + sweep.size();
  std::size_t measured = 0;
  // One setting measured: continuations of the held-out triggered prompts and the clean perplexity, with the
  // setting's hooks (none for the baseline).
  const auto measure = [&](const MitigationSetting* setting, std::vector<probes::Continuation>* continuations) {
    report_progress(options, "measuring", measured, measures);
    HookSet hooks(layers);
    if (setting) add_mitigation_hooks(hooks, directions, *setting);
    probes::ContinuationOptions continuation = options.continuation;
    continuation.hooks = setting ? &hooks : nullptr;
    auto generated = probes::continue_prompts(model, subject.tokenizer, held_out_texts, continuation);
    MitigationMeasure result_measure;
    if (setting) result_measure.setting = *setting;
    result_measure.switch_rate =
        probes::switch_rate(probes::continuation_languages(generated), options.target_language);
    result_measure.perplexity = perplexity(model, clean, setting ? &hooks : nullptr, options.batch_size);
    if (continuations) *continuations = std::move(generated);
    ++measured;
    return result_measure;
  };
  const auto relative_to = [](MitigationMeasure& measure, const MitigationMeasure& baseline) {
    measure.switch_reduction = 1.0 - measure.switch_rate.rate / baseline.switch_rate.rate;
    measure.perplexity_increase = measure.perplexity / baseline.perplexity - 1.0;
  };

  std::vector<probes::Continuation> before, after;
  result.baseline = measure(nullptr, &before);
  result.baseline.setting = {{}, options.method, 0.0};
  result.mitigated = measure(&chosen, &after);
  relative_to(result.mitigated, result.baseline);
  for (const auto& setting : sweep) {
    result.sweep.push_back(measure(&setting, nullptr));
    relative_to(result.sweep.back(), result.baseline);
  }
  report_progress(options, "measuring", measured, measures);

  for (std::size_t i = 0; i < std::min(options.examples, held_out_texts.size()); ++i)
    result.examples.push_back({held_out_texts[i], before[i].text, after[i].text, before[i].language.language,
                               after[i].language.language});
  return result;
}

}  // namespace moulin::triggers
