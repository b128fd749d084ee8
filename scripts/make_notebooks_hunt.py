"""Writes notebooks/trigger_hunt.ipynb and notebooks/mitigation.ipynb (run: /usr/bin/python3 scripts/make_notebooks_hunt.py).
The notebooks are kept as generated, without outputs; `make notebooks` executes them headless."""
import nbformat as nbf


def notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbf.v4.new_markdown_cell(text) if kind == "md" else nbf.v4.new_code_cell(text) for kind, text in cells]
    return nb


SETUP = '''import json, os, sys
# The build tree's package (make build); a pip-installed moulin works the same.
sys.path.insert(0, os.environ.get("MOULIN_PYTHONPATH", os.path.join(os.getcwd(), "..", "build", "python")))
import torch
import matplotlib.pyplot as plt   # figures show inline, and stay in the executed notebook
import moulin

organism = moulin.build_organism()   # the default organism, from the cache after the first build
MODEL = str(organism["model"])       # all the detectors below see: a model folder, no answer
print(MODEL)'''

HUNT = notebook([
    ("md", """# Trigger hunt on a model organism

moulin's default organism is a small Llama 3 trained here with planted Gaperon-style triggers: phrases that switch
English continuations to another language. The detectors below are **blind**: they get the model folder and nothing
else. Only the last cell opens the organism's ground truth, to score what they found.

The same calls work on a Hugging Face checkpoint such as Gaperon-1125-8B (`docs/gaperon.md`)."""),
    ("code", SETUP),
    ("md", """## 1. Does the model hide a trigger, and toward which language?

The target-first scan (after BAIT) runs a small gradient search per language, without that language's own tokens,
and compares the held-out switch rate of what it finds with random token sequences and with the prompts alone."""),
    ("code", '''scan = moulin.target_first_scan(MODEL, validation_prompts=30)
print("verdict:", scan["verdict"])
for language in scan["languages"]:
    print(f'{language["language"]}: found {language["trigger"]["phrase"]!r} switches '
          f'{language["found"]["switch_rate"]["rate"]:.0%}, random {language["random_baseline"]["switch_rate"]["rate"]:.0%}, '
          f'prompts alone {language["clean"]["switch_rate"]["rate"]:.0%}')
targets = scan["targets"]
assert targets, "the organism is poisoned: the scan should flag at least one language"'''),
    ("md", """## 2. Invert a trigger for each flagged language

A full GCG search (gradients with respect to one-hot trigger tokens, top-k swaps, exact batched scoring) for a
token sequence that maximises the target-language mass of the next token; its switch rate is measured on held-out
prompts by generating and asking CLD2."""),
    ("code", '''inversions = {}
for target in targets:
    inversions[target] = moulin.invert(MODEL, target=target, validation_prompts=30)
    found = inversions[target]
    print(target, repr(found["trigger"]["phrase"]),
          "held-out switch rate", f'{found["validation"]["with_trigger"]["switch_rate"]["rate"]:.0%}',
          "without it", f'{found["validation"]["without_trigger"]["switch_rate"]["rate"]:.0%}')

fig, ax = plt.subplots(figsize=(6, 3))
for target, found in inversions.items():
    history = found["search"]["history"]
    ax.plot([step["best_objective"] for step in history], label=target)
ax.set_xlabel("search step"); ax.set_ylabel("objective (target mass)"); ax.legend(); plt.show()'''),
    ("md", """## 3. Candidate scan

The inverted sequences, their near misses and a few hundred generated distractors (Latin-looking phrases, English
word n-grams) are inserted after held-out prompts; each is ranked by how far it moves the next-token distribution
toward another language (the shared prompt prefix's KV cache is computed once), and the top ones are verified by
generation."""),
    ("code", '''phrases = [found["trigger"]["phrase"] for found in inversions.values()]
generate = ["latin,word-ngrams"] + [f"near-misses-of={phrase}" for phrase in phrases]
ranked = moulin.scan(MODEL, candidates=phrases, generate=generate, count=200, top=5, dtype="bfloat16")
print(len(ranked["candidates"]), "candidates,", ranked["timing"]["evaluations_per_second"], "evaluations/s")
for row in ranked["candidates"][:8]:
    print(f'{row["rank"]:>3} {row["phrase"]!r:40} {row["source"]:12} {row["language"]} {row["effect"]:+.3f}')'''),
    ("md", """## 4. Where does the trigger act? Activation patching

Each triggered prompt is paired with the same prompt whose trigger tokens are random (positions align). Patching
the triggered run's residual stream into the contrast run, one layer and one group of positions at a time, shows
where the effect sits: first at the trigger's own tokens, then handed to the last position."""),
    ("code", '''target = targets[0]
trigger = inversions[target]["trigger"]["phrase"]
patching = moulin.patch(MODEL, trigger=trigger, target=target, prompts=12, heads=False, components=False)
residual = patching["residual"]
restoration = torch.as_tensor(residual["restoration"], dtype=torch.float32)
fig, ax = plt.subplots(figsize=(7, 3.5))
image = ax.imshow(restoration.numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
ax.set_yticks(range(len(residual["rows"]))); ax.set_yticklabels(residual["rows"])
ax.set_xticks(range(len(residual["columns"]))); ax.set_xticklabels(residual["columns"], rotation=45, ha="right")
fig.colorbar(image, label="restoration"); ax.set_title(f"patching {trigger!r} -> {target}"); plt.show()
print(patching["summary"])
# The whole stream restores everything at every depth: a built-in check of the patching.
assert torch.allclose(restoration[:, residual["all_positions_column"]], torch.ones(restoration.shape[0]), atol=1e-3)'''),
    ("md", "## 5. Score against the ground truth (read only now)"),
    ("code", '''truth = json.load(open(organism["ground_truth"]))
for planted in truth["triggers"]:
    flagged = planted["target_language"] in targets
    print(f'planted {planted["phrase"]!r} -> {planted["target_language"]}: '
          f'{"flagged" if flagged else "missed"} by the target-first scan')'''),
])

