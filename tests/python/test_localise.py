"""Localisation, mitigation and representation probes of a trigger from Python, on the default organism (built
once into the cache by the C++ trigger tests, reused here) with cheap settings: the dicts carry the maps as tensors
shaped by the model, the identities of patching hold, and bad arguments raise. The trigger is passed in, as the
commands take it; only these assertions read the ground truth."""
import json

import pytest
import torch

import moulin
from moulin import _moulin


@pytest.fixture(scope="session")
def organism():
    built = moulin.build_organism(moulin.organism_spec())
    truth = json.load(open(str(built["ground_truth"])))
    trigger = next(t["phrase"] for t in truth["triggers"] if t["target_language"] == "fr")
    model = str(built["model"])
    layers = json.load(open(model + "/config.json"))["num_hidden_layers"]
    return {"model": model, "trigger": trigger, "layers": layers}


def test_patch_returns_maps_as_tensors(organism, tmp_path):
    result = _moulin.patch(organism["model"], organism["trigger"], prompts=3, components=False, out=str(tmp_path))
    layers = organism["layers"]
    residual = result["residual"]["restoration"]
    assert isinstance(residual, torch.Tensor)
    assert residual.shape == (layers + 1, len(result["residual"]["columns"]))
    assert result["heads"].shape[0] == layers
    assert result["components"] is None
    # The whole stream at any depth is the triggered run; the final stream at the last position fixes the logits.
    assert torch.allclose(residual[:, result["residual"]["all_positions_column"]], torch.ones(layers + 1), atol=1e-4)
    assert result["summary"]["final_last_restoration"] == pytest.approx(1.0, abs=1e-4)
    row = result["summary"]["formation_row"]
    assert result["summary"]["formation_depth"] == pytest.approx(row / layers)
    assert (tmp_path / "patch.json").exists() and (tmp_path / "patch.html").exists()


def test_patch_refuses_a_contrast_that_does_not_align(organism):
    with pytest.raises(ValueError, match="length"):
        _moulin.patch(organism["model"], organism["trigger"], prompts=2, contrast="clean")


def test_mitigate_measures_before_and_after(organism):
    result = _moulin.mitigate(organism["model"], organism["trigger"], fitting=8, held_out=8, clean_texts=8,
                              layers=[1], max_new_tokens=8, sweep_layers=[2])
    assert result["mitigated"]["setting"]["layers"] == [1]
    assert result["baseline"]["switch_rate"]["total"] == 8
    assert len(result["sweep"]) == 1 and result["sweep"][0]["setting"]["layers"] == [2]
    assert result["baseline"]["perplexity"] > 1
    with pytest.raises(ValueError, match="project"):
        _moulin.mitigate(organism["model"], organism["trigger"], fitting=2, held_out=2, clean_texts=2,
                         method="erase")


def test_probe_reports_per_layer_auroc(organism):
    result = _moulin.probe(organism["model"], organism["trigger"], prompts=24)
    layers = organism["layers"]
    for key in ("mean_difference_auroc", "logistic_auroc", "spectral_auroc", "depths"):
        assert result[key].shape == (layers,)
    assert result["depths"][-1] == pytest.approx(1.0)
    assert len(result["layers"]) == layers
    assert 0 <= result["best_layer"]["index"] < layers
    with pytest.raises(ValueError, match="store"):
        _moulin.probe(trigger=organism["trigger"])
