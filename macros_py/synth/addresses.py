"""Areas (町丁・大字), school districts and the registry form of addresses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.profiles import MunicipalityProfile

__all__ = ["build_areas", "assign_addresses", "registry_address_lines", "BUILDING_NAMES"]

_AREA_BASE_NAMES: tuple[str, ...] = (
    "本町",
    "栄町",
    "旭町",
    "緑町",
    "若葉",
    "中央",
    "桜木町",
    "松原",
    "青葉台",
    "富士見",
    "日の出町",
    "宮前",
    "八幡",
    "新町",
    "元町",
    "住吉",
    "春日",
    "若松",
    "大手町",
    "城南",
    "城東",
    "港町",
    "川端",
    "山手",
    "清水",
    "高砂",
    "千代田",
    "泉町",
    "朝日町",
    "錦町",
    "寿町",
    "弥生町",
    "花園",
    "東雲",
    "柳町",
    "平和町",
    "昭和町",
    "駅前",
    "白山",
    "天神",
    "竹の台",
    "梅ケ丘",
    "桃山",
    "柏木",
    "小松原",
    "大原",
    "野田",
    "水口",
    "北野",
    "南台",
    "三好",
    "常盤",
    "浜町",
    "杉並",
    "稲荷町",
    "幸町",
    "亀井",
    "鶴見",
    "紅葉台",
    "藤が丘",
)
_AZA_NAMES: tuple[str, ...] = (
    "上野",
    "下野",
    "中里",
    "西原",
    "東原",
    "大沢",
    "小沢",
    "宮田",
    "寺山",
    "川内",
    "杉谷",
    "柳原",
    "荒井",
    "平沢",
    "高畑",
    "石神",
)
_AREA_PREFIXES: tuple[str, ...] = ("", "東", "西", "南", "北", "新", "上", "下", "中", "本")

BUILDING_NAMES: tuple[str, ...] = (
    "コーポ桜",
    "グランメゾン中央",
    "ハイツ緑",
    "サンライズマンション",
    "レジデンス栄",
    "パークハイツ",
    "メゾン若葉",
    "シャトー旭",
    "ロイヤルコート",
    "アーバンヒルズ",
    "ヴィラ春日",
    "フォレスト館",
    "リバーサイド本町",
    "ガーデンテラス",
    "第二松原荘",
    "県営住宅",
    "市営団地",
    "エクセル富士見",
    "プレステージ港",
    "ステラ八幡",
)

_KANJI_DIGITS = "〇一二三四五六七八九"


def build_areas(profile: MunicipalityProfile, rng: np.random.Generator) -> pd.DataFrame:
    """Build the municipality's areas with school districts and postal codes.

    Args:
        profile: Municipality profile.
        rng: Random generator.

    Returns:
        One row per area: ``area_index, ward, area_name, chome_count, weight,
        elementary_district, junior_high_district, postal_code``.
    """
    count = profile.area_count
    if profile.uses_aza:
        names = [f"大字{_AZA_NAMES[index % len(_AZA_NAMES)]}" for index in range(count)]
        chome_count = np.zeros(count, dtype=int)
        wards = [""] * count
    else:
        ward_names = profile.ward_names or ("",)
        per_ward = int(np.ceil(count / len(ward_names)))
        candidate_names = [prefix + base for base in _AREA_BASE_NAMES for prefix in _AREA_PREFIXES]
        names = []
        wards = []
        for ward_index, ward in enumerate(ward_names):
            order = np.random.default_rng([ward_index, 17]).permutation(len(candidate_names))
            for position in order[:per_ward]:
                names.append(candidate_names[position])
                wards.append(ward)
        names = names[:count]
        wards = wards[:count]
        chome_count = rng.integers(1, 6, size=count)
    weights = rng.gamma(3.0, 1.0, size=count) * np.maximum(chome_count, 1)
    elementary = (np.arange(count) * profile.elementary_schools) // count
    junior_high = (elementary * profile.junior_high_schools) // profile.elementary_schools
    postal_codes = [f"{900 + (index // 100) % 90:03d}{(index * 37) % 10000:04d}" for index in range(count)]
    return pd.DataFrame(
        {
            "area_index": np.arange(count),
            "ward": wards,
            "area_name": names,
            "chome_count": chome_count,
            "weight": weights,
            "elementary_district": elementary,
            "junior_high_district": junior_high,
            "postal_code": postal_codes,
        }
    )


def assign_addresses(
    areas: pd.DataFrame, household_count: int, apartment_share: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Give every household an address (area, 丁目, 番, 号, building, room).

    Args:
        areas: Output of :func:`build_areas`.
        household_count: Number of households.
        apartment_share: Share of households in a named building.
        rng: Random generator.

    Returns:
        One row per household with ``area_index, chome, banchi, go, building, room``.
        ``chome`` is 0 and ``go`` may be 0 for 大字 addresses (番地 only).
    """
    weights = areas["weight"].to_numpy()
    area_index = rng.choice(len(areas), size=household_count, p=weights / weights.sum())
    chome_count = areas["chome_count"].to_numpy()[area_index]
    is_aza = chome_count == 0
    chome = np.where(
        is_aza, 0, rng.integers(0, 10_000, size=household_count) % np.maximum(chome_count, 1) + 1
    )
    banchi = np.where(
        is_aza, rng.integers(1, 3000, size=household_count), rng.integers(1, 36, size=household_count)
    )
    go = np.where(
        is_aza,
        np.where(rng.random(household_count) < 0.3, rng.integers(1, 15, size=household_count), 0),
        rng.integers(1, 30, size=household_count),
    )
    in_building = rng.random(household_count) < apartment_share
    building_index = rng.integers(0, len(BUILDING_NAMES), size=household_count)
    building = np.where(in_building, np.asarray(BUILDING_NAMES, dtype=object)[building_index], "")
    floor = rng.integers(1, 9, size=household_count)
    room_number = floor * 100 + rng.integers(1, 12, size=household_count)
    room = np.where(in_building, room_number.astype(str), "")
    return pd.DataFrame(
        {
            "area_index": area_index,
            "chome": chome,
            "banchi": banchi,
            "go": go,
            "building": building.astype(object),
            "room": room.astype(object),
        }
    )


