"""母子保健 exports: infant checkups, pregnancy notifications, EPDS, vaccinations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.exports.common import SEX_CODE_TABLES, person_view, sex_codes
from macros_py.synth.exports.spec import CodeRow, ColumnSpec, SourceSpec
from macros_py.synth.exports.writer import ExportWriter
from macros_py.synth.mess import add_duplicates, mess_dates, mess_kana, render_names
from macros_py.synth.population import to_datetime64
from macros_py.synth.profiles import REFERENCE_DATE
from macros_py.synth.world import World

__all__ = ["CHECKUP", "PREGNANCY", "EPDS", "VACCINATION", "write_maternal_exports"]

_YES_NO = ("はい", "いいえ")

CHECKUP = SourceSpec(
    source_id="checkup",
    name="乳幼児健診",
    department="こども家庭センター(母子保健)",
    pattern="母子保健/乳幼児健診_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="宛名番号",
    subject="児童",
    rhythm="月次",
    columns=(
        ColumnSpec("宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("カナ氏名", "氏名カナ", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_数字"),
        ColumnSpec("健診種別", "健診種別", "コード", "健診種別"),
        ColumnSpec("受診状況", "健診未受診", "フラグ", "未受診"),
        ColumnSpec("受診日", "受診日", "日付", "自動"),
        ColumnSpec("体重", "体重", "数値"),
        ColumnSpec("体重パーセンタイル", "体重パーセンタイル", "数値"),
        ColumnSpec("問_感情的に叩いた", "感情的に叩いた", "フラグ", "はい"),
        ColumnSpec("問_家に残して外出", "家に残して外出", "フラグ", "はい"),
        ColumnSpec("問_長時間食事を与えない", "長時間食事を与えない", "フラグ", "はい"),
        ColumnSpec("問_口をふさいだ", "口をふさいだ", "フラグ", "はい"),
        ColumnSpec("問_激しく揺さぶった", "激しく揺さぶった", "フラグ", "はい"),
    ),
    codes=(
        *SEX_CODE_TABLES["性別_数字"],
        CodeRow("健診種別", "1", "3-4か月児健診"),
        CodeRow("健診種別", "2", "1歳6か月児健診"),
        CodeRow("健診種別", "3", "3歳児健診"),
    ),
)

PREGNANCY = SourceSpec(
    source_id="pregnancy",
    name="妊娠届出",
    department="こども家庭センター(母子保健)",
    pattern="母子保健/妊娠届出_*.xlsx",
    file_format="xlsx",
    encoding="自動",
    header_row=1,
    key_kind="宛名番号",
    subject="保護者",
    rhythm="月次",
    sheet_name="妊娠届",
    columns=(
        ColumnSpec("妊婦宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("妊婦氏名", "氏名", "文字"),
        ColumnSpec("妊婦カナ", "氏名カナ", "文字"),
        ColumnSpec("妊婦生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("届出日", "届出日", "日付", "自動"),
        ColumnSpec("届出時妊娠週数", "届出時妊娠週数", "数値"),
        ColumnSpec("出産予定日", "出産予定日", "日付", "自動"),
        ColumnSpec("妊婦健診受診回数", "妊婦健診受診回数", "数値"),
        ColumnSpec("児宛名番号", "児宛名番号", "文字"),
    ),
)

EPDS = SourceSpec(
    source_id="epds",
    name="産婦健康診査",
    department="こども家庭センター(母子保健)",
    pattern="母子保健/産婦健診_*.csv",
    file_format="csv",
    encoding="utf-8-sig",
    header_row=1,
    key_kind="宛名番号",
    subject="保護者",
    rhythm="月次",
    columns=(
        ColumnSpec("宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("産婦氏名", "氏名", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("健診日", "健診日", "日付", "自動"),
        ColumnSpec("産後日数", "産後日数", "数値"),
        ColumnSpec("EPDS合計点", "EPDS点数", "数値"),
        ColumnSpec("児宛名番号", "児宛名番号", "文字"),
    ),
)

_VACCINES = (
    # code, name, dose, age in days at the usual date
    ("01", "BCG", 1, 150),
    ("02", "五種混合", 1, 65),
    ("02", "五種混合", 2, 95),
    ("02", "五種混合", 3, 125),
    ("02", "五種混合", 4, 400),
    ("03", "MR", 1, 370),
    ("03", "MR", 2, 2200),
    ("04", "水痘", 1, 380),
    ("04", "水痘", 2, 560),
    ("05", "日本脳炎", 1, 1130),
)

VACCINATION = SourceSpec(
    source_id="vaccination",
    name="予防接種履歴",
    department="健康づくり課",
    pattern="母子保健/予防接種_*.csv",
    file_format="csv",
    encoding="utf-8-sig",
    header_row=1,
    key_kind="宛名番号",
    subject="児童",
    rhythm="月次",
    columns=(
        ColumnSpec("宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("ワクチン", "ワクチン", "コード", "ワクチン"),
        ColumnSpec("回数", "接種回数", "数値"),
        ColumnSpec("接種日", "接種日", "日付", "自動"),
    ),
    codes=tuple(
        CodeRow("ワクチン", code, name)
        for code, name in sorted({(code, name) for code, name, _dose, _age in _VACCINES})
    ),
)


def _write_checkups(world: World, writer: ExportWriter) -> None:
    rng = world.rng("checkup")
    checkups = world.checkups
    view = person_view(world, checkups["person_index"].to_numpy())
    attended = checkups["attended"].to_numpy()

    def answer(column: str) -> np.ndarray:
        values = np.where(checkups[column].to_numpy(), _YES_NO[0], _YES_NO[1])
        return np.where(attended, values, "")

    frame = pd.DataFrame(
        {
            "宛名番号": view["resident_id"],
            "氏名": render_names(
                view["surname_registry"],
                view["given_name_registry"],
                rng,
                standardise_rate=0.3,
                geta_rate=0.1,
            ),
            "カナ氏名": mess_kana(view["kana"], rng, variant_rate=0.015, typo_rate=0.005),
            "生年月日": mess_dates(view["birth_date"], "era_dot", rng),
            "性別": sex_codes(view["sex"], "数字"),
            "健診種別": checkups["kind"].to_numpy(),
            "受診状況": np.where(attended, "受診", "未受診"),
            "受診日": mess_dates(pd.Series(checkups["visit_date"].to_numpy()), "era_dot", rng),
            "体重": np.where(attended, checkups["weight_kg"].astype(str), ""),
            "体重パーセンタイル": np.where(
                attended & (checkups["kind"] != "1"), checkups["weight_percentile"].astype(str), ""
            ),
            "問_感情的に叩いた": answer("hit"),
            "問_家に残して外出": answer("left_alone"),
            "問_長時間食事を与えない": answer("not_fed"),
            "問_口をふさいだ": np.where(checkups["kind"] != "3", answer("covered_mouth"), ""),
            "問_激しく揺さぶった": np.where(checkups["kind"] != "3", answer("shook"), ""),
            "_person_id": view["person_id"],
            "_due": view["birth_date"],
        }
    )
    frame = frame.sort_values(["健診種別", "_due", "宛名番号"], kind="stable")
    frame = add_duplicates(frame, rng, exact_rate=0.003)
    writer.write_csv(CHECKUP, "母子保健/乳幼児健診_20251130.csv", frame)


def _write_pregnancy_and_epds(world: World, writer: ExportWriter) -> None:
    rng = world.rng("pregnancy")
    people = world.people
    reference = to_datetime64(REFERENCE_DATE)
    birth = people["birth_date"].to_numpy().astype("datetime64[D]")
    mother = people["mother_index"].to_numpy()
    recent = (
        (birth >= np.datetime64("2023-10-01"))
        & (mother >= 0)
        & (people["status"].to_numpy() != "unregistered")
    )
    child_index = np.flatnonzero(recent)
    mother_index = mother[child_index]
    abuse = world.child_flag("abuse", child_index)
    poor = world.unit_flag("poor", child_index)
    young = world.unit_flag("young_mother", child_index)
    count = len(child_index)
    late = rng.random(count) < np.clip(0.05 * (1 + 3 * abuse + 1.5 * poor + 1.5 * young), 0, 0.7)
    week = np.where(late, rng.integers(12, 30, count), rng.integers(6, 12, count))
    due_date = birth[child_index] + rng.integers(-14, 10, count).astype("timedelta64[D]")
    notified = due_date - ((40 - week) * 7).astype("timedelta64[D]")
    no_checkups = rng.random(count) < np.where(abuse, 0.06, 0.003)
    checkup_count = np.where(
        no_checkups, 0, np.clip(14 - np.maximum(week - 11, 0) // 3 + rng.integers(-2, 2, count), 1, 15)
    )
    # Women pregnant now (no child yet): drawn among resident women aged 20-42.
    women = np.flatnonzero(
        (people["sex"].to_numpy() == 1)
        & (people["age"].between(20, 42).to_numpy())
        & (people["status"].to_numpy() == "resident")
    )
    pregnant = women[rng.random(len(women)) < 0.012]
    current_week = rng.integers(6, 38, len(pregnant))
    current_notified_week = np.minimum(rng.integers(7, 13, len(pregnant)), current_week)
    current_due = reference + ((40 - current_week) * 7).astype("timedelta64[D]")
    current_notified = reference - ((current_week - current_notified_week) * 7).astype("timedelta64[D]")
    all_mothers = np.concatenate([mother_index, pregnant])
    view = person_view(world, all_mothers)
    frame = pd.DataFrame(
        {
            "妊婦宛名番号": view["resident_id"],
            "妊婦氏名": render_names(
                view["surname_registry"],
                view["given_name_registry"],
                rng,
                standardise_rate=0.4,
                geta_rate=0.05,
            ),
            "妊婦カナ": mess_kana(view["kana"], rng),
            "妊婦生年月日": view["birth_date"],
            "届出日": pd.Series(np.concatenate([notified, current_notified])),
            "届出時妊娠週数": np.concatenate([week, current_notified_week]),
            "出産予定日": pd.Series(np.concatenate([due_date, current_due])),
            "妊婦健診受診回数": np.concatenate(
                [checkup_count, np.maximum((current_week - current_notified_week) // 3, 0)]
            ),
            "児宛名番号": np.concatenate(
                [people["resident_id"].to_numpy()[child_index], np.full(len(pregnant), "")]
            ),
            "_person_id": view["person_id"],
        }
    )
    frame = frame[frame["妊婦宛名番号"] != ""].sort_values(["届出日", "妊婦宛名番号"], kind="stable")
    writer.write_xlsx(
        PREGNANCY,
        "母子保健/妊娠届出_20251130.xlsx",
        frame,
        date_columns=("妊婦生年月日", "届出日", "出産予定日"),
        number_columns=("届出時妊娠週数", "妊婦健診受診回数"),
    )

    # Postnatal checkups with EPDS for births since April 2024.
    epds_rng = world.rng("epds")
    postnatal = (birth[child_index] >= np.datetime64("2024-04-01")) & (
        birth[child_index] <= reference - np.timedelta64(35, "D")
    )
    depressed = world.child_flag("postpartum_depression", child_index)[postnatal]
    chosen_children = child_index[postnatal]
    chosen_mothers = mother_index[postnatal]
    size = len(chosen_children)
    attended = epds_rng.random(size) < np.where(depressed, 0.85, 0.93)
    score = np.where(
        depressed,
        np.clip(np.round(epds_rng.normal(13, 4, size)), 5, 30),
        np.clip(np.round(epds_rng.gamma(1.6, 2.4, size)), 0, 30),
    ).astype(int)
    days_after = epds_rng.integers(10, 35, size)
    view = person_view(world, chosen_mothers)
    frame = pd.DataFrame(
        {
            "宛名番号": view["resident_id"],
            "産婦氏名": render_names(
                view["surname_registry"],
                view["given_name_registry"],
                epds_rng,
                standardise_rate=0.5,
                geta_rate=0.05,
            ),
            "生年月日": mess_dates(view["birth_date"], "era_kanji", epds_rng),
            "健診日": mess_dates(
                pd.Series(birth[chosen_children] + days_after.astype("timedelta64[D]")), "era_kanji", epds_rng
            ),
            "産後日数": days_after.astype(str),
            "EPDS合計点": score.astype(str),
            "児宛名番号": people["resident_id"].to_numpy()[chosen_children],
            "_person_id": view["person_id"],
        }
    )[attended]
    frame = frame[frame["宛名番号"] != ""]
    writer.write_csv(EPDS, "母子保健/産婦健診_20251130.csv", frame)


def _write_vaccinations(world: World, writer: ExportWriter) -> None:
    rng = world.rng("vaccination")
    people = world.people
    reference = to_datetime64(REFERENCE_DATE)
    birth = people["birth_date"].to_numpy().astype("datetime64[D]")
    young = np.flatnonzero((people["age"].to_numpy() < 7) & (people["status"].to_numpy() == "resident"))
    neglect = world.child_flag("abuse", young) | world.unit_flag("poor", young)
    refuses = rng.random(len(young)) < 0.01
    parts = []
    for code, _name, dose, age_days in _VACCINES:
        due = birth[young] + np.timedelta64(age_days, "D")
        given_date = due + rng.integers(0, 60, len(young)).astype("timedelta64[D]")
        missed = refuses | (rng.random(len(young)) < np.where(neglect, 0.12, 0.025))
        done = (given_date <= reference) & ~missed
        parts.append(
            pd.DataFrame({"person_index": young[done], "code": code, "dose": dose, "date": given_date[done]})
        )
    doses = (
        pd.concat(parts, ignore_index=True)
        .sort_values(["person_index", "date", "code"], kind="stable")
        .reset_index(drop=True)
    )
    view = person_view(world, doses["person_index"].to_numpy())
    frame = pd.DataFrame(
        {
            "宛名番号": view["resident_id"],
            "氏名": view["surname"] + "\u3000" + view["given_name"],
            "生年月日": view["birth_date"].dt.strftime("%Y/%m/%d"),
            "ワクチン": doses["code"],
            "回数": doses["dose"].astype(str),
            "接種日": mess_dates(doses["date"], "slash", rng, other_style_rate=0.01),
            "_person_id": view["person_id"],
        }
    )
    writer.write_csv(VACCINATION, "母子保健/予防接種_20251130.csv", frame)


def write_maternal_exports(world: World, writer: ExportWriter) -> None:
    """Infant checkups, pregnancy notifications, postnatal EPDS and vaccinations."""
    _write_checkups(world, writer)
    _write_pregnancy_and_epds(world, writer)
    _write_vaccinations(world, writer)
