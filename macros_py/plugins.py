"""Plugin manager: built-in modules and loose ``*.py`` files from a plugins folder.

Loose files are loaded by path (no ``exec``), each inside its own error boundary; a
file that fails to import, names a hook that does not exist, or raises inside a hook is
reported as a :class:`PluginProblem` (file and hook named) instead of crashing the run.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pluggy

from macros_py import hookspecs
from macros_py.plugin_api import ItemSpec, ModelSpec

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
        return [value for _file, value in self.collect_from(hook_name, **kwargs)]

    def collect_from(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Like :meth:`collect`, each value paired with the file of the plugin that returned it."""
        results: list[tuple[str, Any]] = []
        caller = getattr(self.manager.hook, hook_name)
        for implementation in reversed(caller.get_hookimpls()):
            file = _plugin_file(implementation.plugin)
            try:
                returned = implementation.function(**kwargs)
            except Exception as error:  # a plugin must never crash the run
                self.report(file, hook_name, error)
                continue
            if returned:
                results.extend((file, value) for value in returned)
        return results

    def report(self, file: str, hook: str, error: BaseException | str) -> None:
        """Record (and log) a plugin failure for the ログ tab."""
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.problems.append(PluginProblem(file, hook, message))
        logger.warning("plugin %s failed in %s: %s", file, hook, message)


def _plugin_file(plugin: object) -> str:
    return str(getattr(plugin, "__file__", None) or getattr(plugin, "__name__", repr(plugin)))


def _callable_file(function: object) -> str:
    """The plugin file that defines a function (its module's file)."""
    module = sys.modules.get(getattr(function, "__module__", "") or "")
    return _plugin_file(module) if module is not None else repr(function)


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


# --- Scoring plugins: custom items and models (hooks register_items, register_models) ---

_ITEM_ID = re.compile(r"^[A-Za-z0-9_]+$")


def collect_items(plugins: Plugins | None) -> list[ItemSpec]:
    """The valid ``ItemSpec`` of every ``register_items`` implementation, in load order.

    Anything else (not an ItemSpec, a bad or duplicate item id) is reported in
    ``plugins.problems`` and left out.
    """
    if plugins is None:
        return []
    items: dict[str, ItemSpec] = {}
    for file, spec in plugins.collect_from("register_items"):
        if not isinstance(spec, ItemSpec) or not callable(spec.compute):
            plugins.report(file, "register_items", f"ItemSpec ではない値を返しました: {spec!r}")
        elif not _ITEM_ID.match(spec.item_id):
            plugins.report(file, "register_items", f"項目ID「{spec.item_id}」は英数字と _ で書いてください")
        elif spec.item_id in items:
            plugins.report(file, "register_items", f"項目ID「{spec.item_id}」が重複しています")
        else:
            items[spec.item_id] = spec
    return list(items.values())


def collect_models(plugins: Plugins | None) -> list[ModelSpec]:
    """The valid ``ModelSpec`` of every ``register_models`` implementation (others reported)."""
    if plugins is None:
        return []
    models: dict[str, ModelSpec] = {}
    for file, spec in plugins.collect_from("register_models"):
        if not isinstance(spec, ModelSpec) or not (callable(spec.fit) and callable(spec.predict)):
            plugins.report(file, "register_models", f"ModelSpec ではない値を返しました: {spec!r}")
        elif not spec.name or spec.name in models:
            plugins.report(file, "register_models", f"モデル名「{spec.name}」が空か重複しています")
        else:
            models[spec.name] = spec
    return list(models.values())


def _as_float_series(returned: object, index: pd.Index, what: str) -> pd.Series:
    """A plugin's result as float on ``index``; a wrong shape is a ValueError (reported)."""
    if isinstance(returned, pd.Series):
        if not returned.index.isin(index).all():
            raise ValueError(f"{what}: 宛名番号が入力にない行を返しました")
        series = returned.reindex(index)
    else:
        values = np.asarray(returned)
        if values.shape != (len(index),):
            raise ValueError(f"{what}: {len(index)} 行を返すべきところ {values.shape} でした")
        series = pd.Series(values, index=index)
    return pd.to_numeric(series, errors="raise").astype("float64")


def compute_plugin_items(
    plugins: Plugins | None, *, children: pd.DataFrame, records_of: Callable[[str], pd.DataFrame]
) -> pd.DataFrame:
    """Values of every plugin item for the children (the call ``compute_items`` makes).

    Args:
        plugins: Loaded plugins (``None``: no plugin items).
        children: Index resident_id; the ``ItemResults.children`` columns.
        records_of: ``records_of(source_id)`` -> linked current records (see plugin_api).

    Returns:
        Index ``children.index``; one float column per item id (NaN = no value). An item
        that raises or returns the wrong shape is reported in ``plugins.problems`` and
        has no column.
    """
    columns: dict[str, pd.Series] = {}
    for spec in collect_items(plugins):
        try:
            returned = spec.compute(children.copy(), records_of)
            columns[spec.item_id] = _as_float_series(returned, children.index, spec.item_id)
        except Exception as error:  # a plugin must never crash the run
            plugins.report(_callable_file(spec.compute), f"register_items ({spec.item_id})", error)
    return pd.DataFrame(columns, index=children.index)


def _fit_predict(
    spec: ModelSpec, features: pd.DataFrame, labels: pd.Series, folds: int, seed: int
) -> pd.Series:
    if folds < 2:
        fitted = spec.fit(features.copy(), labels.copy())
        return _as_float_series(spec.predict(fitted, features.copy()), features.index, spec.name)
    from sklearn.model_selection import StratifiedKFold

    out_of_fold = pd.Series(np.nan, index=features.index, dtype="float64")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(features, labels.to_numpy(dtype=bool)):
        fitted = spec.fit(features.iloc[train].copy(), labels.iloc[train].copy())
        part = features.iloc[test]
        out_of_fold.iloc[test] = _as_float_series(spec.predict(fitted, part.copy()), part.index, spec.name)
    return out_of_fold


def plugin_model_scores(
    plugins: Plugins | None, features: pd.DataFrame, labels: pd.Series, *, folds: int = 0, seed: int = 0
) -> pd.DataFrame:
    """Scores of every plugin model (the call the ``score`` action makes).

    Args:
        plugins: Loaded plugins (``None``: no plugin models).
        features: Float features, index resident_id (the built-in model's features).
        labels: Bool, known to services, same index.
        folds: 0 = fit on all and predict all; k >= 2 = out-of-fold predictions of a
            stratified k-fold split (for honest evaluation).
        seed: Seed of the split.

    Returns:
        Index ``features.index``; one float column per model name. A model that raises
        or returns the wrong shape is reported in ``plugins.problems`` and has no column.
    """
    columns: dict[str, pd.Series] = {}
    for spec in collect_models(plugins):
        try:
            columns[spec.name] = _fit_predict(spec, features, labels, folds, seed)
        except Exception as error:  # a plugin must never crash the run
            plugins.report(_callable_file(spec.fit), f"register_models ({spec.name})", error)
    return pd.DataFrame(columns, index=features.index)
