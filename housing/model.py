"""A linear model in memory, float or quantized (dequantized): what it is, and inference.

The one typed description of a model: what it was trained on (``Lineage``, with the
training ``Ranges``), how it was quantized (``Quantization``, None for a float model), and
its identity (the sha256 of its file). Plain numpy, and the only numerics ``predict``
needs, so inference imports nothing heavier. How a model is stored is ``qparams``'s and
``store``'s business; how a refused row is worded is the readers'.
"""
from dataclasses import dataclass, fields
from operator import gt, lt
from typing import NamedTuple

import numpy as np

from . import integer

# What a float model is, in the words a quantized one gives for its own codes.
FLOAT_METHOD = "least squares"
FLOAT_BITS = 64
VERSION_DIGITS = 12  # of a file's sha256: the version a server, an export and MLflow show
PER_FEATURE = ("min", "max", "q001", "q999", "mean", "std")  # what Ranges holds per feature
BINS = 10  # the bins drift is counted in: the training split's deciles cut it in ten


@dataclass(frozen=True, eq=False)
class Ranges:
    """The training split's profile of each feature: its min, max, 0.1 % and 99.9 %
    quantiles, mean and standard deviation, each an ndarray of shape (n_features,),
    float64; and its deciles, shape (BINS - 1, n_features), row k the (k + 1)/10 quantile.

    ``outside`` is the one test of "outside the training range": predict, the server and
    the query of ``housing sql`` ask it. ``bins`` is the one cut of a value into the bins
    drift is counted in: the server's counters and ``housing drift`` use it.
    """
    min: np.ndarray
    max: np.ndarray
    q001: np.ndarray
    q999: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    deciles: np.ndarray

    @classmethod
    def of(cls, stored):
        """From the dict of lists a file holds."""
        return cls(*(np.array(stored[name], dtype=np.float64)
                     for name in PER_FEATURE + ("deciles",)))

    def stored(self):
        """The dict of lists a file holds."""
        return {name: getattr(self, name).tolist() for name in PER_FEATURE + ("deciles",)}

    def bins(self, X):
        """The bin of each value of X, shape (n, n_features), as integers 0 to BINS - 1:
        how many of its feature's deciles lie below it (a value equal to a decile is in the
        bin that decile closes, as Prometheus's ``le`` buckets count)."""
        return (X[:, None, :] > self.deciles[None]).sum(axis=1)

    def bin_counts(self, X):
        """How many rows of X, shape (n, n_features), lie in each bin of each feature:
        shape (n_features, BINS)."""
        n_features = X.shape[1]
        flat = self.bins(X) + BINS * np.arange(n_features)
        return np.bincount(flat.ravel(), minlength=BINS * n_features).reshape(n_features, BINS)

    def outside(self, X):
        """Which values of X, shape (n, n_features), lie outside the training range."""
        return (X < self.min) | (X > self.max)

    def rows_outside(self, X):
        """Which rows of X, shape (n, n_features), have a feature outside the training
        range, shape (n,); two reductions when every row is inside."""
        if not len(X) or ((X.min(axis=0) >= self.min).all()
                          and (X.max(axis=0) <= self.max).all()):
            return np.zeros(len(X), dtype=bool)
        return self.outside(X).any(axis=1)

    def count_outside(self, X):
        """How many rows of X have a feature outside the training range; a few rows in
        Python floats, without numpy's per-call cost."""
        if len(X) > SMALL:
            return int(self.rows_outside(X).sum())
        low = self.min.tolist()
        high = self.max.tolist()
        return sum(any(map(lt, row, low)) or any(map(gt, row, high)) for row in X.tolist())

    def first_outside(self, x):
        """The Outside of the first feature of row ``x`` outside the training range."""
        j = int(np.flatnonzero(self.outside(x[None])[0])[0])
        return Outside(j, x[j], self.min[j], self.max[j])


@dataclass(frozen=True, eq=False)
class Lineage:
    """What a model keeps of the split it was fit on, and must match to be evaluated on one."""
    features: tuple
    data_sha256: str
    seed: int
    test_size: float
    ranges: Ranges

    def stored(self):
        """The dict a file holds."""
        return {"features": list(self.features), "data_sha256": self.data_sha256,
                "seed": self.seed, "test_size": self.test_size, "ranges": self.ranges.stored()}

    def difference(self, other):
        """The Difference of the first field in which two lineages differ, or None."""
        mine = self.stored()
        theirs = other.stored()
        for field in fields(self):
            if mine[field.name] != theirs[field.name]:
                return Difference(field.name, mine[field.name], theirs[field.name])
        return None


class Difference(NamedTuple):
    """A field in which two lineages differ, and its two values."""
    field: str
    mine: object
    theirs: object


@dataclass(frozen=True)
class Quantization:
    """How a quantized model's coefficients were quantized, as its file says.

    input_shifts : the integer kernel's input shifts, one per feature
    auto : the method was picked by auto on the training split
    """
    method: str
    bits: int
    symmetric: bool
    auto: bool
    input_shifts: tuple


