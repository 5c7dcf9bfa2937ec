"""Latent hardship of children and of their households, and who is known to services.

The latent types are the truth the product tries to recover. They depend on household
circumstances (poverty, single parent, a parent with mental illness, a relative needing
care) with realistic strength; knowledge by services is a biased subset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.synth.population import FISCAL_YEAR_START, to_datetime64

__all__ = ["HARDSHIP_TYPES", "draw_household_circumstances", "draw_child_hardship", "draw_known_cases"]

HARDSHIP_TYPES: tuple[str, ...] = (
    "abuse",
    "poverty",
    "non_attendance",
    "young_carer",
    "postpartum_depression",
    "developmental",
    "bullying",
    "withdrawal",
)


def _logistic(value: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-value))


def draw_household_circumstances(
    people: pd.DataFrame, households: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Per-unit circumstances (a unit = a family living at one address, 世帯分離 included).

    Returns:
        One row per unit index with ``single_parent, large_family, foreign, young_mother,
        partner_present, poor, public_assistance, parent_mental_illness, care_need_member,
        unit_risk`` (a shared random effect for siblings).
    """
    unit_count = int(people["unit_index"].max()) + 1
    role = people["role"].to_numpy()
    unit = people["unit_index"].to_numpy()
    kid_count = np.bincount(unit[(role == "child") & (people["age"].to_numpy() < 19)], minlength=unit_count)
    base = (
        households[households["household_kind"] != "grandparents_separate"]
        .set_index("unit_index")
        .sort_index()
    )
    kind = base["household_kind"].reindex(np.arange(unit_count)).to_numpy()
    single_parent = np.isin(kind, ["single_mother", "single_father"])
    foreign = base["is_foreign"].reindex(np.arange(unit_count)).to_numpy().astype(bool)
    mother_age = np.full(unit_count, np.nan)
    mothers = role == "mother"
    mother_age[unit[mothers]] = people["age"].to_numpy()[mothers]
    eldest = np.zeros(unit_count)
    kids = role == "child"
    np.maximum.at(eldest, unit[kids], people["age"].to_numpy()[kids])
    young_mother = (mother_age - eldest) < 21
    partner_present = np.zeros(unit_count, dtype=bool)
    partner_present[unit[role == "partner"]] = True
    elderly_in_reach = np.zeros(unit_count, dtype=bool)
    elderly_in_reach[
        unit[np.isin(role, ["grandfather", "grandmother"]) & (people["age"].to_numpy() >= 75)]
    ] = True
    unit_risk = rng.normal(0, 1, unit_count)
    large_family = kid_count >= 3
    poverty_logit = (
        -2.7 + 1.9 * single_parent + 0.5 * large_family + 0.6 * foreign + 0.6 * young_mother + 0.5 * unit_risk
    )
    poor = rng.random(unit_count) < _logistic(poverty_logit)
    old_single = np.isin(kind, ["single_old"])
    public_assistance = (poor & (rng.random(unit_count) < 0.22)) | (
        old_single & (rng.random(unit_count) < 0.05)
    )
    public_assistance |= ~poor & (rng.random(unit_count) < 0.002)
    parent_mental = rng.random(unit_count) < _logistic(
        -3.6 + 0.9 * poor + 0.6 * single_parent + 0.4 * unit_risk
    )
    care_need = elderly_in_reach & (rng.random(unit_count) < 0.45)
    care_need |= (kid_count > 0) & (rng.random(unit_count) < 0.01)
    return pd.DataFrame(
        {
            "unit_index": np.arange(unit_count),
            "kid_count": kid_count,
            "single_parent": single_parent,
            "large_family": large_family,
            "foreign": foreign,
            "young_mother": young_mother,
            "partner_present": partner_present,
            "poor": poor,
            "public_assistance": public_assistance,
            "parent_mental_illness": parent_mental,
            "care_need_member": care_need,
            "unit_risk": unit_risk,
        }
    )


