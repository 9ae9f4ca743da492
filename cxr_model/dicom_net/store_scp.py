"""The one C-STORE handler: the listener and our C-GET / C-MOVE receivers save each instance
under its validated UIDs and answer with a status the sender understands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydicom.dataset import Dataset
from pynetdicom.status import Status

from cxr_model.dicom_files import instance_uids, save_dataset
from cxr_model.errors import InvalidInstanceError

#: Storage service failure statuses we answer with (PS3.4 B.2.3).
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000

Stored = Callable[[Path, Dataset, tuple[str, str, str]], None]


class StoreHandler:
    """An `EVT_C_STORE` handler saving into `out_dir`.

    `stored(path, dataset, uids)` hears of each saved instance, `refused(line)` of each one
    refused (the line names the calling AE title and the reason, never patient data), and
    `cancelled()` true refuses the rest so that a retrieve ends quickly.
    """

    def __init__(
        self,
        out_dir: Path,
        stored: Stored,
        refused: Callable[[str], None],
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.stored, self.refused, self.cancelled = stored, refused, cancelled

    def __call__(self, event) -> int:
        if self.cancelled():
            return OUT_OF_RESOURCES
        calling = event.assoc.requestor.ae_title
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta  # as a saved file has it: its transfer syntax
            uids = instance_uids(ds)
            path = save_dataset(self.out_dir, ds, event.encoded_dataset())
        except InvalidInstanceError as exc:
            self.refused(f"refused an instance from {calling}: {exc}")
            return CANNOT_UNDERSTAND
        except OSError as exc:
            self.refused(
                f"cannot save an instance from {calling} in {self.out_dir} "
                f"({exc.strerror or exc}); check the free space and permissions"
            )
            return OUT_OF_RESOURCES
        except Exception as exc:  # a dataset that does not decode
            self.refused(f"refused a malformed instance from {calling}: {exc}")
            return CANNOT_UNDERSTAND
        self.stored(path, ds, uids)
        return Status.SUCCESS
