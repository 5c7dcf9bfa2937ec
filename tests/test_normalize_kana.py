"""Kana comparison keys: width, script, small kana, voicing and long vowels."""

from hypothesis import given
from hypothesis import strategies as st

from macros_py.normalize.kana import kana_key, normalize_kana, split_kana


def test_width_script_and_spaces():
    assert normalize_kana("ﾔﾏﾀﾞ ﾀﾛｳ") == "ヤマダ\u3000タロウ"
    assert normalize_kana("やまだ　たろう") == "ヤマダ\u3000タロウ"
    assert split_kana("ヤマダ タロウ") == ("ヤマダ", "タロウ")


def test_long_vowels_unified():
    assert kana_key("サトウ") == kana_key("サトー") == kana_key("サトオ") == kana_key("さとう")
    assert kana_key("ユウコ") == kana_key("ユーコ")
    assert kana_key("オオノ") == kana_key("オーノ")


def test_small_kana_and_voicing():
    assert kana_key("キョウコ") == kana_key("キヨコ")
    assert kana_key("ちぢみ") == "チジミ"
    assert kana_key("ツヅキ") == kana_key("ツズキ")


def test_different_names_stay_different():
    assert kana_key("タロウ") != kana_key("ジロウ")
    assert kana_key("") == ""


@given(st.text(alphabet="あいうえおかきくけこさしすせそやゆよっゃゅょーアイウエオ ｱｲｳ", max_size=12))
def test_key_has_no_hiragana_small_kana_or_long_marks(text):
    key = kana_key(text)
    assert not any("\u3041" <= char <= "\u3096" for char in key)
    assert not set(key) & set("ァィゥェォッャュョー \u3000")
    assert kana_key(normalize_kana(text)) == key
