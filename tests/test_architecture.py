"""The layering the import-linter contracts do not cover: no import cycle between modules or
between subpackages (imports inside functions included), and no module over 500 lines."""

from __future__ import annotations

from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (the dev extra)")

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cxr_model", "cxr_desktop")
MAX_LINES = 500


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES)


def ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def test_cycle_finder_finds_a_cycle() -> None:
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_module_cycle(graph) -> None:
    edges = {
        m: {x for x in graph.find_modules_directly_imported_by(m) if ours(x)}
        for m in graph.modules
        if ours(m)
    }
    assert strongly_connected(edges) == []


def test_no_subpackage_cycle(graph) -> None:
    """cxr_model.dicom_net and cxr_model.dicom_results, say, may not import each other."""

    def group(module: str) -> str:
        return ".".join(module.split(".")[:2])

    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if not ours(module):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if ours(imported) and group(imported) not in (group(module), imported.split(".")[0]):
                edges.setdefault(group(module), set()).add(group(imported))
    assert strongly_connected(edges) == []


def test_no_module_over_500_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
