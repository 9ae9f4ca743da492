"""Train/val/test splits by patient group: no patient in two splits."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from cxr_model.errors import DataError
from cxr_model.training.build_summary import (
    DEFAULT_FRACTIONS,
    EXAMPLES_SHOWN,
    SPLITS,
    BuildSummary,
    Row,
    natural_key,
)


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(f) for f in fractions)
    if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values) or sum(values) <= 0:
        raise DataError(
            f"split fractions must be three non-negative numbers (train, val, "
            f"test) with a positive sum, not {tuple(fractions)!r}"
        )
    total = sum(values)
    return values[0] / total, values[1] / total, values[2] / total


def assign_splits(
    groups: dict[str, int], *, seed: int = 0, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> dict[str, str]:
    """Map each group (patient) to train/val/test, seeded, stratified by the group's label.

    ``groups`` maps a group key to its stratum (0/1). Within each stratum the sorted keys are
    shuffled with ``random.Random(seed)`` and cut at the cumulative fractions.
    """
    train, val, _test = check_fractions(fractions)
    rng = random.Random(seed)
    result: dict[str, str] = {}
    for stratum in sorted(set(groups.values())):
        keys = sorted((k for k, v in groups.items() if v == stratum), key=natural_key)
        rng.shuffle(keys)
        n = len(keys)
        cut_train, cut_val = round(n * train), round(n * (train + val))
        for index, key in enumerate(keys):
            result[key] = "train" if index < cut_train else "val" if index < cut_val else "test"
    return result


def split_rows(
    rows: list[Row], seed: int, fractions: Sequence[float], summary: BuildSummary
) -> None:
    """Fill ``row.split``: a group with a given split keeps it, others are assigned."""
    given: dict[str, set[str]] = {}
    for row in rows:
        if row.split:
            given.setdefault(row.group, set()).add(row.split)
    spanning = sorted((g for g, s in given.items() if len(s) > 1), key=natural_key)
    if spanning:
        summary.notes.append(
            f"{len(spanning)} patient(s) span splits in the labels file "
            f"(kept as given), e.g. {', '.join(spanning[:EXAMPLES_SHOWN])}"
        )
    strata: dict[str, int] = {}
    for row in rows:
        if row.group not in given:
            strata[row.group] = max(strata.get(row.group, 0), row.label)
    assigned = assign_splits(strata, seed=seed, fractions=fractions)
    for row in rows:
        if not row.split:
            row.split = (
                assigned[row.group]
                if row.group in assigned
                else sorted(given[row.group], key=SPLITS.index)[0]
            )
