"""Build and store the two result objects (SR + Secondary Capture) of one scored image."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
from pydicom import dcmread
from pydicom.dataset import Dataset

from cxr_model.dicom_files import instance_path, write_atomically
from cxr_model.dicom_results.identity import ModelIdentity
from cxr_model.dicom_results.sc import build_sc
from cxr_model.dicom_results.sr import build_sr
from cxr_model.errors import DataError
from cxr_model.imaging.reader import XrayImage
from cxr_model.inference.card import ModelCard
from cxr_model.inference.overlay import overlay_rgb
from cxr_model.inference.predictor import Prediction, scaled_heatmap
from cxr_model.vocabulary import Label


def read_source(path: Path) -> Dataset:
    """The source DICOM dataset of a result; DataError when the file is not DICOM."""
    try:
        return dcmread(path)
    except Exception as exc:
        raise DataError(f"not a readable DICOM file ({exc})", path) from exc


def result_objects(
    card: ModelCard, source: Dataset, image: XrayImage, prediction: Prediction
) -> list[Dataset]:
    """[SR, Secondary Capture] for one prediction of the model `card` describes, each in the
    source study, a new series. Needs no model session: the app builds them on any thread."""
    identity = ModelIdentity.of(card)
    try:
        sr = build_sr(source, prediction, identity, hd.UID(), hd.UID())
        heat = scaled_heatmap(prediction, Label.ABNORMAL, card.input_spec.size)
        sc = build_sc(source, overlay_rgb(image, heat), prediction, identity, hd.UID(), hd.UID())
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"cannot build the result objects from this image's header ({exc})", image.source
        ) from exc
    return [sr, sc]


def write_objects(objects: list[Dataset], out_dir: Path) -> list[Path]:
    """Store datasets as OUT/STUDY/SERIES/SOP.dcm; the paths written."""
    paths = []
    for ds in objects:
        path = instance_path(
            out_dir, (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        )
        try:
            paths.append(write_atomically(path, ds))
        except OSError as exc:
            raise DataError(f"cannot write the result ({exc.strerror or exc})", path) from exc
    return paths