def registry_address_lines(
    households: pd.DataFrame, areas: pd.DataFrame, municipality: str
) -> tuple[pd.Series, pd.Series]:
    """The registry (住民記録) form of each household's address.

    Returns:
        Tuple of (address line such as ``みなと市栄町3丁目12番5号``, 方書 such as
        ``コーポ桜 203号室``), aligned with ``households``.
    """
    area_index = households["area_index"].to_numpy()
    ward = pd.Series(areas["ward"].to_numpy()[area_index], index=households.index)
    area_name = pd.Series(areas["area_name"].to_numpy()[area_index], index=households.index)
    chome = households["chome"]
    banchi = households["banchi"].astype(str)
    go = households["go"]
    chome_part = np.where(chome > 0, chome.astype(str) + "丁目", "")
    is_aza = chome == 0
    number_part = np.where(
        is_aza,
        banchi + "番地" + np.where(go > 0, "の" + go.astype(str), ""),
        banchi + "番" + go.astype(str) + "号",
    )
    line = municipality + ward + area_name + chome_part + number_part
    room = households["room"]
    building_line = np.where(room != "", households["building"] + " " + room + "号室", "")
    return pd.Series(line, index=households.index), pd.Series(building_line, index=households.index)


def to_kanji_number(value: int) -> str:
    """Write 1–99 in 漢数字 (12 → 十二); larger numbers digit by digit."""
    if value <= 0:
        return str(value)
    if value < 10:
        return _KANJI_DIGITS[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return ("" if tens == 1 else _KANJI_DIGITS[tens]) + "十" + (_KANJI_DIGITS[ones] if ones else "")
    return "".join(_KANJI_DIGITS[int(digit)] for digit in str(value))
