"""Shared views of people for exporters (names, kana, addresses, codes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.exports.spec import CodeRow
from macros_py.synth.world import World

__all__ = ["person_view", "sex_codes", "SEX_CODE_TABLES", "guardian_index", "school_names"]

SEX_CODE_TABLES: dict[str, tuple[CodeRow, ...]] = {
    "性別_数字": (CodeRow("性別_数字", "1", "男"), CodeRow("性別_数字", "2", "女")),
    "性別_英字": (CodeRow("性別_英字", "M", "男"), CodeRow("性別_英字", "F", "女")),
    "性別_漢字": (CodeRow("性別_漢字", "男", "男"), CodeRow("性別_漢字", "女", "女")),
}


def sex_codes(sex: pd.Series | np.ndarray, style: str) -> np.ndarray:
    """Sex (0 male, 1 female) in a vendor's code: ``数字`` 1/2, ``英字`` M/F, ``漢字`` 男/女."""
    values = np.asarray(sex)
    labels = {"数字": ("1", "2"), "英字": ("M", "F"), "漢字": ("男", "女")}[style]
    return np.where(values == 0, labels[0], labels[1]).astype(object)


def person_view(world: World, person_index: np.ndarray) -> pd.DataFrame:
    """Attributes of the given people, one row each, in the given order.

    Columns: ``person_index, person_id, resident_id, household_id, surname,
    surname_registry, given_name, given_name_registry, surname_kana, given_name_kana,
    former_surname, former_surname_kana, kana, birth_date, sex, relationship, age, grade,
    school_index, school_name, class_name, attendance_number, student_number, is_foreign,
    municipality, ward, area_name, chome, banchi, go, building, room, postal_code``.
    """
    people = world.people
    position = np.asarray(person_index, dtype=int)
    view = people.iloc[position][
        [
            "person_index",
            "person_id",
            "resident_id",
            "household_id",
            "household_index",
            "unit_index",
            "surname",
            "surname_registry",
            "given_name",
            "given_name_registry",
            "surname_kana",
            "given_name_kana",
            "former_surname",
            "former_surname_kana",
            "birth_date",
            "sex",
            "relationship",
            "age",
            "grade",
            "school_index",
            "class_name",
            "attendance_number",
            "student_number",
            "is_foreign",
            "status",
        ]
    ].reset_index(drop=True)
    view["kana"] = view["surname_kana"] + "\u3000" + view["given_name_kana"]
    school_index = view["school_index"].to_numpy()
    names = world.schools["school_name"].to_numpy()
    view["school_name"] = np.where(school_index >= 0, names[np.maximum(school_index, 0)], "")
    households = world.households
    household_position = view["household_index"].to_numpy()
    area_index = households["area_index"].to_numpy()[household_position]
    view["municipality"] = world.profile.municipality
    view["ward"] = world.areas["ward"].to_numpy()[area_index]
    view["area_name"] = world.areas["area_name"].to_numpy()[area_index]
    view["postal_code"] = world.areas["postal_code"].to_numpy()[area_index]
    for column in ("chome", "banchi", "go", "building", "room"):
        view[column] = households[column].to_numpy()[household_position]
    view["registry_address"] = households["address"].to_numpy()[household_position]
    view["registry_building"] = households["address_building"].to_numpy()[household_position]
    return view


def guardian_index(world: World, person_index: np.ndarray) -> np.ndarray:
    """The main guardian of each child: the mother when present, else the father, else -1."""
    people = world.people
    mother = people["mother_index"].to_numpy()[person_index]
    father = people["father_index"].to_numpy()[person_index]
    return np.where(mother >= 0, mother, father)


def school_names(world: World) -> dict[int, str]:
    """School index → school name."""
    return dict(
        zip(world.schools["school_index"].tolist(), world.schools["school_name"].tolist(), strict=True)
    )
