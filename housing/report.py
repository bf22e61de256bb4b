"""Stage 4: both models on the test split, and every method at every width: metrics.json.

    python -m housing report [--data ...] [--float ...] [--quantized ...] [--metrics ...]

Only the numbers: ``housing render`` turns metrics.json into the README's tables and
figure, so ``make all`` never touches a committed file.
"""
import json
import os

import numpy as np

from . import integer
from . import model as m
from . import qparams
from . import quantize as qz
from . import store
from .cli import Parser, UserError, atomic_write, command, display, write_out
from .config import FLOAT_MODEL, METRICS, QUANTIZED_MODEL, ROOT, SPLIT, SWEEP_BITS

DIGITS = 8  # decimals kept in metrics.json: far below any difference that matters
RESAMPLES = 200  # bootstrap draws of the test rows for the noise of an R² change


def _round(x):
    return round(float(x), DIGITS)


def r2(y, pred):
    """Coefficient of determination of ``pred`` against ``y``, both of shape (n_samples,)."""
    return 1 - np.mean((pred - y) ** 2) / np.var(y)


def scores(y, pred, reference):
    """R², MSE and MAE of ``pred`` against ``y``, and its largest absolute difference from
    ``reference`` (the float model's predictions); all of shape (n_samples,), $100,000."""
    err = pred - y
    return {"r2": _round(r2(y, pred)), "mse": _round(np.mean(err ** 2)),
            "mae": _round(np.mean(np.abs(err))),
            "max_abs_diff_vs_float": _round(np.max(np.abs(pred - reference)))}


class Bootstrap:
    """Paired bootstrap of the test rows, drawn once: the standard error of a change in
    R² from the reference predictions, i.e. how much the change would move on another
    draw of test rows.

    y, reference : ndarray of shape (n_samples,)
    """

    def __init__(self, y, reference, seed=0):
        self.idx = np.random.default_rng(seed).integers(0, len(y), (RESAMPLES, len(y)))
        self.y = y[self.idx]
        self.var = self.y.var(axis=1)
        self.ref_mse = np.mean((self.y - reference[self.idx]) ** 2, axis=1)

    def r2_change_se(self, pred):
        mse = np.mean((self.y - pred[self.idx]) ** 2, axis=1)
        return float(((self.ref_mse - mse) / self.var).std())


def sweep(float_model, arrays, reference):
    """Every method at every width of SWEEP_BITS, scored on both parts of the split's
    ``arrays`` against ``reference``, the float model's test predictions; the noise of the
    R² change is measured for the method ``auto`` picks."""
    X = arrays["X_train"]
    y = arrays["y_train"]
    Xt = arrays["X_test"]
    yt = arrays["y_test"]
    coef = float_model.coef
    intercept = float_model.intercept
    bootstrap = Bootstrap(yt, reference)
    rows = []
    for bits in SWEEP_BITS:
        results = qz.quantize_all(coef, intercept, X, y, bits)
        picked = qz.choose(results, coef, intercept, X).method
        for method, q in results.items():
            weights, bias = qparams.dequantize(q)
            pred = m.linear(weights, bias, Xt)
            test = scores(yt, pred, reference)
            row = {"method": method, "bits": bits, "auto": method == picked,
                   "symmetric": q.symmetric,
                   "r2_test": test["r2"], "mse_test": test["mse"],
                   "r2_train": _round(r2(y, m.linear(weights, bias, X))),
                   "max_abs_diff_vs_float": test["max_abs_diff_vs_float"],
                   "payload_bytes": q.payload_bytes}
            if method == picked:
                row["r2_change_se"] = _round(bootstrap.r2_change_se(pred))
            rows.append(row)
    return rows


def evaluate(split, models):
    """The contents of metrics.json, but for file paths and sizes.

    split : a ``store.Split``; models : {"float": Model, "quantized": Model}
    """
    lineage = split.lineage
    arrays = split.arrays
    X = arrays["X_test"]
    y = arrays["y_test"]
    reference = m.predict(models["float"], X)
    out = {"split": {"data_sha256": lineage.data_sha256, "seed": lineage.seed,
                     "test_size": lineage.test_size, "train_rows": len(arrays["y_train"]),
                     "test_rows": len(y), "n_features": len(lineage.features)}}
    for name, model in models.items():
        quantization = model.quantization
        out[name] = dict(scores(y, m.predict(model, X), reference),
                         payload_bytes=model.payload_bytes,
                         bits=model.bits,
                         method=model.method,
                         symmetric=quantization is not None and quantization.symmetric,
                         auto=quantization is not None and quantization.auto,
                         data_sha256=model.lineage.data_sha256)
    k = models["quantized"].kernel
    X_fixed, fits = integer.to_fixed(k, X)
    if not fits.all():
        raise UserError(f"test row {int(np.flatnonzero(~fits)[0]) + 1} does not fit the "
                        f"integer kernel's int32 inputs")
    out["integer"] = dict(scores(y, integer.predict(k, X_fixed) / 2.0 ** integer.OUT,
                                 reference), input_shifts=list(k.input_shifts),
                          out_fraction_bits=integer.OUT)
    out["sweep"] = sweep(models["float"], arrays, reference)
    out["resamples"] = RESAMPLES
    return out


def parser():
    p = Parser(prog="housing report", description=__doc__.splitlines()[0])
    p.add_argument("--data", default=SPLIT, help="the split")
    p.add_argument("--float", dest="float_model", default=FLOAT_MODEL, help="the float model")
    p.add_argument("--quantized", default=QUANTIZED_MODEL, help="the quantized model")
    p.add_argument("--metrics", default=METRICS, help="the metrics JSON it writes")
    return p


@command("housing report")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    paths = {"float": args.float_model, "quantized": args.quantized}
    trained = store.load_trained(args.data, **paths)
    metrics = evaluate(trained.split, trained.models)
    for kind, path in paths.items():
        metrics[kind].update(path=os.path.relpath(os.path.abspath(path), ROOT),
                        file_bytes=os.path.getsize(path))
    atomic_write(args.metrics, (json.dumps(metrics, indent=2, sort_keys=True) + "\n").encode())
    write_out(f"report: float R² {metrics['float']['r2']:.4f}, quantized R² "
              f"{metrics['quantized']['r2']:.4f} ({metrics['quantized']['bits']} bits, "
              f"{metrics['quantized']['method']}) -> {display(args.metrics)}\n", "the summary")
    return 0
