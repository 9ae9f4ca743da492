"""The order in which stage 1 draws training examples: shuffled, or weighted so that every
(group, label) cell, e.g. view x label, is drawn equally often (`cxr train --balance`)."""

from __future__ import annotations

import torch


def balance_weights(groups: list[str], labels: torch.Tensor) -> torch.Tensor:
    """Sampling weights that draw every (group, label) cell equally often."""
    cells = [f"{g}|{int(y)}" for g, y in zip(groups, labels.tolist(), strict=True)]
    counts = {cell: cells.count(cell) for cell in set(cells)}
    return torch.tensor([1.0 / counts[cell] for cell in cells], dtype=torch.float64)


def epoch_order(
    n: int, generator: torch.Generator, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """One epoch's example order: a permutation, or n weighted draws with replacement."""
    if weights is None:
        return torch.randperm(n, generator=generator)
    return torch.multinomial(weights, n, replacement=True, generator=generator)
