"""Where the router sends X-rays without tags: the `test` images of adult-nih-512 (adults) and
of cxr-pairs (children) as files with no age, so the population detectors decide.

    python -m benchmarks.routing [--models DIR]   (default: resources/models)

Prints, per set, how many images each model answered and the wall time (both models run on
every image without an age). Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import DATA, PAIRS_CSV, ROOT, THREADS, cpu_model
from cxr_model.inference.router import load_models

ADULT = DATA / "adult-nih-512"
BATCH = 16


def test_images() -> dict[str, list[Path]]:
    """The `test` split of each population, as paths."""
    with open(ADULT / "labels.csv", newline="", encoding="utf-8") as fh:
        adults = [
            ADULT / "images" / r["filename"] for r in csv.DictReader(fh) if r["split"] == "test"
        ]
    with open(PAIRS_CSV, newline="", encoding="utf-8") as fh:
        children = [
            PAIRS_CSV.parent / r["image"] for r in csv.DictReader(fh) if r["split"] == "test"
        ]
    return {"adult-nih-512 test": adults, "cxr-pairs test (children)": children}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "resources" / "models")
    args = parser.parse_args()
    models = load_models(args.models, threads=THREADS)
    print(
        f"models: {', '.join(m.card.label for m in models.models)} ({models.precision}); "
        f"CPU {cpu_model()}, {THREADS} threads"
    )
    for name, paths in test_images().items():
        started, answered = time.perf_counter(), Counter()
        for start in range(0, len(paths), BATCH):
            images = [models.read(path) for path in paths[start : start + BATCH]]
            for prediction in models.predict_batch(images, [None] * len(images)):
                answered[prediction.model.split(" ")[0]] += 1
        elapsed = time.perf_counter() - started
        print(f"{name} (n = {len(paths)}): {dict(answered)}; {elapsed:.1f} s")


if __name__ == "__main__":
    main()
