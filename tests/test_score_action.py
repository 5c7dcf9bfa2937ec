"""The ``score`` action (判定) through its real entry points on an imported, linked village.

One village is imported, linked and scored once per session (CLI ``mimamori run score
--json``, conftest's ``scored_village_template``); tests that need another run work on a copy.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from support import logged_on_as

from macros_py.book.build import build_workbook
from macros_py.book.filemode import run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.score.history import replay_run, stored_candidates
from macros_py.sheets import CANDIDATES, COEFFICIENTS, ITEM_RULES, MODEL_EVALUATION, SCORE_HISTORY
from macros_py.store import open_store

SCORE_TABLES = ("score_runs", "score_children", "score_items", "score_results", "score_type_scores")


def _cli_score(workbook: Path) -> tuple[int, dict]:
    completed = subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "run", "score", "--workbook", str(workbook), "--json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        env=logged_on_as(),  # the file-mode runs' "tester", 管理者 of the copy's store
    )
    return completed.returncode, json.loads(completed.stdout)


@pytest.fixture(scope="module")
def scored(scored_village_template, tmp_path_factory) -> tuple[Path, dict]:
    """(workbook, JSON of the first score run) over an imported and linked village copy.

    The session's ``scored_village_template`` (file-mode import and link, then CLI ``run score
    --json``), copied so that this module's tests never touch the template.
    """
    workbook = scored_village_template.copy_to(tmp_path_factory.mktemp("scored") / "village")
    return workbook, scored_village_template.summary


def _copy(scored, tmp_path: Path) -> Path:
    source = scored[0].parent
    target = tmp_path / "copy"
    shutil.copytree(source, target)
    return target / scored[0].name


def _tab(workbook: Path, sheet) -> pd.DataFrame:
    """A tab's table as the file holds it (openpyxl, read-only, values)."""
    book = openpyxl.load_workbook(workbook, read_only=True, data_only=True)
    try:
        rows = list(book[sheet.name].iter_rows(min_row=sheet.header_row, values_only=True))
    finally:
        book.close()
    header = list(rows[0][: len(sheet.headers)])
    body = [list(row[: len(sheet.headers)]) for row in rows[1:] if any(cell is not None for cell in row)]
    return pd.DataFrame(body, columns=header)


def _set(workbook: Path, key: str, edit) -> None:
    tables = harvest_workbook(workbook)
    tables[key] = edit(tables[key].copy())
    build_workbook(workbook, tables)


def _setting(item: str, value: str):
    def edit(table: pd.DataFrame) -> pd.DataFrame:
        assert (table["項目"] == item).any()
        table.loc[table["項目"] == item, "値"] = value
        return table

    return edit


def _opted_out(folder: Path) -> pd.DataFrame:
    """Residents of households with a 不同意書 (from the synthetic truth of the village)."""
    truth = folder / "truth"
    children = pd.read_csv(truth / "children.csv", dtype=str)
    persons = pd.read_csv(truth / "persons.csv", dtype=str, keep_default_na=False)
    named = persons[persons["person_id"].isin(children.loc[children["opted_out"] == "1", "person_id"])]
    family = persons[persons["household_id"].isin(named["household_id"]) & (persons["is_child"] == "1")]
    assert len(family) >= 2
    return family[["resident_id", "name"]]


def test_cli_summary_has_counts_per_type_list_size_and_evaluation(scored):
    workbook, summary = scored
    assert summary["ok"] is True
    assert summary["listed"] > 0
    assert summary["children"] > summary["listed"]
    assert summary["opted_out"] >= 2
    assert set(summary["per_type"]) == set(summary["types"]) and sum(summary["per_type"].values()) > 0
    assert "auc_cv" in summary["evaluation"] or summary["evaluation"]["available"] is False
    candidates = _tab(workbook, CANDIDATES)
    assert len(candidates) == summary["listed"]
    assert summary["messages"][0].startswith("候補")


def test_candidate_tab_is_ranked_and_explained(scored):
    workbook, _summary = scored
    table = _tab(workbook, CANDIDATES)
    assert list(table.columns) == CANDIDATES.headers
    assert table["順位"].tolist() == list(range(1, len(table) + 1))
    assert set(table["支援状況"].fillna("")) <= {"", "支援中", "要対協", "支援歴あり"}
    # Default 順位を下げる: every child now supported comes after every other listed child.
    supported = table["支援状況"].isin(["支援中", "要対協"])
    assert supported.any()
    if supported.any() and (~supported).any():
        assert supported.idxmax() > (~supported)[::-1].idxmax()
    rules = harvest_workbook(workbook)[ITEM_RULES.key]
    shown = set(rules.loc[rules["検討会議に表示"] != "いいえ", "項目名"])
    hidden = set(rules.loc[rules["検討会議に表示"] == "いいえ", "項目名"]) - shown
    reasons = {name for text in table["主な理由"].fillna("") for name in text.split("、") if name}
    assert reasons, "no child has a reason"
    assert not reasons & hidden
    assert table["データの鮮度"].fillna("").str.match(r"^(\d{4}-\d{2}-\d{2}.*)?$").all()
    assert (table["掲載理由"].fillna("") != "").all()


