"""One-to-one assignment of scored pairs (per source: one record ↔ one resident).

Greedy by score, done in rounds without a per-pair loop: in each round the pairs that
are the best remaining pair of both their left and their right record are accepted, and
both sides of an accepted pair leave the pool. This gives exactly the classic greedy
maximum-weight matching (best pair first) and finishes in a few rounds.
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
    score = np.asarray(score, dtype=float)
    # Only pairs above the minimum are ranked: in a big city most candidates score far
    # below it, and sorting tens of millions of them would dominate.
    eligible = np.flatnonzero(score >= min_score)
    # Deterministic tie-break: score, then lower left, then lower right position.
    ranked = eligible[np.lexsort((right_index[eligible], left_index[eligible], -score[eligible]))]
    ranked_left, ranked_right = left_index[ranked], right_index[ranked]
    alive = np.ones(len(ranked), dtype=bool)
    while alive.any():
        candidates = np.flatnonzero(alive)
        frame = pd.DataFrame({"p": candidates, "i": ranked_left[candidates], "j": ranked_right[candidates]})
        # A pair is taken when it is the best remaining pair of both its records.
        best_of_left = frame.drop_duplicates("i", keep="first")["p"].to_numpy()
        best_of_right = frame.drop_duplicates("j", keep="first")["p"].to_numpy()
        accepted = best_of_left[isin_codes(best_of_left, best_of_right)]
        if len(accepted) == 0:
            break
        chosen[ranked[accepted]] = True
        used_left = isin_codes(ranked_left, ranked_left[accepted])
        used_right = isin_codes(ranked_right, ranked_right[accepted])
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
