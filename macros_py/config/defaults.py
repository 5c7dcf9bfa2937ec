"""Default rows of the settings tabs, read from the ``mappings/`` CSV files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from macros_py.resources import resource_folder
from macros_py.sheets import SHEET_BY_KEY


def mappings_folder() -> Path:
    """The folder holding default mapping CSVs (``MIMAMORI_MAPPINGS`` overrides)."""
    return resource_folder("mappings")


def read_mapping_csv(file_name: str) -> pd.DataFrame:
    """Read one UTF-8 mapping CSV as all-text columns with empty strings for blanks."""
    path = mappings_folder() / file_name
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def default_table(sheet_key: str) -> pd.DataFrame:
    """Default rows for a settings sheet, with exactly the sheet's columns in order."""
    sheet = SHEET_BY_KEY[sheet_key]
    if sheet.defaults_csv is None:
        return pd.DataFrame(columns=sheet.headers, dtype=str)
    path = mappings_folder() / sheet.defaults_csv
    if not path.exists():
        return pd.DataFrame(columns=sheet.headers, dtype=str)
    frame = read_mapping_csv(sheet.defaults_csv)
    for header in sheet.headers:
        if header not in frame.columns:
            frame[header] = ""
    return frame[sheet.headers].reset_index(drop=True)


def default_tables() -> dict[str, pd.DataFrame]:
    """Default rows of every settings sheet, by sheet key."""
    return {key: default_table(key) for key, sheet in SHEET_BY_KEY.items() if sheet.role == "settings"}
