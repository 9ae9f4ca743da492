"""`cxr dataset`: building a pairs CSV from an image folder or from Open-i XML reports."""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import tarfile
from collections import defaultdict
from pathlib import Path

import pytest

from cxr_model.cli.dataset import register, run
from cxr_model.errors import DataError
from cxr_model.text.report_cleaning import clean_report
from cxr_model.training.build_summary import (
    BAD_LABEL,
    DUPLICATE_UID,
    EMPTY_REPORT,
    LABEL_IMAGE_MISSING,
    MALFORMED_XML,
    NO_IMAGE,
    NOT_IN_LABELS,
    NOT_IN_TERMS,
    OUTPUT_COLUMNS,
    REFUSED_XML,
    BuildSummary,
)
from cxr_model.training.dataset import read_examples
from cxr_model.training.dataset_build import build_from_folder, build_from_openi
from cxr_model.training.openi import OpenIReport, openi_label, parse_openi_xml, read_openi_reports
from cxr_model.training.splits import assign_splits

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
OPENI_TGZ = DATA / "openi-reports.tgz"
IU_CSV = DATA / "iu-reports.csv"
PAIRS_CSV = DATA / "cxr-pairs" / "pairs.csv"
SAMPLE_JPEGS = sorted((ROOT / "resources" / "samples").glob("*.jpeg"))
TERMS = ["pneumonia", "opacity", "airspace disease", "consolidation", "infiltrate"]


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxr")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


# --------------------------------------------------------------------------- small XML


def openi_xml(
    uid: str, findings: str, impression: str, mesh: list[str], images: list[str]
) -> bytes:
    """A minimal document in the real Open-i layout."""
    majors = "".join(f"<major>{m}</major>" for m in mesh)
    parents = "".join(
        f'<parentImage id="{i}"><figureId>F1</figureId></parentImage>' for i in images
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<eCitation><uId id="{uid}"/>'
        f"<MedlineCitation><Article><Abstract>"
        f'<AbstractText Label="COMPARISON">None.</AbstractText>'
        f'<AbstractText Label="INDICATION">Cough.</AbstractText>'
        f'<AbstractText Label="FINDINGS">{findings}</AbstractText>'
        f'<AbstractText Label="IMPRESSION">{impression}</AbstractText>'
        f"</Abstract></Article></MedlineCitation><MeSH>{majors}</MeSH>{parents}"
        f"</eCitation>"
    ).encode()


LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b'<eCitation><uId id="CXR9"/><MeSH><major>&lol2;</major></MeSH></eCitation>'
)
EXTERNAL = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<eCitation><uId id="CXR8"/><MeSH><major>&x;</major></MeSH></eCitation>'
)


def write_tgz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_parse_openi_xml_and_label_rule() -> None:
    report = parse_openi_xml(
        openi_xml("CXR7", " Lungs\n  clear. ", "Normal.", ["normal"], ["CXR7_IM-0001-1001"])
    )
    assert report == OpenIReport(
        "CXR7", "<xml>", "Lungs clear.", "Normal.", ("normal",), ("CXR7_IM-0001-1001",)
    )
    assert report.text == "FINDINGS: Lungs clear.\nIMPRESSION: Normal."
    assert openi_label(["normal"]) == 0
    assert openi_label(["normal", "Opacity/lung"]) == 1
    assert openi_label(["Cardiomegaly"], TERMS) is None
    assert openi_label(["Airspace Disease/lung/base"], TERMS) == 1
    assert openi_label([]) is None
    for bad in (LAUGHS, EXTERNAL, b"<eCitation><uId id='x'></eCitation"):
        with pytest.raises(DataError):
            parse_openi_xml(bad, "bad.xml")


def test_clean_report_keeps_findings_and_impression() -> None:
    text = (
        "EXAM: Chest PA and lateral.\nINDICATION: cough\n\nFindings:  The lungs\n are  clear."
        "\nIMPRESSION:\n  No acute disease. \n"
    )
    assert clean_report(text) == "FINDINGS: The lungs are clear.\nIMPRESSION: No acute disease."
    assert (
        clean_report("COMPARISON: None. IMPRESSION: Normal chest.") == "IMPRESSION: Normal chest."
    )
    assert clean_report("INDICATION: cough\nFINDINGS:   \nIMPRESSION: ") == ""
    assert (
        clean_report("  Heart size: normal.\n Lungs clear. ") == "Heart size: normal. Lungs clear."
    )


