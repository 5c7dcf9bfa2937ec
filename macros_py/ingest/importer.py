"""Importing export files into the store: atomic per file, idempotent, superseding.

For each file of a source:

1. the reader opens it (encoding detected, header read, content hashed);
2. a file whose content is already stored for the source counts as *unchanged*;
3. a file missing a required column, with an ambiguous (duplicated) mapped header, or
   without a readable extract date is *refused* whole;
4. otherwise its chunks are mapped and written in one transaction: rows identical
   (by record hash) to a record of the extract being superseded are *carried* (the
   record is reused and counted unchanged), new rows are stored, bad rows quarantined;
5. older extracts of the source (and an earlier version of the same file) are marked
   superseded; they stay in the store as history.

For every file that is not refused, ``read == stored + quarantined + unchanged``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, insert, or_, select, update

from macros_py.ingest.mapping import MappingConfig, SourceSpec
from macros_py.ingest.readers import RawTable, ReadError, ReaderSpec
from macros_py.ingest.storage import (
    RecordMatcher,
    already_imported,
    carry_pool,
    current_filter,
    hex_hashes,
    record_hash_words,
)
from macros_py.ingest.threads import StoreWriter, prefetched
from macros_py.ingest.transform import MappedChunk, apply_mapping, filled_counts, plan_targets
from macros_py.normalize.dates import parse_dates
from macros_py.store import Store
from macros_py.store.bulk import bulk_insert
from macros_py.store.tables_ingest import carried_records, import_field_counts, imports, quarantine, records

__all__ = ["FileOutcome", "ImportRefused", "find_source_files", "import_file", "import_sources"]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 100_000
SMALL_FILE_BYTES = 4 * 1024 * 1024  # files up to this size are mapped together per source
BATCH_BYTES = 64 * 1024 * 1024
SQLITE_CACHE_KIB = 256 * 1024
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{8})(?!\d)")


class ImportRefused(Exception):
    """A whole file is refused; the message is Japanese and names the file."""


@dataclass
class FileOutcome:
    """What happened to one file."""

    source: str
    file: str
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    unchanged: int = 0
    refused: bool = False
    reason: str = ""
    import_id: int | None = None
    extract_date: dt.date | None = None
    notes: list[str] = field(default_factory=list)
    filled: dict[str, int] = field(default_factory=dict)  # per 項目, over valid rows
    # 64-bit digests of the valid rows' record hashes and 宛名番号, for duplicate counts.
    record_digests: list[np.ndarray] = field(default_factory=list, repr=False)
    resident_digests: list[np.ndarray] = field(default_factory=list, repr=False)

    def as_json(self) -> dict:
        """The per-file entry of the ``import`` action's JSON."""
        return {
            "source": self.source,
            "file": self.file,
            "read": self.read,
            "stored": self.stored,
            "quarantined": self.quarantined,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "reason": self.reason,
        }


def find_source_files(import_folder: Path, source: SourceSpec) -> list[Path]:
    """Files of the import folder matching the source's pattern (Excel lock files skipped)."""
    if not source.file_pattern:
        return []
    found = [
        path
        for path in import_folder.glob(source.file_pattern)
        if path.is_file() and not path.name.startswith("~$")
    ]
    return sorted(found, key=lambda path: (_date_from_name(path.name) or dt.date.min, path.as_posix()))


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


