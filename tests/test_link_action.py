"""The link action over the store: exact joins, conflicts, review rows, crosswalk memory."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert, select

from macros_py.actions import ActionContext, run_action
from macros_py.config.defaults import default_tables
from macros_py.link.query import current_links
from macros_py.sheets import LINK_REVIEW
from macros_py.store.tables_ingest import imports, records
from macros_py.store.tables_link import crosswalk, link_models

sys.path.insert(0, str(Path(__file__).parent))
from test_link_known_answers import make_master  # noqa: E402


def _import(store, source_id: str, frame: pd.DataFrame) -> None:
    with store.engine.begin() as connection:
        import_id = connection.execute(
            insert(imports).values(
                source_id=source_id,
                file_name=f"{source_id}.csv",
                file_sha256="0" * 64,
                extract_date=date(2025, 5, 1),
                imported_at=datetime.now(),
                imported_by="test",
                status="stored",
            )
        ).inserted_primary_key[0]
        rows = []
        for n, row in enumerate(frame.astype(object).where(frame.notna(), None).to_dict("records"), start=2):
            values = {
                k: row.get(k)
                for k in (
                    "resident_id",
                    "household_id",
                    "name",
                    "name_kana",
                    "sex",
                    "address",
                    "school",
                    "grade",
                    "student_number",
                )
            }
            values["birth_date"] = pd.Timestamp(row["birth_date"]).date() if row.get("birth_date") else None
            rows.append(
                {
                    "import_id": import_id,
                    "source_id": source_id,
                    "file_name": f"{source_id}.csv",
                    "row_number": n,
                    "record_hash": f"{n:040d}",
                    **values,
                }
            )
        connection.execute(insert(records), rows)


def _context(tmp_path, database: str = "") -> ActionContext:
    tables = default_tables()
    settings = tables["settings"]
    settings.loc[settings["項目"] == "基準日", "値"] = "2025-05-01"
    if database:
        settings.loc[settings["項目"] == "データベース", "値"] = database
    ctx = ActionContext(tables=tables, workbook_dir=tmp_path, user_name="tester")
    master = make_master(1500)
    _import(ctx.store, "jumin", master)
    school = master.iloc[100:400].copy()
    school["resident_id"] = None
    school["school"] = "みどり小学校"
    school["student_number"] = [f"{i:05d}" for i in range(len(school))]
    school["grade"] = None
    odd = pd.DataFrame(
        [
            {
                "name": "該当 なし",
                "name_kana": "ガイトウ ナシ",
                "birth_date": "2001-01-01",
                "sex": "男",
                "address": "どこか1-1-1",
                "school": "みどり小学校",
                "student_number": "99999",
            }
        ]
    )
    _import(ctx.store, "gakureibo", pd.concat([school, odd], ignore_index=True))
    welfare = master.iloc[500:560].copy()
    welfare.loc[welfare.index[0], "birth_date"] = "1900-01-01"  # disagrees with the master
    _import(ctx.store, "seikatsu_hogo", welfare)
    return ctx


@pytest.fixture
def context(tmp_path) -> ActionContext:
    return _context(tmp_path)


@pytest.mark.postgres
def test_link_action_on_postgresql(tmp_path, postgres_schema_url):
    ctx = _context(tmp_path, postgres_schema_url)
    result = run_action("link", ctx)
    assert result.ok, result.messages
    links = current_links(ctx.store)
    assert len(links) == 361 and links["record_id"].is_unique
    assert (links["outcome"] == "exact").sum() == 59
    ctx.store.dispose()


def test_link_action_links_every_record(context):
    result = run_action("link", context)
    assert result.ok, result.messages
    summary = result.to_json()["sources"]
    assert summary["gakureibo"]["records"] == 301
    assert summary["gakureibo"]["auto"] >= 295
    assert summary["gakureibo"]["none"] >= 1
    assert summary["seikatsu_hogo"]["exact"] == 59 and summary["seikatsu_hogo"]["conflict"] == 1
    links = current_links(context.store)
    assert len(links) == 361
    assert set(links["outcome"]) <= {"exact", "crosswalk", "auto", "review", "none", "conflict"}
    review = result.tables["link_review"]
    assert list(review.columns) == LINK_REVIEW.headers
    assert "生年月日" in " ".join(review.loc[review["ソースID"] == "seikatsu_hogo", "項目別一致"])
    # The resident's side is read back from the store for the listed pairs.
    conflict = review[review["ソースID"] == "seikatsu_hogo"].iloc[0]
    assert conflict["宛名番号"] != "" and conflict["氏名(住基)"] == conflict["氏名(元)"] != ""
    assert conflict["生年月日(元)"] == "1900-01-01" != conflict["生年月日(住基)"] != ""
    with context.store.engine.connect() as connection:
        params = connection.execute(select(link_models.c.parameters_json)).scalars().all()
    assert json.loads(params[0])["parameters"][0]["name"] == "surname"


def test_links_written_in_slices_are_the_same_rows(context, monkeypatch):
    monkeypatch.setattr("macros_py.link.action.LINKS_PER_SLICE", 7)
    assert run_action("link", context).ok
    links = current_links(context.store)
    assert len(links) == 361 and links["record_id"].is_unique
    conflict = links[links["outcome"] == "conflict"]
    assert len(conflict) == 1 and conflict["source_id"].tolist() == ["seikatsu_hogo"]
    assert json.loads(conflict["detail_json"].iloc[0])["理由"].startswith("宛名番号は一致するが")


def test_a_failing_run_leaves_no_links_behind(context, monkeypatch):
    real = __import__("macros_py.link.action", fromlist=["link_records"]).link_records

    def failing(*arguments, on_exact=None, **options):
        real(*arguments, on_exact=on_exact, **options)  # the 宛名番号 joins are being written
        raise RuntimeError("matching failed")

    monkeypatch.setattr("macros_py.link.action.link_records", failing)
    failed = run_action("link", context)
    assert not failed.ok and "matching failed" not in failed.messages[0]  # no English text for staff
    assert current_links(context.store).empty
    monkeypatch.undo()
    assert run_action("link", context).ok
    assert len(current_links(context.store)) == 361


def test_decisions_and_confirmed_links_are_remembered(context):
    first = run_action("link", context)
    # Automatic links of student-numbered records become confirmed crosswalk rows.
    second = run_action("link", context)
    assert second.to_json()["sources"]["gakureibo"]["crosswalk"] >= 295
    # A 別人 decision on the review tab is harvested and forbids that pair next time.
    review = first.tables["link_review"]
    conflict = review[review["ソースID"] == "seikatsu_hogo"].copy()
    conflict["判定"] = "別人"
    tables = dict(context.tables)
    tables["link_review"] = conflict
    third = run_action(
        "link", ActionContext(tables=tables, workbook_dir=context.workbook_dir, user_name="tester")
    )
    assert third.to_json()["decisions_saved"] == 1
    with context.store.engine.connect() as connection:
        decisions = connection.execute(select(crosswalk.c.decision, crosswalk.c.decided_by)).all()
    assert ("別人", "tester") in decisions


def _decide_conflict(context, first, decision: str):
    review = first.tables["link_review"]
    conflict = review[review["ソースID"] == "seikatsu_hogo"].copy()
    assert len(conflict) == 1
    conflict["判定"] = decision
    tables = dict(context.tables)
    tables["link_review"] = conflict
    result = run_action(
        "link", ActionContext(tables=tables, workbook_dir=context.workbook_dir, user_name="tester")
    )
    links = current_links(context.store)
    return result, links[links["source_id"] == "seikatsu_hogo"], conflict["宛名番号"].iloc[0]


def test_same_decision_on_a_conflict_links_it(context):
    first = run_action("link", context)
    result, links, resident_id = _decide_conflict(context, first, "同一")
    assert result.to_json()["sources"]["seikatsu_hogo"]["conflict"] == 0
    decided = links[links["resident_id"] == resident_id]
    assert list(decided["outcome"]) == ["crosswalk"]
    assert result.tables["link_review"]["ソースID"].ne("seikatsu_hogo").all()


def test_different_decision_on_a_conflict_keeps_it_unlinked(context):
    first = run_action("link", context)
    result, links, resident_id = _decide_conflict(context, first, "別人")
    assert result.to_json()["sources"]["seikatsu_hogo"]["conflict"] == 0
    assert result.to_json()["sources"]["seikatsu_hogo"]["none"] == 1
    assert resident_id not in set(links["resident_id"].dropna())
    assert result.tables["link_review"]["ソースID"].ne("seikatsu_hogo").all()
