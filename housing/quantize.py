"""Stage 3: post-training quantization of the float model's coefficients.

    python -m housing quantize [--bits 8] [--method auto] [--model ...] [--data ...] [--out ...]

Four methods, each a pure function of (coefficients, intercept, training data, bits):

minmax
    Per-tensor affine min-max, as framework observers do it: the range widened to include
    0, an integer zero point, round to nearest, clamp. The honest baseline.
bias-corrected
    The same grid, then the intercept refitted for the rounded coefficients,
    b' = mean(y) - mean(X) @ w_hat (Nagel et al. 2019). Most of a rounded coefficient's
    error is a constant offset, because features such as Longitude sit near -120.
standardized
    Each coefficient times its feature's spread (a power of two, stored as an int8
    exponent) on one shared symmetric grid, so every feature's rounding costs about the
    same in the output. An exponent is then raised while its coefficient still fits the
    grid: small coefficients get finer steps for the same bytes, and no step gets coarser.
    The shared scale is searched over [0.5, 1] x max to minimise the training objective.
    Intercept refitted.
error-compensating
    GPTQ / Optimal Brain Quantization on the standardized grid: quantize one coefficient
    at a time and move the ones not yet quantized to absorb its error, under
    H = Xc.T @ Xc / n of the centred training data. At each scale the better of this and
    plain rounding is kept, so it is never worse than ``standardized``. Intercept refitted.

The training objective throughout is the mean squared change of the training predictions
from the float model's. ``auto`` quantizes with every method and keeps the one with the
smallest training objective: the test split is never read here.
"""
from typing import NamedTuple

import numpy as np

from . import qparams, store
from .cli import Parser, UserError, command, write_out
from .config import FLOAT_MODEL, MAX_BITS, MIN_BITS, PARAMS, QUANTIZED_MODEL, SPLIT
from .config import METHODS as NAMES

SCALES = np.linspace(0.5, 1.0, 101)  # shared-scale candidates, as fractions of max |w * f|


def minmax(coef, intercept, X, y, bits):
    """Affine min-max grid over the coefficients; the float32 intercept is kept as is
    (X and y are not used: the baseline knows nothing of the data)."""
    levels = 2 ** bits - 1
    lo = min(coef.min(), 0.0)
    hi = max(coef.max(), 0.0)
    scale = np.float32((hi - lo) / levels) if hi > lo else np.float32(1.0)
    zero_point = int(np.clip(np.round(-lo / float(scale)), 0, levels))
    codes = np.clip(np.round(coef / float(scale)) + zero_point, 0, levels).astype(np.int64)
    return qparams.Quantized("minmax", bits, codes, scale, zero_point, np.float32(intercept))


def refit_intercept(coef, X, y):
    """The least-squares intercept for fixed coefficients: mean(y) - mean(X) @ coef."""
    return np.float32(y.mean() - X.mean(axis=0) @ coef)


def bias_corrected(coef, intercept, X, y, bits):
    q = minmax(coef, intercept, X, y, bits)
    coef_hat, _ = qparams.dequantize(q)
    return qparams.Quantized("bias-corrected", bits, q.codes, q.scale, q.zero_point,
                       refit_intercept(coef_hat, X, y))


def spread_exponents(X):
    """Power-of-two exponents nearest each feature's standard deviation, shape (n_features,)."""
    std = X.std(axis=0)
    return np.where(std > 0, np.round(np.log2(np.where(std > 0, std, 1.0))), 0).astype(np.int64)


def grid_exponents(w, floor, scale, bits):
    """The largest exponent >= ``floor`` at which ``w * 2**e`` still fits on the grid.
    Arrays broadcast: w and floor per coefficient, scale per candidate grid."""
    with np.errstate(divide="ignore"):
        fit = np.floor(np.log2(qparams.qmax(bits) * scale / np.abs(w)))
    e = np.where(np.isfinite(fit), np.maximum(floor, fit), floor)
    return np.clip(e, -127, 127).astype(np.int64)


class OnGrid(NamedTuple):
    """Coefficients placed on a symmetric grid: their codes, their exponents and the
    values they dequantize to."""
    codes: np.ndarray
    exponents: np.ndarray
    values: np.ndarray


def round_to_grid(w, floor, scale, bits):
    """Round to nearest on the symmetric grid: an OnGrid."""
    e = grid_exponents(w, floor, scale, bits)
    k = qparams.qmax(bits)
    c = np.clip(np.round(np.ldexp(w, e) / scale), -k, k)
    return OnGrid((c + k).astype(np.int64), e, np.ldexp(c * scale, -e))


def gptq(w, floor, scales, bits, H):
    """Quantize coefficients in index order, each one's error spread over those not yet
    quantized through H's inverse (Frantar et al. 2022, for a single output), on every
    candidate grid at once. w, floor: shape (n,); scales: shape (s,). Returns an OnGrid
    whose arrays are of shape (s, n)."""
    n = len(w)
    d = np.diag(H).copy()
    d[d == 0] = 1.0
    Hinv = np.linalg.inv(H + 1e-10 * np.diag(d))  # damped: a constant feature has H_ii = 0
    W = np.tile(w.astype(np.float64), (len(scales), 1))
    codes = np.zeros(W.shape, np.int64)
    exps = np.zeros(W.shape, np.int64)
    out = np.zeros(W.shape, np.float64)
    for i in range(n):
        codes[:, i], exps[:, i], out[:, i] = round_to_grid(W[:, i], floor[i], scales, bits)
        err = (W[:, i] - out[:, i]) / Hinv[i, i]
        W[:, i + 1:] -= np.outer(err, Hinv[i, i + 1:])
        Hinv = Hinv - np.outer(Hinv[:, i], Hinv[i]) / Hinv[i, i]  # coefficient i is fixed
    return OnGrid(codes, exps, out)


