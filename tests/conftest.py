"""Fixtures: a split and both models built from synthetic data, on disk, once; a live
server of them for each serving test module."""
import pytest

from housing import quantize, train

from helpers import synthetic, write_split
from repo import free_port
from serving import start, stop


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


@pytest.fixture(scope="module")
def server(built):
    """A live server of the built models, one worker, for a test module: (address, process)."""
    port = free_port()
    proc = start(built, port)
    yield f"127.0.0.1:{port}", proc
    if proc.poll() is None:
        status, out, err = stop(proc)
        assert status == 0 and "Traceback" not in err, err
