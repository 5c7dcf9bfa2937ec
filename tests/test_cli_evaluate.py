"""``mimamori evaluate``: the latest score run of a workbook's store against the synthetic truth."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from support import logged_on_as

from macros_py.book.build import build_workbook
from macros_py.score.truth_evaluation import read_latest_run
from macros_py.store import open_store
from macros_py.store.tables_score import score_children, score_items, score_results, score_runs

_ENGLISH = ("Traceback", "Error", "error:")


def _cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "evaluate", *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


def _write_truth(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "persons.csv").write_text(
        "person_id,resident_id,birth_date\n"
        + "".join(f"P{i},{1000 + i},2015-0{1 + i % 9}-01\n" for i in range(10)),
        encoding="utf-8",
    )
    hardship = {2, 5, 7}
    known = {5}
    (folder / "children.csv").write_text(
        "person_id,in_hardship,known_to_services\n"
        + "".join(f"P{i},{int(i in hardship)},{int(i in known)}\n" for i in range(10)),
        encoding="utf-8",
    )


# The form score.history.encode_config writes (only the fields read here).
RULES = {
    "__tuple__": [
        {"__class__": "ItemRule", "item_id": "absence", "basic_item_no": 12, "enabled": True},
        {"__class__": "ItemRule", "item_id": "late", "basic_item_no": 13, "enabled": True},
        {"__class__": "ItemRule", "item_id": "checkup_3y", "basic_item_no": 3, "enabled": True},
        {"__class__": "ItemRule", "item_id": "checkup_1y6m", "basic_item_no": 3, "enabled": True},
        {"__class__": "ItemRule", "item_id": "arrears", "basic_item_no": None, "enabled": True},
        {"__class__": "ItemRule", "item_id": "old", "basic_item_no": 1, "enabled": False},
    ]
}


def _store_a_run(store, *, run_id_offset: int = 0) -> None:
    """Two runs; the second (latest) is the one evaluated."""
    with store.engine.begin() as connection:
        for run in (1, 2):
            connection.execute(
                score_runs.insert().values(
                    run_id=run + run_id_offset,
                    created_at=datetime(2025, 12, run),
                    user_name="tester",
                    reference_date="2025-12-01",
                    inputs_fingerprint="x",
                    rules_json=json.dumps(RULES),
                    types_json="[]",
                    model_json=None,
                    settings_json="{}",
                    item_status_json="[]",
                    summary_json="{}",
                )
            )
        run_id = 2 + run_id_offset
        residents = [str(1000 + i) for i in range(10)]
        connection.execute(
            score_children.insert(),
            [
                {"run_id": run_id, "resident_id": r, "age": 10, "support_status": "", "household_id": "H"}
                for r in residents
            ],
        )
        totals = [0, 1, 9, 0, 0, 4, 0, 8, 0, 0]
        connection.execute(
            score_results.insert(),
            [
                {
                    "run_id": run_id,
                    "resident_id": r,
                    "rank": None,
                    "listed": False,
                    "total": float(t),
                    "probability": 0.1 + 0.05 * i,
                    "support_status": "",
                }
                for i, (r, t) in enumerate(zip(residents, totals, strict=True))
            ],
        )
        hits = [
            ("1001", "absence"),
            ("1001", "late"),
            ("1001", "arrears"),
            ("1002", "checkup_3y"),
            ("1002", "checkup_1y6m"),  # same basic number 3: counted once
            ("1009", "arrears"),  # not a basic item
            ("1009", "old"),  # a disabled rule
        ]
        connection.execute(
            score_items.insert(),
            [{"run_id": run_id, "resident_id": r, "item_id": i, "hit": True, "value": 1.0} for r, i in hits]
            + [{"run_id": run_id, "resident_id": "1003", "item_id": "absence", "hit": False, "value": 3.0}],
        )


def test_read_latest_run_known_answer(tmp_path):
    store = open_store(tmp_path / "mimamori.db")
    try:
        _store_a_run(store)
        frame, reference_date, run_id = read_latest_run(store)
    finally:
        store.dispose()
    assert run_id == 2 and reference_date == pd.Timestamp("2025-12-01")
    assert list(frame.index) == [str(1000 + i) for i in range(10)]
    assert frame.loc["1002", "rules_points"] == 9.0 and frame.loc["1009", "model"] == pytest.approx(0.55)
    assert frame["basic_items"].tolist() == [0, 2, 1, 0, 0, 0, 0, 0, 0, 0]
    assert (frame["age"] == 10).all()


def test_cli_evaluate_json_and_table_on_a_workbook_with_a_stored_run(tmp_path):
    workbook = build_workbook(tmp_path / "town" / "mimamori.xlsm")
    store = open_store(tmp_path / "town" / "mimamori.db")
    try:
        _store_a_run(store)
    finally:
        store.dispose()
    _write_truth(tmp_path / "town" / "truth")
    done = _cli("--truth", str(tmp_path / "town"), "--workbook", str(workbook), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert set(result["methods"]) == {"rules", "model", "basic_items", "rules_points"}
    assert result["methods"]["rules"]["listed_at_10pct"] == 0  # no type scores stored: all 0
    for figures in result["methods"].values():
        for key in ("recall_unknown_at_10pct", "precision_at_10pct", "recall_at_10pct", "auc"):
            assert key in figures
    # One age of 10 children: the top 10 % is one child. Points: 1002 (score 9, unknown, in hardship).
    rules = result["methods"]["rules_points"]
    assert rules["listed_at_10pct"] == 1 and rules["precision_at_10pct"] == 1.0
    assert rules["recall_unknown_at_10pct"] == 0.5  # 1002 of 1002 and 1007
    assert result["methods"]["model"]["precision_at_10pct"] == 0.0  # 1009 has the top probability
    assert result["population"]["run_id"] == 2 and result["population"]["children"] == 10
    table = _cli("--truth", str(tmp_path / "town" / "truth"), "--workbook", str(workbook), cwd=tmp_path)
    assert table.returncode == 0 and "未把握の困難児の検出率(上位10%)" in table.stdout
    assert not any(word in table.stdout + table.stderr for word in _ENGLISH)


def test_cli_evaluate_missing_truth_store_or_run_is_refused_in_japanese(tmp_path):
    workbook = build_workbook(tmp_path / "town" / "mimamori.xlsm")
    missing = _cli("--truth", str(tmp_path / "nothing"), "--workbook", str(workbook), "--json", cwd=tmp_path)
    assert missing.returncode == 1
    assert "正解データのフォルダ" in missing.stdout and "見つかりません" in missing.stdout
    _write_truth(tmp_path / "town" / "truth")
    no_store = _cli("--truth", str(tmp_path / "town"), "--workbook", str(workbook), cwd=tmp_path)
    assert no_store.returncode == 1 and "データベース" in no_store.stdout
    open_store(tmp_path / "town" / "mimamori.db").dispose()
    no_run = _cli("--truth", str(tmp_path / "town"), "--workbook", str(workbook), cwd=tmp_path)
    assert no_run.returncode == 1 and "判定" in no_run.stdout
    no_workbook = _cli(
        "--truth", str(tmp_path / "town"), "--workbook", str(tmp_path / "x.xlsm"), cwd=tmp_path
    )
    assert no_workbook.returncode == 1 and "台帳ファイル" in no_workbook.stdout
    for done in (missing, no_store, no_run, no_workbook):
        assert not any(word in done.stdout + done.stderr for word in _ENGLISH)
    usage = _cli("--workbook", str(workbook), cwd=tmp_path)
    assert usage.returncode == 2 and "--truth" in usage.stderr


# --- Through the real entry points: a village imported, linked and scored by the CLI ---

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


@pytest.fixture(scope="module")
def scored_village(linked_village_template, tmp_path_factory) -> Path:
    """A village copy with the example item and model plugins, imported, linked and scored (``run score``).

    Import and link come from the session's ``linked_village_template`` (the example plugins
    register no reader, so they would not change the import); the score runs here, with them.
    """
    folder = tmp_path_factory.mktemp("evaluate") / "village"
    workbook = linked_village_template.copy_to(folder)
    (folder / "plugins").mkdir()
    for name in ("example_item.py", "example_model.py"):
        shutil.copy(PLUGINS / name, folder / "plugins" / name)
    done = subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "run", "score", "--workbook", str(workbook), "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=folder,
        env=logged_on_as(),  # the user who imported and linked it (管理者 of its store)
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (folder / "score.json").write_text(done.stdout, encoding="utf-8")
    return workbook


def test_evaluate_a_scored_village_through_the_cli(scored_village):
    folder = scored_village.parent
    done = _cli("--truth", str(folder), "--workbook", str(scored_village), "--json", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert set(result["methods"]) == {"rules", "model", "basic_items", "rules_points"}
    store = open_store(folder / "mimamori.db")
    try:
        with store.engine.connect() as connection:
            children = connection.execute(score_children.select()).fetchall()
    finally:
        store.dispose()
    assert result["population"]["children"] == len(children) > 0
    assert result["population"]["not_in_truth"] == 0
    for method in ("rules", "basic_items", "rules_points", "model"):
        figures = result["methods"][method]
        assert figures["available"] is True
        for key in ("recall_unknown_at_10pct", "precision_at_10pct", "recall_at_5pct", "recall_at_20pct"):
            assert figures[key] is None or 0.0 <= figures[key] <= 1.0
        assert 0.0 <= figures["auc"] <= 1.0
    # The truth folder itself is accepted too, and the table is Japanese.
    table = _cli("--truth", str(folder / "truth"), "--workbook", str(scored_village), cwd=folder)
    assert table.returncode == 0 and "判定ルール" in table.stdout and "基本項目の数" in table.stdout


def test_the_example_item_plugin_reaches_the_stored_run(scored_village):
    store = open_store(scored_village.parent / "mimamori.db")
    try:
        with store.engine.connect() as connection:
            items = {row.item_id for row in connection.execute(score_items.select())}
    finally:
        store.dispose()
    assert "siblings" in items  # computed by plugins/example_item.py inside the score action


def test_the_example_model_plugin_is_evaluated_on_the_model_evaluation_tab(scored_village):
    from macros_py.book.harvest import harvest_workbook
    from macros_py.sheets import MODEL_EVALUATION

    summary = json.loads((scored_village.parent / "score.json").read_text(encoding="utf-8"))
    figures = summary["evaluation"]["plugin_models"]["加点モデル(例)"]
    assert 0.0 <= figures["auc_cv"] <= 1.0 and set(figures["recall_at"]) == {"5", "10", "20"}
    rows = harvest_workbook(scored_village)[MODEL_EVALUATION.key]
    assert (rows["区分"] == "プラグインモデル(加点モデル(例))").sum() == 4
    assert not any("register_" in message for message in summary["messages"])


def test_the_rules_method_is_the_priority_computed_from_the_stored_type_scores(tmp_path):
    from macros_py.score.history import encode_config
    from macros_py.score.types import HardshipType
    from macros_py.store.tables_score import score_type_scores

    types = (HardshipType(name="虐待", threshold=4.0), HardshipType(name="貧困", threshold=2.0))
    store = open_store(tmp_path / "mimamori.db")
    try:
        _store_a_run(store)
        with store.engine.begin() as connection:
            connection.execute(score_runs.update().values(types_json=encode_config(types)))
            connection.execute(
                score_type_scores.insert(),
                [
                    # 1001: listed in both types -> 2 + max(4/4, 3/2) = 3.5
                    {"run_id": 2, "resident_id": "1001", "type_name": "虐待", "score": 4.0, "listed": True},
                    {"run_id": 2, "resident_id": "1001", "type_name": "貧困", "score": 3.0, "listed": True},
                    # 1002: not listed, 虐待 2 of 4 -> 0.5
                    {"run_id": 2, "resident_id": "1002", "type_name": "虐待", "score": 2.0, "listed": False},
                    # a run that is not the latest is ignored
                    {"run_id": 1, "resident_id": "1003", "type_name": "虐待", "score": 9.0, "listed": True},
                ],
            )
        frame, _reference, _run = read_latest_run(store)
    finally:
        store.dispose()
    assert frame.loc["1001", "rules"] == pytest.approx(3.5)
    assert frame.loc["1002", "rules"] == pytest.approx(0.5)
    assert (frame.drop(["1001", "1002"])["rules"] == 0).all()
