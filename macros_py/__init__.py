"""mimamori: the Python engine behind the governed workbook (こどもデータ連携)."""

from macros_py.hookspecs import hookimpl

__all__ = ["hookimpl", "__version__"]
__version__ = "0.1.0"
