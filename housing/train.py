"""Stage 2: scikit-learn's ``LinearRegression`` on the training split, saved as a float model.

    python -m housing train [--data artifacts/data/split.npz] [--out artifacts/models/float.npz]

Only ``coef_`` and ``intercept_`` leave scikit-learn: they are written to an .npz, so
inference never needs scikit-learn, joblib or pickle.
"""
from . import store
from .cli import Parser, command, scikit_learn, write_out
from .config import FLOAT_MODEL, SPLIT


def fit(X, y):
    """Ordinary least squares by ``sklearn.linear_model.LinearRegression``.

    X : ndarray of shape (n_samples, n_features); y : ndarray of shape (n_samples,), $100,000.
    Returns coef of shape (n_features,), $100,000 per feature unit, and the intercept.
    """
    # imported here: `python -m housing --help` and the other stages stay numpy-only
    linear_model = scikit_learn("sklearn.linear_model", "housing train")
    model = linear_model.LinearRegression().fit(X, y)
    return model.coef_, float(model.intercept_)


def parser():
    p = Parser(prog="housing train", description=__doc__.splitlines()[0])
    p.add_argument("--data", default=SPLIT, help="the split written by `housing data`")
    p.add_argument("--out", default=FLOAT_MODEL, help="the float model, .npz")
    return p


@command("housing train")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    split = store.load_split(args.data)
    coef, intercept = fit(split.arrays["X_train"], split.arrays["y_train"])
    store.save_float(args.out, coef, intercept, split.lineage)
    write_out(f"train: LinearRegression, {len(coef)} coefficients, intercept {intercept:.4f} "
              f"-> {args.out}\n", "the summary")
    return 0
