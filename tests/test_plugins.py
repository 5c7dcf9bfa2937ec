"""Plugins: loose files load, misspelt hooks and failing plugins are reported, not fatal."""

from __future__ import annotations

from macros_py.plugins import load_plugins

GOOD = """
from macros_py import hookimpl

@hookimpl
def register_readers():
    return ["good-reader"]
"""

MISSPELT = """
from macros_py import hookimpl

@hookimpl
def register_reader():
    return ["never"]
"""

RAISES = """
from macros_py import hookimpl

@hookimpl
def register_readers():
    raise RuntimeError("boom")
"""

BROKEN = "this is not python ("


def test_loose_plugin_files_are_loaded_and_problems_named(tmp_path):
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    (tmp_path / "misspelt.py").write_text(MISSPELT, encoding="utf-8")
    (tmp_path / "raises.py").write_text(RAISES, encoding="utf-8")
    (tmp_path / "broken.py").write_text(BROKEN, encoding="utf-8")
    plugins = load_plugins(tmp_path, builtin=())
    readers = plugins.collect("register_readers")
    assert readers == ["good-reader"]
    files = {problem.file.rsplit("/", 1)[-1]: problem for problem in plugins.problems}
    assert set(files) == {"misspelt.py", "raises.py", "broken.py"}
    assert files["raises.py"].hook == "register_readers" and "boom" in files["raises.py"].message
    assert "未定義のフック" in files["misspelt.py"].message
    assert "raises.py" in files["raises.py"].as_japanese()


def test_missing_plugins_folder_loads_only_builtins(tmp_path):
    plugins = load_plugins(tmp_path / "nope")
    assert plugins.problems == []