@dataclass(frozen=True, eq=False)
class Model:
    """A linear model ready for inference.

    coef : ndarray of shape (n_features,), float64, target units per feature unit
    intercept : float, target units ($100,000)
    lineage : Lineage, what it was trained on
    quantization : Quantization, or None for a float model
    sha256 : str, of its file's bytes: its identity
    payload_bytes : int, what the parameters take in the file, without headers
    kernel : integer.Kernel of a quantized model, None for a float one
    """
    coef: np.ndarray
    intercept: float
    lineage: Lineage
    quantization: Quantization
    sha256: str
    payload_bytes: int
    kernel: integer.Kernel = None

    @property
    def kind(self):
        return "float" if self.quantization is None else "quantized"

    @property
    def features(self):
        return self.lineage.features

    @property
    def ranges(self):
        return self.lineage.ranges

    @property
    def method(self):
        return FLOAT_METHOD if self.quantization is None else self.quantization.method

    @property
    def bits(self):
        return FLOAT_BITS if self.quantization is None else self.quantization.bits

    @property
    def version(self):
        """The start of its file's sha256: a rebuilt model that differs in a byte is a new
        version."""
        return self.sha256[:VERSION_DIGITS]


class Refused(NamedTuple):
    """A row a model refuses: its position in the X it was given, the feature it refuses
    it for (None when the row as a whole), and why, for the reader to word with where the
    row came from."""
    row: int
    feature: str
    reason: str


class Checked(NamedTuple):
    """What checked_predict gives: the predictions of the rows that stay, shape (k,),
    their positions in X, and the rows refused, as Refused."""
    y: np.ndarray
    keep: np.ndarray
    refused: list


class Outside(NamedTuple):
    """The first feature of a row outside the training range: its index, value and range."""
    feature: int
    value: float
    low: float
    high: float


def checked_predict(model, X, strict=False, fixed=False):
    """The Checked predictions of X, shape (n, n_features). A prediction that is not
    finite refuses its row, as does (when ``strict``) a feature outside the training
    range. ``fixed``: by the integer kernel (y exactly its output / 2**OUT), refusing a
    row with a value its int32 inputs cannot hold."""
    if fixed:
        X_fixed, fits = integer.to_fixed(model.kernel, X)
        y = np.where(fits, integer.predict(model.kernel, X_fixed) / 2.0 ** integer.OUT, np.nan)
    else:
        y = predict(model, X)  # overflow gives inf, reported per row below
    refused = ~np.isfinite(y)
    if strict:
        refused |= model.ranges.rows_outside(X)
    if not refused.any():
        return Checked(y, np.arange(len(y)), [])
    why = []
    for i in np.flatnonzero(refused):
        i = int(i)
        if fixed and np.isnan(y[i]):
            low, high = integer.limits(model.kernel)
            j = int(np.flatnonzero(~((X[i] >= low) & (X[i] <= high)))[0])
            reason = (f"expected a value the integer model's inputs hold, {low[j]:g} to "
                      f"{high[j]:g}, got {X[i][j]:g}")
            why.append(Refused(i, model.features[j], reason))
        elif np.isfinite(y[i]):
            first = model.ranges.first_outside(X[i])
            reason = (f"expected a value within the training range, {first.low:g} to "
                      f"{first.high:g}, got {first.value:g}")
            why.append(Refused(i, model.features[first.feature], reason))
        else:
            reason = (f"the prediction overflows to {float(y[i])!r}; expected features small "
                      f"enough for a finite prediction")
            why.append(Refused(i, None, reason))
    keep = np.flatnonzero(~refused)
    return Checked(y[keep], keep, why)


SMALL = 16  # rows; fewer are summed in Python floats, without numpy's per-call cost
# (tests/bench/micro.py measures both paths)


def predict(model, X):
    """The predictions of ``linear`` for a Model."""
    return linear(model.coef, model.intercept, X)


def linear(coef, intercept, X):
    """Predictions for X of shape (n_samples, n_features), columns in the order of
    ``coef``; returns shape (n_samples,), in units of $100,000. An overflow gives inf, not a
    warning: the caller decides what a non-finite prediction means.

    One feature at a time, in a fixed order, rather than ``X @ coef``: BLAS picks its
    summation order by memory layout and CPU, so the same row could come out a last bit
    different from a file, from stdin, in a chunk of another size, or in the container.
    A few rows (one HTTP request, say) take the same sums in Python floats, which round
    each product and each sum exactly as numpy's float64 does: the same bits, without
    numpy's per-call cost.
    """
    if len(X) <= SMALL:
        weights = coef.tolist()
        out = []
        for row in X.tolist():
            y = intercept
            for x, c in zip(row, weights):
                y += x * c
            out.append(y)
        return np.array(out, dtype=np.float64)
    y = np.full(len(X), intercept)
    with np.errstate(over="ignore", invalid="ignore"):
        for j, c in enumerate(coef):
            y += X[:, j] * c
    return y
