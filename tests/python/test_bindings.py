"""The workbench from Python: golden parity, caches, hooks (including exceptions inside hooks) and errors."""
import json
import threading

import numpy as np
import pytest
import torch

import moulin
from conftest import LLAMA3_TOKENIZER

MODELS = ["tiny-gqa", "tiny-llama3rope", "tiny-mha"]


def golden_array(golden, model, name):
    return torch.from_numpy(np.load(golden / model / name))


def case(golden, model, name):
    return json.loads((golden / model / "inputs.json").read_text())[name]


@pytest.fixture(scope="module", params=MODELS)
def loaded(request, golden):
    return request.param, moulin.Model.from_pretrained(golden / request.param)


def test_logits_match_transformers(loaded, golden):
    name, model = loaded
    ids = torch.tensor(case(golden, name, "case1")["input_ids"])
    logits = model(ids)
    assert logits.dtype == torch.float32
    assert (logits - golden_array(golden, name, "case1_logits.npy")).abs().max() <= 1e-4


def test_left_padded_batch(loaded, golden):
    name, model = loaded
    inputs = case(golden, name, "case2")
    mask = torch.tensor(inputs["attention_mask"])
    logits = model(torch.tensor(inputs["input_ids"]), attention_mask=mask)
    valid = mask.bool()
    assert (logits[valid] - golden_array(golden, name, "case2_logits.npy")[valid]).abs().max() <= 1e-4


def test_cache_matches_hidden_states_and_attentions(loaded, golden):
    name, model = loaded
    ids = torch.tensor(case(golden, name, "case1")["input_ids"])
    logits, cache = model.run_with_cache(ids, names_filter=lambda n: "resid" in n or "pattern" in n or n == "hook_embed")
    hidden = golden_array(golden, name, "case1_hidden_states.npy")
    layers = model.n_layers
    assert (cache["hook_embed"] - hidden[0]).abs().max() <= 1e-5
    for index in range(1, layers):
        assert (cache[f"blocks.{index - 1}.hook_resid_post"] - hidden[index]).abs().max() <= 1e-5
    attentions = golden_array(golden, name, "case1_attentions.npy")
    for layer in range(layers):
        assert (cache[f"blocks.{layer}.attn.hook_pattern"] - attentions[layer]).abs().max() <= 1e-5
    assert torch.equal(logits, model(ids))


def test_cache_options(golden):
    model = moulin.Model.from_pretrained(golden / "tiny-gqa")
    ids = torch.arange(1, 11).unsqueeze(0)
    _, cache = model.run_with_cache(ids, names_filter="blocks.1.hook_resid_post", pos_slice=(2, 5),
                                    cache_dtype=torch.bfloat16)
    assert list(cache) == ["blocks.1.hook_resid_post"]
    assert cache["blocks.1.hook_resid_post"].shape == (1, 3, 64)
    assert cache["blocks.1.hook_resid_post"].dtype == torch.bfloat16
    _, default = model.run_with_cache(ids)
    assert not any("pattern" in name for name in default), "patterns are only cached when asked for"
    assert len(default) == len(model.hook_names()) - 4


def test_hooks_observe_replace_and_scope(golden):
    model = moulin.Model.from_pretrained(golden / "tiny-gqa")
    ids = torch.arange(1, 9).unsqueeze(0)
    plain = model(ids)
    seen = []

    def observe(tensor, hook):
        seen.append((hook.name, hook.layer, tuple(tensor.shape)))

    def zero(tensor, hook):
        return torch.zeros_like(tensor)

    assert torch.equal(model.run_with_hooks(ids, fwd_hooks=[(lambda n: n.endswith("attn.hook_z"), observe)]), plain)
    assert seen == [("blocks.0.attn.hook_z", 0, (1, 8, 4, 16)), ("blocks.1.attn.hook_z", 1, (1, 8, 4, 16))]
    ablated = model.run_with_hooks(ids, fwd_hooks=[(["blocks.0.hook_attn_out", "blocks.1.hook_attn_out"], zero)])
    assert not torch.equal(ablated, plain)
    with model.hooks([("blocks.0.hook_attn_out", zero), ("blocks.1.hook_attn_out", zero)]):
        assert torch.equal(model(ids), ablated)
    assert torch.equal(model(ids), plain), "hooks are removed when the with-block ends"
    with pytest.raises(RuntimeError):
        with model.hooks([("blocks.0.hook_attn_out", zero)]):
            raise RuntimeError("user code fails inside the block")
    assert torch.equal(model(ids), plain), "hooks are removed after an error too"
    # Values cross without copies: a hook writing in place into a recorded view is visible in the cache.
    assert model.act_name("resid_post", -1) == "blocks.1.hook_resid_post"


