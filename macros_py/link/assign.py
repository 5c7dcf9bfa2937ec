"""One-to-one assignment of scored pairs (per source: one record ↔ one resident).

Greedy by score, done in rounds without a per-pair loop: in each round every left record
takes its best remaining candidate, every right record keeps its best claimant, and the
mutual bests are accepted; both sides of an accepted pair leave the pool. This is the
classic greedy maximum-weight matching and finishes in a few rounds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.link.arrays import isin_codes

__all__ = ["best_and_runner_up", "one_to_one"]


def one_to_one(
    left_index: np.ndarray, right_index: np.ndarray, score: np.ndarray, min_score: float = 0.0
) -> np.ndarray:
    """Pick at most one pair per left and per right record, best scores first.

    Args:
        left_index: left record of each pair.
        right_index: right record of each pair.
        score: score of each pair (higher is better).
        min_score: pairs below this are never picked.

    Returns:
        Boolean mask over pairs: True for the chosen pairs.
    """
    chosen = np.zeros(len(score), dtype=bool)
    alive = score >= min_score
    # Deterministic tie-break: score, then lower left, then lower right position.
    ranked = np.lexsort((right_index, left_index, -np.asarray(score, dtype=float)))
    while alive.any():
        candidates = ranked[alive[ranked]]
        frame = pd.DataFrame({"p": candidates, "i": left_index[candidates], "j": right_index[candidates]})
        best_of_left = frame.drop_duplicates("i", keep="first")
        best_of_right = best_of_left.drop_duplicates("j", keep="first")
        accepted = best_of_right["p"].to_numpy()
        if len(accepted) == 0:
            break
        chosen[accepted] = True
        used_left = isin_codes(left_index, left_index[accepted])
        used_right = isin_codes(right_index, right_index[accepted])
        alive &= ~(used_left | used_right)
    return chosen


def best_and_runner_up(
    left_index: np.ndarray, score: np.ndarray, n_left: int
) -> tuple[np.ndarray, np.ndarray]:
    """Best and second-best score per left record (0 where absent)."""
    best = np.zeros(n_left)
    second = np.zeros(n_left)
    if len(score) == 0:
        return best, second
    frame = pd.DataFrame({"i": left_index, "s": score}).sort_values(["i", "s"], ascending=[True, False])
    rank = frame.groupby("i").cumcount().to_numpy()
    top = frame[rank == 0]
    runner = frame[rank == 1]
    best[top["i"].to_numpy()] = top["s"].to_numpy()
    second[runner["i"].to_numpy()] = runner["s"].to_numpy()
    return best, second
