"""Reading the current, linked records of one source with typed value fields.

Items look at records through the resident each record was linked to in the latest link
run (outcomes exact / crosswalk / roster / auto: staff-confirmed pairs become crosswalk
links). The value fields of a record live in its ``values_json`` text
(:mod:`macros_py.ingest.values_json`); they are parsed column-wise with Arrow's JSON
reader and typed by the 項目マッピング 型 (数値 → float, 日付 → datetime64, フラグ →
bool, 文字/コード → text), so a city's 600,000 records need no per-record Python.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json
from sqlalchemy import LargeBinary, and_, cast, func, select

from macros_py.ingest.mapping import MappingConfig
from macros_py.ingest.query import current_records_query, extract_records_query
from macros_py.link.pipeline import LINKED
from macros_py.link.query import latest_run_id
from macros_py.store import Store
from macros_py.store.tables_ingest import current_import_condition, imports
from macros_py.store.tables_link import links

__all__ = [
    "CANONICAL_RECORD_FIELDS",
    "RECORD_COLUMNS",
    "SourceCache",
    "current_extract_date",
    "fetch_rows",
    "id_values",
    "field_types",
    "linked_residents",
    "linked_source_records",
    "rows_frame",
    "previous_source_records",
    "typed_values",
]

logger = logging.getLogger(__name__)

# Canonical fields a rule may name besides the value fields (label → column, 型).
CANONICAL_RECORD_FIELDS: dict[str, tuple[str, str]] = {
    "学校": ("school", "文字"),
    "学年": ("grade", "数値"),
    "組": ("class_name", "文字"),
}
RECORD_COLUMNS = ("record_id", "resident_id", "extract_date", "school", "grade", "class_name")
_ARROW_TYPES = {"数値": pa.float64(), "日付": pa.string(), "フラグ": pa.bool_()}


def field_types(mapping: MappingConfig, source_id: str) -> dict[str, str]:
    """Fields a rule may name for one source, with their 型 (数値/日付/フラグ/文字/コード).

    The value fields of the 項目マッピング tab (in tab order) plus 学校, 学年 and 組 when
    the source maps them.
    """
    types: dict[str, str] = {}
    for column in mapping.columns_of(source_id):
        if column.canonical is None:
            types.setdefault(column.target, column.value_type)
        elif column.target in CANONICAL_RECORD_FIELDS:
            types.setdefault(column.target, CANONICAL_RECORD_FIELDS[column.target][1])
    return types


def _value_fields(mapping: MappingConfig, source_id: str, fields: Iterable[str] | None) -> dict[str, str]:
    value_types = {c.target: c.value_type for c in mapping.columns_of(source_id) if c.canonical is None}
    if fields is None:
        return value_types
    wanted = set(fields)
    return {name: kind for name, kind in value_types.items() if name in wanted}


def fetch_rows(store: Store, statement) -> list[tuple]:
    """Rows of a SELECT through the driver's cursor (plain tuples, no row objects)."""
    with store.engine.connect() as connection:
        sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql)
            return cursor.fetchall()
        finally:
            cursor.close()


_KEY_COLUMNS = ("student_number", "name", "birth_date")


def rows_frame(rows: list[tuple], names: list[str]) -> pd.DataFrame:
    """Object columns from driver rows (one 2-D object array: pandas' own list-of-tuples
    path checks every value and is several times slower at city scale)."""
    table = np.empty((len(rows), len(names)), dtype=object)
    if rows:
        table[:] = rows
    return pd.DataFrame({name: pd.Series(table[:, i], dtype=object) for i, name in enumerate(names)})


def _extract_dates(store: Store, import_ids: np.ndarray) -> pd.Series:
    """The extract date (datetime64) of each row's import, from one read of the imports table.

    Reading the import id (an integer) per record and the date per import is cheaper
    than the same date text in every row (a city: 800,000 texts made and parsed).
    """
    rows = fetch_rows(store, select(imports.c.import_id, imports.c.extract_date))
    dates = pd.Series([row[1] for row in rows], index=[int(row[0]) for row in rows], dtype=object)
    codes, uniques = pd.factorize(import_ids)
    parsed = pd.to_datetime(dates.reindex(uniques).to_numpy(dtype=object), errors="coerce")
    return pd.Series(parsed.take(codes), dtype=parsed.dtype) if len(codes) else pd.Series(parsed[:0])


