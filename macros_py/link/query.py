"""Reading link results: the latest run of the ``links`` table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import case, func, select

from macros_py.store import Store
from macros_py.store.tables_link import links

__all__ = [
    "LINKABLE_COLUMNS",
    "current_links",
    "latest_run_id",
    "linkable_records",
    "records_by_id",
    "shared_objects",
]

LINKABLE_COLUMNS = (
    "record_id",
    "source_id",
    "resident_id",
    "household_id",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "school",
    "grade",
    "class_name",
    "student_number",
    "values_json",
)


def latest_run_id(store: Store) -> int | None:
    """Run number of the latest link run, or ``None`` before the first run."""
    with store.engine.connect() as connection:
        return connection.execute(select(func.max(links.c.run_id))).scalar_one_or_none()


def current_links(store: Store) -> pd.DataFrame:
    """Links of the latest run: record_id, source_id, resident_id, outcome, method, score, detail_json."""
    run_id = latest_run_id(store)
    columns = ["record_id", "source_id", "resident_id", "outcome", "method", "score", "detail_json"]
    if run_id is None:
        return pd.DataFrame(columns=columns)
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(*[links.c[c] for c in columns]).where(links.c.run_id == run_id)
        ).all()
    return pd.DataFrame(rows, columns=columns)


def linkable_records(
    store: Store, source_id: str | None = None, exclude_source_id: str | None = None
) -> pd.DataFrame:
    """Current records of every source, only the columns linkage reads, as object columns.

    Same rows as :func:`macros_py.ingest.query.current_records`, read without per-value
    type conversion (dates stay as the database returns them; linkage parses them once
    per distinct value). ``values_json`` is read only for records with a class (組), for
    the 出席番号 of roster chaining. Unordered.

    The rows are fetched in slices and kept as Arrow arrays; each column then becomes an
    object array holding one Python object per distinct value (a metropolis's two
    million records name a few hundred thousand people, addresses and dates), which is
    what keeps a 名寄せ of a metropolis within the memory of an office PC.

    Args:
        store: the store.
        source_id: only this source (the resident master, say).
        exclude_source_id: every source but this one.
    """
    from macros_py.ingest.query import current_records_query

    current = current_records_query(source_id).subquery()
    columns = [current.c[c] for c in LINKABLE_COLUMNS if c != "values_json"]
    values = case((current.c.class_name.isnot(None), current.c.values_json), else_=None).label("values_json")
    statement = select(*columns, values)
    if exclude_source_id is not None:
        statement = statement.where(current.c.source_id != exclude_source_id)
    with store.engine.connect() as connection:
        sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        # The driver's own cursor: plain tuples, no result-row objects per record.
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql)
            columns = _read_columns(cursor, LINKABLE_COLUMNS, numbers=("record_id",))
        finally:
            cursor.close()
    frame = pd.DataFrame(
        {
            name: pd.Series(values, dtype=object, copy=False) if values.dtype == object else values
            for name, values in columns.items()
        }
    )
    frame["record_id"] = frame["record_id"].astype(np.int64)
    return frame


# Rows fetched from the driver at a time: only this many rows exist as Python objects
# at once; the rest of the result waits as compact Arrow arrays.
ROWS_PER_FETCH = 100_000


def _arrow_chunk(values: tuple) -> pa.Array | None:
    """One fetched slice of a column as an Arrow array (``None`` if its values do not share a type).

    The type is the driver's (text, integers, dates on PostgreSQL). SQLite stores what it
    is given, so a column may mix text and numbers; it is then kept as Python objects.
    """
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _slice_columns(rows: list[tuple], row_type: pa.StructType | None) -> list:
    """The columns of one fetched slice: Arrow arrays, or the values of a column that has none.

    With ``row_type`` known the rows convert in one pass (no transposition in Python);
    a slice that does not fit it (a first text 学年, say) goes column by column.
    """
    if row_type is not None:
        try:
            return pa.array(rows, type=row_type).flatten()
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    columns = []
    for values in zip(*rows, strict=True):
        chunk = _arrow_chunk(values)
        columns.append(values if chunk is None else chunk)
    return columns


def _combined(parts: list[pa.Array]) -> pa.Array | None:
    """The slices of a column as one array (``None`` if they disagree on the type).

    A slice of nulls only has no type of its own and takes the others'; text is joined
    with 64-bit offsets, as a metropolis's column may exceed 2 GB.
    """
    kinds = {part.type for part in parts if part.null_count < len(part)}
    if len(kinds) > 1:
        return None
    kind = kinds.pop() if kinds else pa.large_string()  # no value at all: nulls of any type
    if pa.types.is_string(kind):
        kind = pa.large_string()
    return pa.concat_arrays([part.cast(kind) for part in parts])


def _read_columns(cursor, names: tuple[str, ...], numbers: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The cursor's rows as one array per column, read ``ROWS_PER_FETCH`` rows at a time.

    Columns named in ``numbers`` that hold integers without nulls become int64 arrays;
    the others object arrays in which equal values are one shared Python object (see
    :func:`shared_objects`).
    """
    chunks: dict[str, list] = {name: [] for name in names}
    row_type = None  # the columns' Arrow types, once a slice has shown them all
    while rows := cursor.fetchmany(ROWS_PER_FETCH):
        for name, chunk in zip(names, _slice_columns(rows, row_type), strict=True):
            chunks[name].append(chunk)
        if row_type is None and all(isinstance(chunks[name][-1], pa.Array) for name in names):
            # A column without a value yet is guessed to be text; a slice that proves
            # otherwise converts column by column.
            kinds = [chunks[name][-1].type for name in names]
            kinds = [pa.large_string() if kind == pa.null() else kind for kind in kinds]
            row_type = pa.struct(list(zip(names, kinds, strict=True)))
        del rows
    out: dict[str, np.ndarray] = {}
    for name in names:
        parts = chunks.pop(name)
        if not parts:
            out[name] = np.empty(0, dtype=object)
            continue
        array = _combined(parts) if all(isinstance(part, pa.Array) for part in parts) else None
        if array is not None and name in numbers and pa.types.is_integer(array.type) and not array.null_count:
            out[name] = array.to_numpy().astype(np.int64, copy=False)
        elif array is not None:
            out[name] = shared_objects(array)
        else:  # mixed types: the driver's own objects, in order
            values = [
                value
                for part in parts
                for value in (part.to_pylist() if isinstance(part, pa.Array) else part)
            ]
            out[name] = np.empty(len(values), dtype=object)
            out[name][:] = values
        del parts, array
    return out


