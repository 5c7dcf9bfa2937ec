"""compute_items on a tiny hand-made store: every scope, the opt-out rule, history.

The store is a real SQLite file written through the ingest and link tables (imports,
records, carried_records, links), so the real queries read it. The people:

- household H1 at 本町1-1-1: father P1 (40), mother P2 (38), children C1 (10), C2 (7)
- household H2 at the same address (世帯分離): grandmother G1 (70), on 生活保護
- household H3 at 本町2-2-2 号室101: mother M3, child C3 (12) — single parent
- household H5 at 本町2-2-2 号室102: same block, other flat: adult A5 with a 介護 record
- household H4 (opted out through C4's 不同意書): mother M4, children C4, C5
- C6 (住民状態 転出者) is not a resident any more.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from macros_py.config.errors import ConfigErrors
from macros_py.indicators.compute import compute_items
from macros_py.indicators.rules import parse_item_rules
from macros_py.ingest.mapping import ColumnMapping, MappingConfig, SourceSpec
from macros_py.sheets import ITEM_RULES
from macros_py.store import open_store
from macros_py.store.tables_ingest import carried_records, imports, records
from macros_py.store.tables_link import links

REFERENCE = pd.Timestamp("2025-11-30")
TYPES = ("虐待", "貧困", "不登校", "ヤングケアラー")

# (resident, household, relationship, birth, address, status, nationality)
RESIDENTS = [
    ("P1", "H1", "世帯主", "1985-05-01", "本町1丁目1番1号", "住民", None),
    ("P2", "H1", "妻", "1987-05-01", "本町1丁目1番1号", "住民", "ベトナム"),
    ("C1", "H1", "子", "2015-04-10", "本町1丁目1番1号", "住民", None),
    ("C2", "H1", "子", "2018-06-01", "本町1丁目1番1号", "住民", None),
    ("G1", "H2", "世帯主", "1955-01-01", "本町1丁目1番1号", "住民", None),
    ("M3", "H3", "世帯主", "1990-01-01", "本町2丁目2番2号 コーポ101号室", "住民", None),
    ("C3", "H3", "子", "2013-02-01", "本町2丁目2番2号 コーポ101号室", "", None),
    ("A5", "H5", "世帯主", "1950-01-01", "本町2丁目2番2号 コーポ102号室", "住民", None),
    ("M4", "H4", "世帯主", "1988-01-01", "本町3丁目3番3号", "住民", None),
    ("C4", "H4", "子", "2016-01-01", "本町3丁目3番3号", "住民", None),
    ("C5", "H4", "子", "2019-01-01", "本町3丁目3番3号", "住民", None),
    ("C6", "H6", "子", "2014-01-01", "本町4丁目4番4号", "転出者", None),
]


def _column(source: str, target: str, kind: str = "文字") -> ColumnMapping:
    return ColumnMapping(source_id=source, source_column=target, target=target, value_type=kind)


MAPPING = MappingConfig(
    sources=tuple(
        SourceSpec(source_id=s) for s in ("jumin", "attendance", "seiho", "kaigo", "disability", "opt_out")
    ),
    columns=(
        _column("jumin", "宛名番号"),
        _column("jumin", "住民状態", "コード"),
        _column("jumin", "国籍"),
        _column("attendance", "学校"),
        _column("attendance", "学年", "数値"),
        _column("attendance", "生徒番号"),
        _column("attendance", "欠席日数", "数値"),
        _column("attendance", "遅刻回数", "数値"),
        _column("attendance", "集計日", "日付"),
        _column("seiho", "宛名番号"),
        _column("seiho", "保護状況", "コード"),
        _column("kaigo", "宛名番号"),
        _column("kaigo", "要介護度", "コード"),
        _column("disability", "宛名番号"),
        _column("disability", "手帳種別", "コード"),
        _column("opt_out", "宛名番号"),
    ),
)


class TinyStore:
    """Writes imports, records and links rows the way import and 名寄せ leave them."""

    def __init__(self, path):
        self.store = open_store(path)
        self.next_record = 1

    def add_import(self, source: str, extract: str, *, superseded_by: int | None = None) -> int:
        with self.store.engine.begin() as connection:
            result = connection.execute(
                insert(imports).values(
                    source_id=source,
                    file_name=f"{source}_{extract}.csv",
                    file_sha256=f"{source}{extract}",
                    extract_date=dt.date.fromisoformat(extract),
                    imported_at=dt.datetime(2025, 12, 1),
                    imported_by="test",
                    status="stored",
                    superseded_by=superseded_by,
                )
            )
            return int(result.inserted_primary_key[0])

    def supersede(self, old: int, new: int) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(imports.update().where(imports.c.import_id == old).values(superseded_by=new))

    def add_record(self, import_id: int, source: str, values: dict, **canonical) -> int:
        record_id = self.next_record
        self.next_record += 1
        row = {
            "record_id": record_id,
            "import_id": import_id,
            "source_id": source,
            "file_name": "f.csv",
            "row_number": record_id,
            "record_hash": f"h{record_id}",
            "values_json": json.dumps(values, ensure_ascii=False, separators=(", ", ": ")),
            **canonical,
        }
        with self.store.engine.begin() as connection:
            connection.execute(insert(records).values(**row))
        return record_id

    def carry(self, import_id: int, record_id: int) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(
                insert(carried_records).values(
                    import_id=import_id, record_id=record_id, file_name="f.csv", row_number=record_id
                )
            )

    def link(
        self, record_id: int, source: str, resident: str, outcome: str = "exact", run_id: int = 1
    ) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(
                insert(links).values(
                    run_id=run_id,
                    record_id=record_id,
                    source_id=source,
                    resident_id=resident,
                    outcome=outcome,
                    method="test",
                )
            )


def _residents(tiny: TinyStore) -> None:
    jumin = tiny.add_import("jumin", "2025-11-30")
    for resident, household, relationship, birth, address, status, nationality in RESIDENTS:
        tiny.add_record(
            jumin,
            "jumin",
            {"住民状態": status or None, "国籍": nationality},
            resident_id=resident,
            household_id=household,
            relationship=relationship,
            birth_date=dt.date.fromisoformat(birth),
            address=address,
            name=f"氏名{resident}",
            sex="女",
        )


def _attendance(tiny: TinyStore, *, history: bool) -> None:
    """Current extract (2025-10-31); with ``history`` also the one before (2025-09-30)."""
    school = {"school": "本町小", "grade": 4}
    current = tiny.add_import("attendance", "2025-10-31")
    if history:
        older = tiny.add_import("attendance", "2025-09-30", superseded_by=current)
        # C1's older row differs (a new record, found again by 学校 + 生徒番号)
        tiny.add_record(older, "attendance", {"欠席日数": 20, "遅刻回数": 1}, student_number="S1", **school)
        # C2's row is unchanged: the current extract carries it (same record id)
        carried = tiny.add_record(
            older, "attendance", {"欠席日数": 3, "遅刻回数": 2}, student_number="S2", **school
        )
        tiny.carry(current, carried)
        tiny.link(carried, "attendance", "C2", "roster")
    else:
        carried = tiny.add_record(
            current, "attendance", {"欠席日数": 3, "遅刻回数": 2}, student_number="S2", **school
        )
        tiny.link(carried, "attendance", "C2", "roster")
    rows = [
        ("C1", {"欠席日数": 35, "遅刻回数": 6, "集計日": "2025-10-31"}, "S1", "auto"),
        ("C2", {"欠席日数": 5, "遅刻回数": 0, "集計日": "2025-04-30"}, "S2b", "auto"),
        ("C4", {"欠席日数": 40, "遅刻回数": 9, "集計日": "2025-10-31"}, "S4", "auto"),
        ("C3", {"欠席日数": 50, "遅刻回数": 9, "集計日": "2025-10-31"}, "S3", "review"),  # not linked
    ]
    for resident, values, number, outcome in rows:
        record = tiny.add_record(current, "attendance", values, student_number=number, **school)
        tiny.link(record, "attendance", resident, outcome)


def _welfare(tiny: TinyStore) -> None:
    for source, resident, values in (
        ("seiho", "G1", {"保護状況": "保護中"}),
        ("seiho", "M4", {"保護状況": "保護中"}),
        ("kaigo", "A5", {"要介護度": "要介護3"}),
        ("disability", "P1", {"手帳種別": "精神障害者保健福祉手帳"}),
        ("disability", "C2", {"手帳種別": "療育手帳"}),
        ("opt_out", "C4", {}),
    ):
        import_id = tiny.add_import(source, "2025-11-30")
        tiny.link(tiny.add_record(import_id, source, values, resident_id=resident), source, resident)


def build_tiny_store(path, *, history: bool = True):
    tiny = TinyStore(path)
    _residents(tiny)
    _attendance(tiny, history=history)
    _welfare(tiny)
    return tiny.store


def rules_table(rows: list[dict]) -> pd.DataFrame:
    base = {header: "" for header in ITEM_RULES.headers}
    return pd.DataFrame([{**base, **row} for row in rows], columns=ITEM_RULES.headers)


def _rule(item_id, source, aggregation, scope="本人", **cells) -> dict:
    return {
        "項目ID": item_id,
        "項目名": item_id,
        "ソースID": source,
        "集計": aggregation,
        "範囲": scope,
        **cells,
    }


RULES = [
    _rule("any_absence", "attendance", "有無"),
    _rule("count", "attendance", "件数"),
    _rule("max", "attendance", "最大", 値項目="欠席日数"),
    _rule("min", "attendance", "最小", 値項目="欠席日数"),
    _rule("sum", "attendance", "合計", 値項目="欠席日数"),
    _rule("latest", "attendance", "最新", 値項目="欠席日数", 日付項目="集計日"),
    _rule("absent30", "attendance", "最大", 値項目="欠席日数", 判定="値 >= 30", 配点="不登校:3"),
    _rule("none", "attendance", "期間内になし", 期間="1年", 日付項目="集計日"),
    _rule("late_rise", "attendance", "前回差", 値項目="遅刻回数", 判定="値 >= 3"),
    _rule("welfare_household", "seiho", "有無", "世帯", 記録条件="保護状況 = 「保護中」", 配点="貧困:3"),
    _rule("care_household", "kaigo", "有無", "世帯"),
    _rule("parent_certificate", "disability", "有無", "保護者"),
    _rule("sibling_certificate", "disability", "有無", "きょうだい"),
    _rule("single_parent", "jumin", "件数", "保護者", 判定="値 = 1"),
    _rule("older_only", "attendance", "有無", 対象="年齢 >= 9"),
    _rule("off", "attendance", "有無", 有効="いいえ"),
]


@pytest.fixture
def tiny_store(tmp_path):
    store = build_tiny_store(tmp_path / "tiny.db")
    yield store
    store.dispose()


def _compute(store, rows=RULES):
    rules = parse_item_rules(rules_table(rows), type_names=TYPES, mapping=MAPPING)
    return compute_items(
        store, rules=rules, mapping=MAPPING, reference_date=REFERENCE, resident_source_id="jumin"
    )


def test_children_are_residents_aged_0_to_18_and_opted_out_families_are_gone(tiny_store):
    results = _compute(tiny_store)
    assert list(results.children.index) == ["C1", "C2", "C3"]  # C3: blank 住民状態 counts as resident
    assert results.opted_out == 2  # C4 named on the form, C5 is in the same household
    assert results.children.loc["C1", "age"] == 10 and results.children.loc["C2", "age_months"] == 89
    for frame in (results.hits, results.values):
        assert list(frame.index) == ["C1", "C2", "C3"]
    everything = " ".join(
        map(str, [results.children.to_dict(), results.values.to_dict(), results.item_status])
    )
    assert "C4" not in everything and "C5" not in everything and "M4" not in everything


def test_every_aggregation_on_the_childs_own_records(tiny_store):
    values = _compute(tiny_store).values
    c1, c2 = values.loc["C1"], values.loc["C2"]
    assert (c1["any_absence"], c1["count"], c1["max"], c1["sum"]) == (1.0, 1.0, 35.0, 35.0)
    # C2 has two linked records: 3 (carried from the older extract) and 5
    assert (c2["count"], c2["max"], c2["min"], c2["sum"]) == (2.0, 5.0, 3.0, 8.0)
    assert c2["latest"] == 5.0  # the record with the latest 集計日 (the carried one has none)
    # C3's only record is in review: no value at all, and 期間内になし hits
    assert np.isnan(values.loc["C3", "count"]) and values.loc["C3", "none"] == 1.0
    assert values.loc["C1", "none"] == 0.0
    # C2's dated record (2025-04-30) is within a year; C1's too
    assert values.loc["C2", "none"] == 0.0


def test_judgement_and_target(tiny_store):
    hits = _compute(tiny_store).hits
    assert hits["absent30"].to_dict() == {"C1": True, "C2": False, "C3": False}
    # 対象 年齢 >= 9: C2 (7) has records but cannot hit
    assert hits["older_only"].to_dict() == {"C1": True, "C2": False, "C3": False}
    assert "off" not in hits.columns


def test_household_scope_reaches_the_separated_household_at_the_same_address(tiny_store):
    results = _compute(tiny_store)
    # G1 (H2, same address as H1) is on 生活保護: both children of H1 hit, C3 does not
    assert results.hits["welfare_household"].to_dict() == {"C1": True, "C2": True, "C3": False}
    # A5 shares C3's block number but lives in another flat: not the same address
    assert not results.hits["care_household"].any()


def test_guardian_and_sibling_scopes(tiny_store):
    results = _compute(tiny_store)
    assert results.hits["parent_certificate"].to_dict() == {"C1": True, "C2": True, "C3": False}
    assert results.hits["sibling_certificate"].to_dict() == {"C1": True, "C2": False, "C3": False}
    assert (
        results.values.loc["C3", "single_parent"] == 1.0 and results.values.loc["C1", "single_parent"] == 2.0
    )
    assert results.hits["single_parent"].to_dict() == {"C1": False, "C2": False, "C3": True}


def test_group_columns(tiny_store):
    children = _compute(tiny_store).children
    assert children["foreign"].to_dict() == {"C1": True, "C2": True, "C3": False}  # the mother's 国籍
    assert children["single_parent"].to_dict() == {"C1": False, "C2": False, "C3": True}
    assert children["disability_household"].to_dict() == {"C1": True, "C2": True, "C3": False}
    assert not children["large_family"].any()
    assert children.loc["C1", "school"] == "本町小" and children.loc["C1", "grade"] == 4
    assert children.loc["C3", "school"] == ""  # its only school record is unlinked


def test_change_from_the_previous_extract_when_history_exists(tiny_store):
    results = _compute(tiny_store)
    # C1: 6 lates now, 1 in September (older record found by 学校 + 生徒番号) -> +5
    # C2: now 2 (carried) + 0 = 2, before 2 -> 0
    assert results.values["late_rise"].to_dict() == {
        "C1": 5.0,
        "C2": 0.0,
        "C3": pytest.approx(np.nan, nan_ok=True),
    }
    assert results.hits["late_rise"].to_dict() == {"C1": True, "C2": False, "C3": False}
    status = results.item_status.set_index("item_id")
    assert status.loc["late_rise", "available"]
    assert status.loc["late_rise", "extract_date"] == pd.Timestamp("2025-10-31")


def test_change_is_unavailable_not_zero_without_history(tmp_path):
    store = build_tiny_store(tmp_path / "no_history.db", history=False)
    try:
        results = _compute(store)
    finally:
        store.dispose()
    assert "late_rise" not in results.hits.columns and "late_rise" not in results.values.columns
    status = results.item_status.set_index("item_id")
    assert not status.loc["late_rise", "available"]
    assert "前回" in status.loc["late_rise", "note"]
    assert status.loc["absent30", "available"]


def test_a_source_never_imported_is_unavailable(tiny_store):
    mapping = MappingConfig(
        sources=(*MAPPING.sources, SourceSpec(source_id="kyushoku")),
        columns=(*MAPPING.columns, _column("kyushoku", "滞納月数", "数値")),
    )
    rules = parse_item_rules(
        rules_table([_rule("arrears", "kyushoku", "最大", 値項目="滞納月数")]),
        type_names=TYPES,
        mapping=mapping,
    )
    results = compute_items(
        tiny_store, rules=rules, mapping=mapping, reference_date=REFERENCE, resident_source_id="jumin"
    )
    row = results.item_status.iloc[0]
    assert (row["item_id"], bool(row["available"])) == ("arrears", False)
    assert "取り込まれていません" in row["note"]
    assert results.hits.shape == (3, 0)


def test_rules_naming_unknown_fields_are_refused(tiny_store):
    with pytest.raises(ConfigErrors):
        parse_item_rules(
            rules_table([_rule("x", "attendance", "最大", 値項目="存在しない")]),
            type_names=TYPES,
            mapping=MAPPING,
        )


PLUGIN_FILE = """
import pandas as pd
from macros_py.plugin_api import ItemSpec, hookimpl