def _record_rows(
    store: Store,
    query,
    *,
    with_values: bool,
    with_keys: bool = False,
    extra_columns: Iterable[str] = (),
    own_ids: bool = True,
) -> pd.DataFrame:
    """The records of ``query`` with :data:`RECORD_COLUMNS` (``resident_id`` ``None`` unless
    ``own_ids``), the ``extra_columns`` and ``values_json`` as UTF-8 bytes.

    ``values_json`` comes as bytes (``CAST AS BLOB``): Arrow's JSON reader wants bytes, and
    a text would be decoded into Python and encoded back (a city: 1 s).
    """
    current = query.subquery()
    keys = [*(_KEY_COLUMNS if with_keys else ()), *extra_columns]
    fetched = [c for c in RECORD_COLUMNS if c != "extract_date" and (own_ids or c != "resident_id")]
    names = [*fetched, "import_id", *keys]
    columns = [current.c[c] for c in names]
    if with_values:
        names.append("values_json")
        columns.append(cast(current.c.values_json, LargeBinary).label("values_json"))
    frame = rows_frame(fetch_rows(store, select(*columns)), names)
    frame["record_id"] = frame["record_id"].astype(np.int64)
    frame["extract_date"] = _extract_dates(store, frame.pop("import_id").to_numpy(dtype=np.int64))
    frame["grade"] = pd.to_numeric(frame["grade"], errors="coerce").astype(float)
    if own_ids:  # else the caller replaces them by the linked residents
        frame["resident_id"] = id_values(frame["resident_id"])
    else:
        frame["resident_id"] = pd.Series([None] * len(frame), dtype=object)
    order = [*RECORD_COLUMNS, *keys, *(["values_json"] if with_values else [])]
    return frame[order]


def linked_residents(store: Store, source_id: str | None = None) -> pd.Series:
    """record_id → resident_id (text) of the records the latest link run linked.

    One scan of the run's links (joining them in SQL would walk every link of the run
    once per source).
    """
    run_id = latest_run_id(store)
    conditions = [links.c.run_id == run_id, links.c.outcome.in_(LINKED), links.c.resident_id.isnot(None)]
    if source_id is not None:
        conditions.append(links.c.source_id == source_id)
    rows = (
        fetch_rows(store, select(links.c.record_id, links.c.resident_id).where(*conditions)) if run_id else []
    )
    frame = rows_frame(rows, ["record_id", "resident_id"]).drop_duplicates("record_id")
    index = pd.Index(frame["record_id"].to_numpy(dtype=np.int64), name="record_id")
    return pd.Series(id_values(frame["resident_id"]).to_numpy(), index=index, dtype=object)


def _linked_to(record_ids: pd.Series, linked: pd.Series) -> pd.Series:
    """The linked resident of each record id (``None`` when not linked), an object column.

    (An object array assigned to a frame column would become pandas' Arrow text.)
    """
    position = linked.index.get_indexer(record_ids.to_numpy(dtype=np.int64))
    found = linked.to_numpy(dtype=object)
    values = np.where(position >= 0, found[np.maximum(position, 0)] if len(found) else None, None)
    return pd.Series(values, index=record_ids.index, dtype=object)


def _empty_values(types: Mapping[str, str], length: int) -> dict[str, pd.Series]:
    return {name: pd.Series([None] * length, dtype=object) for name in types}


def _json_lines(texts: np.ndarray) -> bytes:
    """One UTF-8 JSON object per line (the texts hold no raw newline: JSON escapes it)."""
    try:  # the store's reads give bytes: joined without a Python round trip
        return b"\n".join(texts.tolist()) + b"\n"
    except TypeError:
        lines = (text if type(text) is bytes else str(text).encode("utf-8") for text in texts)
        return b"\n".join(lines) + b"\n"


def _parsed_by_arrow(texts: np.ndarray, types: Mapping[str, str]) -> pd.DataFrame:
    schema = pa.schema([pa.field(name, _ARROW_TYPES.get(kind, pa.string())) for name, kind in types.items()])
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    table = pa_json.read_json(io.BytesIO(_json_lines(texts)), parse_options=options)
    return table.to_pandas(types_mapper=None)


