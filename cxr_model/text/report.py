"""Reading a radiology report text file: size limit, encodings, binary files refused."""

from __future__ import annotations

import os

from cxr_model.errors import RefusedError, ReportReadError
from cxr_model.files import fspath, open_binary, read_guarded, stat_regular

#: Largest report text file accepted by :func:`read_report`.
MAX_REPORT_BYTES: int = 5 * 1024 * 1024


def read_report(path: str | os.PathLike[str]) -> str:
    """Read a radiology report text file and return its text, newlines normalised, stripped.

    UTF-8 (with or without BOM) and UTF-16/UTF-32 with BOM are decoded; other bytes fall back
    to cp1252, then latin-1. Files over :data:`MAX_REPORT_BYTES` and binary files are refused
    with :class:`ReportReadError`; nothing else escapes.
    """
    try:
        source = fspath(path)
    except Exception:
        raise ReportReadError(f"not a file path: {path!r}") from None
    return read_guarded(
        source,
        lambda: _read_report(source),
        ReportReadError,
        action="read the report",
        corrupt="cannot read report",
    )


def _read_report(source: str) -> str:
    st = stat_regular(source)
    if st.st_size > MAX_REPORT_BYTES:
        raise RefusedError(
            f"report is {st.st_size / 2**20:.1f} MB, over the {MAX_REPORT_BYTES / 2**20:g} MB limit"
        )
    with open_binary(source) as fh:
        data = fh.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise RefusedError(f"report is over the {MAX_REPORT_BYTES / 2**20:g} MB limit")
    text = _decode_report(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def _decode_report(data: bytes) -> str:
    boms = (
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    )
    for bom, codec in boms:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise RefusedError(
                    f"report is not valid {codec.upper()} text ({exc.reason})"
                ) from None
            if "\x00" in text:
                raise RefusedError("not a text file: contains binary data")
            return text
    if b"\x00" in data:
        raise RefusedError("not a text file: contains binary data (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or ch == "\x7f")
    if text and controls / len(text) > 0.05:
        raise RefusedError("not a text file: contains binary data")
    return text
