"""Stage 2: ordinary least squares on the training split, saved as a float model.

    python -m housing train [--data artifacts/data/split.npz] [--out artifacts/models/float.npz]

This solves the problem scikit-learn's ``LinearRegression`` solves, the same way (centre,
then least squares), in numpy: importing scikit-learn costs ~0.8 s, more than the whole
stage. ``tests/test_train.py`` checks the two agree to 1e-10.
"""
import numpy as np

from . import store
from .cli import Parser, command
from .config import FLOAT_MODEL, SPLIT


def fit(X, y):
    """Least-squares coefficients of shape (n_features,) and intercept.

    X : ndarray of shape (n_samples, n_features); y : ndarray of shape (n_samples,).
    Centring first makes the intercept exact and the system better conditioned
    (Longitude sits near -120 with a spread of 2).
    """
    x_mean, y_mean = X.mean(axis=0), y.mean()
    coef, *_ = np.linalg.lstsq(X - x_mean, y - y_mean, rcond=None)
    return coef, float(y_mean - x_mean @ coef)


def _parser():
    p = Parser(prog="housing train", description=__doc__.splitlines()[0])
    p.add_argument("--data", default=SPLIT, help="the split written by `housing data`")
    p.add_argument("--out", default=FLOAT_MODEL, help="the float model, .npz")
    return p


@command("housing train")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    meta, split = store.load_split(args.data)
    coef, intercept = fit(split["X_train"], split["y_train"])
    lineage = {k: meta[k] for k in store.LINEAGE}
    store.save_float(args.out, coef, intercept, lineage)
    print(f"train: {len(coef)} coefficients, intercept {intercept:.4f} -> {args.out}")
    return 0
