"""Frozen entry point of the `cxr` command line (bundled beside `cxr-desktop`)."""

import sys

from cxr_model.cli import main

if __name__ == "__main__":
    sys.exit(main())