def test_malformed_and_entity_xml_in_tgz_are_skipped(tmp_path: Path) -> None:
    jpeg = SAMPLE_JPEGS[0]
    images = tmp_path / "images"
    images.mkdir()
    for name in ("CXR1_IM-0001-1001.jpg", "CXR2_IM-0002-1001.jpeg", "CXR5_IM-0005-1001.png"):
        shutil.copy(jpeg, images / name)
    tgz = write_tgz(
        tmp_path / "reports.tgz",
        {
            "ecgen-radiology/1.xml": openi_xml(
                "CXR1", "Clear.", "Normal.", ["normal"], ["CXR1_IM-0001-1001"]
            ),
            "ecgen-radiology/2.xml": openi_xml(
                "CXR2", "Opacity.", "Pneumonia.", ["Pneumonia/lung"], ["CXR2_IM-0002-1001"]
            )[:-40],
            "ecgen-radiology/3.xml": LAUGHS,
            "ecgen-radiology/4.xml": EXTERNAL,
            "ecgen-radiology/5.xml": openi_xml(
                "CXR1", "Dup.", "Dup.", ["normal"], ["CXR5_IM-0005-1001"]
            ),
            "ecgen-radiology/readme.txt": b"not xml",
        },
    )
    summary = build_from_openi(tgz, images, tmp_path / "out" / "data.csv")
    assert summary.rows == 1
    assert summary.skipped[MALFORMED_XML][0].startswith("ecgen-radiology/2.xml")
    assert sorted(summary.skipped[REFUSED_XML]) == [
        "ecgen-radiology/3.xml",
        "ecgen-radiology/4.xml",
    ]
    assert summary.skipped[DUPLICATE_UID] == [
        "ecgen-radiology/5.xml (CXR1 also in ecgen-radiology/1.xml)"
    ]
    assert "XML refused" in summary.format()
    # The same files as a folder source.
    folder = tmp_path / "xml"
    with tarfile.open(tgz) as tar:
        tar.extractall(folder, filter="data")
    summary = build_from_openi(folder, images, tmp_path / "out2.csv")
    assert summary.rows == 1 and len(summary.skipped[REFUSED_XML]) == 2


