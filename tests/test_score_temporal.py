"""Temporal validation through the real entry points: two extracts of a village, ``score`` twice.

The module fixture imports the village's exports (the earlier extract), links and scores
it (run 1, 基準日 = the extract date), then writes a later extract the way departments
send one: the same files with a later date in the name, some children newly on the
要対協 ledger or with an open consultation, attendance figures accumulated over three
more months of school, and one more family on the 不同意書. It imports, links and
scores again (run 2) through ``mimamori run score --json``. Synthetic truth is used only
to write realistic later files; the figures are checked against an independent
computation (the stored run 1, ``sklearn.metrics``, pandas ranks).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from macros_py.book.build import build_workbook
from macros_py.book.filemode import run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.config.defaults import default_tables
from macros_py.config.settings import parse_settings
from macros_py.indicators.compute import ItemResults
from macros_py.score.evaluation import EarlierExtract
from macros_py.score.features import model_features
from macros_py.score.history import decode_config, load_run
from macros_py.score.model import fit_model, predict_probability
from macros_py.score.pipeline import parse_score_config
from macros_py.score.temporal import EarlierUnavailable, earlier_extract
from macros_py.score.temporal_evaluation import temporal_figures, temporal_rows
from macros_py.sheets import MODEL_EVALUATION
from macros_py.store import open_store

LATER = "20260227"
LATER_DATE = "2026-02-27"
TOPS = ("5", "10", "20")
USER = "tester"  # the first user of the workbook: its administrator


def _cli_score(workbook: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "run", "score", "--workbook", str(workbook), "--json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        env={**os.environ, "LOGNAME": USER, "USER": USER, "USERNAME": USER},  # getpass.getuser()
    )
    summary = json.loads(completed.stdout)
    assert completed.returncode == 0, summary["messages"]
    return summary


def _set_reference_date(workbook: Path, day: str) -> None:
    tables = harvest_workbook(workbook)
    settings = tables["settings"]
    settings.loc[settings["項目"] == "基準日", "値"] = day
    build_workbook(workbook, tables)


def _unknown_children(folder: Path, run_children: pd.DataFrame, count: int) -> pd.DataFrame:
    """Children scored in run 1 without any support and on no label source's earlier file
    (truth says which: no consultation, SSW or ledger record), living, aged 0–17."""
    truth = folder / "truth"
    persons = pd.read_csv(truth / "persons.csv", dtype=str, keep_default_na=False)
    children = pd.read_csv(truth / "children.csv", dtype=str, keep_default_na=False)
    people = persons.merge(children, on="person_id")
    unknown = (
        (people["status"] == "resident")
        & (people["known_to_services"] == "0")
        & (people["consultation_case"] == "0")
        & (people["ssw_support"] == "0")
        & (people["on_yotaikyo"] == "0")
        & (people["opted_out"] == "0")
        & (people["in_hardship"] == "1")
    )
    scored = run_children[(run_children["support_status"] == "") & (run_children["age"] <= 17)].index
    people = people[unknown & people["resident_id"].isin(scored)]
    people = people.drop_duplicates("resident_id").drop_duplicates("household_id")
    return people.sort_values("resident_id").head(count).reset_index(drop=True)


def _write_later_extract(folder: Path, newly: pd.DataFrame) -> None:
    """The later files: label sources with new children, accumulated attendance, the
    resident register again (same content), one more opt-out."""
    exports = folder / "exports"
    consult, ledger = newly.iloc[:-4], newly.iloc[-4:]
    source = next((exports / "児童相談").glob("相談記録_2025*.csv"))
    table = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    added = pd.DataFrame(
        {
            "相談番号": [f"R9{i:04d}" for i in range(len(consult))],
            "宛名番号": consult["resident_id"].to_numpy(),
            "氏名": consult["name"].to_numpy(),
            "フリガナ": consult["name_kana"].to_numpy(),
            "生年月日": consult["birth_date"].to_numpy(),
            "性別": consult["sex"].to_numpy(),
            "本児との関係": "本児",
            "住所": consult["address"].to_numpy(),
            "相談種別": table["相談種別"].iloc[0],
            "受付日": "令和8年1月20日",
            "対応状況": "対応中",
            "一時保護": "無",
        }
    )
    later = exports / "児童相談" / f"相談記録_{LATER}.csv"
    pd.concat([table, added]).to_csv(later, index=False, encoding="utf-8-sig")
    source = next((exports / "児童相談").glob("要対協台帳_2025*.xlsx"))
    book = openpyxl.load_workbook(source)
    sheet = book["進行管理台帳"]
    for number, person in enumerate(ledger.itertuples()):
        born = pd.Timestamp(person.birth_date).to_pydatetime()
        sheet.append([f"Y9{number:03d}", person.resident_id, person.name, born, "要支援児童"])
        sheet.cell(sheet.max_row, 6, pd.Timestamp("2026-02-10").to_pydatetime())
        sheet.cell(sheet.max_row, 7, "ネグレクト")
        sheet.cell(sheet.max_row, 8, "継続")
    book.save(exports / "児童相談" / f"要対協台帳_{LATER}.xlsx")
    for source in sorted((exports / "校務支援" / "出欠").glob("出欠_*_2025*.csv")):
        table = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="cp932")
        days = pd.to_numeric(table["授業日数"])
        for column in ("欠席日数", "遅刻回数", "早退回数", "保健室来室回数"):  # three more months
            table[column] = (
                np.round(pd.to_numeric(table[column]) * (days + 60) / days).astype(int).astype(str)
            )
        table["授業日数"] = (days + 60).astype(str)
        table.to_csv(
            source.parent / f"{source.name.rsplit('_', 1)[0]}_{LATER}.csv", index=False, encoding="cp932"
        )
    register = next((exports / "住民記録").glob("住民記録_2025*.csv"))  # same people, later date
    shutil.copyfile(register, register.with_name(f"住民記録_{LATER}.csv"))
    source = next((exports / "こども家庭センター").glob("不同意書_2025*.csv"))
    table = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="cp932")
    family = consult.iloc[0]
    form = {"受付番号": "F9001", "児童宛名番号": family["resident_id"], "児童氏名": family["name"]}
    form |= {"保護者氏名": "", "受付日": "令和8年2月1日"}
    later = exports / "こども家庭センター" / f"不同意書_{LATER}.csv"
    pd.concat([table, pd.DataFrame([form])]).to_csv(later, index=False, encoding="cp932")


@pytest.fixture(scope="module")
def two_extracts(synthetic_village, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("temporal") / "village"
    shutil.copytree(synthetic_village, folder)
    meta = json.loads((folder / "truth" / "meta.json").read_text(encoding="utf-8"))
    earlier_date = str(meta["reference_date"])[:10]
    tables = default_tables()
    settings = tables["settings"]
    settings.loc[settings["項目"] == "基準日", "値"] = earlier_date
    workbook = build_workbook(folder / "mimamori.xlsm", tables)
    assert run_in_file_mode("import", workbook, user_name=USER).ok
    assert run_in_file_mode("link", workbook, user_name=USER).ok
    first = run_in_file_mode("score", workbook, user_name=USER).summary
    store = open_store(folder / "mimamori.db")
    run = load_run(store, first["run_id"])
    run_children = run.children.join(run.support.rename("support_status"))
    newly = _unknown_children(folder, run_children, 14)
    assert len(newly) == 14
    _write_later_extract(folder, newly)
    _set_reference_date(workbook, LATER_DATE)
    imported = run_in_file_mode("import", workbook, user_name=USER)
    assert imported.ok and "保留 0" in imported.messages[0], imported.messages
    assert run_in_file_mode("link", workbook, user_name=USER).ok
    second = _cli_score(workbook)
    family = newly.iloc[0]
    opted_out = set(newly.loc[newly["household_id"] == family["household_id"], "resident_id"])
    return {
        "workbook": workbook,
        "store": store,
        "first": first,
        "second": second,
        "earlier_date": earlier_date,
        "newly": newly,
        "opted_out_family": family["household_id"],
        "opted_out_ids": opted_out,
    }


def _rebuilt(two_extracts) -> EarlierExtract:
    tables = harvest_workbook(two_extracts["workbook"])
    settings = parse_settings(tables["settings"])
    earlier = earlier_extract(
        two_extracts["store"],
        config=parse_score_config(tables, settings),
        resident_source_id=settings.resident_source_id,
    )
    assert isinstance(earlier, EarlierExtract)
    return earlier


def _evaluation_tab(workbook: Path) -> pd.DataFrame:
    book = openpyxl.load_workbook(workbook, read_only=True, data_only=True)
    try:
        rows = list(
            book[MODEL_EVALUATION.name].iter_rows(min_row=MODEL_EVALUATION.header_row, values_only=True)
        )
    finally:
        book.close()
    body = [row[: len(MODEL_EVALUATION.headers)] for row in rows[1:] if any(cell is not None for cell in row)]
    return pd.DataFrame(body, columns=MODEL_EVALUATION.headers)


def test_one_extract_says_why_there_is_no_temporal_validation(two_extracts):
    temporal = two_extracts["first"]["evaluation"]["temporal"]
    assert temporal["available"] is False
    assert "まだ1回分の抽出しか取り込まれていません" in temporal["reason"]
    assert "要保護児童対策地域協議会" in temporal["reason"]


def test_the_earlier_extract_is_what_the_store_held_before_the_later_import(two_extracts):
    """Items and labels rebuilt as of the earlier extract equal run 1's stored ones
    (run 1 was scored on that extract; the family who opted out since was purged from it)."""
    earlier = _rebuilt(two_extracts)
    run = load_run(two_extracts["store"], two_extracts["first"]["run_id"])
    assert earlier.reference_date == pd.Timestamp(two_extracts["earlier_date"])
    assert list(earlier.features.index) == list(run.children.index)
    assert earlier.labels.equals((run.support != "").reindex(earlier.labels.index))
    pd.testing.assert_series_equal(earlier.ages, run.children["age"].astype(float), check_names=False)
    temporal = two_extracts["second"]["evaluation"]["temporal"]
    assert temporal["earlier_children"] == len(run.children)
    assert temporal["earlier_labelled"] == int((run.support != "").sum())
    hit_items = [column for column in earlier.features.columns if ":" not in column]
    assert len(hit_items) >= 20
    stored = run.hits.reindex(columns=hit_items).fillna(False).astype(float)
    pd.testing.assert_frame_equal(earlier.features[hit_items], stored, check_names=False)
    dates = temporal["extract_dates"]
    assert dates["yotaikyo"] == {
        "name": "要保護児童対策地域協議会 進行管理台帳",
        "earlier": "2025-11-30",
        "current": LATER_DATE,
    }
    assert dates["attendance"]["current"] == LATER_DATE and dates["attendance"]["earlier"] < LATER_DATE
    assert dates["jumin"] == {"name": "住民記録", "earlier": "2025-11-30", "current": LATER_DATE}


def test_newly_known_children_are_counted_and_opted_out_families_are_not(two_extracts):
    temporal = two_extracts["second"]["evaluation"]["temporal"]
    assert temporal["available"] is True
    newly = two_extracts["newly"]
    expected = newly[newly["household_id"] != two_extracts["opted_out_family"]]
    assert temporal["newly_labelled"] == len(expected) == 13
    assert temporal["labelled_not_in_earlier"] == 0
    earlier = _rebuilt(two_extracts)
    for resident in two_extracts["opted_out_ids"]:
        assert resident not in earlier.features.index
        assert resident not in earlier.labels.index
    assert temporal["earlier_children"] == len(earlier.labels)
    assert temporal["children"] == two_extracts["second"]["children"]


def _top_within_age(scores: pd.Series, ages: pd.Series, percent: int) -> pd.Series:
    """Independent top k % within age: pandas ranks (descending, ties by resident id)."""
    frame = pd.DataFrame({"score": scores, "age": ages.reindex(scores.index).fillna(-1)})
    frame = frame.sort_index().reset_index(names="id")
    frame = frame.sort_values(["age", "score", "id"], ascending=[True, False, True], kind="stable")
    frame["position"] = frame.groupby("age").cumcount()
    quota = frame.groupby("age")["id"].transform("size").map(lambda n: math.ceil(n * percent / 100))
    return pd.Series((frame["position"] < quota).to_numpy(), index=frame["id"].to_numpy()).reindex(
        scores.index
    )


def test_temporal_figures_agree_with_an_independent_computation(two_extracts):
    summary = two_extracts["second"]
    temporal = summary["evaluation"]["temporal"]
    earlier = _rebuilt(two_extracts)
    model = fit_model(earlier.features, earlier.labels, seed=0)
    features, labels, ages = _current_inputs(two_extracts)
    now = predict_probability(model, features)
    before = predict_probability(model, earlier.features)
    assert temporal["auc"] == pytest.approx(roc_auc_score(labels, now))
    known_before = earlier.labels.reindex(features.index).fillna(False).astype(bool)
    in_both = features.index.isin(earlier.features.index)
    newly = labels & ~known_before & in_both
    assert int(newly.sum()) == temporal["newly_labelled"]
    candidates = ~known_before & in_both
    assert temporal["auc_newly_labelled"] == pytest.approx(roc_auc_score(newly[candidates], now[candidates]))
    assert temporal["brier"] == pytest.approx(float(np.mean((now - labels.astype(float)) ** 2)))
    newly_ids = set(newly[newly].index)
    for key in TOPS:
        listed_now = _top_within_age(now, ages, int(key))
        listed_before = _top_within_age(before, earlier.ages, int(key))
        assert temporal["newly_found"][key] == len(newly_ids & set(listed_now[listed_now].index))
        assert temporal["newly_found_earlier_list"][key] == len(
            newly_ids & set(listed_before[listed_before].index)
        )
        assert temporal["recall_at"][key] == pytest.approx((listed_now & labels).sum() / labels.sum())
        assert temporal["precision_at"][key] == pytest.approx((listed_now & labels).sum() / listed_now.sum())
    assert temporal["newly_found_earlier_list"]["20"] >= temporal["newly_found_earlier_list"]["5"]


def _rules(run):
    return decode_config(run.rules_json)


def test_model_evaluation_tab_and_log_show_the_temporal_rows(two_extracts):
    temporal = two_extracts["second"]["evaluation"]["temporal"]
    tab = _evaluation_tab(two_extracts["workbook"])
    rows = tab[tab["区分"] == "時系列検証"].set_index("指標")
    expected = pd.DataFrame(temporal_rows(temporal), columns=MODEL_EVALUATION.headers).set_index("指標")
    assert list(rows.index) == list(expected.index)
    assert (rows["値"].astype(str) == expected["値"]).all()
    found = temporal["newly_found_earlier_list"]["10"]
    newly = temporal["newly_labelled"]
    assert rows.loc["前回の候補(各年齢の上位10%)に入っていた人数", "値"].startswith(f"{found} / {newly}人")
    assert rows.loc["新たに支援につながった児童", "値"] == f"{newly}人"
    assert "2025-11-30時点" in rows.loc["前回の抽出", "値"]
    assert "児童相談記録 2025-11-28(今回 2026-02-27)" in rows.loc["前回の抽出", "説明"]
    log = harvest_workbook(two_extracts["workbook"])["log"]
    assert log["内容"].str.contains(f"新たに支援につながった児童 {newly} 人のうち").any()


def _current_inputs(two_extracts) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Features, labels and ages of run 2 as it stored them."""
    run = load_run(two_extracts["store"], two_extracts["second"]["run_id"])
    results = ItemResults(run.children, run.hits, run.values, run.item_status, opted_out=0)
    features = model_features(results, rules=_rules(run), label_source_ids=run.settings["label_source_ids"])
    labels = run.support.reindex(features.index) != ""
    return features, labels, run.children["age"].astype(float).reindex(features.index)


