"""Importing export files into the store: atomic per file, idempotent, superseding.

For each file of a source:

1. the reader opens it (encoding detected, header read, content hashed);
2. a file whose content is already current for the source, read under the same
   mapping (fingerprint of mapping rows, codes and settings), is *unchanged*; one
   already held is still *held*;
3. a file missing a required column, with an ambiguous (duplicated) mapped header, or
   without a readable extract date is *refused* whole;
4. otherwise its chunks are mapped and written in one transaction, under the source's
   lock (so two people importing at once never store a file twice): rows identical
   (by record hash) to a record of the extract being superseded are *carried*, new
   rows are stored, bad rows quarantined;
5. a new extract that looks wrong next to the current one (no rows, mostly
   quarantined, far fewer or more rows, a mapped column gone) is *held*: stored aside,
   not current, until staff accept it (``macros_py.ingest.accept``);
6. otherwise older extracts of the source (and an earlier version of the same file)
   are marked superseded; they stay in the store as history.

For every file that is not refused, ``read == stored + quarantined + unchanged``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert, update
from sqlalchemy.engine import Row

from macros_py.ingest import extracts
from macros_py.ingest.extracts import HoldRules, NewExtract
from macros_py.ingest.fingerprint import mapping_fingerprint
from macros_py.ingest.mapping import MappingConfig, SourceSpec
from macros_py.ingest.readers import RawTable, ReadError, ReaderSpec
from macros_py.ingest.results import FileResult, Held, Refused, Stored, Unchanged
from macros_py.ingest.storage import RecordMatcher, carry_pool, hex_hashes, record_hash_words
from macros_py.ingest.threads import StoreWriter, prefetched
from macros_py.ingest.transform import MappedChunk, apply_mapping, filled_counts, plan_targets
from macros_py.normalize.dates import parse_dates
from macros_py.store import Store
from macros_py.store.bulk import bulk_insert
from macros_py.store.tables_ingest import carried_records, import_field_counts, imports, quarantine, records

__all__ = [
    "FileResult",
    "ImportRefused",
    "ImportReport",
    "ImportRun",
    "find_source_files",
    "import_file",
    "import_sources",
    "unmatched_files",
]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 100_000
SMALL_FILE_BYTES = 4 * 1024 * 1024  # files up to this size are mapped together per source
BATCH_BYTES = 64 * 1024 * 1024
SQLITE_CACHE_KIB = 256 * 1024
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{8})(?!\d)")
_IGNORED_NAMES = ("~$", ".")  # Excel lock files, hidden files
_SYSTEM_FILES = {"thumbs.db", "desktop.ini"}  # Windows Explorer's own files

Pending = Callable[[], FileResult]  # a job for the writer that records an attempt


class ImportRefused(Exception):
    """A whole file is refused; the message is Japanese and names the file."""


def find_source_files(import_folder: Path, source: SourceSpec) -> list[Path]:
    """Files of the import folder matching the source's pattern (Excel lock files skipped)."""
    if not source.file_pattern:
        return []
    found = [
        path
        for path in import_folder.glob(source.file_pattern)
        if path.is_file() and not path.name.startswith(_IGNORED_NAMES)
    ]
    return sorted(found, key=lambda path: (_date_from_name(path.name) or dt.date.min, path.as_posix()))


def unmatched_files(import_folder: Path, config: MappingConfig) -> list[str]:
    """Files of the import folder that no source's pattern matches ('/'-separated, sorted)."""
    matched = {path for source in config.sources for path in find_source_files(import_folder, source)}
    return sorted(
        path.relative_to(import_folder).as_posix()
        for path in import_folder.rglob("*")
        if path.is_file()
        and not path.name.startswith(_IGNORED_NAMES)
        and path.name.lower() not in _SYSTEM_FILES
        and path not in matched
    )


def _date_from_name(name: str) -> dt.date | None:
    for match in _DATE_IN_NAME.finditer(name):
        try:
            return dt.datetime.strptime(match.group(1), "%Y%m%d").date()
        except ValueError:
            continue
    return None


