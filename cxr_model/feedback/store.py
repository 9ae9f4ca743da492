"""The verdicts database: what the radiologist said of each AI result, who said it and when.

Verdicts are only ever added: a changed verdict is a new row, the latest per image is the
current one and the earlier ones are its history. Several processes (two app windows and
`cxr feedback add`) may write at once: each verdict is one immediate transaction in a WAL
database, so writers queue and none is lost.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from cxr_model.inference.card import ModelCard
from cxr_model.inference.predictor import Prediction
from cxr_model.sqlite_db import connect, guarded, now, writing
from cxr_model.vocabulary import Reading, Truth

DB_NAME = "verdicts.sqlite"
ENV_DB = "CXR_FEEDBACK_DB"
APP_FOLDER = "cxr-desktop"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    image TEXT NOT NULL,
    sop_uid TEXT NOT NULL,
    study_uid TEXT NOT NULL,
    patient_key TEXT NOT NULL,
    truth TEXT NOT NULL,
    report TEXT NOT NULL,
    who TEXT NOT NULL,
    at TEXT NOT NULL,
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    ai_probability REAL,
    ai_label TEXT NOT NULL,
    ai_reading TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_by_subject ON verdicts (subject, id);
"""


def data_dir() -> Path:
    """The user's data folder for the app, by the platform's convention."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / APP_FOLDER


def default_db_path() -> Path:
    """`$CXR_FEEDBACK_DB`, else verdicts.sqlite in the user's data folder."""
    env = os.environ.get(ENV_DB)
    return Path(env) if env else data_dir() / DB_NAME


def current_user() -> str:
    """The OS user giving the verdict."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@dataclass(frozen=True)
class Verdict:
    """One verdict. `subject` names the image (its SOP Instance UID, else its path);
    `patient_key` is a SHA-256 of the patient ID (never the ID), for patient-disjoint splits."""

    subject: str
    image: str
    sop_uid: str
    study_uid: str
    patient_key: str
    truth: str
    report: str
    who: str
    at: str
    model: str
    model_version: str
    ai_probability: float | None
    ai_label: str
    ai_reading: str

    @property
    def ai_agrees(self) -> bool | None:
        """Whether the AI's label is the truth (None: not gradable, or the AI gave no label)."""
        if self.truth == Truth.UNGRADABLE or self.ai_reading == Reading.NO_LABEL:
            return None
        return self.ai_label == self.truth

    @property
    def summary(self) -> str:
        """ "abnormal (agrees)", "normal (disagrees)", or "ungradable"."""
        agrees = self.ai_agrees
        return self.truth + ("" if agrees is None else " (agrees)" if agrees else " (disagrees)")


_COLUMNS = tuple(f.name for f in fields(Verdict))


def make_verdict(
    image: Path,
    truth: Truth | str,
    meta: Mapping[str, str],
    card: ModelCard | None,
    prediction: Prediction | None,
    report: str = "",
    at: str = "",
) -> Verdict:
    """A verdict on `image` (header values `meta`) and the AI result it was shown."""
    path = str(Path(image).resolve())
    sop, study = meta.get("SOPInstanceUID", ""), meta.get("StudyInstanceUID", "")
    person = meta.get("PatientID", "") or study or path
    return Verdict(
        subject=sop or path,
        image=path,
        sop_uid=sop,
        study_uid=study,
        patient_key=hashlib.sha256(person.encode("utf-8")).hexdigest(),
        truth=str(Truth(truth)),
        report=report.strip(),
        who=current_user(),
        at=at or now(),
        model=card.name if card is not None else "",
        model_version=card.version if card is not None else "",
        ai_probability=None if prediction is None else float(prediction.probability),
        ai_label=prediction.label if prediction is not None else "",
        ai_reading=str(prediction.reading) if prediction is not None else Reading.NO_LABEL,
    )


class FeedbackStore:
    """The verdicts database at `path` (made on first use, 0600 in a 0700 folder)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.db = connect(self.path, _SCHEMA, create=True)

    def add(self, verdict: Verdict) -> None:
        """Keep one verdict (the current one for its image from now on)."""
        marks = ", ".join("?" * len(_COLUMNS))
        with writing(self.db, self.path) as db:
            db.execute(
                f"INSERT INTO verdicts ({', '.join(_COLUMNS)}) VALUES ({marks})", astuple(verdict)
            )

    def _select(self, where: str = "", params: Iterable = ()) -> list[Verdict]:
        with guarded(self.path):
            found = self.db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM verdicts {where} ORDER BY id", tuple(params)
            ).fetchall()
        return [Verdict(*row) for row in found]

    def current(self, since: str = "") -> list[Verdict]:
        """The latest verdict of each image, oldest first (only those given at/after `since`,
        an ISO date or time, when given)."""
        latest = "id IN (SELECT MAX(id) FROM verdicts GROUP BY subject)"
        if since:
            return self._select(f"WHERE {latest} AND at >= ?", (since,))
        return self._select(f"WHERE {latest}")

    def history(self) -> list[Verdict]:
        """Every verdict ever given, changed ones included, oldest first."""
        return self._select()

    def latest(self, subject: str) -> Verdict | None:
        """The current verdict on one image, or None."""
        found = self._select("WHERE subject = ?", (subject,))
        return found[-1] if found else None

    def by_study(self) -> dict[str, Verdict]:
        """The latest current verdict of each study (DICOM images only)."""
        return {v.study_uid: v for v in self.current() if v.study_uid}

    def close(self) -> None:
        self.db.close()


def verdicts_by_study(db: Path) -> dict[str, Verdict]:
    """The current verdict of each study in the database at `db` ({} when there is none:
    a reader never makes the file)."""
    if not Path(db).is_file():
        return {}
    store = FeedbackStore(db)
    try:
        return store.by_study()
    finally:
        store.close()
