"""`cxr pacs`: echo, find, get, send and scan against a PACS node (DIMSE or DICOMweb)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from cxr_model.cli.common import EXIT_NETWORK, add_quiet, fail
from cxr_model.dicom_net.client import Pacs
from cxr_model.dicom_net.node import DEFAULT_AET, DEFAULT_TIMEOUT, parse_node, valid_aet
from cxr_model.dicom_net.query import DEFAULT_LIMIT, StudyQuery, parse_modalities
from cxr_model.dicom_net.tls import SYSTEM_CA, TlsOptions
from cxr_model.dicom_net.web_auth import PASSWORD_ENV, WebCredentials
from cxr_model.errors import CXRError, DataError, NetworkError
from cxr_model.files import private_folder
from cxr_model.inference.router import ModelSet
from cxr_model.progress import progress

#: Studies a `pacs scan` goes through unless --limit says otherwise.
SCAN_LIMIT = 1000


def tls_from(args: argparse.Namespace) -> TlsOptions | None:
    """`--tls-ca/--tls-cert/--tls-key` as TlsOptions (None when none is given)."""
    if args.tls_ca is None and args.tls_cert is None and args.tls_key is None:
        return None
    return TlsOptions(
        ca=args.tls_ca,
        cert=Path(args.tls_cert) if args.tls_cert else None,
        key=Path(args.tls_key) if args.tls_key else None,
    )


def credentials_from(args: argparse.Namespace) -> WebCredentials | None:
    """`--user NAME` (password from CXR_PACS_PASSWORD, else typed on the terminal) or
    `--token-env VAR`; ValueError when the secret cannot be had."""
    if args.user and args.token_env:
        raise ValueError("give --user or --token-env, not both")
    if args.token_env:
        token = os.environ.get(args.token_env, "").strip()
        if not token:
            raise ValueError(f"--token-env {args.token_env}: that environment variable is empty")
        return WebCredentials(token=token, source=f"${args.token_env}")
    if not args.user:
        return None
    password = os.environ.get(PASSWORD_ENV)
    if password is not None:
        return WebCredentials(user=args.user, password=password, source=f"${PASSWORD_ENV}")
    if not sys.stdin.isatty():
        raise ValueError(
            f"--user {args.user}: set {PASSWORD_ENV} (there is no terminal to ask the password on)"
        )
    password = getpass.getpass(f"password for {args.user}: ")
    return WebCredentials(user=args.user, password=password, source="as typed")


def pacs_at(node: str, args: argparse.Namespace) -> Pacs:
    """A node with our AE, timeout, TLS and credentials from the command line; ValueError for
    a bad node, AE title, TLS file or missing secret."""
    parsed = parse_node(node)
    if (args.user or args.token_env) and not parsed.is_web:
        raise ValueError(f"{parsed}: --user and --token-env are for DICOMweb nodes")
    tls = tls_from(args)
    credentials = credentials_from(args)
    if tls is not None and tls.ca is None and not parsed.is_web:
        raise ValueError("TLS to a node needs --tls-ca (a CA file, or 'system')")
    return Pacs(parsed, aet=args.aet, timeout=args.timeout, tls=tls, credentials=credentials)


def pacs_from(args: argparse.Namespace) -> Pacs:
    """The node of a `cxr pacs` verb (see `pacs_at`)."""
    return pacs_at(args.node, args)


def query_from(args: argparse.Namespace) -> StudyQuery:
    """The find filters from the command line; ValueError for a bad date, modality or limit."""
    return StudyQuery(
        patient_id=args.patient_id,
        patient_name=args.patient_name,
        study_date=args.study_date,
        accession=args.accession,
        modalities=parse_modalities(args.modality),
        limit=args.limit,
    )


def writable_folder(path: Path) -> Path:
    """Create the output folder if needed (mode 0700: it will hold patient data); DataError
    when it cannot be written."""
    try:
        private_folder(path)
        probe = path / ".cxr-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DataError(f"cannot write to the output folder ({exc.strerror or exc})", path) from exc
    return path


def _guarded(action) -> int:
    """Run an action; exit 4 on a network failure, 2 on bad input."""
    try:
        return action()
    except NetworkError as exc:
        return fail(exc, EXIT_NETWORK)
    except ValueError as exc:
        return fail(str(exc))
    except CXRError as exc:
        return fail(exc)


def run_echo(args: argparse.Namespace) -> int:
    def action() -> int:
        pacs = pacs_from(args)
        pacs.echo()
        print(f"{pacs.node} answers (as seen from {pacs.aet})")
        return 0

    return _guarded(action)


def _warn_truncated(limit: int) -> None:
    print(
        f"cxr: more than {limit} studies match; showing the first {limit} "
        "(narrow the query or raise --limit)",
        file=sys.stderr,
    )


def run_find(args: argparse.Namespace) -> int:
    def action() -> int:
        result = pacs_from(args).find(query_from(args))
        for study in result.studies:
            if args.json:
                print(json.dumps(study.to_dict()))
            else:
                print(
                    "  ".join(
                        str(v) if v is not None else "-"
                        for v in (
                            study.study_uid,
                            study.patient_id,
                            study.patient_name,
                            study.study_date,
                            study.accession,
                            ",".join(study.modalities or []) or None,
                            study.instances,
                            study.description,
                        )
                    )
                )
        if result.truncated:
            _warn_truncated(args.limit)
        return 0

    return _guarded(action)


def run_get(args: argparse.Namespace) -> int:
    def action() -> int:
        pacs = pacs_from(args)
        if args.move and args.port is None:
            raise ValueError("--move needs --port (where our C-STORE receiver listens)")
        out = writable_folder(Path(args.out))
        files = pacs.retrieve(
            args.study_uid, out, move_port=args.port if args.move else None, bind=args.bind
        )
        for path in files:
            print(path)
        print(f"retrieved {len(files)} instance(s) from {pacs.node}", file=sys.stderr)
        return 0

    return _guarded(action)


def run_send(args: argparse.Namespace) -> int:
    def action() -> int:
        pacs = pacs_from(args)
        files = [Path(f) for f in args.files]
        for path in files:
            if not path.is_file():
                raise DataError("no such file", path)
        from cxr_model.dicom_results.write import read_source

        count = pacs.send([read_source(path) for path in files])
        print(f"sent {count} instance(s) to {pacs.node}")
        return 0

    return _guarded(action)


def run_scan(args: argparse.Namespace, model: ModelSet) -> int:
    return _guarded(lambda: _scan(args, model))


def _scan(args: argparse.Namespace, model: ModelSet) -> int:
    from cxr_model.dicom_net.instances import PACS_FIELDS, is_final
    from cxr_model.inference.scan import CsvSink, read_rows
    from cxr_model.pacs.scan import PacsScan, finished_studies

    out = Path(args.out)
    pacs, query = pacs_from(args), query_from(args)
    rows = read_rows(out, PACS_FIELDS)
    images = writable_folder(Path(args.images)) if args.images else None
    result = pacs.find(query)
    if result.truncated:
        _warn_truncated(args.limit)
    done = finished_studies(rows, result.studies)
    todo = [s for s in result.studies if s.study_uid not in done]
    scanner = PacsScan(
        model,
        pacs,
        images_dir=images,
        final_sops={r["sop_uid"] for r in rows if is_final(r)},
        send=args.send,
        move_port=args.port if args.move else None,
        bind=args.bind,
    )
    counts = {"scored": 0, "errors": 0, "skipped": 0}
    sink = CsvSink(out, fields=PACS_FIELDS)
    try:
        for study in progress(
            todo, total=len(todo), desc="pacs scan", unit="study", quiet=args.quiet
        ):
            for row in scanner.study_rows(study):
                sink.add(row)
                if row["probability"] is not None:
                    counts["scored"] += 1
                else:
                    counts["skipped" if is_final(row) else "errors"] += 1
                if row["error"] and not is_final(row):
                    print(f"cxr: {row['error']}", file=sys.stderr)
    finally:
        sink.close()
    print(
        f"scanned {len(todo)} study(ies): {counts['scored']} image(s) scored, "
        f"{counts['skipped']} instance(s) not scored (not frontal chest X-rays), "
        f"{counts['errors']} error(s); {len(done)} study(ies) already in {out}",
        file=sys.stderr,
    )
    return EXIT_NETWORK if scanner.network_errors else 0


def add_tls_options(parser: argparse.ArgumentParser, *, listener: bool = False) -> None:
    """`--tls-ca`, `--tls-cert`, `--tls-key` (DICOM TLS, 1.2 or later)."""
    tls = parser.add_argument_group("DICOM TLS")
    if listener:
        tls.add_argument("--tls-cert", metavar="CERT.pem", help="our certificate: listen over TLS")
        tls.add_argument("--tls-key", metavar="KEY.pem", help="the key of --tls-cert")
        tls.add_argument(
            "--tls-ca",
            metavar="CA.pem",
            help="require client certificates signed by this CA",
        )
        return
    tls.add_argument(
        "--tls-ca",
        metavar="CA.pem|system",
        help=f"DIMSE: TLS to the node, verified against this CA ('{SYSTEM_CA}': the system "
        "store); HTTPS: the private CA that signed the server's certificate",
    )
    tls.add_argument("--tls-cert", metavar="CERT.pem", help="our client certificate")
    tls.add_argument("--tls-key", metavar="KEY.pem", help="the key of --tls-cert")


def add_credential_options(
    parser: argparse.ArgumentParser, title: str = "DICOMweb credentials"
) -> None:
    """`--user` and `--token-env` (DICOMweb); secrets never on the command line."""
    auth = parser.add_argument_group(title)
    auth.add_argument(
        "--user", metavar="NAME", help=f"HTTP basic user; password from {PASSWORD_ENV} or typed"
    )
    auth.add_argument(
        "--token-env", metavar="VAR", help="bearer token read from this environment variable"
    )


def add_node_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "node", help="AET@HOST:PORT (DIMSE) or http(s)://HOST:PORT/PATH (DICOMweb root)"
    )
    parser.add_argument(
        "--aet", type=valid_aet, default=DEFAULT_AET, help=f"our AE title (default {DEFAULT_AET})"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for the node at each step (default {DEFAULT_TIMEOUT:g})",
    )
    add_tls_options(parser)
    add_credential_options(parser)


def add_filters(parser: argparse.ArgumentParser, limit: int) -> None:
    parser.add_argument("--patient-id")
    parser.add_argument("--patient-name", help="may use * and ? wildcards")
    parser.add_argument("--study-date", metavar="D|D1-D2", help="YYYYMMDD or a range")
    parser.add_argument("--accession")
    parser.add_argument("--modality", metavar="CR,DX", help="modalities in the study")
    parser.add_argument(
        "--limit", type=int, default=limit, help=f"at most this many studies (default {limit})"
    )


def add_retrieve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--move", action="store_true", help="C-MOVE to our own temporary receiver instead of C-GET"
    )
    parser.add_argument("--port", type=int, help="port of that receiver (with --move)")
    parser.add_argument("--bind", default="", help="address it listens on (default: all)")


def register(sub: argparse._SubParsersAction) -> None:
    pacs = sub.add_parser("pacs", help="query, retrieve, send to and scan from a PACS")
    commands = pacs.add_subparsers(dest="pacs_command", required=True)

    echo = commands.add_parser("echo", help="check that a node answers (C-ECHO)")
    add_node_options(echo)
    echo.set_defaults(handler=run_echo, needs_model=False)

    find = commands.add_parser("find", help="list the studies that match")
    add_node_options(find)
    add_filters(find, DEFAULT_LIMIT)
    find.add_argument("--json", action="store_true", help="one JSON object per study")
    find.set_defaults(handler=run_find, needs_model=False)

    get = commands.add_parser("get", help="retrieve a study's instances into a folder")
    add_node_options(get)
    get.add_argument("study_uid")
    get.add_argument("--out", required=True, metavar="DIR")
    add_retrieve_options(get)
    get.set_defaults(handler=run_get, needs_model=False)

    send = commands.add_parser("send", help="store DICOM files on a node")
    add_node_options(send)
    send.add_argument("files", nargs="+", metavar="FILE")
    send.set_defaults(handler=run_send, needs_model=False)

    scan = commands.add_parser("scan", help="find, retrieve and score studies into a CSV")
    add_node_options(scan)
    add_filters(scan, SCAN_LIMIT)
    scan.add_argument(
        "--out",
        required=True,
        metavar="FILE.csv",
        help="append rows here; a rerun skips what is done",
    )
    scan.add_argument(
        "--images",
        metavar="DIR",
        help="keep the retrieved instances here (default: a temporary folder)",
    )
    scan.add_argument(
        "--send",
        action="store_true",
        help="store the SR + Secondary Capture of each scored image on the node",
    )
    add_retrieve_options(scan)
    add_quiet(scan)
    scan.set_defaults(handler=run_scan, needs_model=True)