def test_openi_errors(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    tgz = write_tgz(
        tmp_path / "r.tgz", {"a/1.xml": openi_xml("CXR1", "A.", "B.", ["normal"], ["CXR1_IM-1"])}
    )
    with pytest.raises(DataError, match="no such image folder"):
        build_from_openi(tgz, tmp_path / "nope", tmp_path / "o.csv")
    with pytest.raises(DataError, match="no such file or folder"):
        build_from_openi(tmp_path / "missing.tgz", images, tmp_path / "o.csv")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="not a tar archive"):
        build_from_openi(tmp_path / "notes.txt", images, tmp_path / "o.csv")
    truncated = tmp_path / "cut.tgz"
    truncated.write_bytes(tgz.read_bytes()[:60])
    with pytest.raises(DataError, match="cannot read the archive"):
        build_from_openi(truncated, images, tmp_path / "o.csv")
    with pytest.raises(DataError, match="no row to write.*no image found"):
        build_from_openi(tgz, images, tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()


# --------------------------------------------------------------------------- real Open-i


@pytest.fixture(scope="module")
def openi_tgz() -> Path:
    if not OPENI_TGZ.is_file():
        pytest.skip(f"real Open-i reports not found at {OPENI_TGZ} (clone beside ../shared/data)")
    return OPENI_TGZ


@pytest.fixture(scope="module")
def openi_reports(openi_tgz: Path) -> dict[str, OpenIReport]:
    summary = BuildSummary(out_csv=Path("unused.csv"), source="test")
    reports = read_openi_reports(openi_tgz, summary)
    assert summary.skipped == {}
    return {r.uid: r for r in reports}


def test_real_openi_known_reports(openi_reports: dict[str, OpenIReport]) -> None:
    assert len(openi_reports) == 3722
    cxr2 = openi_reports["CXR2"]
    assert cxr2.file == "ecgen-radiology/2.xml"
    assert cxr2.findings.startswith("Borderline cardiomegaly. Midline sternotomy XXXX.")
    assert cxr2.impression == "No acute pulmonary findings."
    assert cxr2.mesh_major == ("Cardiomegaly/borderline", "Pulmonary Artery/enlarged")
    assert cxr2.image_ids == ("CXR2_IM-0652-1001", "CXR2_IM-0652-2001")
    assert openi_label(cxr2.mesh_major) == 1 and openi_label(cxr2.mesh_major, TERMS) is None
    cxr245 = openi_reports["CXR245"]
    assert cxr245.impression == "1. Left upper lobe pneumonia."
    assert cxr245.mesh_major == (
        "Pneumonia/upper lobe/left",
        "Airspace Disease/lung/upper lobe/left",
    )
    assert openi_label(cxr245.mesh_major, TERMS) == 1
    assert openi_reports["CXR1"].impression == "Normal chest x-XXXX."
    assert openi_label(openi_reports["CXR1"].mesh_major) == 0
    # INDICATION / COMPARISON are not part of the report text.
    assert "INDICATION" not in cxr2.text and "None." not in cxr2.text
    assert openi_reports["CXR566"].text == "" and openi_reports["CXR566"].image_ids == ()
    assert sum(1 for r in openi_reports.values() if not r.text) == 28
    assert sum(1 for r in openi_reports.values() if not r.image_ids) == 102


def test_real_openi_agrees_with_iu_reports_csv(openi_reports: dict[str, OpenIReport]) -> None:
    if not IU_CSV.is_file():
        pytest.skip(f"{IU_CSV} not found")
    rows = {row["uid"]: row for row in read_rows(IU_CSV)}
    assert set(rows) == set(openi_reports)
    # The CSV's label is the same rule: normal iff every MeSH major tag is "normal".
    for uid, report in openi_reports.items():
        row = rows[uid]
        assert openi_label(report.mesh_major) == {"normal": 0, "abnormal": 1}[row["label"]], uid
        assert report.mesh_major == tuple(
            " ".join(t.split()) for t in row["mesh_major"].split(";")
        ), uid
        assert report.findings == " ".join(row["findings"].split()), uid
        assert report.impression == " ".join(row["impression"].split()), uid
    labels = [openi_label(r.mesh_major) for r in openi_reports.values()]
    assert (labels.count(0), labels.count(1)) == (1227, 2495)
    terms = [openi_label(r.mesh_major, TERMS) for r in openi_reports.values()]
    assert (terms.count(0), terms.count(1), terms.count(None)) == (1227, 505, 1990)
    if PAIRS_CSV.is_file():  # the abnormal reports of cxr-pairs are exactly these 505
        pairs_abnormal = {r["report_uid"] for r in read_rows(PAIRS_CSV) if r["label"] == "1"}
        assert pairs_abnormal == {
            u for u, r in openi_reports.items() if openi_label(r.mesh_major, TERMS) == 1
        }


def test_build_from_real_openi(
    openi_tgz: Path, openi_reports: dict[str, OpenIReport], tmp_path: Path
) -> None:
    reports = list(openi_reports.values())

    def pick(label: int | None, count: int, *, empty: bool = False) -> list[OpenIReport]:
        chosen = [
            r
            for r in reports
            if r.image_ids and bool(r.text) != empty and openi_label(r.mesh_major, TERMS) == label
        ]
        return chosen[:count]

    normal, pneumonia, other = pick(0, 10), pick(1, 6), pick(None, 2)
    empty = pick(0, 1, empty=True)
    series = [openi_reports[u] for u in ("CXR1074", "CXR1075", "CXR1076")]  # share IM-0054
    chosen = {r.uid: r for r in [*normal, *pneumonia, *other, *empty, *series]}
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    suffixes = [".jpg", ".jpeg", ".png"]
    stand_ins = sorted((DATA / "cxr-pairs" / "images").glob("*.jpeg"))[:5] or SAMPLE_JPEGS
    expected_images: dict[str, list[str]] = {}
    for n, report in enumerate(chosen.values()):
        ids = report.image_ids[:1] if n % 3 == 0 else report.image_ids  # some images missing
        expected_images[report.uid] = list(ids)
        for k, image_id in enumerate(ids):
            folder = images / "sub" if k else images
            shutil.copy(stand_ins[n % len(stand_ins)], folder / f"{image_id}{suffixes[n % 3]}")
    (images / "unrelated.jpg").write_bytes(stand_ins[0].read_bytes())

    out = tmp_path / "built" / "openi.csv"
    summary = build_from_openi(openi_tgz, images, out, abnormal_terms=TERMS, seed=3)
    kept = [r for r in chosen.values() if openi_label(r.mesh_major, TERMS) is not None]
    kept_text = [r for r in kept if r.text]
    assert summary.rows == sum(len(expected_images[r.uid]) for r in kept_text)
    assert len(summary.skipped[NOT_IN_TERMS]) == 1990
    assert summary.skipped[EMPTY_REPORT] == [empty[0].uid]
    assert len(summary.skipped[NO_IMAGE]) == 1227 + 505 - len(kept)
    assert set(summary.skipped) == {NOT_IN_TERMS, EMPTY_REPORT, NO_IMAGE}
    rows = read_rows(out)
    assert tuple(rows[0]) == OUTPUT_COLUMNS and len(rows) == summary.rows
    by_uid: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_uid[row["report_uid"]].append(row)
    assert set(by_uid) == {r.uid for r in kept_text}
    for uid, group in by_uid.items():
        report = chosen[uid]
        assert sorted(Path(g["image"]).stem for g in group) == sorted(expected_images[uid])
        assert {g["label"] for g in group} == {str(openi_label(report.mesh_major))}
        assert {g["report"] for g in group} == {report.text}
        assert {g["report_mesh"] for g in group} == {";".join(report.mesh_major)}
        assert len({g["split"] for g in group}) == 1, f"{uid} spans splits"
    splits_of_patient: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        splits_of_patient[row["patient_id"]].add(row["split"])
    assert all(len(s) == 1 for s in splits_of_patient.values())
    assert {
        by_uid[u][0]["patient_id"] for u in ("CXR1074", "CXR1075", "CXR1076") if u in by_uid
    } == {"IM-0054"}
    assert sum(sum(c.values()) for c in summary.per_split_label.values()) == summary.rows
    assert summary.per_split_label["train"][0] > 0 and summary.per_split_label["train"][1] > 0
    assert summary.reports_per_label == {
        0: sum(1 for r in kept_text if openi_label(r.mesh_major) == 0),
        1: sum(1 for r in kept_text if openi_label(r.mesh_major) == 1),
    }
    examples = read_examples(out)
    assert len(examples) == summary.rows and all(e.image.is_file() for e in examples)
    assert "no image found: " in summary.format()

    # Without terms every abnormal report counts; --keep-empty keeps the empty one.
    out2 = tmp_path / "all.csv"
    summary2 = build_from_openi(openi_tgz, images, out2, keep_empty=True)
    rows2 = read_rows(out2)
    assert summary2.rows == sum(len(v) for v in expected_images.values())
    assert {r["report"] for r in rows2 if r["report_uid"] == empty[0].uid} == {""}
    assert {r["label"] for r in rows2 if r["report_uid"] in {o.uid for o in other}} == {"1"}
    assert NOT_IN_TERMS not in summary2.skipped and EMPTY_REPORT not in summary2.skipped
    assert len(read_examples(out2, split="train")) > 0


# --------------------------------------------------------------------------- from-folder


@pytest.fixture()
def folder_source(tmp_path: Path) -> tuple[Path, Path]:
    """8 real X-ray JPEGs, reports in UTF-8/UTF-16/Latin-1 (one image without), labels."""
    images = tmp_path / "images"
    (images / "left").mkdir(parents=True)
    names = [f"p{p}_{k}.jpeg" for p in range(1, 5) for k in range(2)]
    for n, name in enumerate(names):
        folder = images / "left" if name == "p4_1.jpeg" else images
        shutil.copy(SAMPLE_JPEGS[n % len(SAMPLE_JPEGS)], folder / name)
    (images / "p1_0.txt").write_text(
        "INDICATION: cough\nFINDINGS: Lungs  clear.\nIMPRESSION: Normal chest.", encoding="utf-8"
    )
    (images / "p1_1.txt").write_text(
        "FINDINGS: Right lower lobe opacity.\r\nIMPRESSION: Pneumonia.", encoding="utf-16"
    )
    (images / "p2_0.txt").write_bytes(
        "FINDINGS: Opacit\xe9 basale.\nIMPRESSION: Infiltrate.".encode("latin-1")
    )
    (images / "p2_1.txt").write_text("No acute disease.", encoding="utf-8")
    (images / "p3_0.txt").write_text("COMPARISON: none", encoding="utf-8")  # empty once cleaned
    for name in ("p3_1", "p4_0"):
        (images / f"{name}.txt").write_text(f"IMPRESSION: report of {name}.", encoding="utf-8")
    # p4_1 (in left/) has no report.
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "image,label,patient_id\n"
        "p1_0.jpeg,normal,P1\np1_1.jpeg,Abnormal,P1\np2_0.jpeg,1,P2\np2_1.jpeg,0,P2\n"
        "p3_0.jpeg,normal,P3\np3_1.jpeg,maybe,P3\nleft/p4_1.jpeg,abnormal,P4\n"
        "ghost.jpeg,normal,P5\n",
        encoding="utf-8",
    )
    # p4_0.jpeg is not in the labels file.
    return images, labels