def test_earlier_extract_without_labels_is_reported_in_japanese(two_extracts):
    """教師データ counting only cases opened after the earlier extract: no label at the
    earlier extract, so no earlier model; a Japanese reason names the date."""
    tables = harvest_workbook(two_extracts["workbook"])
    labels = tables["label_sources"].copy()
    labels.loc[labels["ソースID"] != "consultation", "有効"] = "いいえ"
    consultation = (labels["ソースID"] == "consultation") & (labels["支援状況"] == "支援中")
    labels.loc[consultation, "記録条件"] = "相談対応状況 = 「対応中」 かつ 相談受付日 >= 2026-01-01"
    tables["label_sources"] = labels
    settings = parse_settings(tables["settings"])
    earlier = earlier_extract(
        two_extracts["store"],
        config=parse_score_config(tables, settings),
        resident_source_id=settings.resident_source_id,
    )
    assert isinstance(earlier, EarlierExtract)
    assert int(earlier.labels.sum()) == 0 and len(earlier.labels) > 0
    features, _labels, ages = _current_inputs(two_extracts)
    figures = temporal_figures(earlier, features, _labels, ages)
    assert figures["available"] is False
    assert figures["reason"].startswith("前回の抽出(2025-11-28時点)のデータでは統計モデルを作れません。")
    assert "1人もいない" in figures["reason"]
    assert temporal_rows(figures) == [
        ("時系列検証", "前回の抽出で学習し今回で検証", "できません", figures["reason"])
    ]


