"""児童相談 and こども家庭センター exports: consultation cases, 要対協 register, opt-outs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.exports.common import SEX_CODE_TABLES, guardian_index, person_view, sex_codes
from macros_py.synth.exports.spec import CodeRow, ColumnSpec, SourceSpec
from macros_py.synth.exports.writer import ExportWriter
from macros_py.synth.mess import mess_dates, mess_kana, render_addresses, render_names
from macros_py.synth.population import to_datetime64
from macros_py.synth.profiles import REFERENCE_DATE
from macros_py.synth.world import World

__all__ = ["CONSULTATION", "YOTAIKYO", "OPT_OUT", "write_consultation_exports"]

_CONSULTATION_KINDS = (
    ("1", "児童虐待相談"),
    ("2", "養護相談(その他)"),
    ("3", "障害相談"),
    ("4", "育成相談"),
    ("5", "非行相談"),
)

CONSULTATION = SourceSpec(
    source_id="consultation",
    name="児童相談記録",
    department="こども家庭センター(児童相談)",
    pattern="児童相談/相談記録_*.csv",
    file_format="csv",
    encoding="utf-8-sig",
    header_row=1,
    key_kind="宛名番号",
    subject="児童",
    rhythm="週次",
    columns=(
        ColumnSpec("相談番号", "相談番号", "文字"),
        ColumnSpec("宛名番号", "宛名番号", "文字"),
        ColumnSpec("氏名", "氏名", "文字"),
        ColumnSpec("フリガナ", "氏名カナ", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("性別", "性別", "コード", "性別_漢字"),
        ColumnSpec("本児との関係", "続柄", "文字"),
        ColumnSpec("住所", "住所", "文字"),
        ColumnSpec("相談種別", "相談種別", "コード", "相談種別"),
        ColumnSpec("受付日", "相談受付日", "日付", "自動"),
        ColumnSpec("対応状況", "相談対応状況", "文字"),
        ColumnSpec("一時保護", "一時保護", "フラグ", "有"),
    ),
    codes=(
        *SEX_CODE_TABLES["性別_漢字"],
        *(CodeRow("相談種別", code, value) for code, value in _CONSULTATION_KINDS),
    ),
)

YOTAIKYO = SourceSpec(
    source_id="yotaikyo",
    name="要保護児童対策地域協議会 進行管理台帳",
    department="こども家庭センター(要対協)",
    pattern="児童相談/要対協台帳_*.xlsx",
    file_format="xlsx",
    encoding="自動",
    header_row=1,
    key_kind="宛名番号",
    subject="児童",
    rhythm="月次",
    sheet_name="進行管理台帳",
    columns=(
        ColumnSpec("台帳番号", "要対協台帳番号", "文字"),
        ColumnSpec("宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("児童氏名", "氏名", "文字"),
        ColumnSpec("生年月日", "生年月日", "日付", "自動"),
        ColumnSpec("登録区分", "要対協区分", "文字"),
        ColumnSpec("登録日", "要対協登録日", "日付", "自動"),
        ColumnSpec("主な虐待種別", "主な虐待種別", "文字"),
        ColumnSpec("進行管理状況", "要対協進行管理状況", "文字"),
    ),
)

OPT_OUT = SourceSpec(
    source_id="opt_out",
    name="不同意書(情報連携)",
    department="こども家庭センター",
    pattern="こども家庭センター/不同意書_*.csv",
    file_format="csv",
    encoding="cp932",
    header_row=1,
    key_kind="宛名番号",
    subject="児童",
    rhythm="随時",
    columns=(
        ColumnSpec("受付番号", "不同意受付番号", "文字"),
        ColumnSpec("児童宛名番号", "宛名番号", "文字", required=True),
        ColumnSpec("児童氏名", "氏名", "文字"),
        ColumnSpec("保護者氏名", "保護者氏名", "文字"),
        ColumnSpec("受付日", "不同意受付日", "日付", "自動"),
    ),
)


def _write_consultation(world: World, writer: ExportWriter) -> None:
    rng = world.rng("consultation")
    children = world.children
    cases = children[children["consultation_case"]].reset_index(drop=True)
    child_index = cases["person_index"].to_numpy()
    kind = np.select(
        [
            cases["abuse"],
            cases["developmental"],
            cases["non_attendance"] | cases["bullying"] | cases["withdrawal"],
        ],
        ["1", "3", "4"],
        np.where(rng.random(len(cases)) < 0.1, "5", "2"),
    )
    active = rng.random(len(cases)) < np.where(cases["in_hardship"], 0.7, 0.15)
    case_number = "R" + pd.Series(np.arange(1, len(cases) + 1)).astype(str).str.zfill(5)
    rows = [
        pd.DataFrame(
            {
                "case": case_number,
                "person_index": child_index,
                "relation": "本児",
                "kind": kind,
                "received": cases["case_start"].to_numpy(),
                "active": active,
                "custody": cases["temporary_custody"].to_numpy(),
            }
        )
    ]
    # Abuse cases list the household's adults too, including partners registered elsewhere.
    people = world.people
    abuse_case = kind == "1"
    unit_of_case = people["unit_index"].to_numpy()[child_index]
    adults = people[np.isin(people["role"].to_numpy(), ["mother", "father", "partner"])]
    adults = adults[adults["unit_index"].isin(unit_of_case[abuse_case])]
    first_case = pd.DataFrame(
        {"unit_index": unit_of_case[abuse_case], "case": case_number[abuse_case].to_numpy()}
    ).drop_duplicates("unit_index")
    adults = adults.merge(first_case, on="unit_index", how="inner")
    case_lookup = rows[0].set_index("case")
    relation = adults["role"].map({"mother": "実母", "father": "実父", "partner": "同居人(内縁)"})
    rows.append(
        pd.DataFrame(
            {
                "case": adults["case"].to_numpy(),
                "person_index": adults["person_index"].to_numpy(),
                "relation": relation.to_numpy(),
                "kind": "1",
                "received": case_lookup.loc[adults["case"], "received"].to_numpy(),
                "active": case_lookup.loc[adults["case"], "active"].to_numpy(),
                "custody": False,
            }
        )
    )
    table = (
        pd.concat(rows, ignore_index=True)
        .sort_values(["case", "relation"], kind="stable")
        .reset_index(drop=True)
    )
    view = person_view(world, table["person_index"].to_numpy())
    frame = pd.DataFrame(
        {
            "相談番号": table["case"],
            "宛名番号": view["resident_id"],
            "氏名": render_names(
                view["surname_registry"],
                view["given_name_registry"],
                rng,
                standardise_rate=0.5,
                geta_rate=0.05,
                private_use_rate=0.05,
            ),
            "フリガナ": mess_kana(view["kana"], rng, variant_rate=0.03),
            "生年月日": mess_dates(view["birth_date"], "era_kanji", rng, missing_rate=0.01),
            "性別": sex_codes(view["sex"], "漢字"),
            "本児との関係": table["relation"],
            "住所": render_addresses(view, rng, style="hyphen", variant_rate=0.15, building_rate=0.7),
            "相談種別": table["kind"],
            "受付日": mess_dates(table["received"], "era_kanji", rng),
            "対応状況": np.where(table["active"], "対応中", "終結"),
            "一時保護": np.where(table["custody"], "有", "無"),
            "_person_id": view["person_id"],
        }
    )
    writer.write_csv(CONSULTATION, "児童相談/相談記録_20251128.csv", frame)


def _write_yotaikyo(world: World, writer: ExportWriter) -> None:
    rng = world.rng("yotaikyo")
    registered = world.children[world.children["on_yotaikyo"]].reset_index(drop=True)
    view = person_view(world, registered["person_index"].to_numpy())
    category = np.where(
        registered["abuse"], np.where(rng.random(len(view)) < 0.6, "要保護児童", "要支援児童"), "要支援児童"
    )
    abuse_kind = np.where(
        registered["abuse"],
        np.asarray(["身体的虐待", "ネグレクト", "心理的虐待", "性的虐待"], dtype=object)[
            rng.choice(4, size=len(view), p=[0.3, 0.35, 0.32, 0.03])
        ],
        "",
    )
    frame = pd.DataFrame(
        {
            "台帳番号": "Y" + pd.Series(np.arange(1, len(view) + 1)).astype(str).str.zfill(4),
            "宛名番号": view["resident_id"],
            "児童氏名": render_names(
                view["surname_registry"], view["given_name_registry"], rng, standardise_rate=0.6
            ),
            "生年月日": view["birth_date"],
            "登録区分": category,
            "登録日": registered["case_start"],
            "主な虐待種別": abuse_kind,
            "進行管理状況": np.where(rng.random(len(view)) < 0.85, "継続", "終結予定"),
            "_person_id": view["person_id"],
        }
    )
    writer.write_xlsx(
        YOTAIKYO, "児童相談/要対協台帳_20251130.xlsx", frame, date_columns=("生年月日", "登録日")
    )


def _write_opt_out(world: World, writer: ExportWriter) -> None:
    rng = world.rng("opt_out")
    opted = world.children[world.children["opted_out"]]
    child_index = opted["person_index"].to_numpy()
    view = person_view(world, child_index)
    guardians = guardian_index(world, child_index)
    people = world.people
    received = pd.Series(
        to_datetime64(REFERENCE_DATE) - rng.integers(5, 600, len(view)).astype("timedelta64[D]")
    )
    frame = pd.DataFrame(
        {
            "受付番号": "F" + pd.Series(np.arange(1, len(view) + 1)).astype(str).str.zfill(4),
            "児童宛名番号": view["resident_id"],
            "児童氏名": render_names(view["surname_registry"], view["given_name_registry"], rng),
            "保護者氏名": np.where(
                guardians >= 0,
                people["surname"].to_numpy()[np.maximum(guardians, 0)]
                + "\u3000"
                + people["given_name"].to_numpy()[np.maximum(guardians, 0)],
                "",
            ),
            "受付日": mess_dates(received, "era_slash", rng),
            "_person_id": view["person_id"],
        }
    )
    writer.write_csv(OPT_OUT, "こども家庭センター/不同意書_20251130.csv", frame)


def write_consultation_exports(world: World, writer: ExportWriter) -> None:
    """Consultation cases (with household adults), the 要対協 register and opt-out forms."""
    _write_consultation(world, writer)
    _write_yotaikyo(world, writer)
    _write_opt_out(world, writer)
