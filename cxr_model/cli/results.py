"""`cxr results`: the AI result of one DICOM image as DICOM objects (SR + Secondary Capture)
in its study, ready to send to a PACS."""

from __future__ import annotations

import argparse
from pathlib import Path

from cxr_model.cli.common import fail
from cxr_model.cli.pacs import writable_folder
from cxr_model.cli.predict import report_argument
from cxr_model.errors import CXRError
from cxr_model.inference.router import ModelSet


def run(args: argparse.Namespace, model: ModelSet) -> int:
    from cxr_model.dicom_results.write import read_source, result_objects, write_objects

    image_path = Path(args.image)
    try:
        source = read_source(image_path)
        image = model.read(image_path)
        prediction = model.predict(image, report_argument(args.report, image_path))
        paths = write_objects(
            result_objects(model.card_for(prediction), source, image, prediction),
            writable_folder(Path(args.out)),
        )
    except CXRError as exc:
        return fail(exc)
    for path in paths:
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("results", help="write the SR + Secondary Capture of one DICOM image")
    p.add_argument("image", metavar="IMAGE.dcm")
    p.add_argument("--report", help="report file or text (default: IMAGE's .txt if present)")
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="written as DIR/STUDY_UID/SERIES_UID/SOP_UID.dcm",
    )
    p.set_defaults(handler=run, needs_model=True)
