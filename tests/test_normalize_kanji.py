"""Variant kanji folding from mappings/kanji_variants.csv and 外字 wildcards."""

from macros_py.normalize.kanji import (
    WILDCARD,
    fold_kanji,
    fold_kanji_loose,
    load_variant_table,
    wildcard_equal,
)
from macros_py.normalize.names import name_key, split_name


def test_common_name_variants_fold():
    assert fold_kanji("髙橋") == "高橋"
    assert fold_kanji("山﨑") == "山崎"
    assert fold_kanji("渡邊") == fold_kanji("渡邉") == "渡辺"
    assert fold_kanji("齋藤") == fold_kanji("齊藤") == "斎藤"
    assert fold_kanji("𠮷田") == "吉田"
    assert fold_kanji("濱田 櫻") == "浜田 桜"


def test_similar_but_different_characters():
    assert fold_kanji("斉藤") != fold_kanji("斎藤")
    assert fold_kanji_loose("斉藤") == fold_kanji_loose("斎藤")
    assert fold_kanji("藤") != fold_kanji("籐")
    same, similar = load_variant_table()
    assert "籐" not in same and "藤" not in same
    assert len(same) >= 300


def test_gaiji_placeholders_are_wildcards():
    assert fold_kanji("〓田") == WILDCARD + "田"
    assert fold_kanji("\ue123田") == WILDCARD + "田"
    assert wildcard_equal(fold_kanji("〓田"), "吉田")
    assert not wildcard_equal(fold_kanji("〓田"), "吉野")


def test_names_split_and_fold():
    assert split_name("髙橋　太郎") == ("高橋", "太郎")
    assert split_name("高橋太郎") == ("高橋太郎", "")
    assert name_key("渡邊 花子 様") == "渡辺花子"
