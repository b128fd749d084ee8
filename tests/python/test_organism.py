"""Model organisms from Python: specs round-trip, a small organism builds into a folder that moulin loads like
any checkpoint, with its ground truth outside the model folder, and a second build reuses it."""
import json
import os

import pytest

import moulin


def test_spec_is_editable_json():
    spec = moulin.organism_spec()
    assert spec["triggers"][0]["target_language"] == "fr"
    assert moulin.organism_spec(clean=True)["poison_rate"] == 0
    json.dumps(spec)  # plain JSON


def test_unknown_spec_field_is_refused(tmp_path):
    spec = moulin.organism_spec(small=True)
    spec["poison_rat"] = 0.1
    with pytest.raises(ValueError, match="poison_rat"):
        moulin.build_organism(spec, out=str(tmp_path / "o"))


def test_small_organism_builds_and_is_reused(tmp_path):
    spec = moulin.organism_spec(small=True)
    spec["training"]["steps"] = 20
    spec["characters_per_language"] = 200000
    built = moulin.build_organism(spec, out=str(tmp_path / "organism"))
    assert not built["reused"]
    model_folder = str(built["model"])
    assert sorted(os.listdir(model_folder)) == ["config.json", "model.safetensors", "tokenizer.json",
                                                "tokenizer_config.json"]
    truth_path = str(built["ground_truth"])
    assert not truth_path.startswith(model_folder)
    truth = json.load(open(truth_path))
    assert [t["phrase"] for t in truth["triggers"]] == [t["phrase"] for t in spec["triggers"]]
    for folder_file in os.listdir(model_folder):  # the model folder names no trigger
        if folder_file.endswith(".json"):
            text = open(os.path.join(model_folder, folder_file), encoding="utf-8").read()
            assert all(t["phrase"] not in text for t in spec["triggers"])
    model = moulin.Model.from_pretrained(model_folder)
    assert model.config["vocab_size"] == model.tokenizer.vocab_size
    logits = model("hello world")
    assert logits.shape[-1] == model.config["vocab_size"]
    again = moulin.build_organism(spec, out=str(tmp_path / "organism"))
    assert again["reused"]
