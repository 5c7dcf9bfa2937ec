"""校務支援 (school administration) exports: none of them carry 宛名番号."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.exports.common import SEX_CODE_TABLES, person_view, sex_codes
from macros_py.synth.exports.spec import CodeRow, ColumnSpec, SourceSpec
from macros_py.synth.exports.writer import ExportWriter
from macros_py.synth.formats import katakana_to_halfwidth
from macros_py.synth.mess import add_duplicates, mess_dates, mess_kana, render_names
from macros_py.synth.world import World

__all__ = [
    "ATTENDANCE",
    "SCHOOL_HEALTH",
    "MENTAL_CHECK",
    "ACADEMIC_TEST",
    "FITNESS_TEST",
    "write_school_exports",
]

_SCHOOL_DAYS = 128  # teaching days from April to the end of October

ATTENDANCE = SourceSpec(
    source_id="attendance",
    name="校務支援 出欠",
    department="各学校",
    pattern="校務支援/出欠/出欠_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="なし",
    subject="児童",
    rhythm="月次",
    columns=(
        ColumnSpec("学校名", "学校", "文字"),
        ColumnSpec("学年", "学年", "数値"),
        ColumnSpec("組", "組", "文字"),
        ColumnSpec("出席番号", "出席番号", "数値"),
        ColumnSpec("学籍番号", "生徒番号", "文字", required=True),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("氏名カナ", "氏名カナ", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_英字"),
        ColumnSpec("授業日数", "授業日数", "数値"),
        ColumnSpec("欠席日数", "欠席日数", "数値"),
        ColumnSpec("遅刻回数", "遅刻回数", "数値"),
        ColumnSpec("早退回数", "早退回数", "数値"),
        ColumnSpec("保健室来室回数", "保健室来室回数", "数値"),
    ),
    codes=SEX_CODE_TABLES["性別_英字"],
)

SCHOOL_HEALTH = SourceSpec(
    source_id="school_health",
    name="学校健康診断",
    department="各学校(保健)",
    pattern="校務支援/保健/健康診断結果_*.xlsx",
    file_format="xlsx",
    encoding="自動",
    header_row=1,
    key_kind="なし",
    subject="児童",
    rhythm="年次",
    sheet_name="健診結果",
    columns=(
        ColumnSpec("学校名", "学校", "文字"),
        ColumnSpec("学年", "学年", "数値"),
        ColumnSpec("組", "組", "文字"),
        ColumnSpec("番号", "出席番号", "数値"),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_漢字"),
        ColumnSpec("身長", "身長", "数値"),
        ColumnSpec("体重", "体重", "数値"),
        ColumnSpec("肥満度", "肥満度", "数値"),
        ColumnSpec("未処置歯数", "未処置歯数", "数値"),
        ColumnSpec("処置歯数", "処置歯数", "数値"),
        ColumnSpec("健診日", "健診日", "日付", "自動"),
    ),
    codes=SEX_CODE_TABLES["性別_漢字"],
)

MENTAL_CHECK = SourceSpec(
    source_id="mental_check",
    name="心の健康観察",
    department="各学校",
    pattern="校務支援/心の健康観察_*.csv",
    file_format="csv",
    encoding="utf-8-sig",
    header_row=1,
    key_kind="なし",
    subject="児童",
    rhythm="学期",
    columns=(
        ColumnSpec("学校名", "学校", "文字"),
        ColumnSpec("学年", "学年", "数値"),
        ColumnSpec("組", "組", "文字"),
        ColumnSpec("番号", "出席番号", "数値"),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("性別", "性別", "コード", "性別_英字"),
        ColumnSpec("回答日", "回答日", "日付", "自動"),
        ColumnSpec("Q1よく眠れる", "Q1よく眠れる", "数値"),
        ColumnSpec("Q2食欲がある", "Q2食欲がある", "数値"),
        ColumnSpec("Q3学校が楽しい", "Q3学校が楽しい", "数値"),
        ColumnSpec("Q4相談できる人がいる", "Q4相談できる人がいる", "数値"),
        ColumnSpec("Q5いやな思いをした", "Q5いやな思いをした", "数値"),
        ColumnSpec("合計点", "心の健康合計点", "数値"),
        ColumnSpec("要観察", "心の健康要観察", "フラグ", "○"),
    ),
    codes=SEX_CODE_TABLES["性別_英字"],
)

ACADEMIC_TEST = SourceSpec(
    source_id="academic_test",
    name="学力調査",
    department="教育委員会指導課",
    pattern="校務支援/学力調査_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="なし",
    subject="児童",
    rhythm="年次",
    columns=(
        ColumnSpec("学校コード", "学校コード", "文字"),
        ColumnSpec("学年", "学年", "数値"),
        ColumnSpec("組", "組", "文字"),
        ColumnSpec("出席番号", "出席番号", "数値"),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("氏名カナ", "氏名カナ", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_数字"),
        ColumnSpec("受験状況", "受験状況", "コード", "受験状況"),
        ColumnSpec("国語", "国語得点", "数値"),
        ColumnSpec("算数数学", "算数数学得点", "数値"),
        ColumnSpec("英語", "英語得点", "数値"),
    ),
    codes=(*SEX_CODE_TABLES["性別_数字"], CodeRow("受験状況", "1", "受験"), CodeRow("受験状況", "2", "欠席")),
)

FITNESS_TEST = SourceSpec(
    source_id="fitness_test",
    name="新体力テスト",
    department="教育委員会保健体育課",
    pattern="校務支援/体力テスト_*.xlsx",
    file_format="xlsx",
    encoding="自動",
    header_row=2,
    key_kind="なし",
    subject="児童",
    rhythm="年次",
    columns=(
        ColumnSpec("学校名", "学校", "文字"),
        ColumnSpec("学年", "学年", "数値"),
        ColumnSpec("組", "組", "文字"),
        ColumnSpec("番号", "出席番号", "数値"),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("性別", "性別", "コード", "性別_漢字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("体力合計点", "体力合計点", "数値"),
        ColumnSpec("総合評価", "体力総合評価", "文字"),
    ),
    codes=SEX_CODE_TABLES["性別_漢字"],
)


def _pupils(world: World) -> pd.DataFrame:
    person_index = np.flatnonzero(world.people["school_index"].to_numpy() >= 0)
    view = person_view(world, person_index)
    view["school_grade"] = np.where(view["grade"] > 6, view["grade"] - 6, view["grade"])
    view["school_code"] = world.schools["school_code"].to_numpy()[view["school_index"].to_numpy()]
    for column in (
        "abuse",
        "poverty",
        "non_attendance",
        "young_carer",
        "developmental",
        "bullying",
        "withdrawal",
    ):
        view[column] = world.child_flag(column, person_index)
    return view


def _school_names(view: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    # Schools type names themselves; many keep the surname used at enrolment after a divorce.
    return render_names(
        view["surname_registry"],
        view["given_name_registry"],
        rng,
        standardise_rate=0.75,
        geta_rate=0.08,
        private_use_rate=0.05,
        former_surname=view["former_surname"],
        former_surname_rate=0.55,
    )


def _attendance_items(view: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    count = len(view)
    non_attendance = view["non_attendance"].to_numpy()
    sick_long = rng.random(count) < 0.006
    partial = non_attendance & (rng.random(count) < 0.22)
    base_absence = rng.negative_binomial(1.2, 0.25, count)
    heavy = np.where(partial, rng.integers(12, 30, count), 30 + rng.gamma(2.0, 25.0, count))
    absence = np.where(
        non_attendance, heavy, np.where(sick_long, 30 + rng.gamma(1.5, 10.0, count), base_absence)
    )
    absence = np.minimum(absence, _SCHOOL_DAYS).astype(int)
    late_rate = 1.2 * (
        1
        + 3.0 * view["abuse"]
        + 1.5 * view["poverty"]
        + 3.0 * view["young_carer"]
        + 1.5 * view["non_attendance"]
    )
    nurse_rate = 1.5 * (
        1
        + 5.0 * view["bullying"]
        + 3.0 * view["abuse"]
        + 2.0 * view["non_attendance"]
        + 1.0 * view["developmental"]
    )
    return pd.DataFrame(
        {
            "授業日数": _SCHOOL_DAYS,
            "欠席日数": absence,
            "遅刻回数": rng.poisson(late_rate.to_numpy()),
            "早退回数": rng.poisson(
                (0.8 * (1 + 2.0 * view["bullying"] + 1.0 * view["developmental"])).to_numpy()
            ),
            "保健室来室回数": rng.poisson(nurse_rate.to_numpy()),
        }
    )


def _write_attendance(world: World, writer: ExportWriter, pupils: pd.DataFrame) -> None:
    rng = world.rng("attendance")
    items = _attendance_items(pupils, rng)
    frame = pd.DataFrame(
        {
            "学校名": pupils["school_name"],
            "学年": pupils["school_grade"].astype(str),
            "組": pupils["class_name"],
            "出席番号": pupils["attendance_number"].astype(str),
            "学籍番号": pupils["student_number"],
            "氏名": _school_names(pupils, rng),
            "氏名カナ": katakana_to_halfwidth(
                mess_kana(pupils["kana"], rng, variant_rate=0.03, typo_rate=0.01)
            ),
            "生年月日": mess_dates(pupils["birth_date"], "era_kanji", rng, missing_rate=0.005),
            "性別": sex_codes(pupils["sex"], "英字"),
            **{column: items[column].astype(str) for column in items.columns},
            "_person_id": pupils["person_id"],
            "_school_code": pupils["school_code"],
        }
    )
    frame = add_duplicates(frame, rng, exact_rate=0.002, near_rate=0.002, near_columns=("氏名",))
    for school_code, school_frame in frame.groupby("_school_code", sort=True):
        school_frame = school_frame.sort_values(["学年", "組", "出席番号"], key=_numeric_key, kind="stable")
        writer.write_csv(ATTENDANCE, f"校務支援/出欠/出欠_{school_code}_20251031.csv", school_frame)


def _numeric_key(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").fillna(0)


def _write_health(world: World, writer: ExportWriter, pupils: pd.DataFrame) -> None:
    rng = world.rng("school_health")
    count = len(pupils)
    age = pupils["age"].to_numpy() - 0.5
    male = pupils["sex"].to_numpy() == 0
    height = np.where(age < 12, 76 + 6.1 * age, 149 + np.where(male, 5.5, 2.0) * (age - 12)) + rng.normal(
        0, 5.5, count
    )
    neglect = pupils["abuse"].to_numpy() | pupils["poverty"].to_numpy()
    bmi = (
        15.2
        + 0.25 * np.maximum(age - 6, 0)
        + rng.normal(0, 1.6, count)
        - np.where(neglect & (rng.random(count) < 0.25), 1.8, 0)
    )
    weight = bmi * (height / 100) ** 2
    standard_weight = 0.9 * (height / 100) ** 2 * (15.2 + 0.25 * np.maximum(age - 6, 0)) / 0.9
    obesity = (weight - standard_weight) / standard_weight * 100
    caries_rate = 0.35 * (1 + 2.5 * neglect)
    exam_date = pd.Series(pd.Timestamp("2025-05-12") + pd.to_timedelta(rng.integers(0, 40, count), unit="D"))
    frame = pd.DataFrame(
        {
            "学校名": pupils["school_name"],
            "学年": pupils["school_grade"],
            "組": pupils["class_name"],
            "番号": pupils["attendance_number"],
            "氏名": _school_names(pupils, rng),
            "生年月日": pupils["birth_date"],
            "性別": sex_codes(pupils["sex"], "漢字"),
            "身長": height.round(1),
            "体重": weight.round(1),
            "肥満度": obesity.round(1),
            "未処置歯数": rng.poisson(caries_rate),
            "処置歯数": rng.poisson(0.6, count),
            "健診日": exam_date,
            "_person_id": pupils["person_id"],
        }
    )
    absent = pupils["non_attendance"].to_numpy() & (rng.random(count) < 0.4)
    frame = frame[~absent].sort_values(["学校名", "学年", "組", "番号"], kind="stable")
    writer.write_xlsx(
        SCHOOL_HEALTH,
        "校務支援/保健/健康診断結果_20250630.xlsx",
        frame,
        date_columns=("生年月日", "健診日"),
        number_columns=("学年", "番号", "身長", "体重", "肥満度", "未処置歯数", "処置歯数"),
    )


def _write_mental_check(world: World, writer: ExportWriter, pupils: pd.DataFrame) -> None:
    rng = world.rng("mental_check")
    target = pupils[(pupils["grade"] >= 4) & (pupils["grade"] <= 9)].reset_index(drop=True)
    count = len(target)
    concern = (
        0.05
        + 0.55 * target["bullying"]
        + 0.40 * target["non_attendance"]
        + 0.30 * target["abuse"]
        + 0.45 * target["withdrawal"]
        + 0.25 * target["young_carer"]
    ).clip(0, 0.9)
    worried = rng.random(count) < concern.to_numpy()
    answers = {}
    for question, reverse in (
        ("Q1よく眠れる", False),
        ("Q2食欲がある", False),
        ("Q3学校が楽しい", False),
        ("Q4相談できる人がいる", False),
        ("Q5いやな思いをした", True),
    ):
        good = np.clip(np.round(rng.normal(np.where(worried, 2.0, 3.3), 0.7)), 1, 4).astype(int)
        answers[question] = np.where(reverse, 5 - good, good)
    total = sum(
        np.where(question.startswith("Q5"), 5 - values, values) for question, values in answers.items()
    )
    answered = ~(target["non_attendance"].to_numpy() & (rng.random(count) < 0.5))
    frame = pd.DataFrame(
        {
            "学校名": target["school_name"],
            "学年": target["school_grade"].astype(str),
            "組": target["class_name"],
            "番号": target["attendance_number"].astype(str),
            "氏名": _school_names(target, rng),
            "性別": sex_codes(target["sex"], "英字"),
            "回答日": mess_dates(
                pd.Series(pd.Timestamp("2025-10-06") + pd.to_timedelta(rng.integers(0, 10, count), unit="D")),
                "iso",
                rng,
            ),
            **{question: values.astype(str) for question, values in answers.items()},
            "合計点": total.astype(str),
            "要観察": np.where(total <= 12, "○", ""),
            "_person_id": target["person_id"],
        }
    )[answered].sort_values(["学校名", "学年", "組", "番号"], key=_numeric_or_text, kind="stable")
    writer.write_csv(MENTAL_CHECK, "校務支援/心の健康観察_20251020.csv", frame)


def _numeric_or_text(series: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(series, errors="coerce")
    return series if numeric.isna().all() else numeric.fillna(0)


def _write_academic_test(world: World, writer: ExportWriter, pupils: pd.DataFrame) -> None:
    rng = world.rng("academic_test")
    target = pupils[(pupils["grade"] >= 3) & (pupils["grade"] <= 9)].reset_index(drop=True)
    count = len(target)
    shift = (
        -12 * target["developmental"]
        - 14 * target["non_attendance"]
        - 6 * target["poverty"]
        - 5 * target["young_carer"]
    )
    ability = rng.normal(62, 15, count) + shift.to_numpy()
    absent = (target["non_attendance"].to_numpy() & (rng.random(count) < 0.6)) | (rng.random(count) < 0.02)
    scores = {
        subject: np.where(
            absent, "", np.clip(np.round(ability + rng.normal(0, 9, count)), 0, 100).astype(int).astype(str)
        )
        for subject in ("国語", "算数数学", "英語")
    }
    scores["英語"] = np.where(target["grade"].to_numpy() >= 7, scores["英語"], "")
    frame = pd.DataFrame(
        {
            "学校コード": target["school_code"],
            "学年": target["school_grade"].astype(str),
            "組": target["class_name"],
            "出席番号": target["attendance_number"].astype(str),
            "氏名": _school_names(target, rng),
            "氏名カナ": mess_kana(target["kana"], rng),
            "生年月日": mess_dates(target["birth_date"], "slash", rng, swap_rate=0.008),
            "性別": sex_codes(target["sex"], "数字"),
            "受験状況": np.where(absent, "2", "1"),
            **scores,
            "_person_id": target["person_id"],
        }
    ).sort_values(["学校コード", "学年", "組", "出席番号"], key=_numeric_or_text, kind="stable")
    writer.write_csv(ACADEMIC_TEST, "校務支援/学力調査_20250415.csv", frame)


def _write_fitness(world: World, writer: ExportWriter, pupils: pd.DataFrame) -> None:
    rng = world.rng("fitness_test")
    count = len(pupils)
    grade = pupils["grade"].to_numpy()
    expected = 25 + 6 * np.minimum(grade, 6) + 4 * np.maximum(grade - 6, 0)
    score = np.clip(
        np.round(expected + rng.normal(0, 8, count) - 6 * pupils["non_attendance"].to_numpy()), 5, 80
    )
    relative = (score - expected) / 8
    rating = np.select(
        [relative > 1.0, relative > 0.3, relative > -0.4, relative > -1.1], ["A", "B", "C", "D"], "E"
    )
    taken = ~(pupils["non_attendance"].to_numpy() & (rng.random(count) < 0.5))
    frame = pd.DataFrame(
        {
            "学校名": pupils["school_name"],
            "学年": pupils["school_grade"],
            "組": pupils["class_name"],
            "番号": pupils["attendance_number"],
            "氏名": _school_names(pupils, rng),
            "性別": sex_codes(pupils["sex"], "漢字"),
            "生年月日": pupils["birth_date"],
            "体力合計点": score,
            "総合評価": rating,
            "_person_id": pupils["person_id"],
        }
    )[taken].sort_values(["学校名", "学年", "組", "番号"], kind="stable")
    writer.write_xlsx(
        FITNESS_TEST,
        "校務支援/体力テスト_20250715.xlsx",
        frame,
        date_columns=("生年月日",),
        number_columns=("学年", "番号", "体力合計点"),
        title="令和7年度 新体力テスト 結果一覧(全校)",
    )


def write_school_exports(world: World, writer: ExportWriter) -> None:
    """Attendance (one file per school), health checks, mental check, academic and fitness tests."""
    pupils = _pupils(world)
    _write_attendance(world, writer, pupils)
    _write_health(world, writer, pupils)
    _write_mental_check(world, writer, pupils)
    _write_academic_test(world, writer, pupils)
    _write_fitness(world, writer, pupils)
