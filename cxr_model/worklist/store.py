"""The worklist of a listener's folder: one SQLite row per study received, written by the
listener as instances are scored, read by the app and `cxr worklist` while it writes.

A study received again (another image, or the same one re-sent) stays one row: its shown
result is the instance that ranks first for triage. The file names patients: mode 0600.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread

from cxr_model.imaging.dicom_meta import header_values, patient_age_years
from cxr_model.inference.predictor import Prediction
from cxr_model.sqlite_db import connect, guarded, now, writing
from cxr_model.vocabulary import OodReason, Reading

WORKLIST_NAME = "worklist.sqlite"
RESULTS_NAME = "results.csv"  # the listener's CSV beside it (a worklist starts from it)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    sop_uid TEXT PRIMARY KEY,
    study_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    image TEXT NOT NULL,
    received TEXT NOT NULL,
    view TEXT NOT NULL,
    model TEXT NOT NULL,
    probability REAL,
    reading TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_by_study ON instances (study_uid);
CREATE TABLE IF NOT EXISTS studies (
    study_uid TEXT PRIMARY KEY,
    received TEXT NOT NULL,
    patient TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    age_years REAL,
    sex TEXT NOT NULL,
    accession TEXT NOT NULL,
    images INTEGER NOT NULL,
    sop_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    image TEXT NOT NULL,
    view TEXT NOT NULL,
    model TEXT NOT NULL,
    probability REAL,
    reading TEXT NOT NULL,
    reason TEXT NOT NULL
);
"""

#: Triage rank of each reading: abnormal first, then uncertain, normal, no label.
_RANK = {Reading.ABNORMAL: 0, Reading.UNCERTAIN: 1, Reading.NORMAL: 2, Reading.NO_LABEL: 3}


@dataclass(frozen=True)
class WorklistRow:
    """One study of the worklist; `image` is the shown instance, relative to the folder."""

    study_uid: str
    received: str
    patient: str
    patient_id: str
    age_years: float | None
    sex: str
    accession: str
    images: int
    sop_uid: str
    series_uid: str
    image: str
    view: str
    model: str
    probability: float | None
    reading: str
    reason: str

    @property
    def label_text(self) -> str:
        """ "abnormal", "uncertain", "normal", or "no label: why"; a flag after a label."""
        if self.reading == Reading.NO_LABEL:
            return f"no label: {self.reason}" if self.reason else "no label"
        return f"{self.reading} ({self.reason})" if self.reason else str(self.reading)

    @property
    def age_sex(self) -> str:
        """ "4 y F", "7 mo M", or what of it the header said."""
        age = ""
        if self.age_years is not None:
            age = (
                f"{self.age_years:.0f} y"
                if self.age_years >= 2
                else f"{self.age_years * 12:.0f} mo"
            )
        return " ".join(p for p in (age, self.sex) if p)

    def triage_key(self) -> tuple:
        """Sort key: abnormal by descending P, then uncertain, normal, no label (scored
        before not scored); ties newest first."""
        return (*_rank(self.reading, self.probability), tuple(-ord(c) for c in self.received))


def _rank(reading: str, probability: float | None) -> tuple:
    return (_RANK.get(reading, len(_RANK)), probability is None, -(probability or 0.0))


def triage_order(rows: list[WorklistRow]) -> list[WorklistRow]:
    """The rows in triage order (see `WorklistRow.triage_key`)."""
    return sorted(rows, key=WorklistRow.triage_key)


def reading_reason(prediction: Prediction | None, error: str | None) -> tuple[str, str]:
    """(reading, reason): why there is no label, or what a kept label is flagged for."""
    if prediction is None:
        return Reading.NO_LABEL, error or "not scored"
    flag = ""
    if prediction.ood_reason == OodReason.AGE:
        age = prediction.patient_age
        flag = "outside the model's age range" + (f" ({age:.0f} years)" if age else "")
    elif prediction.ood_reason == OodReason.IMAGE:
        flag = "image unlike the training X-rays"
    return prediction.reading, "; ".join(part for part in (flag, error) if part)


def _patient_values(meta: Mapping[str, str], old: Mapping | None) -> tuple:
    """(patient, patient_id, age_years, sex, accession) from this header, else as stored."""
    new = {
        "patient": meta.get("PatientName", "").replace("^", " ").strip(),
        "patient_id": meta.get("PatientID", ""),
        "age_years": patient_age_years(meta),
        "sex": meta.get("PatientSex", ""),
        "accession": meta.get("AccessionNumber", ""),
    }
    return tuple(
        value if value not in ("", None) or old is None else old[key] for key, value in new.items()
    )


