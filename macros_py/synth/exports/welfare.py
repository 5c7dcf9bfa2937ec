"""福祉 exports: public assistance, child-rearing allowance, disability, care, health insurance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.exports.common import SEX_CODE_TABLES, guardian_index, person_view, sex_codes
from macros_py.synth.exports.spec import CodeRow, ColumnSpec, SourceSpec
from macros_py.synth.exports.writer import ExportWriter
from macros_py.synth.formats import katakana_to_halfwidth
from macros_py.synth.mess import (
    add_duplicates,
    blank_out,
    mess_dates,
    mess_kana,
    render_addresses,
    render_names,
)
from macros_py.synth.population import FISCAL_YEAR_START, to_datetime64
from macros_py.synth.profiles import REFERENCE_DATE
from macros_py.synth.world import World

__all__ = ["SEIHO", "JIFU", "DISABILITY", "DISABILITY_CHILD", "KAIGO", "KOKUHO", "write_welfare_exports"]

SEIHO = SourceSpec(
    source_id="seiho",
    name="生活保護受給世帯員",
    department="生活福祉課",
    pattern="福祉/生活保護_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="宛名番号",
    subject="世帯員",
    rhythm="月次",
    columns=(
        ColumnSpec("ケース番号", "ケース番号", "文字"),
        ColumnSpec("世帯番号", "世帯番号", "文字"),
        ColumnSpec("宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("氏名ｶﾅ", "氏名カナ", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_数字"),
        ColumnSpec("続柄", "続柄", "文字"),
        ColumnSpec("保護開始日", "保護開始日", "日付", "自動"),
        ColumnSpec("保護状況", "保護状況", "コード", "保護状況"),
    ),
    codes=(
        *SEX_CODE_TABLES["性別_数字"],
        CodeRow("保護状況", "1", "保護中"),
        CodeRow("保護状況", "2", "停止中"),
    ),
)

JIFU = SourceSpec(
    source_id="jifu",
    name="児童扶養手当",
    department="子育て支援課",
    pattern="子育て支援/児童扶養手当_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="宛名番号",
    subject="児童",
    rhythm="月次",
    columns=(
        ColumnSpec("受給者宛名番号", "受給者宛名番号", "文字"),
        ColumnSpec("受給者氏名", "受給者氏名", "文字"),
        ColumnSpec("対象児童宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("対象児童氏名", "氏名", "文字"),
        ColumnSpec("児童生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("支給区分", "支給区分", "コード", "支給区分"),
        ColumnSpec("認定日", "認定日", "日付", "自動"),
    ),
    codes=(
        CodeRow("支給区分", "1", "全部支給"),
        CodeRow("支給区分", "2", "一部支給"),
        CodeRow("支給区分", "3", "支給停止"),
    ),
)

DISABILITY = SourceSpec(
    source_id="disability",
    name="障害者手帳",
    department="障害福祉課",
    pattern="障害福祉/障害者手帳_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="宛名番号",
    subject="世帯員",
    rhythm="月次",
    columns=(
        ColumnSpec("宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("カナ", "氏名カナ", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_数字"),
        ColumnSpec("手帳種別", "手帳種別", "コード", "手帳種別"),
        ColumnSpec("等級", "手帳等級", "文字"),
        ColumnSpec("交付日", "手帳交付日", "日付", "自動"),
    ),
    codes=(
        *SEX_CODE_TABLES["性別_数字"],
        CodeRow("手帳種別", "1", "身体障害者手帳"),
        CodeRow("手帳種別", "2", "療育手帳"),
        CodeRow("手帳種別", "3", "精神障害者保健福祉手帳"),
    ),
)

DISABILITY_CHILD = SourceSpec(
    source_id="disability_child",
    name="障害児支援受給者証",
    department="障害福祉課",
    pattern="障害福祉/障害児受給者証_*.xlsx",
    file_format="xlsx",
    encoding="自動",
    header_row=1,
    key_kind="宛名番号",
    subject="児童",
    rhythm="月次",
    columns=(
        ColumnSpec("受給者証番号", "受給者証番号", "文字"),
        ColumnSpec("児童宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("児童氏名", "氏名", "文字"),
        ColumnSpec("児童生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("保護者宛名番号", "保護者宛名番号", "文字"),
        ColumnSpec("サービス種別", "障害児サービス種別", "文字"),
        ColumnSpec("支給決定開始日", "支給決定開始日", "日付", "自動"),
        ColumnSpec("支給決定終了日", "支給決定終了日", "日付", "自動"),
    ),
)

_CARE_LEVELS = (
    ("12", "要支援1"),
    ("13", "要支援2"),
    ("21", "要介護1"),
    ("22", "要介護2"),
    ("23", "要介護3"),
    ("24", "要介護4"),
    ("25", "要介護5"),
)

KAIGO = SourceSpec(
    source_id="kaigo",
    name="要介護認定",
    department="介護保険課",
    pattern="介護保険/要介護認定_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="宛名番号",
    subject="世帯員",
    rhythm="月次",
    columns=(
        ColumnSpec("被保険者番号", "被保険者番号", "文字"),
        ColumnSpec("宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_数字"),
        ColumnSpec("住所", "住所", "文字"),
        ColumnSpec("要介護状態区分", "要介護度", "コード", "要介護度"),
        ColumnSpec("認定有効開始日", "認定有効開始日", "日付", "自動"),
        ColumnSpec("認定有効終了日", "認定有効終了日", "日付", "自動"),
    ),
    codes=(
        *SEX_CODE_TABLES["性別_数字"],
        *(CodeRow("要介護度", code, value) for code, value in _CARE_LEVELS),
    ),
)

KOKUHO = SourceSpec(
    source_id="kokuho",
    name="国民健康保険 資格履歴",
    department="保険年金課",
    pattern="国保/国保資格履歴_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="宛名番号",
    subject="世帯員",
    rhythm="月次",
    columns=(
        ColumnSpec("宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("世帯番号", "世帯番号", "文字"),
        ColumnSpec("記号番号", "国保記号番号", "文字"),
        ColumnSpec("ｶﾅ氏名", "氏名カナ", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_数字"),
        ColumnSpec("資格取得日", "国保資格取得日", "日付", "自動"),
        ColumnSpec("取得事由", "国保取得事由", "コード", "国保取得事由"),
        ColumnSpec("資格喪失日", "国保資格喪失日", "日付", "自動"),
        ColumnSpec("喪失事由", "国保喪失事由", "コード", "国保喪失事由"),
    ),
    codes=(
        *SEX_CODE_TABLES["性別_数字"],
        CodeRow("国保取得事由", "01", "転入"),
        CodeRow("国保取得事由", "02", "社保離脱"),
        CodeRow("国保取得事由", "03", "出生"),
        CodeRow("国保取得事由", "04", "生保廃止"),
        CodeRow("国保喪失事由", "11", "転出"),
        CodeRow("国保喪失事由", "12", "社保加入"),
        CodeRow("国保喪失事由", "13", "生保開始"),
        CodeRow("国保喪失事由", "14", "後期高齢者医療"),
    ),
)


def _registered(world: World) -> np.ndarray:
    return world.people["status"].to_numpy() == "resident"


def _write_seiho(world: World, writer: ExportWriter) -> None:
    rng = world.rng("seiho")
    people = world.people
    on_assistance = world.circumstances["public_assistance"].to_numpy()[people["unit_index"].to_numpy()]
    person_index = np.flatnonzero(
        on_assistance & _registered(world) & ~people["separate_household"].to_numpy()
    )
    view = person_view(world, person_index)
    unit = view["unit_index"].to_numpy()
    unit_start = to_datetime64(FISCAL_YEAR_START) - ((unit * 7919) % 2900).astype("timedelta64[D]")
    frame = pd.DataFrame(
        {
            "ケース番号": "C" + pd.Series(unit + 1).astype(str).str.zfill(6),
            "世帯番号": view["household_id"],
            "宛名番号": view["resident_id"],
            "氏名": render_names(
                view["surname_registry"], view["given_name_registry"], rng, standardise_rate=0.5
            ),
            "氏名ｶﾅ": katakana_to_halfwidth(mess_kana(view["kana"], rng)),
            "生年月日": mess_dates(view["birth_date"], "era_slash", rng),
            "性別": sex_codes(view["sex"], "数字"),
            "続柄": view["relationship"],
            "保護開始日": mess_dates(
                pd.Series(np.maximum(unit_start, view["birth_date"].to_numpy().astype("datetime64[D]"))),
                "era_slash",
                rng,
            ),
            "保護状況": np.where(rng.random(len(view)) < 0.04, "2", "1"),
            "_person_id": view["person_id"],
        }
    )
    writer.write_csv(SEIHO, "福祉/生活保護_20251130.csv", frame)


def _write_jifu(world: World, writer: ExportWriter) -> None:
    rng = world.rng("jifu")
    people = world.people
    single_parent = world.circumstances["single_parent"].to_numpy()[people["unit_index"].to_numpy()]
    child = (people["role"].to_numpy() == "child") & (people["age"].to_numpy() < 18.4) & _registered(world)
    claimed = single_parent & child
    person_index = np.flatnonzero(claimed)
    recipient = guardian_index(world, person_index)
    has_recipient = (recipient >= 0) & (rng.random(len(person_index)) < 0.85)
    person_index = person_index[has_recipient]
    recipient = recipient[has_recipient]
    poor = world.unit_flag("poor", person_index)
    draw = rng.random(len(person_index))
    category = np.where(draw < 0.08, "3", np.where(poor | (draw < 0.35), "1", "2"))
    view = person_view(world, person_index)
    recipient_view = person_view(world, recipient)
    certified = pd.Series(
        np.maximum(
            to_datetime64(FISCAL_YEAR_START) - rng.integers(0, 2500, len(view)).astype("timedelta64[D]"),
            view["birth_date"].to_numpy().astype("datetime64[D]"),
        )
    )
    frame = pd.DataFrame(
        {
            "受給者宛名番号": recipient_view["resident_id"],
            "受給者氏名": recipient_view["surname"] + "\u3000" + recipient_view["given_name"],
            "対象児童宛名番号": view["resident_id"],
            "対象児童氏名": render_names(view["surname_registry"], view["given_name_registry"], rng),
            "児童生年月日": mess_dates(view["birth_date"], "era_kanji", rng),
            "支給区分": category,
            "認定日": mess_dates(certified, "era_kanji", rng),
            "_person_id": view["person_id"],
        }
    )
    frame = frame.sort_values(["受給者宛名番号", "児童生年月日"], kind="stable")
    writer.write_csv(JIFU, "子育て支援/児童扶養手当_20251130.csv", frame)


def _write_disability(world: World, writer: ExportWriter) -> None:
    rng = world.rng("disability")
    people = world.people
    count = len(people)
    registered = _registered(world)
    person_positions = np.arange(count)
    developmental = world.child_flag("developmental", person_positions)
    age = people["age"].to_numpy()
    role = people["role"].to_numpy()
    parent = np.isin(role, ["mother", "father", "single"])
    mental_parent = world.unit_flag("parent_mental_illness", person_positions) & parent
    physical = registered & (rng.random(count) < np.where(age >= 65, 0.09, np.where(age >= 18, 0.02, 0.003)))
    intellectual = registered & ((developmental & (rng.random(count) < 0.25)) | (rng.random(count) < 0.003))
    mental = registered & (
        (mental_parent & (rng.random(count) < 0.55)) | ((age >= 18) & (rng.random(count) < 0.008))
    )
    rows = []
    for type_code, mask, grades in (
        ("1", physical, ("1級", "2級", "3級", "4級", "5級", "6級")),
        ("2", intellectual, ("A", "B", "B1", "B2")),
        ("3", mental, ("1級", "2級", "3級")),
    ):
        positions = np.flatnonzero(mask)
        rows.append(
            pd.DataFrame(
                {
                    "person_index": positions,
                    "type": type_code,
                    "grade": np.asarray(grades, dtype=object)[rng.integers(0, len(grades), len(positions))],
                }
            )
        )
    certificates = (
        pd.concat(rows, ignore_index=True)
        .sort_values(["person_index", "type"], kind="stable")
        .reset_index(drop=True)
    )
    view = person_view(world, certificates["person_index"].to_numpy())
    issued = pd.Series(
        np.maximum(
            to_datetime64(REFERENCE_DATE) - rng.integers(30, 4000, len(view)).astype("timedelta64[D]"),
            view["birth_date"].to_numpy().astype("datetime64[D]") + np.timedelta64(200, "D"),
        )
    )
    frame = pd.DataFrame(
        {
            "宛名番号": view["resident_id"],
            "氏名": render_names(
                view["surname_registry"], view["given_name_registry"], rng, standardise_rate=0.4
            ),
            "カナ": mess_kana(view["kana"], rng),
            "生年月日": mess_dates(view["birth_date"], "era_dot", rng),
            "性別": sex_codes(view["sex"], "数字"),
            "手帳種別": certificates["type"],
            "等級": certificates["grade"],
            "交付日": mess_dates(issued, "era_dot", rng),
            "_person_id": view["person_id"],
        }
    )
    frame = add_duplicates(frame, rng, exact_rate=0.004)
    writer.write_csv(DISABILITY, "障害福祉/障害者手帳_20251130.csv", frame)

    child_rng = world.rng("disability_child")
    child_index = np.flatnonzero(
        developmental & registered & (age < 18) & (age >= 1.5) & (child_rng.random(count) < 0.6)
    )
    view = person_view(world, child_index)
    guardians = guardian_index(world, child_index)
    start = pd.Series(
        to_datetime64(FISCAL_YEAR_START) + child_rng.integers(0, 120, len(view)).astype("timedelta64[D]")
    )
    frame = pd.DataFrame(
        {
            "受給者証番号": pd.Series(np.arange(1, len(view) + 1)).astype(str).str.zfill(10).radd("0"),
            "児童宛名番号": view["resident_id"],
            "児童氏名": render_names(
                view["surname_registry"], view["given_name_registry"], child_rng, standardise_rate=0.6
            ),
            "児童生年月日": view["birth_date"],
            "保護者宛名番号": np.where(
                guardians >= 0, world.people["resident_id"].to_numpy()[np.maximum(guardians, 0)], ""
            ),
            "サービス種別": np.where(view["age"] < 6, "児童発達支援", "放課後等デイサービス"),
            "支給決定開始日": start,
            "支給決定終了日": start + pd.Timedelta(days=364),
            "_person_id": view["person_id"],
        }
    )
    writer.write_xlsx(
        DISABILITY_CHILD,
        "障害福祉/障害児受給者証_20251130.xlsx",
        frame,
        date_columns=("児童生年月日", "支給決定開始日", "支給決定終了日"),
    )


def _write_kaigo(world: World, writer: ExportWriter) -> None:
    rng = world.rng("kaigo")
    people = world.people
    count = len(people)
    age = people["age"].to_numpy()
    care_unit = world.unit_flag("care_need_member", np.arange(count))
    elderly = np.isin(people["role"].to_numpy(), ["grandfather", "grandmother"])
    probability = np.select([age >= 85, age >= 75, age >= 65], [0.55, 0.2, 0.04], 0.0)
    certified = _registered(world) & ((rng.random(count) < probability) | (care_unit & elderly & (age >= 70)))
    person_index = np.flatnonzero(certified)
    view = person_view(world, person_index)
    level = np.asarray([code for code, _ in _CARE_LEVELS], dtype=object)[
        rng.choice(len(_CARE_LEVELS), size=len(view), p=[0.14, 0.14, 0.2, 0.17, 0.13, 0.12, 0.1])
    ]
    start = pd.Series(
        to_datetime64(REFERENCE_DATE) - rng.integers(10, 700, len(view)).astype("timedelta64[D]")
    )
    frame = pd.DataFrame(
        {
            "被保険者番号": "H" + view["resident_id"].str[-8:],
            "宛名番号": view["resident_id"],
            "氏名": render_names(view["surname_registry"], view["given_name_registry"], rng),
            "生年月日": mess_dates(view["birth_date"], "era_kanji", rng),
            "性別": sex_codes(view["sex"], "数字"),
            "住所": render_addresses(view, rng, style="registry", variant_rate=0.04),
            "要介護状態区分": level,
            "認定有効開始日": mess_dates(start, "era_kanji", rng),
            "認定有効終了日": mess_dates(start + pd.Timedelta(days=729), "era_kanji", rng),
            "_person_id": view["person_id"],
        }
    )
    writer.write_csv(KAIGO, "介護保険/要介護認定_20251130.csv", frame)


def _write_kokuho(world: World, writer: ExportWriter) -> None:
    rng = world.rng("kokuho")
    people = world.people
    unit = people["unit_index"].to_numpy()
    unit_count = len(world.circumstances)
    poor = world.circumstances["poor"].to_numpy()
    unit_insured = rng.random(unit_count) < np.where(poor, 0.7, 0.2)
    unstable = unit_insured & (rng.random(unit_count) < np.where(poor, 0.45, 0.08))
    age = people["age"].to_numpy()
    insured = unit_insured[unit] & (age < 75) & (people["status"].to_numpy() != "unregistered")
    person_index = np.flatnonzero(insured)
    reference = to_datetime64(REFERENCE_DATE)
    birth = people["birth_date"].to_numpy().astype("datetime64[D]")[person_index]
    first_gain = np.maximum(
        reference - rng.integers(200, 5000, len(person_index)).astype("timedelta64[D]"), birth
    )
    episodes = np.where(unstable[unit[person_index]], rng.integers(2, 4, len(person_index)), 1)
    rows = []
    gain = first_gain.copy()
    for episode in range(3):
        active = episodes > episode
        last = episodes == episode + 1
        loss = gain + rng.integers(90, 700, len(person_index)).astype("timedelta64[D]")
        loss_valid = (~last | (people["status"].to_numpy()[person_index] == "moved_out")) & (loss < reference)
        rows.append(
            pd.DataFrame(
                {
                    "person_index": person_index[active],
                    "episode": episode,
                    "gain": gain[active],
                    "gain_reason": np.where(
                        gain[active] == birth[active], "03", np.where(episode == 0, "01", "02")
                    ),
                    "loss": np.where(loss_valid[active], loss[active], np.datetime64("NaT")).astype(
                        "datetime64[D]"
                    ),
                    "loss_reason": np.where(
                        loss_valid[active], np.where(rng.random(int(active.sum())) < 0.8, "12", "11"), ""
                    ),
                }
            )
        )
        gain = np.minimum(
            loss + rng.integers(20, 400, len(person_index)).astype("timedelta64[D]"),
            reference - np.timedelta64(1, "D"),
        )
    history = pd.concat(rows, ignore_index=True)
    history = history[~((history["episode"] > 0) & history["gain"].isna())]
    history = history.sort_values(["person_index", "episode"], kind="stable").reset_index(drop=True)
    view = person_view(world, history["person_index"].to_numpy())
    frame = pd.DataFrame(
        {
            "宛名番号": view["resident_id"],
            "世帯番号": view["household_id"],
            "記号番号": "国" + pd.Series(view["unit_index"].to_numpy() + 1).astype(str).str.zfill(7),
            "ｶﾅ氏名": katakana_to_halfwidth(mess_kana(view["kana"], rng, variant_rate=0.02)),
            "生年月日": mess_dates(view["birth_date"], "compact", rng, other_style_rate=0.005),
            "性別": sex_codes(view["sex"], "数字"),
            "資格取得日": mess_dates(history["gain"], "compact", rng, other_style_rate=0.005),
            "取得事由": history["gain_reason"],
            "資格喪失日": mess_dates(history["loss"], "compact", rng, other_style_rate=0.005),
            "喪失事由": history["loss_reason"],
            "_person_id": view["person_id"],
        }
    )
    frame["世帯番号"] = blank_out(frame["世帯番号"], rng, 0.01)
    writer.write_csv(KOKUHO, "国保/国保資格履歴_20251130.csv", frame)


def write_welfare_exports(world: World, writer: ExportWriter) -> None:
    """Public assistance, child-rearing allowance, disability, care-need and NHI exports."""
    _write_seiho(world, writer)
    _write_jifu(world, writer)
    _write_disability(world, writer)
    _write_kaigo(world, writer)
    _write_kokuho(world, writer)
