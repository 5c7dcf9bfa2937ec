"""The 設定 tab: key/value settings read into a typed, frozen object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from macros_py.config.errors import ConfigError, ConfigErrors
from macros_py.sheets import SETTINGS


@dataclass(frozen=True)
class Settings:
    """Typed values of the 設定 tab. Paths are resolved against the workbook's folder."""

    store_location: str = "mimamori.db"
    import_folder: str = "exports"
    plugins_folder: str = "plugins"
    link_auto_threshold: float = 0.95
    link_review_threshold: float = 0.30
    backups_to_keep: int = 10
    reference_date: str = ""  # YYYY-MM-DD; empty means today
    resident_source_id: str = "jumin"  # the 住民記録 source every other source is linked to
    # A new extract is held (not made current) beyond these limits, in percent.
    hold_max_quarantine_percent: float = 50.0  # share of rows quarantined
    hold_max_decrease_percent: float = 20.0  # fewer rows than the current file
    hold_max_increase_percent: float = 100.0  # more rows than the current file
    # 判定 (score): the candidate list.
    supported_children: str = "順位を下げる"  # 除外 / 順位を下げる / そのまま
    sibling_points: float = 0.0  # added to a child whose sibling is listed in the same type; 0 = off
    candidate_order: str = "点数"  # 点数 / 確率
    sharp_rise_points: float = 3.0  # a score rise of at least this is a 急上昇 in the 履歴 tab
    model_age_thresholds: str = ""  # "0-5:0.30, 6-18:0.40"; blank = score.model.DEFAULT_AGE_THRESHOLDS

    def store_url_or_path(self, workbook_dir: Path) -> str:
        if "://" in self.store_location:
            return self.store_location
        return str((workbook_dir / self.store_location).resolve())

    def import_path(self, workbook_dir: Path) -> Path:
        return (workbook_dir / self.import_folder).resolve()

    def plugins_path(self, workbook_dir: Path) -> Path:
        return (workbook_dir / self.plugins_folder).resolve()


# Japanese item name -> (attribute, parser)
_ITEMS: dict[str, tuple[str, type]] = {
    "データベース": ("store_location", str),
    "取込フォルダ": ("import_folder", str),
    "プラグインフォルダ": ("plugins_folder", str),
    "名寄せ自動しきい値": ("link_auto_threshold", float),
    "名寄せ確認しきい値": ("link_review_threshold", float),
    "バックアップ保存数": ("backups_to_keep", int),
    "基準日": ("reference_date", str),
    "住民記録ソースID": ("resident_source_id", str),
    "保留: 取込エラー率の上限(%)": ("hold_max_quarantine_percent", float),
    "保留: 件数減少の上限(%)": ("hold_max_decrease_percent", float),
    "保留: 件数増加の上限(%)": ("hold_max_increase_percent", float),
    "支援中の児童の扱い": ("supported_children", str),
    "きょうだい加点": ("sibling_points", float),
    "候補リストの並び": ("candidate_order", str),
    "急上昇とみなす点数の差": ("sharp_rise_points", float),
    "モデルの年齢帯しきい値": ("model_age_thresholds", str),
}
SUPPORTED_CHILDREN_CHOICES = ("除外", "順位を下げる", "そのまま")
CANDIDATE_ORDER_CHOICES = ("点数", "確率")
_PERCENTS = (
    ("hold_max_quarantine_percent", "保留: 取込エラー率の上限(%)", 100.0),
    ("hold_max_decrease_percent", "保留: 件数減少の上限(%)", 100.0),
    ("hold_max_increase_percent", "保留: 件数増加の上限(%)", None),
)


def parse_settings(table: pd.DataFrame) -> Settings:
    """Read the 設定 tab (columns 項目, 値) into :class:`Settings`.

    Unknown items are errors, so a typo never silently falls back to a default.

    Raises:
        ConfigErrors: naming sheet, row and column of every invalid value.
    """
    values: dict[str, object] = {}
    errors: list[ConfigError] = []
    for index, (item, raw) in enumerate(zip(table["項目"], table["値"], strict=True)):
        row = SETTINGS.excel_row(index)
        item = str(item).strip()
        text = "" if raw is None or (isinstance(raw, float) and pd.isna(raw)) else str(raw).strip()
        if not item:
            continue
        if item not in _ITEMS:
            errors.append(ConfigError(SETTINGS.name, row, "項目", f"「{item}」という設定項目はありません。"))
            continue
        attribute, parser = _ITEMS[item]
        if text == "" and parser is not str:
            continue
        try:
            values[attribute] = parser(text)
        except ValueError:
            kind = "整数" if parser is int else "数値"
            errors.append(ConfigError(SETTINGS.name, row, "値", f"「{text}」は{kind}ではありません。"))
    settings = Settings(**values)  # type: ignore[arg-type]
    for attribute, label in (
        ("link_auto_threshold", "名寄せ自動しきい値"),
        ("link_review_threshold", "名寄せ確認しきい値"),
    ):
        value = getattr(settings, attribute)
        if not 0.0 <= value <= 1.0:
            errors.append(
                ConfigError(SETTINGS.name, None, "値", f"{label}は0から1の間にしてください(現在 {value})。")
            )
    for attribute, label, ceiling in _PERCENTS:
        value = getattr(settings, attribute)
        if value < 0 or (ceiling is not None and value > ceiling):
            limit = f"0から{ceiling:g}の間" if ceiling is not None else "0以上"
            errors.append(
                ConfigError(SETTINGS.name, None, "値", f"{label}は{limit}にしてください(現在 {value:g})。")
            )
    if settings.link_review_threshold > settings.link_auto_threshold:
        errors.append(
            ConfigError(SETTINGS.name, None, "値", "名寄せ確認しきい値は自動しきい値以下にしてください。")
        )
    errors.extend(_score_setting_errors(settings))
    if settings.reference_date:
        try:
            pd.Timestamp(settings.reference_date)
        except ValueError:
            errors.append(
                ConfigError(
                    SETTINGS.name,
                    None,
                    "値",
                    f"基準日「{settings.reference_date}」は YYYY-MM-DD で入力してください。",
                )
            )
    if errors:
        raise ConfigErrors(errors)
    return settings


def _score_setting_errors(settings: Settings) -> list[ConfigError]:
    """Problems with the 判定 settings (choices, non-negative numbers, age thresholds)."""
    errors: list[ConfigError] = []
    for value, label, choices in (
        (settings.supported_children, "支援中の児童の扱い", SUPPORTED_CHILDREN_CHOICES),
        (settings.candidate_order, "候補リストの並び", CANDIDATE_ORDER_CHOICES),
    ):
        if value not in choices:
            errors.append(
                ConfigError(
                    SETTINGS.name,
                    None,
                    "値",
                    f"{label}は {'・'.join(choices)} のどれかにしてください(現在「{value}」)。",
                )
            )
    for value, label in (
        (settings.sibling_points, "きょうだい加点"),
        (settings.sharp_rise_points, "急上昇とみなす点数の差"),
    ):
        if value < 0:
            errors.append(
                ConfigError(SETTINGS.name, None, "値", f"{label}は0以上にしてください(現在 {value:g})。")
            )
    return errors  # モデルの年齢帯しきい値 is read and checked by the score stage (score.model)
