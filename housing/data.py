"""Stage 1: California Housing from scikit-learn's cache, checked, split, saved.

    python -m housing data [--seed 42] [--test-size 0.2] [--out artifacts/data/split.npz]
    python -m housing data --sample-from artifacts/data/split.npz [--sample artifacts/sample.csv]

The second form writes the few test rows, with their true values, that the image bundles.

The only stage that imports scikit-learn, and only for ``fetch_california_housing``, which
reads ``$SCIKIT_LEARN_DATA`` (or ~/scikit_learn_data) and downloads when the cache is empty.
"""
import hashlib
import math
import warnings

import numpy as np

from . import store
from .cli import Parser, UserError, atomic_write, command
from .config import FEATURES, N_ROWS, PARAMS, SAMPLE, SPLIT, TARGET


def fetch():
    """X of shape (20640, 8) float64, y of shape (20640,) in $100,000, feature names."""
    from sklearn.datasets import fetch_california_housing, get_data_home
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Retry downloading ...": the error says it all
            bunch = fetch_california_housing()
    except OSError as e:  # urllib's URLError, a socket error: no cache and no download
        raise UserError(f"California Housing is not in scikit-learn's cache "
                        f"({get_data_home()}) and could not be downloaded ({e}); "
                        f"set SCIKIT_LEARN_DATA to a folder holding cal_housing_py3.pkz") from None
    except Exception as e:  # noqa: BLE001 - joblib raises many kinds on a damaged cache
        raise UserError(f"scikit-learn's cache of California Housing in {get_data_home()} "
                        f"is damaged ({type(e).__name__}: {e}); delete cal_housing_py3.pkz "
                        f"there to download it again, or point SCIKIT_LEARN_DATA at a "
                        f"good copy") from None
    return bunch.data, bunch.target, tuple(bunch.feature_names)


def check(X, y, names):
    """Raise UserError unless the data set is what the pipeline was built for."""
    if tuple(names) != FEATURES:
        raise UserError(f"expected features {', '.join(FEATURES)}; got {', '.join(names)}")
    if X.shape != (N_ROWS, len(FEATURES)) or y.shape != (N_ROWS,):
        raise UserError(f"expected {N_ROWS} rows of {len(FEATURES)} features; got X of "
                        f"shape {X.shape} and y of shape {y.shape}")
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise UserError(f"expected finite values; row {row}, column '{names[col]}' "
                        f"is {X[row, col]}")
    if not np.isfinite(y).all():
        raise UserError(f"expected finite targets; row {np.flatnonzero(~np.isfinite(y))[0]} "
                        f"is not")


def split_indices(n, test_size, seed):
    """Row indices (train, test) of a shuffled split, drawn exactly as scikit-learn's
    ``train_test_split(..., test_size, random_state=seed)`` draws them, so our figures
    compare with published ones; checked against it in the tests."""
    n_test = math.ceil(test_size * n)
    order = np.random.RandomState(seed).permutation(n)
    return order[n_test:], order[:n_test]


def fingerprint(X, y):
    """sha256 of the data set's numbers, little-endian float64: what a model was fit on."""
    h = hashlib.sha256()
    for a in (X, y):
        h.update(np.ascontiguousarray(a, "<f8").tobytes())
    return h.hexdigest()


def sample_csv(X, y, rows):
    """The first ``rows`` test rows as CSV with a header, features then the true value."""
    lines = [",".join(FEATURES + (TARGET,))]
    lines += [",".join(repr(float(v)) for v in np.append(x, t)) for x, t in zip(X[:rows], y[:rows])]
    return "\n".join(lines) + "\n"


def _parser():
    p = Parser(prog="housing data", description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=PARAMS.seed, help="split seed")
    p.add_argument("--test-size", type=float, default=PARAMS.test_size,
                   help="share of rows held out for test, between 0 and 1")
    p.add_argument("--out", default=SPLIT, help="the split, .npz")
    p.add_argument("--sample-from", metavar="SPLIT",
                   help="only write --sample, from this split (no scikit-learn needed)")
    p.add_argument("--sample", default=SAMPLE, help="a few test rows as CSV, for the image")
    return p


@command("housing data")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.sample_from:
        _, split = store.load_split(args.sample_from)
        rows = sample_csv(split["X_test"], split["y_test"], PARAMS.sample_rows)
        atomic_write(args.sample, rows.encode())
        print(f"data: {PARAMS.sample_rows} test rows -> {args.sample}")
        return 0
    if not 0 < args.test_size < 1:
        raise UserError(f"--test-size must be between 0 and 1 (exclusive), got {args.test_size}")
    if args.seed < 0 or args.seed >= 2 ** 32:
        raise UserError(f"--seed must be between 0 and 2**32 - 1, got {args.seed}")
    X, y, names = fetch()
    check(X, y, names)
    train, test = split_indices(len(X), args.test_size, args.seed)
    meta = {"features": list(FEATURES), "target": TARGET, "data_sha256": fingerprint(X, y),
            "seed": args.seed, "test_size": args.test_size}
    arrays = {"X_train": X[train], "y_train": y[train], "X_test": X[test], "y_test": y[test]}
    store.save_split(args.out, arrays, meta)
    print(f"data: {len(train)} train and {len(test)} test rows (seed {args.seed}) -> {args.out}")
    return 0
