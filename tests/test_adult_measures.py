"""The adult model's measures: figures within each view with bootstrap intervals and the
view-only reference, the site-shift re-renderings, `cxr evaluate --by/--shifts --record`, the
labels columns kept by `cxr dataset from-folder`, view-balanced sampling and the per-image
intensity mapping a card may ask for."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cxr_model.imaging.preprocess import (
    InputSpec,
    equalise,
    match_histogram,
    preprocess,
    reference_levels,
)
from cxr_model.imaging.reader import read_image, read_image_bytes

torch = pytest.importorskip("torch", reason="training needs the train extra")

from cxr_model.cli import main  # noqa: E402
from cxr_model.errors import DataError  # noqa: E402
from cxr_model.training.dataset import read_column  # noqa: E402
from cxr_model.training.dataset_build import build_from_folder  # noqa: E402
from cxr_model.training.input_mapping import mapped, with_reference  # noqa: E402
from cxr_model.training.sampling import balance_weights, epoch_order  # noqa: E402
from cxr_model.training.shift_eval import SHIFTS, render  # noqa: E402
from cxr_model.training.site_shift import site_shift  # noqa: E402
from cxr_model.training.subgroups import (  # noqa: E402
    bootstrap_auc,
    group_only_auc,
    subgroup_figures,
)
from cxr_model.training.train import augment  # noqa: E402

ADULT = "adult-nih-512"


def test_bootstrap_interval_holds_the_auc_and_narrows_with_more_studies():
    rng = np.random.default_rng(0)
    small_y = rng.integers(0, 2, 40)
    small_s = small_y + rng.normal(0, 1.0, 40)
    low, high = bootstrap_auc(small_y, small_s, rounds=500)
    from cxr_model.training.metrics import roc_auc

    assert low < roc_auc(small_y, small_s) < high
    big_y = rng.integers(0, 2, 400)
    big_s = big_y + rng.normal(0, 1.0, 400)
    big_low, big_high = bootstrap_auc(big_y, big_s, rounds=500)
    assert big_high - big_low < high - low
    assert np.isnan(bootstrap_auc(np.zeros(5), np.arange(5.0))[0])


def test_group_only_auc_is_what_the_group_alone_ranks():
    labels = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    views = ["PA", "PA", "PA", "PA", "AP", "AP", "AP", "AP"]
    # PA is 3/4 abnormal, AP 1/4: 12 of 16 pairs ordered by view, none tied across views
    # except pairs inside one view (counted half)
    assert group_only_auc(labels, views) == pytest.approx((9 + 0.5 * (3 + 3)) / 16)
    assert group_only_auc(labels, ["x"] * 8) == 0.5


def test_subgroup_figures_split_by_view():
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    scores = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.6, 0.4])
    views = ["AP", "AP", "AP", "AP", "PA", "PA", "PA", "PA"]
    section = subgroup_figures(labels, scores, views, 0.5, "view")
    assert section["within"]["AP"]["auc"] == 1.0 and section["within"]["AP"]["n"] == 4
    assert section["within"]["PA"]["auc"] == 0.75
    assert section["within"]["PA"]["sensitivity"] == 0.5
    assert section["within"]["PA"]["specificity"] == 0.5
    assert section["group_only_auc"] == 0.5
    low, high = section["overall"]["auc_ci95"]
    assert low <= section["overall"]["auc"] <= high


def test_each_shift_renders_a_readable_changed_file(sample_images):
    image = read_image(sample_images[0])
    base = image.to_unit()
    for shift in SHIFTS:
        data, suffix = render(image, shift)
        back = read_image_bytes(data, "shifted" + suffix)
        if shift.side is not None:
            assert max(back.original_size) == shift.side
            assert suffix == ".jpg"
            continue
        assert back.original_size == image.original_size
        change = np.abs(back.to_unit() - base).mean()
        if shift.name == "none":
            assert change < 1 / 255  # an 8-bit copy of the original
        else:
            assert change > 0.01, shift.name


def test_equalise_maps_monotone_grey_changes_to_the_same_image(sample_images):
    unit = read_image(sample_images[1]).to_unit()
    flat = equalise(unit)
    assert flat.min() == 0.0 and flat.max() == 1.0
    assert np.abs(equalise(unit**0.7) - flat).mean() < 0.01
    assert np.abs(equalise(unit**1.4) - flat).mean() < 0.01
    spec = InputSpec(size=64, intensity="equalise")
    assert spec.to_dict()["intensity"] == "equalise"
    assert "intensity" not in InputSpec().to_dict()  # older cards stay byte-identical
    window = preprocess(read_image(sample_images[1]), InputSpec(size=64))
    equalised = preprocess(read_image(sample_images[1]), spec)
    assert equalised.shape == window.shape and not np.allclose(equalised, window)
    with pytest.raises(ValueError, match="unknown input intensity"):
        InputSpec(intensity="zscore")


def test_match_maps_every_grey_look_onto_the_reference(sample_images):
    unit = read_image(sample_images[1]).to_unit()
    reference = reference_levels([unit, read_image(sample_images[0]).to_unit()])
    assert len(reference) == 33 and list(reference) == sorted(reference)
    matched = match_histogram(unit, reference)
    own = reference_levels([unit])
    assert np.abs(match_histogram(unit, own) - unit).mean() < 0.02  # its own look: unchanged
    darker = unit**1.4  # another site's look, mapped back onto this one's
    assert np.abs(darker - unit).mean() > 0.05
    assert np.abs(match_histogram(darker, own) - unit).mean() < 0.02
    for exponent in (0.7, 1.4):  # a site's look does not survive the mapping
        assert np.abs(match_histogram(unit**exponent, reference) - matched).mean() < 0.01
    spec = InputSpec(size=64, intensity="match", reference=reference)
    again = InputSpec(**json.loads(json.dumps(spec.to_dict())))  # through the card
    assert again.intensity == "match" and np.allclose(again.reference, reference, atol=1e-5)
    with pytest.raises(ValueError, match="needs a reference"):
        preprocess(read_image(sample_images[1]), InputSpec(size=64, intensity="match"))
    with pytest.raises(ValueError, match="rising grey levels"):
        InputSpec(intensity="match", reference=(0.6, 0.2))


def test_training_maps_grey_levels_after_the_site_shift(sample_images):
    spec = InputSpec(size=64, intensity="equalise")
    window = replace(spec, intensity="window")
    batch = torch.from_numpy(
        np.stack([preprocess(read_image(p), window) for p in sample_images[:2]])
    )
    # what the network sees at inference: the mapping applied to the window-domain image
    expected = torch.from_numpy(
        np.stack([preprocess(read_image(p), spec) for p in sample_images[:2]])
    )
    assert torch.allclose(mapped(batch, spec), expected, atol=1e-5)
    assert mapped(batch, window) is batch
    fitted = with_reference(replace(spec, intensity="match"), batch)
    assert fitted.reference and with_reference(fitted, batch * 0) is fitted  # kept once set
    # inside augment the site shift comes first, on the window-domain batch, then the mapping
    ours, theirs = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    shifted = mapped(site_shift(batch, theirs, window), spec)
    assert torch.equal(augment(batch, ours, spec), augment(shifted, theirs))
    ours, theirs = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    assert torch.equal(augment(batch, ours, spec, site=False), augment(mapped(batch, spec), theirs))


def test_balance_weights_draw_every_view_and_label_equally():
    views = ["AP"] * 6 + ["PA"] * 2
    labels = torch.tensor([0, 0, 0, 0, 0, 1, 1, 0], dtype=torch.float32)
    weights = balance_weights(views, labels)
    cells = {"AP0": [0, 1, 2, 3, 4], "AP1": [5], "PA1": [6], "PA0": [7]}
    for index in cells.values():
        assert float(weights[index].sum()) == pytest.approx(1.0)
    draws = torch.cat(
        [epoch_order(8, torch.Generator().manual_seed(s), weights) for s in range(300)]
    )
    assert (draws == 5).float().mean() == pytest.approx(0.25, abs=0.03)
    plain = epoch_order(8, torch.Generator().manual_seed(0))
    assert sorted(plain.tolist()) == list(range(8))


@pytest.fixture(scope="module")
def adult_pairs(shared_data, tmp_path_factory) -> Path:
    """A small pairs CSV of real adult X-rays (val split only) with their view kept."""
    source = shared_data / ADULT
    if not (source / "labels.csv").is_file():
        pytest.skip(f"{ADULT} not found in {shared_data}")
    folder = tmp_path_factory.mktemp("adult")
    images = folder / "images"
    images.mkdir()
    with open(source / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "val"]
    picked = [r for r in rows if r["view"] == "AP"][:6] + [r for r in rows if r["view"] == "PA"][:6]
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in picked:
            writer.writerow(row)
            shutil.copy(source / "images" / row["filename"], images / row["filename"])
    out = folder / "pairs.csv"
    build_from_folder(images, folder / "labels.csv", out, keep_columns=("view", "Age"))
    return out


def test_from_folder_keeps_the_given_split_and_columns(adult_pairs):
    with open(adult_pairs, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["split"] for r in rows} == {"val"}
    assert [r["view"] for r in rows] == read_column(adult_pairs, "val", "view")
    assert sorted({r["view"] for r in rows}) == ["AP", "PA"]
    assert all(18 <= int(r["age"]) <= 100 for r in rows)
    with pytest.raises(DataError, match="no column 'sex'"):
        read_column(adult_pairs, "val", "sex")
    labels = adult_pairs.parent / "labels.csv"
    with pytest.raises(DataError, match="weight .not in the labels file.*"):
        build_from_folder(adult_pairs.parent / "images", labels, "x.csv", keep_columns=["weight"])
    with pytest.raises(DataError, match="split .an output column already"):
        build_from_folder(adult_pairs.parent / "images", labels, "x.csv", keep_columns=["split"])


def test_evaluate_by_view_and_shifts_records_into_the_card(
    adult_pairs, fixture_model_dir, tmp_path, capsys
):
    model_dir = tmp_path / "model"
    shutil.copytree(fixture_model_dir, model_dir)
    args = ["--model", str(model_dir), "evaluate", "--data", str(adult_pairs), "--split", "val"]
    assert main([*args, "--by", "view", "--shifts", "--record", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "view-only predictor: AUC" in printed and "500 px JPEG q75" in printed
    card = json.loads((model_dir / "model_card.json").read_text())
    views = card["by_view"]["measured"]["val"]
    assert set(views["within"]) == {"AP", "PA"}
    assert views["within"]["AP"]["n"] == views["within"]["PA"]["n"] == 6
    rows = card["shifts"]["measured"]["val"]["rows"]
    assert list(rows) == [s.name for s in SHIFTS]
    assert rows["none"]["auc_change"] == 0.0
    for row in rows.values():
        assert row["n"] == 12 and 0 <= row["flagged"] <= 12
        assert 0.0 <= row["specificity"] <= 1.0
    assert main([*args, "--by", "sex", "--quiet"]) == 2
    assert "no column 'sex'" in capsys.readouterr().err


def test_train_options_of_the_adult_model_reach_its_card(shared_data, tmp_path, fixture_model_dir):
    """--balance view, --intensity equalise, --population and --name, end to end: the card
    asks for the intensity mapping and the model applies it at inference."""
    from cxr_model.inference.card import load_card
    from cxr_model.inference.predictor import load_model

    adult = shared_data / "adult-nih-64"
    site = tmp_path / "site.csv"
    build_from_folder(adult / "images", adult / "labels.csv", site, seed=0, keep_columns=["view"])
    population = tmp_path / "population.json"
    population.write_text(json.dumps({"sites": ["NIH"], "trained_at_one_site": True}))
    args = ["train", "--init", str(fixture_model_dir), "--data", str(site)]
    args += ["--out", str(tmp_path / "run"), "--epochs", "1", "--limit", "32"]
    args += ["--batch-size", "16", "--age-range", "18-100", "--balance", "view"]
    args += ["--intensity", "equalise", "--population", str(population)]
    assert main([*args, "--name", "adult test model", "--quiet"]) == 0
    card = load_card(tmp_path / "run" / "model")
    assert card.data["name"] == "adult test model"
    assert card.input_spec.intensity == "equalise"
    assert card.data["population"]["sites"] == ["NIH"]
    assert card.data["population"]["age_years"] == [18.0, 101.0]
    assert card.data["training"]["config"]["balance"] == "view"
    model = load_model(tmp_path / "run" / "model")
    image = read_image(adult / "images" / "00000002_000.png")
    assert np.allclose(
        model.prepare(image).array, preprocess(image, card.input_spec)
    ) and not np.allclose(
        model.prepare(image).array, preprocess(image, InputSpec(size=card.input_spec.size))
    )
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(SystemExit):
        main([*args, "--population", str(bad)])
