"""Errors every layer may raise and the CLI and app turn into one line for the user.

`UsageError` is bad input from the user (a wrong flag value, a missing file); model-file problems are
`resgen.core.weights.ModelFileError`. Both are printed as `resgen: error: ...` by the CLI, never as a traceback.
"""
from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user; printed as one line."""
