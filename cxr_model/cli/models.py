"""`cxr models`: the installed models (or the one --model names), each loaded and checked:
name and version, population, ages, the figures measured on `test`, the precision that runs."""

from __future__ import annotations

import argparse
import json

from cxr_model.assembly import use_backend
from cxr_model.cli.common import EXIT_NO_MODEL, fail
from cxr_model.errors import ModelError
from cxr_model.inference.card import ModelCard
from cxr_model.inference.router import ModelSet, load_models

#: Figures of the card's measured `test` metrics that the listing shows, per head.
FIGURES = ("auc", "recall", "specificity", "ece", "n")


def ages_text(card: ModelCard) -> str:
    """The card's age range as a person reads it ([1, 6) -> "1 to 5 years")."""
    ages = card.age_range
    if ages is None:
        return "not stated"
    low, high = ages
    upper = f"{high - 1:g}" if float(high).is_integer() else f"under {high:g}"
    return f"{low:g} to {upper} years"


def measured(card: ModelCard, split: str = "test") -> dict:
    """The recorded figures of the image and fused heads on `split` ({} when not measured)."""
    metrics = card.measured(split)
    return {
        head: {k: metrics[head][k] for k in FIGURES if k in metrics[head]}
        for head in ("image", "fused")
        if head in metrics
    }


def model_entries(model_set: ModelSet) -> list[dict]:
    """One entry per model folder, usable ones first, as JSON-ready dicts."""
    entries = [
        {
            "name": model.card.short_name,
            "version": model.card.version,
            "model": model.card.label,
            "usable": True,
            "folder": str(model.card.directory),
            "population": model.card.data.get("population", {}).get("summary"),
            "ages": ages_text(model.card),
            "age_years": model.card.data.get("population", {}).get("age_years"),
            "population_detector": model.card.population_threshold is not None,
            "demo": model.card.is_demo,
            "measured_test": measured(model.card),
            "precision": model.precision,
        }
        for model in model_set.models
    ]
    entries += [
        {"name": u.directory.name, "usable": False, "folder": str(u.directory), "reason": u.reason}
        for u in model_set.unusable
    ]
    return entries


def _figures(heads: dict) -> str:
    if not heads:
        return "not measured on test"
    parts = []
    for head, figures in heads.items():
        shown = ", ".join(f"{k} {v}" if k == "n" else f"{k} {v:.3f}" for k, v in figures.items())
        parts.append(f"{head}: {shown}")
    return "; ".join(parts)


def describe(entry: dict) -> str:
    """The lines of one entry."""
    if not entry["usable"]:
        return f"{entry['name']}: UNUSABLE ({entry['reason']})"
    lines = [
        f"{entry['model']}: {entry['precision']}{' (untrained demo)' if entry['demo'] else ''}",
        f"  population: {entry['population'] or 'not stated'}",
        f"  ages: {entry['ages']}"
        + ("" if entry["population_detector"] else "; no population detector"),
        f"  measured on test: {_figures(entry['measured_test'])}",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        use_backend(args.backend)
        model_set = load_models(args.model, backend=args.backend, precision=args.precision)
    except ModelError as exc:
        return fail(exc, EXIT_NO_MODEL)
    entries = model_entries(model_set)
    if args.json:
        print(json.dumps(entries, indent=2))
    else:
        print("\n".join(describe(entry) for entry in entries))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the installed models and whether each is usable")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(handler=run, needs_model=False)