def test_exception_in_hook_propagates_with_traceback(golden):
    model = moulin.Model.from_pretrained(golden / "tiny-gqa")
    ids = torch.arange(1, 9).unsqueeze(0)
    plain = model(ids)

    def failing_hook(tensor, hook):
        raise KeyError(f"bad hook at {hook.name}")

    with pytest.raises(KeyError, match="bad hook at blocks.1.hook_mlp_out") as raised:
        model.run_with_hooks(ids, fwd_hooks=[("blocks.1.hook_mlp_out", failing_hook)])
    assert any(entry.name == "failing_hook" for entry in raised.traceback)
    with pytest.raises(TypeError, match="returned"):
        model.run_with_hooks(ids, fwd_hooks=[("blocks.1.hook_mlp_out", lambda t, h: 3)])
    with pytest.raises(ValueError, match="blocks.1.hook_mlp_out"):
        model.run_with_hooks(ids, fwd_hooks=[("blocks.1.hook_mlp_out", lambda t, h: t[:, :1])])
    assert torch.equal(model(ids), plain), "the model stays usable after a failing hook"


def test_forward_releases_the_gil(golden):
    model = moulin.Model.from_pretrained(golden / "tiny-llama3rope")
    ids = torch.randint(1, 1000, (4, 200))
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.001)

    thread = threading.Thread(target=ticker)
    thread.start()
    for _ in range(3):
        model(ids)
    stop.set()
    thread.join()
    assert len(ticks) > 3, "a Python thread keeps running while the forward pass computes"


def test_stop_and_resume(golden):
    model = moulin.Model.from_pretrained(golden / "tiny-llama3rope")
    ids = torch.arange(5, 25).unsqueeze(0)
    residual = model(ids, stop_at_layer=2)
    assert residual.shape == (1, 20, 96)
    assert torch.equal(model.forward_residual(residual, 2), model(ids))


def test_bf16_dtype_objects(golden):
    model = moulin.Model.from_pretrained(golden / "tiny-gqa", dtype=torch.bfloat16)
    assert model.dtype == torch.bfloat16
    ids = torch.tensor(case(golden, "tiny-gqa", "case1")["input_ids"])
    difference = (model(ids) - golden_array(golden, "tiny-gqa", "case1_logits_bf16_fp32rope.npy")).abs()
    assert difference.max() <= 1e-2 and difference.mean() <= 2e-3
    with pytest.raises(ValueError, match="unsupported dtype"):
        moulin.Model.from_pretrained(golden / "tiny-gqa", dtype=torch.int8)


def test_errors_map_to_python_types(golden, tmp_path):
    with pytest.raises(FileNotFoundError, match="nonexistent"):
        moulin.Model.from_pretrained(tmp_path / "nonexistent")
    (tmp_path / "config.json").write_text('{"hidden_size": "big"}')
    with pytest.raises(ValueError, match="'hidden_size'"):
        moulin.Model.from_pretrained(tmp_path)
    model = moulin.Model.from_pretrained(golden / "tiny-gqa")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model(torch.tensor([[5000]]))
    with pytest.raises(ValueError, match="did you mean"):
        model.run_with_hooks(torch.tensor([[5]]), fwd_hooks=[("blocks.0.hook_resid_pots", lambda t, h: None)])
    with pytest.raises(ValueError, match="no tokenizer"):
        model("text needs a tokenizer")


def test_tokenizer(golden):
    assert LLAMA3_TOKENIZER.exists(), "run scripts/bootstrap: it installs the Llama 3 tokenizer"
    tokenizer = moulin.Tokenizer.from_pretrained(LLAMA3_TOKENIZER)
    text = "Bonjour le monde, hello world <|eot_id|>"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text
    assert tokenizer.token_to_id("<|eot_id|>") in ids
    assert tokenizer.token_to_id("<|eot_id|>") not in tokenizer.encode(text, add_special_tokens=False, allow_special=False)
    assert tokenizer.vocab_size == 128256
    rendered = tokenizer.apply_chat_template([("user", "Hi")], format="llama3")
    assert rendered.startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>")


