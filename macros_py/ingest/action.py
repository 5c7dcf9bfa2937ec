"""The 取込 action: import every configured export and report what happened."""

from __future__ import annotations

import logging

import pandas as pd

from macros_py.actions import ActionContext, ActionResult
from macros_py.ingest.importer import FileOutcome, import_sources
from macros_py.ingest.mapping import parse_mapping_tables
from macros_py.ingest.quality import freshness_table, quality_report
from macros_py.ingest.query import current_quarantine
from macros_py.ingest.readers import ReaderSpec
from macros_py.plugins import Plugins, load_plugins
from macros_py.sheets import IMPORT_ERRORS, LOG

__all__ = ["available_readers", "import_action", "import_errors_table"]

logger = logging.getLogger(__name__)
ACTION_LABEL = "取込"


def available_readers(plugins: Plugins) -> dict[str, ReaderSpec]:
    """Readers by 形式 from every ``register_readers`` implementation (later ones win)."""
    readers: dict[str, ReaderSpec] = {}
    for spec in plugins.collect("register_readers"):
        if isinstance(spec, ReaderSpec) or all(hasattr(spec, name) for name in ("format", "open")):
            readers[str(spec.format)] = spec
        else:
            logger.warning("ignoring reader %r: not a ReaderSpec", spec)
    return readers


def import_errors_table(store, outcomes: list[FileOutcome]) -> pd.DataFrame:
    """取込エラー: refused files of this run, then quarantined cells of the current imports."""
    refused = pd.DataFrame(
        {
            "ソースID": [o.source for o in outcomes if o.refused],
            "ファイル": [o.file for o in outcomes if o.refused],
            "行": pd.array([None] * sum(o.refused for o in outcomes), dtype="Int64"),
            "列": "",
            "値": "",
            "理由": [f"ファイル全体を取り込みませんでした: {o.reason}" for o in outcomes if o.refused],
        }
    )
    cells = current_quarantine(store).rename(
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
    table = pd.concat([refused, cells], ignore_index=True) if len(refused) else cells
    return table[IMPORT_ERRORS.headers].reset_index(drop=True)


def _log_rows(context: ActionContext, outcomes: list[FileOutcome], messages: list[str], plugins: Plugins):
    now = pd.Timestamp.now().strftime("%Y-%m-%d %H:%M:%S")
    entries: list[tuple[str, str]] = []
    for o in outcomes:
        if o.refused:
            entries.append(("エラー", f"{o.file}: {o.reason}"))
        else:
            entries.append(
                (
                    "警告" if o.quarantined else "情報",
                    f"{o.file}: 読込 {o.read} 行、新規 {o.stored} 行、取込エラー {o.quarantined} 行、変更なし {o.unchanged} 行",
                )
            )
        entries += [("警告", note) for note in o.notes]
    entries += [("警告", message) for message in messages]
    entries += [("エラー", problem.as_japanese()) for problem in plugins.problems]
    return pd.DataFrame(
        {
            "日時": now,
            "利用者": context.user_name,
            "操作": ACTION_LABEL,
            "区分": [kind for kind, _ in entries],
            "内容": [text for _, text in entries],
        },
        columns=LOG.headers,
    )


def import_action(context: ActionContext) -> ActionResult:
    """Action ``import``: read every enabled source's files through the mapping tabs.

    Returns tables for 取込エラー, 品質レポート, the freshness table and the log; the JSON
    summary lists each file with read/stored/quarantined/unchanged/refused counts.
    """
    config = parse_mapping_tables(context.tables)
    settings = context.settings
    folder = settings.import_path(context.workbook_dir)
    if not folder.is_dir():
        message = f"取込フォルダ「{folder}」がありません。設定タブの「取込フォルダ」を確認してください。"
        return ActionResult("import", False, summary={"sources": []}, messages=[message])
    plugins = load_plugins(settings.plugins_path(context.workbook_dir))
    readers = available_readers(plugins)
    reference_date = context.reference_date().date()
    store = context.store
    outcomes, messages = import_sources(store, config, folder, readers, context.user_name, reference_date)
    for outcome in outcomes:
        store.audit(context.user_name, "import_file", target=outcome.file, detail=outcome.as_json())
    quality = quality_report(store, config, reference_date, settings.resident_source_id)
    refused = [o for o in outcomes if o.refused]
    totals = {
        key: sum(getattr(o, key) for o in outcomes) for key in ("read", "stored", "quarantined", "unchanged")
    }
    counts = (
        f"{len(outcomes)} ファイル: 新規 {totals['stored']} 行、取込エラー {totals['quarantined']} 行、"
        f"変更なし {totals['unchanged']} 行、取り込めなかったファイル {len(refused)}"
    )
    all_messages = [f"{o.file}: {o.reason}" for o in refused] + messages
    all_messages += [problem.as_japanese() for problem in plugins.problems]
    if not all_messages:
        all_messages = [f"取込が完了しました。{counts}"]
    return ActionResult(
        action="import",
        ok=not refused,
        summary={"sources": [o.as_json() for o in outcomes]},
        tables={
            "import_errors": import_errors_table(store, outcomes),
            "quality_report": quality,
            "freshness": freshness_table(quality, config, reference_date),
            "log": _log_rows(context, outcomes, messages, plugins),
        },
        messages=all_messages,
        counts=counts,
    )
