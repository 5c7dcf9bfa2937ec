"""Every docstring example in the package runs and gives what it shows (doctests)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "macros_py"


def _modules_with_examples() -> list[str]:
    """Dotted names of the package modules whose source holds a ``>>>`` example."""
    names = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            relative = path.relative_to(PACKAGE_ROOT.parent).with_suffix("")
            names.append(".".join(part for part in relative.parts if part != "__init__"))
    return names


MODULES = _modules_with_examples()


def test_examples_are_found():
    assert "macros_py.book.cells" in MODULES and len(MODULES) >= 5


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_pass(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{module_name}: no example ran"
    assert result.failed == 0, f"{module_name}: {result.failed} of {result.attempted} examples failed"
