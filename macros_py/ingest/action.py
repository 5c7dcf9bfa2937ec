"""The 取込 action: import every configured export and report what happened."""

from __future__ import annotations

import logging

import pandas as pd

from macros_py.actions import ActionContext, ActionResult
from macros_py.ingest.extracts import HoldRules
from macros_py.ingest.importer import ImportReport, import_sources
from macros_py.ingest.mapping import parse_mapping_tables
from macros_py.ingest.quality import freshness_table, quality_report
from macros_py.ingest.query import current_quarantine, quarantine_of_imports
from macros_py.ingest.readers import ReaderSpec
from macros_py.ingest.results import FileResult
from macros_py.plugins import Plugins, load_plugins
from macros_py.sheets import IMPORT_ERRORS, LOG

__all__ = ["available_readers", "hold_rules", "import_action", "import_errors_table", "log_rows"]

logger = logging.getLogger(__name__)
ACTION_LABEL = "取込"
HELD_PREFIX = "新しい抽出を保留しました(現在のデータは前の抽出のままです)。"
HELD_ADVICE = (
    "ファイルを確認し、正しければ「保留の承認」を実行してください。誤りなら取込フォルダから削除してください。"
)


def available_readers(plugins: Plugins) -> dict[str, ReaderSpec]:
    """Readers by 形式 from every ``register_readers`` implementation (later ones win)."""
    readers: dict[str, ReaderSpec] = {}
    for spec in plugins.collect("register_readers"):
        if isinstance(spec, ReaderSpec) or all(hasattr(spec, name) for name in ("format", "open")):
            readers[str(spec.format)] = spec
        else:
            logger.warning("ignoring reader %r: not a ReaderSpec", spec)
    return readers


def _file_rows(outcomes: list[FileResult]) -> pd.DataFrame:
    """取込エラー rows about whole files of this run: refused, held, mapped columns missing."""
    rows: list[tuple[str, str, str, str]] = []
    for o in outcomes:
        if o.refused:
            rows.append((o.source, o.file, "", f"ファイル全体を取り込みませんでした: {o.reason}"))
        elif o.held:
            rows.append((o.source, o.file, "", f"{HELD_PREFIX}{o.reason}{HELD_ADVICE}"))
        if not o.refused:
            rows += [
                (
                    o.source,
                    o.file,
                    column,
                    "項目マッピングにある列がファイルにないため、この列は取り込んでいません。",
                )
                for column in o.missing_columns
            ]
    return pd.DataFrame(
        {
            "ソースID": [row[0] for row in rows],
            "ファイル": [row[1] for row in rows],
            "行": pd.array([None] * len(rows), dtype="Int64"),
            "列": [row[2] for row in rows],
            "値": "",
            "理由": [row[3] for row in rows],
        }
    )


def import_errors_table(store, outcomes: list[FileResult]) -> pd.DataFrame:
    """取込エラー: refused and held files of this run, missing mapped columns, then the
    quarantined cells of the current imports and of the files held in this run."""
    files = _file_rows(outcomes)
    held = [o.import_id for o in outcomes if o.held and o.import_id is not None]
    # A held file's bad rows are shown too: staff check them before accepting it.
    quarantined = [current_quarantine(store)] + ([quarantine_of_imports(store, held)] if held else [])
    cells = pd.concat(quarantined, ignore_index=True).rename(
        columns={
            "source_id": "ソースID",
            "file_name": "ファイル",
            "row_number": "行",
            "column_name": "列",
            "value": "値",
            "reason": "理由",
        }
    )
    cells["行"] = cells["行"].astype("Int64")
    table = pd.concat([files, cells], ignore_index=True) if len(files) else cells
    # ソース名 is filled from 取込設定 when the tab is written (book/cells.py with_source_names).
    return table.reindex(columns=IMPORT_ERRORS.headers).reset_index(drop=True)


def _file_entry(o: FileResult) -> tuple[str, str]:
    if o.refused:
        return "エラー", f"{o.file}: {o.reason}"
    counts = f"読込 {o.read} 行、新規 {o.stored} 行、取込エラー {o.quarantined} 行、変更なし {o.unchanged} 行"
    if o.held:
        return "警告", f"{o.file}: {HELD_PREFIX}{o.reason}({counts})"
    return ("警告" if o.quarantined else "情報"), f"{o.file}: {counts}"