def _parsed_by_json(texts: np.ndarray, types: Mapping[str, str]) -> pd.DataFrame:
    """Fallback: one json.loads per distinct text (a value of an unexpected JSON type)."""
    codes, uniques = pd.factorize(texts)
    loaded = [json.loads(text if isinstance(text, str | bytes) else str(text)) for text in uniques]
    parsed = pd.DataFrame(loaded, columns=list(types))
    return parsed.iloc[codes].reset_index(drop=True)


def _typed(column: pd.Series, kind: str) -> pd.Series:
    if kind == "数値":
        return pd.to_numeric(column, errors="coerce").astype(float)
    if kind == "日付":
        return pd.to_datetime(column, errors="coerce", format="%Y-%m-%d")
    if kind == "フラグ":
        return column.astype("boolean")
    return column.astype(object).where(column.notna(), None)


def typed_values(texts: pd.Series, types: Mapping[str, str]) -> pd.DataFrame:
    """The named value fields of ``values_json`` texts as typed columns (same index).

    Args:
        texts: ``values_json`` per record, as text or UTF-8 bytes (missing → every field
            missing).
        types: field name → 型, the fields to read.

    Returns:
        One column per field: float (数値), datetime64 (日付), nullable boolean (フラグ),
        object text (文字/コード); missing values as NaN/NaT/<NA>/None.
    """
    if not types:
        return pd.DataFrame(index=texts.index)
    # a plain object array, not pandas' str dtype: Arrow text there and back cost 1 s on a city
    filled = np.array(texts.to_numpy(dtype=object), dtype=object, copy=True)
    filled[pd.isna(filled)] = b"{}"
    if len(filled) == 0:
        raw = pd.DataFrame(_empty_values(types, 0))
    else:
        try:
            raw = _parsed_by_arrow(filled, types)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            logger.info("values_json read one text at a time (unexpected value type)")
            raw = _parsed_by_json(filled, types)
    typed = {name: _typed(raw[name].reset_index(drop=True), kind) for name, kind in types.items()}
    return pd.DataFrame(typed).set_axis(texts.index)


def _with_values(frame: pd.DataFrame, types: Mapping[str, str]) -> pd.DataFrame:
    values = typed_values(frame.pop("values_json"), types)
    extra = [name for name in values.columns if name not in frame.columns]
    return pd.concat([frame, values[extra]], axis=1)


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical columns also under the labels rules use (学校, 学年, 組)."""
    for label, (column, _) in CANONICAL_RECORD_FIELDS.items():
        if label not in frame.columns:
            frame[label] = frame[column]
    return frame


def id_values(values: pd.Series) -> pd.Series:
    """Identifiers as Python text in an object column, missing as ``None``.

    Pandas' Arrow-backed text makes every ``isin`` a Python loop; object columns hash.
    """
    given = np.asarray(values.to_numpy(dtype=object), dtype=object)
    if pd.api.types.infer_dtype(given, skipna=False) == "string":  # all text already, none missing
        # (the store's usual case: hashing a metro's 2.3 million link ids to re-make them took 2 s)
        return pd.Series(given, index=values.index, dtype=object)
    codes, uniques = pd.factorize(given)
    table = np.array([str(value) for value in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype=object)


def linked_source_records(
    store: Store,
    source_id: str,
    *,
    mapping: MappingConfig,
    fields: Iterable[str] | None = None,
    resident_source_id: str | None = None,
    linked: pd.Series | None = None,
    rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The current records of one source that the latest link run linked to a resident.

    Args:
        store: the store.
        source_id: the source (取込設定 ソースID).
        mapping: the parsed mapping tabs (for the value fields' 型).
        fields: value fields to read (``None``: every value field of the source).
        resident_source_id: the resident source; its records are their own residents
            (they are the master the others were linked to).
        linked: :func:`linked_residents` when already read (else read for this source).
        rows: the source's current records when already read with ``values_json``
            (:meth:`SourceCache.resident_rows`; else read here).

    Returns:
        One row per linked record: ``record_id, resident_id`` (text), ``extract_date``,
        ``school, grade, class_name`` (also as 学校, 学年, 組) and one typed column per
        value field. Unlinked, review and conflict records are left out.
    """
    types = _value_fields(mapping, source_id, fields)
    if rows is not None:
        frame = rows[[*RECORD_COLUMNS, *(["values_json"] if types else [])]].copy()
    else:
        own_ids = source_id == resident_source_id
        query = current_records_query(source_id)
        frame = _record_rows(store, query, with_values=bool(types), own_ids=own_ids)
    if source_id != resident_source_id:  # the master: each record is its own resident
        linked = linked_residents(store, source_id) if linked is None else linked
        frame["resident_id"] = _linked_to(frame["record_id"], linked)
    frame = frame[frame["resident_id"].notna() & (frame["resident_id"] != "")]
    if types:
        frame = _with_values(frame, types)
    return _labelled(frame.reset_index(drop=True))


