"""Integer-only inference of the quantized model: what the exported C kernel computes.

Fixed-point formats (every value an integer; y in $100,000):

    input   X_j = round(x_j * 2**s_j), an int32; s_j per feature, the model file's
            ``input_shifts``, chosen so that twice the training range's largest
            magnitude fits (``input_shifts``)
    output  Y = round(y * 2**OUT), an int64

With c_j = code_j - zero_point and t_j = s_j + e_j (e_j the coefficient's exponent, 0 on
a min-max grid), each term X_j * c_j is worth 2**-t_j * scale. The kernel moves every
term to one fraction F (a left shift where t_j < F, a rounded right shift where t_j > F),
adds them and the intercept I = round(intercept / scale * 2**F) in an int64, and applies
the float32 scale as an integer multiplier M < 2**32 and a right shift N:
Y = round(acc * M / 2**N). F, M and N are chosen so that no step can overflow for any
int32 inputs (``Kernel``). Rounding is half away from zero throughout, on magnitudes, so
C and numpy agree bit for bit with no implementation-defined shift of a negative number.
"""
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

OUT = 16  # fraction bits of the output
INPUT_LIMIT = 2 ** 31 - 1  # inputs are int32 (-INPUT_LIMIT - 1 is refused as well)
MAX_RIGHT = 62  # a right shift past this gives 0 for every product, as would a longer one


def input_shifts(low, high):
    """Per feature, the largest s with 2 * max(|low|, |high|) * 2**s < 2**31: values up to
    twice the training range's magnitude fit an int32. Shape (n_features,), int."""
    m = np.maximum(np.abs(np.asarray(low, float)), np.abs(np.asarray(high, float)))
    _, e = np.frexp(m)  # m < 2**e
    return np.where(m > 0, 30 - e, 30).astype(np.int64)


@dataclass(frozen=True)
class Kernel:
    """The integer constants of a quantized model (all Python ints).

    codes : c_j = code_j - zero_point, per feature
    input_shifts : s_j, per feature
    shifts : F - t_j, per feature: a left shift when >= 0, else a rounded right shift
    intercept : I, in the accumulator's units (2**-F * scale)
    multiplier, rshift : M and N, with scale * 2**(OUT - F) = M / 2**N
    """
    codes: tuple
    input_shifts: tuple
    shifts: tuple
    intercept: int
    multiplier: int
    rshift: int


def kernel(q, shifts_in):
    """The ``Kernel`` of a ``qparams.Quantized`` with input shifts ``shifts_in``; a
    ValueError when no choice of F, M and N keeps every step within 64 bits."""
    c = [int(v) - int(q.zero_point) for v in q.codes]
    e = [0] * len(c) if q.exponents is None else [int(v) for v in q.exponents]
    t = [int(s) + ej for s, ej in zip(shifts_in, e)]
    scale = Fraction(float(q.scale))
    if scale <= 0:
        raise ValueError(f"the scale must be positive, got {float(q.scale)!r}")
    # |X_j * c_j| < 2**(31 + width); a left shift may take it to 2**(63 - guard), and
    # len(c) such terms plus I stay below 2**63
    width = max(max(abs(v) for v in c), 1).bit_length()
    guard = (len(c) + 1).bit_length() + 1
    high = min(t) + 63 - guard - 31 - width
    # as large as the left shifts allow, and no larger than puts R in [2**-32, 2**-31)
    F = min(high, OUT + _floor_log2(scale) + 32)
    R = scale * Fraction(2) ** (OUT - F)
    N = 31 - _floor_log2(R)
    M = round(R * 2 ** N)
    if M == 2 ** 32:
        M //= 2
        N -= 1
    intercept = round(Fraction(float(q.intercept)) / scale * 2 ** F)
    if not (33 <= N <= 63 and abs(intercept) < 2 ** 62):
        raise ValueError(f"no integer kernel fits 64 bits for scale {float(q.scale)!r} and "
                         f"intercept {float(q.intercept)!r}")
    return Kernel(tuple(c), tuple(int(s) for s in shifts_in), tuple(F - v for v in t),
                  intercept, M, N)


def _floor_log2(x):
    """floor(log2(x)) of a positive Fraction, exactly."""
    n = x.numerator.bit_length() - x.denominator.bit_length()
    return n if Fraction(2) ** n <= x else n - 1


def _round_shift(v, k):
    """round(v / 2**k), halves away from zero, for an int64 array v and 0 <= k <= 62."""
    m = np.abs(v)
    if k:
        m = (m + (1 << (k - 1))) >> k
    return np.where(v < 0, -m, m)


def to_fixed(k, X):
    """Float inputs of shape (n, n_features) as the kernel's int32 inputs, in int64, and
    which rows fit (a value that does not is refused by the caller, never wrapped)."""
    with np.errstate(over="ignore", invalid="ignore"):
        v = np.ldexp(X, np.array(k.input_shifts))
        r = np.trunc(v + np.copysign(0.5, v))  # half away from zero, as the C converts
    fits = (np.abs(r) <= INPUT_LIMIT).all(axis=1)  # False for NaN too
    return np.where(np.abs(r) <= INPUT_LIMIT, r, 0).astype(np.int64), fits


def limits(k):
    """The float values the int32 inputs hold, (low, high), each of shape (n_features,)."""
    step = np.ldexp(1.0, -np.array(k.input_shifts))
    return -INPUT_LIMIT * step, INPUT_LIMIT * step


def predict(k, X):
    """The kernel on int32 inputs X (any integer array of shape (n, n_features)): Y, int64
    of shape (n,), the prediction times 2**OUT."""
    X = np.asarray(X, dtype=np.int64)
    acc = np.full(len(X), k.intercept, dtype=np.int64)
    for j, (c, s) in enumerate(zip(k.codes, k.shifts)):
        p = X[:, j] * c
        acc += p * (1 << s) if s >= 0 else _round_shift(p, min(-s, MAX_RIGHT))
    a = np.abs(acc).astype(np.uint64)
    M = np.uint64(k.multiplier)
    hi = (a >> np.uint64(32)) * M
    lo = (a & np.uint64(0xFFFFFFFF)) * M
    r = ((hi + (lo >> np.uint64(32)) + np.uint64(1 << (k.rshift - 33)))
         >> np.uint64(k.rshift - 32)).astype(np.int64)
    return np.where(acc < 0, -r, r)


def decimal(Y):
    """The exact decimal text of Y / 2**OUT, as the C prints it: '-1.25', '3.0'."""
    whole, frac = divmod(abs(int(Y)), 1 << OUT)
    digits = f"{frac * 5 ** OUT:0{OUT}d}".rstrip("0") or "0"
    return f"{'-' if Y < 0 else ''}{whole}.{digits}"
