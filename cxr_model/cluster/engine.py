"""`cxr scan --engine ray`: the folder scan on Ray Data, streaming the same rows as the local
engine.

The driver plans the folder (`plan_scan`), Ray reads the files' bytes
(`ray.data.read_binary_files`), a fixed pool of actors (one model each, `ScanActor`) decodes
and scores them with `cxr_model`'s own reader and predictor, and the rows come back to the
driver as each batch finishes, in no particular order. One CPU of the cluster stays free for
the read tasks: with actors on every CPU nothing reads, and the scan stalls forever.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from cxr_model.cluster.auth import refusal, use_token_if_found
from cxr_model.cluster.worker import ScanActor, pack_models
from cxr_model.errors import ClusterError, CXRError
from cxr_model.inference.scan import ScanPlan, Scorer, folder_error_rows, load_study, score_batch

#: Images per actor call, and per Ray block: each block costs the driver the same to
#: schedule and receive whatever its size (benchmarks/cluster.md), so they are larger than
#: the local engine's 8.
BATCH_SIZE = 32
#: CPUs kept free of actors so that files can always be read.
READ_RESERVE_CPUS = 1.0
#: CPUs one read task asks for: reading bytes mostly waits on storage, so several run at once
#: in the reserved CPU.
READ_TASK_CPUS = 0.25


def pool_size(cluster_cpus: float, actor_cpus: float, actors: int | None = None) -> int:
    """How many actors of `actor_cpus` CPUs fit beside the read reserve (all of them when
    `actors` is None). A pool that cannot fit, or would leave the reads no CPU, is refused
    (CXRError: a bad choice of options, not a cluster fault)."""
    if actor_cpus <= 0:
        raise CXRError(f"an actor needs more than 0 CPUs (got {actor_cpus:g})")
    fit = int((cluster_cpus - READ_RESERVE_CPUS) // actor_cpus)
    if fit < 1:
        raise CXRError(
            f"the Ray cluster has {cluster_cpus:g} CPU(s); a scan needs at least "
            f"{actor_cpus + READ_RESERVE_CPUS:g} (one actor of {actor_cpus:g} plus "
            f"{READ_RESERVE_CPUS:g} for reading files)"
        )
    if actors is None:
        return fit
    if actors < 1 or actors > fit:
        raise CXRError(
            f"{actors} actor(s) of {actor_cpus:g} CPU(s) do not fit a Ray cluster of "
            f"{cluster_cpus:g} CPUs with {READ_RESERVE_CPUS:g} kept for reading files "
            f"(choose 1 to {fit}; with no CPU left to read, the scan would stall)"
        )
    return actors


def connect(address: str | None = None, num_cpus: int | None = None, verbose: bool = False) -> bool:
    """Connect this process to Ray: the cluster at `address` ("auto": the one started on
    this machine with `ray start`; token authentication as `auth` finds it), else a new
    local Ray of `num_cpus` CPUs (default: those this process may use, at least 2: Ray's
    CPUs are scheduling slots, and one actor plus the reads need two). `verbose`: Ray's
    INFO lines and the workers' output too. Returns False when already connected (nothing
    to shut down)."""
    import ray

    if ray.is_initialized():
        return False
    if address is None:
        num_cpus = num_cpus or max(2, len(os.sched_getaffinity(0)))
    else:
        _probe(address)
        use_token_if_found()
    try:
        ray.init(
            address=address or "local",
            num_cpus=num_cpus,
            include_dashboard=False,
            logging_level=logging.INFO if verbose else logging.ERROR,
            log_to_driver=verbose,
        )
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.AuthenticationError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        refused = refusal(address, exc) if address else None
        raise ClusterError(refused or f"cannot start or reach {where} ({_reason(exc)})") from exc
    _quiet_ray_data()
    return True


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail fast when nothing answers at HOST:PORT: Ray itself retries for minutes. Other
    forms ("auto") are left to Ray."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ClusterError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc})"
        ) from exc


def _quiet_ray_data() -> None:
    """Ray Data's own progress bars and log lines off: stderr carries `cxr`'s progress bar
    and messages, stdout the CSV rows."""
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    # it warns once that its bars are off, which is what we asked for
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)


def _readable(path: os.PathLike) -> bool:
    return os.path.isfile(path) and os.access(path, os.R_OK)


def ray_scan(
    model: Scorer,
    plan: ScanPlan,
    *,
    address: str | None = None,
    actors: int | None = None,
    actor_cpus: float = 1.0,
    batch_size: int = BATCH_SIZE,
    verbose: bool = False,
) -> Iterator[dict]:
    """Yield one result row per planned image, as the actors finish their batches.

    Rows equal `cxr_model.inference.scan.scan`'s (names relative to the folder, the same
    errors). Files Ray could not open (gone, broken links, no permission) would fail the
    whole dataset, so the driver answers those itself with the local reader. Without
    `address` a local Ray starts and stops with the scan; a connected process is reused.
    `verbose`: Ray's own INFO lines and the workers' output on this process's stderr.
    """
    import ray

    folder = plan.folder
    readable = [path for path in plan.files if _readable(path)]
    started = connect(address, verbose=verbose) if readable else False
    try:
        yield from folder_error_rows(plan)
        for path in sorted(set(plan.files) - set(readable)):
            yield from score_batch(
                model, [(path.relative_to(folder).as_posix(), partial(load_study, model, path))]
            )
        if readable:
            size = pool_size(ray.cluster_resources().get("CPU", 0.0), actor_cpus, actors)
            yield from _actor_rows(model, plan, readable, size, actor_cpus, batch_size)
    except (ray.exceptions.RayError, OSError) as exc:
        raise ClusterError(
            f"the Ray scan failed ({_reason(exc)}); the rows written so "
            "far are kept: run the same command again to finish"
        ) from exc
    finally:
        if started:
            ray.shutdown()


def _actor_rows(
    model: Scorer, plan: ScanPlan, files: list[Path], size: int, actor_cpus: float, batch_size: int
) -> Iterator[dict]:
    """Read `files` with Ray Data, score them on `size` actors, yield rows as they come."""
    import ray
    from ray.data import ActorPoolStrategy

    actor_args = {
        "model": ray.put(pack_models(model.cards)),
        "backend": model.backend_name,
        "threads": max(1, int(actor_cpus)),
        "folder": os.path.abspath(plan.folder),
        "shown": str(plan.folder),
    }
    dataset = (
        ray.data.read_binary_files(
            [os.path.abspath(path) for path in files],
            include_paths=True,
            num_cpus=READ_TASK_CPUS,
        )
        # blocks of one batch: else an actor's rows leave when its whole block is done
        .repartition(
            target_num_rows_per_block=batch_size,
        )
        .map_batches(
            ScanActor,
            fn_constructor_kwargs=actor_args,
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(size=size),
            num_cpus=actor_cpus,
            udf_modifying_row_count=False,
        )
    )
    for table in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        yield from table.to_pylist()


def _reason(exc: BaseException) -> str:
    """The last line of a (possibly remote) error: the exception itself."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
