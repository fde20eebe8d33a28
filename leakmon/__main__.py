"""`python -m leakmon` = the `leakmon` command (same exit codes)."""

import sys

from leakmon.cli import main

sys.exit(main())