SEEN = []


def absence_total(children, records_of):
    records = records_of("attendance")
    SEEN.extend(records["resident_id"])
    assert "遅刻回数" in records.columns  # every value field, also those no rule names
    return records.groupby("resident_id")["欠席日数"].sum().reindex(children.index)


@hookimpl
def register_items():
    return [ItemSpec(item_id="absence_total", name="欠席の合計", compute=absence_total, sources=("attendance",))]
"""


def test_plugin_items_are_judged_by_their_rule_row_and_never_see_opted_out_records(tiny_store, tmp_path):
    from macros_py.plugins import load_plugins

    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "absence_plugin.py").write_text(PLUGIN_FILE, encoding="utf-8")
    plugins = load_plugins(folder, builtin=())
    rows = [
        _rule("absent30", "attendance", "最大", 値項目="欠席日数", 判定="値 >= 30"),
        _rule("absence_total", "プラグイン", "", 判定="値 >= 40", 配点="不登校:1"),
        _rule("missing_plugin", "プラグイン", ""),
    ]
    rules = parse_item_rules(rules_table(rows), type_names=TYPES, mapping=MAPPING)
    results = compute_items(
        tiny_store,
        rules=rules,
        mapping=MAPPING,
        reference_date=REFERENCE,
        resident_source_id="jumin",
        plugins=plugins,
    )
    assert not plugins.problems
    assert results.values["absence_total"].dropna().to_dict() == {"C1": 35.0, "C2": 8.0}
    assert not results.hits["absence_total"].any()  # 判定 値 >= 40 from the rule row, not 値 > 0
    status = results.item_status.set_index("item_id")
    assert status.loc["absence_total", "available"] and not status.loc["missing_plugin", "available"]
    module = next(plugin for plugin in plugins.manager.get_plugins() if hasattr(plugin, "SEEN"))
    assert set(module.SEEN) == {"C1", "C2"}  # C4's family opted out: its record never reaches a plugin
