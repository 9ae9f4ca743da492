"""Starting and stopping the QThreads that workers live in."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread


def start_in_thread(worker: QObject, name: str, on_start=None) -> QThread:
    """Move `worker` to a new started QThread (deleted when the thread finishes);
    `on_start` (a slot of the worker) runs first in that thread."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    if on_start is not None:
        thread.started.connect(on_start)
    thread.finished.connect(worker.deleteLater)
    thread.start()
    return thread


def stop_thread(thread: QThread) -> None:
    """Ask the thread's event loop to quit and wait until it has."""
    if thread.isRunning():
        thread.quit()
        thread.wait()
