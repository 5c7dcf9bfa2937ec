"""The whole plugin contract: hook specifications for mimamori.

Plugin authors write ``from macros_py.plugin_api import hookimpl`` (everything a plugin
needs is in :mod:`macros_py.plugin_api`) and define functions with the names below.
Argument names are the contract. Hooks named ``register_*`` return a list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from macros_py.ingest.readers import ReaderSpec
    from macros_py.plugin_api import ItemSpec, ModelSpec

PROJECT_NAME = "mimamori"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_readers() -> list[ReaderSpec]:
    """Return ``ReaderSpec(format, label, open)`` objects; ``format`` is a 取込設定 形式 value."""


@hookspec
def register_items() -> list[ItemSpec]:
    """Return ``ItemSpec(item_id, name, compute)`` objects: custom items computed per child."""


@hookspec
def register_models() -> list[ModelSpec]:
    """Return ``ModelSpec(name, fit, predict)`` objects: custom models fitted beside the built-in one."""
