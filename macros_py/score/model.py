"""The statistical model: logistic regression on items, calibrated, stored as plain numbers.

Labels are children already known to services (教師データ); features come from
:func:`macros_py.score.features.model_features`. The model is scikit-learn's
``LogisticRegression`` (L2, lbfgs, no class weights so probabilities keep their meaning)
on standardised features. Probabilities are calibrated with Platt scaling fitted on
out-of-fold scores of a stratified k-fold cross-validation (the same idea as
``CalibratedClassifierCV(method="sigmoid", ensemble=False)``), so the probability of a
child is never judged by a model that saw that child's label when the calibration was
fitted.

A :class:`FittedModel` holds only numbers and names and round-trips through JSON
(nothing is pickled into the store). Degenerate inputs (no positive labels, a single
class, too few labels for cross-validation, only constant features) raise
:class:`ModelNotFittable` with a Japanese message; the caller goes on without a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from macros_py.score.types import AgeBand

__all__ = [
    "DEFAULT_AGE_THRESHOLDS",
    "AgeThresholdError",
    "FittedModel",
    "check_fittable",
    "ModelNotFittable",
    "contributions",
    "cross_validated_logits",
    "fit_model",
    "inputs_fingerprint",
    "format_age_thresholds",
    "parse_age_thresholds",
    "platt_scaling",
    "predict_probability",
    "probability_thresholds",
    "reason_lists",
    "reason_texts",
]

logger = logging.getLogger(__name__)

FOLDS = 5
# Inverse L2 strengths tried (sklearn's C, on standardised features), strongest first; the
# one with the best out-of-fold AUC on the labels is used. With a few hundred labelled
# children strong shrinkage ranks better (town: CV AUC 0.70 at C = 1, 0.76 at C = 0.001);
# with more children the data term grows and weaker shrinkage can win. C = 1 is left out:
# it never won on the town or on planted data and costs a sixth of the fitting time.
REGULARISATION_GRID: tuple[float, ...] = (0.001, 0.01, 0.1)
MINIMUM_POSITIVES = 5  # fewer known children than this cannot support a model
_MAX_ITERATIONS = 1000


class ModelNotFittable(ValueError):
    """The model cannot be fitted on these inputs; ``message`` says why, in Japanese."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class AgeThresholdError(ValueError):
    """An age-band threshold text could not be read; ``message`` is Japanese."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# Fuchu-shi (Hiroshima): 30 % for preschool children, 40 % for school age.
DEFAULT_AGE_THRESHOLDS: tuple[AgeBand, ...] = (AgeBand(0, 5, 0.30), AgeBand(6, 18, 0.40))

_BAND = re.compile(r"^\s*(\d+)\s*[-~〜～ー－]\s*(\d+)\s*[:：]\s*([0-9]+(?:\.[0-9]+)?)\s*(%|％)?\s*$")


def parse_age_thresholds(text: str) -> tuple[AgeBand, ...]:
    """Read probability thresholds per age band, e.g. ``"0-5:0.3, 6-18:0.4"``.

    A threshold may be written as a share (``0.3``) or a percentage (``30%``). Bands are
    separated by ``,`` or ``、``; ages are whole years, both ends included.

    Args:
        text: The settings cell. Blank gives :data:`DEFAULT_AGE_THRESHOLDS` (as 設定
            モデルの年齢帯しきい値 says).

    Returns:
        The bands, sorted by their lower age.

    Raises:
        AgeThresholdError: With a Japanese message naming the part that is wrong.

    >>> parse_age_thresholds("0-5:30%, 6-18:0.4")[0].threshold
    0.3
    """
    if not str(text).strip():
        return DEFAULT_AGE_THRESHOLDS
    bands: list[AgeBand] = []
    for part in re.split(r"[,、，]", str(text)):
        if not part.strip():
            continue
        match = _BAND.match(part)
        if match is None:
            raise AgeThresholdError(
                f"「{part.strip()}」が読めません。「0-5:0.3, 6-18:0.4」のように 年齢-年齢:確率 で書いてください。"
            )
        low, high, value = int(match.group(1)), int(match.group(2)), float(match.group(3))
        if match.group(4):
            value /= 100.0
        if low > high:
            raise AgeThresholdError(f"「{part.strip()}」: 年齢の下限が上限より大きくなっています。")
        if not 0.0 < value < 1.0:
            raise AgeThresholdError(
                f"「{part.strip()}」: 確率は0より大きく1より小さい値(または1〜99%)にしてください。"
            )
        bands.append(AgeBand(low, high, value))
    bands.sort(key=lambda band: band.min_age)
    for before, after in zip(bands, bands[1:], strict=False):
        if after.min_age <= before.max_age:
            raise AgeThresholdError(
                f"年齢帯 {before.min_age}-{before.max_age} と {after.min_age}-{after.max_age} が重なっています。"
            )
    return tuple(bands)


def format_age_thresholds(bands: Sequence[AgeBand]) -> str:
    """The text form read by :func:`parse_age_thresholds` (``"0-5:0.3, 6-18:0.4"``)."""
    return ", ".join(f"{band.min_age}-{band.max_age}:{band.threshold:g}" for band in bands)


@dataclass(frozen=True)
class FittedModel:
    """A fitted, calibrated logistic regression as plain numbers (JSON, never pickle).

    The calibrated probability of a child with feature vector ``x`` is
    ``1 / (1 + exp(-(calibration_a * logit + calibration_b)))`` where
    ``logit = intercept + sum(coefficients * (x - means) / scales)``.
    """

    feature_names: tuple[str, ...]
    coefficients: tuple[float, ...]  # per standardised feature (0 for constant features)
    intercept: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    calibration_a: float
    calibration_b: float
    age_thresholds: tuple[AgeBand, ...]
    fingerprint: str  # SHA-256 of the training features and labels
    positives: int
    negatives: int
    folds: int
    seed: int
    regularisation: float = 1.0  # sklearn's C used (chosen by out-of-fold AUC)

    def per_unit_effects(self) -> tuple[float, ...]:
        """Change of the calibrated log-odds per unit of each feature (a 0/1 item: having it)."""
        return tuple(
            self.calibration_a * coefficient / scale
            for coefficient, scale in zip(self.coefficients, self.scales, strict=True)
        )

    def per_sd_effects(self) -> tuple[float, ...]:
        """Change of the calibrated log-odds per standard deviation of each feature."""
        return tuple(self.calibration_a * coefficient for coefficient in self.coefficients)

    def to_json(self) -> str:
        """Serialise to JSON; :meth:`from_json` gives back an equal model."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FittedModel:
        """Read a model written by :meth:`to_json`."""
        data = json.loads(text)
        data["age_thresholds"] = tuple(AgeBand(**band) for band in data["age_thresholds"])
        for key in ("feature_names", "coefficients", "means", "scales"):
            data[key] = tuple(data[key])
        return cls(**data)


