"""Paths and parameters in one place.

Every path derives from ``ROOT``, the folder the command runs in: the repository, where
``make`` runs every stage, or /app in the image (so an installed ``housing`` command
finds ``artifacts/`` where it runs, wherever the package lives). Every CLI flag defaults
to a value here. The Makefile passes its own variables explicitly, and
``tests/test_pipeline.py`` checks that its defaults agree with ``PARAMS``.
"""
from dataclasses import dataclass
from pathlib import Path

ROOT = Path.cwd()
ARTIFACTS = ROOT / "artifacts"
# Temporaries of atomic writes: in the repo (so a rename into artifacts/ is atomic) but
# outside artifacts/, so a killed run leaves nothing half-written there.
SCRATCH = ROOT / ".tmp"
SPLIT = ARTIFACTS / "data" / "split.npz"
SAMPLE = ARTIFACTS / "sample.csv"  # outside data/, which the image leaves out
FLOAT_MODEL = ARTIFACTS / "models" / "float.npz"
QUANTIZED_MODEL = ARTIFACTS / "models" / "quantized.npz"
METRICS = ARTIFACTS / "metrics.json"

# scikit-learn's names, in its column order.
FEATURES = ("MedInc", "HouseAge", "AveRooms", "AveBedrms",
            "Population", "AveOccup", "Latitude", "Longitude")
TARGET = "MedHouseVal"  # median house value, in units of $100,000
N_ROWS = 20640

# Version of the .npz layouts written by housing.store; readers refuse any other, and it
# changes whenever what a file holds does.
FORMAT_VERSION = 6
# The quantization methods, in the order tables list them (housing.quantize has each).
METHODS = ("minmax", "bias-corrected", "standardized", "error-compensating")

SWEEP_BITS = (2, 3, 4, 5, 6, 8, 12, 16)
MIN_BITS = 2
MAX_BITS = 16  # 1 bit leaves a symmetric grid only zero


@dataclass(frozen=True)
class Params:
    seed: int = 42          # split seed; 42 with test_size 0.2 matches published figures
    test_size: float = 0.2  # share of rows held out for the test split
    bits: int = 8           # width of each quantized coefficient code
    method: str = "auto"    # a name in quantize.METHODS, or auto: best on the training split
    sample_rows: int = 5    # test rows bundled into the image with their true values


PARAMS = Params()
