"""Address notation: 町名 + 丁目-番地-号, building set aside."""

import pytest

from macros_py.normalize.address import address_key, kanji_to_number, split_address


@pytest.mark.parametrize(
    "text",
    [
        "東京都みどり市本町三丁目１２番地の５　グリーンハイツ２０１号室",
        "本町3-12-5",
        "本町３－１２－５ ハイツ201",
        "みどり市本町3丁目12番5号",
        "本町3ー12ー5",
        "本町三丁目十二番五号",
        "本町3‐12‐5",
    ],
)
def test_notations_agree(text):
    assert address_key(text) == "本町3-12-5"


def test_building_and_room_set_aside():
    parts = split_address("本町3丁目12-5-201")
    assert (parts.town, parts.numbers, parts.building) == ("本町", "3-12-5", "201")


def test_town_names_with_numerals_survive():
    assert split_address("一宮町二丁目3番").town == "一宮町"
    assert split_address("三田一丁目2").key == "三田1-2"
    assert kanji_to_number("二十一") == "21"


def test_empty_and_missing():
    assert split_address(None).key == ""
    assert split_address("").key == ""
