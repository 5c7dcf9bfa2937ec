"""住民記録 (resident registry) and 学齢簿 (school-age register) exports."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.exports.common import SEX_CODE_TABLES, guardian_index, person_view, sex_codes
from macros_py.synth.exports.spec import CodeRow, ColumnSpec, SourceSpec
from macros_py.synth.exports.writer import ExportWriter
from macros_py.synth.formats import format_dates, katakana_to_hiragana
from macros_py.synth.mess import (
    blank_out,
    mess_dates,
    mess_kana,
    outside_cp932_to_private_use,
    render_addresses,
    render_names,
)
from macros_py.synth.world import World

__all__ = ["JUMIN", "GAKUREIBO", "write_jumin", "write_gakureibo"]

_MOVE_CODES = (("01", "出生"), ("02", "転入"), ("03", "転居"), ("04", "転出"), ("05", "世帯分離"))
_STATUS_CODES = (("1", "住民"), ("2", "転出者"))

JUMIN = SourceSpec(
    source_id="jumin",
    name="住民記録",
    department="市民課",
    pattern="住民記録/住民記録_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="宛名番号",
    subject="全住民",
    rhythm="日次",
    columns=(
        ColumnSpec("宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("世帯番号", "世帯番号", "文字"),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("氏名カナ", "氏名カナ", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_数字"),
        ColumnSpec("続柄", "続柄", "文字"),
        ColumnSpec("郵便番号", "郵便番号", "文字"),
        ColumnSpec("住所", "住所", "文字"),
        ColumnSpec("方書", "住所", "文字"),
        ColumnSpec("住民状態", "住民状態", "コード", "住民状態"),
        ColumnSpec("異動事由", "異動事由", "コード", "異動事由"),
        ColumnSpec("異動年月日", "異動日", "日付", "自動"),
        ColumnSpec("国籍", "国籍", "文字"),
    ),
    codes=(
        *SEX_CODE_TABLES["性別_数字"],
        *(CodeRow("住民状態", code, value) for code, value in _STATUS_CODES),
        *(CodeRow("異動事由", code, value) for code, value in _MOVE_CODES),
    ),
)

GAKUREIBO = SourceSpec(
    source_id="gakureibo",
    name="学齢簿",
    department="教育委員会学務課",
    pattern="教育委員会/学齢簿_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="宛名番号",
    subject="児童",
    rhythm="月次",
    columns=(
        ColumnSpec("宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("児童生徒氏名", "氏名", "文字"),
        ColumnSpec("ふりがな", "氏名カナ", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_漢字"),
        ColumnSpec("学校名", "学校", "文字"),
        ColumnSpec("学年", "学年", "数値"),
        ColumnSpec("保護者氏名", "保護者氏名", "文字"),
        ColumnSpec("住所", "住所", "文字"),
        ColumnSpec("就学区分", "就学区分", "コード", "就学区分"),
    ),
    codes=(
        *SEX_CODE_TABLES["性別_漢字"],
        CodeRow("就学区分", "1", "指定校"),
        CodeRow("就学区分", "2", "私立・国立"),
        CodeRow("就学区分", "3", "就学予定"),
    ),
)

JUMIN_EXTRACT = "20251130"
GAKUREIBO_EXTRACT = "20251101"


def write_jumin(world: World, writer: ExportWriter) -> None:
    """All registered residents, including those who moved out during the year (転出者)."""
    people = world.people
    person_index = np.flatnonzero(people["status"].to_numpy() != "unregistered")
    view = person_view(world, person_index)
    move_code = {value: code for code, value in _MOVE_CODES}
    event = people["event"].to_numpy()[person_index]
    frame = pd.DataFrame(
        {
            "宛名番号": view["resident_id"],
            "世帯番号": view["household_id"],
            # The registry holds the true form; 𠮷 is outside CP932, so the vendor's 外字 code is written.
            "氏名": outside_cp932_to_private_use(
                view["surname_registry"] + "\u3000" + view["given_name_registry"]
            ),
            "氏名カナ": view["kana"],
            "生年月日": format_dates(view["birth_date"], "compact"),
            "性別": sex_codes(view["sex"], "数字"),
            "続柄": view["relationship"],
            "郵便番号": view["postal_code"].str[:3] + "-" + view["postal_code"].str[3:],
            "住所": view["registry_address"],
            "方書": view["registry_building"],
            "住民状態": np.where(view["status"] == "moved_out", "2", "1"),
            "異動事由": pd.Series(event).map(move_code).fillna("").to_numpy(),
            "異動年月日": format_dates(pd.Series(people["event_date"].to_numpy()[person_index]), "compact"),
            "国籍": people["nationality"].to_numpy()[person_index],
            "_person_id": view["person_id"],
        }
    )
    frame = frame.sort_values(["世帯番号"], kind="stable").reset_index(drop=True)
    writer.write_csv(JUMIN, f"住民記録/住民記録_{JUMIN_EXTRACT}.csv", frame)


def write_gakureibo(world: World, writer: ExportWriter) -> None:
    """Resident children of compulsory school age, plus next April's new pupils."""
    rng = world.rng("gakureibo")
    people = world.people
    grade = people["grade"].to_numpy()
    age = people["age"].to_numpy()
    resident = people["status"].to_numpy() == "resident"
    entering = (grade == 0) & (age >= 5) & (age < 7)
    person_index = np.flatnonzero(resident & (((grade >= 1) & (grade <= 9)) | entering))
    view = person_view(world, person_index)
    guardians = guardian_index(world, person_index)
    guardian_names = np.where(
        guardians >= 0,
        people["surname"].to_numpy()[np.maximum(guardians, 0)]
        + "\u3000"
        + people["given_name"].to_numpy()[np.maximum(guardians, 0)],
        "",
    )
    category = np.where(view["grade"] == 0, "3", np.where(view["school_index"] >= 0, "1", "2"))
    frame = pd.DataFrame(
        {
            "宛名番号": view["resident_id"],
            "児童生徒氏名": render_names(
                view["surname_registry"],
                view["given_name_registry"],
                rng,
                standardise_rate=0.4,
                geta_rate=0.1,
            ),
            "ふりがな": katakana_to_hiragana(
                mess_kana(view["kana"], rng, variant_rate=0.02, typo_rate=0.005)
            ),
            "生年月日": mess_dates(view["birth_date"], "era_dot", rng),
            "性別": sex_codes(view["sex"], "漢字"),
            "学校名": view["school_name"],
            "学年": np.where(
                view["grade"] > 0, np.where(view["grade"] > 6, view["grade"] - 6, view["grade"]), 0
            ).astype(str),
            "保護者氏名": blank_out(pd.Series(guardian_names), rng, 0.02),
            "住所": render_addresses(view, rng, style="kanji", include_municipality=False, variant_rate=0.08),
            "就学区分": category,
            "_person_id": view["person_id"],
        }
    )
    frame.loc[frame["学年"] == "0", "学年"] = ""
    frame = frame.sort_values(["学校名", "学年", "ふりがな"], kind="stable").reset_index(drop=True)
    writer.write_csv(GAKUREIBO, f"教育委員会/学齢簿_{GAKUREIBO_EXTRACT}.csv", frame)
