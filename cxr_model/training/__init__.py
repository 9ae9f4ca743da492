"""Training and evaluation (needs the `train` extra: torch): network, data sets, export."""
