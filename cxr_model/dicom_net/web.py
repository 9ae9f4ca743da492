"""DICOMweb (dicomweb-client): QIDO-RS find, WADO-RS retrieve, STOW-RS store."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import requests
from pydicom import dcmread
from pydicom.dataset import Dataset

from cxr_model.dicom_files import save_dataset
from cxr_model.dicom_net.node import Node
from cxr_model.dicom_net.query import (
    RETURN_KEYS,
    FindResult,
    StudyMatch,
    StudyQuery,
    dicom_json_filters,
    study_from_dataset,
)
from cxr_model.errors import CancelledError, InvalidInstanceError, NetworkError

#: Studies asked for per QIDO-RS request (`limit`/`offset` paging).
PAGE_SIZE = 100


def client(node: Node, timeout: float):
    """A DICOMweb client for a node, with our timeout and no silent retries."""
    from dicomweb_client.api import DICOMwebClient

    web = DICOMwebClient(url=node.url, timeout=timeout)
    web.set_http_retry_params(retry=False)
    return web


@contextlib.contextmanager
def _errors(node: Node, what: str, timeout: float) -> Iterator[None]:
    """Turn requests' failures into NetworkError naming the node and what to check."""
    try:
        yield
    except requests.exceptions.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        raise NetworkError(
            f"{node} answered the {what} with HTTP {code}; {node.what_to_check()}"
        ) from exc
    except requests.exceptions.Timeout as exc:
        raise NetworkError(
            f"{node} did not answer the {what} within {timeout:g} s; {node.what_to_check()}"
        ) from exc
    except requests.exceptions.SSLError as exc:
        raise NetworkError(f"TLS failed with {node} ({exc}); check its certificate") from exc
    except requests.exceptions.RequestException as exc:
        raise NetworkError(
            f"cannot connect to {node} ({type(exc).__name__}); {node.what_to_check()}"
        ) from exc
    except ValueError as exc:  # a body that is not DICOM JSON / multipart
        raise NetworkError(
            f"{node} sent an answer to the {what} that is not DICOMweb "
            f"({exc}); {node.what_to_check()}"
        ) from exc


def echo(node: Node, timeout: float) -> None:
    """A QIDO-RS query for one study: the DICOMweb way to see that the node answers."""
    with _errors(node, "QIDO-RS query", timeout):
        client(node, timeout).search_for_studies(limit=1, fields=["StudyInstanceUID"])


def find(node: Node, query: StudyQuery, timeout: float) -> FindResult:
    """QIDO-RS study search, paged with limit/offset, up to `limit` (+1 to see if more match)."""
    web = client(node, timeout)
    studies: list[StudyMatch] = []
    offset = 0
    with _errors(node, "QIDO-RS query", timeout):
        while len(studies) <= query.limit:
            size = min(PAGE_SIZE, query.limit + 1 - len(studies))
            page = web.search_for_studies(
                limit=size,
                offset=offset,
                fields=list(RETURN_KEYS),
                search_filters=dict(dicom_json_filters(query)),
            )
            for item in page:
                study = study_from_dataset(Dataset.from_json(item))
                if study is not None:
                    studies.append(study)
            if len(page) < size:
                break
            offset += len(page)
    return FindResult.of(studies, query.limit)


def retrieve(
    node: Node,
    study_uid: str,
    out_dir: Path,
    timeout: float,
    on_file: Callable[[Path], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> list[Path]:
    """WADO-RS a study, instance by instance as they stream in; the files written."""
    files = []
    with _errors(node, "WADO-RS retrieve", timeout):
        for ds in client(node, timeout).iter_study(study_uid):
            if cancelled():
                raise CancelledError(
                    f"WADO-RS from {node} cancelled after {len(files)} instance(s)"
                )
            try:
                path = save_dataset(out_dir, ds)
            except InvalidInstanceError as exc:
                raise NetworkError(f"WADO-RS from {node}: instance refused: {exc}") from exc
            except OSError as exc:
                raise NetworkError(f"cannot write to {out_dir} ({exc.strerror or exc})") from exc
            files.append(path)
            if on_file:
                on_file(path)
    return files


def store(node: Node, items: list[Path | Dataset], timeout: float) -> int:
    """STOW-RS files or datasets; the number stored."""
    datasets = [dcmread(item) if isinstance(item, Path | str) else item for item in items]
    with _errors(node, "STOW-RS store", timeout):
        answer = client(node, timeout).store_instances(datasets)
    failed = answer.get("FailedSOPSequence") if answer is not None else None
    if failed:
        raise NetworkError(
            f"{node} refused {len(failed)} of {len(datasets)} instance(s) "
            f"sent by STOW-RS; {node.what_to_check()}"
        )
    return len(datasets)
