"""Writing the truth: persons, households, children's latent hardship, records, meta."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from macros_py.synth.formats import format_dates
from macros_py.synth.hardship import HARDSHIP_TYPES
from macros_py.synth.profiles import REFERENCE_DATE
from macros_py.synth.world import World

__all__ = ["write_truth"]


def _persons(world: World) -> pd.DataFrame:
    people = world.people
    households = world.households
    household_position = people["household_index"].to_numpy()
    schools = world.schools.set_index("school_index")["school_name"]
    school_index = people["school_index"].to_numpy()
    return pd.DataFrame(
        {
            "person_id": people["person_id"],
            "resident_id": people["resident_id"],
            "household_id": people["household_id"],
            "name": people["surname_registry"] + "\u3000" + people["given_name_registry"],
            "name_kana": people["surname_kana"] + "\u3000" + people["given_name_kana"],
            "birth_date": format_dates(people["birth_date"], "iso").to_numpy(),
            "sex": np.where(people["sex"].to_numpy() == 0, "男", "女"),
            "address": households["address"].to_numpy()[household_position],
            "address_building": households["address_building"].to_numpy()[household_position],
            "relationship": people["relationship"],
            "is_child": people["is_child"].astype(int),
            "role": people["role"],
            "status": people["status"],
            "event": people["event"],
            "event_date": format_dates(pd.Series(people["event_date"].to_numpy()), "iso").to_numpy(),
            "name_standard": people["surname"] + "\u3000" + people["given_name"],
            "former_surname": people["former_surname"],
            "is_foreign": people["is_foreign"].astype(int),
            "nationality": people["nationality"],
            "school_grade": people["grade"],
            "school": np.where(school_index >= 0, schools.reindex(school_index).fillna("").to_numpy(), ""),
            "class_name": people["class_name"],
            "student_number": people["student_number"],
            "private_school": people["private_school"].astype(int),
            "mother_person_id": np.where(
                people["mother_index"] >= 0,
                people["person_id"].to_numpy()[np.maximum(people["mother_index"], 0)],
                "",
            ),
            "father_person_id": np.where(
                people["father_index"] >= 0,
                people["person_id"].to_numpy()[np.maximum(people["father_index"], 0)],
                "",
            ),
            "unit_id": "U" + people["unit_index"].astype(str).str.zfill(7),
        }
    )


def _households(world: World) -> pd.DataFrame:
    households = world.households
    circumstances = world.circumstances.set_index("unit_index")
    unit = households["unit_index"].to_numpy()
    people = world.people
    size = np.bincount(people["household_index"].to_numpy(), minlength=len(households))
    linked = households["linked_household_index"].to_numpy()
    frame = pd.DataFrame(
        {
            "household_id": households["household_id"],
            "unit_id": "U" + households["unit_index"].astype(str).str.zfill(7),
            "kind": households["household_kind"],
            "status": households["status"],
            "size": size,
            "address": households["address"],
            "address_building": households["address_building"],
            "linked_household_id": np.where(
                linked >= 0, households["household_id"].to_numpy()[np.maximum(linked, 0)], ""
            ),
            "is_foreign": households["is_foreign"].astype(int),
        }
    )
    for column in (
        "single_parent",
        "large_family",
        "poor",
        "public_assistance",
        "parent_mental_illness",
        "care_need_member",
        "partner_present",
    ):
        frame[column] = circumstances[column].reindex(unit).to_numpy().astype(int)
    return frame.sort_values("household_id", kind="stable").reset_index(drop=True)


def _children(world: World) -> pd.DataFrame:
    children = world.children
    frame = pd.DataFrame(
        {"person_id": world.people["person_id"].to_numpy()[children["person_index"].to_numpy()]}
    )
    for column in (
        *HARDSHIP_TYPES,
        "in_hardship",
        "known_to_services",
        "on_yotaikyo",
        "opted_out",
        "ssw_support",
        "consultation_case",
        "temporary_custody",
    ):
        frame[column] = children[column].astype(int).to_numpy()
    return frame


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def write_truth(world: World, records: pd.DataFrame, out_dir: Path, files: list[str]) -> dict:
    """Write ``out_dir/truth/*`` and return the counts written to ``meta.json``.

    Args:
        world: The drawn municipality.
        records: Truth rows of every export data row.
        out_dir: Output folder.
        files: Export files written (relative to ``exports/``).
    """
    truth_dir = out_dir / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    persons = _persons(world)
    children = _children(world)
    _write(persons, truth_dir / "persons.csv")
    _write(_households(world), truth_dir / "households.csv")
    _write(children, truth_dir / "children.csv")
    _write(records, truth_dir / "records.csv")
    resident = persons["status"] == "resident"
    resident_children = persons.loc[resident & (persons["is_child"] == 1), "person_id"]
    child_rows = children[children["person_id"].isin(resident_children)]
    counts = {
        "residents": int(resident.sum()),
        "residents_aged_0_19": int(len(resident_children)),
        "persons": int(len(persons)),
        "households": int((world.households["status"] == "resident").sum()),
        "moved_out_persons": int((persons["status"] == "moved_out").sum()),
        "unregistered_partners": int((persons["status"] == "unregistered").sum()),
        "children_in_hardship": int(child_rows["in_hardship"].sum()),
        "children_known_to_services": int(child_rows["known_to_services"].sum()),
        "children_in_hardship_unknown": int(
            ((child_rows["in_hardship"] == 1) & (child_rows["known_to_services"] == 0)).sum()
        ),
        "children_on_yotaikyo": int(child_rows["on_yotaikyo"].sum()),
        "export_files": len(files),
        "export_rows": int(len(records)),
        "schools": int(len(world.schools)),
    }
    meta = {
        "profile": world.profile.name,
        "seed": world.seed,
        "reference_date": REFERENCE_DATE.isoformat(),
        "municipality": world.profile.municipality,
        "hardship_types": list(HARDSHIP_TYPES),
        "counts": counts,
        "files": sorted(files),
    }
    (truth_dir / "meta.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return meta
