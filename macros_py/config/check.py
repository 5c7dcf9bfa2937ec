"""The 設定チェック action: validate every settings tab and report all problems at once."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping

import pandas as pd

from macros_py.config.errors import ConfigError, ConfigErrors
from macros_py.config.settings import parse_settings
from macros_py.config.users import validate_users

logger = logging.getLogger(__name__)

Validator = Callable[[Mapping[str, pd.DataFrame]], list[ConfigError]]

# Stage validators are named here so config does not import the stages at load time.
STAGE_VALIDATORS: tuple[str, ...] = (
    "macros_py.ingest.mapping:validate_mapping_tables",
    "macros_py.link.decision_rules:validate_link_rule_tables",
    "macros_py.score.pipeline:validate_score_tables",
)
# The tab each stage validator checks, named when the validator cannot be loaded.
VALIDATOR_SHEETS: dict[str, str] = {
    "macros_py.ingest.mapping:validate_mapping_tables": "項目マッピング",
    "macros_py.link.decision_rules:validate_link_rule_tables": "名寄せルール",
    "macros_py.score.pipeline:validate_score_tables": "判定ルール",
}


def _validate_settings(tables: Mapping[str, pd.DataFrame]) -> list[ConfigError]:
    try:
        parse_settings(tables["settings"])
    except ConfigErrors as error:
        return list(error.errors)
    return []


def _unloadable(path: str) -> ConfigError:
    sheet = VALIDATOR_SHEETS.get(path, "設定")
    return ConfigError(
        sheet,
        None,
        None,
        f"「{sheet}」タブの入力チェックを読み込めなかったため、内容を確かめられません。"
        "mimamori の導入に問題があります。管理者に連絡し、入れ直してください(詳細はログファイル)。",
    )


def validate_all_settings(tables: Mapping[str, pd.DataFrame]) -> list[ConfigError]:
    """Every problem in every settings tab, in tab order."""
    errors = _validate_settings(tables)
    errors += validate_users(tables.get("users", pd.DataFrame(columns=["利用者ID", "役割", "有効"])))
    for path in STAGE_VALIDATORS:
        module_name, function_name = path.split(":")
        try:
            validator: Validator = getattr(importlib.import_module(module_name), function_name)
        except (ImportError, AttributeError):
            # A check that cannot run must never pass silently: the tabs are unchecked.
            logger.error("stage validator %s could not be loaded", path, exc_info=True)
            errors.append(_unloadable(path))
            continue
        errors += validator(tables)
    return errors


def check_settings_action(context):
    """Action ``check_settings``: validate all settings tabs and report every problem."""
    from macros_py.actions import ActionResult

    errors = validate_all_settings(context.tables)
    messages = [error.as_japanese() for error in errors] or ["設定に問題はありません。"]
    log = pd.DataFrame(
        {
            "日時": pd.Timestamp.now().strftime("%Y-%m-%d %H:%M:%S"),
            "利用者": context.user_name,
            "操作": "設定チェック",
            "区分": "エラー" if errors else "情報",
            "内容": messages,
        }
    )
    return ActionResult(
        action="check_settings",
        ok=not errors,
        summary={"errors": [error.__dict__ for error in errors]},
        tables={"log": log},
        messages=messages,
        counts=f"問題 {len(errors)} 件",
    )
