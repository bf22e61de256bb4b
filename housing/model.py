"""The two models in memory, how quantized parameters become bytes, and inference.

Plain numpy, and the only numerics ``predict`` needs, so inference imports nothing heavier.

A quantized coefficient is stored as an unsigned ``bits``-wide code ``q`` and dequantized as

    w = (q - zero_point) * scale * 2**-exponent

with one float32 ``scale`` shared by all coefficients. Min-max grids store their integer
``zero_point`` as one more code and have no exponents. Symmetric grids have the implied
zero point ``2**(bits-1) - 1`` and one int8 exponent per coefficient. Either way, zero is
the code ``q == zero_point`` and dequantizes to exactly 0.0. The intercept is a float32.
"""
from dataclasses import dataclass
from operator import le

import numpy as np

from . import integer
from .config import MAX_BITS, MIN_BITS
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


def checked_predict(model, chunk, strict=False, fixed=False):
    """Predictions for a ``readers.chunk.Chunk``: (y of the rows that stay, shape (k,);
    their positions in chunk.X; the rows refused, as BadRows). A prediction that
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
        return y, np.arange(len(y)), []
    bad = []
    for i in np.flatnonzero(refused):
        no, key = chunk.nos[i], chunk.ids[i] if chunk.ids is not None else None
        if fixed and np.isnan(y[i]):
            low, high = integer.limits(model.kernel)
            j = int(np.flatnonzero(~((chunk.X[i] >= low) & (chunk.X[i] <= high)))[0])
            bad.append(BadRow(no, f"{chunk.where(no)}, column '{model.features[j]}': "
                                  f"expected a value the integer model's inputs hold, "
                                  f"{low[j]:g} to {high[j]:g}, got {chunk.X[i][j]:g}", key))
        elif np.isfinite(y[i]):
            j, value, low, high = first_outside(model, chunk.X[i])
            bad.append(BadRow(no, f"{chunk.where(no)}, column '{model.features[j]}': "
                                  f"expected a value within the training range, {low:g} to "
                                  f"{high:g}, got {value:g}", key))
        else:
            bad.append(BadRow(no, f"{chunk.where(no)}: the prediction overflows to "
                                  f"{float(y[i])!r}; expected features small enough for a "
                                  f"finite prediction", key))
    keep = np.flatnonzero(~refused)
    return y[keep], keep, bad


def outside(model, X):
    """Which values of X, shape (n, n_features), lie outside the training range."""
    return (X < model.low) | (X > model.high)


def rows_outside(model, X):
    """How many rows of X, shape (n, n_features), have a feature outside the training
    range; a few rows in Python floats, which beat numpy's per-call cost."""
    if len(X) > SMALL:
        return int(outside(model, X).any(axis=1).sum())
    low, high = model.low.tolist(), model.high.tolist()
    return sum(not (all(map(le, low, row)) and all(map(le, row, high))) for row in X.tolist())


def first_outside(model, x):
    """(feature index, value, low, high) of the first feature of row ``x`` outside the
    training range."""
    j = int(np.flatnonzero(outside(model, x[None])[0])[0])
    return j, x[j], model.low[j], model.high[j]


SMALL = 16  # rows; fewer are summed in Python floats, which beat numpy's per-call cost


