"""Known answers for name separators and for cutting names written without a space."""

from __future__ import annotations

import pandas as pd
import pytest

from macros_py.link.name_split import split_unspaced_names
from macros_py.link.prepare import prepare_people
from macros_py.normalize.names import name_key, split_name, unify_separators
from macros_py.normalize.names_split import build_name_dictionary, split_unspaced_name, split_unspaced_reading

# A small register: (written name, reading), always with the space, as the register writes them.
REGISTER = [
    ("平野　紬", "ヒラノ　ツムギ"),
    ("平　紬希", "タイラ　ツムギ"),
    ("菅　義偉", "スガ　ヨシヒデ"),
    ("菅野　花", "スガノ　ハナ"),
    ("佐々木　希", "ササキ　ノゾミ"),
    ("長谷川　一郎", "ハセガワ　イチロウ"),
    ("東海林　太郎", "ショウジ　タロウ"),
    ("小林　一", "コバヤシ　ハジメ"),
    ("小　林太", "オ　リンタ"),
    ("山田　あい", "ヤマダ　アイ"),
    ("森　美咲", "モリ　ミサキ"),
    ("森田　美咲", "モリタ　ミサキ"),
]


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    return prepare_people(pd.DataFrame(REGISTER, columns=["name", "name_kana"]))


@pytest.fixture(scope="module")
def dictionary(register):
    return build_name_dictionary(
        surnames=register["surname"],
        givens=register["given"],
        kana_surnames=register["kana_surname"],
        kana_givens=register["kana_given"],
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("髙橋　太郎", ("高橋", "太郎")),
        ("高橋 太郎", ("高橋", "太郎")),
        ("  高橋\u3000\u3000太郎 ", ("高橋", "太郎")),
        ("スミス・ジョン", ("スミス", "ジョン")),
        ("ｽﾐｽ･ｼﾞｮﾝ", ("スミス", "ジョン")),
        ("ジョン＝スミス", ("ジョン", "スミス")),
        ("SMITH, JOHN", ("SMITH", "JOHN")),
        ("smith，john", ("SMITH", "JOHN")),
        ("グエン・ヴァン・アン", ("グエン", "ヴァンアン")),
        ("高橋太郎", ("高橋太郎", "")),
        (None, ("", "")),
    ],
)
def test_split_name_at_any_separator(written, expected):
    assert split_name(written) == expected


def test_name_key_ignores_separators_and_case():
    assert name_key("スミス・ジョン") == name_key("スミス　ジョン") == name_key("スミスジョン")
    assert name_key("Smith, John") == name_key("SMITH JOHN")
    assert unify_separators("スミス・ジョン") == "スミス ジョン"


@pytest.mark.parametrize(
    ("name", "kana_surname", "kana_given", "expected"),
    [
        # The reading's space tells the cut, also against the dictionary's other surnames.
        ("平野紬", "ヒラノ", "ツムキ", ("平野", "紬", True)),  # typo in the given reading
        ("平紬希", "タイラ", "ツムギ", ("平", "紬希", True)),
        ("菅義偉", "スガ", "ヨシヒデ", ("菅", "義偉", True)),
        ("小林一", "コバヤシ", "ハジメ", ("小林", "一", True)),
        ("小林太", "オ", "リンタ", ("小", "林太", True)),
        # 外字 placeholder in the surname: matches the register's surname read so.
        ("？野紬", "ヒラノ", "ツムギ", ("？野", "紬", True)),
        # No reading: the register's surnames and given names.
        ("佐々木希", "", "", ("佐々木", "希", True)),
        ("長谷川一郎", "", "", ("長谷川", "一郎", True)),
        ("東海林太郎", "", "", ("東海林", "太郎", True)),
        ("森田美咲", "", "", ("森田", "美咲", True)),
        # Surname not in the register (a surname change) but the given name is.
        ("田中美咲", "", "", ("田中", "美咲", True)),
        # Kanji then kana.
        ("川村あい", "", "", ("川村", "あい", True)),
        # Nothing known: a two-character surname.
        ("西園寺公", "", "", ("西園", "寺公", False)),
        ("王明", "", "", ("王", "明", False)),
    ],
)
def test_split_unspaced_name(dictionary, name, kana_surname, kana_given, expected):
    assert (
        split_unspaced_name(name, dictionary=dictionary, kana_surname=kana_surname, kana_given=kana_given)
        == expected
    )


def test_a_single_character_is_not_cut(dictionary):
    assert split_unspaced_name("森", dictionary=dictionary) == ("森", "", False)


@pytest.mark.parametrize(
    ("reading", "surname", "expected"),
    [
        ("ヒラノツムギ", "平野", ("ヒラノ", "ツムギ")),
        ("ヒラノツムキ", "平野", ("ヒラノ", "ツムキ")),  # typo in the given part
        ("スガノハナ", "菅野", ("スガノ", "ハナ")),
        ("スガノハナ", "", ("スガノ", "ハナ")),  # both halves are register readings
        ("モリタミサキ", "", ("モリタ", "ミサキ")),
        ("ヤマダタロ", "", ("ヤマダ", "タロ")),  # keys: タロウ is タロ
        ("ヤマダハナコ", "", ("ヤマダハナコ", "")),  # ハナコ is no register given-name reading
        ("ワタナベハナ", "", ("ワタナベハナ", "")),  # unknown surname reading: not cut
    ],
)
def test_split_unspaced_reading(dictionary, reading, surname, expected):
    assert split_unspaced_reading(reading, dictionary=dictionary, surname=surname) == expected


def test_prepared_records_get_their_names_cut(register):
    records = pd.DataFrame(
        {
            "name": ["平野紬", "菅義偉", "平野 紬", "石井結菜", "スミス・ジョン", "平野紬"],
            "name_kana": ["ひらの つむき", "ｽｶﾞ ﾖｼﾋﾃﾞ", "ヒラノツムギ", "", "スミス・ジョン", "ヒラノツムギ"],
        }
    )
    prepared = split_unspaced_names(prepare_people(records), register=register)
    got = prepared[["surname", "given", "kana_surname", "kana_given"]].to_numpy().tolist()
    assert got == [
        ["平野", "紬", "ヒラノ", "ツムキ"],
        ["菅", "義偉", "スガ", "ヨシヒデ"],
        ["平野", "紬", "ヒラノ", "ツムギ"],
        ["石井", "結菜", "", ""],
        ["スミス", "ジョン", "スミス", "ジヨン"],  # reading keys fold small kana
        ["平野", "紬", "ヒラノ", "ツムギ"],  # neither spaced: the reading's cut, then the name's
    ]
    assert prepared["given_loose"].tolist()[:3] == ["紬", "義偉", "紬"]
    assert prepared["kana_given_head"].tolist()[0] == "ツム"


def test_an_unspaced_register_entry_is_cut_with_the_rest_of_the_register(register):
    master = prepare_people(pd.DataFrame({"name": ["森田美咲"], "name_kana": ["モリタ　ミサキ"]}))
    cut = split_unspaced_names(master, register=pd.concat([register, master], ignore_index=True))
    assert cut[["surname", "given"]].to_numpy().tolist() == [["森田", "美咲"]]
