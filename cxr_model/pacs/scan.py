"""`cxr pacs scan`: retrieve the studies a query finds, score every frontal chest image,
one CSV row per instance (the `cxr scan` columns plus its UIDs), optionally sending the
SR + Secondary Capture of each scored image back to the node. Resumable."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pydicom import dcmread

from cxr_model.dicom_net.client import Pacs
from cxr_model.dicom_net.instances import NOT_SCORED, instance_row, is_final, not_scored_reason
from cxr_model.dicom_net.query import StudyMatch
from cxr_model.errors import CXRError, NetworkError
from cxr_model.inference.scan import ScanPlan, Scorer, scan_predictions


def finished_studies(rows: list[dict], studies: list[StudyMatch]) -> set[str]:
    """Studies an earlier scan completed: every row final, and at least as many rows as the
    node now lists instances (a study killed half-way, or grown since, is done again)."""
    by_study: dict[str, list[dict]] = {}
    for row in rows:
        by_study.setdefault(row["study_uid"], []).append(row)
    done = set()
    for study in studies:
        found = by_study.get(study.study_uid, [])
        if (
            found
            and all(is_final(r) for r in found)
            and (study.instances is None or len(found) >= study.instances)
        ):
            done.add(study.study_uid)
    return done


def _uids(path: Path) -> tuple[str, str, str]:
    """(study, series, SOP) from a path written by `dicom_files.instance_path`."""
    return path.parent.parent.name, path.parent.name, path.stem


class PacsScan:
    """Scans studies of one node into rows; `network_errors` counts studies that failed."""

    def __init__(
        self,
        model: Scorer,
        pacs: Pacs,
        *,
        images_dir: Path | None = None,
        final_sops: set[str] | None = None,
        send: bool = False,
        move_port: int | None = None,
        bind: str = "",
    ) -> None:
        self.model, self.pacs = model, pacs
        self.images_dir = images_dir
        self.final_sops = set(final_sops or ())
        self.send, self.move_port, self.bind = send, move_port, bind
        self.network_errors = 0

    def _send_results(self, path: Path, prediction) -> str | None:
        from cxr_model.dicom_results.write import read_source, result_objects

        try:
            objects = result_objects(
                self.model.card_for(prediction),
                read_source(path),
                self.model.read(path),
                prediction,
            )
            self.pacs.send(objects)
        except NetworkError as exc:
            self.network_errors += 1
            return f"scored, but sending the results failed: {exc}"
        except CXRError as exc:
            return f"scored, but the results could not be made: {exc}"
        return None

    def _study_rows(self, study: StudyMatch, folder: Path) -> Iterator[dict]:
        try:
            files = self.pacs.retrieve(
                study.study_uid, folder, move_port=self.move_port, bind=self.bind
            )
        except CXRError as exc:
            self.network_errors += isinstance(exc, NetworkError)
            yield instance_row(
                "", (study.study_uid, "", ""), error=f"study {study.study_uid}: {exc}"
            )
            return
        if not files:
            yield instance_row(
                "", (study.study_uid, "", ""), error=f"{NOT_SCORED}the study holds no instances"
            )
            return
        scorable = []
        for path in sorted(files):
            uids = _uids(path)
            if uids[2] in self.final_sops:
                continue
            name = path.relative_to(folder).as_posix()
            try:
                reason = not_scored_reason(dcmread(path, stop_before_pixels=True))
            except Exception as exc:
                reason = f"{name}: not a readable DICOM file ({exc})"
            if reason:
                yield instance_row(name, uids, error=reason)
            else:
                scorable.append(path)
        plan = ScanPlan(folder, scorable, [], 0)
        for name, prediction, error in scan_predictions(self.model, plan):
            path = folder / name
            if prediction is not None and self.send:
                error = self._send_results(path, prediction)
            yield instance_row(name, _uids(path), prediction, error)

    def study_rows(self, study: StudyMatch) -> Iterator[dict]:
        """The rows of one study as they come (instances in a temporary folder unless
        `images_dir` keeps them)."""
        if self.images_dir is not None:
            yield from self._study_rows(study, self.images_dir)
            return
        folder = Path(tempfile.mkdtemp(prefix="cxr-pacs-scan-"))
        try:
            yield from self._study_rows(study, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
