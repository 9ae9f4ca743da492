"""`cxr dataset from-folder|from-openi`: build a training CSV and say what was skipped."""

from __future__ import annotations

import argparse

from cxr_model.cli.common import fail
from cxr_model.errors import CXRError, DataError
from cxr_model.training.build_summary import DEFAULT_FRACTIONS
from cxr_model.training.dataset_build import build_from_folder, build_from_openi
from cxr_model.training.splits import check_fractions


def _fractions_arg(value: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in value.split(","))
        return check_fractions(parts)
    except (ValueError, DataError) as exc:
        raise argparse.ArgumentTypeError(
            f"expected train,val,test fractions such as 0.7,0.15,0.15, not {value!r}"
        ) from exc


def _terms_arg(value: str) -> list[str]:
    terms = [t.strip() for t in value.split(",") if t.strip()]
    if not terms:
        raise argparse.ArgumentTypeError("give at least one term, comma-separated")
    return terms


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``dataset`` with ``from-folder`` and ``from-openi``."""
    parser = sub.add_parser(
        "dataset",
        help="build a training CSV from an image folder or Open-i XML reports",
        description="Build a training CSV (pairs.csv format) and print what was skipped.",
    )
    sources = parser.add_subparsers(dest="dataset_source", required=True, metavar="SOURCE")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", required=True, help="CSV to write (image paths relative to it)")
        p.add_argument("--seed", type=int, default=0, help="seed of the split assignment")
        p.add_argument(
            "--fractions",
            type=_fractions_arg,
            default=DEFAULT_FRACTIONS,
            help="train,val,test fractions when the source gives no split (default 0.7,0.15,0.15)",
        )

    folder = sources.add_parser(
        "from-folder", help="images with same-stem .txt reports plus a labels CSV"
    )
    folder.add_argument("images", help="folder of images (and their same-stem .txt reports)")
    folder.add_argument(
        "--labels",
        required=True,
        help="CSV with image, label (0/1 or normal/abnormal), optional split, patient_id",
    )
    folder.add_argument(
        "--keep-columns",
        type=_terms_arg,
        default=(),
        metavar="COLUMNS",
        help="comma-separated columns of the labels file to copy into the CSV (e.g. view,age: "
        "for `cxr train --balance` and `cxr evaluate --by`)",
    )
    common(folder)
    openi = sources.add_parser("from-openi", help="Open-i XML reports plus an image folder")
    openi.add_argument(
        "reports",
        help="Open-i reports: .tgz/.tar of ecgen-radiology/*.xml, or a folder of XML files",
    )
    openi.add_argument(
        "--images",
        required=True,
        help="folder of images named <parentImage id>.png/.jpg/.jpeg/.dcm",
    )
    openi.add_argument(
        "--abnormal-terms",
        type=_terms_arg,
        default=None,
        help="comma-separated MeSH terms; abnormal reports without one are "
        "skipped (e.g. pneumonia,opacity,airspace disease,"
        "consolidation,infiltrate)",
    )
    openi.add_argument(
        "--keep-empty",
        action="store_true",
        help="keep reports whose FINDINGS and IMPRESSION are both empty",
    )
    common(openi)
    parser.set_defaults(handler=run, needs_model=False)


def run(args: argparse.Namespace) -> int:
    """Run ``cxr dataset``: print the summary; 0 on success, 2 on bad input."""
    try:
        if args.dataset_source == "from-folder":
            summary = build_from_folder(
                args.images,
                args.labels,
                args.out,
                seed=args.seed,
                fractions=args.fractions,
                keep_columns=args.keep_columns,
            )
        else:
            summary = build_from_openi(
                args.reports,
                args.images,
                args.out,
                abnormal_terms=args.abnormal_terms,
                keep_empty=args.keep_empty,
                seed=args.seed,
                fractions=args.fractions,
            )
    except CXRError as exc:
        return fail(exc)
    print(summary.format())
    return 0
