"""Every entry point answers a mistake with one line and status 2, and does its job."""
import importlib
import json
import subprocess
import sys

import numpy as np
import pytest

from housing import __main__ as entry
from housing import data, demo, info, report, store, train
from housing.config import ROOT


@pytest.mark.parametrize("argv, status, message", [
    ([], 2, "housing: error: expected a stage (data, train, quantize, report, render, "
            "predict, info, serve, client, demo, bench, loadtest), got nothing; see python -m housing "
            "--help\n"),
    (["fit"], 2, "housing: error: expected a stage (data, train, quantize, report, render, "
                 "predict, info, serve, client, demo, bench, loadtest), got 'fit'; see python -m "
                 "housing --help\n"),
    (["--help"], 0, ""),
])
def test_dispatch(capsys, argv, status, message):
    assert entry.main(argv) == status
    assert capsys.readouterr().err == message


def test_running_as_a_module_prints_no_traceback():
    run = subprocess.run([sys.executable, "-m", "housing", "train", "--data", "nowhere.npz"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == ("housing train: error: nowhere.npz: no such file; expected the "
                          "train/test split (run `make all` to build it)\n")


def test_train_refuses_a_model_file_for_a_split(capsys, built, tmp_path):
    assert train.main(["--data", str(built["float"]), "--out", str(tmp_path / "f.npz")]) == 2
    assert "expected the train/test split with members" in capsys.readouterr().err


@pytest.fixture
def demo_files(built, tmp_path, capsys):
    metrics = tmp_path / "metrics.json"
    assert report.main(["--data", str(built["split"]), "--float", str(built["float"]),
                        "--quantized", str(built["quantized"]), "--metrics", str(metrics)]) == 0
    mx = json.loads(metrics.read_text())
    capsys.readouterr()  # what report printed
    _, split = store.load_split(built["split"])
    sample = tmp_path / "sample.csv"
    sample.write_text(data.sample_csv(split["X_test"], split["y_test"], 5))
    return metrics, sample, mx


def test_demo_prints_both_models_beside_the_truth(capsys, demo_files):
    metrics, sample, mx = demo_files
    assert demo.main(["--metrics", str(metrics), "--sample", str(sample)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 + 1 + 5 + 1 and out[-1].endswith("-> ok")
    assert out[1].split() == ["float", "quantized", "true", "|diff|"]


def test_demo_fails_when_the_models_disagree_beyond_the_report(capsys, demo_files):
    metrics, sample, mx = demo_files
    mx["quantized"]["max_abs_diff_vs_float"] = 0.0  # models no longer what the report says
    metrics.write_text(json.dumps(mx))
    assert demo.main(["--metrics", str(metrics), "--sample", str(sample)]) == 1
    assert capsys.readouterr().out.splitlines()[-1].endswith("-> EXCEEDED")


def test_demo_without_sample_rows(capsys, demo_files, tmp_path):
    metrics, _, _ = demo_files
    assert demo.main(["--metrics", str(metrics), "--sample", str(tmp_path / "no.csv")]) == 2
    assert "no.csv: no such file; expected the sample rows" in capsys.readouterr().err


def test_info_prints_a_model_card_with_the_report_s_metrics(capsys, demo_files, built):
    metrics, _, mx = demo_files
    model = store.load_model(built["quantized"])
    mx["quantized"]["path"] = str(built["quantized"])  # absolute: ROOT / path is the file
    metrics.write_text(json.dumps(mx))
    assert info.main([str(built["quantized"]), "--metrics", str(metrics)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{built['quantized']}: quantized model, standardized, 8 bits (picked " \
                       f"by auto on the training split)"
    assert lines[1] == f"  {built['quantized'].stat().st_size} bytes on disk, 24 of them parameters"
    assert lines[3] == f"  intercept: {model.intercept!r} ($100,000)"
    # the coefficient column is the dequantized model, to the 6 digits printed
    coefs = [float(line.split()[1]) for line in lines[5:13]]
    np.testing.assert_allclose(coefs, model.coef, rtol=5e-6)
    assert [line.split()[0] for line in lines[5:13]] == list(model.features)
    assert lines[13] == (f"  test split: R² {mx['quantized']['r2']:.4f}, MSE "
                         f"{mx['quantized']['mse']:.4f}, MAE {mx['quantized']['mae']:.4f}, "
                         f"largest difference from the float model "
                         f"{mx['quantized']['max_abs_diff_vs_float']:.4f}")


def test_info_without_metrics_beside_it(capsys, built):
    assert info.main([str(built["float"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 13 and lines[0].endswith("float model, least squares (scikit-learn's "
                                                  "LinearRegression), float64")


@pytest.mark.parametrize("stage, argv", [("serve", ["--workers", "0"]), ("bench", ["--rows", "x"]),
                                         ("loadtest", ["--compare-python", "p", "--rounds", "-2"])])
def test_counts_must_be_whole_and_positive(capsys, stage, argv):
    assert importlib.import_module(f"housing.{stage}").main(argv) == 2
    flag, value = argv[-2], argv[-1]
    assert capsys.readouterr().err == (f"housing {stage}: error: argument {flag}: expected a "
                                       f"whole number of at least 1, got '{value}' (see --help)\n")