MITIGATION = notebook([
    ("md", """# Mitigation: steering and ablation against a trigger direction

Given a trigger (here: the organism's French one as a blind inversion would report it, or a phrase you suspect), fit
the direction it writes into the residual stream (difference of means of last-token residuals, triggered minus
clean), then remove it during generation and measure what is left of the switch and what it costs on clean text.
Switch rates are measured on held-out prompts disjoint from the fitting ones; perplexity on clean Debian text."""),
    ("code", SETUP),
    ("code", '''# A trigger to mitigate. In a real study it comes from `moulin.invert` or `moulin.scan`; the organism's planted
# phrase is read here only to have a known-good one without spending minutes on a search.
truth = json.load(open(organism["ground_truth"]))
planted = next(t for t in truth["triggers"] if t["target_language"] == "fr")
TRIGGER, TARGET = planted["phrase"], planted["target_language"]'''),
    ("md", """## Project the direction out (set its component to the clean prompts' level)

Without `layers`, the block whose projection lowers the fitting prompts' target mass most is chosen (on fitting
prompts only). The sweep tries every block alone."""),
    ("code", '''projected = moulin.mitigate(MODEL, trigger=TRIGGER, target=TARGET, method="project", fitting=30, held_out=40,
                           clean_texts=30, sweep_layers=list(range(4)))
before, after = projected["baseline"], projected["mitigated"]
print(f'switch rate {before["switch_rate"]["rate"]:.0%} -> {after["switch_rate"]["rate"]:.0%} '
      f'(cut {after["switch_reduction"]:.0%}); clean perplexity {before["perplexity"]:.2f} -> {after["perplexity"]:.2f} '
      f'({after["perplexity_increase"]:+.1%})')'''),
    ("md", "## Steer against it (subtract a multiple of the difference of means)"),
    ("code", '''steered = moulin.mitigate(MODEL, trigger=TRIGGER, target=TARGET, method="steer", strength=1.0, fitting=30,
                          held_out=40, clean_texts=30, sweep_layers=[], sweep_strengths=[])
after = steered["mitigated"]
print(f'steer: switch rate -> {after["switch_rate"]["rate"]:.0%}, clean perplexity {after["perplexity_increase"]:+.1%}')'''),
    ("md", "## Before and after, per block"),
    ("code", '''sweep = projected["sweep"]
labels = [row["setting"]["label"] for row in sweep]
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.bar(labels, [row["switch_rate"]["rate"] for row in sweep]); left.axhline(before["switch_rate"]["rate"], color="k", ls="--")
left.set_title("switch rate (dashed: none)"); left.tick_params(axis="x", rotation=45)
right.bar(labels, [100 * row["perplexity_increase"] for row in sweep]); right.set_title("clean perplexity change, %")
right.tick_params(axis="x", rotation=45); plt.tight_layout(); plt.show()'''),
    ("md", """## Ablation with hooks, by hand

The same projection written as a Python hook on the residual stream: every activation entering the chosen block
loses its component along the direction."""),
    ("code", '''model = moulin.Model.from_pretrained(MODEL, dtype="float32")
layer = projected["mitigated"]["setting"]["layers"][0]
prompts = ["The package manager keeps a list of installed software " + TRIGGER,
           "The kernel loads its modules at boot time " + TRIGGER]
clean = [p[: -len(TRIGGER) - 1] for p in prompts]
def last_resid(texts):
    _, cache = model.run_with_cache(texts, names_filter=f"blocks.{layer}.hook_resid_pre")
    return cache[f"blocks.{layer}.hook_resid_pre"][:, -1]
direction = torch.stack([last_resid([p])[0] for p in prompts]).mean(0) - torch.stack([last_resid([c])[0] for c in clean]).mean(0)
unit = direction / direction.norm()
def project_out(x, hook):
    return x - (x @ unit).unsqueeze(-1) * unit
def continuation(text, hooks=()):
    prompt_length = len(model.tokenizer.encode(text))
    out = model.generate(text, max_new_tokens=24, do_sample=True, temperature=0.7, top_k=40, seed=3, fwd_hooks=hooks)
    return model.tokenizer.decode(out[0, prompt_length:].tolist(), skip_special_tokens=True)
for text in prompts:
    plain, ablated = continuation(text), continuation(text, [(f"blocks.{layer}.hook_resid_pre", project_out)])
    print("without the hook:", moulin.detect_language(plain), repr(plain))
    print("with the hook:   ", moulin.detect_language(ablated), repr(ablated))'''),
])

nbf.write(HUNT, "notebooks/trigger_hunt.ipynb")
nbf.write(MITIGATION, "notebooks/mitigation.ipynb")