class Worklist:
    """The worklist database of a listener folder. `create=False` (readers) never makes one:
    a folder without it is a StoreError."""

    def __init__(self, folder: Path, create: bool = False) -> None:
        self.folder = Path(folder)
        self.path = self.folder / WORKLIST_NAME
        new = create and not self.path.exists()
        self.db = connect(self.path, _SCHEMA, create=create)
        if new:
            backfill(self)

    def record(
        self,
        image: str,
        uids: tuple[str, str, str],
        meta: Mapping[str, str],
        model: str,
        prediction: Prediction | None = None,
        error: str | None = None,
    ) -> None:
        """Add or replace one scored (or not scored) instance, `image` relative to the folder."""
        reading, reason = reading_reason(prediction, error)
        probability = None if prediction is None else float(prediction.probability)
        self.add(image, uids, meta, model if prediction is not None else "", probability,
                 reading, reason)  # fmt: skip

    def add(
        self,
        image: str,
        uids: tuple[str, str, str],
        meta: Mapping[str, str],
        model: str,
        probability: float | None,
        reading: str,
        reason: str,
        received: str = "",
    ) -> None:
        """Add or replace one instance and update its study's row, in one transaction."""
        study_uid, series_uid, sop_uid = uids
        received = received or now()
        with writing(self.db, self.path) as db:
            db.execute(
                "INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sop_uid,
                    study_uid,
                    series_uid,
                    image,
                    received,
                    meta.get("ViewPosition", ""),
                    model,
                    probability,
                    str(reading),
                    reason,
                ),
            )
            instances = db.execute(
                "SELECT * FROM instances WHERE study_uid = ?", (study_uid,)
            ).fetchall()
            best = min(instances, key=lambda r: _rank(r["reading"], r["probability"]))
            old = db.execute("SELECT * FROM studies WHERE study_uid = ?", (study_uid,)).fetchone()
            patient = _patient_values(meta, old)
            db.execute(
                "INSERT OR REPLACE INTO studies VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    study_uid,
                    received,
                    *patient,
                    len(instances),
                    best["sop_uid"],
                    best["series_uid"],
                    best["image"],
                    best["view"],
                    best["model"],
                    best["probability"],
                    best["reading"],
                    best["reason"],
                ),
            )

    def rows(self) -> list[WorklistRow]:
        """Every study, in triage order."""
        with guarded(self.path):
            found = self.db.execute("SELECT * FROM studies").fetchall()
        return triage_order([WorklistRow(**dict(row)) for row in found])

    def close(self) -> None:
        self.db.close()


def _csv_reading(row: Mapping[str, str]) -> tuple[float | None, str, str]:
    """(probability, reading, reason) of a results.csv row (the listener's columns)."""
    if not row.get("probability"):
        return None, Reading.NO_LABEL, row.get("error") or "not scored"
    if row.get("ood_reason") == OodReason.AGE:
        return float(row["probability"]), Reading.NO_LABEL, "outside the model's age range"
    reading = Reading.UNCERTAIN if row.get("uncertain") == "true" else Reading(row["label"])
    flag = "image unlike the training X-rays" if row.get("ood_reason") == OodReason.IMAGE else ""
    return float(row["probability"]), reading, "; ".join(p for p in (flag, row["error"]) if p)


def backfill(worklist: Worklist) -> int:
    """Fill a new worklist from the folder's results.csv (a folder a listener wrote before it
    kept a worklist): each row's instance header, its result, the file's time as received.
    Rows whose instance is gone are left out. Returns the instances added."""
    csv_path = worklist.folder / RESULTS_NAME
    if not csv_path.is_file():
        return 0
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if r.get("sop_uid") and r.get("file")]
    except (OSError, UnicodeDecodeError, csv.Error):
        return 0  # the listener says what is wrong with its CSV; the worklist starts empty
    count = 0
    for row in rows:
        path = worklist.folder / row["file"]
        try:
            meta = header_values(dcmread(path, stop_before_pixels=True))
            received = dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone()
            values = _csv_reading(row)
        except Exception:  # a file gone or unreadable: left out, as documented
            continue
        uids = (row["study_uid"], row["series_uid"], row["sop_uid"])
        worklist.add(row["file"], uids, meta, "", *values, received.isoformat(timespec="seconds"))
        count += 1
    return count


def read_worklist(folder: Path) -> list[WorklistRow]:
    """The worklist of `folder` in triage order (StoreError when it has none or is damaged)."""
    worklist = Worklist(folder)
    try:
        return worklist.rows()
    finally:
        worklist.close()