def test_build_from_folder(folder_source: tuple[Path, Path], tmp_path: Path) -> None:
    images, labels = folder_source
    out = tmp_path / "out" / "pairs.csv"
    summary = build_from_folder(images, labels, out, seed=1)
    rows = {Path(r["image"]).name: r for r in read_rows(out)}
    assert set(rows) == {
        "p1_0.jpeg",
        "p1_1.jpeg",
        "p2_0.jpeg",
        "p2_1.jpeg",
        "p3_0.jpeg",
        "p4_1.jpeg",
    }
    assert rows["p1_0.jpeg"]["report"] == "FINDINGS: Lungs clear.\nIMPRESSION: Normal chest."
    assert rows["p1_1.jpeg"]["report"] == (
        "FINDINGS: Right lower lobe opacity.\nIMPRESSION: Pneumonia."
    )
    assert rows["p2_0.jpeg"]["report"] == "FINDINGS: Opacit\xe9 basale.\nIMPRESSION: Infiltrate."
    assert rows["p2_1.jpeg"]["report"] == "No acute disease."
    assert rows["p3_0.jpeg"]["report"] == "" and rows["p4_1.jpeg"]["report"] == ""
    assert rows["p4_1.jpeg"]["image"] == "../images/left/p4_1.jpeg"
    assert {n: r["label"] for n, r in rows.items()} == {
        "p1_0.jpeg": "0",
        "p1_1.jpeg": "1",
        "p2_0.jpeg": "1",
        "p2_1.jpeg": "0",
        "p3_0.jpeg": "0",
        "p4_1.jpeg": "1",
    }
    assert summary.rows == 6 and summary.missing_reports == 1 and summary.empty_reports == 2
    assert summary.skipped == {
        NOT_IN_LABELS: ["p4_0.jpeg"],
        LABEL_IMAGE_MISSING: ["ghost.jpeg"],
        BAD_LABEL: ["p3_1.jpeg ('maybe')"],
    }
    for patient in ("P1", "P2"):
        assert len({r["split"] for r in rows.values() if r["patient_id"] == patient}) == 1
    text = summary.format()
    assert "wrote 6 row(s)" in text and "ghost.jpeg" in text and "1 image(s) had no report" in text
    assert len(read_examples(out)) == 6

    # Seeded: the same seed gives the same file; seeds change the assignment.
    again = tmp_path / "again.csv"
    build_from_folder(images, labels, again, seed=1)
    assert [r["split"] for r in read_rows(again)] == [r["split"] for r in read_rows(out)]
    assigned = set()
    for seed in range(8):
        build_from_folder(images, labels, again, seed=seed)
        assigned.add(tuple(r["split"] for r in read_rows(again)))
    assert len(assigned) > 1


