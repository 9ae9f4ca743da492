"""`python -m cxr_model.cli` runs the `cxr` command."""

import sys

from cxr_model.cli.main import main

sys.exit(main())
