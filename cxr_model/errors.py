"""Error types of the CXR core. Every failure a user can cause is one of these."""

from __future__ import annotations

from pathlib import Path


class CXRError(Exception):
    """Base of all project errors: carries the file (if any) and a human reason."""

    def __init__(self, reason: str, file: str | Path | None = None) -> None:
        self.reason = reason
        self.file = str(file) if file is not None else None
        super().__init__(f"{self.file}: {reason}" if self.file else reason)


class RefusedError(CXRError):
    """A file refused for a reason a person reads; `cxr_model.files.read_guarded` re-raises it
    as the caller's own error type (image or report), naming the file."""


class ImageReadError(CXRError):
    """An image file could not be read (missing, corrupt, unsupported, too large...)."""


class ReportReadError(CXRError):
    """A report text file could not be read or decoded."""


class ModelError(CXRError):
    """The model files are missing, tampered with, or inconsistent."""


class DataError(CXRError):
    """A dataset CSV / folder is malformed."""


class ClusterError(CXRError):
    """A Ray cluster cannot be reached, is too small for the scan, or failed it."""


class NetworkError(CXRError):
    """A node could not be reached or refused the request (CLI exit 4)."""


class CancelledError(CXRError):
    """The user cancelled a retrieve; the instances already saved stay."""


class InvalidInstanceError(CXRError):
    """A received dataset that cannot be stored safely (bad or missing UIDs)."""


class SkippedError(CXRError):
    """One item of a data set build is left out for `reason` (`detail` goes into the example)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


class StoreError(CXRError):
    """An SQLite store (the worklist, the verdicts) is corrupt, locked, or cannot be written."""
