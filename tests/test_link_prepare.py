"""Normalisation on the worker thread gives what normalisation in the caller gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.link.prepare import PARALLEL_MIN_RECORDS, start_people_keys


def test_worker_keys_equal_keys_computed_here():
    rows = PARALLEL_MIN_RECORDS + 10
    rng = np.random.default_rng(1)
    names = np.array(["髙橋 一郎", "斉藤 花子", "佐藤　太郎", " 山田 次郎 ", None, ""], dtype=object)
    readings = np.array(["タカハシ イチロー", "さいとう はなこ", "ｻﾄｳ ﾀﾛｳ", None], dtype=object)
    places = np.array(
        ["みなと市本町三丁目12番地の5 ハイツ201", "本町3-12-5", None, "北町1ｰ2ｰ3"], dtype=object
    )
    frame = pd.DataFrame(
        {
            "name": names[rng.integers(0, len(names), rows)],
            "name_kana": readings[rng.integers(0, len(readings), rows)],
            "address": places[rng.integers(0, len(places), rows)],
        },
        dtype=object,
    )
    in_worker = start_people_keys(frame)()
    here = start_people_keys(frame, parallel=False)()
    assert set(in_worker) == set(here)
    assert {"surname", "given_loose", "kana_full", "chome", "address"} <= set(here)
    for column, values in here.items():
        assert np.array_equal(in_worker[column], values), column
    first = frame.index[frame["name"] == "髙橋 一郎"][0]
    assert (here["surname"][first], here["given"][first]) == ("高橋", "一郎")
    place = frame.index[frame["address"] == "本町3-12-5"][0]
    assert here["address"][place] == "本町3-12-5"
    missing = frame.index[frame["name"].isna()][0]
    assert here["surname"][missing] == ""


def test_text_values_of_identifiers_and_of_repeated_values_are_cleaned_alike():
    from macros_py.link.prepare import text_values

    rows = 51_000
    numbers = [f" {n:08d} " if n % 7 == 0 else f"{n:08d}" for n in range(rows)]
    numbers[3], numbers[5], numbers[8] = None, float("nan"), 12345
    repeated = [["男", " 女", None][n % 3] for n in range(rows)]
    frame = pd.DataFrame({"id": numbers, "sex": repeated}, dtype=object)
    identifiers = text_values(frame, "id")  # mostly distinct: cleaned value by value
    assert identifiers[0] == "00000000" and identifiers[7] == "00000007"
    assert (identifiers[3], identifiers[5], identifiers[8]) == ("", "", "12345")
    assert text_values(frame, "sex")[:3].tolist() == ["男", "女", ""]
    small = frame.iloc[:100]  # below the sampling size: hashed path
    assert text_values(small, "id").tolist() == identifiers[:100].tolist()
