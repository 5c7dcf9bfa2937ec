"""Staff decisions on the 名寄せ確認 tab, driven through file mode on a village copy.

Every kind of review row is decided: a probabilistic pair (児童相談記録), a 宛名番号
conflict (学齢簿) and a roster-source record that fell back to probabilistic matching
(心の健康観察). A decision is stored only with the run that applies it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from macros_py.book.build import build_workbook
from macros_py.book.filemode import run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.config.defaults import default_tables
from macros_py.link.query import current_links
from macros_py.link.review import review_id
from macros_py.sheets import LINK_DECISIONS, LINK_REVIEW, LINK_UNMATCHED, USERS
from macros_py.store import open_store
from macros_py.store.tables_link import crosswalk

STAFF_ROLES = (("tester", "管理者"), ("staff1", "センター職員"), ("staff2", "センター職員"))

# Kinds of review rows the village yields (after the edits in ``_review_cases``).
KINDS = ("consultation", "gakureibo", "mental_check")


def _review_cases(village: Path) -> None:
    """Edits of the village's exports so that every kind of review row arises.

    * Two 心の健康観察 rows whose seat number is unknown and whose given name has a
      typo: roster chaining cannot link them, so they reach probabilistic matching:
      one ends in review (the roster kind of review row), the other unmatched.
    * One 相談記録 row without 宛名番号 becomes resident 長谷川 悠人 with a birth date
      one digit off, living elsewhere: a probabilistic pair for review. (The village's
      own candidate, the non-resident 長谷川悠斗 written without a space, was a review
      row only while unspaced names could not be cut; now it is rightly unmatched.)
    """
    path = next((village / "exports" / "校務支援").glob("心の健康観察_*.csv"))
    text = path.read_text(encoding="utf-8-sig")
    for old, new in (("1,1,1,秋山　乃愛", "1,1,41,秋山　乃亜"), ("1,1,2,東　翠", "1,1,42,東　碧")):
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8-sig")
    path = next((village / "exports" / "児童相談").glob("相談記録_*.csv"))
    text = path.read_text(encoding="utf-8-sig")
    old = "R00021,,長谷川悠斗,ハセガワ　ユウト,平成2年9月14日,"
    assert old in text
    path.write_text(
        text.replace(old, "R00021,,長谷川　悠人,ハセガワ　ユウト,平成5年1月28日,", 1), encoding="utf-8-sig"
    )


def linked_village(village: Path) -> Path:
    """Workbook over the village (基準日 = the extracts' date), imported and linked once."""
    _review_cases(village)
    meta = json.loads((village / "truth" / "meta.json").read_text(encoding="utf-8"))
    tables = default_tables()
    settings = tables["settings"]
    settings.loc[settings["項目"] == "基準日", "値"] = str(meta["reference_date"])[:10]
    # The staff who decide below must be on the 利用者 tab (every action checks the role).
    tables[USERS.key] = pd.DataFrame(
        [[user, "", role, "", "はい"] for user, role in STAFF_ROLES], columns=USERS.headers
    )
    workbook = build_workbook(village / "mimamori.xlsm", tables)
    assert run_in_file_mode("import", workbook, user_name="tester").ok
    first = run_in_file_mode("link", workbook, user_name="tester")
    assert first.ok, first.messages
    return workbook


def edit_tab(workbook: Path, key: str, edit) -> pd.DataFrame:
    """Rewrite the workbook with ``edit(table)`` as the tab ``key`` (as staff typing would)."""
    tables = harvest_workbook(workbook)
    tables[key] = edit(tables[key].copy())
    build_workbook(workbook, tables)
    return tables[key]


def stored_decisions(workbook: Path) -> pd.DataFrame:
    store = open_store(workbook.parent / "mimamori.db")
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(
                select(
                    crosswalk.c.source_id,
                    crosswalk.c.source_key,
                    crosswalk.c.resident_id,
                    crosswalk.c.decision,
                    crosswalk.c.decided_by,
                )
            ).all()
    finally:
        store.dispose()
    return pd.DataFrame(rows, columns=["source_id", "source_key", "resident_id", "decision", "decided_by"])


def links_now(workbook: Path) -> pd.DataFrame:
    store = open_store(workbook.parent / "mimamori.db")
    try:
        return current_links(store)
    finally:
        store.dispose()


def _pairs(table: pd.DataFrame) -> set[tuple[str, str, str]]:
    return set(zip(table["ソースID"], table["レコードキー"], table["宛名番号"], strict=True))


def _outcomes(links: pd.DataFrame) -> pd.DataFrame:
    columns = ["record_id", "resident_id", "outcome"]
    return links[columns].sort_values("record_id").reset_index(drop=True).astype(object)


@pytest.fixture(scope="module")
def _linked_once(synthetic_village, tmp_path_factory) -> Path:
    """The village imported and linked once per module (about 8 s); tests work on copies."""
    village = tmp_path_factory.mktemp("linked") / "village"
    shutil.copytree(synthetic_village, village)
    linked_village(village)
    return village


@pytest.fixture
def workbook(_linked_once, tmp_path) -> Path:
    village = tmp_path / "village"
    shutil.copytree(_linked_once, village)
    return village / "mimamori.xlsm"


def test_the_village_yields_every_kind_of_review_row(workbook):
    review = harvest_workbook(workbook)[LINK_REVIEW.key]
    assert sorted(review["ソースID"]) == sorted(KINDS)
    assert set(review["ソース名"]) == {"児童相談記録", "学齢簿", "心の健康観察"}
    # 確認ID is the pair's own ID, the same in every run.
    for _, row in review.iterrows():
        assert row["確認ID"] == review_id(row["ソースID"], row["レコードキー"], row["宛名番号"])
    again = run_in_file_mode("link", workbook, user_name="tester")
    assert again.ok
    # (The roster row may leave review: the second run's model is trained without the
    # links the first run confirmed.) The pairs listed again keep their IDs.
    second = harvest_workbook(workbook)[LINK_REVIEW.key]
    kept = review[review["ソースID"] != "mental_check"]
    assert list(second.loc[second["ソースID"] != "mental_check", "確認ID"]) == list(kept["確認ID"])


@pytest.mark.parametrize("decision", ["同一", "別人"])
def test_a_decision_on_every_kind_of_review_row_is_applied_and_kept(workbook, decision):
    def decide(table: pd.DataFrame) -> pd.DataFrame:
        table["判定"] = decision
        table["メモ"] = "会議で確認"
        return table

    decided = edit_tab(workbook, LINK_REVIEW.key, decide)
    second = run_in_file_mode("link", workbook, user_name="staff1")
    assert second.ok, second.messages
    assert second.to_json()["decisions_saved"] == 3
    stored = stored_decisions(workbook)
    staff = stored[stored["decided_by"] == "staff1"]
    assert sorted(staff["source_id"]) == sorted(KINDS) and set(staff["decision"]) == {decision}

    links = links_now(workbook).merge(
        pd.DataFrame({"source_id": decided["ソースID"], "resident_id": decided["宛名番号"], "pair": True}),
        on=["source_id", "resident_id"],
        how="left",
    )
    review = harvest_workbook(workbook)[LINK_REVIEW.key]
    pairs = _pairs(decided)
    assert not pairs & _pairs(review)  # a decided pair is never proposed again
    if decision == "同一":
        linked = links[links["pair"].eq(True)]
        assert sorted(linked["source_id"]) == sorted(KINDS)
        assert set(linked["outcome"]) == {"crosswalk"}
        assert second.to_json()["sources"]["gakureibo"]["conflict"] == 0
    else:
        assert not links["pair"].eq(True).any()  # none of the rejected residents is linked
    # The decision keeps working in every later run, with the tab's cells cleared.
    third = run_in_file_mode("link", workbook, user_name="staff1")
    assert third.ok, third.messages
    assert third.to_json()["decisions_saved"] == 0
    assert _outcomes(links_now(workbook)).equals(_outcomes(links))
    assert not pairs & _pairs(harvest_workbook(workbook)[LINK_REVIEW.key])


def test_a_failing_run_stores_no_decision(workbook, monkeypatch):
    edit_tab(workbook, LINK_REVIEW.key, lambda table: table.assign(判定="別人"))
    before = stored_decisions(workbook)

    def broken(*arguments, **options):
        raise RuntimeError("matching failed")

    monkeypatch.setattr("macros_py.link.action.link_records", broken)
    failed = run_in_file_mode("link", workbook, user_name="staff1")
    assert not failed.ok
    assert stored_decisions(workbook).equals(before)
    # What staff typed is still in the workbook; the next run applies it.
    assert set(harvest_workbook(workbook)[LINK_REVIEW.key]["判定"]) == {"別人"}
    monkeypatch.undo()
    fixed = run_in_file_mode("link", workbook, user_name="staff1")
    assert fixed.ok, fixed.messages
    assert fixed.to_json()["decisions_saved"] == 3


def test_decisions_are_listed_and_a_revoked_one_stops_applying(workbook):
    edit_tab(workbook, LINK_REVIEW.key, lambda table: table.assign(判定="同一", メモ="会議で確認"))
    assert run_in_file_mode("link", workbook, user_name="staff1").ok
    listed = harvest_workbook(workbook)[LINK_DECISIONS.key]
    assert sorted(listed["ソースID"]) == sorted(KINDS)
    assert set(listed["判定者"]) == {"staff1"} and set(listed["状態"]) == {"有効"}
    assert (
        set(listed["メモ"]) == {"会議で確認"} and listed["判定日時"].str.match(r"\d{4}-\d\d-\d\d \d\d:").all()
    )
    assert set(listed["ソース名"]) == {"児童相談記録", "学齢簿", "心の健康観察"}
    conflict = listed.index[listed["ソースID"] == "gakureibo"][0]

    def revoke(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[conflict, ["取消", "取消理由"]] = ["取消", "別の児童だった"]
        return table

    edit_tab(workbook, LINK_DECISIONS.key, revoke)
    result = run_in_file_mode("link", workbook, user_name="staff2")
    assert result.ok, result.messages
    assert result.to_json()["decisions_revoked"] == 1
    # The conflict is back: nothing links it, and it is listed for review again.
    assert result.to_json()["sources"]["gakureibo"]["conflict"] == 1
    review = harvest_workbook(workbook)[LINK_REVIEW.key]
    assert "gakureibo" in set(review["ソースID"])
    # History is kept: the decision (取消済み) and its revocation (who, why) are both listed.
    listed = harvest_workbook(workbook)[LINK_DECISIONS.key]
    rows = listed[listed["ソースID"] == "gakureibo"]
    assert list(rows["判定"]) == ["取消", "同一"] and list(rows["状態"]) == ["取消の記録", "取消済み"]
    assert rows["判定者"].iloc[0] == "staff2" and rows["メモ"].iloc[0] == "別の児童だった"
    assert set(listed.loc[listed["ソースID"] != "gakureibo", "状態"]) == {"有効"}
    stored = stored_decisions(workbook)
    assert list(stored.loc[stored["source_id"] == "gakureibo", "decision"]) == ["同一", "取消"]


def test_a_decision_pasted_against_another_pair_is_refused(workbook):
    review = harvest_workbook(workbook)[LINK_REVIEW.key]
    assert len(review) >= 2

    def paste_from_an_older_copy(table: pd.DataFrame) -> pd.DataFrame:
        # 確認ID and 判定 of row 2 land on row 1 (say, sorted differently in the old copy).
        table.loc[0, ["確認ID", "判定"]] = [table.loc[1, "確認ID"], "別人"]
        return table

    edited = edit_tab(workbook, LINK_REVIEW.key, paste_from_an_older_copy)
    before = stored_decisions(workbook)
    result = run_in_file_mode("link", workbook, user_name="staff1")
    assert not result.ok
    message = " ".join(result.messages)
    assert f"名寄せ確認タブの{LINK_REVIEW.excel_row(0)}行目" in message and edited.loc[0, "確認ID"] in message
    assert stored_decisions(workbook).equals(before)
    assert harvest_workbook(workbook)[LINK_REVIEW.key]["判定"].tolist() == edited["判定"].tolist()


def test_a_revocation_against_another_decision_is_refused(workbook):
    edit_tab(workbook, LINK_REVIEW.key, lambda table: table.assign(判定="別人"))
    assert run_in_file_mode("link", workbook, user_name="staff1").ok

    def shifted(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[0, "判定ID"] = table.loc[1, "判定ID"]
        table.loc[0, "取消"] = "取消"
        return table

    edited = edit_tab(workbook, LINK_DECISIONS.key, shifted)
    before = stored_decisions(workbook)
    result = run_in_file_mode("link", workbook, user_name="staff2")
    assert not result.ok
    assert f"名寄せ判定タブの{LINK_DECISIONS.excel_row(0)}行目" in " ".join(result.messages)
    assert stored_decisions(workbook).equals(before)
    assert harvest_workbook(workbook)[LINK_DECISIONS.key]["取消"].tolist() == edited["取消"].tolist()


def test_unmatched_records_of_resident_sources_are_listed_with_file_and_row(workbook):
    unmatched = harvest_workbook(workbook)[LINK_UNMATCHED.key]
    row = unmatched[unmatched["氏名"] == "東　碧"]
    assert len(row) == 1
    assert row["ソース名"].iloc[0] == "心の健康観察"
    assert row["ファイル"].iloc[0].startswith("校務支援/心の健康観察_") and str(row["行"].iloc[0]) == "3"
    log = harvest_workbook(workbook)["log"]
    assert log["内容"].str.contains("心の健康観察 1件").any()


def test_log_rows_are_japanese(workbook):
    log = harvest_workbook(workbook)["log"]
    text = " ".join(log.loc[log["操作"].isin(["link", "名寄せ"]), "内容"])
    assert "児童相談記録" in text
    for word in ("records", "exact", "pairs", "auto", "review", "none", "conflict", "crosswalk", "roster"):
        assert word not in text, word


def test_a_memo_without_a_decision_stays_with_its_pair(workbook):
    def note(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[table["ソースID"] == "consultation", "メモ"] = "保護者に確認中"
        return table

    edit_tab(workbook, LINK_REVIEW.key, note)
    assert run_in_file_mode("link", workbook, user_name="staff1").ok
    review = harvest_workbook(workbook)[LINK_REVIEW.key]
    assert review.loc[review["ソースID"] == "consultation", "メモ"].tolist() == ["保護者に確認中"]


def test_the_state_of_each_decision_follows_the_latest_row_of_its_pair():
    from macros_py.link.decisions_tab import _states

    rows = pd.DataFrame(
        [
            ("s", "k1", "A", "同一"),  # replaced by the later 同一 of k1 to B
            ("s", "k2", "C", "別人"),  # revoked below
            ("s", "k1", "B", "同一"),
            ("s", "k2", "C", "取消"),
            ("s", "k3", "D", "別人"),  # replaced by a later 同一 on the same pair
            ("s", "k3", "D", "同一"),
        ],
        columns=["source_id", "source_key", "resident_id", "decision"],
    )
    assert list(_states(rows)) == ["変更済み", "取消済み", "有効", "取消の記録", "変更済み", "有効"]
