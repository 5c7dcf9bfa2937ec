"""Where the top-level data folders (mappings/, templates/) are, in a checkout or an install."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_REPOSITORY_ROOT = Path(__file__).resolve().parents[1]


def resource_folder(name: str) -> Path:
    """Folder ``mappings`` or ``templates``: the checkout's, else the wheel's data files.

    ``MIMAMORI_<NAME>`` (e.g. ``MIMAMORI_MAPPINGS``) overrides both.
    """
    override = os.environ.get(f"MIMAMORI_{name.upper()}")
    if override:
        return Path(override)
    in_checkout = _REPOSITORY_ROOT / name
    if in_checkout.is_dir():
        return in_checkout
    return Path(sys.prefix) / "share" / "mimamori" / name
