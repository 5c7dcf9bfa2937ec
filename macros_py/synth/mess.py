"""Seeded noise: how other departments write the same person differently.

Every function takes a random generator and rates, returns new Series (inputs are never
changed) and touches only the chosen share of rows, so the truth stays known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.addresses import to_kanji_number
from macros_py.synth.formats import DATE_STYLES, format_dates, to_fullwidth_digits
from macros_py.synth.names import VARIANT_TO_STANDARD

__all__ = [
    "render_names",
    "mess_kana",
    "mess_dates",
    "blank_out",
    "render_addresses",
    "add_duplicates",
    "pick",
    "HYPHENS",
]

# Vendor 外字 tables map variant kanji into the private use area.
_PRIVATE_USE = {
    variant: chr(0xE000 + 0x20 + position) for position, variant in enumerate(VARIANT_TO_STANDARD)
}
_TO_STANDARD = str.maketrans(VARIANT_TO_STANDARD)
_TO_GETA = str.maketrans({variant: "〓" for variant in VARIANT_TO_STANDARD})
_TO_PRIVATE = str.maketrans(_PRIVATE_USE)


def _encodable_in_cp932(character: str) -> bool:
    try:
        character.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


_OUTSIDE_CP932_TO_PRIVATE = str.maketrans(
    {variant: code for variant, code in _PRIVATE_USE.items() if not _encodable_in_cp932(variant)}
)
_VARIANT_CHARACTERS = "".join(VARIANT_TO_STANDARD)

HYPHENS: tuple[str, ...] = ("-", "‐", "−", "ー", "ｰ", "－")

_KANA_VARIANTS = (
    ("ヂ", "ジ"),
    ("ヅ", "ズ"),
    ("オウ", "オー"),
    ("オオ", "オー"),
    ("トウ", "トー"),
    ("ドウ", "ドー"),
    ("ユウ", "ユー"),
    ("ショウ", "ショー"),
    ("コウ", "コー"),
    ("ジ", "ヂ"),
)
_KANA_TYPOS = (
    ("ッ", "ツ"),
    ("ャ", "ヤ"),
    ("ュ", "ユ"),
    ("ョ", "ヨ"),
    ("バ", "ハ"),
    ("ガ", "カ"),
    ("ダ", "タ"),
    ("ザ", "サ"),
    ("ー", ""),
)


def pick(rng: np.random.Generator, count: int, rate: float) -> np.ndarray:
    """Boolean mask choosing about ``rate`` of ``count`` rows."""
    return rng.random(count) < rate


def to_private_use(values: pd.Series) -> pd.Series:
    """Map variant kanji to the private use area, as a vendor 外字 table would."""
    return values.str.translate(_TO_PRIVATE)


def outside_cp932_to_private_use(values: pd.Series) -> pd.Series:
    """Map only the variant kanji CP932 cannot hold (𠮷) to the vendor's private-use code."""
    return values.str.translate(_OUTSIDE_CP932_TO_PRIVATE)


def to_geta(values: pd.Series) -> pd.Series:
    """Replace variant kanji by 〓 (the sign printed for an unknown 外字)."""
    return values.str.translate(_TO_GETA)


def render_names(
    surname_registry: pd.Series,
    given_registry: pd.Series,
    rng: np.random.Generator,
    *,
    standardise_rate: float = 0.7,
    geta_rate: float = 0.05,
    private_use_rate: float = 0.0,
    separator: str = "\u3000",
    other_separator_rate: float = 0.03,
    former_surname: pd.Series | None = None,
    former_surname_rate: float = 0.0,
) -> pd.Series:
    """The full name as a department writes it.

    Args:
        surname_registry: Registry surname (may hold variant kanji such as 髙 or 𠮷).
        given_registry: Registry given name.
        rng: Random generator.
        standardise_rate: Share of rows whose variant kanji are typed as the common form.
        geta_rate: Share of rows where variant kanji became 〓.
        private_use_rate: Share of rows where variant kanji became private-use characters.
        separator: Usual separator between surname and given name.
        other_separator_rate: Share of rows with a different separator (half space, none).
        former_surname: Surname before a recent divorce ('' when unchanged).
        former_surname_rate: Share of rows with a former surname that still use it.

    Returns:
        Full names.
    """
    count = len(surname_registry)
    surname = surname_registry.reset_index(drop=True)
    given = given_registry.reset_index(drop=True)
    if former_surname is not None and former_surname_rate > 0:
        former = former_surname.reset_index(drop=True)
        use_former = (former != "") & pick(rng, count, former_surname_rate)
        surname = surname.where(~use_former, former)
    full = surname + "\t" + given
    has_variant = full.str.contains(f"[{_VARIANT_CHARACTERS}]", regex=True).to_numpy()
    draw = rng.random(count)
    standardise = has_variant & (draw < standardise_rate)
    geta = has_variant & (draw >= standardise_rate) & (draw < standardise_rate + geta_rate)
    private = (
        has_variant
        & (draw >= standardise_rate + geta_rate)
        & (draw < standardise_rate + geta_rate + private_use_rate)
    )
    full = full.copy()
    if standardise.any():
        full[standardise] = full[standardise].str.translate(_TO_STANDARD)
    if geta.any():
        full[geta] = to_geta(full[geta])
    if private.any():
        full[private] = to_private_use(full[private])
    separators = np.where(
        pick(rng, count, other_separator_rate), np.where(rng.random(count) < 0.5, " ", ""), separator
    )
    return (
        full.str.split("\t", n=1, expand=True)[0]
        + pd.Series(separators)
        + full.str.split("\t", n=1, expand=True)[1]
    )


