"""What runs inside each Ray actor: one model, loaded once, scoring batches of file bytes."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import pyarrow as pa
import ray

from cxr_model.assembly import use_backend
from cxr_model.cluster.schema import rows_table
from cxr_model.errors import CXRError
from cxr_model.inference.card import CARD_NAME, ModelCard
from cxr_model.inference.router import load_models
from cxr_model.inference.scan import ScanInput, load_study, score_batch


def pack_models(cards: Sequence[ModelCard]) -> dict[str, dict[str, bytes]]:
    """Each model folder's card and weight files as bytes, by folder name, to ship to the
    actors (their SHA-256 is checked again when an actor loads them)."""
    return {
        card.short_name: {
            name: (card.directory / name).read_bytes() for name in [CARD_NAME, *card.data["files"]]
        }
        for card in cards
    }


class ScanActor:
    """A Ray Data callable class: `__init__` loads the model once per actor, `__call__` turns
    a batch of `read_binary_files(include_paths=True)` rows into result rows.

    `model` is the object-store reference of `pack_models`' folders: one is forced for every
    image, several choose per image as on the driver. `folder` is the scanned
    folder as an absolute path (the paths Ray reads); `shown` is the same folder as the user
    wrote it, so that names and messages match the local engine's.
    """

    def __init__(
        self, model: ray.ObjectRef, backend: str, threads: int, folder: str, shown: str
    ) -> None:
        with tempfile.TemporaryDirectory(prefix="cxr-model-") as directory:
            packed = ray.get(model)
            for model_name, files in packed.items():
                (Path(directory) / model_name).mkdir()
                for name, data in files.items():
                    (Path(directory) / model_name / name).write_bytes(data)
            use_backend(backend)
            chosen = Path(directory) / next(iter(packed)) if len(packed) == 1 else directory
            self.model = load_models(chosen, backend=backend, threads=threads)
        self.folder = Path(folder)
        self.shown = Path(shown)

    def __call__(self, batch: pa.Table) -> pa.Table:
        names = [
            Path(p).relative_to(self.folder).as_posix() for p in batch.column("path").to_pylist()
        ]
        data = batch.column("bytes")
        studies = [
            (name, partial(self._load, name, data[i].as_py())) for i, name in enumerate(names)
        ]
        return rows_table(score_batch(self.model, studies))

    def _load(self, name: str, data: bytes) -> ScanInput:
        """`load_study` on the bytes Ray read; errors name the file as the user wrote it."""
        try:
            return load_study(self.model, self.folder / name, data)
        except CXRError as exc:
            if exc.file is None:
                raise
            shown = self.shown / Path(exc.file).relative_to(self.folder)
            raise type(exc)(exc.reason, shown) from exc