def _previous_import_ids(store: Store, source_id: str) -> list[int]:
    """Imports of the extract before the current one (the newest older stored extract)."""
    current_date = select(func.max(imports.c.extract_date)).where(current_import_condition(source_id))
    older = and_(
        imports.c.source_id == source_id,
        imports.c.status == "stored",
        imports.c.superseded_by.isnot(None),
        imports.c.extract_date < current_date.scalar_subquery(),
    )
    with store.engine.connect() as connection:
        previous_date = connection.execute(select(func.max(imports.c.extract_date)).where(older)).scalar()
        if previous_date is None:
            return []
        rows = connection.execute(
            select(imports.c.import_id).where(older, imports.c.extract_date == previous_date)
        ).all()
    return [int(row[0]) for row in rows]


def previous_source_records(
    store: Store,
    source_id: str,
    *,
    mapping: MappingConfig,
    fields: Iterable[str] | None = None,
    resident_source_id: str | None = None,
    linked: pd.Series | None = None,
    import_ids: Sequence[int] | None = None,
) -> pd.DataFrame | None:
    """The records of the source's previous extract, as :func:`linked_source_records`.

    An older record takes the resident of its own link when it is still current (carried
    unchanged), else of the current record with the same key (学校 + 生徒番号, or 氏名 +
    生年月日), else its own 宛名番号. Older records of people not found stay out.

    ``import_ids`` names the extract's imports when not the one just before the current
    (temporal validation reads a chosen earlier extract).

    Returns:
        The frame, or ``None`` when the source has no earlier extract (the item is
        then unavailable, never zero).
    """
    import_ids = _previous_import_ids(store, source_id) if import_ids is None else list(import_ids)
    if not import_ids:
        return None
    types = _value_fields(mapping, source_id, fields)
    query = extract_records_query(source_id, import_ids)
    frame = _record_rows(store, query, with_values=bool(types), with_keys=True).drop_duplicates("record_id")
    if source_id != resident_source_id:
        linked = linked_residents(store, source_id) if linked is None else linked
        frame = _previous_residents(store, frame, source_id, linked)
    frame = frame[frame["resident_id"].notna() & (frame["resident_id"] != "")]
    frame = frame.drop(columns=list(_KEY_COLUMNS))
    if types:
        frame = _with_values(frame, types)
    return _labelled(frame.reset_index(drop=True))


def _record_key(frame: pd.DataFrame) -> pd.Series:
    """学校|生徒番号 where the source has a student number, else 氏名|生年月日 (as stored)."""
    text = {c: frame[c].astype(object).where(frame[c].notna(), "").astype(str) for c in _KEY_COLUMNS}
    school = frame["school"].astype(object).where(frame["school"].notna(), "").astype(str)
    numbered = school + "|" + text["student_number"]
    named = text["name"] + "|" + text["birth_date"].str[:10]
    return numbered.where(text["student_number"] != "", named)


