"""The train/test split's file: its four arrays and what the models record of it."""
import numpy as np

from . import store
from .cli import UserError, display
from .config import FORMAT_VERSION

SPLIT_ARRAYS = ("X_train", "y_train", "X_test", "y_test")


def save_split(path, arrays, meta):
    store.save_npz(path, dict(meta, format=store.FORMAT, version=FORMAT_VERSION, kind="split"),
             {name: arrays[name] for name in SPLIT_ARRAYS})


def load_split(path):
    """Read and check the train/test split; returns (meta, arrays)."""
    where = display(path)
    meta, arrays = store.load_npz(path, "the train/test split", SPLIT_ARRAYS)
    if meta.get("kind") != "split":
        raise UserError(f"{where}: expected the train/test split, got {meta.get('kind')!r}")
    n = store.check_features(where, meta)
    for part in ("train", "test"):
        X = arrays[f"X_{part}"]
        y = arrays[f"y_{part}"]
        rows = X.shape[0] if X.ndim else 0
        store.check_array(where, f"X_{part}", X, "<f8", (rows, n))
        store.check_array(where, f"y_{part}", y, "<f8", (rows,))
        if not (np.isfinite(X).all() and np.isfinite(y).all()):
            raise UserError(f"{where}: X_{part} or y_{part} holds non-finite values")
    return meta, arrays
