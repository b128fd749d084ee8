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