def test_folder_given_splits_and_patient_integrity(tmp_path: Path) -> None:
    images = tmp_path / "img"
    images.mkdir()
    lines = ["image,label,split,patient_id"]
    for n in range(60):
        name = f"im{n:02d}.jpeg"
        shutil.copy(SAMPLE_JPEGS[n % len(SAMPLE_JPEGS)], images / name)
        split = "test" if n < 3 else ""  # patient Q0 (images 0-2) is given test
        lines.append(f"{name},{n % 2},{split},Q{n // 3}")
    lines.append("extra.jpeg,1,holdout,Q99")
    shutil.copy(SAMPLE_JPEGS[0], images / "extra.jpeg")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = build_from_folder(images, tmp_path / "labels.csv", tmp_path / "o.csv", seed=5)
    rows = read_rows(tmp_path / "o.csv")
    by_patient: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        by_patient[row["patient_id"]].add(row["split"])
    assert all(len(s) == 1 for s in by_patient.values())
    assert by_patient["Q0"] == {"test"}
    per_split = {
        s: sum(1 for v in by_patient.values() if v == {s}) for s in ("train", "val", "test")
    }
    assert per_split == {"train": 13, "val": 3, "test": 1 + 3}  # 19 assigned 70/15/15 + Q0
    assert summary.skipped == {"split is not train/val/test": ["extra.jpeg ('holdout')"]}