def inputs_fingerprint(features: pd.DataFrame, labels: pd.Series) -> str:
    """SHA-256 of the feature names, the child ids, the feature values and the labels."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, features.columns)).encode("utf-8"))
    # Child ids through pandas' vectorised hash (joining 52,000 Arrow strings is slow).
    digest.update(
        pd.util.hash_pandas_object(pd.Series(features.index.astype(str)), index=False).to_numpy().tobytes()
    )
    digest.update(np.ascontiguousarray(features.to_numpy(dtype=np.float64)).tobytes())
    digest.update(np.asarray(labels, dtype=np.int8).tobytes())
    return digest.hexdigest()


def _matrix(features: pd.DataFrame) -> np.ndarray:
    # Missing or infinite values count as the column's average, as in prediction.
    matrix = features.to_numpy(dtype=np.float64, na_value=np.nan).copy()
    finite = np.isfinite(matrix)
    if finite.all():
        return matrix
    counts = finite.sum(axis=0)
    averages = np.where(counts > 0, np.where(finite, matrix, 0.0).sum(axis=0) / np.maximum(counts, 1), 0.0)
    return np.where(finite, matrix, averages)


def _check_labels(labels: np.ndarray) -> tuple[int, int]:
    positives = int(labels.sum())
    negatives = int(len(labels) - positives)
    if len(labels) == 0:
        raise ModelNotFittable("対象の児童がいないため、統計モデルを作れません。")
    if positives == 0:
        raise ModelNotFittable(
            "教師データ(すでに支援につながっている児童)が1人もいないため、統計モデルを作れません。"
            "教師データタブのソースが有効になっていて、そのソースが取り込まれ、名寄せされているか確認してください。"
        )
    if negatives == 0:
        raise ModelNotFittable("すべての児童に支援状況(教師データ)があるため、統計モデルを作れません。")
    if positives < MINIMUM_POSITIVES or negatives < MINIMUM_POSITIVES:
        raise ModelNotFittable(
            f"教師データが少なすぎるため統計モデルを作れません(支援状況のある児童 {positives}人、"
            f"ない児童 {negatives}人)。それぞれ{MINIMUM_POSITIVES}人以上必要です。"
        )
    return positives, negatives


def check_fittable(features: pd.DataFrame, labels: np.ndarray) -> tuple[int, int]:
    """Count positive and negative labels, refusing inputs no model can be fitted on.

    Raises:
        ModelNotFittable: See :func:`fit_model`.
    """
    positives, negatives = _check_labels(np.asarray(labels, dtype=np.int8))
    matrix = _matrix(features)
    if matrix.shape[1] == 0 or bool((matrix.std(axis=0) <= 1e-12).all()):
        raise ModelNotFittable(
            "モデルに使える項目がない(すべての児童で同じ値の項目だけ)ため、統計モデルを作れません。"
        )
    return positives, negatives


def _standardise(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    means = matrix.mean(axis=0)
    scales = matrix.std(axis=0)
    constant = scales <= 1e-12
    scales = np.where(constant, 1.0, scales)
    return means, scales, constant


def _logistic(regularisation: float, seed: int, start: tuple[np.ndarray, float] | None = None):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(
        C=regularisation,
        solver="lbfgs",
        max_iter=_MAX_ITERATIONS,
        random_state=seed,
        warm_start=start is not None,
    )
    if start is not None:  # lbfgs starts from these coefficients (fewer iterations)
        model.coef_ = start[0].reshape(1, -1).copy()
        model.intercept_ = np.array([start[1]], dtype=np.float64)
    return model


def _fit_logit(
    standardised: np.ndarray,
    labels: np.ndarray,
    seed: int,
    *,
    regularisation: float,
    start: tuple[np.ndarray, float] | None = None,
) -> tuple[np.ndarray, float]:
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = _logistic(regularisation, seed, start).fit(standardised, labels)
    return fitted.coef_[0].astype(np.float64), float(fitted.intercept_[0])


@dataclass(frozen=True)
class _Fit:
    means: np.ndarray
    scales: np.ndarray
    constant: np.ndarray
    coefficients: np.ndarray  # per standardised feature, 0 for constant ones
    intercept: float
    out_of_fold: np.ndarray  # logits
    regularisation: float  # sklearn's C
    auc: float  # out-of-fold AUC on the labels


# The run's last fit: evaluate re-uses it instead of fitting the folds again.
_FIT_CACHE: dict[tuple, _Fit] = {}


def _fit_with_out_of_fold(
    features: pd.DataFrame,
    target: np.ndarray,
    seed: int,
    folds: int,
    *,
    regularisation: float | None = None,
    fingerprint: str | None = None,
) -> _Fit:
    """Full fit and out-of-fold logits, at ``regularisation`` or the best of the grid."""
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    key = (fingerprint or inputs_fingerprint(features, target), seed, folds, regularisation)
    if key in _FIT_CACHE:
        return _FIT_CACHE[key]
    grid = REGULARISATION_GRID if regularisation is None else (regularisation,)
    # One BLAS thread: the products are memory-bound (threads only contend, measured 5.8 s
    # -> 3.5 s for 52,000 x 60 on a busy 2-core machine) and the sums keep one order.
    with threadpool_limits(limits=1):
        fit = _best_fit(_matrix(features), target, seed, folds, grid)
    _FIT_CACHE.clear()
    _FIT_CACHE[key] = fit
    return fit


def _path_fits(standardised: np.ndarray, target: np.ndarray, seed: int, grid: Sequence[float], start=None):
    """Fits along the regularisation path, each starting from the previous solution."""
    fits = []
    for regularisation in grid:
        start = _fit_logit(standardised, target, seed, regularisation=regularisation, start=start)
        fits.append(start)
    return fits


def _best_fit(matrix: np.ndarray, target: np.ndarray, seed: int, folds: int, grid: Sequence[float]) -> _Fit:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    means, scales, constant = _standardise(matrix)
    usable = ~constant
    standardised = ((matrix - means) / scales)[:, usable]
    # The full-data path is fitted only as far as the chosen strength (below): the folds
    # need its first fit as their starting point, the model only the chosen one.
    full = _path_fits(standardised, target, seed, grid[:1])
    logits = np.zeros((len(grid), len(target)), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(matrix, target):  # each fold standardised once for the whole path
        fold_means, fold_scales, fold_constant = _standardise(matrix[train])
        fold_usable = ~fold_constant
        start = (_spread(full[0][0], usable)[fold_usable], full[0][1])
        path = _path_fits(
            ((matrix[train] - fold_means) / fold_scales)[:, fold_usable], target[train], seed, grid, start
        )
        held_out = ((matrix[test] - fold_means) / fold_scales)[:, fold_usable]
        for position, (coefficients, intercept) in enumerate(path):
            logits[position, test] = intercept + held_out @ coefficients
    aucs = [float(roc_auc_score(target, row)) for row in logits]
    best = int(np.argmax(aucs))  # the strongest shrinkage among equals
    full += _path_fits(standardised, target, seed, grid[1 : best + 1], start=full[-1])
    logger.info("統計モデルの正則化: C = %g(交差検証AUC %.3f)", grid[best], aucs[best])
    return _Fit(
        means,
        scales,
        constant,
        _spread(full[best][0], usable),
        full[best][1],
        logits[best],
        grid[best],
        aucs[best],
    )


def _spread(values: np.ndarray, usable: np.ndarray) -> np.ndarray:
    full = np.zeros(len(usable), dtype=np.float64)
    full[usable] = values
    return full


def cross_validated_logits(
    features: pd.DataFrame,
    labels: pd.Series | np.ndarray,
    *,
    seed: int = 0,
    folds: int = FOLDS,
    regularisation: float | None = None,
) -> np.ndarray:
    """Out-of-fold logits: each child scored by a model fitted without that child's fold.

    Standardisation is fitted inside each training fold too. Folds are stratified and
    shuffled with ``seed``; each fold's solver starts from the full-data coefficients
    (only a starting point: the fold's optimum does not depend on it). Without
    ``regularisation`` the strength with the best out-of-fold AUC of
    :data:`REGULARISATION_GRID` is used. Deterministic; the last result is kept so that
    :func:`fit_model` and the evaluation share it.
    """
    target = np.asarray(labels, dtype=np.int8)
    return _fit_with_out_of_fold(
        features, target, seed, folds, regularisation=regularisation
    ).out_of_fold.copy()


def platt_scaling(logits: np.ndarray, labels: np.ndarray, seed: int) -> tuple[float, float]:
    """Platt's sigmoid ``(a, b)``: calibrated probability = 1 / (1 + exp(-(a * logit + b)))."""
    from sklearn.linear_model import LogisticRegression

    # Nearly unpenalised: two parameters fitted on thousands of out-of-fold scores.
    platt = LogisticRegression(C=1e6, solver="lbfgs", max_iter=_MAX_ITERATIONS, random_state=seed)
    platt.fit(logits.reshape(-1, 1), labels)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def fit_model(
    features: pd.DataFrame,
    labels: pd.Series,
    *,
    seed: int = 0,
    age_thresholds: Sequence[AgeBand] = DEFAULT_AGE_THRESHOLDS,
    folds: int = FOLDS,
    regularisation: float | None = None,
) -> FittedModel:
    """Fit the calibrated logistic regression.

    Args:
        features: One row per child (index resident_id), numeric columns.
        labels: Same index; true/1 for children known to services.
        seed: Seed of the cross-validation split (deterministic results).
        age_thresholds: Probability thresholds per age band, stored with the model.
        folds: Folds of the calibration cross-validation (fewer when labels are scarce).
        regularisation: sklearn's ``C``; default: the best out-of-fold AUC among
            :data:`REGULARISATION_GRID` (chosen on the labels, never on anything else).

    Returns:
        The fitted model.

    Raises:
        ModelNotFittable: No children, no positive labels, a single class, fewer than
            ``MINIMUM_POSITIVES`` of a class, or only constant features.
    """
    labels = labels.reindex(features.index)
    target = labels.fillna(False).astype(bool).to_numpy().astype(np.int8)
    positives, negatives = check_fittable(features, target)
    folds = int(min(folds, positives, negatives))
    fingerprint = inputs_fingerprint(features, target)
    fit = _fit_with_out_of_fold(
        features, target, seed, folds, regularisation=regularisation, fingerprint=fingerprint
    )
    calibration_a, calibration_b = platt_scaling(fit.out_of_fold, target, seed)
    means, scales, coefficients, intercept = fit.means, fit.scales, fit.coefficients, fit.intercept
    logger.info("統計モデルを作りました(教師データ %d 人、項目 %d)", positives, int((~fit.constant).sum()))
    return FittedModel(
        feature_names=tuple(str(name) for name in features.columns),
        coefficients=tuple(float(value) for value in coefficients),
        intercept=intercept,
        means=tuple(float(value) for value in means),
        scales=tuple(float(value) for value in scales),
        calibration_a=calibration_a,
        calibration_b=calibration_b,
        age_thresholds=tuple(age_thresholds),
        fingerprint=fingerprint,
        positives=positives,
        negatives=negatives,
        folds=folds,
        seed=seed,
        regularisation=fit.regularisation,
    )


def _standardised_features(model: FittedModel, features: pd.DataFrame) -> np.ndarray:
    # A feature the model knows but the frame lacks is set to the training mean (neutral).
    missing = [name for name in model.feature_names if name not in features.columns]
    if missing:
        logger.warning("モデルの項目のうち %d 個が今回の入力にありません(平均値として扱います)", len(missing))
    aligned = features.reindex(columns=list(model.feature_names))
    matrix = aligned.to_numpy(dtype=np.float64, na_value=np.nan).copy()
    means = np.asarray(model.means, dtype=np.float64)
    matrix = np.where(np.isfinite(matrix), matrix, means)
    return (matrix - means) / np.asarray(model.scales, dtype=np.float64)


def contributions(model: FittedModel, features: pd.DataFrame) -> pd.DataFrame:
    """Each feature's push on each child's calibrated logit, relative to the average child.

    ``calibration_a * coefficient * (x - mean) / scale``: positive raises the
    probability, negative lowers it; a child equal to the training mean gets zeros. The
    row sum plus ``calibration_a * intercept + calibration_b`` is the calibrated logit.
    """
    standardised = _standardised_features(model, features)
    pushes = standardised * (np.asarray(model.coefficients, dtype=np.float64) * model.calibration_a)
    return pd.DataFrame(pushes, index=features.index, columns=list(model.feature_names))


def predict_probability(model: FittedModel, features: pd.DataFrame) -> pd.Series:
    """Calibrated probability per child (index of ``features``)."""
    standardised = _standardised_features(model, features)
    logit = model.intercept + standardised @ np.asarray(model.coefficients, dtype=np.float64)
    calibrated = model.calibration_a * logit + model.calibration_b
    return pd.Series(1.0 / (1.0 + np.exp(-calibrated)), index=features.index, name="probability")


def probability_thresholds(bands: Sequence[AgeBand], ages: pd.Series) -> pd.Series:
    """Threshold per child from its age.

    Ages outside every band get the highest threshold of the bands; with no bands every
    threshold is infinite (the model lists no one by itself).
    """
    values = np.full(len(ages), max((band.threshold for band in bands), default=np.inf), dtype=np.float64)
    age = pd.to_numeric(ages, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    for band in bands:
        values[(age >= band.min_age) & (age <= band.max_age)] = band.threshold
    return pd.Series(values, index=ages.index, name="threshold")


def _strongest(
    pushes: pd.DataFrame, present: pd.DataFrame | None, hidden: Sequence[str], top: int, minimum: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per direction (up, down): column positions of the ``top`` strongest pushes per child
    and their strengths (0 where fewer qualify)."""
    values = pushes.to_numpy(dtype=np.float64).copy()
    names = np.asarray(pushes.columns, dtype=object)
    shown = ~np.isin(names, np.asarray(list(hidden), dtype=object))[None, :]
    if present is None:
        mask = np.broadcast_to(shown, values.shape)
    else:
        mask = present.reindex_like(pushes).fillna(False).to_numpy(dtype=bool) & shown
    # A value feature is named only as a reason up: item names describe the risky end
    # ("体重が3パーセンタイル未満"), so "(値)" as a protective factor would read backwards.
    from macros_py.score.features import VALUE_SUFFIX

    is_value = np.asarray([str(name).endswith(VALUE_SUFFIX) for name in names], dtype=bool)[None, :]
    result = []
    for sign in (1.0, -1.0):
        allowed = mask if sign > 0 else mask & ~is_value
        signed = np.where(allowed & (sign * values >= minimum), sign * values, 0.0)
        order = np.argsort(-signed, axis=1, kind="stable")[:, : min(top, signed.shape[1])]
        result.append((order, np.take_along_axis(signed, order, axis=1)))
    return result


def reason_lists(
    pushes: pd.DataFrame,
    *,
    present: pd.DataFrame | None = None,
    hidden: Sequence[str] = (),
    top: int = 3,
    minimum: float = 0.05,
) -> tuple[pd.Series, pd.Series]:
    """The features that raised (主な理由) and lowered (保護的要因) each child's score.

    Only features the child actually has count (``present``; default: every feature),
    so a child does not get "生活保護" as a protective factor merely for not receiving it.
    Value features (``features.VALUE_SUFFIX``) are named as reasons up only.

    Args:
        pushes: Output of :func:`contributions`.
        present: Same shape, true where the child has the item (hit or record).
        hidden: Feature names never shown (items counted but hidden from review).
        top: At most this many per direction.
        minimum: Smallest absolute push (logit units) worth naming.

    Returns:
        Two Series (up, down) of lists of ``(feature name, push rounded to 2)``,
        strongest first.
    """
    names = np.asarray(pushes.columns, dtype=object)
    lists = []
    for sign, (order, strengths) in zip(
        (1.0, -1.0), _strongest(pushes, present, hidden, top, minimum), strict=True
    ):
        rows = [
            [
                (names[column], round(sign * push, 2))
                for column, push in zip(row, pushed, strict=True)
                if push > 0
            ]
            for row, pushed in zip(order, strengths, strict=True)
        ]
        lists.append(pd.Series(rows, index=pushes.index, dtype=object))
    return lists[0], lists[1]


def reason_texts(
    pushes: pd.DataFrame,
    *,
    names: Mapping[str, str],
    present: pd.DataFrame | None = None,
    hidden: Sequence[str] = (),
    top: int = 3,
    minimum: float = 0.05,
) -> pd.DataFrame:
    """Japanese 主な理由 and 保護的要因 per child, item names joined with 「、」, strongest first.

    Vectorised over children (a city's 52,000 rows take well under a second).

    Args:
        pushes: Output of :func:`contributions`.
        names: Feature name → Japanese item name (``features.feature_labels``).
        present: See :func:`reason_lists`.
        hidden: Feature names never shown.
        top: At most this many names per column.
        minimum: Smallest absolute push (logit units) worth naming.
    """
    labels = np.asarray([names.get(name, name) for name in pushes.columns], dtype=object)
    texts = []
    for order, strengths in _strongest(pushes, present, hidden, top, minimum):
        joined = np.full(len(pushes), "", dtype=object)
        for position in range(order.shape[1]):
            label = np.where(strengths[:, position] > 0, labels[order[:, position]], "")
            separator = np.where((joined != "") & (label != ""), "、", "")
            joined = joined + separator + label
        texts.append(joined)
    return pd.DataFrame({"主な理由": texts[0], "保護的要因": texts[1]}, index=pushes.index)