def log_rows(
    context: ActionContext, entries: list[tuple[str, str]], label: str = ACTION_LABEL
) -> pd.DataFrame:
    """ログ rows (区分, 内容) of one action run."""
    now = pd.Timestamp.now().strftime("%Y-%m-%d %H:%M:%S")
    return pd.DataFrame(
        {
            "日時": now,
            "利用者": context.user_name,
            "操作": label,
            "区分": [kind for kind, _ in entries],
            "内容": [text for _, text in entries],
        },
        columns=LOG.headers,
    )


def _log_entries(report: ImportReport, plugins: Plugins) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    for o in report.results:
        entries.append(_file_entry(o))
        entries += [("警告", note) for note in o.notes]
    entries += [("警告", message) for message in report.messages]
    entries += [("警告", _unmatched_message(report.unmatched_files))] if report.unmatched_files else []
    entries += [("エラー", problem.as_japanese()) for problem in plugins.problems]
    return entries


def _unmatched_message(files: list[str], shown: int = 20) -> str:
    names = "、".join(files[:shown]) + (f" ほか {len(files) - shown} 件" if len(files) > shown else "")
    return f"未登録のファイル {len(files)} 件(どの取込設定のファイルパターンにも合わないため読んでいません): {names}"


def hold_rules(settings) -> HoldRules:
    """The 設定 保留: ... values as the importer's rules."""
    return HoldRules(
        max_quarantine_percent=settings.hold_max_quarantine_percent,
        max_decrease_percent=settings.hold_max_decrease_percent,
        max_increase_percent=settings.hold_max_increase_percent,
    )


def _messages(report: ImportReport, plugins: Plugins, counts: str) -> list[str]:
    refused = [o for o in report.results if o.refused]
    held = [o for o in report.results if o.held]
    messages = [f"{o.file}: {o.reason}" for o in refused]
    messages += [f"{o.file}: {HELD_PREFIX}{o.reason}{HELD_ADVICE}" for o in held]
    messages += [
        note
        for o in report.results
        for note in o.notes
        if o.missing_columns and note.startswith("ファイル「")
    ]
    messages += report.messages
    messages += [_unmatched_message(report.unmatched_files)] if report.unmatched_files else []
    messages += [problem.as_japanese() for problem in plugins.problems]
    return messages or [f"取込が完了しました。{counts}"]


def import_action(context: ActionContext) -> ActionResult:
    """Action ``import``: read every enabled source's files through the mapping tabs.

    Returns tables for 取込エラー, 品質レポート, the freshness table and the log; the JSON
    summary lists each file with its status and read/stored/quarantined/unchanged
    counts, and the files no source matched (``unmatched_files``).
    """
    config = parse_mapping_tables(context.tables)
    settings = context.settings
    folder = settings.import_path(context.workbook_dir)
    if not folder.is_dir():
        message = f"取込フォルダ「{folder}」がありません。設定タブの「取込フォルダ」を確認してください。"
        return ActionResult(
            "import", False, summary={"sources": [], "unmatched_files": []}, messages=[message]
        )
    plugins = load_plugins(settings.plugins_path(context.workbook_dir))
    reference_date = context.reference_date().date()
    store = context.store
    report = import_sources(
        store,
        config,
        folder,
        available_readers(plugins),
        user_name=context.user_name,
        reference_date=reference_date,
        hold_rules=hold_rules(settings),
    )
    outcomes = report.results
    for outcome in outcomes:
        store.audit(context.user_name, "import_file", target=outcome.file, detail=outcome.as_json())
    quality = quality_report(store, config, reference_date, settings.resident_source_id)
    totals = {
        key: sum(getattr(o, key) for o in outcomes) for key in ("read", "stored", "quarantined", "unchanged")
    }
    counts = (
        f"{len(outcomes)} ファイル: 新規 {totals['stored']} 行、取込エラー {totals['quarantined']} 行、"
        f"変更なし {totals['unchanged']} 行、取り込めなかったファイル {sum(o.refused for o in outcomes)}、"
        f"保留 {sum(o.held for o in outcomes)}、未登録のファイル {len(report.unmatched_files)}"
    )
    return ActionResult(
        action="import",
        ok=not any(o.refused or o.held for o in outcomes),
        summary={"sources": [o.as_json() for o in outcomes], "unmatched_files": report.unmatched_files},
        tables={
            "import_errors": import_errors_table(store, outcomes),
            "quality_report": quality,
            "freshness": freshness_table(quality, config, reference_date),
            "log": log_rows(context, _log_entries(report, plugins)),
        },
        messages=_messages(report, plugins, counts),
        counts=counts,
    )