def mess_kana(
    values: pd.Series, rng: np.random.Generator, *, variant_rate: float = 0.03, typo_rate: float = 0.01
) -> pd.Series:
    """Reading variants (ヂ/ジ, ヅ/ズ, オウ/オー/オオ) and typing errors in katakana."""
    result = values.reset_index(drop=True).copy()
    count = len(result)
    variant_rows = np.flatnonzero(pick(rng, count, variant_rate))
    for row in variant_rows:
        text = result.iat[row]
        options = [pair for pair in _KANA_VARIANTS if pair[0] in text]
        if options:
            source, target = options[int(rng.integers(len(options)))]
            result.iat[row] = text.replace(source, target, 1)
    typo_rows = np.flatnonzero(pick(rng, count, typo_rate))
    for row in typo_rows:
        text = result.iat[row]
        options = [pair for pair in _KANA_TYPOS if pair[0] in text]
        if options:
            source, target = options[int(rng.integers(len(options)))]
            result.iat[row] = text.replace(source, target, 1)
        elif len(text) > 3:
            position = int(rng.integers(1, len(text) - 1))
            result.iat[row] = text[:position] + text[position + 1 :]
    return result


def mess_dates(
    values: pd.Series,
    style: str,
    rng: np.random.Generator,
    *,
    other_style_rate: float = 0.02,
    swap_rate: float = 0.004,
    fullwidth_rate: float = 0.01,
    missing_rate: float = 0.0,
) -> pd.Series:
    """Dates in a department's style with a few rows in other notations.

    Args:
        values: True dates.
        style: Main style of the department (see ``formats.DATE_STYLES``).
        rng: Random generator.
        other_style_rate: Share of rows written in another notation.
        swap_rate: Share of rows with day and month swapped (only where that gives an
            earlier valid date).
        fullwidth_rate: Share of rows written with full-width digits.
        missing_rate: Share of rows left empty.
    """
    dates = pd.to_datetime(values).reset_index(drop=True)
    count = len(dates)
    day = dates.dt.day.fillna(0).astype(int).to_numpy()
    month = dates.dt.month.fillna(0).astype(int).to_numpy()
    # Only swaps that move the date earlier: a swap into the future (a birth date after the
    # extract) would be a different, impossible error that the importer rightly refuses.
    swap = pick(rng, count, swap_rate) & (day <= 12) & (day < month) & (day > 0)
    if swap.any():
        swapped = pd.to_datetime(
            {"year": dates.dt.year[swap], "month": day[swap], "day": month[swap]}, errors="coerce"
        )
        dates = dates.copy()
        dates[swap] = swapped
    text = format_dates(dates, style)
    other = pick(rng, count, other_style_rate)
    if other.any():
        other_styles = [candidate for candidate in DATE_STYLES if candidate != style]
        chosen = np.asarray(other_styles, dtype=object)[rng.integers(0, len(other_styles), count)]
        for candidate in other_styles:
            mask = other & (chosen == candidate)
            if mask.any():
                text[mask] = format_dates(dates[mask], candidate).to_numpy()
    wide = pick(rng, count, fullwidth_rate)
    if wide.any():
        text[wide] = to_fullwidth_digits(text[wide])
    if missing_rate:
        text[pick(rng, count, missing_rate)] = ""
    return text


def blank_out(values: pd.Series, rng: np.random.Generator, rate: float) -> pd.Series:
    """Leave about ``rate`` of the values empty (missing fields)."""
    result = values.reset_index(drop=True).astype(object).copy()
    result[pick(rng, len(result), rate)] = ""
    return result