def draw_child_hardship(
    people: pd.DataFrame, circumstances: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Latent hardship types for every person under 20.

    Returns:
        One row per child: ``person_index`` plus one boolean column per type in
        :data:`HARDSHIP_TYPES` and ``in_hardship``.
    """
    children = people.loc[
        people["is_child"], ["person_index", "unit_index", "age", "sex", "grade", "role"]
    ].reset_index(drop=True)
    count = len(children)
    unit = children["unit_index"].to_numpy()
    circumstance = circumstances.set_index("unit_index").loc[unit]
    poor = circumstance["poor"].to_numpy()
    single_parent = circumstance["single_parent"].to_numpy()
    partner = circumstance["partner_present"].to_numpy()
    mental = circumstance["parent_mental_illness"].to_numpy()
    young_mother = circumstance["young_mother"].to_numpy()
    care_need = circumstance["care_need_member"].to_numpy()
    large = circumstance["large_family"].to_numpy()
    risk = circumstance["unit_risk"].to_numpy()
    age = children["age"].to_numpy()
    grade = children["grade"].to_numpy()
    male = children["sex"].to_numpy() == 0
    in_school_age = (grade >= 1) & (grade <= 12)

    developmental = (age >= 2) & (rng.random(count) < np.where(male, 0.065, 0.028))
    bullying = (grade >= 2) & (grade <= 10) & (rng.random(count) < 0.022 + 0.02 * developmental)
    abuse_logit = (
        -4.3
        + 1.2 * poor
        + 1.3 * partner
        + 0.9 * mental
        + 0.6 * young_mother
        + 0.4 * developmental
        + 0.9 * risk
    )
    abuse = rng.random(count) < _logistic(abuse_logit)
    attendance_logit = (
        -4.9
        + 0.28 * np.clip(grade - 1, 0, 11)
        + 1.3 * bullying
        + 0.9 * developmental
        + 0.6 * poor
        + 0.6 * abuse
    )
    non_attendance = in_school_age & (rng.random(count) < _logistic(attendance_logit))
    carer_logit = -4.4 + 2.2 * care_need + 1.4 * mental + 0.7 * single_parent + 0.5 * large + 0.3 * poor
    young_carer = (age >= 8) & (rng.random(count) < _logistic(carer_logit))
    has_mother = people["mother_index"].to_numpy()[children["person_index"].to_numpy()] >= 0
    postpartum = has_mother & (age < 1.5) & (rng.random(count) < _logistic(-2.4 + 0.5 * poor + 0.6 * mental))
    withdrawal = (age >= 13) & (
        rng.random(count) < _logistic(-4.8 + 2.2 * non_attendance + 0.8 * developmental)
    )
    latent = pd.DataFrame(
        {
            "person_index": children["person_index"].to_numpy(),
            "abuse": abuse,
            "poverty": poor,
            "non_attendance": non_attendance,
            "young_carer": young_carer,
            "postpartum_depression": postpartum,
            "developmental": developmental,
            "bullying": bullying,
            "withdrawal": withdrawal,
        }
    )
    latent["in_hardship"] = latent[list(HARDSHIP_TYPES)].any(axis=1)
    return latent


def draw_known_cases(
    people: pd.DataFrame,
    latent: pd.DataFrame,
    circumstances: pd.DataFrame,
    checkups_missed: pd.Series,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Which children services already know, are registered with 要対協, or opted out.

    Visible families (public assistance, missed checkups, abuse) are known far more often;
    many children in hardship stay unknown.

    Args:
        people: People frame.
        latent: Output of :func:`draw_child_hardship`.
        circumstances: Output of :func:`draw_household_circumstances`.
        checkups_missed: Number of missed infant checkups per person index (0 if none).
        rng: Random generator.

    Returns:
        ``latent`` with ``known_to_services, on_yotaikyo, ssw_support, consultation_case,
        temporary_custody, opted_out, case_start`` added.
    """
    latent = latent.copy()
    count = len(latent)
    person_index = latent["person_index"].to_numpy()
    unit = people["unit_index"].to_numpy()[person_index]
    circumstance = circumstances.set_index("unit_index").loc[unit]
    missed = checkups_missed.reindex(person_index).fillna(0).to_numpy()
    grade = people["grade"].to_numpy()[person_index]
    in_school = people["school_index"].to_numpy()[person_index] >= 0
    visible = (
        -1.9
        + 1.6 * circumstance["public_assistance"].to_numpy()
        + 0.7 * np.minimum(missed, 2)
        + 1.4 * latent["abuse"].to_numpy()
        + 0.7 * latent["non_attendance"].to_numpy()
        + 0.3 * latent["developmental"].to_numpy()
        - 0.5 * circumstance["foreign"].to_numpy()
        - 0.6 * latent["young_carer"].to_numpy()
    )
    in_hardship = latent["in_hardship"].to_numpy()
    known = np.where(
        in_hardship, rng.random(count) < 1.0 / (1.0 + np.exp(-visible)), rng.random(count) < 0.003
    )
    status = people["status"].to_numpy()[person_index]
    known &= status == "resident"
    abuse = latent["abuse"].to_numpy()
    young = people["age"].to_numpy()[person_index] < 6
    on_yotaikyo = (
        known
        & (abuse | (latent["poverty"].to_numpy() & young) | (rng.random(count) < 0.15))
        & (rng.random(count) < 0.7)
    )
    school_problem = (
        latent[["non_attendance", "bullying", "young_carer", "abuse", "withdrawal"]].any(axis=1).to_numpy()
    )
    ssw = (
        in_school
        & (grade >= 1)
        & (grade <= 9)
        & (
            (known & school_problem & (rng.random(count) < 0.65))
            | (in_hardship & ~known & (rng.random(count) < 0.03))
        )
    )
    consultation = known & ~ssw | (known & (rng.random(count) < 0.3))
    consultation |= ~in_hardship & (rng.random(count) < 0.002) & (status == "resident")
    temporary_custody = consultation & abuse & (rng.random(count) < 0.12)
    start = to_datetime64(FISCAL_YEAR_START)
    case_start = start - rng.integers(-200, 900, count).astype("timedelta64[D]")
    birth = people["birth_date"].to_numpy().astype("datetime64[D]")[person_index]
    case_start = np.maximum(case_start, birth + np.timedelta64(30, "D"))
    unit_opt_out = rng.random(int(unit.max()) + 1) < 0.005
    latent["known_to_services"] = known | ssw
    latent["on_yotaikyo"] = on_yotaikyo
    latent["ssw_support"] = ssw
    latent["consultation_case"] = consultation
    latent["temporary_custody"] = temporary_custody
    latent["opted_out"] = unit_opt_out[unit] & (status == "resident")
    latent["case_start"] = case_start
    return latent
