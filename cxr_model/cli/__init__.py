"""`cxr`: the command line. One module per command group; `main` wires them together."""

from cxr_model.cli.main import main

__all__ = ["main"]