_KANJI_NUMBERS = np.asarray([to_kanji_number(value) for value in range(3001)], dtype=object)


def render_addresses(
    parts: pd.DataFrame,
    rng: np.random.Generator,
    *,
    style: str = "registry",
    include_municipality: bool = True,
    variant_rate: float = 0.05,
    building_rate: float = 0.9,
) -> pd.Series:
    """Addresses in a department's notation with a share of rows in other notations.

    Args:
        parts: Columns ``municipality, ward, area_name, chome, banchi, go, building, room``.
        rng: Random generator.
        style: ``registry`` (3丁目12番5号), ``hyphen`` (3-12-5) or ``kanji`` (三丁目12番地5).
        include_municipality: Whether the municipality name starts the address.
        variant_rate: Share of rows in another notation (other style, other hyphen,
            漢数字, full-width digits).
        building_rate: Share of rows that keep the building name and room number.
    """
    frame = parts.reset_index(drop=True)
    count = len(frame)
    chome = frame["chome"].to_numpy().astype(int)
    banchi = frame["banchi"].to_numpy().astype(int)
    go = frame["go"].to_numpy().astype(int)
    is_aza = chome == 0
    variant = pick(rng, count, variant_rate)
    styles = np.full(count, style, dtype=object)
    styles[variant] = np.asarray(["registry", "hyphen", "kanji"], dtype=object)[
        rng.integers(0, 3, int(variant.sum()))
    ]
    hyphen = np.where(variant, np.asarray(HYPHENS, dtype=object)[rng.integers(0, len(HYPHENS), count)], "-")
    chome_text = pd.Series(chome).astype(str)
    banchi_text = pd.Series(banchi).astype(str)
    go_text = pd.Series(go).astype(str)
    hyphen_series = pd.Series(hyphen)
    registry_number = np.where(
        is_aza,
        banchi_text + "番地" + np.where(go > 0, "の" + go_text, ""),
        chome_text + "丁目" + banchi_text + "番" + go_text + "号",
    )
    hyphen_number = np.where(
        is_aza,
        banchi_text + np.where(go > 0, hyphen_series + go_text, ""),
        chome_text + hyphen_series + banchi_text + hyphen_series + go_text,
    )
    kanji_number = np.where(
        is_aza,
        pd.Series(_KANJI_NUMBERS[np.minimum(banchi, 3000)]) + "番地" + np.where(go > 0, "の" + go_text, ""),
        pd.Series(_KANJI_NUMBERS[np.minimum(chome, 3000)]) + "丁目" + banchi_text + "番地" + go_text,
    )
    number = np.select(
        [styles == "hyphen", styles == "kanji"], [hyphen_number, kanji_number], registry_number
    )
    prefix = (frame["municipality"] + frame["ward"]) if include_municipality else frame["ward"]
    address = prefix + frame["area_name"] + pd.Series(number)
    wide = variant & (rng.random(count) < 0.3)
    if wide.any():
        address[wide] = to_fullwidth_digits(address[wide])
    room = frame["room"]
    keep_building = (room != "") & pick(rng, count, building_rate)
    room_style = np.where(rng.random(count) < 0.5, room + "号室", room + "号")
    building_text = np.where(
        pick(rng, count, 0.2),
        hyphen_series.where(hyphen_series != "", "-") + room,
        " " + frame["building"] + room_style,
    )
    return address + pd.Series(np.where(keep_building, building_text, ""))


def add_duplicates(
    frame: pd.DataFrame,
    rng: np.random.Generator,
    *,
    exact_rate: float = 0.004,
    near_rate: float = 0.004,
    near_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Append exact and near duplicates (same person, one field written differently).

    Duplicates are inserted right after their original so that the file still looks like
    a vendor export. ``_person_id`` is kept, so the truth follows the copy.
    """
    frame = frame.reset_index(drop=True)
    count = len(frame)
    exact = np.flatnonzero(pick(rng, count, exact_rate))
    near = np.flatnonzero(pick(rng, count, near_rate)) if near_columns else np.array([], dtype=int)
    copies = [frame.iloc[exact].assign(_order=exact + 0.5)]
    if len(near):
        near_copy = frame.iloc[near].copy()
        for column in near_columns:
            if column in near_copy:
                text = near_copy[column].astype(str)
                near_copy[column] = np.where(
                    text.str.contains("\u3000"), text.str.replace("\u3000", " ", n=1), text.str.strip() + " "
                )
        copies.append(near_copy.assign(_order=near + 0.6))
    combined = pd.concat([frame.assign(_order=np.arange(count, dtype=float)), *copies], ignore_index=True)
    return combined.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