@pytest.mark.parametrize("name", MODELS)
def test_generate_reproduces_golden_greedy_ids(golden, name):
    model = moulin.Model.from_pretrained(golden / name)
    prompt = torch.tensor(case(golden, name, "case3")["input_ids"])
    output = model.generate(prompt, max_new_tokens=12, eos_ids=[-1])
    assert torch.equal(output, golden_array(golden, name, "case3_sequence.npy"))


def test_generate_sampling_streaming_hooks_and_batches(golden):
    model = moulin.Model.from_pretrained(golden / "tiny-gqa")
    prompt = torch.tensor([[5, 17, 300, 42, 9]])
    first = model.generate(prompt, max_new_tokens=10, do_sample=True, temperature=1.5, seed=7, eos_ids=[-1])
    assert torch.equal(first, model.generate(prompt, max_new_tokens=10, do_sample=True, temperature=1.5, seed=7,
                                             eos_ids=[-1]))
    streamed = []
    output = model.generate(prompt, max_new_tokens=6, eos_ids=[-1], on_token=lambda row, token: streamed.append(token))
    assert streamed == output[0, 5:].tolist()
    stopped, reasons = model.generate(prompt, max_new_tokens=6, eos_ids=[-1], return_stop_reasons=True,
                                      on_token=lambda row, token: False)
    assert stopped.shape == (1, 6) and reasons == ["callback"]
    # Hooks run at every step and see only the new positions.
    seen = []
    model.generate(prompt, max_new_tokens=3, eos_ids=[-1],
                   fwd_hooks=[("blocks.0.hook_resid_post", lambda t, h: seen.append((h.past_length, t.shape[1])))])
    assert seen == [(0, 5), (5, 1), (6, 1)]
    # A left-padded batch gives each row what it gets alone.
    batch = torch.tensor([[0, 0, 5, 17, 300], [1, 2, 3, 4, 5]])
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    together = model.generate(batch, attention_mask=mask, max_new_tokens=5, eos_ids=[-1])
    alone = model.generate(torch.tensor([[5, 17, 300]]), max_new_tokens=5, eos_ids=[-1])
    assert torch.equal(together[0, 2:], alone[0])
    with pytest.raises(ValueError, match="top_p"):
        model.generate(prompt, do_sample=True, top_p=1.5)


def test_dump_and_read_store_from_python(golden, tmp_path):
    model = moulin.Model.from_pretrained(golden / "tiny-gqa")
    corpus = tmp_path / "corpus.jsonl"
    documents = [[5, 17, 300, 42, 9, 11], [7, 8, 9], [100, 200, 300, 400]]
    corpus.write_text("".join(json.dumps({"ids": ids, "triggered": i == 1}) + "\n" for i, ids in enumerate(documents)))
    summary = model.dump(tmp_path / "acts.h5", corpus, ["blocks.*.hook_resid_post"], batch_size=2)
    assert summary["tokens"] == 13 and summary["complete"]
    with pytest.raises(FileNotFoundError, match="--resume"):
        model.dump(tmp_path / "acts.h5", corpus, ["blocks.*.hook_resid_post"])
    store = moulin.ActivationStore.open(tmp_path / "acts.h5")
    assert store.tokens == 13 and store.documents == 3 and store.complete
    assert store.hooks == ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
    triggered = store.documents_where("triggered", True)
    assert triggered == [1]
    rows = store.rows_of_documents(triggered)
    stored = store.read("blocks.1.hook_resid_post", rows)
    _, cache = model.run_with_cache(torch.tensor([documents[1]]), names_filter="blocks.1.hook_resid_post")
    assert (stored - cache["blocks.1.hook_resid_post"][0]).abs().max() <= 1e-6
    assert store.token_ids(rows).tolist() == documents[1]
    assert store.document(1)["labels"] == {"triggered": True}
    assert store.read("blocks.0.hook_resid_post", (0, 4)).shape == (4, 64)
