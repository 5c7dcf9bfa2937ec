"""Two-file test of ``mimamori link``: a town's 住民記録 and one messy source.

Run: ``.venv/bin/python bench/bench_link_csv.py --dir /tmp/town --seed 1`` where
``/tmp/town`` is a generated municipality (``mimamori synth --profile town --out``; made
here when missing). The source is 3,000 residents written the way other systems write
them, plus 400 people who are not residents (a resident's surname with another's given
name, random birth date and address):

* 30 % kanji names without a space (``平野紬``), 30 % a typo in the given-name reading,
  10 % readings in hiragana, 5 % half-width, 5 % missing, 10 % readings without a space;
* 3 % a birth date one digit off, 8 % another resident's address (moved).

The command runs as a subprocess on cp932 files (the path staff use), and the table
gives precision and recall of automatic links, F1, review share and wrong automatic
links, and the same for the records whose name is unspaced and whose reading has a typo.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import jaconv
import numpy as np
import pandas as pd

_COLUMNS = ["宛名番号", "氏名", "氏名カナ", "生年月日", "性別", "住所"]
_KANA = list("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン")
RESIDENT_RECORDS = 3000
STRANGERS = 400


def _register(root: Path) -> pd.DataFrame:
    path = next((root / "exports" / "住民記録").glob("住民記録_*.csv"))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp932")
    return frame[frame["住民状態"] == "1"][_COLUMNS].reset_index(drop=True)


def _reading_typo(value: str, rng: np.random.Generator) -> str:
    if "　" not in value:
        return value
    surname, given = value.split("　", 1)
    if len(given) < 2:
        return value
    position = int(rng.integers(len(given)))
    return f"{surname}　{given[:position]}{_KANA[rng.integers(len(_KANA))]}{given[position + 1 :]}"


def _one_digit_off(value: str, rng: np.random.Generator) -> str:
    position = int(rng.integers(6, 8))
    return value[:position] + str((int(value[position]) + 1) % 10) + value[position + 1 :]


def _messy_residents(register: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    source = register.iloc[rng.choice(len(register), RESIDENT_RECORDS, replace=False)].reset_index(drop=True)
    count = len(source)

    def share(rate: float) -> np.ndarray:
        return rng.random(count) < rate

    source["unspaced"], source["typo"] = share(0.30), share(0.30)
    source.loc[source["unspaced"], "氏名"] = source.loc[source["unspaced"], "氏名"].str.replace("　", "")
    source.loc[source["typo"], "氏名カナ"] = [
        _reading_typo(v, rng) for v in source.loc[source["typo"], "氏名カナ"]
    ]
    hiragana = share(0.10)
    source.loc[hiragana, "氏名カナ"] = [jaconv.kata2hira(v) for v in source.loc[hiragana, "氏名カナ"]]
    half = share(0.05) & ~hiragana
    source.loc[half, "氏名カナ"] = [jaconv.z2h(v, kana=True) for v in source.loc[half, "氏名カナ"]]
    source.loc[share(0.05), "氏名カナ"] = ""
    unspaced_reading = share(0.10)
    source.loc[unspaced_reading, "氏名カナ"] = source.loc[unspaced_reading, "氏名カナ"].str.replace("　", "")
    birth_typo = share(0.03)
    source.loc[birth_typo, "生年月日"] = [_one_digit_off(v, rng) for v in source.loc[birth_typo, "生年月日"]]
    moved = share(0.08)
    source.loc[moved, "住所"] = register["住所"].to_numpy()[rng.choice(len(register), int(moved.sum()))]
    return source


def _strangers(register: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    first, second = rng.choice(len(register), STRANGERS), rng.choice(len(register), STRANGERS)

    def part(values: pd.Series, rows: np.ndarray, index: int) -> list[str]:
        return [v.split("　")[index] if "　" in v else v for v in values.to_numpy()[rows]]

    surnames, givens = part(register["氏名"], first, 0), part(register["氏名"], second, 1)
    kana_surnames, kana_givens = part(register["氏名カナ"], first, 0), part(register["氏名カナ"], second, 1)
    return pd.DataFrame(
        {
            "宛名番号": "",
            "氏名": [f"{s}　{g}" for s, g in zip(surnames, givens, strict=True)],
            "氏名カナ": [f"{s}　{g}" for s, g in zip(kana_surnames, kana_givens, strict=True)],
            "生年月日": [
                f"{rng.integers(1950, 2024)}{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}"
                for _ in range(STRANGERS)
            ],
            "性別": register["性別"].to_numpy()[second],
            "住所": register["住所"].to_numpy()[rng.choice(len(register), STRANGERS)],
            "unspaced": False,
            "typo": False,
        }
    )


def write_files(root: Path, work: Path, seed: int) -> pd.DataFrame:
    """住民.csv and 照合.csv (cp932) in ``work``; returns the truth per レコードID."""
    rng = np.random.default_rng(seed)
    register = _register(root)
    register.to_csv(work / "住民.csv", index=False, encoding="cp932", errors="replace")
    source = pd.concat([_messy_residents(register, rng), _strangers(register, rng)], ignore_index=True)
    source.insert(0, "レコードID", [f"R{i}" for i in range(len(source))])
    source.drop(columns=["宛名番号", "unspaced", "typo"]).to_csv(
        work / "照合.csv", index=False, encoding="cp932", errors="replace"
    )
    return source[["レコードID", "宛名番号", "unspaced", "typo"]].rename(columns={"宛名番号": "truth"})


def score(result: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Precision/recall/F1 of 自動, review share, wrong automatic links, and the unspaced+typo slice."""
    joined = result.merge(truth, on="レコードID")
    auto = joined["判定"] == "自動"
    correct = auto & (joined["宛名番号"] == joined["truth"])
    resident = joined["truth"] != ""
    precision = correct.sum() / max(auto.sum(), 1)
    recall = (correct & resident).sum() / max(resident.sum(), 1)
    hard = resident & joined["unspaced"] & joined["typo"]
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(precision + recall, 1e-12),
        "review_share": float((joined["判定"] == "要確認").mean()),
        "wrong_auto": int((auto & ~correct).sum()),
        "hard_records": int(hard.sum()),
        "hard_auto_right": int((correct & hard).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="a generated town (made when missing)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the messy source")
    parser.add_argument("--work", type=Path, help="folder for the files (default /tmp/bench_link_csv_SEED)")
    arguments = parser.parse_args()
    if not (arguments.dir / "truth" / "meta.json").exists():
        from macros_py.synth import generate_municipality

        generate_municipality("town", seed=1, out_dir=arguments.dir)
    work = arguments.work or Path(f"/tmp/bench_link_csv_{arguments.seed}")
    work.mkdir(parents=True, exist_ok=True)
    truth = write_files(arguments.dir, work, arguments.seed)
    started = time.perf_counter()
    command = [sys.executable, "-m", "macros_py.cli", "link", "住民.csv", "照合.csv", "--out", "結果.csv"]
    completed = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(completed.stdout + completed.stderr)
    result = pd.read_csv(work / "結果.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    figures = score(result, truth)
    print("| | precision | recall | F1 | review share | wrong auto | unspaced+typo auto right |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| mimamori link (seed {arguments.seed}) | {figures['precision']:.4f} | {figures['recall']:.4f} "
        f"| {figures['f1']:.4f} | {figures['review_share']:.2%} | {figures['wrong_auto']} "
        f"| {figures['hard_auto_right']}/{figures['hard_records']} |"
    )
    print(f"{len(result)} records, {seconds:.1f} s (command as a subprocess)")


if __name__ == "__main__":
    main()