def predict(model, X):
    """Predictions for X of shape (n_samples, n_features), columns in ``model.features``
    order; returns shape (n_samples,), in units of $100,000. An overflow gives inf, not a
    warning: the caller decides what a non-finite prediction means.

    One feature at a time, in a fixed order, rather than ``X @ coef``: BLAS picks its
    summation order by memory layout and CPU, so the same row could come out a last bit
    different from a file, from stdin, in a chunk of another size, or in the container.
    A few rows (one HTTP request, say) take the same sums in Python floats, which round
    each product and each sum exactly as numpy's float64 does: the same bits, faster.
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


@dataclass(frozen=True)
class Quantized:
    """Quantized parameters, exactly as stored.

    codes : ndarray of shape (n_features,), int64, each in [0, 2**bits)
    scale, intercept : np.float32
    zero_point : int, in [0, 2**bits)
    exponents : ndarray of shape (n_features,), int8, or None for min-max grids
    """
    method: str
    bits: int
    codes: np.ndarray
    scale: np.float32
    zero_point: int
    intercept: np.float32
    exponents: np.ndarray = None

    @property
    def symmetric(self):
        return self.exponents is not None

    @property
    def payload_bytes(self):
        return payload_bytes(self.symmetric, self.bits, len(self.codes))


def qmax(bits):
    """Largest magnitude on a symmetric grid; the code of zero is this value."""
    return 2 ** (bits - 1) - 1


def steps(q):
    """Grid step of each coefficient, shape (n_features,), in coefficient units."""
    step = np.full(len(q.codes), float(q.scale))
    if q.exponents is not None:
        step = np.ldexp(step, -q.exponents.astype(np.int64))
    return step


def dequantize(q):
    """Float64 coefficients of shape (n_features,) and intercept of a ``Quantized``."""
    return (q.codes - q.zero_point) * steps(q), float(q.intercept)


def pack_bits(codes, bits):
    """Unsigned codes of shape (n,) as a little-endian bit stream of ceil(n*bits/8) bytes."""
    codes = np.asarray(codes, dtype=np.int64)
    assert codes.min() >= 0 and codes.max() < 2 ** bits, "codes must fit in bits"
    planes = (codes[:, None] >> np.arange(bits)) & 1
    return np.packbits(planes.astype(np.uint8).ravel(), bitorder="little").tobytes()


def unpack_bits(buf, bits, n):
    """Inverse of ``pack_bits``: n codes, int64, from a bit stream."""
    planes = np.unpackbits(np.frombuffer(buf, np.uint8), bitorder="little")[: n * bits]
    return planes.reshape(n, bits).astype(np.int64) @ (1 << np.arange(bits, dtype=np.int64))


def layout(symmetric, bits, n):
    """The payload's fields in order, as (name, bytes), for n coefficients on a symmetric
    grid (per-coefficient exponents) or a min-max one (a zero point)."""
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"bits must be between {MIN_BITS} and {MAX_BITS}, got {bits}")
    if symmetric:
        return [("scale", 4), ("intercept", 4), ("exponents", n), ("codes", -(-n * bits // 8))]
    # min-max grids carry their zero point as one more code
    return [("scale", 4), ("intercept", 4), ("codes", -(-(n + 1) * bits // 8))]


def payload_bytes(symmetric, bits, n):
    """What the parameters take in a file: the sum of ``layout``."""
    return sum(size for _, size in layout(symmetric, bits, n))


def encode(q):
    """The payload bytes of a ``Quantized``: the parameters and nothing else."""
    out = [np.float32(q.scale).tobytes(), np.float32(q.intercept).tobytes()]
    if q.symmetric:
        out.append(q.exponents.astype(np.int8).tobytes())
        out.append(pack_bits(q.codes, q.bits))
    else:
        out.append(pack_bits(np.append(q.codes, q.zero_point), q.bits))
    return b"".join(out)


def decode(payload, method, symmetric, bits, n):
    """Inverse of ``encode``; raises ValueError when the payload does not fit the layout."""
    fields = layout(symmetric, bits, n)
    expected = payload_bytes(symmetric, bits, n)
    if len(payload) != expected:
        raise ValueError(f"expected {expected} payload bytes for {n} coefficients at "
                         f"{bits} bits ({method}), got {len(payload)}")
    parts, at = {}, 0
    for name, size in fields:
        parts[name], at = payload[at:at + size], at + size
    scale = np.frombuffer(parts["scale"], "<f4")[0]
    intercept = np.frombuffer(parts["intercept"], "<f4")[0]
    if symmetric:
        codes = unpack_bits(parts["codes"], bits, n)
        exponents = np.frombuffer(parts["exponents"], np.int8).copy()
        return Quantized(method, bits, codes, scale, qmax(bits), intercept, exponents)
    codes = unpack_bits(parts["codes"], bits, n + 1)
    return Quantized(method, bits, codes[:n], scale, int(codes[n]), intercept)
