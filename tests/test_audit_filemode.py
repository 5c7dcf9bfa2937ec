"""The audit log of a real village: import, 名寄せ with staff decisions and a revocation, file mode.

Each staff decision is one entry named by its 判定ID; the log holds no 宛名番号, record key
or name of the people decided on, nor of any child of an opted-out family.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from test_audit_chain import verify
from test_link_decisions import edit_tab, linked_village

from macros_py.book.filemode import run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.sheets import LINK_DECISIONS, LINK_REVIEW


@pytest.fixture(scope="module")
def decided(synthetic_village, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """(workbook, decided review rows): imported, linked, every review row decided, linked again."""
    village = tmp_path_factory.mktemp("audited") / "village"
    shutil.copytree(synthetic_village, village)
    workbook = linked_village(village)

    def decide(table: pd.DataFrame) -> pd.DataFrame:
        table["判定"] = ["同一" if n % 2 == 0 else "別人" for n in range(len(table))]
        return table

    review = edit_tab(workbook, LINK_REVIEW.key, decide)
    assert len(review) >= 2
    result = run_in_file_mode("link", workbook, user_name="tester")
    assert result.ok, result.messages
    return workbook, review


def _audit(workbook: Path) -> list[tuple]:
    with sqlite3.connect(workbook.parent / "mimamori.db") as connection:
        return connection.execute(
            "SELECT audit_id, user_name, action, target, counts, detail FROM audit_log ORDER BY audit_id"
        ).fetchall()


def test_each_staff_decision_is_one_entry_named_by_its_decision_id(decided):
    workbook, review = decided
    decisions = [row for row in _audit(workbook) if row[2] == "link_decision"]
    assert len(decisions) == len(review)
    shown = harvest_workbook(workbook)[LINK_DECISIONS.key]
    assert {row[3] for row in decisions} == set(shown["判定ID"])
    assert {json.loads(row[5])["decision"] for row in decisions} == {"同一", "別人"}
    assert all(row[1] == "tester" for row in decisions)
    runs = [row for row in _audit(workbook) if row[2] == "run" and row[3] == "link"]
    assert json.loads(runs[-1][4])["decisions"] == len(review)
    assert any(row[2] == "import_file" for row in _audit(workbook))


def test_a_revocation_is_an_entry_too(decided, tmp_path):
    source, _review = decided
    shutil.copytree(source.parent, tmp_path / "copy")
    workbook = tmp_path / "copy" / source.name
    before = len([row for row in _audit(workbook) if row[2] == "link_decision"])

    def revoke(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[table.index[0], "取消"] = "取消"
        return table

    revoked_id = edit_tab(workbook, LINK_DECISIONS.key, revoke).iloc[0]["判定ID"]
    assert run_in_file_mode("link", workbook, user_name="tester").ok
    decisions = [row for row in _audit(workbook) if row[2] == "link_decision"]
    assert len(decisions) == before + 1
    assert json.loads(decisions[-1][5])["decision"] == "取消" and decisions[-1][3] != revoked_id
    code, summary = verify(workbook)
    assert code == 0, summary


def test_no_identity_of_decided_people_or_opted_out_children_in_the_audit_log(decided):
    workbook, review = decided
    dump = " ".join(" ".join(str(cell) for cell in row) for row in _audit(workbook))
    for column in ("宛名番号", "レコードキー", "氏名(元)", "氏名(住基)", "カナ(元)"):
        values = {str(value) for value in review[column] if str(value or "").strip()}
        assert values and not any(value in dump for value in values), column
    truth = workbook.parent / "truth"
    children = pd.read_csv(truth / "children.csv", dtype=str)
    persons = pd.read_csv(truth / "persons.csv", dtype=str, keep_default_na=False)
    opted = persons[persons["person_id"].isin(children.loc[children["opted_out"] == "1", "person_id"])]
    identities = {value for value in [*opted["resident_id"], *opted["name"]] if value}
    assert identities and not any(value in dump for value in identities)


def test_the_village_log_verifies(decided):
    workbook, _review = decided
    code, summary = verify(workbook)
    assert code == 0, summary
    assert summary["entries"] > 30
