"""`python -m leakmon` = the `leakmon` command."""

from leakmon.cli import main

main()
