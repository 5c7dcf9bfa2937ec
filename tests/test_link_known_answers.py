"""Known-answer tests of resident matching: each case has one right answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from macros_py.link.csv_files import link_csv_files
from macros_py.link.match import MatchOptions
from macros_py.link.pipeline import link_source

SURNAMES = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("山下", "ヤマシタ"),
    ("中島", "ナカジマ"),
    ("石井", "イシイ"),
    ("小川", "オガワ"),
]
GIVEN = [
    ("太郎", "タロウ", "男"),
    ("翔太", "ショウタ", "男"),
    ("大輔", "ダイスケ", "男"),
    ("健太", "ケンタ", "男"),
    ("蓮", "レン", "男"),
    ("悠真", "ユウマ", "男"),
    ("陽翔", "ハルト", "男"),
    ("湊", "ミナト", "男"),
    ("大翔", "ヒロト", "男"),
    ("颯太", "ソウタ", "男"),
    ("一郎", "イチロウ", "男"),
    ("誠", "マコト", "男"),
    ("花子", "ハナコ", "女"),
    ("陽菜", "ヒナ", "女"),
    ("結衣", "ユイ", "女"),
    ("美咲", "ミサキ", "女"),
    ("優子", "ユウコ", "女"),
    ("さくら", "サクラ", "女"),
    ("葵", "アオイ", "女"),
    ("凛", "リン", "女"),
    ("芽依", "メイ", "女"),
    ("結菜", "ユイナ", "女"),
    ("恵子", "ケイコ", "女"),
    ("真由美", "マユミ", "女"),
]
TOWNS = ["本町", "栄町", "緑が丘", "旭町", "中央", "東町", "西町", "南町", "北町", "若葉"]


def make_master(n: int = 2500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    surname = rng.integers(0, len(SURNAMES), n)
    given = rng.integers(0, len(GIVEN), n)
    days = rng.integers(0, 365 * 60, n)
    birth = pd.Timestamp("1960-01-01") + pd.to_timedelta(days, unit="D")
    town = rng.integers(0, len(TOWNS), n)
    return pd.DataFrame(
        {
            "resident_id": [f"{100000 + i}" for i in range(n)],
            "name": [f"{SURNAMES[s][0]}　{GIVEN[g][0]}" for s, g in zip(surname, given, strict=True)],
            "name_kana": [f"{SURNAMES[s][1]}　{GIVEN[g][1]}" for s, g in zip(surname, given, strict=True)],
            "birth_date": [d.strftime("%Y-%m-%d") for d in birth],
            "sex": [GIVEN[g][2] for g in given],
            "address": [
                f"みどり市{TOWNS[t]}{rng.integers(1, 5)}丁目{rng.integers(1, 30)}番{rng.integers(1, 20)}号"
                for t in town
            ],
        }
    )


def _copies(master: pd.DataFrame, count: int, seed: int = 5) -> pd.DataFrame:
    """Clean copies of random residents, so that EM sees enough true pairs."""
    rng = np.random.default_rng(seed)
    rows = master.iloc[rng.choice(len(master) - 50, count, replace=False) + 50].copy()
    rows["truth"] = rows["resident_id"]
    rows["resident_id"] = ""
    return rows


@pytest.fixture(scope="module")
def master() -> pd.DataFrame:
    frame = make_master()
    # Special residents at fixed positions 0..9.
    special = [
        ("髙橋　一郎", "タカハシ　イチロウ", "2015-06-01", "男", "みどり市本町1丁目2番3号"),
        ("齋藤　陽菜", "サイトウ　ヒナ", "2014-04-02", "女", "みどり市栄町2丁目5番1号"),
        ("山田　大翔", "ヤマダ　ヒロト", "2016-03-04", "男", "みどり市旭町3丁目7番9号"),
        ("山田　陽翔", "ヤマダ　ハルト", "2016-03-04", "男", "みどり市旭町3丁目7番9号"),  # twin of 2
        ("佐藤　優子", "サトウ　ユウコ", "1990-01-15", "女", "みどり市中央1丁目1番1号"),
        ("佐藤　優子", "サトウ　ユウコ", "1985-09-30", "女", "みどり市東町4丁目2番8号"),  # same name
        ("鈴木　美咲", "スズキ　ミサキ", "1992-07-11", "女", "みどり市西町2丁目3番4号"),  # was 田中
        ("渡邊　翔太", "ワタナベ　ショウタ", "2013-12-25", "男", "みどり市南町1丁目9番2号"),
        ("小林　芽依", "コバヤシ　メイ", "2012-05-08", "女", "みどり市北町3丁目1番6号"),
        ("〓田　結衣", "ヨシダ　ユイ", "2011-11-03", "女", "みどり市若葉2丁目4番4号"),
        ("石井　結菜", "イシイ　ユイナ", "2010-02-14", "女", "みどり市中央3丁目8番2号"),
        ("森　悠真", "モリ　ユウマ", "2009-10-10", "男", "みどり市栄町1丁目1番5号"),
    ]
    for position, (name, kana, birth, sex, address) in enumerate(special):
        frame.loc[position, ["name", "name_kana", "birth_date", "sex", "address"]] = [
            name,
            kana,
            birth,
            sex,
            address,
        ]
    return frame


CASES = [
    # (case, name, kana, birth, sex, address, expected resident position or None)
    ("variant_kanji", "高橋 一郎", "たかはし いちろう", "2015-06-01", "男", "本町一丁目2-3", 0),
    ("variant_kanji_saito", "斎藤 陽菜", "サイトウ ヒナ", "2014-04-02", "女", "栄町2-5-1", 1),
    ("kana_variants", "山田 大翔", "ﾔﾏﾀﾞ ﾋﾛﾄ", "2016-03-04", "男", "旭町3-7-9", 2),
    ("era_date", "渡辺 翔太", "ワタナベ ショータ", "H25.12.25", "男", "南町1丁目9番地2", 7),
    ("swapped_day_month", "小林 芽依", "コバヤシ メイ", "2012-08-05", "女", "北町3-1-6", 8),
    ("twin_not_in_master", "山田 蒼", "ヤマダ アオイ", "2016-03-04", "男", "旭町3-7-9", None),
    ("same_name_other_person", "佐藤 優子", "サトウ ユウコ", "1979-03-03", "女", "若葉1-1-1", None),
    ("surname_change", "田中 美咲", "タナカ ミサキ", "1992-07-11", "女", "西町2丁目3番4号", 6),
    ("missing_kana", "石井 結菜", "", "2010-02-14", "女", "中央3-8-2", 10),
    ("missing_address", "森 悠真", "モリ ユウマ", "2009-10-10", "男", "", 11),
    ("gaiji", "吉田 結衣", "よしだ ゆい", "2011-11-03", "女", "若葉2-4-4", 9),
]


@pytest.fixture(scope="module")
def linked(master):
    cases = pd.DataFrame(
        [c[1:6] for c in CASES], columns=["name", "name_kana", "birth_date", "sex", "address"]
    )
    cases["resident_id"] = ""
    source = pd.concat([cases, _copies(master, 600).drop(columns="truth")], ignore_index=True)
    links, model = link_source(source, master, MatchOptions())
    return links, model


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_known_answer(case, linked, master):
    links, _ = linked
    position = [c[0] for c in CASES].index(case[0])
    row = links.iloc[position]
    expected = case[-1]
    if expected is None:
        assert row["outcome"] == "none" or row["resident_id"] == "", row.to_dict()
    else:
        assert row["outcome"] in ("auto", "review"), row.to_dict()
        assert row["resident_id"] == master.loc[expected, "resident_id"], row.to_dict()


def test_clean_variants_link_automatically(linked):
    links, _ = linked
    for name in ("variant_kanji", "kana_variants", "era_date", "missing_kana", "missing_address", "gaiji"):
        position = [c[0] for c in CASES].index(name)
        assert links.iloc[position]["outcome"] == "auto", (name, links.iloc[position].to_dict())


def test_a_namesake_born_a_digit_apart_and_living_elsewhere_is_not_linked_automatically(master):
    """A stranger (not in the register) whose namesake resident was born one digit apart and
    lives elsewhere is a look-alike, common in a big city: never an automatic link. The
    same close birth date at the resident's own address, or without an address, stays
    automatic; at another 丁目 of the same town (a similar address) it does not. A fifth of the other records carry a one-digit birth typo, so that the
    model learns that close birth dates are common among true pairs."""
    copies = _copies(master, 400).drop(columns="truth").reset_index(drop=True)
    typo = np.random.default_rng(9).random(len(copies)) < 0.2
    last = copies.loc[typo, "birth_date"].str[-1].astype(int)
    copies.loc[typo, "birth_date"] = copies.loc[typo, "birth_date"].str[:-1] + ((last + 1) % 10).astype(str)
    outcomes = {}
    places = (
        ("elsewhere", "みどり市若葉5丁目5番5号"),
        ("same_town_other_chome", "みどり市本町2丁目2番3号"),
        ("home", "本町1-2-3"),
        ("none", ""),
    )
    for place, address in places:
        stranger = pd.DataFrame(
            [["髙橋 一郎", "タカハシ イチロウ", "2015-06-07", "男", address]],
            columns=["name", "name_kana", "birth_date", "sex", "address"],
        )
        links, _ = link_source(pd.concat([stranger, copies], ignore_index=True), master, MatchOptions())
        outcomes[place] = links.iloc[0]
    for place in ("elsewhere", "same_town_other_chome"):
        # A similar address (same town, another 丁目) is no agreement either.
        assert outcomes[place]["outcome"] != "auto", outcomes[place].to_dict()
        assert outcomes[place]["reason"] == "生年月日が近いだけで住所も一致しない"
    for place in ("home", "none"):
        assert outcomes[place]["outcome"] == "auto", outcomes[place].to_dict()
        assert outcomes[place]["resident_id"] == master.loc[0, "resident_id"]


def test_twin_in_master_is_never_merged(master):
    """A record of one twin must link to that twin, never to the sibling."""
    source = pd.DataFrame(
        [["山田 陽翔", "", "2016-03-04", "男", "旭町3-7-9"]],
        columns=["name", "name_kana", "birth_date", "sex", "address"],
    )
    source = pd.concat([source, _copies(master, 400).drop(columns="truth")], ignore_index=True)
    links, _ = link_source(source, master, MatchOptions())
    assert links.iloc[0]["resident_id"] == master.loc[3, "resident_id"]


def test_copies_are_linked_precisely(linked, master):
    links, _ = linked
    copies = _copies(master, 600)
    got = links.iloc[len(CASES) :]["resident_id"].to_numpy()
    assert (got == copies["truth"].to_numpy()).mean() >= 0.99
    assert (links.iloc[len(CASES) :]["outcome"] == "auto").mean() >= 0.99


def test_model_round_trips_to_json(linked):
    from macros_py.link.fellegi_sunter import LinkModel

    _, model = linked
    again = LinkModel.from_json(model.to_json())
    assert again.to_dict() == model.to_dict()
    birth = next(p for p in model.to_dict()["parameters"] if p["name"] == "birth")
    # Exact birth-date agreement is strong evidence, disagreement is evidence against.
    assert birth["levels"][3]["weight"] > 8
    assert birth["levels"][0]["weight"] < 0


def test_csv_files_one_row_per_record(tmp_path, master):
    master_csv = tmp_path / "master.csv"
    source_csv = tmp_path / "source.csv"
    master.rename(
        columns={
            "resident_id": "宛名番号",
            "name": "氏名",
            "name_kana": "氏名カナ",
            "birth_date": "生年月日",
            "sex": "性別",
            "address": "住所",
        }
    ).to_csv(master_csv, index=False, encoding="cp932", errors="replace")
    copies = _copies(master, 300)
    source = pd.DataFrame(
        {
            "レコードID": [f"S{i}" for i in range(len(copies))] + ["X1", "X2"],
            "氏名": list(copies["name"]) + ["", "山田 太郎"],
            "生年月日": list(copies["birth_date"]) + ["不明", "令和99年13月1日"],
            "性別": list(copies["sex"]) + ["", "?"],
        }
    )
    source.to_csv(source_csv, index=False, encoding="utf-8-sig")
    summary = link_csv_files(master_csv, source_csv, tmp_path / "links.csv")
    out = pd.read_csv(tmp_path / "links.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(out.columns) == ["レコードID", "宛名番号", "判定", "一致スコア"]
    assert len(out) == len(source) == summary["records"]
    assert set(out["判定"]) <= {"自動", "要確認", "不一致"}
    assert out.loc[out["レコードID"] == "X1", "判定"].item() == "不一致"
    scores = out["一致スコア"].astype(float)
    assert scores.between(0, 1).all()
    auto = out[out["判定"] == "自動"]
    truth = dict(zip([f"S{i}" for i in range(len(copies))], copies["truth"], strict=True))
    assert (auto["宛名番号"] == auto["レコードID"].map(truth)).mean() == 1.0
    assert len(auto) >= 0.95 * len(copies)


def test_em_on_a_sample_of_records_learns_the_same_model(master, monkeypatch):
    """Large runs train EM on the pairs of a sample of records: same decisions, close m."""
    from macros_py.link import match as match_module

    source = _copies(master, 600).drop(columns="truth")
    full_links, full_model = link_source(source, master, MatchOptions())
    monkeypatch.setitem(match_module.RESIDENT_MODEL, "em_sample_pairs", 1000)
    sampled_links, sampled_model = link_source(source, master, MatchOptions())
    assert sampled_model.config.em_sample_pairs == 1000
    same = (sampled_links["resident_id"] == full_links["resident_id"]) & (
        sampled_links["outcome"] == full_links["outcome"]
    )
    assert same.mean() >= 0.99
    for full_levels, sampled_levels in zip(full_model.m, sampled_model.m, strict=True):
        assert np.allclose(full_levels, sampled_levels, atol=0.05)
