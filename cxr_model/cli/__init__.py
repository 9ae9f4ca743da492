"""`cxr`: the command line. One module per command group; `main` wires them together."""

from cxr_model.cli.main import main, run_selftest

__all__ = ["main", "run_selftest"]