def _known_extract_date(source: SourceSpec, path: Path) -> dt.date | None:
    if source.extract_date_from == "ファイル名":
        found = _date_from_name(path.name)
        if found is None:
            raise ImportRefused(
                f"ファイル名「{path.name}」から抽出日(YYYYMMDD の8桁)を読み取れません。"
                "ファイル名に抽出日を入れるか、取込設定の「抽出日の取得元」を変えてください。"
            )
        return found
    if source.extract_date_from == "ファイル日時":
        return dt.datetime.fromtimestamp(path.stat().st_mtime).date()
    return None


def _header_positions(
    raw: RawTable, source: SourceSpec, config: MappingConfig, file_name: str
) -> dict[str, int]:
    positions: dict[str, int] = {}
    duplicated: set[str] = set()
    for position, header in enumerate(raw.headers):
        if not header:
            continue
        if header in positions:
            duplicated.add(header)
        positions.setdefault(header, position)
    mappings = config.columns_of(source.source_id)
    wanted = {m.source_column for m in mappings} | {source.extract_date_column or ""}
    ambiguous = sorted(duplicated & wanted)
    if ambiguous:
        raise ImportRefused(
            f"ファイル「{file_name}」の見出し「{'」「'.join(ambiguous)}」が複数の列にあり、どれを取り込むか決められません。"
            "元のファイルの見出しを直してください。"
        )
    missing = [m.source_column for m in mappings if m.required and m.source_column not in positions]
    if missing:
        raise ImportRefused(
            f"ファイル「{file_name}」に必須の列「{'」「'.join(dict.fromkeys(missing))}」がありません"
            f"({source.header_row}行目を見出しとして読みました)。ファイルか取込設定の見出し行を確認してください。"
        )
    extract_column = source.extract_date_column
    if extract_column and extract_column not in positions:
        raise ImportRefused(f"ファイル「{file_name}」に抽出日の列「{extract_column}」がありません。")
    return positions


@dataclass
class _Tally:
    """Counts of one file while it is written (the writer thread owns it)."""

    source: str
    file: str
    extract_date: dt.date | None = None
    import_id: int | None = None
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)
    missing_columns: tuple[str, ...] = ()
    filled: dict[str, int] = field(default_factory=dict)  # per 項目, over valid rows
    # 64-bit digests of the valid rows' record hashes and 宛名番号, for duplicate counts.
    record_digests: list[np.ndarray] = field(default_factory=list, repr=False)
    resident_digests: list[np.ndarray] = field(default_factory=list, repr=False)

    def result(self, kind: type[FileResult], reason: str = "") -> FileResult:
        return kind(
            source=self.source,
            file=self.file,
            read=self.read,
            stored=self.stored,
            quarantined=self.quarantined,
            unchanged=self.unchanged,
            reason=reason,
            import_id=self.import_id,
            extract_date=self.extract_date,
            notes=tuple(self.notes),
            missing_columns=self.missing_columns,
        )

    def add(self, mapped: MappedChunk, reused: np.ndarray) -> None:
        new = reused < 0
        self.record_digests.append(mapped.records["record_digest"].to_numpy(dtype="uint64"))
        resident_ids = mapped.records["resident_id"].dropna().to_numpy(dtype=object)
        self.resident_digests.append(pd.util.hash_array(resident_ids))
        for label, count in filled_counts(mapped).items():
            self.filled[label] = self.filled.get(label, 0) + count
        self.read += mapped.rows_read
        self.stored += int(new.sum())
        self.unchanged += int((~new).sum())
        self.quarantined += mapped.rows_quarantined


def _with_hashes(mapped: MappedChunk) -> MappedChunk:
    """Add ``record_hash`` (stored) and ``record_digest`` (for duplicate counts) to the records."""
    words = record_hash_words(mapped.records)
    mapped.records["record_hash"] = hex_hashes(words)
    mapped.records["record_digest"] = words[:, 0]
    return mapped