def _store_mapped(
    connection: Connection,
    outcome: FileOutcome,
    source_id: str,
    mapped: MappedChunk,
    matcher: RecordMatcher,
) -> None:
    """Write one mapped chunk: new records, carried references, quarantine entries."""
    # Hashes are computed where the chunk is mapped (see _with_hashes), off this thread.
    hashes = mapped.records["record_hash"].to_numpy(dtype=str)
    digests = mapped.records["record_digest"].to_numpy(dtype="uint64")
    records_only = mapped.records.drop(columns=["record_hash", "record_digest"])
    mapped = MappedChunk(records_only, mapped.quarantine, mapped.bad_rows, mapped.filled)
    reused = matcher.match(hashes)
    new = reused < 0
    fresh = (
        mapped.records.loc[new]
        .drop(columns="position")
        .assign(
            import_id=outcome.import_id, source_id=source_id, file_name=outcome.file, record_hash=hashes[new]
        )
    )
    bulk_insert(connection, records, fresh)
    if (~new).any():
        carried = pd.DataFrame(
            {
                "import_id": outcome.import_id,
                "record_id": reused[~new],
                "file_name": outcome.file,
                "row_number": mapped.records["row_number"].to_numpy()[~new],
            }
        )
        bulk_insert(connection, carried_records, carried)
    if len(mapped.quarantine):
        bad = mapped.quarantine.drop(columns="position").assign(
            import_id=outcome.import_id, source_id=source_id, file_name=outcome.file
        )
        bulk_insert(connection, quarantine, bad)
    outcome.record_digests.append(digests)
    resident_ids = mapped.records["resident_id"].dropna().to_numpy(dtype=object)
    outcome.resident_digests.append(pd.util.hash_array(resident_ids))
    for label, count in filled_counts(mapped).items():
        outcome.filled[label] = outcome.filled.get(label, 0) + count
    outcome.read += mapped.rows_read
    outcome.stored += int(new.sum())
    outcome.unchanged += int((~new).sum())
    outcome.quarantined += mapped.rows_quarantined


def _with_hashes(mapped: MappedChunk) -> MappedChunk:
    """Add ``record_hash`` (stored) and ``record_digest`` (for duplicate counts) to the records."""
    words = record_hash_words(mapped.records)
    mapped.records["record_hash"] = hex_hashes(words)
    mapped.records["record_digest"] = words[:, 0]
    return mapped


def _duplicates(digests: list[np.ndarray]) -> int:
    """Rows minus distinct values (64-bit digests: a false collision is astronomically rare)."""
    joined = np.concatenate(digests) if digests else np.zeros(0, dtype="uint64")
    return int(len(joined) - len(np.unique(joined)))


def _max_date(values: pd.Series) -> dt.date | None:
    latest = parse_dates(values).dates.max()
    return None if pd.isna(latest) else latest.date()


