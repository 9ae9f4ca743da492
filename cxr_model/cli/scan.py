"""`cxr scan`: score every image of a folder into a CSV or parquet, row by row, resumable.

`--engine local` (default) scores on this machine; `--engine ray` on a Ray cluster
(`cxr_model.cluster`, the optional `cluster` extra), with the same rows.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Protocol

from cxr_model.cli.common import EXIT_NETWORK, add_quiet, fail
from cxr_model.errors import ClusterError, CXRError
from cxr_model.inference.router import ModelSet
from cxr_model.inference.scan import (
    RESULT_FIELDS,
    CsvSink,
    ScanPlan,
    csv_values,
    plan_scan,
    scan,
    scored_files,
)
from cxr_model.progress import progress
from cxr_model.vocabulary import Engine, choices

_RAY_ONLY = ("address", "actors", "actor_cpus", "verbose")


def _cluster(module: str, what: str) -> ModuleType:
    """`cxr_model.cluster.<module>`, or a clear error when the `cluster` extra is missing."""
    try:
        return importlib.import_module(f"cxr_model.cluster.{module}")
    except ImportError as exc:
        raise CXRError(
            f"{what} needs the cluster extra: pip install 'cxr-desktop[cluster]' ({exc})"
        ) from None


class Sink(Protocol):
    """Where rows go: CsvSink or cxr_model.cluster.parquet.ParquetSink."""

    def add(self, row: dict) -> None: ...

    def close(self) -> None: ...


def open_output(out: Path) -> tuple[set[str], Sink]:
    """The files already scored in `out` and a sink that appends to it (CSV, or a parquet
    folder when the name ends in .parquet)."""
    if out.suffix.lower() == ".parquet":
        parquet = _cluster("parquet", "parquet output")
        return parquet.scored_parquet(out), parquet.ParquetSink(out)
    return scored_files(out), CsvSink(out)


def engine_rows(args: argparse.Namespace, model: ModelSet, plan: ScanPlan) -> Iterator[dict]:
    """The rows of the chosen engine, as they finish."""
    if args.engine == Engine.LOCAL:
        return scan(model, plan, batch_size=args.batch_size or 8)
    engine = _cluster("engine", "--engine ray")
    return engine.ray_scan(
        model,
        plan,
        address=args.address,
        actors=args.actors,
        actor_cpus=1.0 if args.actor_cpus is None else args.actor_cpus,
        batch_size=args.batch_size or engine.BATCH_SIZE,
        verbose=bool(args.verbose),
    )


def ray_output(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """Ray's own log lines off stderr for the ray engine, unless --verbose."""
    if args.engine != Engine.RAY or args.verbose:
        return contextlib.nullcontext()
    return _cluster("quiet", "--engine ray").ray_output_off()


def run(args: argparse.Namespace, model: ModelSet) -> int:
    ray_only = [
        f"--{name.replace('_', '-')}" for name in _RAY_ONLY if getattr(args, name) is not None
    ]
    if ray_only and args.engine != Engine.RAY:
        return fail(f"{', '.join(ray_only)} needs --engine ray")
    folder = Path(args.folder)
    out = Path(args.out) if args.out else None
    counts = {"scored": 0, "errors": 0}
    sink = None
    try:
        skip, sink = open_output(out) if out else (set(), None)
        stdout = None if sink else csv.writer(sys.stdout)
        if stdout:
            stdout.writerow(RESULT_FIELDS)
        plan = plan_scan(folder, args.recursive, skip)
        total = len(plan.files) + len(plan.unreadable)
        with ray_output(args), contextlib.closing(engine_rows(args, model, plan)) as rows:
            for row in progress(rows, total=total, desc="scan", quiet=args.quiet):
                counts["errors" if row["error"] else "scored"] += 1
                if sink:
                    sink.add(row)
                else:
                    stdout.writerow(csv_values(row))
                    sys.stdout.flush()
                if row["error"]:
                    print(f"cxr: {row['error']}", file=sys.stderr)
    except ClusterError as exc:
        return fail(exc, EXIT_NETWORK)
    except CXRError as exc:
        return fail(exc)
    finally:
        if sink:
            sink.close()
    summary = f"scanned {counts['scored']} image(s), {counts['errors']} error(s)"
    print(f"{summary}, {len(skip)} already in {out}" if out else summary, file=sys.stderr)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("scan", help="score every image of a folder")
    s.add_argument("folder")
    s.add_argument(
        "--out",
        metavar="FILE.csv|FILE.parquet",
        help="append rows here (default: stdout); .parquet writes a folder of parts",
    )
    s.add_argument("--recursive", action="store_true")
    s.add_argument(
        "--batch-size",
        type=_positive,
        metavar="N",
        help="images per forward pass (default: 8 local, 32 ray)",
    )
    s.add_argument(
        "--engine",
        choices=choices(Engine),
        default=Engine.LOCAL,
        help="local: this machine (default); ray: a Ray cluster (cluster extra)",
    )
    ray = s.add_argument_group("ray engine (docs/cluster.md)")
    ray.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster to use, e.g. HEAD:6379 or auto (default: start a "
        "local Ray for this scan)",
    )
    ray.add_argument(
        "--actors",
        type=int,
        metavar="N",
        help="model actors (default: as many as fit, one CPU kept for reading)",
    )
    ray.add_argument(
        "--actor-cpus",
        type=float,
        metavar="C",
        help="CPUs (and inference threads) per actor (default: 1)",
    )
    ray.add_argument(
        "--verbose",
        action="store_true",
        default=None,  # None: not given, so that --verbose alone asks for --engine ray
        help="Ray's own log lines and the workers' output on stderr (default: off)",
    )
    add_quiet(s)
    s.set_defaults(handler=run, needs_model=True)
