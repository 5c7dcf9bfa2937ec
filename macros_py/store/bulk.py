"""Fast bulk inserts of DataFrames, shared by the stages that write many rows.

SQLite gets multi-row INSERT statements through the transaction's DB-API cursor,
PostgreSQL (psycopg) gets COPY FROM STDIN, other databases Core ``executemany``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert

__all__ = ["bulk_insert"]


def _db_column(series: pd.Series, sqlite: bool) -> list:
    """A column as Python values for the DB-API, missing values as ``None``."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if not sqlite:
            return series.dt.date.astype("object").where(series.notna(), None).tolist()
        series = series.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_float_dtype(series) and series.name == "grade":
        series = series.astype("Int64")
    elif isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
        return series.tolist()
    return series.to_numpy(dtype=object, na_value=None).tolist()


_SQLITE_VARIABLES = 32_000  # below SQLite's limit on parameters per statement (32,766)
_ROWS_PER_STATEMENT = 500


def _sqlite_insert(connection: Connection, table, columns: list[str], values: list[list]) -> None:
    """Multi-row INSERT statements of a few hundred rows each.

    sqlite3 releases the GIL while a statement runs, so a statement that writes hundreds of
    rows lets the mapping threads work meanwhile; one statement per row would hand the GIL
    back and forth a million times.
    """
    rows = len(values[0])
    grid = np.empty((rows, len(columns)), dtype=object)
    for position, column_values in enumerate(values):
        grid[:, position] = column_values
    per_statement = max(1, min(_ROWS_PER_STATEMENT, _SQLITE_VARIABLES // len(columns)))
    row_marks = "(" + ", ".join("?" for _ in columns) + ")"

    def statement(count: int) -> str:
        return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join([row_marks] * count)}"

    full = rows // per_statement
    cursor = connection.connection.cursor()  # this transaction's DB-API cursor: blocks stream in
    try:
        if full:
            blocks = (grid[i * per_statement : (i + 1) * per_statement].ravel().tolist() for i in range(full))
            cursor.executemany(statement(per_statement), blocks)
        if rows % per_statement:
            cursor.execute(statement(rows % per_statement), grid[full * per_statement :].ravel().tolist())
    finally:
        cursor.close()


def _postgres_copy(connection: Connection, table, columns: list[str], values: list[list]) -> None:
    """COPY FROM STDIN through psycopg: several times faster than executemany."""
    cursor = connection.connection.cursor()  # this transaction's DB-API cursor
    try:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in zip(*values, strict=True):
                copy.write_row(row)
    finally:
        cursor.close()


def bulk_insert(connection: Connection, table, frame: pd.DataFrame) -> None:
    """Insert a frame's rows: multi-row statements on SQLite, COPY on PostgreSQL (psycopg),
    Core executemany elsewhere.

    Columns without any value are left out of the statement (they default to NULL),
    which saves binding millions of NULLs for sources that map few fields.
    """
    if frame.empty:
        return
    columns = [column for column in frame.columns if frame[column].notna().any()]
    sqlite = connection.dialect.name == "sqlite"
    values = [_db_column(frame[column], sqlite) for column in columns]
    if sqlite:
        _sqlite_insert(connection, table, columns, values)
    elif connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        _postgres_copy(connection, table, columns, values)
    else:
        connection.execute(
            insert(table), [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
        )
