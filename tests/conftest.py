"""Fixtures: a split and both models built from synthetic data, on disk, once."""
import pytest

from housing import quantize, train

from helpers import synthetic, write_split


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