def shared_objects(array: pa.Array) -> np.ndarray:
    """An Arrow array as an object array with one Python object per distinct value.

    Only the distinct values are converted (``None`` where null). Equal values being one
    object costs a pointer per row instead of a string each, and hashing them again
    (factorising, joining) reuses each object's cached hash.

    Examples:
        >>> values = shared_objects(pa.array(["a", None, "a"]))
        >>> values.tolist(), values[0] is values[2]
        (['a', None, 'a'], True)
    """
    encoded = pc.dictionary_encode(array)
    table = np.empty(len(encoded.dictionary) + 1, dtype=object)
    table[:-1] = encoded.dictionary.to_pylist()
    table[-1] = None
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return table[codes]


_IDS_PER_QUERY = 5_000


def records_by_id(store: Store, record_ids: np.ndarray) -> pd.DataFrame:
    """The linkage columns (without ``values_json``) of the given records, in the order given.

    Used for the few rows shown on the 名寄せ確認 tab, so that a run need not keep every
    resident's raw text in memory. Unknown ids give empty rows.
    """
    from macros_py.store.tables_ingest import records

    columns = [c for c in LINKABLE_COLUMNS if c != "values_json"]
    wanted = [int(record_id) for record_id in np.unique(np.asarray(record_ids, dtype=np.int64))]
    rows: list = []
    with store.engine.connect() as connection:
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            part = wanted[start : start + _IDS_PER_QUERY]
            statement = select(*[records.c[c] for c in columns]).where(records.c.record_id.in_(part))
            rows.extend(tuple(row) for row in connection.execute(statement))
    found = pd.DataFrame(rows, columns=columns, dtype=object)
    found["record_id"] = found["record_id"].astype(np.int64)
    found = found.drop_duplicates("record_id").set_index("record_id")
    ordered = found.reindex(pd.Index(np.asarray(record_ids, dtype=np.int64), name="record_id"))
    return ordered.reset_index().astype({c: object for c in columns if c != "record_id"})
