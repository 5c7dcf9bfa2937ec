"""教育委員会 exports: school-expense aid, school-lunch arrears, SSW support records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.exports.common import guardian_index, person_view
from macros_py.synth.exports.spec import CodeRow, ColumnSpec, SourceSpec
from macros_py.synth.exports.writer import ExportWriter
from macros_py.synth.formats import katakana_to_hiragana
from macros_py.synth.mess import blank_out, mess_kana, render_names
from macros_py.synth.population import FISCAL_YEAR_START, to_datetime64
from macros_py.synth.world import World

__all__ = ["SHUGAKU_ENJO", "KYUSHOKU", "SSW", "write_education_exports"]

SHUGAKU_ENJO = SourceSpec(
    source_id="shugaku_enjo",
    name="就学援助認定者",
    department="教育委員会学務課",
    pattern="教育委員会/就学援助認定者_*.xlsx",
    file_format="xlsx",
    encoding="自動",
    header_row=3,
    key_kind="宛名番号",
    subject="児童",
    rhythm="月次",
    sheet_name="認定者一覧",
    columns=(
        ColumnSpec("認定番号", "就学援助認定番号", "文字"),
        ColumnSpec("保護者宛名番号", "保護者宛名番号", "文字"),
        ColumnSpec("児童宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("児童氏名", "氏名", "文字"),
        ColumnSpec("学校名", "学校", "文字"),
        ColumnSpec("学年", "学年", "数値"),
        ColumnSpec("認定区分", "就学援助区分", "コード", "就学援助区分"),
        ColumnSpec("認定日", "就学援助認定日", "日付", "自動"),
    ),
    codes=(CodeRow("就学援助区分", "1", "要保護"), CodeRow("就学援助区分", "2", "準要保護")),
)

KYUSHOKU = SourceSpec(
    source_id="kyushoku",
    name="学校給食費滞納",
    department="教育委員会学校給食課",
    pattern="教育委員会/給食費滞納_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="宛名番号",
    subject="児童",
    rhythm="月次",
    columns=(
        ColumnSpec("児童宛名番号", "宛名番号", "文字"),
        ColumnSpec("学校名", "学校", "文字"),
        ColumnSpec("学年", "学年", "数値"),
        ColumnSpec("児童氏名", "氏名", "文字"),
        ColumnSpec("児童カナ", "氏名カナ", "文字"),
        ColumnSpec("保護者氏名", "保護者氏名", "文字"),
        ColumnSpec("滞納月数", "給食費滞納月数", "数値"),
        ColumnSpec("滞納額", "給食費滞納額", "数値"),
    ),
)

SSW = SourceSpec(
    source_id="ssw",
    name="SSW支援記録",
    department="教育委員会(SSW)",
    pattern="教育委員会/SSW支援記録_*.xlsx",
    file_format="xlsx",
    encoding="自動",
    header_row=1,
    key_kind="なし",
    subject="児童",
    rhythm="随時",
    sheet_name="支援記録",
    columns=(
        ColumnSpec("記録番号", "SSW記録番号", "文字"),
        ColumnSpec("学校名", "学校", "文字"),
        ColumnSpec("学年", "学年", "数値"),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("ふりがな", "氏名カナ", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("主訴", "SSW主訴", "文字"),
        ColumnSpec("支援開始日", "SSW支援開始日", "日付", "自動"),
        ColumnSpec("状況", "SSW支援状況", "文字"),
    ),
)


def _school_grade(grade: pd.Series) -> pd.Series:
    return pd.Series(np.where(grade > 6, grade - 6, grade), index=grade.index)


def write_education_exports(world: World, writer: ExportWriter) -> None:
    """School-expense aid (xlsx with a title block), lunch arrears and SSW records."""
    people = world.people
    pupils = np.flatnonzero(people["school_index"].to_numpy() >= 0)
    poor = world.unit_flag("poor", pupils)
    assistance = world.unit_flag("public_assistance", pupils)

    rng = world.rng("shugaku_enjo")
    aided = assistance | (poor & (rng.random(len(pupils)) < 0.75)) | (rng.random(len(pupils)) < 0.05)
    aided_index = pupils[aided]
    view = person_view(world, aided_index)
    guardians = guardian_index(world, aided_index)
    certified = pd.Series(
        to_datetime64(FISCAL_YEAR_START) + rng.integers(0, 90, len(view)).astype("timedelta64[D]")
    )
    frame = pd.DataFrame(
        {
            "認定番号": "R7-" + pd.Series(np.arange(1, len(view) + 1)).astype(str).str.zfill(5),
            "保護者宛名番号": np.where(
                guardians >= 0, people["resident_id"].to_numpy()[np.maximum(guardians, 0)], ""
            ),
            "児童宛名番号": view["resident_id"],
            "児童氏名": render_names(
                view["surname_registry"], view["given_name_registry"], rng, standardise_rate=0.5
            ),
            "学校名": view["school_name"],
            "学年": _school_grade(view["grade"]),
            "認定区分": np.where(world.unit_flag("public_assistance", aided_index), "1", "2"),
            "認定日": certified,
            "_person_id": view["person_id"],
        }
    ).sort_values(["学校名", "学年"], kind="stable")
    writer.write_xlsx(
        SHUGAKU_ENJO,
        "教育委員会/就学援助認定者_20251101.xlsx",
        frame,
        date_columns=("認定日",),
        number_columns=("学年",),
        title="令和7年度 就学援助認定者一覧(11月1日現在)",
    )

    rng = world.rng("kyushoku")
    arrears = (poor & (rng.random(len(pupils)) < 0.12)) | (rng.random(len(pupils)) < 0.01)
    arrears_index = pupils[arrears]
    view = person_view(world, arrears_index)
    months = rng.integers(1, 8, len(view))
    guardians = guardian_index(world, arrears_index)
    guardian_names = np.where(
        guardians >= 0,
        people["surname"].to_numpy()[np.maximum(guardians, 0)]
        + "\u3000"
        + people["given_name"].to_numpy()[np.maximum(guardians, 0)],
        "",
    )
    monthly_fee = np.where(view["grade"] > 6, 5200, 4600)
    frame = pd.DataFrame(
        {
            "児童宛名番号": blank_out(view["resident_id"], rng, 0.08),
            "学校名": view["school_name"],
            "学年": _school_grade(view["grade"]).astype(str),
            "児童氏名": render_names(
                view["surname_registry"],
                view["given_name_registry"],
                rng,
                former_surname=view["former_surname"],
                former_surname_rate=0.3,
            ),
            "児童カナ": mess_kana(view["kana"], rng),
            "保護者氏名": guardian_names,
            "滞納月数": months.astype(str),
            "滞納額": (months * monthly_fee).astype(str),
            "_person_id": view["person_id"],
        }
    )
    writer.write_csv(KYUSHOKU, "教育委員会/給食費滞納_20251031.csv", frame)

    rng = world.rng("ssw")
    supported = world.child_flag("ssw_support", pupils)
    ssw_index = pupils[supported]
    view = person_view(world, ssw_index)
    complaints = np.select(
        [
            world.child_flag("non_attendance", ssw_index),
            world.child_flag("abuse", ssw_index),
            world.child_flag("young_carer", ssw_index),
            world.child_flag("bullying", ssw_index),
            world.child_flag("developmental", ssw_index),
        ],
        ["不登校", "家庭環境(養育)", "家族の世話", "友人関係", "発達の課題"],
        "家庭環境(経済)",
    )
    start = pd.Series(
        to_datetime64(FISCAL_YEAR_START) - rng.integers(-200, 500, len(view)).astype("timedelta64[D]")
    )
    frame = pd.DataFrame(
        {
            "記録番号": "SSW" + pd.Series(np.arange(1, len(view) + 1)).astype(str).str.zfill(5),
            "学校名": view["school_name"],
            "学年": _school_grade(view["grade"]),
            "氏名": render_names(
                view["surname_registry"],
                view["given_name_registry"],
                rng,
                standardise_rate=0.7,
                geta_rate=0.1,
                former_surname=view["former_surname"],
                former_surname_rate=0.5,
            ),
            "ふりがな": katakana_to_hiragana(mess_kana(view["kana"], rng, variant_rate=0.05)),
            "生年月日": view["birth_date"],
            "主訴": complaints,
            "支援開始日": start,
            "状況": np.where(rng.random(len(view)) < 0.75, "継続", "終結"),
            "_person_id": view["person_id"],
        }
    )
    writer.write_xlsx(
        SSW,
        "教育委員会/SSW支援記録_20251120.xlsx",
        frame,
        date_columns=("生年月日", "支援開始日"),
        number_columns=("学年",),
    )