def _symmetric(method, coef, X, y, bits, compensate):
    Xc = X - X.mean(axis=0)
    H = Xc.T @ Xc / len(X)
    floor = spread_exponents(X)
    base = np.abs(np.ldexp(coef, floor)).max() / qparams.qmax(bits)
    # float32: the scale is stored as one, so candidates are judged as they will be used
    scales = np.float32(max(base, np.finfo(np.float32).tiny) * SCALES).astype(np.float64)
    codes, exps, values = round_to_grid(coef, floor, scales[:, None], bits)
    if compensate:  # plain rounding stays a candidate: never worse than `standardized`
        compensated = gptq(coef, floor, scales, bits, H)
        codes, exps, values = (np.vstack(pair) for pair in zip((codes, exps, values),
                                                               compensated))
        scales = np.concatenate([scales, scales])
    D = values - coef
    best = int(np.argmin(np.einsum("si,ij,sj->s", D, H, D)))
    return qparams.Quantized(method, bits, codes[best], np.float32(scales[best]), qparams.qmax(bits),
                       refit_intercept(values[best], X, y), exps[best].astype(np.int8))


def standardized(coef, intercept, X, y, bits):
    return _symmetric("standardized", coef, X, y, bits, compensate=False)


def error_compensating(coef, intercept, X, y, bits):
    return _symmetric("error-compensating", coef, X, y, bits, compensate=True)


# Every method, in the order tables and ties list them: name -> fn(coef, intercept, X, y,
# bits) -> qparams.Quantized. Adding one: a function, an entry.
METHODS = {"minmax": minmax, "bias-corrected": bias_corrected, "standardized": standardized,
           "error-compensating": error_compensating}
assert tuple(METHODS) == NAMES, "config.METHODS names these, in this order"
AUTO = "auto"  # every method, keeping the best on the training objective


def quantize(method, coef, intercept, X, y, bits):
    """Quantize a float model with ``method`` (a name in METHODS, or AUTO) at ``bits``.

    coef : ndarray of shape (n_features,); intercept : float
    X, y : the training split, shapes (n_samples, n_features) and (n_samples,)
    """
    if method == AUTO:
        return choose(quantize_all(coef, intercept, X, y, bits), coef, intercept, X)
    return METHODS[method](coef, intercept, X, y, bits)


def train_objective(q, coef, intercept, X):
    """Mean squared change of the training predictions from the float model's."""
    coef_hat, intercept_hat = qparams.dequantize(q)
    return float(np.mean((X @ (coef_hat - coef) + (intercept_hat - intercept)) ** 2))


def choose(results, coef, intercept, X):
    """``auto``: of ``results`` (method -> Quantized, every method at one width), the one
    with the smallest training objective, the first in METHODS on ties. Only the training
    split is passed in, so the choice cannot see the test split."""
    names = list(METHODS)
    losses = [train_objective(results[name], coef, intercept, X) for name in names]
    return results[names[int(np.argmin(losses))]]


def quantize_all(coef, intercept, X, y, bits):
    """Every method at ``bits``: method -> Quantized."""
    return {name: fn(coef, intercept, X, y, bits) for name, fn in METHODS.items()}


def parser():
    p = Parser(prog="housing quantize", description=__doc__.splitlines()[0])
    p.add_argument("--bits", type=int, default=PARAMS.bits,
                   help=f"code width, {MIN_BITS} to {MAX_BITS}")
    p.add_argument("--method", default=PARAMS.method, help=f"{AUTO} or one of {', '.join(METHODS)}")
    p.add_argument("--model", default=FLOAT_MODEL, help="the float model")
    p.add_argument("--data", default=SPLIT, help="the split the float model was trained on")
    p.add_argument("--out", default=QUANTIZED_MODEL, help="the quantized model, .npz")
    return p


@command("housing quantize")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        qparams.check_bits(args.bits)
    except ValueError as e:
        raise UserError(f"--bits {e}") from None
    if args.method != AUTO and args.method not in METHODS:
        raise UserError(f"--method must be {AUTO} or one of {', '.join(METHODS)}, "
                        f"got {args.method!r}")
    trained = store.load_trained(args.data, float=args.model)
    float_model = trained.models["float"]
    split = trained.split
    coef = float_model.coef
    intercept = float_model.intercept
    X = split.arrays["X_train"]
    y = split.arrays["y_train"]
    q = quantize(args.method, coef, intercept, X, y, args.bits)
    store.save_quantized(args.out, q, float_model.lineage, auto=args.method == AUTO)
    write_out(f"quantize: {q.method}, {q.bits} bits, {q.payload_bytes} payload bytes -> "
              f"{args.out}\n", "the summary")
    return 0
