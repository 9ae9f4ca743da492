"""DICOM files below the network and the result writers: names from validated UIDs only,
written atomically, private (folders 0700, files 0600)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite

from cxr_model.errors import InvalidInstanceError
from cxr_model.files import private_folder

_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def valid_uid(value: object) -> str | None:
    """The UID if it is a well-formed DICOM UID (digits and dots, at most 64), else None."""
    text = str(value) if value is not None else ""
    return text if 0 < len(text) <= 64 and _UID.match(text) else None


def instance_uids(ds: Dataset) -> tuple[str, str, str]:
    """(study, series, SOP instance) UIDs of a dataset, validated; else InvalidInstanceError."""
    uids = []
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        try:
            raw = ds.get(keyword)
        except Exception as exc:  # an element that does not decode
            raise InvalidInstanceError(f"{keyword} cannot be read ({exc})") from exc
        uid = valid_uid(raw)
        if uid is None:
            shown = repr(str(raw))[:80] if raw is not None else "missing"
            raise InvalidInstanceError(f"{keyword} is not a valid UID ({shown})")
        uids.append(uid)
    return uids[0], uids[1], uids[2]


def instance_path(out_dir: Path, uids: tuple[str, str, str]) -> Path:
    """`OUT/STUDY/SERIES/SOP.dcm`: every part a validated UID, so it stays inside OUT."""
    study, series, sop = uids
    return Path(out_dir) / study / series / f"{sop}.dcm"


def write_atomically(
    path: Path, data: bytes | Dataset, file_meta: FileMetaDataset | None = None
) -> Path:
    """Write bytes (a Part 10 file) or a dataset to `path` (mode 0600, new folders 0700) via a
    temporary file and rename, so a killed process never leaves a half-written instance under
    its final name."""
    private_folder(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes | bytearray | memoryview):
                fh.write(data)
            else:
                if file_meta is not None:
                    data.file_meta = file_meta
                dcmwrite(fh, data, enforce_file_format=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_dataset(out_dir: Path, ds: Dataset, encoded: bytes | None = None) -> Path:
    """Store a received dataset under its validated UIDs (the encoded file when given)."""
    path = instance_path(out_dir, instance_uids(ds))
    return write_atomically(path, encoded if encoded is not None else ds)
