"""Municipal schools, school districts and enrolment by the April 2 cut-off."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.profiles import FISCAL_YEAR, MunicipalityProfile

__all__ = ["build_schools", "school_grade", "enrol_pupils", "CLASS_SIZE"]

CLASS_SIZE = 35
_ORDINALS = "一二三四五六七八九"


def school_grade(birth_dates: pd.Series, fiscal_year: int = FISCAL_YEAR) -> np.ndarray:
    """School grade (1–6 elementary, 7–9 junior high, 10–12 high school) in a fiscal year.

    Children born from April 2 of year Y to April 1 of year Y+1 are in the same grade;
    they enter elementary school in April of Y+7.

    Args:
        birth_dates: Birth dates (datetime64).
        fiscal_year: The school year (April start).

    Returns:
        Integer grade; 0 or negative before school, above 12 after high school.

    >>> import pandas as pd
    >>> school_grade(pd.Series(pd.to_datetime(["2018-04-02", "2019-04-01", "2019-04-02"])), 2025).tolist()
    [1, 1, 0]
    """
    year = birth_dates.dt.year.to_numpy()
    month_day = birth_dates.dt.month.to_numpy() * 100 + birth_dates.dt.day.to_numpy()
    entry_year = year + 6 + (month_day >= 402).astype(int)
    return fiscal_year - entry_year + 1


def build_schools(profile: MunicipalityProfile, areas: pd.DataFrame) -> pd.DataFrame:
    """One row per municipal school: ``school_index, kind, district, school_code, school_name``."""
    rows = []
    for kind, count, district_column, suffix, prefix in (
        ("elementary", profile.elementary_schools, "elementary_district", "小学校", "E"),
        ("junior_high", profile.junior_high_schools, "junior_high_district", "中学校", "J"),
    ):
        for district in range(count):
            first_area = areas.loc[areas[district_column] == district, "area_name"]
            base = str(first_area.iloc[0]) if len(first_area) else f"第{district + 1}"
            base = base.removeprefix("大字")
            name = f"{profile.municipality}立{base}{suffix}"
            if count <= len(_ORDINALS) and profile.uses_aza:
                name = f"{profile.municipality}立第{_ORDINALS[district]}{suffix}"
            rows.append((kind, district, f"{prefix}{district + 1:03d}", name))
    schools = pd.DataFrame(rows, columns=["kind", "district", "school_code", "school_name"])
    duplicated = schools["school_name"].duplicated(keep=False)
    schools.loc[duplicated, "school_name"] = (
        schools.loc[duplicated, "school_name"] + "(" + schools.loc[duplicated, "school_code"] + ")"
    )
    schools.insert(0, "school_index", np.arange(len(schools)))
    return schools


def enrol_pupils(
    people: pd.DataFrame,
    households: pd.DataFrame,
    schools: pd.DataFrame,
    profile: MunicipalityProfile,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Add grade, school, class, attendance number and student number to ``people``.

    Resident children in grades 1–9 attend the municipal school of their address's
    district unless they go to a private or national school (``school_index`` -1).

    Returns:
        A copy of ``people`` with ``grade, school_index, class_name, attendance_number,
        student_number, private_school``.
    """
    people = people.copy()
    grade = school_grade(people["birth_date"])
    people["grade"] = np.where((grade >= 1) & (grade <= 12), grade, 0)
    in_compulsory = (grade >= 1) & (grade <= 9) & (people["status"].to_numpy() == "resident")
    household_position = people["household_index"].to_numpy()
    elementary_district = households["elementary_district"].to_numpy()[household_position]
    junior_district = households["junior_high_district"].to_numpy()[household_position]
    private_share = np.where(grade <= 6, profile.private_elementary_share, profile.private_junior_high_share)
    private = in_compulsory & (rng.random(len(people)) < private_share)
    elementary_index = schools.loc[schools["kind"] == "elementary", "school_index"].to_numpy()
    junior_index = schools.loc[schools["kind"] == "junior_high", "school_index"].to_numpy()
    school_index = np.where(
        grade <= 6,
        elementary_index[np.minimum(elementary_district, len(elementary_index) - 1)],
        junior_index[np.minimum(junior_district, len(junior_index) - 1)],
    )
    people["school_index"] = np.where(in_compulsory & ~private, school_index, -1)
    people["private_school"] = private

    pupils = people.loc[
        people["school_index"] >= 0, ["school_index", "grade", "surname_kana", "given_name_kana"]
    ].copy()
    pupils["_random"] = rng.random(len(pupils))
    group_size = pupils.groupby(["school_index", "grade"])["grade"].transform("size").to_numpy()
    class_count = np.ceil(group_size / CLASS_SIZE).astype(int)
    pupils = pupils.sort_values(["school_index", "grade", "_random"], kind="stable")
    rank = pupils.groupby(["school_index", "grade"]).cumcount().to_numpy()
    class_count_sorted = (
        pd.Series(class_count, index=people.index[people["school_index"] >= 0]).loc[pupils.index].to_numpy()
    )
    pupils["class_number"] = rank % class_count_sorted + 1
    pupils = pupils.sort_values(
        ["school_index", "grade", "class_number", "surname_kana", "given_name_kana"], kind="stable"
    )
    pupils["attendance_number"] = (
        pupils.groupby(["school_index", "grade", "class_number"]).cumcount().to_numpy() + 1
    )
    pupils["sequence"] = pupils.groupby(["school_index", "grade"]).cumcount().to_numpy() + 1
    entry_year = FISCAL_YEAR - pupils["grade"].to_numpy() + np.where(pupils["grade"].to_numpy() > 6, 7, 1)
    pupils["student_number"] = (
        pd.Series(entry_year, index=pupils.index).astype(str)
        + pd.Series(pupils["school_index"].to_numpy() + 1, index=pupils.index).astype(str).str.zfill(3)
        + pupils["sequence"].astype(str).str.zfill(4)
    )
    people["class_name"] = ""
    people["attendance_number"] = 0
    people["student_number"] = ""
    people.loc[pupils.index, "class_name"] = pupils["class_number"].astype(str)
    people.loc[pupils.index, "attendance_number"] = pupils["attendance_number"]
    people.loc[pupils.index, "student_number"] = pupils["student_number"]
    return people
