"""report: the numbers in metrics.json, against independent computations."""
import json

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from housing import quantize as qz
from housing import report, store
from housing.config import SWEEP_BITS

from helpers import synthetic, write_split


@pytest.fixture(scope="module")
def metrics(built, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "metrics.json"
    assert report.main(["--data", str(built["split"]), "--float", str(built["float"]),
                        "--quantized", str(built["quantized"]), "--metrics", str(path)]) == 0
    return json.loads(path.read_text())


def test_metrics_hold_both_models_and_the_sweep(metrics, built):
    for name in ("float", "quantized"):
        assert {"path", "r2", "mse", "mae", "max_abs_diff_vs_float", "file_bytes",
                "payload_bytes", "bits", "symmetric"} <= metrics[name].keys()
    assert metrics["float"]["max_abs_diff_vs_float"] == 0 and metrics["float"]["bits"] == 64
    assert metrics["quantized"]["payload_bytes"] == 24
    assert metrics["quantized"]["file_bytes"] == built["quantized"].stat().st_size
    assert [(r["method"], r["bits"]) for r in metrics["sweep"]] == \
        [(m, b) for b in SWEEP_BITS for m in qz.METHODS]
    assert sum(r["auto"] for r in metrics["sweep"]) == len(SWEEP_BITS)
    assert metrics["resamples"] == report.RESAMPLES


def test_metrics_agree_with_scikit_learn(metrics, built):
    split = store.load_split(built["split"]).arrays
    X, y = split["X_test"], split["y_test"]
    for kind in ("float", "quantized"):
        model = store.load_model(built[kind])
        pred = X @ model.coef + model.intercept
        assert metrics[kind]["r2"] == pytest.approx(r2_score(y, pred), abs=1e-8)
        assert metrics[kind]["mse"] == pytest.approx(mean_squared_error(y, pred), abs=1e-8)
        assert metrics[kind]["mae"] == pytest.approx(mean_absolute_error(y, pred), abs=1e-8)


def test_sweep_rows_agree_with_scikit_learn(metrics, built):
    # each row re-quantized here and scored by sklearn's r2_score on both splits
    split = store.load_split(built["split"]).arrays
    fm = store.load_model(built["float"])
    for row in metrics["sweep"][::5]:
        q = qz.METHODS[row["method"]](fm.coef, fm.intercept, split["X_train"],
                                         split["y_train"], row["bits"])
        w = (q.codes - q.zero_point) * float(q.scale)
        if q.exponents is not None:
            w = w / 2.0 ** q.exponents
        for part, key in (("test", "r2_test"), ("train", "r2_train")):
            X, y = split[f"X_{part}"], split[f"y_{part}"]
            assert row[key] == pytest.approx(r2_score(y, X @ w + float(q.intercept)), abs=1e-8)


def test_the_bootstrap_standard_error_is_that_of_resampled_r2_changes():
    # by hand: draw the same rows, compute R² of both predictions per draw, take the std
    rng = np.random.default_rng(3)
    y = rng.normal(size=300)
    ref, pred = y + rng.normal(size=300) * 0.5, y + rng.normal(size=300) * 0.6
    idx = np.random.default_rng(0).integers(0, 300, (report.RESAMPLES, 300))
    changes = [r2_score(y[i], pred[i]) - r2_score(y[i], ref[i]) for i in idx]
    se = report.Bootstrap(y, ref).r2_change_se(pred)
    assert se == pytest.approx(np.std(changes), rel=1e-9)


def test_report_refuses_models_from_another_split(built, tmp_path, capsys):
    other = write_split(tmp_path / "split.npz", *synthetic(seed=5))
    assert report.main(["--data", str(other), "--float", str(built["float"]),
                        "--quantized", str(built["quantized"]),
                        "--metrics", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "was trained on another split than" in err and "data_sha256" in err
    assert not (tmp_path / "m.json").exists()


def test_scores_known_answer():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    # errors ±0.5: MSE 0.25, MAE 0.5; var(y) = 1.25, so R² = 1 - 0.25 / 1.25 = 0.8
    s = report.scores(y, y + [0.5, -0.5, 0.5, -0.5], y)
    assert s == {"r2": 0.8, "mse": 0.25, "mae": 0.5, "max_abs_diff_vs_float": 0.5}
