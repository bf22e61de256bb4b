"""A linear model in memory, float or quantized (dequantized), and inference.

Plain numpy, and the only numerics ``predict`` needs, so inference imports nothing
heavier. How a model is stored is ``modelfile``'s and ``store``'s business.
"""
from dataclasses import dataclass
from operator import le
from typing import NamedTuple

import numpy as np

from . import integer
from .readers.chunk import BadRow


@dataclass(frozen=True)
class Model:
    """A linear model ready for inference.

    coef : ndarray of shape (n_features,), float64, target units per feature unit
    intercept : float, target units ($100,000)
    meta : dict, what the file says about itself (kind, features, fingerprints, ...)
    payload_bytes : int, what the parameters take in the file, without headers
    low, high : ndarray of shape (n_features,), the training split's range of each feature
    kernel : integer.Kernel of a quantized model, None for a float one
    """
    coef: np.ndarray
    intercept: float
    meta: dict
    payload_bytes: int
    low: np.ndarray = None
    high: np.ndarray = None
    kernel: integer.Kernel = None

    @property
    def kind(self):
        return self.meta["kind"]

    @property
    def features(self):
        return tuple(self.meta["features"])

    @property
    def ranges(self):
        """The training split's min, max and 0.1 % and 99.9 % quantiles of each feature."""
        return self.meta["ranges"]

    @property
    def method(self):
        """The quantization method of a quantized model."""
        return self.meta["method"]

    @property
    def bits(self):
        """The width of a quantized model's codes."""
        return self.meta["bits"]


class Checked(NamedTuple):
    """What checked_predict gives: the predictions of the rows that stay, shape (k,),
    their positions in chunk.X, and the rows refused, as BadRows."""
    y: np.ndarray
    keep: np.ndarray
    refused: list


class Outside(NamedTuple):
    """The first feature of a row outside the training range: its index, value and range."""
    feature: int
    value: float
    low: float
    high: float


def checked_predict(model, chunk, strict=False, fixed=False):
    """The Checked predictions of a ``readers.chunk.Chunk``. A prediction that
    is not finite refuses its row, as does (when ``strict``) a feature outside the
    training range. ``fixed``: by the integer kernel (y exactly its output / 2**OUT),
    refusing a row with a value its int32 inputs cannot hold."""
    if fixed:
        X, fits = integer.to_fixed(model.kernel, chunk.X)
        y = np.where(fits, integer.predict(model.kernel, X) / 2.0 ** integer.OUT, np.nan)
    else:
        y = predict(model, chunk.X)  # overflow gives inf, reported per row below
    refused = ~np.isfinite(y)
    if strict:
        refused |= outside(model, chunk.X).any(axis=1)
    if not refused.any():
        return Checked(y, np.arange(len(y)), [])
    bad = []
    for i in np.flatnonzero(refused):
        no = chunk.nos[i]
        key = chunk.ids[i] if chunk.ids is not None else None
        if fixed and np.isnan(y[i]):
            low, high = integer.limits(model.kernel)
            j = int(np.flatnonzero(~((chunk.X[i] >= low) & (chunk.X[i] <= high)))[0])
            bad.append(BadRow(no, f"{chunk.where(no)}, column '{model.features[j]}': "
                                  f"expected a value the integer model's inputs hold, "
                                  f"{low[j]:g} to {high[j]:g}, got {chunk.X[i][j]:g}", key))
        elif np.isfinite(y[i]):
            first = first_outside(model, chunk.X[i])
            name = model.features[first.feature]
            bad.append(BadRow(no, f"{chunk.where(no)}, column '{name}': expected a value "
                                  f"within the training range, {first.low:g} to "
                                  f"{first.high:g}, got {first.value:g}", key))
        else:
            bad.append(BadRow(no, f"{chunk.where(no)}: the prediction overflows to "
                                  f"{float(y[i])!r}; expected features small enough for a "
                                  f"finite prediction", key))
    keep = np.flatnonzero(~refused)
    return Checked(y[keep], keep, bad)


def outside(model, X):
    """Which values of X, shape (n, n_features), lie outside the training range."""
    return (X < model.low) | (X > model.high)


def rows_outside(model, X):
    """How many rows of X, shape (n, n_features), have a feature outside the training
    range; a few rows in Python floats, without numpy's per-call cost."""
    if len(X) > SMALL:
        return int(outside(model, X).any(axis=1).sum())
    low = model.low.tolist()
    high = model.high.tolist()
    return sum(not (all(map(le, low, row)) and all(map(le, row, high))) for row in X.tolist())


def first_outside(model, x):
    """The Outside of the first feature of row ``x`` outside the training range."""
    j = int(np.flatnonzero(outside(model, x[None])[0])[0])
    return Outside(j, x[j], model.low[j], model.high[j])


SMALL = 16  # rows; fewer are summed in Python floats, without numpy's per-call cost
# (tests/bench/micro.py measures both paths)


def predict(model, X):
    """Predictions for X of shape (n_samples, n_features), columns in ``model.features``
    order; returns shape (n_samples,), in units of $100,000. An overflow gives inf, not a
    warning: the caller decides what a non-finite prediction means.

    One feature at a time, in a fixed order, rather than ``X @ coef``: BLAS picks its
    summation order by memory layout and CPU, so the same row could come out a last bit
    different from a file, from stdin, in a chunk of another size, or in the container.
    A few rows (one HTTP request, say) take the same sums in Python floats, which round
    each product and each sum exactly as numpy's float64 does: the same bits, without
    numpy's per-call cost.
    """
    if len(X) <= SMALL:
        coef = model.coef.tolist()
        out = []
        for row in X.tolist():
            y = model.intercept
            for x, c in zip(row, coef):
                y += x * c
            out.append(y)
        return np.array(out, dtype=np.float64)
    y = np.full(len(X), model.intercept)
    with np.errstate(over="ignore", invalid="ignore"):
        for j, c in enumerate(model.coef):
            y += X[:, j] * c
    return y