def test_no_opted_out_child_appears_anywhere(scored):
    workbook, summary = scored
    family = _opted_out(workbook.parent)
    ids = set(family["resident_id"])
    names = set(family["name"])
    book = openpyxl.load_workbook(workbook, read_only=True, data_only=True)
    try:
        for sheet in (CANDIDATES, MODEL_EVALUATION, COEFFICIENTS, SCORE_HISTORY):
            for row in book[sheet.name].iter_rows(values_only=True):
                text = " ".join(str(cell) for cell in row if cell is not None)
                assert not any(value in text for value in ids | names), sheet.name
        for row in book["ログ"].iter_rows(values_only=True):
            text = " ".join(str(cell) for cell in row if cell is not None)
            assert not any(value in text for value in ids | names)
    finally:
        book.close()
    with sqlite3.connect(workbook.parent / "mimamori.db") as connection:
        for table in SCORE_TABLES:
            dump = " ".join(" ".join(map(str, row)) for row in connection.execute(f"SELECT * FROM {table}"))
            assert dump, table
            assert not any(value in dump for value in ids | names), table
    log_text = (workbook.parent / "mimamori.log").read_text(encoding="utf-8")
    assert not any(value in log_text for value in ids | names)
    assert not any(value in json.dumps(summary, ensure_ascii=False) for value in ids | names)


def test_replay_of_the_stored_run_gives_the_same_list(scored):
    workbook, summary = scored
    store = open_store(workbook.parent / "mimamori.db")
    try:
        stored = stored_candidates(store, summary["run_id"])
        replayed = replay_run(store, summary["run_id"])
    finally:
        store.dispose()
    assert len(stored) == summary["listed"]
    pd.testing.assert_frame_equal(
        replayed.astype(object).where(replayed.notna(), None),
        stored.astype(object).where(stored.notna(), None),
    )
    shown = _tab(workbook, CANDIDATES)
    assert shown["宛名番号"].astype(str).tolist() == stored["宛名番号"].tolist()


RATIONALE = "検証用に書き換えた根拠"


@pytest.fixture(scope="module")
def rescored(scored, tmp_path_factory) -> tuple[Path, dict, dict]:
    """A copy scored again with 支援中の児童の扱い = 除外 and きょうだい加点 = 3 (first, second summary).

    The 根拠 of the first 判定ルール row is edited too (it must survive the run).
    """
    target = tmp_path_factory.mktemp("rescored") / "village"
    shutil.copytree(scored[0].parent, target)
    workbook = target / scored[0].name
    _set(workbook, "settings", _setting("支援中の児童の扱い", "除外"))
    _set(workbook, "settings", _setting("きょうだい加点", "3"))
    _set(workbook, ITEM_RULES.key, lambda table: table.assign(根拠=[RATIONALE, *table["根拠"][1:]]))
    result = run_in_file_mode("score", workbook, user_name="tester")
    assert result.ok, result.messages
    return workbook, scored[1], result.to_json()


def test_excluding_supported_children_sibling_points_and_the_history_tab(scored, rescored):
    workbook, first, second = rescored
    before = _tab(scored[0], CANDIDATES)
    table = _tab(workbook, CANDIDATES)
    assert not table["支援状況"].isin(["支援中", "要対協"]).any()
    assert second["listed"] == len(table)
    by_sibling = table[table["掲載理由"].str.contains("きょうだい")]
    assert len(by_sibling) > 0
    assert (
        by_sibling["きょうだい"].fillna("") != ""
    ).all()  # a sibling listed in a type (maybe excluded as supported)
    history = _tab(workbook, SCORE_HISTORY)
    gone = history[history["変化"] == "候補外"]
    supported_before = set(before.loc[before["支援状況"].isin(["支援中", "要対協"]), "宛名番号"].astype(str))
    assert len(supported_before) == first["listed_supported"] > 0
    assert supported_before <= set(gone["宛名番号"].astype(str))
    assert gone["今回順位"].isna().all() and gone["前回順位"].notna().all()
    new = history[history["変化"] == "新規"]
    assert set(by_sibling["宛名番号"].astype(str)) - set(before["宛名番号"].astype(str)) <= set(
        new["宛名番号"]
    )
    assert history["前回実行"].str.contains(f"#{first['run_id']}").all()


