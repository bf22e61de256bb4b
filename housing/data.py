"""Stage 1: California Housing from scikit-learn's cache, checked, split, saved.

    python -m housing data [--seed 42] [--test-size 0.2] [--out artifacts/data/split.npz]
    python -m housing data --sample-from artifacts/data/split.npz [--sample artifacts/sample.csv]

The second form writes the few test rows, with their true values, that the image bundles.

With train, the only stage that imports scikit-learn, here only for
``fetch_california_housing``, which reads ``$SCIKIT_LEARN_DATA`` (or ~/scikit_learn_data)
and downloads when the cache is empty: with a timeout, and saying so on stderr.
"""
import hashlib
import math
import os
import socket
import sys
import warnings
from pathlib import Path

import numpy as np

from . import store
from .cli import Parser, UserError, atomic_write, bounded, command, scikit_learn, write_out
from .config import FEATURES, N_ROWS, PARAMS, SAMPLE, SPLIT, TARGET
from .model import BINS, Lineage, Ranges


# A silent network (a firewall that accepts and never answers) fails the download within
# a minute: two attempts, each waiting at most ATTEMPT_TIMEOUT seconds for any one step.
ATTEMPT_TIMEOUT = 25
CACHE_FILE = "cal_housing_py3.pkz"  # what fetch_california_housing keeps in its cache


def fetch():
    """X of shape (20640, 8) float64, y of shape (20640,) in $100,000, feature names."""
    datasets = scikit_learn("sklearn.datasets", "housing data")
    home = data_home()
    created = not home.exists()
    if not (home / CACHE_FILE).exists():
        print(f"housing data: downloading California Housing into {home} (once; set "
              f"SCIKIT_LEARN_DATA to use a copy you have)", file=sys.stderr)
    timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(ATTEMPT_TIMEOUT)  # urllib, under scikit-learn, waits forever
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Retry downloading ...": the error says it all
            bunch = datasets.fetch_california_housing(data_home=home, n_retries=1, delay=1.0)
    except OSError as e:  # urllib's URLError, a timeout, a socket error
        if created and home.is_dir() and not any(home.iterdir()):
            home.rmdir()  # made by scikit-learn for the download that failed
        raise UserError(f"California Housing is not in scikit-learn's cache ({home}) and "
                        f"could not be downloaded ({e}); set SCIKIT_LEARN_DATA to a folder "
                        f"holding {CACHE_FILE}") from None
    except Exception as e:  # noqa: BLE001 - joblib raises many kinds on a damaged cache
        raise UserError(f"scikit-learn's cache of California Housing in {home} is damaged "
                        f"({type(e).__name__}: {e}); delete {CACHE_FILE} there to download "
                        f"it again, or point SCIKIT_LEARN_DATA at a good copy") from None
    finally:
        socket.setdefaulttimeout(timeout)
    return bunch.data, bunch.target, tuple(bunch.feature_names)


def data_home():
    """scikit-learn's data folder, as ``get_data_home`` finds it but without creating it."""
    return Path(os.environ.get("SCIKIT_LEARN_DATA", "~/scikit_learn_data")).expanduser()


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


def training_ranges(X):
    """What the model knows of each feature, for X of shape (n, n_features): the
    ``model.Ranges`` of the training split (its min, max, 0.1 % and 99.9 % quantiles, mean,
    standard deviation and deciles)."""
    q001, q999 = np.quantile(X, [0.001, 0.999], axis=0)
    # values of the data (inverted_cdf), not interpolations between two: shorter in the
    # file's JSON, and a bin's edge is a value seen in training
    deciles = np.quantile(X, np.arange(1, BINS) / BINS, axis=0, method="inverted_cdf")
    return Ranges(X.min(axis=0), X.max(axis=0), q001, q999, X.mean(axis=0), X.std(axis=0),
                  deciles)


def make_split(X, y, seed, test_size, features=FEATURES):
    """The ``store.Split`` of X of shape (n, n_features) and y of shape (n,): shuffled into
    train and test rows, and what models keep of it."""
    train, test = split_indices(len(X), test_size, seed)
    lineage = Lineage(tuple(features), fingerprint(X, y), seed, test_size,
                      training_ranges(X[train]))
    return store.Split(lineage, {"X_train": X[train], "y_train": y[train], "X_test": X[test],
                                 "y_test": y[test]})


def sample_csv(X, y, rows):
    """The first ``rows`` test rows as CSV with a header, features then the true value."""
    lines = [",".join(FEATURES + (TARGET,))]
    lines += [",".join(repr(float(v)) for v in np.append(x, t)) for x, t in zip(X[:rows], y[:rows])]
    return "\n".join(lines) + "\n"


def parser():
    p = Parser(prog="housing data", description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=PARAMS.seed, help="split seed")
    p.add_argument("--test-size", type=float, default=PARAMS.test_size,
                   help="share of rows held out for test, between 0 and 1")
    p.add_argument("--out", default=SPLIT, help="the split, .npz")
    p.add_argument("--sample-from", metavar="SPLIT",
                   help="only write --sample, from this split (no scikit-learn needed)")
    p.add_argument("--sample", default=SAMPLE, help="a few test rows as CSV, for the image")
    p.add_argument("--sample-rows", type=bounded(int, lambda n: n >= 0, "a whole number"),
                   default=PARAMS.sample_rows,
                   help=f"how many test rows --sample holds (default {PARAMS.sample_rows}); "
                        f"0 for all")
    return p


@command("housing data")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.sample_from:
        split = store.load_split(args.sample_from).arrays
        n = args.sample_rows or len(split["y_test"])
        atomic_write(args.sample, sample_csv(split["X_test"], split["y_test"], n).encode())
        write_out(f"data: {min(n, len(split['y_test']))} test rows -> {args.sample}\n",
                  "the summary")
        return 0
    if not 0 < args.test_size < 1:
        raise UserError(f"--test-size must be between 0 and 1 (exclusive), got {args.test_size}")
    if args.seed < 0 or args.seed >= 2 ** 32:
        raise UserError(f"--seed must be between 0 and 2**32 - 1, got {args.seed}")
    X, y, names = fetch()
    check(X, y, names)
    split = make_split(X, y, args.seed, args.test_size)
    store.save_split(args.out, split.lineage, TARGET, split.arrays)
    arrays = split.arrays
    write_out(f"data: {len(arrays['y_train'])} train and {len(arrays['y_test'])} test rows "
              f"(seed {args.seed}) -> {args.out}\n", "the summary")
    return 0
