"""Cleaning a report to ``FINDINGS: ...\nIMPRESSION: ...`` (other sections dropped)."""

from __future__ import annotations

import re

_KEPT_SECTIONS = {
    "finding": "FINDINGS",
    "findings": "FINDINGS",
    "impression": "IMPRESSION",
    "impressions": "IMPRESSION",
}
_OTHER_SECTIONS = (
    "indication",
    "indications",
    "comparison",
    "comparisons",
    "history",
    "clinical history",
    "technique",
    "examination",
    "exam",
    "procedure",
    "reason for exam",
    "clinical information",
    "conclusion",
    "conclusions",
    "recommendation",
    "recommendations",
    "summary",
    "addendum",
)
_HEADER = re.compile(
    r"(?:^|(?<=[.;]) )[ \t]*("
    + "|".join(
        sorted((re.escape(n) for n in [*_KEPT_SECTIONS, *_OTHER_SECTIONS]), key=len, reverse=True)
    )
    + r")[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)


def collapse(text: str | None) -> str:
    """Whitespace runs (newlines included) as single spaces, ends stripped."""
    return " ".join((text or "").split())


def format_report(findings: str | None, impression: str | None) -> str:
    """``FINDINGS: ...\\nIMPRESSION: ...`` with whitespace collapsed; empty sections omitted."""
    parts = [
        f"{name}: {text}"
        for name, text in (("FINDINGS", collapse(findings)), ("IMPRESSION", collapse(impression)))
        if text
    ]
    return "\n".join(parts)


def clean_report(text: str) -> str:
    """Clean a free-text report: keep FINDINGS and IMPRESSION, collapse whitespace.

    Section headers (``FINDINGS:``, ``Impression:``, ``INDICATION:``...) are recognised at
    the start of a line or after a sentence. Text with no recognised header at all is kept
    whole (whitespace collapsed); otherwise only FINDINGS and IMPRESSION survive.
    """
    matches = list(_HEADER.finditer(text))
    if not matches:
        return collapse(text)
    sections: dict[str, list[str]] = {"FINDINGS": [], "IMPRESSION": []}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        name = _KEPT_SECTIONS.get(" ".join(match.group(1).lower().split()))
        if name is not None:
            sections[name].append(text[match.end() : end])
    return format_report(" ".join(sections["FINDINGS"]), " ".join(sections["IMPRESSION"]))
