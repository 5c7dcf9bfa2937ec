"""Everything drawn before exporting: population, schools, hardship and infant checkups."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from macros_py.synth.hardship import draw_child_hardship, draw_household_circumstances, draw_known_cases
from macros_py.synth.population import Population, generate_population, to_datetime64
from macros_py.synth.profiles import REFERENCE_DATE, MunicipalityProfile
from macros_py.synth.schools import build_schools, enrol_pupils

__all__ = ["World", "build_world", "stream_rng"]

_CHECKUPS = (
    # kind code, label, age in days at the checkup, base miss rate
    ("1", "3-4か月児健診", 110, 0.03),
    ("2", "1歳6か月児健診", 548, 0.05),
    ("3", "3歳児健診", 1110, 0.06),
)
_CHECKUP_WINDOW_START = np.datetime64("2022-04-01", "D")


def stream_rng(seed: int, name: str) -> np.random.Generator:
    """An independent generator per named stream (stable across Python runs; no hash())."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


@dataclass
class World:
    """The drawn municipality with everything exporters need.

    Attributes:
        profile: Municipality profile.
        seed: Seed of the run.
        areas: Areas with districts.
        households: Registry households.
        people: People with school enrolment columns.
        schools: Municipal schools.
        circumstances: Per-unit circumstances (poverty, public assistance, ...).
        children: Latent hardship and service knowledge per child (person_index keyed).
        checkups: One row per infant checkup due (attended or not).
    """

    profile: MunicipalityProfile
    seed: int
    areas: pd.DataFrame
    households: pd.DataFrame
    people: pd.DataFrame
    schools: pd.DataFrame
    circumstances: pd.DataFrame
    children: pd.DataFrame
    checkups: pd.DataFrame

    def rng(self, name: str) -> np.random.Generator:
        """Generator for one export or step."""
        return stream_rng(self.seed, name)

    def child_flag(self, column: str, person_index: np.ndarray) -> np.ndarray:
        """A children-frame column for given person indexes (False/0 for adults)."""
        series = self.children.set_index("person_index")[column]
        return series.reindex(person_index).fillna(False).to_numpy().astype(bool)

    def unit_flag(self, column: str, person_index: np.ndarray) -> np.ndarray:
        """A circumstances column for the units of given person indexes."""
        unit = self.people["unit_index"].to_numpy()[person_index]
        return self.circumstances[column].to_numpy()[unit]


def _draw_checkups(
    people: pd.DataFrame, children: pd.DataFrame, circumstances: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    reference = to_datetime64(REFERENCE_DATE)
    birth = people["birth_date"].to_numpy().astype("datetime64[D]")
    is_child = people["is_child"].to_numpy()
    latent = children.set_index("person_index")
    parts = []
    for kind, label, age_days, miss_rate in _CHECKUPS:
        due = birth + np.timedelta64(age_days, "D")
        eligible = is_child & (due >= _CHECKUP_WINDOW_START) & (due <= reference - np.timedelta64(20, "D"))
        eligible &= people["status"].to_numpy() != "unregistered"
        person_index = np.flatnonzero(eligible)
        count = len(person_index)
        abuse = latent["abuse"].reindex(person_index).to_numpy().astype(bool)
        postpartum = latent["postpartum_depression"].reindex(person_index).to_numpy().astype(bool)
        unit = people["unit_index"].to_numpy()[person_index]
        poor = circumstances["poor"].to_numpy()[unit]
        foreign = circumstances["foreign"].to_numpy()[unit]
        miss_probability = np.clip(
            miss_rate * (1 + 4.0 * abuse + 1.2 * poor + 1.5 * foreign + 1.0 * postpartum), 0, 0.6
        )
        missed = rng.random(count) < miss_probability
        low_weight = rng.random(count) < np.where(abuse | poor, 0.09, 0.03)
        percentile = np.where(low_weight, rng.uniform(0.5, 3.0, count), rng.uniform(3.0, 97.0, count)).round(
            1
        )
        hit_base = {"1": 0.01, "2": 0.05, "3": 0.11}[kind]
        answers = {
            "hit": rng.random(count) < np.where(abuse, 0.45, hit_base),
            "left_alone": rng.random(count) < np.where(abuse, 0.18, 0.012),
            "not_fed": rng.random(count) < np.where(abuse, 0.08, 0.004),
            "covered_mouth": (kind != "3") & (rng.random(count) < np.where(abuse, 0.07, 0.003)),
            "shook": (kind != "3") & (rng.random(count) < np.where(abuse, 0.07, 0.003)),
        }
        visit = due[person_index] + rng.integers(0, 45, count).astype("timedelta64[D]")
        visit = np.minimum(visit, reference - np.timedelta64(1, "D"))
        weight_kg = {"1": 6.3, "2": 10.2, "3": 13.9}[kind] * (0.8 + 0.004 * percentile)
        frame = pd.DataFrame(
            {
                "person_index": person_index,
                "kind": kind,
                "kind_label": label,
                "attended": ~missed,
                "visit_date": np.where(missed, np.datetime64("NaT"), visit).astype("datetime64[D]"),
                "weight_kg": weight_kg.round(1),
                "weight_percentile": percentile,
                **answers,
            }
        )
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def build_world(profile: MunicipalityProfile, seed: int) -> World:
    """Draw the whole municipality (no files written).

    Args:
        profile: Municipality profile.
        seed: Seed; the same seed gives the same world.
    """
    population: Population = generate_population(profile, stream_rng(seed, "population"))
    schools = build_schools(profile, population.areas)
    people = enrol_pupils(
        population.people, population.households, schools, profile, stream_rng(seed, "schools")
    )
    circumstances = draw_household_circumstances(
        people, population.households, stream_rng(seed, "circumstances")
    )
    children = draw_child_hardship(people, circumstances, stream_rng(seed, "hardship"))
    checkups = _draw_checkups(people, children, circumstances, stream_rng(seed, "checkups"))
    missed = checkups.loc[~checkups["attended"]].groupby("person_index").size()
    children = draw_known_cases(people, children, circumstances, missed, stream_rng(seed, "known"))
    return World(
        profile=profile,
        seed=seed,
        areas=population.areas,
        households=population.households,
        people=people,
        schools=schools,
        circumstances=circumstances,
        children=children,
        checkups=checkups,
    )
