"""DICOMweb (dicomweb-client): QIDO-RS find, WADO-RS retrieve, STOW-RS store; HTTPS verified
(a private CA by `TlsOptions`), HTTP basic or bearer credentials."""

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
from cxr_model.dicom_net.tls import TlsOptions
from cxr_model.dicom_net.web_auth import WebCredentials, web_session
from cxr_model.errors import CancelledError, InvalidInstanceError, NetworkError

#: Studies asked for per QIDO-RS request (`limit`/`offset` paging).
PAGE_SIZE = 100


def client(
    node: Node,
    timeout: float,
    tls: TlsOptions | None = None,
    credentials: WebCredentials | None = None,
):
    """A DICOMweb client for a node, with our timeout, TLS, credentials, no silent retries."""
    from dicomweb_client.api import DICOMwebClient

    web = DICOMwebClient(url=node.url, timeout=timeout, session=web_session(tls, credentials))
    web.set_http_retry_params(retry=False)
    return web


@contextlib.contextmanager
def _errors(
    node: Node, what: str, timeout: float, credentials: WebCredentials | None = None
) -> Iterator[None]:
    """Turn requests' failures into NetworkError naming the node and what to check."""
    try:
        yield
    except requests.exceptions.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        if code in (401, 403):
            advice = (
                credentials.what_to_check()
                if credentials is not None
                else "it needs credentials: give --user NAME (password in "
                "CXR_PACS_PASSWORD or typed) or --token-env VAR"
            )
            verdict = "did not accept our credentials" if code == 401 else "refused us access"
            raise NetworkError(f"{node} {verdict} (HTTP {code}) for the {what}; {advice}") from exc
        raise NetworkError(
            f"{node} answered the {what} with HTTP {code}; {node.what_to_check()}"
        ) from exc
    except requests.exceptions.Timeout as exc:
        raise NetworkError(
            f"{node} did not answer the {what} within {timeout:g} s; {node.what_to_check()}"
        ) from exc
    except requests.exceptions.SSLError as exc:
        reason = _ssl_reason(exc)
        if reason is None:
            raise NetworkError(
                f"TLS failed with {node} ({exc}); check that it speaks HTTPS on this port"
            ) from exc
        raise NetworkError(
            f"TLS failed with {node}: its certificate could not be verified ({reason}); check "
            "--tls-ca (give the private CA that signed it) and that the URL's host name is the "
            "one in its certificate"
        ) from exc
    except requests.exceptions.RequestException as exc:
        raise NetworkError(
            f"cannot connect to {node} ({type(exc).__name__}); {node.what_to_check()}"
        ) from exc
    except ValueError as exc:  # a body that is not DICOM JSON / multipart
        raise NetworkError(
            f"{node} sent an answer to the {what} that is not DICOMweb "
            f"({exc}); {node.what_to_check()}"
        ) from exc


def _ssl_reason(exc: BaseException) -> str | None:
    """Why certificate verification failed inside a requests SSLError (e.g. 'certificate has
    expired'); None when the failure was not a verification."""
    todo, seen = [exc], set()
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if getattr(item, "verify_message", None):
            return item.verify_message
        inner = [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
        todo.extend(e for e in inner if isinstance(e, BaseException))
    return None


def echo(
    node: Node,
    timeout: float,
    tls: TlsOptions | None = None,
    credentials: WebCredentials | None = None,
) -> None:
    """A QIDO-RS query for one study: the DICOMweb way to see that the node answers."""
    with _errors(node, "QIDO-RS query", timeout, credentials):
        client(node, timeout, tls, credentials).search_for_studies(
            limit=1, fields=["StudyInstanceUID"]
        )


def find(
    node: Node,
    query: StudyQuery,
    timeout: float,
    tls: TlsOptions | None = None,
    credentials: WebCredentials | None = None,
) -> FindResult:
    """QIDO-RS study search, paged with limit/offset, up to `limit` (+1 to see if more match)."""
    web = client(node, timeout, tls, credentials)
    studies: list[StudyMatch] = []
    offset = 0
    with _errors(node, "QIDO-RS query", timeout, credentials):
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
    tls: TlsOptions | None = None,
    credentials: WebCredentials | None = None,
) -> list[Path]:
    """WADO-RS a study, instance by instance as they stream in; the files written."""
    files = []
    with _errors(node, "WADO-RS retrieve", timeout, credentials):
        for ds in client(node, timeout, tls, credentials).iter_study(study_uid):
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


def store(
    node: Node,
    items: list[Path | Dataset],
    timeout: float,
    tls: TlsOptions | None = None,
    credentials: WebCredentials | None = None,
) -> int:
    """STOW-RS files or datasets; the number stored."""
    datasets = [dcmread(item) if isinstance(item, Path | str) else item for item in items]
    with _errors(node, "STOW-RS store", timeout, credentials):
        answer = client(node, timeout, tls, credentials).store_instances(datasets)
    failed = answer.get("FailedSOPSequence") if answer is not None else None
    if failed:
        raise NetworkError(
            f"{node} refused {len(failed)} of {len(datasets)} instance(s) "
            f"sent by STOW-RS; {node.what_to_check()}"
        )
    return len(datasets)
