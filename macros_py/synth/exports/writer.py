"""Writing export files (CSV in CP932 / UTF-8 with BOM, xlsx) and recording the truth."""

from __future__ import annotations

import codecs
import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from macros_py.synth.exports.spec import SourceSpec
from macros_py.synth.formats import excel_serial

__all__ = ["ExportWriter", "GETA_ERROR_HANDLER"]

logger = logging.getLogger(__name__)

GETA_ERROR_HANDLER = "mimamori_synth_geta"


def _replace_with_geta(error: UnicodeEncodeError) -> tuple[str, int]:
    # Characters the target encoding cannot hold become 〓, as vendor systems print them.
    return "〓" * (error.end - error.start), error.end


codecs.register_error(GETA_ERROR_HANDLER, _replace_with_geta)

_FIXED_CREATED = dt.datetime(2025, 11, 30, 9, 0, 0)


class ExportWriter:
    """Writes export files under ``out_dir/exports`` and collects truth rows.

    Every frame passed to a write method holds the spec's headers plus a hidden
    ``_person_id`` column naming the true person of each row.
    """

    def __init__(self, out_dir: Path) -> None:
        self.exports_dir = out_dir / "exports"
        self.truth_parts: list[pd.DataFrame] = []
        self.files: list[str] = []

    def _record_truth(
        self, spec: SourceSpec, relative: str, person_ids: pd.Series, first_data_row: int
    ) -> None:
        count = len(person_ids)
        self.truth_parts.append(
            pd.DataFrame(
                {
                    "source_id": spec.source_id,
                    "file": relative,
                    "row": np.arange(first_data_row, first_data_row + count),
                    "person_id": person_ids.to_numpy(),
                }
            )
        )
        self.files.append(relative)

    def write_csv(self, spec: SourceSpec, relative: str, frame: pd.DataFrame) -> None:
        """Write a CSV with the spec's encoding (CRLF lines, header on line ``spec.header_row``).

        Args:
            spec: Source declaration (headers, encoding).
            relative: Path under ``exports/`` using ``/``.
            frame: Data with the spec's headers and ``_person_id``.
        """
        path = self.exports_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = frame[spec.headers]
        encoding = "cp932" if spec.encoding == "cp932" else "utf-8-sig"
        data.to_csv(path, index=False, encoding=encoding, errors=GETA_ERROR_HANDLER, lineterminator="\r\n")
        self._record_truth(spec, relative, frame["_person_id"], spec.header_row + 1)
        logger.debug("wrote %s (%d rows)", relative, len(frame))

    def write_xlsx(
        self,
        spec: SourceSpec,
        relative: str,
        frame: pd.DataFrame,
        *,
        date_columns: tuple[str, ...] = (),
        number_columns: tuple[str, ...] = (),
        title: str = "",
    ) -> None:
        """Write an xlsx (xlsxwriter, fixed document date) with optional title row.

        Args:
            spec: Source declaration; ``spec.header_row`` is 2 when ``title`` is given.
            relative: Path under ``exports/`` using ``/``.
            frame: Data with the spec's headers and ``_person_id``; date columns hold dates.
            date_columns: Columns written as Excel serial dates with a date format.
            number_columns: Columns written as numbers (empty cells where missing).
            title: Text of a title row above the header.
        """
        path = self.exports_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        workbook = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        workbook.set_properties({"created": _FIXED_CREATED, "author": "mimamori synth"})
        date_format = workbook.add_format({"num_format": "yyyy/mm/dd"})
        worksheet = workbook.add_worksheet(spec.sheet_name or "Sheet1")
        header_index = spec.header_row - 1
        if title:
            worksheet.write_string(0, 0, title)
        worksheet.write_row(header_index, 0, spec.headers)
        columns = []
        for header in spec.headers:
            if header in date_columns:
                columns.append(("date", excel_serial(frame[header])))
            elif header in number_columns:
                columns.append(
                    ("number", pd.to_numeric(frame[header], errors="coerce").to_numpy(dtype=float))
                )
            else:
                columns.append(("text", frame[header].astype(str).to_numpy()))
        for row_offset in range(len(frame)):
            row = header_index + 1 + row_offset
            for column_index, (kind, values) in enumerate(columns):
                value = values[row_offset]
                if kind == "text":
                    if value:
                        worksheet.write_string(row, column_index, value)
                elif not np.isnan(value):
                    if kind == "date":
                        worksheet.write_number(row, column_index, value, date_format)
                    else:
                        worksheet.write_number(row, column_index, value)
        workbook.close()
        self._record_truth(spec, relative, frame["_person_id"], spec.header_row + 1)

    def truth_records(self) -> pd.DataFrame:
        """All truth rows (``source_id, file, row, person_id``) sorted by file and row."""
        if not self.truth_parts:
            return pd.DataFrame(columns=["source_id", "file", "row", "person_id"])
        records = pd.concat(self.truth_parts, ignore_index=True)
        return records.sort_values(["file", "row"], kind="stable").reset_index(drop=True)