def test_settings_tabs_are_carried_over_by_the_run(rescored):
    workbook, _first, _second = rescored
    tables = harvest_workbook(workbook)
    assert tables[ITEM_RULES.key]["根拠"].iloc[0] == RATIONALE
    settings = tables["settings"].set_index("項目")["値"]
    assert settings["支援中の児童の扱い"] == "除外" and settings["きょうだい加点"] == "3"
    assert len(tables["hardship_types"]) > 0 and len(tables["label_sources"]) > 0


def test_a_bad_condition_is_refused_naming_sheet_row_and_column(scored, tmp_path):
    workbook = _copy(scored, tmp_path)

    def edit(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[0, "判定"] = "値 >= = 30"
        return table

    _set(workbook, ITEM_RULES.key, edit)
    with sqlite3.connect(workbook.parent / "mimamori.db") as connection:
        before = connection.execute("SELECT COUNT(*) FROM score_runs").fetchone()[0]
    code, summary = _cli_score(workbook)
    assert code == 1 and summary["ok"] is False
    text = "\n".join(summary["messages"])
    assert "判定ルール" in text and f"{ITEM_RULES.excel_row(0)}行" in text and "判定" in text
    assert "Traceback" not in text and "Error" not in text
    with sqlite3.connect(workbook.parent / "mimamori.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM score_runs").fetchone()[0] == before


def test_without_labels_the_run_goes_on_without_a_model(scored, tmp_path):
    workbook = _copy(scored, tmp_path)
    _set(workbook, "label_sources", lambda table: table.assign(有効="いいえ"))
    result = run_in_file_mode("score", workbook, user_name="tester")
    assert result.ok, result.messages
    assert result.summary["model"]["available"] is False
    assert any("統計モデルを作れなかった" in message for message in result.messages)
    table = _tab(workbook, CANDIDATES)
    assert len(table) > 0 and table["確率"].isna().all()


def test_before_any_link_run_the_score_is_refused_in_japanese(tmp_path):
    workbook = build_workbook(tmp_path / "mimamori.xlsm")
    result = run_in_file_mode("score", workbook, user_name="tester")
    assert result.ok is False
    assert "名寄せがまだ実行されていない" in result.messages[0]
    with sqlite3.connect(tmp_path / "mimamori.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM score_runs").fetchone()[0] == 0
    log = harvest_workbook(workbook)["log"]
    assert log["内容"].str.contains("名寄せがまだ実行されていない").any()


def test_no_children_at_the_reference_date_is_refused_and_nothing_stored(scored, tmp_path):
    workbook = _copy(scored, tmp_path)
    _set(workbook, "settings", _setting("基準日", "2100-04-01"))
    with sqlite3.connect(workbook.parent / "mimamori.db") as connection:
        before = connection.execute("SELECT COUNT(*) FROM score_runs").fetchone()[0]
    result = run_in_file_mode("score", workbook, user_name="tester")
    assert result.ok is False
    assert "対象の児童" in result.messages[0] and "jumin" in result.messages[0]
    with sqlite3.connect(workbook.parent / "mimamori.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM score_runs").fetchone()[0] == before


def test_a_family_opting_out_later_is_removed_from_earlier_runs_too(scored, tmp_path):
    workbook = _copy(scored, tmp_path)
    listed = _tab(workbook, CANDIDATES)
    child = listed.loc[listed["きょうだい"].fillna("") != ""].iloc[0]
    resident = str(child["宛名番号"])
    opt_out = next((workbook.parent / "exports" / "こども家庭センター").glob("不同意書_*.csv"))
    text = opt_out.read_text(encoding="cp932")
    opt_out.write_text(text + f"F9999,{resident},{child['氏名']},,R07/11/01\n", encoding="cp932")
    with sqlite3.connect(workbook.parent / "mimamori.db") as connection:
        household = connection.execute(
            "SELECT household_id FROM score_children WHERE resident_id = ?", (resident,)
        ).fetchone()[0]
        family = {
            row[0]
            for row in connection.execute(
                "SELECT resident_id FROM score_children WHERE household_id = ?", (household,)
            )
        }
    assert len(family) >= 2
    assert run_in_file_mode("import", workbook, user_name="tester").ok
    assert run_in_file_mode("link", workbook, user_name="tester").ok
    result = run_in_file_mode("score", workbook, user_name="tester")
    assert result.ok, result.messages
    with sqlite3.connect(workbook.parent / "mimamori.db") as connection:
        assert connection.execute("SELECT COUNT(DISTINCT run_id) FROM score_runs").fetchone()[0] >= 2
        for table in SCORE_TABLES[1:]:
            marks = ",".join("?" for _ in family)
            found = connection.execute(
                f"SELECT COUNT(*) FROM {table} WHERE resident_id IN ({marks})", list(family)
            )
            assert found.fetchone()[0] == 0, table
    for sheet in (CANDIDATES, SCORE_HISTORY):
        shown = _tab(workbook, sheet)
        assert not set(shown["宛名番号"].astype(str)) & family