def _store_mapped(connection: Connection, tally: _Tally, mapped: MappedChunk, matcher: RecordMatcher) -> None:
    """Write one mapped chunk: new records, carried references, quarantine entries."""
    # Hashes are computed where the chunk is mapped (see _with_hashes), off this thread.
    hashes = mapped.records["record_hash"].to_numpy(dtype=str)
    reused = matcher.match(hashes)
    new = reused < 0
    fresh = (
        mapped.records.loc[new]
        .drop(columns=["position", "record_hash", "record_digest"])
        .assign(
            import_id=tally.import_id, source_id=tally.source, file_name=tally.file, record_hash=hashes[new]
        )
    )
    bulk_insert(connection, records, fresh)
    if (~new).any():
        carried = pd.DataFrame(
            {
                "import_id": tally.import_id,
                "record_id": reused[~new],
                "file_name": tally.file,
                "row_number": mapped.records["row_number"].to_numpy()[~new],
            }
        )
        bulk_insert(connection, carried_records, carried)
    if len(mapped.quarantine):
        bad = mapped.quarantine.drop(columns="position").assign(
            import_id=tally.import_id, source_id=tally.source, file_name=tally.file
        )
        bulk_insert(connection, quarantine, bad)
    tally.add(mapped, reused)


def _duplicates(digests: list[np.ndarray]) -> int:
    """Rows minus distinct values (64-bit digests: a false collision is astronomically rare)."""
    joined = np.concatenate(digests) if digests else np.zeros(0, dtype="uint64")
    return int(len(joined) - len(np.unique(joined)))


def _max_date(values: pd.Series) -> dt.date | None:
    latest = parse_dates(values).dates.max()
    return None if pd.isna(latest) else latest.date()


def _write_counts(connection: Connection, tally: _Tally) -> None:
    connection.execute(
        update(imports)
        .where(imports.c.import_id == tally.import_id)
        .values(
            extract_date=tally.extract_date,
            rows_read=tally.read,
            rows_stored=tally.stored,
            rows_quarantined=tally.quarantined,
            rows_unchanged=tally.unchanged,
            duplicate_records=_duplicates(tally.record_digests),
            duplicate_resident_ids=_duplicates(tally.resident_digests),
        )
    )
    if tally.filled:
        connection.execute(
            insert(import_field_counts),
            [
                {"import_id": tally.import_id, "field": label, "filled": n}
                for label, n in tally.filled.items()
            ],
        )


def _missing_note(file_name: str, missing: tuple[str, ...]) -> list[str]:
    if not missing:
        return []
    return [
        f"ファイル「{file_name}」に項目マッピングの列「{'」「'.join(missing)}」がありません。"
        "この列の値は取り込まれません(必須ではないため、ほかの列は取り込みました)。"
    ]


@dataclass
class _Opened:
    """A file that passed the checks before its rows are read."""

    source: SourceSpec
    tally: _Tally
    raw: RawTable
    positions: dict[str, int]
    path: Path

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def _close(chunks: Iterable) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


