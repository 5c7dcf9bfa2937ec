"""Apply a source's column mappings to a chunk of raw text cells, vectorised.

Each mapped target (canonical field or value field) is parsed column-wise; every bad
cell becomes one quarantine entry (row number, column, value, reason) and its row is
kept out of the records. Nothing is dropped without an entry.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from macros_py.ingest.mapping import JOINABLE, CodeTable, ColumnMapping
from macros_py.ingest.row_marks import WHOLE_ROW, marked_rows
from macros_py.ingest.values_json import encode_values
from macros_py.normalize.dates import parse_dates
from macros_py.normalize.numbers import parse_integers, parse_numbers
from macros_py.normalize.text import clean_text, fold_width
from macros_py.store.tables_ingest import records as records_table
from macros_py.vocabulary import CANONICAL_FIELDS, SEX_VALUES

__all__ = ["CANONICAL_COLUMNS", "MappedChunk", "Target", "apply_mapping", "filled_counts", "plan_targets"]

CANONICAL_COLUMNS: tuple[str, ...] = tuple(field.identifier for field in CANONICAL_FIELDS)
QUARANTINE_COLUMNS: tuple[str, ...] = ("position", "row_number", "column_name", "value", "reason")
REASON_REQUIRED = "必須項目が空です"
# Keys joined exactly (宛名番号, 世帯番号, 生徒番号): stored width-folded, dashes as "-".
KEY_IDENTIFIERS: frozenset[str] = frozenset({"resident_id", "household_id", "student_number"})
_DASHES = "[\u2010-\u2015\u2212\u30fc\uff70]"


@dataclass(frozen=True)
class Target:
    """One canonical or value field of a source and the file columns (by position) feeding it."""

    name: str  # Japanese label, e.g. 生年月日 or 欠席日数
    identifier: str | None  # canonical identifier, None for a value field
    value_type: str
    rule: str
    required: bool
    columns: tuple[str, ...]  # file header names, in mapping order
    positions: tuple[int, ...]
    true_values: tuple[str, ...] = ()
    false_values: tuple[str, ...] = ()  # フラグ: any other non-empty value is an error

    @property
    def column_label(self) -> str:
        return "・".join(self.columns)


@dataclass(frozen=True)
class MappedChunk:
    """The outcome of one chunk: valid records and quarantine entries."""

    records: pd.DataFrame  # position, row_number, canonical identifiers, values_json
    quarantine: pd.DataFrame  # position, row_number, column_name, value, reason
    bad_rows: np.ndarray  # bool per input row: the row went to quarantine
    filled: pd.DataFrame  # bool per record and 項目 label: the cell has a value

    @property
    def rows_read(self) -> int:
        return len(self.bad_rows)

    @property
    def rows_quarantined(self) -> int:
        return int(self.bad_rows.sum())


def plan_targets(mappings: Sequence[ColumnMapping], positions: Mapping[str, int]) -> list[Target]:
    """Group mappings by target field, keeping only file columns that are present."""
    by_target: dict[str, list[ColumnMapping]] = {}
    for mapping in mappings:
        by_target.setdefault(mapping.target, []).append(mapping)
    targets = []
    for name, group in by_target.items():
        present = [m for m in group if m.source_column in positions]
        if not present:
            continue
        first = group[0]
        canonical = first.canonical
        targets.append(
            Target(
                name=name,
                identifier=canonical.identifier if canonical else None,
                value_type=first.value_type,
                rule=first.rule,
                required=any(m.required for m in group),
                columns=tuple(m.source_column for m in present),
                positions=tuple(positions[m.source_column] for m in present),
                true_values=first.true_values,
                false_values=first.false_values,
            )
        )
    return targets


def _joined(frame: pd.DataFrame, target: Target) -> tuple[pd.Series, pd.Series]:
    """(raw text for quarantine, cleaned text) of a target, joining several columns."""
    raw = frame[target.positions[0]].astype("str")
    text = clean_text(raw)
    separator = JOINABLE.get(target.name, " ")
    for position in target.positions[1:]:
        more_raw = frame[position].astype("str")
        more = clean_text(more_raw)
        text = pd.Series(
            np.where(text == "", more, np.where(more == "", text, text + separator + more)),
            index=frame.index,
            dtype="str",
        )
        raw = raw + " | " + more_raw
    return raw, text


def key_text(text: pd.Series) -> pd.Series:
    """Keys as joined: full-width digits and letters folded (NFKC), any dash written ``-``.

    Examples:
        >>> key_text(pd.Series(["０００１", "１２３－４５", "12‐3", "A-1"], dtype="str")).tolist()
        ['0001', '123-45', '12-3', 'A-1']
    """
    return fold_width(text).str.replace(_DASHES, "-", regex=True)


def _fold_set(values: Sequence[str]) -> set[str]:
    return {unicodedata.normalize("NFKC", value).strip().upper() for value in values}


def _max_length(identifier: str | None) -> int | None:
    if identifier is None:
        return None
    return getattr(records_table.c[identifier].type, "length", None)


def _parse_flags(
    target: Target, text: pd.Series, empty: pd.Series, errors: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """True, false or missing (blank: unknown, never false); a value in neither list is an error."""
    folded = fold_width(text).str.upper()
    truthy = folded.isin(_fold_set(target.true_values)).to_numpy(dtype=bool)
    falsy = folded.isin(_fold_set(target.false_values)).to_numpy(dtype=bool) & ~truthy
    values = pd.Series(np.where(truthy, True, np.where(falsy, False, None)), index=text.index, dtype="object")
    unknown = ~empty.to_numpy(dtype=bool) & ~truthy & ~falsy
    reason = (
        f"フラグとして読めません(はい: {','.join(target.true_values)} / "
        f"いいえ: {','.join(target.false_values)})"
    )
    return values, errors.mask(unknown, reason)


def _parse_target(
    target: Target, text: pd.Series, code_tables: Mapping[str, CodeTable], not_after: dt.date | None
) -> tuple[pd.Series, pd.Series]:
    """(parsed values, Japanese reason per cell or "")."""
    empty = text == ""
    errors = pd.Series("", index=text.index, dtype="str")
    kind = target.value_type
    if kind == "日付":
        result = parse_dates(text, not_after=not_after if target.identifier == "birth_date" else None)
        values, errors = result.dates, result.errors
    elif kind == "数値":
        result = (parse_integers if target.identifier == "grade" else parse_numbers)(text)
        values, errors = result.values, result.errors
    elif kind == "コード":
        table = code_tables[target.rule].values
        folded = fold_width(text)
        values = folded.map(dict(table)).astype("str")
        unknown = ~empty & values.isna()
        errors = errors.mask(unknown, f"コード表「{target.rule}」にないコードです")
        values = values.where(~unknown)
    elif kind == "フラグ":
        values, errors = _parse_flags(target, text, empty, errors)
    elif target.identifier in KEY_IDENTIFIERS:
        values = key_text(text).where(~empty)
    else:
        values = text.where(~empty)
        if target.identifier == "sex":
            errors = errors.mask(~empty & ~text.isin(SEX_VALUES), "性別は男・女のどちらかにしてください")
    limit = _max_length(target.identifier)
    if limit is not None and kind in {"文字", "コード"}:
        too_long = values.notna() & (values.astype("str").str.len() > limit)
        errors = errors.mask(too_long, f"文字数が多すぎます(上限 {limit} 文字)")
    if target.required:
        errors = errors.mask(empty, REASON_REQUIRED)
    return values, errors


def filled_counts(mapped: MappedChunk) -> dict[str, int]:
    """Filled cells per 項目 label over a chunk's records, for the 品質レポート."""
    return {label: int(count) for label, count in mapped.filled.sum().items()}


