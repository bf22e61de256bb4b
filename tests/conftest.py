"""Synthetic data with known answers, and a split/model pipeline built from it on disk."""
import numpy as np
import pytest

from housing import data, quantize, store, train
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
    meta, arrays = data.make_split(X, y, seed, test_size)
    store.save_split(path, arrays, meta)
    return path


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """A split, float model and 8-bit quantized model from synthetic data, on disk."""
    d = tmp_path_factory.mktemp("built")
    X, y = synthetic()
    paths = {"split": d / "split.npz", "float": d / "float.npz", "quantized": d / "q.npz"}
    write_split(paths["split"], X, y)
    assert train.main(["--data", str(paths["split"]), "--out", str(paths["float"])]) == 0
    assert quantize.main(["--model", str(paths["float"]), "--data", str(paths["split"]),
                          "--out", str(paths["quantized"])]) == 0
    return paths