@dataclass(kw_only=True)
class ImportRun:
    """One import: the shared state every file's steps need.

    ``writer`` runs every store write in file order; results arrive as futures.
    """

    store: Store
    config: MappingConfig
    readers: Mapping[str, ReaderSpec]
    writer: StoreWriter
    user_name: str
    reference_date: dt.date
    hold_rules: HoldRules = field(default_factory=HoldRules)
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    _fingerprints: dict[str, str] = field(default_factory=dict, repr=False)

    def fingerprint(self, source: SourceSpec) -> str:
        if source.source_id not in self._fingerprints:
            self._fingerprints[source.source_id] = mapping_fingerprint(self.config, source, self.hold_rules)
        return self._fingerprints[source.source_id]

    # -- recording attempts ------------------------------------------------------------

    def _record_attempt(
        self, connection: Connection, tally: _Tally, sha: str, status: str, reason: str
    ) -> None:
        tally.import_id = connection.execute(
            insert(imports).values(
                source_id=tally.source,
                file_name=tally.file,
                file_sha256=sha,
                extract_date=tally.extract_date,
                imported_at=dt.datetime.now(),
                imported_by=self.user_name,
                rows_read=tally.read,
                rows_unchanged=tally.unchanged,
                status=status,
                message=reason or None,
                mapping_fingerprint=self._fingerprints.get(tally.source),
            )
        ).inserted_primary_key[0]

    def refuse(self, tally: _Tally, sha: str, reason: str, path: Path) -> FileResult:
        """Record a refused attempt (no rows) and return its result."""
        logger.info("refused %s: %s", tally.file, reason)
        refused = _Tally(tally.source, tally.file, extract_date=tally.extract_date)
        with self.store.engine.begin() as connection:
            self._record_attempt(connection, refused, sha or _safe_sha(path), "refused", reason)
        return refused.result(Refused, reason)

    def _same_as_before(
        self, tally: _Tally, same: Row, sha: str, connection: Connection | None = None
    ) -> FileResult:
        """The result for a file found already current (unchanged) or still held."""
        tally.read = same.rows_read
        if same.status == "held":
            tally.stored, tally.quarantined, tally.unchanged = (
                same.rows_stored,
                same.rows_quarantined,
                same.rows_unchanged,
            )
            tally.import_id = same.import_id
            return tally.result(Held, same.message or "")
        tally.unchanged = same.rows_read
        if connection is None:
            with self.store.engine.begin() as own:
                self._record_attempt(own, tally, sha, "unchanged", "")
        else:
            self._record_attempt(connection, tally, sha, "unchanged", "")
        return tally.result(Unchanged)

    # -- opening -----------------------------------------------------------------------

    def open_file(self, source: SourceSpec, path: Path, file_name: str) -> _Opened | Pending:
        """Open and check one file. A refused, unchanged or still-held file gives the job
        that records the attempt and returns its result (the writer runs it, in order)."""
        tally = _Tally(source=source.source_id, file=file_name)
        sha = ""
        fingerprint = self.fingerprint(source)
        try:
            reader = self.readers.get(source.format)
            if reader is None:
                raise ImportRefused(
                    f"ソース「{source.source_id}」の形式「{source.format}」を読めるリーダーがありません"
                    f"(使える形式: {'・'.join(sorted(self.readers))})。プラグインフォルダを確認してください。"
                )
            tally.extract_date = _known_extract_date(source, path)
            raw = reader.open(path, source, self.chunk_rows)
            sha = raw.sha256
            tally.notes += raw.notes
            with self.store.engine.connect() as connection:
                same = extracts.find_same_import(
                    connection,
                    source_id=source.source_id,
                    sha=sha,
                    file_name=file_name,
                    extract=tally.extract_date,
                    fingerprint=fingerprint,
                )
            if same is not None:
                return partial(self._same_as_before, tally, same, sha)
            positions = _header_positions(raw, source, self.config, file_name)
        except (ImportRefused, ReadError) as error:
            return partial(self.refuse, tally, sha, str(error), path)
        mapped_columns = dict.fromkeys(m.source_column for m in self.config.columns_of(source.source_id))
        tally.missing_columns = tuple(column for column in mapped_columns if column not in positions)
        tally.notes += _missing_note(file_name, tally.missing_columns)
        return _Opened(source, tally, raw, positions, path)

    # -- writing -----------------------------------------------------------------------

    def store_file(
        self, opened: _Opened, mapped_chunks: Iterable[tuple[MappedChunk, dt.date | None]]
    ) -> FileResult:
        """Write a file's mapped chunks in one transaction, then hold it or supersede.

        ``mapped_chunks`` yields each mapped chunk with the latest date of the
        extract-date column in it (``None`` unless 抽出日の取得元 is a column).
        """
        tally, source = opened.tally, opened.source
        try:
            with self.store.engine.begin() as connection:
                extracts.lock_source(connection, source.source_id)
                same = extracts.find_same_import(
                    connection,
                    source_id=source.source_id,
                    sha=opened.raw.sha256,
                    file_name=tally.file,
                    extract=tally.extract_date,
                    fingerprint=self.fingerprint(source),
                )
                if same is not None:  # stored by someone else meanwhile
                    _close(mapped_chunks)
                    return self._same_as_before(tally, same, opened.raw.sha256, connection)
                self._write_rows(connection, opened, mapped_chunks)
                return self._hold_or_supersede(connection, tally)
        except (ImportRefused, ReadError) as error:
            return self.refuse(tally, opened.raw.sha256, str(error), opened.path)

    def _write_rows(self, connection: Connection, opened: _Opened, mapped_chunks: Iterable) -> None:
        tally, source = opened.tally, opened.source
        if connection.dialect.name == "sqlite":  # room for index pages during bulk inserts
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        tally.import_id = connection.execute(
            insert(imports).values(
                source_id=source.source_id,
                file_name=tally.file,
                file_sha256=opened.raw.sha256,
                encoding=opened.raw.encoding or None,
                extract_date=tally.extract_date,
                imported_at=dt.datetime.now(),
                imported_by=self.user_name,
                status="stored",
                mapping_fingerprint=self.fingerprint(source),
                missing_columns=json.dumps(list(tally.missing_columns), ensure_ascii=False),
            )
        ).inserted_primary_key[0]
        pool = (
            carry_pool(connection, source.source_id, tally.file, tally.extract_date, tally.import_id)
            if tally.extract_date
            else pd.DataFrame()
        )
        matcher = RecordMatcher(pool)
        column_dates: list[dt.date] = []
        for mapped, column_date in mapped_chunks:
            _store_mapped(connection, tally, mapped, matcher)
            if column_date is not None:
                column_dates.append(column_date)
        if source.extract_date_column:
            if not column_dates:
                raise ImportRefused(
                    f"ファイル「{tally.file}」の列「{source.extract_date_column}」に日付がなく、抽出日が決められません。"
                )
            tally.extract_date = max(column_dates)
        _write_counts(connection, tally)

    def _hold_or_supersede(self, connection: Connection, tally: _Tally) -> FileResult:
        new = NewExtract(
            import_id=tally.import_id,
            source_id=tally.source,
            file_name=tally.file,
            extract_date=tally.extract_date,
            rows_read=tally.read,
            rows_kept=tally.stored + tally.unchanged,
            rows_quarantined=tally.quarantined,
            missing_columns=tally.missing_columns,
        )
        reasons = extracts.hold_reasons(connection, new, self.hold_rules)
        if reasons:
            reason = "".join(reasons)
            connection.execute(
                update(imports)
                .where(imports.c.import_id == tally.import_id)
                .values(status="held", message=reason)
            )
            extracts.retire_older_held(
                connection, import_id=tally.import_id, source_id=tally.source, file_name=tally.file
            )
            logger.info("held %s: %s", tally.file, reason)
            return tally.result(Held, reason)
        if not extracts.supersede(
            connection, import_id=tally.import_id, source_id=tally.source, file_name=tally.file
        ):
            tally.notes.append(f"「{tally.file}」は最新の抽出より古いため、履歴として保存しました。")
        return tally.result(Stored)

    # -- mapping -----------------------------------------------------------------------

    def streamed(self, opened: _Opened) -> Iterator[tuple[MappedChunk, dt.date | None]]:
        """Map a file chunk by chunk (large files: one chunk in memory at a time)."""
        source = opened.source
        targets = plan_targets(self.config.columns_of(source.source_id), opened.positions)
        not_after = opened.tally.extract_date or self.reference_date
        extract_column = source.extract_date_column
        for chunk in opened.raw.chunks:
            mapped = _with_hashes(
                apply_mapping(chunk.frame, chunk.row_numbers, targets, self.config.code_tables, not_after)
            )
            column_date = _max_date(chunk.frame[opened.positions[extract_column]]) if extract_column else None
            yield mapped, column_date

    def import_batch(self, batch: list[_Opened]) -> list[Future]:
        """Map several small files of one source and extract date in one pass; the writer
        stores each in its own transaction (per-file overhead dominates small files)."""
        jobs: dict[int, Pending] = {}
        readable: list[tuple[int, _Opened, list]] = []
        for index, opened in enumerate(batch):
            try:
                readable.append((index, opened, list(opened.raw.chunks)))
            except ReadError as error:
                jobs[index] = partial(self.refuse, opened.tally, opened.raw.sha256, str(error), opened.path)
        for index, chunks in _BatchMapping(self, batch[0].source, batch[0].tally.extract_date).split(
            readable
        ):
            jobs[index] = partial(self.store_file, batch[index], chunks)
        return [self.writer.submit(batch[0].source.source_id, jobs[index]) for index in range(len(batch))]

    def import_source(self, source: SourceSpec, files: list[Path], import_folder: Path) -> list[Future]:
        """Open, map and hand to the writer every file of one source, in order."""
        futures: list[Future] = []
        batch: list[_Opened] = []
        batch_bytes = 0
        for path in files:
            file_name = path.relative_to(import_folder).as_posix()
            self.writer.wait_for(source.source_id)  # the check against stored files must see them all
            opened = self.open_file(source, path, file_name)
            if not isinstance(opened, _Opened):
                futures += self.import_batch(batch) if batch else []
                batch, batch_bytes = [], 0
                futures.append(self.writer.submit(source.source_id, opened))
                continue
            size = opened.size
            if size > SMALL_FILE_BYTES or (
                batch
                and (
                    batch[0].tally.extract_date != opened.tally.extract_date
                    or batch_bytes + size > BATCH_BYTES
                )
            ):
                futures += self.import_batch(batch) if batch else []
                batch, batch_bytes = [], 0
            if size > SMALL_FILE_BYTES:
                chunks = prefetched(self.streamed(opened))
                futures.append(self.writer.submit(source.source_id, self.store_file, opened, chunks))
            else:
                batch.append(opened)
                batch_bytes += size
        futures += self.import_batch(batch) if batch else []
        return futures