def _previous_residents(store: Store, frame: pd.DataFrame, source_id: str, linked: pd.Series) -> pd.DataFrame:
    """Resident of each older record: its link (a carried record), else the resident linked
    to the current record with the same key, else its own 宛名番号."""
    query = current_records_query(source_id)
    current = _record_rows(store, query, with_values=False, with_keys=True, own_ids=False)
    current["resident_id"] = _linked_to(current["record_id"], linked)
    current = current[current["resident_id"].notna()]
    current_keys = pd.Series(current["resident_id"].to_numpy(), index=_record_key(current).to_numpy())
    by_key = current_keys[~current_keys.index.duplicated(keep=False)]
    resident = _linked_to(frame["record_id"], linked)
    resident = resident.fillna(_record_key(frame).map(by_key))
    own = frame["resident_id"].where(frame["resident_id"].notna() & (frame["resident_id"] != ""))
    return frame.assign(resident_id=id_values(resident.fillna(own)))


def current_extract_date(store: Store, source_id: str) -> pd.Timestamp:
    """The newest extract date among the source's current imports (NaT when none)."""
    statement = select(func.max(imports.c.extract_date)).where(current_import_condition(source_id))
    with store.engine.connect() as connection:
        value = connection.execute(statement).scalar()
    return pd.Timestamp(value) if value is not None else pd.NaT


class SourceCache:
    """Each source's linked records read once per run, with every field any user asked for.

    Call :meth:`want` for all sources and fields first, then :meth:`current`.
    """

    def __init__(self, store: Store, mapping: MappingConfig, *, resident_source_id: str | None):
        self.store, self.mapping, self.resident_source_id = store, mapping, resident_source_id
        self.known = {source.source_id for source in mapping.sources}
        self._fields: dict[str, set[str] | None] = {}
        self._current: dict[str, pd.DataFrame] = {}
        self._previous: dict[str, pd.DataFrame | None] = {}
        self._dates: dict[str, pd.Timestamp] = {}
        self._linked: pd.Series | None = None
        self._resident_rows: pd.DataFrame | None = None

    def resident_rows(self, extra_columns: Iterable[str]) -> pd.DataFrame:
        """The resident source's current records with ``extra_columns`` and ``values_json``,
        read once: the master and the source's items share them (a city's 260,000 rows)."""
        if self._resident_rows is None:
            query = current_records_query(self.resident_source_id)
            self._resident_rows = _record_rows(
                self.store, query, with_values=True, extra_columns=extra_columns
            )
        return self._resident_rows

    @property
    def linked(self) -> pd.Series:
        """Every link of the latest run (one read per run)."""
        if self._linked is None:
            self._linked = linked_residents(self.store)
        return self._linked

    def want(self, source_id: str, fields: Iterable[str] | None) -> None:
        """Ask for value fields of a source (``None``: every field)."""
        known = self._fields.get(source_id, set())
        self._fields[source_id] = None if fields is None or known is None else known | set(fields)

    def current(self, source_id: str) -> pd.DataFrame:
        """:func:`linked_source_records` of the source (empty when it is not in the mapping)."""
        if source_id not in self._current:
            if source_id not in self.known:
                return pd.DataFrame(columns=[*RECORD_COLUMNS, *CANONICAL_RECORD_FIELDS])
            self._current[source_id] = linked_source_records(
                self.store,
                source_id,
                mapping=self.mapping,
                fields=self._fields.get(source_id, set()),
                resident_source_id=self.resident_source_id,
                linked=self.linked,
                rows=self._resident_rows if source_id == self.resident_source_id else None,
            )
            if source_id == self.resident_source_id:
                self._resident_rows = None  # read into the records; no longer needed
        return self._current[source_id]

    def forget(self, source_id: str) -> None:
        """Drop the source's current records (a caller keeping its own copy frees memory;
        a later :meth:`current` reads them again)."""
        self._current.pop(source_id, None)

    def previous(self, source_id: str) -> pd.DataFrame | None:
        """:func:`previous_source_records` of the source."""
        if source_id not in self._previous:
            self._previous[source_id] = previous_source_records(
                self.store,
                source_id,
                mapping=self.mapping,
                fields=self._fields.get(source_id, set()),
                resident_source_id=self.resident_source_id,
                linked=self.linked,
            )
        return self._previous[source_id]

    def extract_date(self, source_id: str) -> pd.Timestamp:
        """:func:`current_extract_date` of the source."""
        if source_id not in self._dates:
            self._dates[source_id] = current_extract_date(self.store, source_id)
        return self._dates[source_id]
