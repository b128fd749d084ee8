"""Trigger inversion from Python, on the default organism (built once into the cache, then reused) with a tiny
budget: the result dicts hold the found tokens as ids and text, the search history and held-out switch rates,
progress callbacks see every step, reports land in `out`, and mistakes raise ValueError naming them. The must-show
numbers (switch rate >= 80%, the scan's decisions) are checked by the C++ suite on full budgets."""
import json

import pytest

import moulin

invert = getattr(moulin, "invert", None) or moulin._moulin.invert
target_first_scan = getattr(moulin, "target_first_scan", None) or moulin._moulin.target_first_scan

TINY = dict(steps=2, candidates=16, top_k=16, search_prompts=3, validation_prompts=4, dtype="bfloat16")


@pytest.fixture(scope="module")
def model():
    return str(moulin.build_organism()["model"])


def test_invert_returns_the_trigger_history_and_switch_rates(model, tmp_path):
    stages, steps = [], []
    result = invert(model, target="fr", length=5, seed=3, out=str(tmp_path / "inv"), on_stage=stages.append,
                    on_step=steps.append, **TINY)
    trigger = result["trigger"]
    assert len(trigger["ids"]) == 5
    assert [t["id"] for t in trigger["tokens"]] == trigger["ids"]
    assert "".join(t["text"] for t in trigger["tokens"]) == " " + trigger["phrase"]
    assert all(t["target_probability"] <= 0.5 for t in trigger["tokens"])  # no French tokens
    history = result["search"]["history"]
    assert [h["step"] for h in history] == list(range(len(history))) and 1 <= len(history) <= 3
    assert max(h["objective"] for h in history) == pytest.approx(trigger["objective"])
    assert [s["step"] for s in steps] == [h["step"] for h in history]
    assert stages == ["search fr", "validate fr"]
    with_trigger = result["validation"]["with_trigger"]["switch_rate"]
    assert with_trigger["total"] == 4 and 0 <= with_trigger["count"] <= 4
    assert with_trigger["ci95"][0] <= with_trigger["rate"] <= with_trigger["ci95"][1]
    assert result["validation"]["without_trigger"]["phrase"] == ""
    assert json.load(open(result["json_file"]))["trigger"]["ids"] == trigger["ids"]
    assert "Trigger inversion" in open(result["report_markdown"], encoding="utf-8").read()


def test_invert_is_deterministic_for_a_seed(model):
    first = invert(model, target="de", length=4, seed=7, **TINY)
    second = invert(model, target="de", length=4, seed=7, **TINY)
    assert first["trigger"]["ids"] == second["trigger"]["ids"]


def test_target_first_scan_judges_every_language(model):
    result = target_first_scan(model, length=4, random_baselines=1, **TINY)
    languages = [entry["language"] for entry in result["languages"]]
    assert languages == ["de", "fr"]  # the token table's languages besides the source, in table order
    flagged = [entry["language"] for entry in result["languages"] if entry["hiding"]]
    assert result["targets"] == flagged
    assert result["verdict"] == ("no trigger" if not flagged else
                                 "trigger hiding, target" + ("s " if len(flagged) > 1 else " ") + ", ".join(flagged))
    for entry in result["languages"]:
        assert entry["random_baseline"]["switch_rate"]["total"] == 4
        assert entry["clean"]["switch_rate"]["total"] == 4
        assert entry["language"] in entry["reason"]


def test_mistakes_raise_value_errors_naming_them(model):
    with pytest.raises(ValueError, match="xx"):
        invert(model, target="xx", **TINY)
    with pytest.raises(ValueError, match="candidates"):
        invert(model, target="fr", **{**TINY, "candidates": 0})
    with pytest.raises(ValueError, match="min_switch_rate"):
        target_first_scan(model, min_switch_rate=2.0, **TINY)