class _BatchMapping:
    """The columns of several small files of one source, mapped together and split back."""

    def __init__(self, run: ImportRun, source: SourceSpec, extract_date: dt.date | None):
        self.run, self.source, self.extract_date = run, source, extract_date
        needed = [m.source_column for m in run.config.columns_of(source.source_id)]
        if source.extract_date_column:
            needed.append(source.extract_date_column)
        self.needed = list(dict.fromkeys(needed))

    def _combined(
        self, readable: list[tuple[int, _Opened, list]]
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        frames, numbers, owners = [], [], []
        for index, opened, chunks in readable:
            for chunk in chunks:
                columns = {
                    name: chunk.frame[opened.positions[name]] if name in opened.positions else ""
                    for name in self.needed
                }
                frames.append(
                    pd.DataFrame(columns, index=chunk.frame.index).set_axis(range(len(self.needed)), axis=1)
                )
                numbers.append(chunk.row_numbers)
                owners.append(np.full(len(chunk.frame), index, dtype="int64"))
        combined = pd.concat(frames, ignore_index=True).astype("str")
        return combined, np.concatenate(numbers), np.concatenate(owners)

    def split(self, readable: list[tuple[int, _Opened, list]]) -> Iterator[tuple[int, list]]:
        """Per readable file: its index and its one ``(mapped part, column date)`` (or none)."""
        if not any(chunks for _, _, chunks in readable):
            yield from ((index, []) for index, _, _ in readable)
            return
        combined, numbers, owner = self._combined(readable)
        positions = {name: position for position, name in enumerate(self.needed)}
        targets = plan_targets(self.run.config.columns_of(self.source.source_id), positions)
        not_after = self.extract_date or self.run.reference_date
        mapped = apply_mapping(combined, numbers, targets, self.run.config.code_tables, not_after)
        _with_hashes(mapped)
        record_owner = owner[mapped.records["position"].to_numpy()]
        problem_owner = owner[mapped.quarantine["position"].to_numpy(dtype="int64")]
        for index, _, _ in readable:
            mine = owner == index
            if not mine.any():
                yield index, []
                continue
            part = MappedChunk(
                records=mapped.records.loc[record_owner == index].reset_index(drop=True),
                quarantine=mapped.quarantine.loc[problem_owner == index].reset_index(drop=True),
                bad_rows=mapped.bad_rows[mine],
                filled=mapped.filled.loc[record_owner == index].reset_index(drop=True),
            )
            column_date = None
            if self.source.extract_date_column:
                column_date = _max_date(combined.loc[mine, positions[self.source.extract_date_column]])
            yield index, [(part, column_date)]


def _safe_sha(path: Path) -> str:
    from macros_py.ingest.encoding import file_sha256

    try:
        return file_sha256(path)
    except OSError:
        return ""


def import_file(
    store: Store,
    config: MappingConfig,
    source: SourceSpec,
    path: Path,
    file_name: str,
    readers: Mapping[str, ReaderSpec],
    *,
    user_name: str,
    reference_date: dt.date,
    hold_rules: HoldRules | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> FileResult:
    """Import one file of one source in one transaction, streaming its chunks.

    Args:
        store: the opened store.
        config: parsed mapping tabs.
        source: the source the file belongs to.
        path: the file.
        file_name: its name relative to the import folder ('/'-separated), as recorded.
        readers: reader per 形式.
        user_name: who imports (recorded).
        reference_date: today (or the 基準日 setting) for future-date checks.
        hold_rules: when a new extract is held (設定 保留: ...).
        chunk_rows: rows per chunk (memory bound for large files).

    Returns:
        The file's result (:class:`Stored`, :class:`Held`, :class:`Unchanged` or :class:`Refused`).
    """
    run = ImportRun(
        store=store,
        config=config,
        readers=readers,
        writer=StoreWriter(inline=True),
        user_name=user_name,
        reference_date=reference_date,
        hold_rules=hold_rules or HoldRules(),
        chunk_rows=chunk_rows,
    )
    opened = run.open_file(source, path, file_name)
    if not isinstance(opened, _Opened):
        return opened()
    return run.store_file(opened, prefetched(run.streamed(opened)))


@dataclass(frozen=True)
class ImportReport:
    """Everything an import run found: one result per file, messages, and the files
    of the import folder that no source matched, and accepted files withdrawn."""

    results: list[FileResult]
    messages: list[str]
    unmatched_files: list[str]
    withdrawn_files: list[str]


def _withdraw_removed(store: Store, source: SourceSpec, files: list[Path], import_folder: Path) -> list[str]:
    present = {path.relative_to(import_folder).as_posix() for path in files}
    # Read first: taking the write lock for every source would wait for the writer
    # thread's transaction and stall reading and mapping.
    with store.engine.connect() as connection:
        if not extracts.removed_accepted(connection, source.source_id, present):
            return []
    with store.engine.begin() as connection:
        extracts.lock_source(connection, source.source_id)
        return extracts.withdraw_removed(connection, source.source_id, present)


def import_sources(
    store: Store,
    config: MappingConfig,
    import_folder: Path,
    readers: Mapping[str, ReaderSpec],
    *,
    user_name: str,
    reference_date: dt.date,
    hold_rules: HoldRules | None = None,
    source_ids: Iterable[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ImportReport:
    """Import every file of every enabled source (oldest extract first).

    Files are imported one by one, each in its own transaction; consecutive small files
    of a source with the same extract date are mapped together first. Accepted files
    no longer in the folder are withdrawn first (the extract before them is current again).
    """
    wanted = set(source_ids) if source_ids is not None else None
    futures: list[Future] = []
    messages: list[str] = []
    withdrawn: list[str] = []
    with StoreWriter() as writer:
        run = ImportRun(
            store=store,
            config=config,
            readers=readers,
            writer=writer,
            user_name=user_name,
            reference_date=reference_date,
            hold_rules=hold_rules or HoldRules(),
            chunk_rows=chunk_rows,
        )
        for source in config.sources:
            if not source.enabled or (wanted is not None and source.source_id not in wanted):
                continue
            files = find_source_files(import_folder, source)
            withdrawn += _withdraw_removed(store, source, files, import_folder)
            if not files:
                messages.append(
                    f"ソース「{source.source_id}」({source.name})のファイルが見つかりません: {source.file_pattern}"
                )
                continue
            futures += run.import_source(source, files, import_folder)
    messages += [
        f"「{name}」が取込フォルダにないため、承認した抽出を取り消し、その前の抽出を現在のデータに戻しました。"
        for name in withdrawn
    ]
    unmatched = unmatched_files(import_folder, config) if wanted is None else []
    return ImportReport([future.result() for future in futures], messages, unmatched, withdrawn)