def test_assign_splits_fractions_and_determinism() -> None:
    groups = {f"g{n}": n % 2 for n in range(200)}
    first = assign_splits(groups, seed=7)
    assert first == assign_splits(groups, seed=7) != assign_splits(groups, seed=8)
    counts = {s: list(first.values()).count(s) for s in ("train", "val", "test")}
    assert counts == {"train": 140, "val": 30, "test": 30}
    assert assign_splits(groups, fractions=(1, 0, 0)) == dict.fromkeys(groups, "train")
    with pytest.raises(DataError, match="fractions"):
        assign_splits(groups, fractions=(0.5, -0.5, 1))


def test_folder_errors(folder_source: tuple[Path, Path], tmp_path: Path) -> None:
    images, labels = folder_source
    with pytest.raises(DataError, match="no such image folder") as info:
        build_from_folder(tmp_path / "missing", labels, tmp_path / "o.csv")
    assert info.value.file == str(tmp_path / "missing")
    with pytest.raises(DataError, match="no such labels file"):
        build_from_folder(images, tmp_path / "nolabels.csv", tmp_path / "o.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,diagnosis\nx,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column"):
        build_from_folder(images, bad, tmp_path / "o.csv")
    bad.write_bytes(b"image,label\n\xff\xfe\x00bad,1\n")
    with pytest.raises(DataError, match="cannot read the labels file"):
        build_from_folder(images, bad, tmp_path / "o.csv")
    blocker = tmp_path / "regular-file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="cannot write the output") as info:
        build_from_folder(images, labels, blocker / "sub" / "o.csv")
    assert info.value.file == str(blocker / "sub" / "o.csv")
    with pytest.raises(DataError, match="is a folder"):
        build_from_folder(images, labels, tmp_path)
    with pytest.raises(DataError, match="overwrite an input"):
        build_from_folder(images, labels, labels)
    readonly = tmp_path / "ro"
    readonly.mkdir(mode=0o555)
    with pytest.raises(DataError, match="read-only"):
        build_from_folder(images, labels, readonly / "o.csv")
    assert not (readonly / "o.csv").exists()


# --------------------------------------------------------------------------- command line


def test_run_through_argparse(
    folder_source: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, labels = folder_source
    parser = make_parser()
    out = tmp_path / "cli.csv"
    args = parser.parse_args(
        [
            "dataset",
            "from-folder",
            str(images),
            "--labels",
            str(labels),
            "--out",
            str(out),
            "--seed",
            "2",
            "--fractions",
            "70,15,15",
        ]
    )
    assert args.fractions == pytest.approx((0.7, 0.15, 0.15))
    assert run(args) == 0
    captured = capsys.readouterr()
    assert "wrote 6 row(s)" in captured.out and captured.err == ""
    assert len(read_rows(out)) == 6

    args = parser.parse_args(
        [
            "dataset",
            "from-folder",
            str(tmp_path / "missing"),
            "--labels",
            str(labels),
            "--out",
            str(out),
        ]
    )
    assert run(args) == 2
    captured = capsys.readouterr()
    assert "no such image folder" in captured.err and captured.out == ""

    tgz = write_tgz(
        tmp_path / "r.tgz",
        {
            "x/1.xml": openi_xml(
                "CXR1", "Opacity.", "Pneumonia.", ["Pneumonia/lung"], ["CXR1_IM-0001-1001"]
            )
        },
    )
    shutil.copy(SAMPLE_JPEGS[0], images / "CXR1_IM-0001-1001.jpg")
    args = parser.parse_args(
        [
            "dataset",
            "from-openi",
            str(tgz),
            "--images",
            str(images),
            "--out",
            str(tmp_path / "o.csv"),
            "--abnormal-terms",
            "pneumonia, opacity",
            "--keep-empty",
        ]
    )
    assert args.abnormal_terms == ["pneumonia", "opacity"] and args.keep_empty
    assert run(args) == 0
    assert read_rows(tmp_path / "o.csv")[0]["label"] == "1"
    for bad in (["--fractions", "a,b"], ["--abnormal-terms", " , "]):
        with pytest.raises(SystemExit):
            parser.parse_args(
                ["dataset", "from-openi", str(tgz), "--images", str(images), "--out", "o.csv", *bad]
            )
