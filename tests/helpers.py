"""What several test files share: synthetic data with known answers, rows of features, and
predict's command line run in-process."""
import io
import sys

import numpy as np

from housing import data, store
from housing import predict as predict_stage
from housing.config import FEATURES

# Coefficients shaped like California Housing's: from 2e-6 to 0.8, with a Longitude-like
# feature near -120, so the failure modes of naive quantization show up here too.
TRUE_COEF = np.array([0.45, 0.0097, -0.12, 0.78, -2e-6, -0.0035, -0.42, -0.43])
TRUE_INTERCEPT = -37.0
LOCATION = np.array([3.9, 28.6, 5.4, 1.1, 1425.0, 3.1, 35.6, -119.6])
SPREAD = np.array([1.9, 12.6, 2.5, 0.47, 1132.0, 10.4, 2.1, 2.0])


def synthetic(n=4000, seed=0, noise=0.5):
    """X of shape (n, 8) with housing-like locations and spreads; y = X @ TRUE_COEF +
    TRUE_INTERCEPT + noise."""
    rng = np.random.default_rng(seed)
    X = LOCATION + SPREAD * rng.standard_normal((n, len(FEATURES)))
    y = X @ TRUE_COEF + TRUE_INTERCEPT + noise * rng.standard_normal(n)
    return X, y


def write_split(path, X, y, seed=42, test_size=0.2):
    split = data.make_split(X, y, seed, test_size)
    store.save_split(path, split.lineage, "MedHouseVal", split.arrays)
    return path


# Three rows of the real data set's shape, in the model's feature order.
ROWS = np.array([[8.3252, 41.0, 6.98, 1.02, 322.0, 2.55, 37.88, -122.23],
                 [5.6431, 52.0, 5.82, 1.07, 558.0, 2.55, 37.85, -122.25],
                 [2.0804, 42.0, 4.29, 1.12, 1206.0, 2.03, 37.84, -122.26]])


def run_predict(capsys, monkeypatch, model, data, *extra):
    """predict's CLI on ``data`` (bytes) from stdin: (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    rc = predict_stage.main(["--model", str(model), *extra])
    out, err = capsys.readouterr()
    return rc, out, err


def formula(model_path, X=ROWS):
    """Predictions by the formula X @ coef + intercept, the reference for the library's."""
    model = store.load_model(model_path)
    return X @ model.coef + model.intercept


TRUTH = [4.526, 3.585, 2.267]  # ROWS' median house values, in $100,000


def values(out):
    """predict's plain output as floats."""
    return [float(line) for line in out.splitlines()]


def pandas_csv(X=ROWS):
    """What ``df.to_csv("rows.csv")`` writes for a frame of features and the target:
    the index first, under an empty name."""
    lines = ["," + ",".join(FEATURES) + ",MedHouseVal"]
    lines += [f"{i}," + ",".join(map(repr, row)) + f",{t}" for i, (row, t)
              in enumerate(zip(X.tolist(), TRUTH))]
    return ("\n".join(lines) + "\n").encode()
