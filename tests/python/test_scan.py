"""The candidate trigger scan from Python, on the default organism (built once into the cache, then reused): the
result holds every candidate in rank order with tensors of per-prompt scores, prefix reuse changes no number, the
planted triggers outrank ordinary words, and mistakes raise ValueError naming them."""
import json

import pytest
import torch

import moulin

scan = getattr(moulin, "scan", None) or moulin._moulin.scan

ORDINARY = ["the package", "configuration file", "running", "see also", "options"]


@pytest.fixture(scope="module")
def organism():
    built = moulin.build_organism()  # the default organism, from the cache
    truth = json.load(open(built["ground_truth"]))
    return str(built["model"]), truth["triggers"]


def small_scan(organism, **options):
    model, triggers = organism
    settings = dict(prompt_count=4, verify_prompts=4, top=2, max_new_tokens=16, batch=3)
    settings.update(options)
    return scan(model, candidates=ORDINARY + [t["phrase"] for t in triggers], **settings)


def test_result_holds_every_candidate_with_tensors(organism):
    _, triggers = organism
    result = small_scan(organism)
    candidates = result["candidates"]
    assert len(candidates) == len(ORDINARY) + len(triggers)
    assert [c["rank"] for c in candidates] == list(range(1, len(candidates) + 1))
    # The two verified candidates lead (reordered by their verified switch rate), the rest follow by effect.
    effects = [c["effect"] for c in candidates]
    assert effects[2:] == sorted(effects[2:], reverse=True)
    assert min(effects[:2]) >= max(effects[2:])
    languages = result["target_languages"]
    assert "en" not in languages and set(languages) <= {"fr", "de"}
    assert result["shifts"].shape == (len(candidates), 4, len(languages))
    assert result["kl"].shape == (len(candidates), 4)
    for c in candidates:  # the JSON effect is the mean of the tensor row for the best language
        row = result["shifts"][c["index"], :, languages.index(c["language"])]
        assert abs(row.double().mean().item() - c["effect"]) < 1e-6
        assert c["ci95"][0] <= c["effect"] <= c["ci95"][1]
    assert len(result["verification"]) == 2
    assert result["settings"]["placement"] == "suffix"
    # The planted triggers outrank ordinary English words.
    top = {c["phrase"] for c in candidates[:len(triggers)]}
    assert top == {t["phrase"] for t in triggers}


def test_prefix_reuse_changes_no_number(organism):
    reused = small_scan(organism, top=0)
    full = small_scan(organism, top=0, reuse_prefix=False)
    assert torch.allclose(reused["shifts"], full["shifts"], atol=1e-5)
    assert torch.allclose(reused["kl"], full["kl"], atol=1e-4)


def test_writes_json_and_report(organism, tmp_path):
    result = small_scan(organism, top=0, out=str(tmp_path / "scan"))
    written = json.load(open(result["json_file"]))
    assert [c["phrase"] for c in written["candidates"]] == [c["phrase"] for c in result["candidates"]]
    assert (tmp_path / "scan" / "scan.html").exists()


def test_mistakes_raise_value_errors(organism):
    model, _ = organism
    with pytest.raises(ValueError, match="bigrams"):
        scan(model, generate="latin,bigrams")
    with pytest.raises(ValueError, match="middle"):
        scan(model, candidates=["a b"], placement="middle")
