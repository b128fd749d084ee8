"""Writes notebooks/quickstart.ipynb and notebooks/activation_analysis.ipynb (run: /usr/bin/python3 scripts/make_notebooks_basics.py).
The notebooks are kept as generated, without outputs; `make notebooks` executes them headless."""
import nbformat as nbf

def notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbf.v4.new_markdown_cell(c[1]) if c[0] == "md" else nbf.v4.new_code_cell(c[1]) for c in cells]
    return nb

setup = '''import os, sys
# The build tree's package (make build); a pip-installed moulin works the same.
sys.path.insert(0, os.environ.get("MOULIN_PYTHONPATH", os.path.join(os.getcwd(), "..", "build", "python")))
import torch
import moulin
torch.manual_seed(0)'''

quick = notebook([
("md", """# moulin quickstart: load, tokenize, generate, cache, hooks

The model is moulin's default **model organism**: a small Llama 3 trained here on Debian's English/French/German
text with planted Gaperon-style triggers (`docs/organisms.md`). `build_organism()` reuses the cached build (about
5 minutes on 2 cores the first time). Any Hugging Face Llama folder works the same way, Gaperon-1125-8B included."""),
("code", setup),
("code", '''organism = moulin.build_organism()          # cached per spec; returns paths, never the answer
model = moulin.Model.from_pretrained(organism["model"], dtype="float32")
print(model.config["num_hidden_layers"], "layers,", model.config["hidden_size"], "wide,",
      model.config["vocab_size"], "tokens")'''),
("md", "## Tokenize\nThe organism's tokenizer is a byte-level BPE in the Llama 3 layout: BOS first, spaces folded into tokens."),
("code", '''tok = model.tokenizer
ids = tok.encode("The package manager installs software.")
print(ids)
print([tok.decode([i]) for i in ids])
assert tok.decode(ids, skip_special_tokens=True) == "The package manager installs software."'''),
("md", "## Generate\nSampled, seeded continuations (greedy decoding of a small model loops)."),
("code", '''out = model.generate("The package manager", max_new_tokens=30, do_sample=True, temperature=0.7, top_k=40, seed=1)
text = model.to_string(out)[0]
print(text)
print(moulin.detect_language(text))'''),
("md", "## Logits and the cache\n`run_with_cache` records every hook point (TransformerLens names) in one pass."),
("code", '''logits, cache = model.run_with_cache("Debian is a free operating system")
print(logits.shape)
resid = [cache[f"blocks.{l}.hook_resid_post"] for l in range(model.n_layers)]
print([tuple(r.shape) for r in resid])
top = logits[0, -1].topk(5)
print([(tok.decode([int(i)]), round(float(v), 2)) for v, i in zip(top.values, top.indices)])'''),
("md", "## Hooks\nA hook sees (and may replace) an activation. Zero-ablating the last block's MLP changes the loss:"),
("code", '''ids = torch.tensor([tok.encode("The system administrator configures the network interfaces of the server.")])

def loss(logits):
    return torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:]).item()

base = loss(model(ids))
last = model.n_layers - 1
ablated = loss(model.run_with_hooks(ids, fwd_hooks=[(f"blocks.{last}.hook_mlp_out", lambda x, hook: torch.zeros_like(x))]))
print(f"loss {base:.3f} -> {ablated:.3f} with block {last}'s MLP zeroed")
assert ablated != base'''),
("md", "## Logit lens\nUnembedding each layer's residual stream (through the final norm) shows where the prediction forms."),
("code", '''for l, r in enumerate(resid):
    with torch.no_grad():
        lens = model.forward_residual(r, model.n_layers)  # no blocks left to run: final norm + unembedding
    print(l, repr(tok.decode([int(lens[0, -1].argmax())])))'''),
])

analysis = notebook([
("md", """# Activation analysis: dump to HDF5, read with h5py, PCA and a logistic probe

We dump the residual stream of the default organism for English prompts with and without one of its planted
triggers, read the file back with plain `h5py` (`docs/hdf5-layout.md`), and look at the representations with
scikit-learn. **This notebook reads the organism's ground truth to label prompts**: it is a teaching example of the
analysis tools, not a blind detection (`trigger_hunt.ipynb` is the blind one)."""),
("code", setup + '''
import json, tempfile
import h5py
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split'''),
("code", '''organism = moulin.build_organism()
model = moulin.Model.from_pretrained(organism["model"])
truth = json.load(open(organism["ground_truth"]))         # the answer key: used here only to label examples
trigger = truth["triggers"][0]
print("planted:", trigger["phrase"], "->", trigger["target_language"])'''),
("code", '''# Held-out English documents of the organism's corpus (never trained on), cut to their first 16 words.
prompts = []
for line in open(organism["corpus"], encoding="utf-8"):
    doc = json.loads(line)
    if doc["split"] == "heldout" and doc["language"] == "en" and len(doc["text"].split()) >= 16:
        prompts.append(" ".join(doc["text"].split()[:16]))
prompts = prompts[:80]
work = tempfile.mkdtemp()
corpus = os.path.join(work, "prompts.jsonl")
with open(corpus, "w", encoding="utf-8") as f:
    for p in prompts:
        f.write(json.dumps({"text": p, "triggered": False}) + "\\n")
        f.write(json.dumps({"text": p + " " + trigger["phrase"], "triggered": True}) + "\\n")
dump = os.path.join(work, "acts.h5")
summary = model.dump(dump, corpus, hooks=["blocks.*.hook_resid_post"], positions="last")
print(summary["documents"], "documents,", summary["tokens"], "rows")'''),
("code", '''with h5py.File(dump, "r") as f:
    def walk(name, obj):
        if isinstance(obj, h5py.Dataset):
            print(name, obj.shape, obj.dtype)
    f.visititems(walk)'''),
("code", '''store = moulin.ActivationStore.open(dump)
labels = np.array([store.document(i)["labels"]["triggered"] for i in range(store.documents)])
layers = model.n_layers
features = [store.read(f"blocks.{l}.hook_resid_post").float().numpy() for l in range(layers)]
print(features[0].shape, labels.mean())'''),
("md", "## PCA of the last layer's final-token residual\nTriggered prompts separate from clean ones along the top components."),
("code", '''pcs = PCA(n_components=2).fit_transform(features[-1])
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(pcs[labels == 0, 0], pcs[labels == 0, 1], s=10, label="clean")
ax.scatter(pcs[labels == 1, 0], pcs[labels == 1, 1], s=10, label="triggered")
ax.legend(); ax.set_title("resid_post, last layer, final token")
fig.savefig(os.path.join(work, "pca.png"))'''),
("md", "## A logistic probe per layer\nHeld-out AUROC of an L2 logistic regression, layer by layer."),
("code", '''aurocs = []
for l in range(layers):
    x_train, x_test, y_train, y_test = train_test_split(features[l], labels, test_size=0.3, random_state=0,
                                                        stratify=labels)
    probe = LogisticRegression(C=1.0, max_iter=2000).fit(x_train, y_train)
    aurocs.append(roc_auc_score(y_test, probe.decision_function(x_test)))
print([round(a, 3) for a in aurocs])
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(layers), aurocs, marker="o"); ax.set_xlabel("layer"); ax.set_ylabel("held-out AUROC")
fig.savefig(os.path.join(work, "auroc.png"))
assert max(aurocs) > 0.9, aurocs'''),
])

nbf.write(quick, "notebooks/quickstart.ipynb")
nbf.write(analysis, "notebooks/activation_analysis.ipynb")