def _supersede(connection: Connection, outcome: FileOutcome, source_id: str, extract: dt.date) -> None:
    newer = connection.execute(
        select(imports.c.import_id)
        .where(
            current_filter(source_id),
            imports.c.extract_date > extract,
            imports.c.import_id != outcome.import_id,
        )
        .order_by(imports.c.extract_date.desc(), imports.c.import_id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if newer is not None:
        connection.execute(
            update(imports).where(imports.c.import_id == outcome.import_id).values(superseded_by=newer)
        )
        outcome.notes.append(f"「{outcome.file}」は最新の抽出より古いため、履歴として保存しました。")
        return
    connection.execute(
        update(imports)
        .where(
            current_filter(source_id),
            imports.c.import_id != outcome.import_id,
            or_(
                imports.c.extract_date < extract,
                imports.c.extract_date.is_(None),
                and_(imports.c.extract_date == extract, imports.c.file_name == outcome.file),
            ),
        )
        .values(superseded_by=outcome.import_id)
    )


def _record_attempt(store: Store, outcome: FileOutcome, sha: str, user_name: str, status: str) -> None:
    with store.engine.begin() as connection:
        outcome.import_id = connection.execute(
            insert(imports).values(
                source_id=outcome.source,
                file_name=outcome.file,
                file_sha256=sha,
                extract_date=outcome.extract_date,
                imported_at=dt.datetime.now(),
                imported_by=user_name,
                rows_read=outcome.read,
                rows_unchanged=outcome.unchanged,
                status=status,
                message=outcome.reason or None,
            )
        ).inserted_primary_key[0]


@dataclass
class _Opened:
    """A file that passed the checks before its rows are read."""

    source: SourceSpec
    outcome: FileOutcome
    raw: RawTable
    positions: dict[str, int]
    size: int


def _refuse(
    store: Store, outcome: FileOutcome, sha: str, path: Path, user_name: str, reason: str
) -> FileOutcome:
    logger.info("refused %s: %s", outcome.file, reason)
    refused = FileOutcome(
        outcome.source, outcome.file, refused=True, reason=reason, extract_date=outcome.extract_date
    )
    _record_attempt(store, refused, sha or _safe_sha(path), user_name, "refused")
    return refused


def _open_file(
    store: Store,
    config: MappingConfig,
    source: SourceSpec,
    path: Path,
    file_name: str,
    readers: Mapping[str, ReaderSpec],
    user_name: str,
    chunk_rows: int,
) -> Callable[[], FileOutcome] | _Opened:
    """Open and check one file. A refused or unchanged file gives the job that records
    the attempt and returns its outcome (the writer runs it, in order)."""
    outcome = FileOutcome(source=source.source_id, file=file_name)
    sha = ""
    try:
        reader = readers.get(source.format)
        if reader is None:
            raise ImportRefused(
                f"ソース「{source.source_id}」の形式「{source.format}」を読めるリーダーがありません"
                f"(使える形式: {'・'.join(sorted(readers))})。プラグインフォルダを確認してください。"
            )
        outcome.extract_date = _known_extract_date(source, path)
        raw = reader.open(path, source, chunk_rows)
        sha = raw.sha256
        outcome.notes += raw.notes
        with store.engine.connect() as connection:
            previous_read = already_imported(
                connection, source.source_id, sha, file_name, outcome.extract_date
            )
        if previous_read is not None:
            outcome.read = outcome.unchanged = previous_read
            return partial(_unchanged, store, outcome, sha, user_name)
        positions = _header_positions(raw, source, config, file_name)
    except (ImportRefused, ReadError) as error:
        return partial(_refuse, store, outcome, sha, path, user_name, str(error))
    return _Opened(source, outcome, raw, positions, path.stat().st_size)


def _unchanged(store: Store, outcome: FileOutcome, sha: str, user_name: str) -> FileOutcome:
    _record_attempt(store, outcome, sha, user_name, "unchanged")
    return outcome


def _store_file(
    store: Store,
    opened: _Opened,
    mapped_chunks: Iterable[tuple[MappedChunk, dt.date | None]],
    user_name: str,
    path: Path,
) -> FileOutcome:
    """Write a file's mapped chunks in one transaction, then supersede older extracts.

    ``mapped_chunks`` yields each mapped chunk with the latest date of the extract-date
    column in it (``None`` unless 抽出日の取得元 is a column).
    """
    outcome, source = opened.outcome, opened.source
    try:
        with store.engine.begin() as connection:
            if connection.dialect.name == "sqlite":  # room for index pages during bulk inserts
                connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            outcome.import_id = connection.execute(
                insert(imports).values(
                    source_id=source.source_id,
                    file_name=outcome.file,
                    file_sha256=opened.raw.sha256,
                    encoding=opened.raw.encoding or None,
                    extract_date=outcome.extract_date,
                    imported_at=dt.datetime.now(),
                    imported_by=user_name,
                    status="stored",
                )
            ).inserted_primary_key[0]
            pool = (
                carry_pool(
                    connection, source.source_id, outcome.file, outcome.extract_date, outcome.import_id
                )
                if outcome.extract_date
                else pd.DataFrame()
            )
            matcher = RecordMatcher(pool)
            column_dates: list[dt.date] = []
            for mapped, column_date in mapped_chunks:
                _store_mapped(connection, outcome, source.source_id, mapped, matcher)
                if column_date is not None:
                    column_dates.append(column_date)
            if source.extract_date_column:
                if not column_dates:
                    raise ImportRefused(
                        f"ファイル「{outcome.file}」の列「{source.extract_date_column}」に日付がなく、抽出日が決められません。"
                    )
                outcome.extract_date = max(column_dates)
            connection.execute(
                update(imports)
                .where(imports.c.import_id == outcome.import_id)
                .values(
                    extract_date=outcome.extract_date,
                    rows_read=outcome.read,
                    rows_stored=outcome.stored,
                    rows_quarantined=outcome.quarantined,
                    rows_unchanged=outcome.unchanged,
                    duplicate_records=_duplicates(outcome.record_digests),
                    duplicate_resident_ids=_duplicates(outcome.resident_digests),
                )
            )
            if outcome.filled:
                connection.execute(
                    insert(import_field_counts),
                    [
                        {"import_id": outcome.import_id, "field": label, "filled": count}
                        for label, count in outcome.filled.items()
                    ],
                )
            _supersede(connection, outcome, source.source_id, outcome.extract_date)
    except (ImportRefused, ReadError) as error:
        return _refuse(store, outcome, opened.raw.sha256, path, user_name, str(error))
    return outcome


def _streamed(opened: _Opened, config: MappingConfig, reference_date: dt.date):
    """Map a file chunk by chunk (large files: one chunk in memory at a time)."""
    source = opened.source
    targets = plan_targets(config.columns_of(source.source_id), opened.positions)
    not_after = opened.outcome.extract_date or reference_date
    extract_column = source.extract_date_column
    for chunk in opened.raw.chunks:
        mapped = _with_hashes(
            apply_mapping(chunk.frame, chunk.row_numbers, targets, config.code_tables, not_after)
        )
        column_date = _max_date(chunk.frame[opened.positions[extract_column]]) if extract_column else None
        yield mapped, column_date


def _import_batch(
    store: Store,
    config: MappingConfig,
    batch: list[tuple[_Opened, Path]],
    user_name: str,
    reference_date: dt.date,
    writer: StoreWriter,
) -> list[Future]:
    """Map several small files of one source and extract date in one pass; the writer
    stores each in its own transaction (per-file overhead dominates small files)."""
    source = batch[0][0].source
    needed = list(dict.fromkeys([m.source_column for m in config.columns_of(source.source_id)]))
    if source.extract_date_column:
        needed = list(dict.fromkeys([*needed, source.extract_date_column]))
    frames, numbers, owners, results = [], [], [], {}
    for index, (opened, path) in enumerate(batch):
        try:
            chunks = list(opened.raw.chunks)
        except ReadError as error:
            results[index] = partial(
                _refuse, store, opened.outcome, opened.raw.sha256, path, user_name, str(error)
            )
            continue
        for chunk in chunks:
            columns = {
                name: chunk.frame[opened.positions[name]] if name in opened.positions else ""
                for name in needed
            }
            frames.append(pd.DataFrame(columns, index=chunk.frame.index).set_axis(range(len(needed)), axis=1))
            numbers.append(chunk.row_numbers)
            owners.append(np.full(len(chunk.frame), index, dtype="int64"))
    if frames:
        combined = pd.concat(frames, ignore_index=True).astype("str")
        owner = np.concatenate(owners)
        positions = {name: position for position, name in enumerate(needed)}
        targets = plan_targets(config.columns_of(source.source_id), positions)
        not_after = batch[0][0].outcome.extract_date or reference_date
        mapped = apply_mapping(combined, np.concatenate(numbers), targets, config.code_tables, not_after)
        _with_hashes(mapped)
        record_owner = owner[mapped.records["position"].to_numpy()]
        problem_owner = owner[mapped.quarantine["position"].to_numpy(dtype="int64")]
    for index, (opened, path) in enumerate(batch):
        if index in results:
            continue
        mine = owner == index if frames else np.zeros(0, dtype=bool)
        part = MappedChunk(
            records=mapped.records.loc[record_owner == index].reset_index(drop=True) if frames else None,
            quarantine=mapped.quarantine.loc[problem_owner == index].reset_index(drop=True)
            if frames
            else None,
            bad_rows=mapped.bad_rows[mine] if frames else np.zeros(0, dtype=bool),
            filled=mapped.filled.loc[record_owner == index].reset_index(drop=True) if frames else None,
        )
        column_date = None
        if source.extract_date_column and frames and mine.any():
            column_date = _max_date(combined.loc[mine, positions[source.extract_date_column]])
        chunks = [(part, column_date)] if frames and mine.any() else []
        results[index] = partial(_store_file, store, opened, chunks, user_name, path)
    return [writer.submit(source.source_id, results[index]) for index in range(len(batch))]


def import_file(
    store: Store,
    config: MappingConfig,
    source: SourceSpec,
    path: Path,
    file_name: str,
    readers: Mapping[str, ReaderSpec],
    user_name: str,
    reference_date: dt.date,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> FileOutcome:
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
        chunk_rows: rows per chunk (memory bound for large files).

    Returns:
        Counts, or ``refused=True`` with a Japanese reason naming the file.
    """
    opened = _open_file(store, config, source, path, file_name, readers, user_name, chunk_rows)
    if not isinstance(opened, _Opened):
        return opened()
    return _store_file(store, opened, prefetched(_streamed(opened, config, reference_date)), user_name, path)


def _safe_sha(path: Path) -> str:
    from macros_py.ingest.encoding import file_sha256

    try:
        return file_sha256(path)
    except OSError:
        return ""


def import_sources(
    store: Store,
    config: MappingConfig,
    import_folder: Path,
    readers: Mapping[str, ReaderSpec],
    user_name: str,
    reference_date: dt.date,
    source_ids: Iterable[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> tuple[list[FileOutcome], list[str]]:
    """Import every file of every enabled source (oldest extract first).

    Files are imported one by one, each in its own transaction; consecutive small files
    of a source with the same extract date are mapped together first.

    Returns:
        One outcome per file, and Japanese messages (e.g. sources without files).
    """
    wanted = set(source_ids) if source_ids is not None else None
    futures: list[Future] = []
    messages: list[str] = []
    with StoreWriter() as writer:
        for source in config.sources:
            if not source.enabled or (wanted is not None and source.source_id not in wanted):
                continue
            files = find_source_files(import_folder, source)
            if not files:
                messages.append(
                    f"ソース「{source.source_id}」({source.name})のファイルが見つかりません: {source.file_pattern}"
                )
                continue
            futures += _import_source_files(
                store,
                config,
                source,
                files,
                import_folder,
                readers,
                user_name,
                reference_date,
                chunk_rows,
                writer,
            )
    return [future.result() for future in futures], messages


def _import_source_files(
    store: Store,
    config: MappingConfig,
    source: SourceSpec,
    files: list[Path],
    import_folder: Path,
    readers: Mapping[str, ReaderSpec],
    user_name: str,
    reference_date: dt.date,
    chunk_rows: int,
    writer: StoreWriter,
) -> list[Future]:
    """Open, map and hand to the writer every file of one source, in order."""
    futures: list[Future] = []
    batch: list[tuple[_Opened, Path]] = []
    batch_bytes = 0

    def flush() -> None:
        nonlocal batch, batch_bytes
        if batch:
            futures.extend(_import_batch(store, config, batch, user_name, reference_date, writer))
        batch, batch_bytes = [], 0

    for path in files:
        file_name = path.relative_to(import_folder).as_posix()
        writer.wait_for(source.source_id)  # the check against stored files must see them all
        opened = _open_file(store, config, source, path, file_name, readers, user_name, chunk_rows)
        if not isinstance(opened, _Opened):
            flush()
            futures.append(writer.submit(source.source_id, opened))
        elif opened.size <= SMALL_FILE_BYTES:
            if batch and (
                batch[0][0].outcome.extract_date != opened.outcome.extract_date
                or batch_bytes + opened.size > BATCH_BYTES
            ):
                flush()
            batch.append((opened, path))
            batch_bytes += opened.size
        else:
            flush()
            chunks = prefetched(_streamed(opened, config, reference_date))
            futures.append(
                writer.submit(source.source_id, _store_file, store, opened, chunks, user_name, path)
            )
    flush()
    return futures
