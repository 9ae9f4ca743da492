"""What every worker shares: the thread boundary that turns an exception into a message, and
request ids where only the newest request's answers are shown."""

from __future__ import annotations

from collections.abc import Callable

from cxr_model.errors import CXRError


def failure_text(exc: Exception) -> str:
    """What a person reads for an exception met on a worker thread."""
    if isinstance(exc, CXRError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


def run_guarded(action: Callable[[], object], failed: Callable[[str], object]) -> bool:
    """Run `action`; on any exception tell `failed` why and return False. The worker's thread
    never dies and the window never waits on an answer that cannot come."""
    try:
        action()
    except Exception as exc:  # the thread boundary: report, never hang
        failed(failure_text(exc))
        return False
    return True


class Newest:
    """Request ids of a service: a new request supersedes the earlier ones."""

    def __init__(self) -> None:
        self.id = 0

    def next(self) -> int:
        """The id of a new request (every earlier one is stale from now on)."""
        self.id += 1
        return self.id

    def current(self, request_id: int) -> bool:
        """True for the newest request's answers, False for stale ones (dropped)."""
        return request_id == self.id
