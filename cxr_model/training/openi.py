"""Open-i radiology reports: XML parsing (defusedxml), labels from MeSH, archives read in
place, and the grouping of reports that share an image series (likely one patient)."""

from __future__ import annotations

import re
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from cxr_model.errors import DataError, SkippedError
from cxr_model.text.report_cleaning import collapse, format_report
from cxr_model.training.build_summary import (
    DUPLICATE_UID,
    MALFORMED_XML,
    REFUSED_XML,
    UNREADABLE_XML,
    BuildSummary,
    natural_key,
)

#: Image suffixes looked up for an Open-i ``parentImage`` id, in order of preference.
OPENI_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".dcm")
#: Largest Open-i XML file parsed (real ones are about 5 kB).
MAX_XML_BYTES = 2 * 1024 * 1024
IM_SERIES = re.compile(r"IM-\d+")


@dataclass(frozen=True)
class OpenIReport:
    """One Open-i radiology report as parsed from its XML file."""

    uid: str
    file: str
    findings: str
    impression: str
    mesh_major: tuple[str, ...]
    image_ids: tuple[str, ...]

    @property
    def text(self) -> str:
        """The cleaned report (``FINDINGS: ...\\nIMPRESSION: ...``; may be empty)."""
        return format_report(self.findings, self.impression)


def parse_openi_xml(data: bytes, name: str = "<xml>") -> OpenIReport:
    """Parse one Open-i XML document; raise :class:`DataError` when it is unusable.

    Documents declaring a DOCTYPE or entities are refused by defusedxml (no entity
    expansion, no external resources).
    """
    try:
        return _parse_openi(data, name)
    except SkippedError as exc:
        raise DataError(f"{exc.reason}{': ' + exc.detail if exc.detail else ''}", name) from None


def _parse_openi(data: bytes, name: str) -> OpenIReport:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise SkippedError(REFUSED_XML) from None
    except SafeET.ParseError as exc:
        raise SkippedError(MALFORMED_XML, str(exc)) from None
    except (ValueError, RecursionError) as exc:
        raise SkippedError(MALFORMED_XML, type(exc).__name__) from None
    uid_el = root.find("uId")
    uid = (uid_el.get("id") if uid_el is not None else None) or ""
    uid = uid.strip() or PurePosixPath(name).stem
    sections: dict[str, list[str]] = {"FINDINGS": [], "IMPRESSION": []}
    for element in root.iter("AbstractText"):
        label = (element.get("Label") or "").strip().upper()
        if label in sections:
            sections[label].append("".join(element.itertext()))
    mesh = tuple(
        t for t in (collapse("".join(e.itertext())) for e in root.findall("MeSH/major")) if t
    )
    images = tuple(i for i in ((e.get("id") or "").strip() for e in root.iter("parentImage")) if i)
    return OpenIReport(
        uid=uid,
        file=name,
        findings=collapse(" ".join(sections["FINDINGS"])),
        impression=collapse(" ".join(sections["IMPRESSION"])),
        mesh_major=mesh,
        image_ids=tuple(dict.fromkeys(images)),
    )


def openi_label(
    mesh_major: Sequence[str], abnormal_terms: Sequence[str] | None = None
) -> int | None:
    """0 when every MeSH major tag is ``normal``, else 1; None when the report is unusable.

    None means no MeSH major tag, or (with ``abnormal_terms``) an abnormal report none of
    whose tags contains one of the terms (case-insensitive substring).
    """
    if not mesh_major:
        return None
    if all(tag.strip().lower() == "normal" for tag in mesh_major):
        return 0
    if abnormal_terms:
        terms = [t.lower() for t in abnormal_terms]
        if not any(term in tag.lower() for tag in mesh_major for term in terms):
            return None
    return 1


def _iter_xml(source: Path) -> Iterator[tuple[str, bytes | SkippedError]]:
    """(name, bytes or a skip) for every ``*.xml`` of a tar archive, XML file or folder."""
    if source.is_dir():
        for path in sorted(source.rglob("*.xml"), key=lambda p: natural_key(str(p))):
            if path.name.startswith("._") or not path.is_file():
                continue
            name = path.relative_to(source).as_posix()
            try:
                size = path.stat().st_size
                if size > MAX_XML_BYTES:
                    yield name, SkippedError(UNREADABLE_XML, f"{size} bytes, over the limit")
                    continue
                yield name, path.read_bytes()
            except OSError as exc:
                yield name, SkippedError(UNREADABLE_XML, exc.strerror or str(exc))
        return
    if source.suffix.lower() == ".xml":
        try:
            yield source.name, source.read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read the XML file ({exc.strerror or exc})", source) from exc
        return
    try:
        with tarfile.open(source, "r:*") as tar:
            for member in tar:
                base = PurePosixPath(member.name).name
                if not member.isfile() or not base.lower().endswith(".xml"):
                    continue
                if base.startswith("._"):
                    continue
                if member.size > MAX_XML_BYTES:
                    yield (
                        member.name,
                        SkippedError(UNREADABLE_XML, f"{member.size} bytes, over the limit"),
                    )
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    yield member.name, SkippedError(UNREADABLE_XML, "not a regular archive member")
                    continue
                with handle:
                    yield member.name, handle.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read the archive ({exc})", source) from exc


def read_openi_reports(
    reports_source: str | Path, summary: BuildSummary | None = None
) -> list[OpenIReport]:
    """Every parseable report of a ``.tgz``/``.tar``, ``.xml`` file or folder of Open-i XML.

    Unusable files (malformed, DOCTYPE/ENTITY, duplicate uid) are recorded in ``summary``
    (when given) and left out. Raises :class:`DataError` when the source cannot be read or
    holds no XML file at all.
    """
    source = Path(reports_source)
    if not source.exists():
        raise DataError(
            "no such file or folder (expected a .tgz of Open-i XML or a folder)", source
        )
    if source.is_file() and source.suffix.lower() != ".xml" and not _is_tar(source):
        raise DataError("not a tar archive, .xml file or folder of Open-i XML reports", source)
    reports: list[OpenIReport] = []
    seen: dict[str, str] = {}
    files = 0
    for name, data in _iter_xml(source):
        files += 1
        try:
            if isinstance(data, SkippedError):
                raise data
            report = _parse_openi(data, name)
            if report.uid in seen:
                raise SkippedError(DUPLICATE_UID, f"{report.uid} also in {seen[report.uid]}")
        except SkippedError as exc:
            if summary is not None:
                summary.skip(exc.reason, f"{name} ({exc.detail})" if exc.detail else name)
            continue
        seen[report.uid] = name
        reports.append(report)
    if files == 0:
        raise DataError("no Open-i XML report (*.xml) found", source)
    return sorted(reports, key=lambda r: natural_key(r.uid))


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read the archive ({exc})", path) from exc


def openi_groups(reports: Iterable[OpenIReport]) -> dict[str, str]:
    """uid -> group key: reports sharing an ``IM-NNNN`` series (likely one patient) merge."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = key
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[key] != root:
            parent[key], key = root, parent[key]
        return root

    for report in reports:
        node = "uid:" + report.uid
        find(node)
        for image_id in report.image_ids:
            for series in IM_SERIES.findall(image_id):
                a, b = find(node), find("im:" + series)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # "im:" < "uid:": a series names the group
    return {key[4:]: find(key).split(":", 1)[1] for key in list(parent) if key.startswith("uid:")}