# --- the unlucky paths of the figures themselves (pure functions) ---


def _planted(count: int, seed: int, prefix: str = "") -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    index = pd.Index([f"{prefix}{number:06d}" for number in range(count)], name="resident_id")
    features = pd.DataFrame(
        {"absence": (rng.random(count) < 0.2).astype(float), "noise": rng.normal(size=count)}, index=index
    )
    labels = pd.Series(rng.random(count) < 1 / (1 + np.exp(3.0 - 2.0 * features["absence"])), index=index)
    return features, labels, pd.Series(rng.integers(0, 19, count), index=index)


def test_no_children_in_common_gives_a_reason():
    features, labels, ages = _planted(600, 1)
    before, before_labels, before_ages = _planted(600, 2, prefix="X")
    figures = temporal_figures(EarlierExtract(before, before_labels, before_ages), features, labels, ages)
    assert figures["available"] is False
    assert "共通する人" in figures["reason"]
    assert temporal_rows(figures)[0][2:] == ("できません", figures["reason"])
    json.dumps(figures, ensure_ascii=False)


@pytest.mark.parametrize("value", [False, True])
def test_a_single_class_at_the_earlier_extract_gives_a_reason(value):
    features, labels, ages = _planted(600, 1)
    figures = temporal_figures(
        EarlierExtract(features, pd.Series(value, index=features.index), ages), features, labels, ages
    )
    assert figures["available"] is False
    assert "統計モデルを作れません" in figures["reason"]
    assert "支援状況" in figures["reason"] or "教師データ" in figures["reason"]


def test_an_earlier_extract_with_no_children_gives_a_reason():
    features, labels, ages = _planted(600, 1)
    empty = EarlierExtract(features.iloc[:0], labels.iloc[:0], ages.iloc[:0])
    figures = temporal_figures(empty, features, labels, ages)
    assert figures["available"] is False and "対象の児童がいない" in figures["reason"]


def test_no_earlier_extract_at_all_is_one_row():
    assert temporal_rows(None) == [
        ("時系列検証", "前回の抽出で学習し今回で検証", "—", "前回の抽出がまだないため行っていません。")
    ]
    reason = EarlierUnavailable("理由").reason
    assert temporal_rows({"available": False, "reason": reason})[0][2:] == ("できません", "理由")
