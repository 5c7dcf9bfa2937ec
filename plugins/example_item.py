"""Example item plugin: two items computed in code instead of a 判定ルール row.

How an administrator adds an item that the 判定ルール tab cannot express
------------------------------------------------------------------------
1. Put a ``.py`` file like this one in the plugins folder (設定タブ「プラグインフォルダ」,
   default ``plugins`` beside the workbook). Files starting with ``_`` are skipped.
2. Import only from ``macros_py.plugin_api`` and define one function decorated with
   ``@hookimpl`` named exactly ``register_items`` returning a list of
   ``ItemSpec(item_id, name, compute, sources, description)``.
3. ``compute(children, records_of)`` returns one number per child (a pandas Series on
   ``children.index``, the 宛名番号; NaN = no value). ``children`` holds the children
   scored (age, household_id, school, ...); ``records_of("attendance")`` returns the
   current records of a source that 名寄せ linked to a resident, one column per field of
   the 項目マッピング tab.
4. To give the item points, add a 判定ルール row whose 項目ID is the plugin's item id
   (here ``late_and_nurse`` or ``siblings``) and whose ソースID is ``プラグイン``: its
   判定 (blank = 値 > 0), points per
   困難類型 and 確認時に表示 apply as for any rule. Press 「設定チェック」, then 「判定」.
   A plugin that fails is named on the ログ tab; the other items are still computed.

The items below:

* ``late_and_nurse`` — 遅刻と保健室来室がともに多い: 1 when the child's current
  attendance records add up to at least ``LATE_THRESHOLD`` late arrivals **and**
  ``NURSE_THRESHOLD`` visits to the school nurse, else 0; no value without records.
  Fuchu-cho's second filter reads many lates together with many nurse visits.
* ``siblings`` — きょうだいの数: other children (0–18) registered in the same household,
  a young-carer signal when it is large (多子世帯).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.plugin_api import ItemSpec, RecordsOf, hookimpl

LATE_THRESHOLD = 10  # late arrivals in the current extract
NURSE_THRESHOLD = 10  # visits to the school nurse (保健室来室) in the current extract


def late_and_nurse(children: pd.DataFrame, records_of: RecordsOf) -> pd.Series:
    """1.0 when both counts are high, 0.0 when not, NaN for a child without attendance records."""
    records = records_of("attendance")
    totals = (
        records[["resident_id", "遅刻回数", "保健室来室回数"]]
        .groupby("resident_id")[["遅刻回数", "保健室来室回数"]]
        .sum(min_count=1)
        .reindex(children.index)
    )
    both_high = (totals["遅刻回数"] >= LATE_THRESHOLD) & (totals["保健室来室回数"] >= NURSE_THRESHOLD)
    has_records = totals.notna().any(axis=1)
    return pd.Series(np.where(has_records, both_high.astype("float64"), np.nan), index=children.index)


def siblings(children: pd.DataFrame, records_of: RecordsOf) -> pd.Series:
    """Number of other children in the child's household (the children frame is enough)."""
    household = children["household_id"]
    size = household.map(household.value_counts())
    return (size - 1).where(household.notna() & (household != ""), 0).astype("float64")


@hookimpl
def register_items() -> list[ItemSpec]:
    """The two example items."""
    return [
        ItemSpec(
            item_id="late_and_nurse",
            name="遅刻と保健室来室がともに多い",
            compute=late_and_nurse,
            sources=("attendance",),
            description=f"遅刻{LATE_THRESHOLD}回以上かつ保健室来室{NURSE_THRESHOLD}回以上(現在の出欠データの合計)",
        ),
        ItemSpec(
            item_id="siblings",
            name="きょうだいの数",
            compute=siblings,
            sources=(),
            description="同じ世帯の0〜18歳のこどもの数(本人を除く)。多子世帯はヤングケアラーの手がかり",
        ),
    ]
