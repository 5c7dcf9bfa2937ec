"""Plugin manager: built-in modules and loose ``*.py`` files from a plugins folder.

Loose files are loaded by path (no ``exec``), each inside its own error boundary; a
file that fails to import, names a hook that does not exist, or raises inside a hook is
reported as a :class:`PluginProblem` (file and hook named) instead of crashing the run.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from macros_py import hookspecs

logger = logging.getLogger(__name__)

# Built-in features are plugins too, registered exactly like an administrator's files.
BUILTIN_PLUGIN_MODULES: tuple[str, ...] = ("macros_py.ingest.readers",)


@dataclass(frozen=True)
class PluginProblem:
    """A plugin that could not be used, for the log tab."""

    file: str
    hook: str
    message: str

    def as_japanese(self) -> str:
        where = f"フック {self.hook}" if self.hook else "読み込み"
        return f"プラグイン {self.file} の{where}でエラー: {self.message}"


@dataclass
class Plugins:
    """A plugin manager with the problems met while loading and calling plugins."""

    manager: pluggy.PluginManager
    problems: list[PluginProblem] = field(default_factory=list)

    def collect(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call one ``register_*`` hook implementation by implementation and flatten results.

        A failing implementation is recorded in ``problems`` and skipped.
        """
        results: list[Any] = []
        caller = getattr(self.manager.hook, hook_name)
        for implementation in reversed(caller.get_hookimpls()):
            try:
                returned = implementation.function(**kwargs)
            except Exception as error:  # a plugin must never crash the run
                self.problems.append(
                    PluginProblem(
                        _plugin_file(implementation.plugin), hook_name, f"{type(error).__name__}: {error}"
                    )
                )
                logger.warning("plugin %s failed in %s: %s", implementation.plugin_name, hook_name, error)
                continue
            if returned:
                results.extend(returned)
        return results


def _plugin_file(plugin: object) -> str:
    return str(getattr(plugin, "__file__", None) or getattr(plugin, "__name__", repr(plugin)))


def _load_module_from_path(path: Path) -> ModuleType:
    module_name = f"mimamori_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def load_plugins(
    plugins_folder: str | Path | None = None, builtin: Iterable[str] = BUILTIN_PLUGIN_MODULES
) -> Plugins:
    """Build a plugin manager with built-in plugins and the ``*.py`` files of a folder.

    Args:
        plugins_folder: folder of loose plugin files; ``None`` or a missing folder loads none.
        builtin: module names registered first.

    Returns:
        The manager and any problems found (import errors, unknown hook names).
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)
    for module_name in builtin:
        manager.register(importlib.import_module(module_name), name=module_name)
    if plugins_folder is not None and Path(plugins_folder).is_dir():
        for path in sorted(Path(plugins_folder).glob("*.py")):
            if path.name.startswith("_"):
                continue
            try:
                module = _load_module_from_path(path)
                manager.register(module, name=f"file:{path.name}")
            except Exception as error:
                plugins.problems.append(PluginProblem(str(path), "", f"{type(error).__name__}: {error}"))
                logger.warning("plugin file %s could not be loaded: %s", path, error)
    while True:  # check_pending stops at the first misspelt hook; drop it and look again
        try:
            manager.check_pending()
            break
        except pluggy.PluginValidationError as error:
            plugins.problems.append(
                PluginProblem(_plugin_file(error.plugin), "", f"未定義のフック名があります: {error}")
            )
            manager.unregister(error.plugin)
    return plugins
