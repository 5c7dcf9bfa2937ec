"""The store: SQLAlchemy Core over SQLite by default, any SQLAlchemy URL by setting."""

from macros_py.store.engine import Store, open_store, resolve_store_url
from macros_py.store.schema import SCHEMA_VERSION, metadata

__all__ = ["SCHEMA_VERSION", "Store", "metadata", "open_store", "resolve_store_url"]
