"""Where the shipped models live (imports nothing heavy: `import resgen` stays instant)."""
from __future__ import annotations

import os
from pathlib import Path


def assets_dir() -> Path:
    """The folder with shipped models: $RESGEN_ASSETS, else assets/ next to the package."""
    return Path(os.environ.get("RESGEN_ASSETS", Path(__file__).resolve().parents[2] / "assets"))


def cache_dir() -> Path:
    """The folder for derived files (measured backend choices, assembled engine models): $RESGEN_CACHE, else
    $XDG_CACHE_HOME/resgen (default ~/.cache/resgen)."""
    root = os.environ.get("RESGEN_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "resgen"
    return Path(root)