def apply_mapping(
    chunk_frame: pd.DataFrame,
    row_numbers: np.ndarray,
    targets: Sequence[Target],
    code_tables: Mapping[str, CodeTable],
    not_after: dt.date | None = None,
) -> MappedChunk:
    """Parse one chunk into canonical records and quarantine entries.

    Args:
        chunk_frame: all-text cells by column position.
        row_numbers: the row number a person sees for each frame row.
        targets: from :func:`plan_targets`.
        code_tables: コード表 by ID.
        not_after: latest valid birth date (the extract date).

    Returns:
        Records of rows without any bad cell, and one quarantine entry per bad cell;
        both carry ``position``, the row's index in ``chunk_frame``.
    """
    frame = chunk_frame.reset_index(drop=True)
    n = len(frame)
    whole, whole_reasons, whole_texts, numbers = marked_rows(frame, row_numbers)
    rows = pd.Series(numbers)
    bad = whole.copy()
    positions = np.arange(n, dtype="int64")
    problems: list[pd.DataFrame] = []
    if whole.any():  # rows the reader could not read whole: one entry each, no cell checks
        problems.append(
            pd.DataFrame(
                {
                    "position": positions[whole],
                    "row_number": numbers[whole],
                    "column_name": WHOLE_ROW,
                    "value": whole_texts[whole].to_numpy(),
                    "reason": whole_reasons[whole].to_numpy(),
                }
            )
        )
    out: dict[str, pd.Series] = {"position": pd.Series(positions), "row_number": rows}
    value_fields: list[tuple[str, str, pd.Series]] = []
    filled: dict[str, np.ndarray] = {}
    for target in targets:
        raw, text = _joined(frame, target)
        values, errors = _parse_target(target, text, code_tables, not_after)
        failing = (errors != "").to_numpy() & ~whole
        if failing.any():
            bad |= failing
            problems.append(
                pd.DataFrame(
                    {
                        "position": positions[failing],
                        "row_number": rows[failing].to_numpy(),
                        "column_name": target.column_label,
                        "value": raw[failing].to_numpy(),
                        "reason": errors[failing].to_numpy(),
                    }
                )
            )
        filled[target.name] = values.notna().to_numpy()
        if target.identifier is not None:
            out[target.identifier] = values
        else:
            value_fields.append((target.name, target.value_type, values))
    for identifier in CANONICAL_COLUMNS:
        out.setdefault(identifier, pd.Series([None] * n, dtype="object"))
    records = pd.DataFrame(out)
    records["values_json"] = encode_values(value_fields, records.index)
    quarantine = (
        pd.concat(problems, ignore_index=True).sort_values("position", kind="stable").reset_index(drop=True)
        if problems
        else pd.DataFrame({column: pd.Series(dtype="object") for column in QUARANTINE_COLUMNS})
    )
    return MappedChunk(
        records=records.loc[~bad].reset_index(drop=True),
        quarantine=quarantine,
        bad_rows=bad,
        filled=pd.DataFrame(filled, index=range(n)).loc[~bad].reset_index(drop=True),
    )
