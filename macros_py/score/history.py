"""Score runs in the store: writing a run, the 履歴 tab, and replaying a stored run.

A run is stored with everything needed to recompute its list without the workbook or
the imported records: the children scored (opted-out families never), their item hits
and values, the support status, the parsed rules and hardship types, the settings and
the fitted model as JSON, and a fingerprint of all of it. :func:`replay_run` rebuilds
the list from those rows and must give exactly the stored 候補リスト.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select

from macros_py.sheets import CANDIDATES, SCORE_HISTORY
from macros_py.store import Store
from macros_py.store.bulk import bulk_insert
from macros_py.store.tables_score import (
    score_children,
    score_items,
    score_results,
    score_runs,
    score_type_scores,
)

__all__ = [
    "StoredRun",
    "decode_config",
    "encode_config",
    "history_rows",
    "inputs_fingerprint",
    "latest_run_id",
    "load_run",
    "previous_run_id",
    "purge_opted_out",
    "replay_run",
    "run_scores",
    "stored_candidates",
    "write_run",
]

logger = logging.getLogger(__name__)

CHANGE_NEW = "新規"
CHANGE_RISE = "急上昇"
CHANGE_GONE = "候補外"


# --- JSON of the parsed configuration (frozen dataclasses, conditions by their text) ---


def _class_registry() -> dict[str, type]:
    from macros_py.indicators.rules import ItemRule
    from macros_py.score.types import AgeBand, HardshipType

    return {cls.__name__: cls for cls in (ItemRule, HardshipType, AgeBand)}


def _encode(value: Any) -> Any:
    from macros_py.indicators.conditions import Condition

    if isinstance(value, Condition):
        return {"__condition__": value.text}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {field.name: _encode(getattr(value, field.name)) for field in dataclasses.fields(value)}
        return {"__class__": type(value).__name__, **fields}
    if isinstance(value, Mapping):
        return {"__mapping__": {str(key): _encode(item) for key, item in value.items()}}
    if isinstance(value, tuple | list):
        return {"__tuple__": [_encode(item) for item in value]}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(value: Any, registry: Mapping[str, type]) -> Any:
    from macros_py.indicators.conditions import parse_condition

    if not isinstance(value, dict):
        return value
    if "__condition__" in value:
        return parse_condition(value["__condition__"])
    if "__mapping__" in value:
        return MappingProxyType({key: _decode(item, registry) for key, item in value["__mapping__"].items()})
    if "__tuple__" in value:
        return tuple(_decode(item, registry) for item in value["__tuple__"])
    cls = registry[value["__class__"]]
    return cls(**{key: _decode(item, registry) for key, item in value.items() if key != "__class__"})


def encode_config(objects: Sequence[Any]) -> str:
    """JSON of parsed rules or hardship types (:func:`decode_config` gives them back equal)."""
    return json.dumps(_encode(tuple(objects)), ensure_ascii=False, sort_keys=True)


def decode_config(text: str) -> tuple:
    """The rules or hardship types written by :func:`encode_config`."""
    return _decode(json.loads(text), _class_registry())


# --- fingerprint and writing ---


def inputs_fingerprint(
    *,
    children: pd.DataFrame,
    hits: pd.DataFrame,
    values: pd.DataFrame,
    support: pd.Series,
    texts: Sequence[str],
) -> str:
    """SHA-256 of the items matrix (hits, values), the children, the support status and the config texts."""
    digest = hashlib.sha256()
    for frame in (children, hits, values, support.to_frame()):
        digest.update("\x1f".join(map(str, frame.columns)).encode("utf-8"))
        digest.update(pd.util.hash_pandas_object(frame.astype(object), index=True).to_numpy().tobytes())
    for text in texts:
        digest.update(b"\x1e" + text.encode("utf-8"))
    return digest.hexdigest()


CHILD_COLUMNS = ("household_id", "name", "age", "school", "grade")


@dataclasses.dataclass(frozen=True)
class StoredRun:
    """What a run stores (and what :func:`load_run` reads back)."""

    reference_date: str
    children: pd.DataFrame  # index resident_id; CHILD_COLUMNS
    hits: pd.DataFrame
    values: pd.DataFrame
    item_status: pd.DataFrame
    support: pd.Series
    rules_json: str
    types_json: str
    model_json: str | None
    settings: dict  # score settings as plain values
    run_id: int | None = None
    created_at: datetime | None = None


def _text_or_none(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _texts_or_none(values: pd.Series) -> list[str | None]:
    """:func:`_text_or_none` per value; the missing ones found column-wise (a per-value
    check took 1 s over a city's children)."""
    array = values.to_numpy(dtype=object)
    missing = pd.isna(array)
    texts = np.full(len(array), None, dtype=object)
    texts[~missing] = [_text_or_none(value) for value in array[~missing]]
    return texts.tolist()


def _children_rows(run_id: int, run: StoredRun) -> pd.DataFrame:
    children = run.children
    ages = pd.to_numeric(children["age"], errors="coerce")
    return pd.DataFrame(
        {
            "run_id": run_id,
            "resident_id": children.index.astype(str),
            "household_id": _texts_or_none(children["household_id"]),
            "name": _texts_or_none(children["name"]),
            "age": [None if pd.isna(value) else int(value) for value in ages],
            "school": _texts_or_none(children["school"]),
            "grade": _texts_or_none(children["grade"]),
            "support_status": run.support.reindex(children.index).fillna("").astype(str).to_numpy(),
        },
        dtype=object,
    )


def _item_rows(run_id: int, hits: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """One row per (child, item) with a hit or a recorded value (long form, column-wise)."""
    items = list(dict.fromkeys([*hits.columns, *values.columns]))
    hit = hits.reindex(columns=items).fillna(False).to_numpy(dtype=bool)
    value = values.reindex(index=hits.index, columns=items).to_numpy(dtype=np.float64, na_value=np.nan)
    keep = hit | np.isfinite(value)
    rows, columns = np.nonzero(keep)
    kept_values = value[rows, columns]
    return pd.DataFrame(
        {
            "run_id": run_id,
            "resident_id": hits.index.astype(str).to_numpy()[rows],
            "item_id": np.asarray(items, dtype=object)[columns],
            "hit": hit[rows, columns].tolist(),
            "value": np.where(np.isfinite(kept_values), kept_values, None),
        },
        dtype=object,
    )


def _result_rows(run_id: int, ranking: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    reasons = {
        row["宛名番号"]: json.dumps(row, ensure_ascii=False, default=str)
        for row in candidates.astype(object).where(candidates.notna(), None).to_dict("records")
    }
    ids = ranking.index.astype(str)
    return pd.DataFrame(
        {
            "run_id": run_id,
            "resident_id": ids,
            "rank": [None if pd.isna(value) else int(value) for value in ranking["rank"]],
            "listed": ranking["listed"].to_numpy(bool).tolist(),
            "total": ranking["total"].to_numpy(float),
            "priority": ranking["priority"].to_numpy(float),
            "grade": ranking["grade"].to_numpy(object),
            "probability": [None if pd.isna(value) else float(value) for value in ranking["probability"]],
            "types": ranking["types"].to_numpy(object),
            "support_status": ranking["support_status"].to_numpy(object),
            "reasons_json": [reasons.get(resident) for resident in ids],
        },
        dtype=object,
    )


def _type_score_rows(
    run_id: int, scores: pd.DataFrame, listed: pd.DataFrame, grades: pd.DataFrame
) -> pd.DataFrame:
    frames = []
    for type_name in scores.columns:
        score = scores[type_name].to_numpy(float)
        chosen = listed[type_name].to_numpy(bool) if type_name in listed else np.zeros(len(score), bool)
        keep = (score != 0) | chosen
        grade = grades[type_name].to_numpy(object) if type_name in grades else np.full(len(score), "", object)
        frames.append(
            pd.DataFrame(
                {
                    "run_id": run_id,
                    "resident_id": scores.index.astype(str).to_numpy()[keep],
                    "type_name": type_name,
                    "score": score[keep],
                    "listed": chosen[keep].tolist(),
                    "grade": grade[keep],
                },
                dtype=object,
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _status_json(item_status: pd.DataFrame) -> str:
    frame = item_status.copy()
    if "extract_date" in frame.columns:
        dates = pd.to_datetime(frame["extract_date"])
        frame["extract_date"] = [None if pd.isna(value) else f"{value:%Y-%m-%d}" for value in dates]
    return frame.to_json(orient="records", force_ascii=False)


def write_run(
    store: Store,
    run: StoredRun,
    *,
    user_name: str,
    fingerprint: str,
    listing,
    summary: dict,
    opted_out_ids: Sequence[str] = (),
) -> int:
    """Store one run in a single transaction; returns its run_id.

    Args:
        run: The inputs of the run (children, items, support, config texts).
        fingerprint: :func:`inputs_fingerprint` of the inputs.
        listing: The ``score.pipeline.Listing`` (ranking, candidates, type scores).
        summary: The action's JSON summary.
        opted_out_ids: Children named on a 不同意書 now: they and their households are
            removed from earlier runs in the same transaction (see :func:`purge_opted_out`).
    """
    with store.engine.begin() as connection:
        purge_opted_out(connection, opted_out_ids)
        run_id = connection.execute(
            score_runs.insert().values(
                created_at=datetime.now(),
                user_name=user_name,
                reference_date=run.reference_date,
                inputs_fingerprint=fingerprint,
                rules_json=run.rules_json,
                types_json=run.types_json,
                model_json=run.model_json,
                settings_json=json.dumps(run.settings, ensure_ascii=False, sort_keys=True),
                item_status_json=_status_json(run.item_status),
                summary_json=json.dumps(summary, ensure_ascii=False, default=str),
            )
        ).inserted_primary_key[0]
        for table, frame in (
            (score_children, _children_rows(run_id, run)),
            (score_items, _item_rows(run_id, run.hits, run.values)),
            (score_results, _result_rows(run_id, listing.ranking, listing.candidates)),
            (score_type_scores, _type_score_rows(run_id, listing.type_scores, listing.final, listing.grades)),
        ):
            if len(frame):
                bulk_insert(connection, table, frame)
    logger.info("score run %s stored", run_id)
    return int(run_id)


# --- reading back ---


def latest_run_id(store: Store) -> int | None:
    """The newest score run, or None."""
    with store.engine.connect() as connection:
        return connection.execute(select(func.max(score_runs.c.run_id))).scalar_one_or_none()


def previous_run_id(store: Store, run_id: int) -> int | None:
    """The run stored just before ``run_id``, or None."""
    with store.engine.connect() as connection:
        return connection.execute(
            select(func.max(score_runs.c.run_id)).where(score_runs.c.run_id < run_id)
        ).scalar_one_or_none()


def run_scores(store: Store, run_id: int) -> pd.DataFrame:
    """score_results of a run, indexed by resident_id, with each child's age."""
    with store.engine.connect() as connection:
        results = pd.read_sql(select(score_results).where(score_results.c.run_id == run_id), connection)
        children = pd.read_sql(
            select(
                score_children.c.resident_id,
                score_children.c.name,
                score_children.c.age,
                score_children.c.school,
            ).where(score_children.c.run_id == run_id),
            connection,
        )
    return results.merge(children, on="resident_id", how="left").set_index("resident_id").sort_index()


def stored_candidates(store: Store, run_id: int) -> pd.DataFrame:
    """The 候補リスト of a stored run, from its score_results rows, in 順位 order."""
    results = run_scores(store, run_id)
    listed = results[results["listed"].astype(bool)].sort_values("rank")
    rows = [json.loads(text) for text in listed["reasons_json"]]
    table = pd.DataFrame(rows, columns=CANDIDATES.headers)
    return table.reset_index(drop=True)


def _item_frames(
    items: pd.DataFrame, index: pd.Index, status: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide hits and values (every computed item, in item-status order) from the long rows."""
    computed = (
        [item for item in status.loc[status["available"].astype(bool), "item_id"]] if len(status) else []
    )
    computed += [item for item in dict.fromkeys(items["item_id"]) if item not in computed]
    hits = pd.DataFrame(False, index=index, columns=computed)
    values = pd.DataFrame(np.nan, index=index, columns=computed)
    if len(items):
        rows = index.get_indexer(items["resident_id"])
        columns = pd.Index(computed).get_indexer(items["item_id"])
        hit_matrix = hits.to_numpy(dtype=bool).copy()
        value_matrix = values.to_numpy(dtype=np.float64).copy()
        hit_matrix[rows, columns] = items["hit"].astype(bool).to_numpy()
        value_matrix[rows, columns] = pd.to_numeric(items["value"], errors="coerce").to_numpy(
            dtype=np.float64
        )
        hits = pd.DataFrame(hit_matrix, index=index, columns=computed)
        values = pd.DataFrame(value_matrix, index=index, columns=computed)
    return hits, values


def load_run(store: Store, run_id: int) -> StoredRun:
    """Everything a stored run was computed from (see :class:`StoredRun`)."""
    with store.engine.connect() as connection:
        run = connection.execute(select(score_runs).where(score_runs.c.run_id == run_id)).mappings().one()
        children = pd.read_sql(select(score_children).where(score_children.c.run_id == run_id), connection)
        items = pd.read_sql(select(score_items).where(score_items.c.run_id == run_id), connection)
    children = children.set_index("resident_id").sort_index()
    children.index.name = "resident_id"
    status = pd.DataFrame(json.loads(run["item_status_json"]))
    if "extract_date" in status.columns:
        status["extract_date"] = pd.to_datetime(status["extract_date"])
    hits, values = _item_frames(items, children.index, status)
    return StoredRun(
        reference_date=run["reference_date"],
        children=children[list(CHILD_COLUMNS)],
        hits=hits,
        values=values,
        item_status=status,
        support=children["support_status"].fillna("").astype(str),
        rules_json=run["rules_json"],
        types_json=run["types_json"],
        model_json=run["model_json"],
        settings=json.loads(run["settings_json"]),
        run_id=run_id,
        created_at=run["created_at"],
    )


def replay_run(store: Store, run_id: int) -> pd.DataFrame:
    """Recompute a stored run's 候補リスト from its stored items, rules, types, settings and model."""
    from macros_py.score.pipeline import replay_listing

    return replay_listing(load_run(store, run_id)).candidates


def purge_opted_out(connection, resident_ids: Sequence[str]) -> int:
    """Remove from every stored run the children of families who have since opted out.

    ``resident_ids`` are the children named on a 不同意書; their whole household (as each
    run stored it) goes. Those runs can no longer be replayed in full, by design.
    Returns the number of children removed from stored runs.
    """
    named = sorted({str(resident) for resident in resident_ids})
    if not named:
        return 0
    households = select(score_children.c.household_id).where(
        score_children.c.resident_id.in_(named) & score_children.c.household_id.is_not(None)
    )
    family = select(score_children.c.resident_id).where(
        score_children.c.resident_id.in_(named) | score_children.c.household_id.in_(households)
    )
    residents = sorted({row[0] for row in connection.execute(family.distinct())})
    for start in range(0, len(residents), 500):
        chunk = residents[start : start + 500]
        for table in (score_items, score_results, score_type_scores, score_children):
            connection.execute(delete(table).where(table.c.resident_id.in_(chunk)))
    if residents:
        logger.info("removed %d children of opted-out families from stored score runs", len(residents))
    return len(residents)


def delete_runs(store: Store, run_ids: Sequence[int]) -> None:
    """Remove runs and their rows (used when a run must not be kept)."""
    with store.engine.begin() as connection:
        for table in (score_children, score_items, score_results, score_type_scores, score_runs):
            connection.execute(delete(table).where(table.c.run_id.in_(list(run_ids))))


# --- the 履歴 tab ---


def _run_label(store: Store, run_id: int) -> str:
    with store.engine.connect() as connection:
        created = connection.execute(
            select(score_runs.c.created_at).where(score_runs.c.run_id == run_id)
        ).scalar_one()
    return f"{created:%Y-%m-%d %H:%M}(#{run_id})"


def history_rows(
    store: Store, current: pd.DataFrame, *, sharp_rise: float, now: datetime | None = None
) -> pd.DataFrame:
    """The 履歴 tab: changes since the latest stored run (新規, 急上昇, 候補外).

    Computed before the current run is stored, so a failing run stores nothing.

    Args:
        current: This run's ranking (``rank``, ``listed``, ``total``, ``types``) joined with
            its children (``name``, ``age``, ``school``), indexed by resident_id.
        sharp_rise: A rise of the 点数 of at least this is 急上昇 (0 = never).
        now: When this run happens (for the 今回実行 column).

    Only children scored in this run appear (a child who moved away, aged out or whose
    family opted out since is not shown). Empty when there is no previous run.
    """
    previous_id = latest_run_id(store)
    if previous_id is None:
        return pd.DataFrame(columns=SCORE_HISTORY.headers)
    previous = run_scores(store, previous_id).reindex(current.index)
    was_listed = previous["listed"].fillna(False).astype(bool)
    listed = current["listed"].astype(bool)
    rise = current["total"] - previous["total"]
    change = pd.Series("", index=current.index, dtype=object)
    change[(rise >= sharp_rise) & previous["total"].notna() & (sharp_rise > 0)] = CHANGE_RISE
    change[listed & ~was_listed] = CHANGE_NEW
    change[~listed & was_listed] = CHANGE_GONE
    chosen = change[change != ""].index
    labels = (_run_label(store, previous_id), f"{now or datetime.now():%Y-%m-%d %H:%M}(今回)")
    table = pd.DataFrame(
        {
            "変化": change[chosen].to_numpy(),
            "宛名番号": chosen.astype(str),
            "氏名": current.loc[chosen, "name"].fillna("").to_numpy(),
            "年齢": [None if pd.isna(v) else int(v) for v in current.loc[chosen, "age"]],
            "学校": current.loc[chosen, "school"].fillna("").to_numpy(),
            "前回順位": [None if pd.isna(v) else int(v) for v in previous.loc[chosen, "rank"]],
            "今回順位": [None if pd.isna(v) else int(v) for v in current.loc[chosen, "rank"]],
            "前回点数": previous.loc[chosen, "total"].to_numpy(float),
            "今回点数": current.loc[chosen, "total"].to_numpy(float),
            "困難類型": current.loc[chosen, "types"].fillna("").to_numpy(),
            "前回実行": labels[0],
            "今回実行": labels[1],
        },
        columns=SCORE_HISTORY.headers,
    )
    order = {CHANGE_NEW: 0, CHANGE_RISE: 1, CHANGE_GONE: 2}
    table["_order"] = table["変化"].map(order)
    table["_rank"] = pd.to_numeric(table["今回順位"], errors="coerce").fillna(np.inf)
    table = table.sort_values(["_order", "_rank", "宛名番号"], kind="stable")
    return table.drop(columns=["_order", "_rank"]).reset_index(drop=True)
