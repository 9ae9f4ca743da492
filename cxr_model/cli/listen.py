"""`cxr listen`: receive DICOM instances (C-STORE), score the chest X-rays as they arrive,
append rows to OUT/results.csv, optionally forward the SR + SC of each to a node."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from cxr_model.cli.common import EXIT_NETWORK, fail
from cxr_model.cli.pacs import add_credential_options, add_tls_options, pacs_at, writable_folder
from cxr_model.dicom_net.node import DEFAULT_AET, DEFAULT_TIMEOUT, aet_list, valid_aet
from cxr_model.dicom_net.tls import TlsOptions
from cxr_model.errors import CXRError
from cxr_model.inference.router import ModelSet


def log(line: str) -> None:
    """One timestamped line on stderr, at once."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} cxr listen: {line}", file=sys.stderr, flush=True)


def listener_tls(args: argparse.Namespace) -> TlsOptions | None:
    """The listener's TLS: `--tls-cert/--tls-key` turn it on, `--tls-ca` requires client
    certificates; ValueError for a CA alone or a missing file."""
    if args.tls_cert is None and args.tls_key is None:
        if args.tls_ca is not None:
            raise ValueError("--tls-ca on the listener needs --tls-cert and --tls-key")
        return None
    return TlsOptions(
        ca=args.tls_ca,
        cert=Path(args.tls_cert) if args.tls_cert else None,
        key=Path(args.tls_key) if args.tls_key else None,
    )


def forward_args(args: argparse.Namespace) -> argparse.Namespace:
    """The `--forward-tls-*` options (and `--user`/`--token-env`) under the names `pacs_at`
    reads."""
    return argparse.Namespace(
        aet=args.aet,
        timeout=args.timeout,
        tls_ca=args.forward_tls_ca,
        tls_cert=args.forward_tls_cert,
        tls_key=args.forward_tls_key,
        user=args.user,
        token_env=args.token_env,
    )


def run(args: argparse.Namespace, model: ModelSet) -> int:
    from cxr_model.pacs.listener import Listener

    try:
        allow = aet_list(args.allow)
        tls = listener_tls(args)
        forward = pacs_at(args.forward, forward_args(args)) if args.forward else None
        listener = Listener(
            model,
            writable_folder(Path(args.out)),
            args.port,
            aet=args.aet,
            allow=allow,
            forward=forward,
            bind=args.bind,
            timeout=args.timeout,
            tls=tls,
            log=log,
        )
    except ValueError as exc:
        return fail(str(exc))
    except CXRError as exc:
        return fail(exc)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        listener.start()
    except CXRError as exc:
        return fail(exc, EXIT_NETWORK)
    if not allow:
        log("WARNING: no --allow list: any DICOM node that reaches this port may send here")
    if tls is not None and tls.ca is None:
        log("WARNING: TLS without --tls-ca: any client may connect (no client certificate)")
    log(
        f"listening as {args.aet} on port {args.port}"
        + (" over TLS" if tls else "")
        + f", saving to {listener.out_dir}, rows in {listener.csv_path}, audit in "
        f"{listener.audit.path}" + (f", forwarding results to {forward.node}" if forward else "")
    )
    while not stop.wait(0.5):
        pass
    log("stopping: scoring what was received")
    listener.stop()
    counts = listener.counts
    log(
        f"stopped: {counts['received']} instance(s) received, {counts['scored']} scored, "
        f"{counts['rows']} row(s) written"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("listen", help="receive DICOM (C-STORE) and score what arrives")
    p.add_argument("--port", type=int, required=True)
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="instances saved as DIR/STUDY/SERIES/SOP.dcm, rows in DIR/results.csv",
    )
    p.add_argument(
        "--aet", type=valid_aet, default=DEFAULT_AET, help=f"our AE title (default {DEFAULT_AET})"
    )
    p.add_argument("--allow", metavar="AET,...", help="accept only these calling AE titles")
    p.add_argument("--forward", metavar="NODE", help="send the SR + SC of each scored image")
    p.add_argument("--bind", default="", help="address to listen on (default: all)")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for a peer at each step",
    )
    add_tls_options(p, listener=True)
    forward = p.add_argument_group("DICOM TLS to the --forward node")
    forward.add_argument("--forward-tls-ca", metavar="CA.pem|system")
    forward.add_argument("--forward-tls-cert", metavar="CERT.pem")
    forward.add_argument("--forward-tls-key", metavar="KEY.pem")
    add_credential_options(p, "DICOMweb credentials of the --forward node")
    p.set_defaults(handler=run, needs_model=True)
